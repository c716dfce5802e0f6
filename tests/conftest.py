"""Shared fixtures: paths to the bundled corpus and to the seed articles."""

from __future__ import annotations

from pathlib import Path

import os

import pytest
from hypothesis import settings

# CI must not fail on an example no one has seen before: derandomized there, random on developers' machines.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEEDS = ROOT.parent / "shared" / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []


@pytest.fixture(scope="session", autouse=True)
def _private_user_cache(tmp_path_factory):
    """Tests never read or write the user's own cache (~/.cache/ptce_nlp): a fresh one per session."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg_cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    """The two seed articles (real PDF-extracted text), read as UTF-8."""
    if len(SEED_FILES) < 2:
        pytest.skip(f"seed articles not found in {SEEDS}")
    return {p.name: p.read_text("utf-8") for p in SEED_FILES}


@pytest.fixture(scope="session")
def lexicon():
    from ptce_nlp.lexicon import french_lexicon

    return french_lexicon()


@pytest.fixture(scope="session")
def ingested_corpus():
    """The bundled corpus, ingested once for the session."""
    from ptce_nlp.ingest import ingest

    return ingest(CORPUS)


@pytest.fixture(scope="session")
def parse_cache_dir(tmp_path_factory) -> Path:
    """One parse cache for the whole test session (never the user's own cache)."""
    return tmp_path_factory.mktemp("parse_cache")


@pytest.fixture(scope="session")
def coded_corpus(parse_cache_dir):
    """The bundled corpus and the two seed articles, coded with the shipped codebook."""
    from ptce_nlp.analysis import code_documents
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.corpus import read_corpus

    corpus = read_corpus([CORPUS, *SEED_FILES])
    return code_documents(corpus.documents, Codebook.shipped(), cache_dir=parse_cache_dir)


LABELS = ROOT / "tests" / "data" / "labels"


@pytest.fixture(scope="session")
def labelled(parse_cache_dir):
    """The labelled sentences (``tests/data/labels``) with the learned coder's features, and the coding of their
    documents: the corpus, the written documents and, when present, the seed articles (their text is read from
    ``../shared/seeds``; without it their rows are left out)."""
    from ptce_nlp.analysis import code_documents
    from ptce_nlp.classify import sentence_table
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.corpus import read_corpus
    from ptce_nlp.evaluation import read_labelled_set

    documents = read_corpus([CORPUS, *SEED_FILES, *sorted((LABELS / "written").glob("*.txt"))]).documents
    gold, _ = read_labelled_set(LABELS, documents)
    result = code_documents(documents, Codebook.shipped(), cache_dir=parse_cache_dir)
    table = sentence_table(result.parsed, result.coded)
    data = gold.drop(columns=["text", "segment_id"]).merge(table, on=["doc_id", "start_char", "end_char"],
                                                            validate="one_to_one")
    assert len(data) == len(gold), "a labelled sentence is not a sentence of the parse"
    return data, result
