#!/usr/bin/env python3
"""Train the shipped learned coder, ``models/coder`` (``make model``).

It is trained on the ``train`` split of the labelled set (``tests/data/labels``: the bundled corpus, the seed
articles read from ``../shared/seeds`` and the documents written for evaluation) with the shipped codebook,
folds grouped by document. The model card records the training data's SHA-256, the cross-validated F1 and the
F1 on the held-out ``test`` split. Same data, same arrays: the fit is deterministic.

Usage::

    python scripts/train_coder.py                 # writes models/coder
    python scripts/train_coder.py --out /tmp/m    # elsewhere
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


def main() -> None:
    from sklearn.metrics import f1_score

    from eval_coding import SEEDS, labelled_table
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.evaluation import CATEGORIES
    from ptce_nlp.learn import TrainingSet, fit_coder, save_learned

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "coder")
    args = parser.parse_args()
    if len(list(SEEDS.glob("*.txt"))) < 2:
        sys.exit(f"the seed articles are needed in {SEEDS}: the shipped coder is trained on them too")
    book = Codebook.shipped()
    data, _ = labelled_table(book)
    cats = list(CATEGORIES)
    train = data[data["split"] == "train"].reset_index(drop=True)
    test = data[data["split"] == "test"].reset_index(drop=True)
    training = TrainingSet(train, train[cats].to_numpy(), "tests/data/labels", group_ids=train["group"].tolist())
    coder, facts = fit_coder(training)
    facts["source"] = "tests/data/labels, split train (groups: corpus poles, seed articles, written documents)"
    predicted = coder.predict(test)
    facts["held_out_test"] = {"sentences": len(test), "scores": {
        c: {"hybrid_f1": round(float(f1_score(test[c], predicted[:, j])), 4),
            "lexicon_f1": round(float(f1_score(test[c], test[f"lex_{c}"])), 4)} for j, c in enumerate(cats)}}
    save_learned(args.out, coder, facts, codebook_name=book.name)
    print(f"wrote {args.out}: {facts['sentences']} sentences; held-out F1 (hybrid / lexicon):")
    for c, row in facts["held_out_test"]["scores"].items():
        print(f"  {c:<20} {row['hybrid_f1']:.3f} / {row['lexicon_f1']:.3f}")


if __name__ == "__main__":
    main()
