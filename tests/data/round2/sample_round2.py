"""Round-2 sample: a fresh held-out test set (see ../README.md, "Round 2").

Takes, for each stratum, the next candidates of ../candidates.csv in draw order,
after every candidate already read in round 1 (labelled or excluded). A buffer
of extra candidates per stratum lets annotators exclude headings and footnotes
without re-sampling. Does not use the coder or the codebook.
"""
import pandas as pd

D = 'tests/data/'
# round-2 target per stratum (the buffer is added on top)
TARGET = {'ptce_fiche': 50, 'pdc_fiche': 40, 'cluster': 4, 'district_spl': 20,
          'monographie': 45, 'reference': 20, 'seed_000': 25, 'seed_001': 36}
BUFFER = 0.1

cand = pd.read_csv(D + 'candidates.csv')
read_r1 = {}
for line in open(D + 'pass1_labels.txt', encoding='utf-8'):
    if line.startswith('#') or not line.strip():
        continue
    st, rank = line.split()[0].rsplit(':', 1)
    read_r1[st] = max(read_r1.get(st, 0), int(rank))
rows = []
for st, n in TARGET.items():
    g = cand[(cand.stratum == st) & (cand.draw_rank > read_r1[st])].sort_values('draw_rank')
    rows.append(g.head(n + max(1, round(n * BUFFER))))
out = pd.concat(rows)
out['key'] = out.stratum + ':' + out.draw_rank.astype(str)
out[['key', 'doc_id', 'segment_id', 'text']].to_csv(D + 'round2/candidates_round2.csv', index=False)
print(out.groupby('stratum', sort=False).size().to_string(), '\ntotal', len(out))
