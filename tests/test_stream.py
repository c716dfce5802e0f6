"""Issue 13: parses kept as token arrays (no list of Docs), the array coder, checksummed cache entries."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil

import pytest
from click.testing import CliRunner

from ptce_nlp.analysis import code_documents
from ptce_nlp.cli import main
from ptce_nlp.codebook import Codebook
from ptce_nlp.coding import Coder
from ptce_nlp.corpus import read_corpus
from ptce_nlp.tokens import TokenArrays

from .conftest import CORPUS, SEED_FILES
from .reference_coder import ReferenceCoder

#: SHA-256 of ``ptce-nlp code corpus`` outputs written before issue 13 (commit f3893ed: the codebook and coder
#: model of today, spaCy Docs held in memory and coded by spaCy's PhraseMatcher): the streaming run must write the
#: same bytes. A deliberate change of the codebook or of models/coder changes them: take the new hashes from the
#: code before the change (a worktree of the previous commit) with the new codebook, never from the new code.
GOLDEN_CODE = {
    "coded_segments.csv": "3ab08861f75f4bb87e1a70dd75cf251ec5d895b8ec9b88d80d6b8a7a3f3e3e25",
    "code_counts.csv": "d19e5bd959c6e636b4c9d01bbfef046e72472af7930f0e27fba162fa71f70e9f",
    "coded_sentences.csv": "1a9239aae4b5d8a59c68414648871bd3eb82ceb2421f16912d2f25cefc4760f2",
}


#: The same for ``ptce-nlp code`` on the two seed articles and the bundled corpus (hashes only: the project never
#: holds the articles' text); checked when ``../shared/seeds/`` holds these two files.
GOLDEN_SEEDS = {
    "coded_segments.csv": "33573a2c2796f9b315131dc6ef6c38fa1723c82845bfa1f605164fe9a69538f0",
    "code_counts.csv": "3edac4da92d9fbac5cc59017a1b580727e8a10dcfc64ad46d02ecce3bd1afbf5",
    "coded_sentences.csv": "f3cf1623c25ac6cbc6b5cf4dd00ec127b3f75cdfbf5585a2c21f5b509131f140",
}
SEED_NAMES = ["000_fc7c8edcc120d478.txt", "001_44e51539205ad2c3.txt"]


def _digests(folder) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in GOLDEN_CODE}


@pytest.fixture(scope="module")
def corpus_docs():
    """Every document of the bundled corpus (and the seed articles when present) with its spaCy Doc."""
    from ptce_nlp.analysis import clean_documents
    from ptce_nlp.nlp import parse_texts

    documents = read_corpus([CORPUS, *SEED_FILES]).documents
    cleans = clean_documents(documents, use_cache=False)
    docs, _ = parse_texts([c.text for c in cleans], use_cache=False)
    return docs


@pytest.mark.parametrize("book,accents", [("ptce", False), ("ptce", True), ("referentiel", False)])
def test_array_coder_finds_what_the_phrase_matcher_found(corpus_docs, book, accents):
    codebook = Codebook.shipped(book)
    old, new = ReferenceCoder(codebook, accent_insensitive=accents), Coder(codebook, accent_insensitive=accents)
    total = 0
    for doc in corpus_docs:
        expected = old.match(doc)
        arrays = TokenArrays.from_bytes(TokenArrays.from_doc(doc).to_bytes())  # as a warm run reads them
        assert new.match(arrays) == expected
        total += len(expected)
    assert total > 100  # the comparison is not vacuous


def test_token_arrays_round_trip_keep_every_column(corpus_docs):
    doc = corpus_docs[0]
    arrays = TokenArrays.from_bytes(TokenArrays.from_doc(doc).to_bytes())
    assert arrays.column("text") == [t.text for t in doc]
    assert arrays.column("lemma") == [t.lemma_ for t in doc]
    assert arrays.column("pos") == [t.pos_ for t in doc]
    assert arrays.idx.tolist() == [t.idx for t in doc]
    assert arrays.ends().tolist() == [t.idx + len(t) for t in doc]
    assert arrays.n_words() == sum(1 for t in doc if not (t.is_punct or t.is_space))
    assert arrays.covers(doc.text)


def test_code_cold_and_warm_write_the_outputs_of_before(tmp_path, monkeypatch):
    import ptce_nlp.analysis as analysis

    runner = CliRunner()
    for name, batch in (("cold", None), ("warm", None), ("warm, batches of 4", 4), ("warm, batches by size", -1),
                        ("no cache", None)):
        if batch == -1:  # a batch cut at each document by its characters (a run of long documents)
            monkeypatch.setattr(analysis, "WRITE_BATCH", 200)
            monkeypatch.setattr(analysis, "WRITE_BATCH_CHARS", 1)
        elif batch:  # the tables written by batches of 4 documents (33 documents: 9 batches, the last of 1)
            monkeypatch.setattr(analysis, "WRITE_BATCH", batch)
        out = tmp_path / name
        cache = ["--no-cache"] if name == "no cache" else ["--cache-dir", str(tmp_path / "c")]
        result = runner.invoke(main, ["code", str(CORPUS), "--out", str(out), *cache])
        assert result.exit_code == 0, result.output
        assert _digests(out) == GOLDEN_CODE, name
        if name.startswith("warm"):
            assert "parsed 0, from cache 33." in result.output


def test_code_with_a_lone_carriage_return_writes_the_tables_whole(tmp_path):
    """A cell with a lone \\r makes write_csv quote every text cell: that table is not streamed."""
    from ptce_nlp.analysis import has_lone_cr
    from ptce_nlp.types import Document

    assert has_lone_cr([Document("a", "Une ligne.\rUne autre.", "txt")])
    assert not has_lone_cr([Document("a", "Une ligne.\r\nUne autre.", "txt")])
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "mac.txt").write_bytes("La coopération locale.\rLe pôle mutualise des moyens.".encode("utf-8"))
    result = CliRunner().invoke(main, ["code", str(folder), "--out", str(tmp_path / "o"), "--cache-dir",
                                       str(tmp_path / "c"), "--coder", "lexicon"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    coded = pd.read_csv(tmp_path / "o" / "coded_segments.csv")
    assert "coopération" in set(coded["text"])


@pytest.mark.skipif([p.name for p in SEED_FILES] != SEED_NAMES, reason="the two seed articles are not there")
def test_code_on_the_seed_articles_writes_the_outputs_of_before(tmp_path):
    result = CliRunner().invoke(main, ["code", *map(str, SEED_FILES), str(CORPUS), "--out", str(tmp_path / "o"),
                                       "--cache-dir", str(tmp_path / "c"), "-q"])
    assert result.exit_code == 0, result.output
    assert _digests(tmp_path / "o") == GOLDEN_SEEDS


@pytest.mark.parametrize("coder", ["lexicon", "hybrid"])
def test_warm_run_imports_no_spacy_and_holds_no_parse(tmp_path, coder):
    """A warm re-code reads token arrays: spaCy is never imported, with the lexicon alone or with the learned
    coder (its word vectors are looked up by string hashes computed without spaCy)."""
    import subprocess
    import sys

    cache, out = tmp_path / "c", tmp_path / "o"
    args = ["code", str(CORPUS), "--out", str(out), "--cache-dir", str(cache), "--coder", coder, "-q"]
    assert CliRunner().invoke(main, args).exit_code == 0
    probe = ("import sys; from ptce_nlp.cli import main\n"
             "try:\n    main.main(sys.argv[1:], standalone_mode=False)\nfinally:\n"
             "    print('SPACY' if 'spacy' in sys.modules else 'NOSPACY')\n")
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(CORPUS.parent)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "NOSPACY"


def test_parsed_documents_keep_only_what_the_cache_cannot_give_back(tmp_path):
    documents = read_corpus(CORPUS).documents[:5]
    result = code_documents(documents, Codebook.shipped(), cache_dir=tmp_path)
    held = [(p._clean, p._tokens, p._segments) for p in result.parsed]
    assert held == [(None, None, None)] * 5
    # read back on demand, one document at a time
    assert all(isinstance(p.tokens, TokenArrays) and p.clean.original == p.document.text for p in result.parsed)
    uncached = code_documents(documents, Codebook.shipped(), use_cache=False)
    assert uncached.coded.equals(result.coded) and uncached.counts.equals(result.counts)


def _entries(cache, kind):
    return sorted((cache / kind).rglob("*.arr"))


@pytest.mark.parametrize("kind", ["tokens", "cleaned"])
def test_damaged_cache_entry_is_detected_made_again_and_reported(tmp_path, kind):
    runner = CliRunner()
    cache = tmp_path / "c"
    args = ["code", str(CORPUS), "--cache-dir", str(cache), "--coder", "lexicon"]
    assert runner.invoke(main, [*args, "--out", str(tmp_path / "cold")]).exit_code == 0
    entry = _entries(cache, kind)[3]
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit flipped in the middle of the stored arrays
    entry.write_bytes(bytes(data))
    shutil.rmtree(cache / "coded")  # else each document's rows are read back and its parse never read
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "warm")])
    assert result.exit_code == 0, result.output
    assert "1 damaged cache entry found (checksum) and made again" in result.output
    for name in ("coded_segments.csv", "code_counts.csv"):
        assert (tmp_path / "warm" / name).read_bytes() == (tmp_path / "cold" / name).read_bytes()
    if kind == "tokens":
        assert "parsed 1, from cache 32" in result.output
    # made again: the next run finds nothing damaged
    again = runner.invoke(main, [*args, "--out", str(tmp_path / "again")])
    assert "damaged cache" not in again.output and "parsed 0, from cache 33" in again.output


def test_truncated_or_foreign_token_entry_is_a_miss(tmp_path):
    from ptce_nlp.nlp import TokenCache, pipeline_settings

    cache = TokenCache(tmp_path, pipeline_settings())
    text = "Le pôle mutualise des locaux."
    other = TokenArrays([""], *([TokenArrays.empty().idx] * 5), TokenArrays.empty().flags)
    cache.save(text, other)  # a consistent entry, but of no token of this text
    assert cache.load(text) is None and cache.store.damaged == 1
    cache.store.path(text.encode()).write_bytes(b"PTCE\x01" + b"0" * 10)  # truncated
    assert cache.load(text) is None and cache.store.damaged == 2


def test_full_disk_while_writing_the_cache_is_one_line_exit_5_outputs_kept(tmp_path, monkeypatch):
    import ptce_nlp.cache as cache_module

    runner = CliRunner()
    out = tmp_path / "out"
    documents = read_corpus(CORPUS).documents[:3]
    folder = tmp_path / "in"
    folder.mkdir()
    for d in documents:
        (folder / f"{d.doc_id}.txt").write_text(d.text, encoding="utf-8")
    args = ["code", str(folder), "--out", str(out), "--coder", "lexicon"]
    assert runner.invoke(main, [*args, "--cache-dir", str(tmp_path / "c1")]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    def full_disk(fd, data):  # the entry's temporary file is made, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module, "_os_write", full_disk)
    result = runner.invoke(main, [*args, "--cache-dir", str(tmp_path / "c2")])
    assert result.exit_code == 5, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "No space left on device" in errors[0] and "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    leftovers = [p for p in (tmp_path / "c2").rglob("*") if p.is_file()]
    assert leftovers == []  # no half-written cache entry either
    shutil.rmtree(tmp_path / "c2", ignore_errors=True)
