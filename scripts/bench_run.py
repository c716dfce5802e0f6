"""Time ``ptce_nlp.run`` stage by stage on the bundled corpus, once and replicated (a bigger corpus).

    .venv/bin/python scripts/bench_run.py            # corpus x1 and x10 (330 documents)
    .venv/bin/python scripts/bench_run.py 1 5 20

Replicas are the same texts under new doc_ids, so parses come from the cache after the first
pass: the figures measure reading, coding, tables, figures and report, not spaCy parsing. Prints
one column per corpus size: seconds per stage, the report's size and the number of figures.
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ptce_nlp import pipeline  # noqa: E402


def replicate(times: int, folder: Path) -> Path:
    """A copy of corpus/ whose manifest lists every document ``times`` times."""
    corpus = ROOT / "corpus"
    target = folder / f"corpus_x{times}"
    shutil.copytree(corpus, target, ignore=shutil.ignore_patterns("src"))
    with open(corpus / "manifest.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(target / "manifest.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for i in range(times):
            for row in rows:
                writer.writerow({**row, "doc_id": row["doc_id"] + (f"_{i}" if i else ""),
                                 "pole": row["pole"] + (f" ({i})" if i else "")})
    return target


def measure(times: int, folder: Path) -> dict[str, float]:
    source = replicate(times, folder)
    timings: dict[str, float] = {}

    def timed(name, stage):
        def run_stage(state):
            start = time.perf_counter()
            stage(state)
            timings[name] = time.perf_counter() - start
        return run_stage

    stages = [(name, timed(name, stage)) for name, stage in pipeline.STAGES]
    start = time.perf_counter()
    result = pipeline.run([source], folder / f"out_x{times}", stages=stages)
    timings["total"] = time.perf_counter() - start
    timings["documents"] = len(result.documents)
    timings["report MB"] = result.report_path.stat().st_size / 1e6
    timings["figures (n)"] = len(list((result.out_dir / "figures").glob("*.png")))
    return timings


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1, 10]
    with tempfile.TemporaryDirectory() as tmp:
        columns = {n: measure(n, Path(tmp)) for n in sizes}
    rows = list(next(iter(columns.values())))
    print(f"{'':<12}" + "".join(f"{f'corpus x{n}':>14}" for n in sizes))
    for row in rows:
        print(f"{row:<12}" + "".join(f"{columns[n][row]:>14.2f}" for n in sizes))


if __name__ == "__main__":
    main()
