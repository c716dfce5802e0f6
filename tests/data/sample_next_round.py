"""Samples of labelling rounds 2 to 4 (see README.md, "Rounds and split").

Usage (from the repository root): ``python tests/data/sample_next_round.py N``.

Round N takes, for each stratum, the next candidates of candidates.csv in draw
order, after every candidate read in the earlier rounds (labelled or
excluded), plus a buffer for exclusions, and writes
roundN/candidates_roundN.csv. Round 2 is the held-out test sample; rounds 3
and 4 are more tuning sentences. The cluster stratum is used up after round
2. Does not use the coder or the codebook.
"""
import sys

import pandas as pd

D = 'tests/data/'
TARGETS = {
    2: {'ptce_fiche': 50, 'pdc_fiche': 40, 'cluster': 4, 'district_spl': 20,
        'monographie': 45, 'reference': 20, 'seed_000': 25, 'seed_001': 36},
    3: {'ptce_fiche': 50, 'pdc_fiche': 45, 'district_spl': 15, 'monographie': 50,
        'reference': 20, 'seed_000': 30, 'seed_001': 40},
    4: {'ptce_fiche': 50, 'pdc_fiche': 25, 'district_spl': 5, 'monographie': 50,
        'reference': 5, 'seed_000': 20, 'seed_001': 50},
}
BUFFER = 0.1


def keys_read_before(number):
    """Sampling keys (``stratum:draw_rank``) read in rounds 1 to ``number - 1``."""
    keys = [line.split()[0] for line in open(D + 'pass1_labels.txt', encoding='utf-8')
            if line.strip() and not line.startswith('#')]
    for earlier in range(2, number):
        keys += pd.read_csv(D + f'round{earlier}/candidates_round{earlier}.csv').key.tolist()
    return keys


def main(number):
    cand = pd.read_csv(D + 'candidates.csv')
    read_before = {}
    for key in keys_read_before(number):
        stratum, rank = key.rsplit(':', 1)
        read_before[stratum] = max(read_before.get(stratum, 0), int(rank))
    rows = []
    for stratum, n in TARGETS[number].items():
        g = cand[(cand.stratum == stratum) & (cand.draw_rank > read_before[stratum])].sort_values('draw_rank')
        rows.append(g.head(n + max(1, round(n * BUFFER))))
    out = pd.concat(rows)
    out['key'] = out.stratum + ':' + out.draw_rank.astype(str)
    out[['key', 'doc_id', 'segment_id', 'text']].to_csv(D + f'round{number}/candidates_round{number}.csv',
                                                        index=False)
    print(out.groupby('stratum', sort=False).size().to_string(), '\ntotal', len(out))


if __name__ == '__main__':
    main(int(sys.argv[1]))
