"""Agreement between the two round-2 annotators, before adjudication (see ../README.md).

Prints, per category, Cohen's kappa, percent agreement and the number of
disagreements over the sentences neither annotator excluded, and writes
disagreements.csv (the adjudicator's input). Uses ptce_nlp.agreement only.
"""
import pandas as pd

from ptce_nlp.agreement import cohen_kappa, percent_agreement

D = 'tests/data/round2/'
CATS = ['territorialisation', 'gouvernance', 'valeurs_ess', 'discours_cluster']


def read(path):
    """key -> (labels, note): labels are 4 strings '0'/'1' or ['X']."""
    out = {}
    for line in open(path, encoding='utf-8'):
        if line.startswith('#') or not line.strip():
            continue
        body, _, note = line.partition('#')
        key, *labels = body.split()
        out[key] = (labels, note.strip())
    return out


a, b = read(D + 'labels_A.txt'), read(D + 'labels_B.txt')
excluded_a = {k for k, (v, _) in a.items() if v == ['X']}
excluded_b = {k for k, (v, _) in b.items() if v == ['X']}
print(f'excluded: A {len(excluded_a)}, B {len(excluded_b)}, both {len(excluded_a & excluded_b)}')
keys = [k for k in a if k not in excluded_a | excluded_b]
print(f'{len(keys)} sentences labelled by both\n{"category":<20} {"kappa":>6} {"agreement":>9} {"disagree":>8}')
for i, cat in enumerate(CATS):
    x, y = [a[k][0][i] for k in keys], [b[k][0][i] for k in keys]
    print(f'{cat:<20} {cohen_kappa(x, y):6.3f} {percent_agreement(x, y):9.3f} {sum(p != q for p, q in zip(x, y)):8d}')
cand = pd.read_csv(D + 'candidates_round2.csv').set_index('key')
rows = [dict(key=k, text=cand.at[k, 'text'], doc_id=cand.at[k, 'doc_id'], A=' '.join(a[k][0]), A_note=a[k][1],
             B=' '.join(b[k][0]), B_note=b[k][1]) for k in a if a[k][0] != b[k][0]]
pd.DataFrame(rows).to_csv(D + 'disagreements.csv', index=False)
print(f'{len(rows)} sentences with a disagreement -> disagreements.csv')
