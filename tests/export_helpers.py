"""Shared, cached data of the export tests: the bundled corpus coded once per test session."""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SCHEMAS = ROOT / "tests" / "data" / "refi-qda"  # copies of ../shared/refi-qda (see SOURCE.md there)


@functools.lru_cache(maxsize=1)
def coded_corpus():
    """(documents, CodingResult, codebook) of the bundled corpus with the shipped ``ptce`` codebook."""
    from ptce_nlp.analysis import code_documents
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.corpus import read_corpus

    corpus = read_corpus(CORPUS)
    book = Codebook.shipped("ptce")
    return corpus.documents, code_documents(corpus.documents, book), book


@functools.lru_cache(maxsize=2)
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rezip(members: dict[str, bytes], path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path
