"""Build labelled_sentences.csv from the two labelling rounds (see README.md).

Round 1: candidates.csv + pass1_labels.txt + pass2_changes.txt (one annotator).
Round 2: round2/candidates_round2.csv + round2/labels_A.txt and labels_B.txt
(two independent annotators), their disagreements settled by
round2/adjudication.txt.
Rounds 3 and 4: roundN/candidates_roundN.csv + two annotators' labels, one
annotator per sentence (C/D in round 3, E/F in round 4: even/odd rows).

Text, offsets and segment ids are re-read from ptce_nlp.ingest so that the
`text` column is exactly the segment text. Split: round 1 is `dev` (the
codebook was tuned on it), round 2 is `test` (held out: never used for tuning),
rounds 3 and 4 are `dev`.
"""
import pandas as pd
import ptce_nlp

D = 'tests/data/'
CATS = ['territorialisation', 'gouvernance', 'valeurs_ess', 'discours_cluster']

cand = pd.read_csv(D + 'candidates.csv')
cand['key'] = cand.stratum + ':' + cand.draw_rank.astype(str)
lab = {}
for line in open(D + 'pass1_labels.txt', encoding='utf-8'):
    if line.startswith('#') or not line.strip():
        continue
    k, *v = line.split()
    lab[k] = v
excluded = [k for k, v in lab.items() if v == ['X']]
lab = {k: [int(x) for x in v] for k, v in lab.items() if v != ['X']}
n_changed = 0
for line in open(D + 'pass2_changes.txt', encoding='utf-8'):
    if line.startswith('#') or not line.strip():
        continue
    k, old, new = line.split()[:3]
    assert [int(c) for c in old] == lab[k], (k, old, lab[k])
    n_changed += sum(a != b for a, b in zip(old, new))
    lab[k] = [int(c) for c in new]

segs = pd.concat([
    ptce_nlp.ingest('corpus').segments_table,
    ptce_nlp.ingest(['/work/shared/seeds/000_fc7c8edcc120d478.txt',
                     '/work/shared/seeds/001_44e51539205ad2c3.txt']).segments_table])
segs = segs[segs.kind == 'sentence'].set_index(['doc_id', 'segment_id'])

order = ['ptce_fiche', 'pdc_fiche', 'cluster', 'district_spl', 'monographie', 'reference', 'seed_000', 'seed_001']
sel = cand[cand.key.isin(lab)].copy()
sel['stratum'] = pd.Categorical(sel.stratum, order)
sel = sel.sort_values(['stratum', 'draw_rank'])
rows = []
for _, r in sel.iterrows():
    s = segs.loc[(r.doc_id, r.segment_id)]
    assert ' '.join(s.text.split()) == ' '.join(r.text.split())
    rows.append(dict(source=r.doc_id, segment_id=r.segment_id, start_char=int(s.start_char),
                     end_char=int(s.end_char), text=s.text, source_type=str(r.stratum),
                     **dict(zip(CATS, lab[r.key])), key=r.key))
out = pd.DataFrame(rows)
out.insert(0, 'id', [f's{i:03d}' for i in range(1, len(out) + 1)])

out['split'] = 'dev'
out['round'] = 1


def read_labels(path):
    """key -> list of 4 ints, or ['X']; text after '#' is a comment."""
    labels = {}
    for line in open(path, encoding='utf-8'):
        body = line.split('#')[0].split()
        if body:
            labels[body[0]] = body[1:] if body[1:] == ['X'] else [int(v) for v in body[1:]]
    return labels


R2 = D + 'round2/'
cand2 = pd.read_csv(R2 + 'candidates_round2.csv')
a, b = read_labels(R2 + 'labels_A.txt'), read_labels(R2 + 'labels_B.txt')
settled = read_labels(R2 + 'adjudication.txt')
assert list(a) == list(b) == list(cand2.key), 'annotator files must list the candidates in order'
assert set(settled) == {k for k in a if a[k] != b[k]}, 'adjudication must settle exactly the disagreements'


def round_rows(candidates, label_of, split, number):
    """Rows of a later round: text and offsets re-read from ingest; excluded segments (X) left out."""
    rows = []
    for r in candidates.itertuples():
        labels = label_of(r.key)
        if labels == ['X']:
            continue
        seg = segs.loc[(r.doc_id, r.segment_id)]
        assert ' '.join(seg.text.split()) == ' '.join(r.text.split())
        rows.append(dict(source=r.doc_id, segment_id=r.segment_id, start_char=int(seg.start_char),
                         end_char=int(seg.end_char), text=seg.text, source_type=r.key.rsplit(':', 1)[0],
                         **dict(zip(CATS, labels)), key=r.key, split=split, round=number))
    return pd.DataFrame(rows)


out2 = round_rows(cand2, lambda key: settled.get(key, a[key]), 'test', 2)
out2.insert(0, 'id', [f's{i:03d}' for i in range(len(out) + 1, len(out) + len(out2) + 1)])
out = pd.concat([out, out2], ignore_index=True)

def split_round(number, first, second):
    """A round labelled by two annotators, one per sentence: ``first`` the even rows, ``second`` the odd rows."""
    folder = D + f'round{number}/'
    candidates = pd.read_csv(folder + f'candidates_round{number}.csv')
    a = read_labels(folder + f'labels_{first}.txt')
    b = read_labels(folder + f'labels_{second}.txt')
    assert list(a) == candidates.key.tolist()[0::2] and list(b) == candidates.key.tolist()[1::2], (
        f'round {number}: {first} labels the even rows, {second} the odd rows')
    return round_rows(candidates, lambda key: a.get(key) or b[key], 'dev', number)


for number, first, second in ((3, 'C', 'D'), (4, 'E', 'F')):
    more = split_round(number, first, second)
    more.insert(0, 'id', [f's{i:03d}' for i in range(len(out) + 1, len(out) + len(more) + 1)])
    out = pd.concat([out, more], ignore_index=True)

cols = ['id', 'source', 'segment_id', 'start_char', 'end_char', 'text'] + CATS + ['split']
out[cols].to_csv(D + 'labelled_sentences.csv', index=False, encoding='utf-8')
# side table (not needed by the tool): source type and sampling key per id
out[['id', 'source_type', 'key', 'round']].to_csv(D + 'sentence_provenance.csv', index=False)
print(len(out), 'rows;', (out['round'] == 2).sum(), 'from round 2;', (out['round'] == 3).sum(), 'from round 3;', (out['round'] == 4).sum(), 'from round 4; round-1 exclusions:', excluded,
      '; round-1 pass-2 label changes:', n_changed, '; round-2 adjudicated:', len(settled))
