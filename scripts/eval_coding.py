#!/usr/bin/env python3
"""Precision, recall and F1 of the coder per category on the hand-labelled sentences.

The labelled set (``tests/data/labelled_sentences.csv``, see its README) holds
1,062 sentences of the bundled corpus and of the two seed articles, labelled by
hand with the four top-level categories and split into ``dev`` (rounds 1, 3, 4,
for tuning the codebook) and ``test`` (round 2, double-coded, held out for
reporting: never look at its errors while tuning). This script codes the documents the
sentences come from with a codebook and prints the scores per split, and
separately for the corpus and the seed articles.

Usage::

    python scripts/eval_coding.py                      # shipped codebook, all splits
    python scripts/eval_coding.py --codebook mine.yaml --split dev --errors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "labelled_sentences.csv"
SEEDS = ROOT.parent / "shared" / "seeds"


def code_labelled_documents(codebook, *, cache_dir=None):
    """Code every document the labelled set draws from; returns (coded, texts)."""
    import ptce_nlp
    from ptce_nlp.analysis import code_documents

    paths = [ROOT / "corpus", *sorted(SEEDS.glob("*.txt"))]
    documents = ptce_nlp.read_corpus(paths).documents
    result = code_documents(documents, codebook, cache_dir=cache_dir)
    return result.coded, {d.doc_id: d.text for d in documents}


def main() -> None:
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.evaluation import CATEGORIES, category_scores, check_labelled_set, f1_intervals, predict_units

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codebook", default=None, help="YAML codebook (default: the shipped one)")
    parser.add_argument("--split", choices=["dev", "test", "all"], default=None, help="only this split")
    parser.add_argument("--errors", action="store_true", help="list false negatives and positives of the split")
    args = parser.parse_args()

    book = Codebook.from_yaml(args.codebook) if args.codebook else Codebook.shipped()
    gold = pd.read_csv(LABELLED, keep_default_na=False)
    coded, texts = code_labelled_documents(book)
    check_labelled_set(gold, texts)
    predicted = predict_units(coded, gold)
    is_seed = gold["source"].str.match(r"^\d{3}_")
    subsets = {"dev": gold["split"] == "dev", "test": gold["split"] == "test", "all": gold["split"] != "",
               "test, corpus": (gold["split"] == "test") & ~is_seed, "test, seeds": (gold["split"] == "test") & is_seed}
    if args.split:
        subsets = {args.split: subsets[args.split]}
    print(f"Codebook: {book.source}; {len(gold)} labelled sentences")
    for name, mask in subsets.items():
        scores = category_scores(gold[mask], predicted[mask])
        intervals = f1_intervals(gold[mask], predicted[mask])
        print(f"\n{name} ({int(mask.sum())} sentences; F1 interval: 95% bootstrap over sentences)")
        print(f"  {'category':<20} {'precision':>9} {'recall':>7} {'F1':>6} {'F1 interval':>13} {'support':>8} "
              f"{'predicted':>9}")
        for row, ci in zip(scores.itertuples(), intervals.itertuples()):
            print(f"  {row.category:<20} {row.precision:9.3f} {row.recall:7.3f} {row.f1:6.3f} "
                  f"{ci.f1_low:6.3f}-{ci.f1_high:.3f} {row.support:8d} {row.predicted:9d}")
    if args.errors:
        mask = subsets[args.split or "dev"]
        for idx in gold.index[mask]:
            sentence = " ".join(gold.at[idx, "text"].split())
            inside = coded[(coded["doc_id"] == gold.at[idx, "source"]) & (coded["start_char"] >= gold.at[idx, "start_char"])
                           & (coded["start_char"] < gold.at[idx, "end_char"])]
            for category in CATEGORIES:
                want, got = gold.at[idx, category], predicted.at[idx, category]
                if want != got:
                    terms = sorted({f"{r.code_id}:{r.term}" for r in inside.itertuples() if r.category == category})
                    print(f"{'FN' if want else 'FP'} {category:<18} {gold.at[idx, 'id']} | {sentence[:200]} | "
                          f"{', '.join(terms)}")


if __name__ == "__main__":
    main()
