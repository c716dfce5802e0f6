"""Readers: each format on a real file, encodings detected and recorded."""

from __future__ import annotations

import codecs

import pytest

from ptce_nlp.corpus import load_manifest, read_source
from ptce_nlp.readers import read_file

from .helpers import TEXT, make_docx, make_pdf

FRENCH = "L’économie sociale et solidaire « coopère » : Œuvre, façon, août, élève, naïf, déjà."


@pytest.mark.parametrize("encoding, recorded", [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("utf-16", "utf-16"),
    ("utf-16-le", "utf-16-le"),
    ("utf-16-be", "utf-16-be"),
    ("cp1252", "cp1252"),
])
def test_readers_text_encodings_detected(tmp_path, encoding, recorded):
    p = tmp_path / "fiche.txt"
    p.write_bytes((FRENCH + "\r\n" + TEXT + "\n").encode(encoding))
    text, fmt, enc = read_file(p)
    assert (fmt, enc) == ("txt", recorded)
    assert text == FRENCH + "\r\n" + TEXT + "\n"  # CRLF kept: offsets refer to the text as it is


def test_readers_latin1_without_cp1252_characters(tmp_path):
    p = tmp_path / "ancien.txt"
    sample = "Le pôle de coopération économique réunit des sociétés coopératives à Roanne. " * 5
    p.write_bytes(sample.encode("latin-1"))
    text, _, enc = read_file(p)
    assert text == sample
    assert enc in ("cp1252", "latin-1", "iso8859-15")


def test_readers_bom_is_not_part_of_the_text(tmp_path):
    p = tmp_path / "bom.md"
    p.write_bytes(codecs.BOM_UTF8 + "# Titre\n\nTexte.".encode("utf-8"))
    assert read_file(p)[0] == "# Titre\n\nTexte."


def test_readers_html_visible_text_only(tmp_path):
    p = tmp_path / "page.html"
    p.write_text("""<!DOCTYPE html><html><head><title>T</title><style>p{color:red}</style>
    <script>var x = "<p>caché</p>";</script></head><body><nav>Accueil Contact</nav>
    <h1>Le pôle</h1><p>Première&nbsp;phrase,<br>suite &amp; fin.</p><ul><li>un</li><li>deux</li></ul>
    <p>Appel de note<sup>1</sup> collé.</p><footer>Mentions légales</footer></body></html>""", encoding="utf-8")
    text, fmt, enc = read_file(p)
    assert fmt == "html" and enc == "utf-8"
    assert text == "Le pôle\n\nPremière\u00a0phrase,\nsuite & fin.\n\nun\n\ndeux\n\nAppel de note1 collé."


def test_readers_docx_paragraphs_and_tables(tmp_path):
    import docx

    p = make_docx(tmp_path / "f.docx", ["Identité", TEXT])
    document = docx.Document(str(p))
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Membres"
    table.rows[0].cells[1].text = "13"
    document.save(str(p))
    text, fmt, enc = read_file(p)
    assert (fmt, enc) == ("docx", None)
    assert text == f"Identité\n\n{TEXT}\n\nMembres | 13"


def test_readers_pdf_real_extraction(tmp_path):
    p = make_pdf(tmp_path / "f.pdf", ["Le pôle territorial réunit des associations.", "Gouvernance collégiale."])
    text, fmt, _ = read_file(p)
    assert fmt == "pdf"
    assert "Le pôle territorial réunit des associations." in text
    assert "Gouvernance collégiale." in text


# each format of the bundled corpus, read through the manifest
_EXPECTED_FORMATS = {"txt", "md", "docx", "odt", "pdf", "html"}


@pytest.fixture(scope="module")
def corpus_sources(corpus_dir):
    return load_manifest(corpus_dir / "manifest.csv")


def test_readers_every_format_of_the_bundled_corpus(corpus_sources):
    by_format: dict[str, list] = {}
    for src in corpus_sources:
        by_format.setdefault(src.path.suffix.lstrip("."), []).append(src)
    assert set(by_format) == _EXPECTED_FORMATS
    for fmt, sources in sorted(by_format.items()):
        doc = read_source(sources[0])
        assert doc.format == fmt
        words = doc.text.split()
        assert len(words) > 150, (fmt, sources[0].path)
        # the text is French prose with its accents, not mojibake
        assert any(c in doc.text for c in "éèàç") and "Ã©" not in doc.text and "\ufffd" not in doc.text


def test_readers_corpus_encodings_recorded(corpus_sources):
    encodings = {}
    for src in corpus_sources:
        if src.path.suffix in (".txt", ".md"):
            doc = read_source(src)
            encodings[src.doc_id] = doc.encoding
    assert "cp1252" in encodings.values()
    assert "utf-8" in encodings.values() and "utf-8-sig" in encodings.values()


def test_readers_corpus_html_drops_scripts_and_menus(corpus_sources):
    src = next(s for s in corpus_sources if s.path.suffix == ".html")
    doc = read_source(src)
    assert "dataLayer" not in doc.text and "Menu principal" not in doc.text
    assert "Mentions légales" not in doc.text and "Accueil" not in doc.text
