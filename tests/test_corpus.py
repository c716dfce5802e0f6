"""The bundled corpus: composition, full ingestion, regeneration from sources."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter

import pytest

from ptce_nlp.corpus import load_manifest

ROOT_SCRIPTS = __import__("pathlib").Path(__file__).resolve().parents[1] / "scripts"


def _load_build_script():
    spec = importlib.util.spec_from_file_location("build_corpus", ROOT_SCRIPTS / "build_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_corpus"] = module
    spec.loader.exec_module(module)
    return module


def test_corpus_composition(corpus_dir):
    sources = load_manifest(corpus_dir / "manifest.csv")
    kinds = Counter((s.metadata["pole_type"], s.metadata["genre"]) for s in sources)
    assert kinds[("ptce", "fiche")] >= 12
    assert kinds[("pole_competitivite", "fiche")] + kinds[("cluster", "fiche")] >= 8
    assert kinds[("district_spl", "fiche")] >= 2
    assert sum(n for (t, g), n in kinds.items() if g == "monographie") >= 4
    assert kinds[("reference", "reference")] == 2
    assert {s.doc_id for s in sources} >= {"reference_ess", "reference_cluster"}
    assert (corpus_dir / "README.md").is_file()


def test_corpus_reads_completely(ingested_corpus):
    assert ingested_corpus.failures == []
    table = ingested_corpus.documents_table
    assert len(table) == len(ingested_corpus.documents) >= 33
    monographs = table[table["genre"] == "monographie"]
    assert len(monographs) >= 4 and (monographs["n_words"] >= 1500).all(), monographs[["doc_id", "n_words"]]
    assert set(table["format"]) == {"txt", "md", "docx", "odt", "pdf", "html"}
    assert (table["n_sentences"] >= table["n_paragraphs"]).all()


def test_corpus_pdf_artefacts_are_cleaned(ingested_corpus):
    from ptce_nlp.clean import clean_text

    pdfs = [d for d in ingested_corpus.documents if d.format == "pdf"]
    assert pdfs
    hyphenated = 0
    for doc in pdfs:
        cleaned = clean_text(doc.text).text
        header_lines = {line for line in doc.text.split("\n") if "·" in line or "—" in line}
        for line in header_lines:
            if doc.text.count(line) > 1:
                assert line not in cleaned, (doc.doc_id, line)
        hyphenated += doc.text.count("-\n")
        assert "-\n" not in cleaned
        assert "(cid:" not in cleaned
    assert hyphenated > 10  # the PDFs really are hyphenated by the layout


def test_corpus_regenerates_identically(tmp_path, corpus_dir):
    pytest.importorskip("reportlab")
    build = _load_build_script()
    build.CORPUS = tmp_path
    build.SRC = corpus_dir / "src"
    assert build.main() == 0
    for entry in build.CATALOG:
        assert (tmp_path / entry.path).read_bytes() == (corpus_dir / entry.path).read_bytes(), entry.path
    assert (tmp_path / "manifest.csv").read_bytes() == (corpus_dir / "manifest.csv").read_bytes()
