"""Data shared by the features, topics, closeness and models tests, built once per test process."""

from __future__ import annotations

import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
LBG_EXAMPLE = ROOT / "tests" / "data" / "reference-data" / "lbg2003_example_dfm.csv"  # copy of ../shared/reference-data


@functools.lru_cache(maxsize=1)
def codebook():
    from ptce_nlp.codebook import Codebook

    return Codebook.shipped()


@functools.lru_cache(maxsize=1)
def coded_corpus():
    """The bundled corpus, read, parsed (cache) and coded."""
    from ptce_nlp.analysis import code_documents
    from ptce_nlp.corpus import read_corpus

    corpus = read_corpus(CORPUS)
    return corpus.documents, code_documents(corpus.documents, codebook())


@functools.lru_cache(maxsize=4)
def corpus_units(unit: str):
    from ptce_nlp.features import extract_units

    _, result = coded_corpus()
    return extract_units(result.parsed, result.coded, codebook(), unit=unit)


@functools.lru_cache(maxsize=1)
def closeness_model():
    """The closeness model fitted on the corpus's sentences (default parameters, n_boot=300 for speed)."""
    from ptce_nlp.closeness import ClosenessModel

    return ClosenessModel(n_boot=300).fit(corpus_units("sentence"), codebook=codebook())


@functools.lru_cache(maxsize=1)
def small_topics():
    """Topic models on paragraphs with a short k range (two seeds) to keep the tests fast."""
    from ptce_nlp.topics import fit_topics

    return fit_topics(corpus_units("paragraph"), codebook(), ks=[4, 6], n_seeds=2)


def code_texts(texts: dict[str, str], *, metadata: dict | None = None):
    """Parse and code small texts: (documents, CodingResult)."""
    from ptce_nlp.analysis import code_documents
    from ptce_nlp.types import Document

    documents = [Document(doc_id, text, "txt", metadata=(metadata or {}).get(doc_id, {}))
                 for doc_id, text in texts.items()]
    return documents, code_documents(documents, codebook())


def units_of(texts: dict[str, str], unit: str = "sentence", *, metadata: dict | None = None):
    from ptce_nlp.features import extract_units

    _, result = code_texts(texts, metadata=metadata)
    return extract_units(result.parsed, result.coded, codebook(), unit=unit)
