"""Benchmark of the topics and closeness stages, at two sizes, figures printed side by side.

1. Model selection (LDA and NMF, k = 4..12, three seeds each, NPMI, held-out
   perplexity, stability) on the bundled corpus's sentences replicated to
   ``--sentences`` sizes (default 10,000 and 20,000 sentences).
2. Scoring new fiches with a saved model (``models/reference`` by default):
   the corpus's fiches replicated to ``--fiches`` sizes (default 500 and
   1,000), each made distinct by a numbered last line so that every one is
   really parsed (the parse cache is not used); times of parsing and coding,
   feature extraction and scoring (documents and poles, 1,000 bootstrap
   replicates) are reported separately.

Usage::

    .venv/bin/python scripts/bench_topics.py
    .venv/bin/python scripts/bench_topics.py --sentences 2000 4000 --fiches 50 100   # a quick run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, nargs="+", default=[10000, 20000])
    parser.add_argument("--fiches", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--k-min", type=int, default=4)
    parser.add_argument("--k-max", type=int, default=12)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "reference")
    parser.add_argument("--skip-selection", action="store_true")
    parser.add_argument("--skip-scoring", action="store_true")
    args = parser.parse_args()

    from ptce_nlp.analysis import code_documents
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.corpus import read_corpus
    from ptce_nlp.features import LemmaVectorizer, extract_units
    from ptce_nlp.topics import select_k

    corpus = read_corpus(ROOT / "corpus")
    book = Codebook.shipped()
    result = code_documents(corpus.documents, book)
    units = extract_units(result.parsed, result.coded, book, unit="sentence")
    base = len(units)
    print(f"bundled corpus: {len(corpus.documents)} documents, {base} sentences")

    if not args.skip_selection:
        print(f"\n== model selection, k = {args.k_min}..{args.k_max}, 3 seeds, lda + nmf ==")
        rows = []
        for n in args.sentences:
            rows_idx = [i % base for i in range(n)]
            sub = units.subset(rows_idx)
            t0 = time.perf_counter()
            vec = LemmaVectorizer(min_df=2, max_df=0.5).fit(sub.terms())
            X = vec.transform(sub.terms())
            t1 = time.perf_counter()
            timing = {}
            for kind in ("lda", "nmf"):
                s = time.perf_counter()
                table = select_k(X, vec.vocabulary_, kind=kind, ks=range(args.k_min, args.k_max + 1))
                timing[kind] = time.perf_counter() - s
                timing[kind + "_k"] = int(table.loc[table["chosen"], "k"].iloc[0])
            rows.append((n, X.shape[1], t1 - t0, timing["lda"], timing["nmf"], timing["lda_k"], timing["nmf_k"]))
            print(f"  {n:>6} sentences: vectorise {t1 - t0:6.1f} s, lda {timing['lda']:7.1f} s "
                  f"(k={timing['lda_k']}), nmf {timing['nmf']:7.1f} s (k={timing['nmf_k']})", flush=True)
        _growth(rows, ["sentences", "terms", "vectorise_s", "lda_s", "nmf_s", "lda_k", "nmf_k"], [3, 4])

    if not args.skip_scoring:
        from ptce_nlp.closeness import closeness_tables
        from ptce_nlp.models import load_model
        from ptce_nlp.types import Document

        print(f"\n== scoring new fiches with {args.model} (no parse cache) ==")
        saved = load_model(args.model)
        fiches = [d for d in corpus.documents if d.metadata.get("genre") == "fiche"]
        rows = []
        for n in args.fiches:
            documents = [Document(f"{fiches[i % len(fiches)].doc_id}_{i:05d}",
                                  fiches[i % len(fiches)].text + f"\n\nFiche n° {i}.\n", "txt",
                                  metadata=dict(fiches[i % len(fiches)].metadata)) for i in range(n)]
            t0 = time.perf_counter()
            coded = code_documents(documents, saved.codebook, use_cache=False)
            t1 = time.perf_counter()
            sub = extract_units(coded.parsed, coded.coded, saved.codebook, unit=saved.closeness.unit_)
            t2 = time.perf_counter()
            tables = closeness_tables(saved.closeness, sub)
            t3 = time.perf_counter()
            assert len(tables["closeness"]) == n
            rows.append((n, t1 - t0, t2 - t1, t3 - t2, t3 - t0, 1000 * (t3 - t0) / n))
            print(f"  {n:>6} fiches: parse+code {t1 - t0:7.1f} s, features {t2 - t1:6.1f} s, "
                  f"scoring {t3 - t2:6.1f} s, total {t3 - t0:7.1f} s ({1000 * (t3 - t0) / n:.0f} ms/fiche)",
                  flush=True)
        _growth(rows, ["fiches", "parse_code_s", "features_s", "scoring_s", "total_s", "ms_per_fiche"], [1, 2, 3, 4])


def _growth(rows, names, timed) -> None:
    print("  " + "  ".join(f"{n:>12}" for n in names))
    for row in rows:
        print("  " + "  ".join(f"{v:>12.1f}" if isinstance(v, float) else f"{v:>12}" for v in row))
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        size = b[0] / a[0]
        ratios = ", ".join(f"{names[i]} x{b[i] / a[i]:.2f}" for i in timed if a[i] > 0)
        print(f"  growth for x{size:.2f} the size: {ratios}")


if __name__ == "__main__":
    main()
