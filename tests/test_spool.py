"""Issue 13: ``code`` keeps its documents' texts in a temporary file, not in memory (DocumentSpool)."""

from __future__ import annotations

import os
import random
import tempfile
import tracemalloc

import pytest
from click.testing import CliRunner

from ptce_nlp.cli import main
from ptce_nlp.corpus import DocumentSpool, Picked
from ptce_nlp.types import Document

from .conftest import CORPUS


def _random_text(rng: random.Random, n: int) -> str:
    alphabet = "aàâçéèêëîïôûùüÿœæ ’'«»\n\r\t-–—…€😀" + "\ud800\udfff"  # lone surrogates too
    return "".join(rng.choice(alphabet) for _ in range(n))


def test_a_spool_gives_back_each_document_equal():
    rng = random.Random(13)
    documents = [Document(f"d{i}", _random_text(rng, rng.randrange(0, 400)), "txt", encoding="utf-8",
                          metadata={"pole": f"pôle {i}", "year": str(2000 + i)}) for i in range(60)]
    documents.append(Document("empty", "", "md"))
    with DocumentSpool(documents) as spool:
        assert len(spool) == len(documents)
        assert list(spool) == documents
        order = list(range(len(documents)))
        rng.shuffle(order)
        for i in order + order[:5]:  # any order, the same document twice in a row
            assert spool[i] == documents[i]
        assert spool[-1] == documents[-1]
        assert list(spool[10:20:3]) == documents[10:20:3]
        assert list(Picked(spool, [5, 2, 5])) == [documents[5], documents[2], documents[5]]
        with pytest.raises(IndexError):
            spool[len(documents)]


def test_a_spool_does_not_hold_the_texts_in_memory():
    text = "Le pôle territorial de coopération économique réunit des structures de l'ESS. " * 2600  # ~200 KB
    tracemalloc.start()
    try:
        spool = DocumentSpool()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(100):  # 20 MB of text
            spool.append(Document(f"d{i}", f"{i} {text}", "txt"))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 2_000_000, held  # a list of these documents holds more than 20 MB
    assert spool[42].text == f"42 {text}"
    spool.close()


def test_code_goes_through_a_spool_and_writes_the_same_tables(tmp_path, monkeypatch):
    import ptce_nlp.analysis as analysis

    seen = []
    write_coding = analysis.write_coding

    def spy(documents, *args, **kwargs):
        seen.append(type(documents))
        return write_coding(documents, *args, **kwargs)

    runner = CliRunner()
    a = runner.invoke(main, ["code", str(CORPUS), "--out", str(tmp_path / "a"), "--cache-dir", str(tmp_path / "c"),
                             "--coder", "lexicon", "--quiet"])
    assert a.exit_code == 0, a.output
    monkeypatch.setattr(analysis, "write_coding", spy)
    b = runner.invoke(main, ["code", str(CORPUS), "--out", str(tmp_path / "b"), "--no-cache", "--coder", "lexicon",
                             "--quiet"])
    assert b.exit_code == 0, b.output
    c = runner.invoke(main, ["code", str(CORPUS), "--out", str(tmp_path / "c2"), "--cache-dir",
                             str(tmp_path / "c"), "--coder", "lexicon", "--quiet"])
    assert c.exit_code == 0, c.output
    assert seen == [DocumentSpool]
    for name in ("coded_segments.csv", "code_counts.csv", "coded_sentences.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes() \
            == (tmp_path / "c2" / name).read_bytes()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to see where a file without a name is")
def test_the_spool_of_code_lies_in_the_cache_folder_or_else_in_the_temporary_folder(tmp_path):
    from ptce_nlp.cli import _spool

    def folder_of(spool) -> str:
        return os.readlink(f"/proc/self/fd/{spool._file.fileno()}")

    with _spool(tmp_path / "cache" / "new") as spool:  # made if missing
        assert folder_of(spool).startswith(str(tmp_path / "cache" / "new") + os.sep)
    (tmp_path / "a file").write_text("x", encoding="utf-8")
    with _spool(tmp_path / "a file") as spool:  # not a folder: the temporary folder
        assert folder_of(spool).startswith(tempfile.gettempdir())
        spool.append(Document("d", "texte", "txt"))
        assert spool[0].text == "texte"
    assert sorted(p.name for p in (tmp_path / "cache" / "new").iterdir()) == []  # nothing left behind


def test_a_full_disk_while_spooling_is_one_line_exit_5_and_the_outputs_are_kept(tmp_path, monkeypatch):
    import errno

    import ptce_nlp.corpus as corpus_module

    runner = CliRunner()
    out = tmp_path / "out"
    args = ["code", str(CORPUS / "fiches"), "--out", str(out), "--coder", "lexicon", "--cache-dir",
            str(tmp_path / "c")]
    assert runner.invoke(main, args).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    real = tempfile.TemporaryFile

    class Full:
        def __init__(self, *a, **k):
            self.inner = real(*a, **k)

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(corpus_module.tempfile, "TemporaryFile", Full)
    result = runner.invoke(main, args)
    assert result.exit_code == 5, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: {tmp_path / 'c'}: cannot write the temporary file of the documents' texts here "
                      "(No space left on device)"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
