"""Round-4 sample: more tuning (dev) sentences, see ../README.md.

Takes, for each stratum, the next candidates of ../candidates.csv in draw order,
after every candidate read in rounds 1 to 3, plus a buffer for exclusions.
The cluster stratum has no candidates left; district_spl and reference have a few. Does not use the coder or the codebook.
"""
import pandas as pd

D = 'tests/data/'
TARGET = {'ptce_fiche': 50, 'pdc_fiche': 25, 'district_spl': 5, 'monographie': 50,
          'reference': 5, 'seed_000': 20, 'seed_001': 50}
BUFFER = 0.1

cand = pd.read_csv(D + 'candidates.csv')
read_before = {}
keys = [line.split()[0] for line in open(D + 'pass1_labels.txt', encoding='utf-8')
        if line.strip() and not line.startswith('#')]
keys += pd.read_csv(D + 'round2/candidates_round2.csv').key.tolist()
keys += pd.read_csv(D + 'round3/candidates_round3.csv').key.tolist()
for key in keys:
    stratum, rank = key.rsplit(':', 1)
    read_before[stratum] = max(read_before.get(stratum, 0), int(rank))
rows = []
for stratum, n in TARGET.items():
    g = cand[(cand.stratum == stratum) & (cand.draw_rank > read_before[stratum])].sort_values('draw_rank')
    rows.append(g.head(n + max(1, round(n * BUFFER))))
out = pd.concat(rows)
out['key'] = out.stratum + ':' + out.draw_rank.astype(str)
out[['key', 'doc_id', 'segment_id', 'text']].to_csv(D + 'round4/candidates_round4.csv', index=False)
print(out.groupby('stratum', sort=False).size().to_string(), '\ntotal', len(out))
