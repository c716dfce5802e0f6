"""Accuracy of the coder against hand-labelled sentences.

A labelled set is a table with one row per sentence: ``source`` (the doc_id),
``start_char``/``end_char`` (the sentence in the document's original text),
``text`` and one 0/1 column per category. A sentence is predicted positive for
a category when a coded match of that category starts inside it; negated and
contrast matches count, because the labels record what a sentence talks about
(the flags only keep such matches out of the scores).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._lazy import LazyModule
from .errors import PtceError

pd = LazyModule("pandas")  # imported when a table is first made (issue 13)

CATEGORIES = ("territorialisation", "gouvernance", "valeurs_ess", "discours_cluster")


class LabelledSetError(PtceError):
    """A labelled set lacks columns or points outside its documents."""


def predict_units(coded: pd.DataFrame, units: pd.DataFrame, *,
                  categories: Sequence[str] = CATEGORIES) -> pd.DataFrame:
    """0/1 per unit and category: does a coded match of the category start in the unit?

    Parameters
    ----------
    coded : DataFrame
        Coded matches (``doc_id, category, start_char``...).
    units : DataFrame
        ``source, start_char, end_char`` per unit.

    Returns
    -------
    DataFrame, shape (n_units, n_categories)
        Indexed like ``units``.
    """
    missing = [c for c in ("source", "start_char", "end_char") if c not in units.columns]
    if missing:
        raise LabelledSetError(f"the labelled set has no column {', '.join(map(repr, missing))}")
    out = pd.DataFrame(0, index=units.index, columns=list(categories))
    by_doc = {doc_id: frame for doc_id, frame in coded.groupby("doc_id")}
    for idx, unit in units.iterrows():
        hits = by_doc.get(unit["source"])
        if hits is None:
            continue
        inside = hits[(hits["start_char"] >= unit["start_char"]) & (hits["start_char"] < unit["end_char"])]
        for category in set(inside["category"]) & set(categories):
            out.at[idx, category] = 1
    return out


def category_scores(gold: pd.DataFrame, predicted: pd.DataFrame, *,
                    categories: Sequence[str] = CATEGORIES) -> pd.DataFrame:
    """Precision, recall, F1 and support per category, plus the micro average.

    Columns: ``category, precision, recall, f1, support, predicted``.
    """
    from sklearn.metrics import precision_recall_fscore_support

    y_true = gold[list(categories)].to_numpy(dtype=int)
    y_pred = predicted[list(categories)].to_numpy(dtype=int)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    rows = [(c, p[i], r[i], f[i], int(s[i]), int(y_pred[:, i].sum())) for i, c in enumerate(categories)]
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    rows.append(("micro", mp, mr, mf, int(y_true.sum()), int(y_pred.sum())))
    return pd.DataFrame(rows, columns=["category", "precision", "recall", "f1", "support", "predicted"])


def f1_intervals(gold: pd.DataFrame, predicted: pd.DataFrame, *, categories: Sequence[str] = CATEGORIES,
                 n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Percentile bootstrap intervals of F1 per category (and micro), resampling sentences.

    Columns: ``category, f1, f1_low, f1_high``. With a few dozen positives per
    category the interval is wide: two codebooks whose F1 differ by less than
    its half-width are not distinguishable on this set.
    """
    y_true = gold[list(categories)].to_numpy(dtype=int)
    y_pred = predicted[list(categories)].to_numpy(dtype=int)
    samples = np.random.default_rng(seed).integers(0, len(y_true), size=(n_boot, len(y_true)))
    names = [*categories, "micro"]

    def f1(tp, fp, fn):
        tp, fp, fn = (np.concatenate([x, x.sum(axis=-1, keepdims=True)], axis=-1) for x in (tp, fp, fn))
        denominator = 2 * tp + fp + fn
        return np.divide(2 * tp, denominator, out=np.zeros(denominator.shape), where=denominator > 0)

    cells = [(y_true & y_pred), ((1 - y_true) & y_pred), (y_true & (1 - y_pred))]  # tp, fp, fn per sentence
    point = f1(*(c.sum(axis=0) for c in cells))
    boot = f1(*(c[samples].sum(axis=1) for c in cells))
    alpha = (1 - level) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha], axis=0)
    return pd.DataFrame({"category": names, "f1": point, "f1_low": low, "f1_high": high})


def check_labelled_set(labelled: pd.DataFrame, texts: dict[str, str], *,
                       categories: Sequence[str] = CATEGORIES) -> None:
    """Raise :class:`LabelledSetError` when a row's offsets do not give its text."""
    missing = [c for c in ("source", "start_char", "end_char", "text", *categories) if c not in labelled.columns]
    if missing:
        raise LabelledSetError(f"the labelled set has no column {', '.join(map(repr, missing))}")
    problems = []
    for row in labelled.itertuples():
        text = texts.get(row.source)
        if text is None:
            problems.append(f"{row.id}: no document {row.source!r}")
        elif text[row.start_char:row.end_char] != row.text:
            problems.append(f"{row.id}: offsets {row.start_char}-{row.end_char} do not give the sentence")
    if problems:
        raise LabelledSetError("; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5
                                                          else ""))


def labels_array(frame: pd.DataFrame, categories: Sequence[str] = CATEGORIES) -> np.ndarray:
    return frame[list(categories)].to_numpy(dtype=int)


def read_labelled_set(folder, documents) -> tuple[pd.DataFrame, int]:
    """A labelled-set folder (``candidates.csv`` + ``labels.csv``) with each sentence's text read from its document.

    Sentences whose document is not among ``documents`` (the seed articles, when ``../shared/seeds`` is absent)
    are left out; their number is returned beside the table. Raises :class:`LabelledSetError` when offsets do
    not give back a stored text.
    """
    from pathlib import Path

    folder = Path(folder)
    candidates = pd.read_csv(folder / "candidates.csv", keep_default_na=False, dtype={"text": str})
    labels = pd.read_csv(folder / "labels.csv", keep_default_na=False)
    frame = candidates.merge(labels, on="id", how="inner", validate="one_to_one")
    if len(frame) != len(candidates):
        raise LabelledSetError(f"{folder}: {len(candidates) - len(frame)} candidates have no labels")
    texts = {d.doc_id: d.text for d in documents}
    present = frame["doc_id"].isin(list(texts))
    frame = frame[present].copy()
    problems = []
    full = []
    for row in frame.itertuples():
        sentence = texts[row.doc_id][row.start_char:row.end_char]
        if row.text and sentence != row.text:
            problems.append(f"{row.id}: offsets {row.start_char}-{row.end_char} do not give the stored sentence")
        full.append(sentence)
    if problems:
        raise LabelledSetError("; ".join(problems[:5]))
    frame["text"] = full
    frame = frame.rename(columns={"doc_id": "source"}).assign(doc_id=lambda f: f["source"])
    return frame.reset_index(drop=True), int((~present).sum())
