"""Time the exports, the import and the agreement on the bundled corpus (figures side by side).

Usage: .venv/bin/python scripts/bench_export.py [--repeat N]

The coding itself (parse cache warm) is timed once for reference; each export is
then run N times and the best time is printed with the size of its output.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from ptce_nlp.agreement import compare_codings, sentence_units
    from ptce_nlp.analysis import code_documents, pole_counts
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.corpus import read_corpus
    from ptce_nlp.export import (read_qdpx, write_iramuteq, write_jsonl, write_qdc, write_qdpx, write_tables,
                                 write_xlsx)

    corpus = read_corpus(ROOT / "corpus")
    book = Codebook.shipped("ptce")
    t = time.perf_counter()
    result = code_documents(corpus.documents, book)
    coding = time.perf_counter() - t
    tables = {"coded_segments": result.coded, "code_counts": result.counts, "pole_counts": pole_counts(result.counts)}
    n_chars = sum(len(d.text) for d in corpus.documents)
    print(f"corpus: {len(corpus.documents)} documents, {n_chars:,} characters, {len(result.coded)} coded matches")
    print(f"{'step':<28} {'seconds':>8} {'output':>12}")
    print(f"{'code (parse cache warm)':<28} {coding:>8.3f} {'':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        steps = [
            ("write_qdpx", lambda: write_qdpx(result.parsed, result.coded, book, tmp / "p.qdpx"), tmp / "p.qdpx"),
            ("read_qdpx", lambda: read_qdpx(tmp / "p.qdpx", codebook=book), None),
            ("write_qdc", lambda: write_qdc(book, tmp / "c.qdc"), tmp / "c.qdc"),
            ("write_xlsx", lambda: write_xlsx(tables, tmp / "t.xlsx"), tmp / "t.xlsx"),
            ("write_tables (csv)", lambda: write_tables(tables, tmp / "csv"), tmp / "csv" / "coded_segments.csv"),
            ("write_jsonl", lambda: write_jsonl(result.coded, tmp / "c.jsonl"), tmp / "c.jsonl"),
            ("write_iramuteq", lambda: write_iramuteq(corpus.documents, tmp / "i.txt"), tmp / "i.txt"),
            ("agreement (sentences)", lambda: compare_codings(result.coded, result.coded,
                                                             sentence_units(corpus.documents)), None),
        ]
        for name, fn, output in steps:
            seconds = best(fn, args.repeat)
            size = f"{output.stat().st_size / 1024:,.0f} KiB" if output is not None else ""
            print(f"{name:<28} {seconds:>8.3f} {size:>12}")


if __name__ == "__main__":
    main()
