"""Issue 13: the coding cache (``coded/``, :mod:`ptce_nlp.recode`): a warm re-code with an edited codebook reads
back each document's rows where no edited code can match, and writes what coding every document again writes."""

from __future__ import annotations

import shutil

import pytest
import yaml
from click.testing import CliRunner

from ptce_nlp.cli import main
from ptce_nlp.codebook import Codebook
from ptce_nlp.coding import Coder
from ptce_nlp.recode import CodedCache, code_fingerprints

from .conftest import CORPUS

TABLES = ("coded_segments.csv", "code_counts.csv", "coded_sentences.csv")


def _code(codebook_dict, *, cache, out, coder="lexicon", extra=()):
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(codebook_dict, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["code", str(CORPUS), "--out", str(out), "--cache-dir", str(cache),
                                       "--codebook", str(path), "--coder", coder, "-q", *extra])
    assert result.exit_code == 0, result.output
    return result


def _texts() -> list[str]:
    from ptce_nlp.corpus import read_corpus

    return [d.text for d in read_corpus(CORPUS).documents]


def _tables(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def _code_of(book: dict, code_id: str) -> dict:
    return next(c for c in book["codes"] if c["id"] == code_id)


def _label_only(book):
    _code_of(book, "valeurs_ess.mutualisation")["label"] = "Mutualisation (renommée)"


def _common_pattern(book):
    _code_of(book, "discours_cluster.competitivite").setdefault("lemmas", []).append("territoire")


def _rare_pattern(book):
    _code_of(book, "territorialisation.agglomeration").setdefault("lemmas", []).append("banc de essai")


def _removed_code(book):
    book["codes"] = [c for c in book["codes"] if c["id"] != "valeurs_ess.insertion"]


def _added_exclusion(book):
    _code_of(book, "valeurs_ess.mutualisation").setdefault("exclude", []).append("mutualiser")


def _new_code(book):
    book["codes"].append({"id": "discours_cluster.nouveau", "parent": "discours_cluster", "label": "Nouveau",
                          "lemmas": ["pôle de compétitivité", "zzzmot inconnu"], "surface": ["PTCE"]})


def _moved_lines(book):  # a code moved to the end of the file: every later line changes, no pattern does
    moved = next(c for c in book["codes"] if c["id"] == "territorialisation.agglomeration")
    book["codes"] = [c for c in book["codes"] if c is not moved] + [moved]


def _removed_pattern(book):
    lemmas = _code_of(book, "valeurs_ess.mutualisation")["lemmas"]
    lemmas.remove(lemmas[0])


def _reordered_patterns(book):  # the same patterns in another order: a code's matches do not depend on it
    code = _code_of(book, "valeurs_ess.mutualisation")
    code["lemmas"] = list(reversed(code["lemmas"]))


def _gapped_and_surface_patterns(book):
    code = _code_of(book, "valeurs_ess.cooperation")
    code.setdefault("lemmas", []).append("acteur * territoire")
    code.setdefault("surface", []).append("Tiers-Lieu")


EDITS = {"label only": (_label_only, "lexicon"), "common pattern": (_common_pattern, "lexicon"),
         "rare pattern": (_rare_pattern, "hybrid"), "removed code": (_removed_code, "hybrid"),
         "added exclusion": (_added_exclusion, "lexicon"), "new code": (_new_code, "lexicon"),
         "moved code": (_moved_lines, "lexicon"), "removed pattern": (_removed_pattern, "lexicon"),
         "reordered patterns": (_reordered_patterns, "lexicon"),
         "gapped and surface patterns": (_gapped_and_surface_patterns, "lexicon")}


@pytest.fixture(scope="module")
def primed(tmp_path_factory):
    """A cache folder after ``code`` of the bundled corpus with the shipped codebook (both coders)."""
    folder = tmp_path_factory.mktemp("primed")
    book = Codebook.shipped().to_dict()
    for coder in ("lexicon", "hybrid"):
        _code(book, cache=folder / "cache", out=folder / f"o_{coder}", coder=coder)
    return folder / "cache"


@pytest.fixture
def counted(monkeypatch):
    """The number of documents matched by :meth:`Coder.match` (not read back from ``coded/``)."""
    calls = []
    original = Coder.match

    def match(self, parsed):
        calls.append(1)
        return original(self, parsed)

    monkeypatch.setattr(Coder, "match", match)
    return calls


@pytest.mark.parametrize("edit", list(EDITS))
def test_warm_recode_with_an_edited_codebook_writes_what_coding_again_writes(tmp_path, primed, counted, edit):
    change, coder = EDITS[edit]
    book = Codebook.shipped().to_dict()
    change(book)
    warm_cache, fresh_cache = tmp_path / "warm", tmp_path / "fresh"
    shutil.copytree(primed, warm_cache)
    shutil.copytree(primed, fresh_cache)
    shutil.rmtree(fresh_cache / "coded")            # parses cached, nothing coded: every document matched again
    _code(book, cache=warm_cache, out=tmp_path / "w", coder=coder)
    matched_warm = len(counted)
    _code(book, cache=fresh_cache, out=tmp_path / "f", coder=coder)
    assert len(counted) - matched_warm == 33
    assert _tables(tmp_path / "w") == _tables(tmp_path / "f")
    if edit in ("label only", "moved code", "removed code", "reordered patterns"):
        assert matched_warm == 0                    # no edited code can match: every document read back
    elif edit == "rare pattern":                    # a pattern added: only where its first word occurs
        assert matched_warm <= sum("banc" in d.lower() for d in _texts())
    elif edit in ("common pattern", "added exclusion", "new code", "removed pattern", "gapped and surface patterns"):
        assert 0 < matched_warm
    # the warm run replaced the entries it matched again: a third run reads every document back
    before = len(counted)
    _code(book, cache=warm_cache, out=tmp_path / "again", coder=coder)
    assert len(counted) == before and _tables(tmp_path / "again") == _tables(tmp_path / "f")


def test_accent_setting_has_entries_of_its_own(tmp_path, primed, counted):
    book = Codebook.shipped().to_dict()
    cache = tmp_path / "c"
    shutil.copytree(primed, cache)
    _code(book, cache=cache, out=tmp_path / "insensitive", extra=["--accent-insensitive"])
    assert len(counted) == 33
    shutil.rmtree(cache / "coded")
    _code(book, cache=cache, out=tmp_path / "again", extra=["--accent-insensitive"])
    assert _tables(tmp_path / "insensitive") == _tables(tmp_path / "again")


@pytest.mark.parametrize("which", ["document", "codebook"])
def test_damaged_coded_entry_is_detected_coded_again_and_reported(tmp_path, primed, counted, which):
    """A damaged entry of a document: that document is coded again; of the codebook's parts, that every entry
    refers to: every document is (each counted)."""
    cache = tmp_path / "c"
    shutil.copytree(primed, cache)
    by_size = sorted((cache / "coded").rglob("*.arr"), key=lambda p: p.stat().st_size)
    entry = by_size[-1] if which == "codebook" else by_size[5]  # the codebook's parts: 3,000 pattern hashes
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x01
    entry.write_bytes(bytes(data))
    book = Codebook.shipped().to_dict()
    if which == "codebook":  # needed only with another codebook (the current one's parts are at hand)
        _rare_pattern(book)
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump(book, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["code", str(CORPUS), "--out", str(tmp_path / "o"), "--cache-dir", str(cache),
                                       "--coder", "lexicon", "--codebook", str(path)])
    assert result.exit_code == 0, result.output
    n = 1 if which == "document" else 33
    assert f"{n} damaged cache entr{'y' if n == 1 else 'ies'} found (checksum) and made again" in result.output
    assert len(counted) == n
    fresh = tmp_path / "fresh"
    shutil.copytree(primed, fresh)
    shutil.rmtree(fresh / "coded")
    _code(book, cache=fresh, out=tmp_path / "f")
    assert _tables(tmp_path / "o") == _tables(tmp_path / "f")
    result = CliRunner().invoke(main, ["code", str(CORPUS), "--out", str(tmp_path / "o2"), "--cache-dir", str(cache),
                                       "--coder", "lexicon", "--codebook", str(path)])
    assert "damaged cache" not in result.output and "parsed 0, from cache 33" in result.output


def test_an_entry_gone_between_the_check_and_the_read_is_coded_from_its_parse(tmp_path, primed, monkeypatch):
    cache = tmp_path / "c"
    shutil.copytree(primed, cache)
    original = CodedCache.serves
    gone = []

    def serves(self, document):
        ok = original(self, document)
        if not gone:  # the first entry disappears once looked at (another run cleaning the cache)
            self.store.path(self._material(document)).unlink()
            gone.append(document.doc_id)
        return ok

    monkeypatch.setattr(CodedCache, "serves", serves)
    book = Codebook.shipped().to_dict()
    result = _code(book, cache=cache, out=tmp_path / "o")
    assert gone and result.exit_code == 0
    monkeypatch.setattr(CodedCache, "serves", original)
    fresh = tmp_path / "fresh"
    shutil.copytree(primed, fresh)
    shutil.rmtree(fresh / "coded")
    _code(book, cache=fresh, out=tmp_path / "f")
    assert _tables(tmp_path / "o") == _tables(tmp_path / "f")


def test_code_fingerprints_follow_patterns_not_labels_or_lines():
    book = Codebook.shipped()
    data = book.to_dict()
    _label_only(data)
    _moved_lines(data)
    assert code_fingerprints(Codebook.from_dict(data, check_lemmas=False)) == code_fingerprints(book)
    _added_exclusion(data)
    changed = code_fingerprints(Codebook.from_dict(data, check_lemmas=False))
    assert {c for c in changed if changed[c] != code_fingerprints(book).get(c)} == {"valeurs_ess.mutualisation"}


def test_document_words_hold_the_first_words_patterns_look_up():
    from ptce_nlp.analysis import parse_documents
    from ptce_nlp.types import Document

    parsed, _ = parse_documents([Document("d", "Les Pôles coopèrent.", "txt")], use_cache=False)
    norms, lowers = Coder(Codebook.shipped()).document_words(parsed[0].tokens)
    assert "pôle" in norms and "coopérer" in norms and "pôles" in lowers
    norms, _ = Coder(Codebook.shipped(), accent_insensitive=True).document_words(parsed[0].tokens)
    assert "pole" in norms and "cooperer" in norms


def test_rows_read_back_with_the_learned_coders_features_gone(tmp_path, primed, counted):
    """The learned coder reads the parse of a document whose rows are read back (its features and scores
    entries removed): the same ``coded_sentences``, no document matched again."""
    book = Codebook.shipped().to_dict()
    cache = tmp_path / "c"
    shutil.copytree(primed, cache)
    for kind in ("features", "scores"):
        shutil.rmtree(cache / kind)
    _code(book, cache=cache, out=tmp_path / "o", coder="hybrid")
    assert len(counted) == 0
    assert _tables(tmp_path / "o") == _tables(primed.parent / "o_hybrid")
