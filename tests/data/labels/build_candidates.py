"""Candidate sentences of the labelled set (see README.md in this folder): every usable sentence.

Sources: the bundled corpus (``corpus/``), the two seed articles (``../shared/seeds/``: only their file,
segment id and offsets are written, never their text) and the documents written for evaluation
(``written/``). Sentences are the ``sentence`` segments of ``ptce_nlp.ingest``; a sentence is usable when
it has at least 6 words and is neither a heading nor a bibliography entry (``eligible`` below, the rule of
the first rounds). The split is by document group (a pole of the corpus, a seed article, a written
document), drawn once with a fixed seed; it never looks at labels.

Run from the repository root: ``.venv/bin/python tests/data/labels/build_candidates.py``. It writes
``candidates.csv`` (same bytes every time for the same inputs).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import numpy as np

import ptce_nlp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
SEED_TEST = {"000_fc7c8edcc120d478"}      # the first seed article is held out whole, the second is training data
TEST_SHARE = 0.3                           # share of document groups held out, per stratum
RNG_SEED = 2026
COLUMNS = ["id", "origin", "doc_id", "group", "register", "subject_type", "segment_id", "start_char", "end_char",
           "split", "text"]

BIB = re.compile(r"(\bpp?\.\s*\d|Paris\s*[,:]|[EÉé]ditions|\bRevue\b|Presses|Harmattan|https?:|www\.|\(dir\.\)|\(eds?\.\))")


def is_heading(text: str) -> bool:
    t = " ".join(text.split())
    letters = [c for c in t if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) / len(letters) > 0.6:
        return True
    if re.match(r"^(Tableau|Figure|Source|Graphique|Encadré)\b", t):
        return True
    return not re.search(r"[.?!:;…»)]\s*$", t) and len(t.split()) < 10


def eligible(text: str) -> bool:
    t = " ".join(text.split())
    if len(t.split()) < 6:
        return False
    if BIB.search(t) and re.search(r"\b(19|20)\d\d\b", t):
        return False
    return not is_heading(t)


def _read_manifest(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _sentences(result):
    table = result.segments_table
    return table[table["kind"] == "sentence"]


def _draw_test(groups_by_stratum: dict[str, list[str]], rng) -> set[str]:
    test = set()
    for stratum in sorted(groups_by_stratum):
        groups = sorted(set(groups_by_stratum[stratum]))
        n = int(round(TEST_SHARE * len(groups)))
        test.update(rng.permutation(groups)[:n].tolist())
    return test


def main() -> None:
    rng = np.random.default_rng(RNG_SEED)
    rows = []
    # The bundled corpus: groups are poles (a pole's fiche and monograph go to the same side).
    manifest = {r["doc_id"]: r for r in _read_manifest(ROOT / "corpus" / "manifest.csv")}
    strata: dict[str, list[str]] = {}
    for r in manifest.values():
        if r["pole_type"] != "reference":      # the two reference texts are training data (the scale's anchors)
            strata.setdefault(r["pole_type"], []).append(r["pole"])
    test_groups = _draw_test(strata, rng)
    for seg in _sentences(ptce_nlp.ingest(ROOT / "corpus")).itertuples():
        meta = manifest[seg.doc_id]
        rows.append({"origin": "corpus", "doc_id": seg.doc_id, "group": meta["pole"],
                     "register": f"{meta['genre']}_{meta['pole_type']}" if meta["genre"] != "reference" else "reference",
                     "subject_type": meta["pole_type"], "seg": seg,
                     "split": "test" if meta["pole"] in test_groups else "train"})
    # The seed articles: offsets only.
    seed_files = sorted(SEEDS.glob("*.txt"))
    if len(seed_files) != 2:
        sys.exit(f"the two seed articles are needed in {SEEDS}")
    for seg in _sentences(ptce_nlp.ingest(seed_files)).itertuples():
        rows.append({"origin": "seed", "doc_id": seg.doc_id, "group": seg.doc_id, "register": "research_article",
                     "subject_type": "research", "seg": seg,
                     "split": "test" if seg.doc_id in SEED_TEST else "train"})
    # Documents written for evaluation, in the registers researchers bring.
    written = HERE / "written"
    if (written / "manifest.csv").exists():
        wmeta = {r["doc_id"]: r for r in _read_manifest(written / "manifest.csv")}
        strata = {}
        for r in wmeta.values():
            strata.setdefault(r["register"], []).append(r["doc_id"])
        test_docs = _draw_test(strata, rng)
        files = [written / f"{d}.txt" for d in sorted(wmeta)]
        for seg in _sentences(ptce_nlp.ingest(files)).itertuples():
            meta = wmeta[seg.doc_id]
            rows.append({"origin": "written", "doc_id": seg.doc_id, "group": seg.doc_id, "register": meta["register"],
                         "subject_type": meta["subject_type"], "seg": seg,
                         "split": "test" if seg.doc_id in test_docs else "train"})
    out = []
    for r in rows:
        seg = r.pop("seg")
        if not eligible(seg.text):
            continue
        out.append({**r, "id": f"{seg.doc_id}#{seg.segment_id}", "segment_id": seg.segment_id,
                    "start_char": seg.start_char, "end_char": seg.end_char,
                    "text": "" if r["origin"] == "seed" else seg.text})
    tmp = HERE / "candidates.csv.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    tmp.replace(HERE / "candidates.csv")
    counts: dict[tuple, int] = {}
    for r in out:
        counts[(r["origin"], r["split"])] = counts.get((r["origin"], r["split"]), 0) + 1
    for key in sorted(counts):
        print(*key, counts[key])
    print("total", len(out))


if __name__ == "__main__":
    main()
