"""Sampling script for the hand-labelled evaluation set (see README.md).

Draws candidate sentence segments from the bundled corpus and the two seed
articles, stratified by source type, with a fixed seed. Candidates are written
in draw order; the annotator reads them in that order and replaces any
candidate that turns out to be a heading / bibliography / table fragment by
the next unused candidate of the same stratum (recorded in excluded.csv).
Does not use the coder or the codebook.
"""
import re
import numpy as np
import pandas as pd
import ptce_nlp

SEED = 2026
SEEDS = ['/work/shared/seeds/000_fc7c8edcc120d478.txt',
         '/work/shared/seeds/001_44e51539205ad2c3.txt']
# target number of sentences per stratum (source type)
TARGET = {'ptce_fiche': 60, 'pdc_fiche': 45, 'cluster': 12, 'district_spl': 25,
          'monographie': 50, 'reference': 28,
          'seed_000': 40, 'seed_001': 60}

BIB = re.compile(r"(\bpp?\.\s*\d|Paris\s*[,:]|[EÉé]ditions|\bRevue\b|Presses|Harmattan|https?:|www\.|\(dir\.\)|\(eds?\.\))")


def is_heading(txt):
    t = ' '.join(txt.split())
    letters = [c for c in t if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) / len(letters) > 0.6:
        return True
    if re.match(r'^(Tableau|Figure|Source|Graphique|Encadré)\b', t):
        return True
    if not re.search(r'[.?!:;…»)]\s*$', t) and len(t.split()) < 10:
        return True
    return False


def eligible(txt):
    t = ' '.join(txt.split())
    if len(t.split()) < 6:
        return False
    if BIB.search(t) and re.search(r'\b(19|20)\d\d\b', t):
        return False
    if is_heading(t):
        return False
    return True


def main():
    man = pd.read_csv('corpus/manifest.csv')
    def stratum(row):
        if row.genre == 'monographie':
            return 'monographie'
        return {'ptce': 'ptce_fiche', 'pole_competitivite': 'pdc_fiche',
                'cluster': 'cluster', 'district_spl': 'district_spl',
                'reference': 'reference'}[row.pole_type]
    man['stratum'] = man.apply(stratum, axis=1)
    c = ptce_nlp.ingest('corpus').segments_table
    c = c[c.kind == 'sentence'].merge(man[['doc_id', 'pole_type', 'genre', 'stratum']], on='doc_id')
    s = ptce_nlp.ingest(SEEDS).segments_table
    s = s[s.kind == 'sentence'].copy()
    s['pole_type'] = 'seed_article'; s['genre'] = 'article'
    s['stratum'] = 'seed_' + s.doc_id.str[:3]
    allseg = pd.concat([c, s], ignore_index=True)
    allseg['eligible'] = allseg.text.map(eligible)
    rng = np.random.default_rng(SEED)
    out = []
    for st in TARGET:  # fixed order
        g = allseg[(allseg.stratum == st) & allseg.eligible]
        # spread over documents: random order within each document, then
        # interleave documents round-robin (document order also random)
        docs = sorted(g.doc_id.unique())
        rng.shuffle(docs)
        per_doc = {d: list(rng.permutation(g.index[g.doc_id == d].to_numpy())) for d in docs}
        order = []
        while any(per_doc.values()):
            for d in docs:
                if per_doc[d]:
                    order.append(per_doc[d].pop(0))
        sub = allseg.loc[order].copy()
        sub['draw_rank'] = range(1, len(sub) + 1)
        sub['in_target'] = sub.draw_rank <= TARGET[st]
        out.append(sub)
    out = pd.concat(out)
    cols = ['stratum', 'draw_rank', 'in_target', 'doc_id', 'pole_type', 'genre',
            'segment_id', 'start_char', 'end_char', 'text']
    out[cols].to_csv('tests/data/candidates.csv', index=False)
    print(out.groupby('stratum').agg(n=('text', 'size'), target=('in_target', 'sum')))
    print('ineligible per stratum:', allseg[~allseg.eligible].stratum.value_counts().to_dict())


if __name__ == '__main__':
    main()
