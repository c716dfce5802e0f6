"""The extraction, cleaning and parse caches: hits, keys, damaged entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptce_nlp.analysis import clean_documents, code_documents
from ptce_nlp.cache import CleanCache, ExtractCache, KeyedStore
from ptce_nlp.clean import clean_text
from ptce_nlp.codebook import Codebook
from ptce_nlp.corpus import find_sources, iter_read
from ptce_nlp.types import Document

from .helpers import make_docx


def test_cache_clean_round_trip_keeps_the_offset_map(tmp_path):
    original = "Le pôle de compé-\r\ntitivité et l’in-\r\nsertion 😀 des territoires3.\r\n"
    clean = clean_text(original)
    cache = CleanCache(tmp_path)
    assert cache.get(original) is None
    cache.put(clean)
    again = cache.get(original)
    assert again == clean
    assert again.original_span(0, len(again.text)) == clean.original_span(0, len(clean.text))


def test_cache_damaged_clean_entry_is_a_miss(tmp_path):
    original = "Un texte à nettoyer."
    cache = CleanCache(tmp_path)
    cache.put(clean_text(original))
    path = cache.store.path(original.encode("utf-8"))
    path.write_bytes(path.read_bytes()[:20])
    assert cache.get(original) is None
    documents = [Document("d", original, "txt")]
    assert clean_documents(documents, cache_dir=tmp_path)[0] == clean_text(original)


def test_cache_extraction_hit_skips_the_reader(tmp_path, monkeypatch):
    path = make_docx(tmp_path / "fiche.docx", ["Le pôle mutualise des locaux.", "Deuxième paragraphe."])
    cache_dir = tmp_path / "cache"
    sources, _ = find_sources([path])
    first = list(iter_read(sources, cache_dir=cache_dir))
    import ptce_nlp.corpus as corpus

    def boom(*args, **kwargs):
        raise AssertionError("the reader ran although the extraction was cached")

    monkeypatch.setattr(corpus, "read_file", boom)
    second = list(iter_read(sources, cache_dir=cache_dir))
    assert [(d.doc_id, d.text, d.format) for d in second] == [(d.doc_id, d.text, d.format) for d in first]


def test_cache_extraction_key_is_the_file_content(tmp_path):
    path = make_docx(tmp_path / "fiche.docx", ["Premier texte."])
    cache_dir = tmp_path / "cache"
    sources, _ = find_sources([path])
    assert list(iter_read(sources, cache_dir=cache_dir))[0].text == "Premier texte."
    make_docx(path, ["Texte modifié."])
    assert list(iter_read(sources, cache_dir=cache_dir))[0].text == "Texte modifié."
    assert ExtractCache(cache_dir).get(b"not cached", "docx") is None


def test_cache_edited_codebook_reuses_every_cache(tmp_path):
    book = Codebook.from_yaml_text(
        "codes:\n  - id: a\n    label: A\n  - id: a.b\n    parent: a\n    label: B\n    lemmas: [coopération]\n")
    edited = Codebook.from_yaml_text(
        "codes:\n  - id: a\n    label: A\n  - id: a.b\n    parent: a\n    label: B\n"
        "    lemmas: [coopération, territoire]\n")
    docs = [Document("d", "La coopération sur le territoire.", "txt")]
    first = code_documents(docs, book, cache_dir=tmp_path)
    second = code_documents(docs, edited, cache_dir=tmp_path)
    assert first.stats["parsed"] == 1
    assert second.stats == {"parsed": 0, "cached": 1, "model_loaded": False, "damaged": 0}
    assert list(second.coded["text"]) == ["coopération", "territoire"]


@pytest.mark.parametrize("use_cache", [True, False])
def test_cache_no_cache_writes_nothing(tmp_path, use_cache):
    docs = [Document("d", f"Un texte pour le test {use_cache} du cache.", "txt")]
    code_documents(docs, Codebook.shipped(), cache_dir=tmp_path, use_cache=use_cache)
    assert any((tmp_path / "cleaned").rglob("*.arr")) is use_cache
    assert any((tmp_path / "tokens").rglob("*.arr")) is use_cache  # the parse, as token arrays


@pytest.mark.parametrize("foreign", ["Un autre texte, tout autre.", "Un pôle mutualise des moyens.", ""])
def test_cache_foreign_parse_file_is_a_miss(tmp_path, foreign):
    from spacy.tokens import DocBin

    from ptce_nlp.nlp import DOC_ATTRS, ParseCache, load_nlp, parse_texts, pipeline_settings

    text = "Le pôle mutualise des locaux."
    nlp = load_nlp()
    cache = ParseCache(tmp_path, pipeline_settings())
    # the parse of another text (same length for the second one), stored under this text's name
    cache.store.put(text.encode("utf-8"), DocBin(attrs=DOC_ATTRS, docs=[nlp(foreign)]).to_bytes())
    assert cache.load(text, nlp.vocab) is None
    docs, _ = parse_texts([text], cache_dir=tmp_path)
    assert docs[0].text == text
    assert cache.load(text, nlp.vocab).text == text


@pytest.mark.parametrize("command", [["export", "--format", "csv"],
                                     ["closeness", "--model", str(Path(__file__).parents[1] / "models" / "reference")]])
def test_cache_commands_read_through_the_cache_dir_they_are_given(tmp_path, monkeypatch, command):
    """The reading cache goes where --cache-dir says (and nowhere with --no-cache), for every command."""
    from click.testing import CliRunner

    from ptce_nlp.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "in"
    folder.mkdir()
    path = make_docx(folder / "fiche.docx", ["Le pôle mutualise des locaux avec les associations du territoire."])
    out = ["--out", str(tmp_path / ("out.csv" if command[0] == "export" else "res"))]
    cache_dir = tmp_path / "cache"
    result = CliRunner().invoke(main, [*command, str(folder), *out, "--cache-dir", str(cache_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    assert ExtractCache(cache_dir).get(path.read_bytes(), "docx") is not None
    assert not (tmp_path / "xdg" / "ptce_nlp").exists() or ExtractCache(tmp_path / "xdg" / "ptce_nlp").get(
        path.read_bytes(), "docx") is None
    other = tmp_path / "cache2"
    result = CliRunner().invoke(main, [*command, str(folder), *out, "--cache-dir", str(other), "--no-cache", "--quiet"])
    assert result.exit_code == 0, result.output
    assert ExtractCache(other).get(path.read_bytes(), "docx") is None


def test_background_writes_serve_waiting_entries_and_write_them_all(tmp_path, monkeypatch):
    import threading

    import ptce_nlp.cache as cache_module
    from ptce_nlp.cache import KeyedStore, background_writes

    store = KeyedStore(tmp_path, "x", {}, suffix=".arr")
    gate = threading.Event()
    real = cache_module._write_entry

    def slow(path, data):  # the writer waits until the test has read the entries back
        gate.wait(10)
        real(path, data)

    monkeypatch.setattr(cache_module, "_write_entry", slow)
    with background_writes(limit=1 << 30):
        for i in range(50):
            store.put(str(i).encode(), f"entry {i}".encode())
        store.put(b"7", b"entry 7, again")               # the newer entry of a key wins
        assert not list((tmp_path / "x").rglob("*.arr"))  # nothing written yet ...
        assert store.get(b"3") == b"entry 3" and store.get(b"7") == b"entry 7, again"  # ... and all served
        gate.set()
    assert len(list((tmp_path / "x").rglob("*.arr"))) == 50
    assert store.get(b"7") == b"entry 7, again" and store.damaged == 0
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_background_writes_raise_a_full_disk_at_the_end_and_drop_on_failure(tmp_path, monkeypatch):
    import errno

    import ptce_nlp.cache as cache_module
    from ptce_nlp.cache import KeyedStore, background_writes
    from ptce_nlp.errors import OutputError
    from ptce_nlp.io import _cannot_write

    store = KeyedStore(tmp_path, "x", {}, suffix=".arr")

    def full(path, data):
        raise _cannot_write(path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(cache_module, "_write_entry", full)
    with pytest.raises(OutputError, match="No space left on device"):
        with background_writes():
            store.put(b"a", b"payload")
    monkeypatch.undo()
    with pytest.raises(KeyboardInterrupt):  # a failing block: what waits is dropped, nothing half-written
        with background_writes():
            for i in range(20):
                store.put(str(i).encode(), b"x" * 1000)
            raise KeyboardInterrupt
    written = list((tmp_path / "x").rglob("*"))
    assert all(KeyedStore.MAGIC == p.read_bytes()[:5] for p in written if p.is_file())
    assert not [p for p in written if p.name.endswith(".tmp")]


def test_a_cache_entry_is_written_whole_with_the_usual_permissions_and_no_temporary_file(tmp_path, monkeypatch):
    import errno
    import os
    import stat

    import ptce_nlp.cache as cache_module
    from ptce_nlp.errors import OutputError

    store = KeyedStore(tmp_path / "c", "ns", {"v": 1}, suffix=".bin")
    payload = os.urandom(300_000)
    store.put(b"a", payload)  # its folder is made on the way
    store.put(b"a", payload[::-1])  # replaced whole
    assert store.get(b"a") == payload[::-1]
    path = store.path(b"a")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    written = []

    def short_writes(fd, data):  # the system writes a part at a time
        written.append(len(data))
        return os.write(fd, data[:1000])

    monkeypatch.setattr(cache_module, "_os_write", short_writes)
    store.put(b"b", payload)
    assert store.get(b"b") == payload and len(written) > 300

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module, "_os_write", full)
    with pytest.raises(OutputError, match="No space left on device"):
        store.put(b"c", payload)
    assert store.get(b"c") is None
    assert sorted(p.name for p in path.parent.parent.rglob("*") if p.is_file() and p.name.startswith(".")) == []
