"""Measure the three-axis profile on a corpus (default: the bundled one).

Prints, for the ESS <-> cluster axis (closeness methods of the reference model) and for the territorialisation
and governance axes (methods ``count``, ``sentences``, ``density`` of :mod:`ptce_nlp.profiles`):

1. Spearman's rho of each axis and method with the ordinal pole type (ptce 3 > district_spl 2 >
   cluster = pole_competitivite 1; reference texts left out), with its p-value and the number of poles
   that have a score; at each minimum number of matches asked (``--min-matches``);
2. the mean score per pole type;
3. the rank agreement between the methods of each axis (Spearman's rho over the poles both score).

Usage::

    .venv/bin/python scripts/eval_profiles.py                       # bundled corpus, min matches 3 and 5
    .venv/bin/python scripts/eval_profiles.py corpus --cache-dir /tmp/cache --min-matches 3
    .venv/bin/python scripts/eval_profiles.py --off territorialisation.ancrage_territorial   # a code off its axis
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ptce_nlp.analysis import code_documents  # noqa: E402
from ptce_nlp.closeness import METHODS as CLOSENESS_METHODS, closeness_tables  # noqa: E402
from ptce_nlp.codebook import Codebook  # noqa: E402
from ptce_nlp.corpus import read_corpus  # noqa: E402
from ptce_nlp.features import extract_units  # noqa: E402
from ptce_nlp.models import load_model  # noqa: E402
from ptce_nlp.pipeline import REFERENCE_MODEL  # noqa: E402
from ptce_nlp.profiles import (AXES, METHODS, MIN_MATCHES, POLE_TYPE_ORDER, axis_scores, spearman,  # noqa: E402
                               type_agreement)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="*", default=[str(ROOT / "corpus")])
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-matches", type=int, nargs="+", default=sorted({MIN_MATCHES, 5}))
    parser.add_argument("--off", action="append", default=[], metavar="CODE",
                        help="take this code off its axis (repeatable): how much a mapping choice weighs")
    args = parser.parse_args(argv)

    corpus = read_corpus([Path(p) for p in args.corpus])
    book = Codebook.shipped()
    coding = code_documents(corpus.documents, book, cache_dir=args.cache_dir)
    if args.off:
        data = book.to_dict()
        for item in data["codes"]:
            if item["id"] in args.off:
                item.pop("axis", None)
        book = Codebook.from_dict(data, check_lemmas=False)
        print("codes taken off their axis: " + ", ".join(args.off))
    saved = load_model(REFERENCE_MODEL)
    units = extract_units(coding.parsed, coding.coded, saved.codebook, unit=saved.closeness.unit_)
    poles = closeness_tables(saved.closeness, units)["closeness_poles"].set_index("pole")
    types = poles["pole_type"].fillna("")
    ess = {("composite" if m == "score" else m): poles["score" if m == "score" else f"{m}_score"]
           for m in ("score", *CLOSENESS_METHODS)}
    print(f"{len(corpus.documents)} documents, {len(poles)} poles; ordinal pole type: "
          + ", ".join(f"{t} {v}" for t, v in POLE_TYPE_ORDER.items()) + " (reference texts left out)\n")

    for min_matches in args.min_matches:
        scores: dict[str, dict[str, pd.Series]] = {"ess_cluster": ess}
        for axis in AXES:
            scores[axis] = {m: axis_scores(coding.parsed, coding.coded, book, axis, method=m, seed=args.seed,
                                           min_matches=min_matches).set_index("pole")["score"].reindex(poles.index)
                            for m in METHODS}
        print(f"== minimum matches per axis: {min_matches} (ESS <-> cluster: the closeness scores as they are)")
        print("1. Spearman's rho with the ordinal pole type")
        print(f"   {'axis':<20}{'method':<12}{'rho':>7}{'p':>8}{'n':>4}")
        for axis, by_method in scores.items():
            frame = type_agreement(by_method, types)
            for r in frame.itertuples():
                print(f"   {axis:<20}{r.name:<12}{_f(r.spearman_rho):>7}{_f(r.p_value, 3):>8}{r.n:>4}")
        print("2. Mean score per pole type (first method; n poles with a score)")
        for axis, by_method in scores.items():
            name, series = next(iter(by_method.items()))
            frame = pd.DataFrame({"score": series, "type": types})
            cells = []
            for t in ("ptce", "district_spl", "cluster", "pole_competitivite"):
                values = frame.loc[frame["type"] == t, "score"].dropna()
                cells.append(f"{t} {_f(values.mean() if len(values) else np.nan)} (n={len(values)})")
            print(f"   {axis:<20}{name:<12}" + "  ".join(cells))
        print("3. Rank agreement between methods (Spearman's rho over the poles both score, references left out)")
        kept = types[types != "reference"].index
        for axis, by_method in scores.items():
            for a, b in itertools.combinations(by_method, 2):
                rho, p, n = spearman(by_method[a].reindex(kept).to_numpy(float),
                                     by_method[b].reindex(kept).to_numpy(float))
                print(f"   {axis:<20}{a + ' / ' + b:<26}{_f(rho):>7}{_f(p, 3):>8}{n:>4}")
        print()
    return 0


def _f(x: float, digits: int = 2) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


if __name__ == "__main__":
    raise SystemExit(main())
