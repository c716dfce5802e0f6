"""Build labelled_sentences.csv from candidates.csv + pass1_labels.txt + pass2_changes.txt.

Text, offsets and segment ids are re-read from ptce_nlp.ingest so that the
`text` column is exactly the segment text. Split: within each source stratum,
rows are shuffled with numpy default_rng(SPLIT_SEED) and the first half
(rounded alternately up/down across strata) goes to 'dev', the rest to 'test'.
"""
import numpy as np
import pandas as pd
import ptce_nlp

SPLIT_SEED = 2026
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

rng = np.random.default_rng(SPLIT_SEED)
out['split'] = ''
up = True
for st in order:
    idx = out.index[out.source_type == st].to_numpy()
    idx = rng.permutation(idx)
    n_dev = (len(idx) + 1) // 2 if up else len(idx) // 2
    if len(idx) % 2:
        up = not up
    out.loc[idx[:n_dev], 'split'] = 'dev'
    out.loc[idx[n_dev:], 'split'] = 'test'

cols = ['id', 'source', 'segment_id', 'start_char', 'end_char', 'text'] + CATS + ['split']
out[cols].to_csv(D + 'labelled_sentences.csv', index=False, encoding='utf-8')
# side table (not needed by the tool): source type and sampling key per id
out[['id', 'source_type', 'key']].to_csv(D + 'sentence_provenance.csv', index=False)
print(len(out), 'rows; excluded during labelling:', excluded, '; pass-2 label changes:', n_changed)
