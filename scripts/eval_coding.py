#!/usr/bin/env python3
"""Accuracy of the lexicon and hybrid coders on the hand-labelled sentences (``make eval``).

The labelled set (``tests/data/labels/``, see its README) holds every usable sentence of the bundled corpus,
of the two seed articles (kept as file and offsets: their text is read from ``../shared/seeds``) and of 80
documents written in the registers researchers bring (web pages of poles, news, activity reports,
interviews, calls for projects, laws and decrees, institutional reports), labelled under
``../shared/CODING_MANUAL.md``. The split is by document: ``test`` sentences (double-labelled and
adjudicated) come from documents no ``train`` sentence comes from.

Printed, per category, with 95% bootstrap intervals over sentences:

1. cross-validation on ``train`` grouped by document (no sentence of a held-out document in training);
2. the held-out ``test`` split, lexicon only and hybrid (trained on ``train``), overall and by origin
   (corpus, seed articles, written registers) and by register;
3. a learning curve: hybrid F1 against the number of labelled sentences, when they are chosen by
   ``suggest`` (uncertain and unlike those already labelled) or at random (simulated on ``train``).

Usage::

    python scripts/eval_coding.py                  # everything
    python scripts/eval_coding.py --no-curve       # without the learning curve
    python scripts/eval_coding.py --json out.json  # also write the figures
    python scripts/eval_coding.py --errors test    # list the hybrid's errors on a split
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "labels"
SEEDS = ROOT.parent / "shared" / "seeds"


def labelled_documents() -> list:
    """The documents the labelled sentences come from (the seed articles only when present)."""
    import ptce_nlp

    paths = [ROOT / "corpus", *sorted(SEEDS.glob("*.txt")), *sorted((LABELS / "written").glob("*.txt"))]
    corpus = ptce_nlp.read_corpus(paths)
    if corpus.failures:
        sys.exit(f"unreadable labelled documents: {corpus.failures}")
    return corpus.documents


def labelled_table(book, *, cache_dir=None):
    """(labelled sentences with their features, number left out for want of the seed articles)."""
    from ptce_nlp.analysis import code_documents
    from ptce_nlp.classify import sentence_table
    from ptce_nlp.evaluation import read_labelled_set

    documents = labelled_documents()
    gold, missing = read_labelled_set(LABELS, documents)
    result = code_documents(documents, book, cache_dir=cache_dir)
    table = sentence_table(result.parsed, result.coded)
    merged = gold.drop(columns=["text"]).merge(table, on=["doc_id", "start_char", "end_char"], how="left",
                                               suffixes=("", "_table"), validate="one_to_one")
    if merged["text"].isna().any():
        sys.exit(f"{int(merged['text'].isna().sum())} labelled sentences are not sentences of the parse")
    return merged, missing


def scores(gold: pd.DataFrame, predicted: np.ndarray, seed: int = 0) -> pd.DataFrame:
    from ptce_nlp.evaluation import CATEGORIES, category_scores, f1_intervals

    pred = pd.DataFrame(predicted, columns=list(CATEGORIES))
    table = category_scores(gold.reset_index(drop=True), pred)
    intervals = f1_intervals(gold.reset_index(drop=True), pred, seed=seed)
    return table.merge(intervals[["category", "f1_low", "f1_high"]], on="category")


def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(np.mean([f1_score(y[:, j], p[:, j], zero_division=0) for j in range(y.shape[1])]))


def fmt(frame: pd.DataFrame) -> str:
    lines = [f"  {'category':<20} {'P':>6} {'R':>6} {'F1':>6}  95% interval    n"]
    for r in frame.itertuples():
        lines.append(f"  {r.category:<20} {r.precision:6.3f} {r.recall:6.3f} {r.f1:6.3f}  "
                     f"[{r.f1_low:.3f}, {r.f1_high:.3f}] {r.support:4d}")
    return "\n".join(lines)


def grouped_cv(train: pd.DataFrame, Y: np.ndarray, folds: int = 5):
    """Out-of-fold hybrid decisions on ``train``, folds grouped by document group."""
    from sklearn.model_selection import GroupKFold

    from ptce_nlp.classify import HybridCoder

    pred = np.zeros_like(Y)
    for tr, te in GroupKFold(n_splits=folds).split(train, Y, train["group"]):
        coder = HybridCoder().fit(train.iloc[tr], Y[tr], groups=train["group"].iloc[tr])
        pred[te] = coder.predict(train.iloc[te])
    return pred


def learning_curve(train, Y, test, Yt, sizes, *, seed=0):
    """Macro F1 on ``test`` after training on ``size`` sentences picked by ``suggest`` or at random."""
    from ptce_nlp.classify import HybridCoder, suggest

    rng = np.random.default_rng(seed)
    start = rng.permutation(len(train))[:sizes[0]]
    rows = []
    for strategy in ("suggest", "random"):
        chosen = list(start)
        order = rng.permutation(len(train)) if strategy == "random" else None
        for size in sizes:
            if len(chosen) < size:
                rest = np.setdiff1d(np.arange(len(train)), chosen)
                if strategy == "random":
                    rest = [i for i in order if i not in set(chosen)]
                    chosen += list(rest[:size - len(chosen)])
                else:
                    picks = suggest(coder, train.iloc[rest], labelled=train.iloc[chosen], n=size - len(chosen))
                    chosen += list(rest[picks])
            coder = HybridCoder().fit(train.iloc[chosen], Y[chosen], groups=train["group"].iloc[chosen])
            rows.append((strategy, size, macro_f1(Yt, coder.predict(test))))
    return pd.DataFrame(rows, columns=["strategy", "sentences", "macro_f1"])


def tuning_report(train: pd.DataFrame, book, category: str) -> None:
    """Lexicon scores on the train split, and its errors with the terms that matched (for codebook tuning)."""
    from ptce_nlp.evaluation import CATEGORIES

    cats = list(CATEGORIES)
    print(fmt(scores(train, train[[f"lex_{c}" for c in cats]].to_numpy())))
    for c in ([category] if category != "all" else cats):
        print(f"\n== {c}: false negatives (labelled 1, no match) then false positives (codes that matched)")
        fn = train[(train[c] == 1) & (train[f"lex_{c}"] == 0)]
        fp = train[(train[c] == 0) & (train[f"lex_{c}"] == 1)]
        for r in fn.itertuples():
            print(f"FN {r.id}: {' '.join(r.text.split())}")
        for r in fp.itertuples():
            codes = " ".join(t[2:] for t in r.codes.split() if t.startswith("c:") and t[2:].startswith(c))
            print(f"FP {r.id} [{codes}]: {' '.join(r.text.split())}")


def main() -> None:
    from ptce_nlp.classify import HybridCoder
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.evaluation import CATEGORIES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codebook", default=None, help="YAML codebook (default: the shipped one)")
    parser.add_argument("--no-curve", action="store_true", help="skip the learning curve")
    parser.add_argument("--errors", choices=["train", "test"], help="list the hybrid's errors on a split")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--tune", metavar="CATEGORY", nargs="?", const="all",
                        help="codebook tuning: the lexicon's scores and errors on the train split only (never test)")
    args = parser.parse_args()

    t0 = time.time()
    book = Codebook.from_yaml(args.codebook) if args.codebook else Codebook.shipped()
    data, missing = labelled_table(book)
    if missing:
        print(f"note: {missing} seed-article sentences left out: the seed articles are not in {SEEDS}")
    cats = list(CATEGORIES)
    train, test = data[data["split"] == "train"].reset_index(drop=True), data[data["split"] == "test"].reset_index(drop=True)
    Y, Yt = train[cats].to_numpy(), test[cats].to_numpy()
    lex = lambda frame: frame[[f"lex_{c}" for c in cats]].to_numpy()  # noqa: E731
    figures: dict = {"sentences": {"train": len(train), "test": len(test)}}
    print(f"labelled sentences: train {len(train)} ({train['doc_id'].nunique()} documents), "
          f"test {len(test)} ({test['doc_id'].nunique()} documents)")
    if args.tune:
        tuning_report(train, book, args.tune)
        return

    print("\n1. Cross-validation on train, 5 folds grouped by document")
    oof = grouped_cv(train, Y)
    for name, pred in (("lexicon", lex(train)), ("hybrid", oof)):
        frame = scores(train, pred)
        figures.setdefault("cv", {})[name] = frame.to_dict("records")
        print(f" {name}\n{fmt(frame)}")

    print("\n2. Held-out test split (hybrid trained on train)")
    coder = HybridCoder().fit(train, Y, groups=train["group"])
    hybrid = coder.predict(test)
    subsets = {"all": np.ones(len(test), dtype=bool), "seed articles": (test["origin"] == "seed").to_numpy(),
               "corpus": (test["origin"] == "corpus").to_numpy(), "written": (test["origin"] == "written").to_numpy()}
    for register in sorted(test.loc[test["origin"] == "written", "register"].unique()):
        subsets[f"written: {register}"] = (test["register"] == register).to_numpy()
    for subset, mask in subsets.items():
        if not mask.any():
            continue
        for name, pred in (("lexicon", lex(test)), ("hybrid", hybrid)):
            frame = scores(test[mask], pred[mask])
            figures.setdefault("test", {}).setdefault(subset, {})[name] = frame.to_dict("records")
            if subset in ("all", "seed articles", "corpus", "written"):
                print(f" {subset}, {name} ({int(mask.sum())} sentences)\n{fmt(frame)}")
            else:
                f1 = " ".join(f"{r.f1:.2f}" for r in frame.itertuples() if r.category != "micro")
                print(f" {subset:<32} {name:<8} F1 T/G/V/C {f1}  ({int(mask.sum())})")

    if args.errors:
        frame, pred = (test, hybrid) if args.errors == "test" else (train, oof)
        for j, c in enumerate(cats):
            wrong = frame[pred[:, j] != frame[c].to_numpy()]
            for r in wrong.itertuples():
                print(f"{c[:4]} gold={getattr(r, c)} {r.id}: {' '.join(r.text.split())[:160]}")

    if not args.no_curve:
        print("\n3. Learning curve: macro F1 on test against labelled train sentences")
        sizes = [s for s in (100, 200, 400, 600, 800, 1200, 1600) if s <= len(train)]
        curve = learning_curve(train, Y, test, Yt, sizes)
        figures["learning_curve"] = curve.to_dict("records")
        wide = curve.pivot(index="sentences", columns="strategy", values="macro_f1")
        print(wide.round(3).to_string())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float), "utf-8")
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
