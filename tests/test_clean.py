"""Cleaning for matching: each cleaner, the offset map, idempotence."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptce_nlp.clean import OffsetText, clean_text
from ptce_nlp.lexicon import FrenchLexicon


def test_clean_nfc_composes_combining_accents():
    text = "e\u0301conomie sociale"  # e + combining acute
    c = clean_text(text)
    assert c.text == "économie sociale"
    assert c.original_span(0, 1) == (0, 2)


@pytest.mark.parametrize("raw, expected", [
    ("l\u2019ESS d\u2019insertion", "l'ESS d'insertion"),
    ("\u00ab\u00a0coopération\u00a0\u00bb", '" coopération "'),
    ("un\u202fpôle\u00a0territorial", "un pôle territorial"),
    ("ré\u00adsilience", "résilience"),
    ("e\ufb03cacité et pro\ufb01t", "efficacité et profit"),
    ("ligne\r\nsuivante", "ligne\n\nsuivante"),
])
def test_clean_characters(raw, expected):
    assert clean_text(raw).text == expected


def test_clean_unmapped_pdf_glyphs_removed():
    assert clean_text("(cid:127) mutualisation des moyens").text == "mutualisation des moyens"


def _wrapped(paragraph: str, width: int = 60) -> str:
    import textwrap
    return "\n".join(textwrap.wrap(paragraph, width, break_on_hyphens=False))


def test_clean_joins_hard_line_breaks_inside_paragraphs():
    p1 = ("Les pôles territoriaux de coopération économique regroupent des entreprises de "
          "l'économie sociale et solidaire, des collectivités et des centres de recherche "
          "autour d'un projet commun de développement local durable.")
    p2 = ("Leur gouvernance associe plusieurs collèges et repose sur la délibération entre les "
          "membres, à la différence des pôles de compétitivité pilotés par les grands groupes.")
    text = _wrapped(p1) + "\n" + _wrapped(p2)
    c = clean_text(text)
    assert c.text == p1 + "\n\n" + p2


def test_clean_hyphenation_across_line_breaks():
    lines = ["Le pôle accompagne des initiatives locales dans une logique écono-",
             "mique et sociale, avec une gouvernance multi-",
             "parties prenantes et une démarche socio-",
             "économique originale qui mobilise tout le territoire de la vallée."] * 3
    c = clean_text("\n".join(lines))
    assert "économique et sociale" in c.text
    assert "écono-" not in c.text and "écono mique" not in c.text
    assert "socio-économique" in c.text
    assert "multi-parties" in c.text


def test_clean_page_furniture_removed():
    body = ("Le réseau des patrimoines valorise les ressources du territoire avec les associations "
            "locales et la communauté d'agglomération, dans une démarche de coopération durable.")
    pages = []
    for n in range(1, 5):
        pages.append(f"Rapport d'activité 2014 — Pôle Roannais\n\nSection {n}. {body}\n\n{n}\n")
    c = clean_text("\x0c".join(pages))
    assert "Rapport d'activité" not in c.text
    assert not re.search(r"^\d+$", c.text, re.M)
    assert c.text.count(body) == 4
    assert c.text.startswith("Section 1. Le réseau")


def test_clean_paragraph_continues_across_page_break():
    text = ("Le pôle de compétitivité fédère des entreprises et des laboratoires autour de\n"
            "\x0cprojets collaboratifs de recherche et développement.")
    assert clean_text(text).text == ("Le pôle de compétitivité fédère des entreprises et des laboratoires "
                                     "autour de projets collaboratifs de recherche et développement.")


@pytest.mark.parametrize("raw, expected", [
    ("l'ancrage dans le territoire3 est fort", "l'ancrage dans le territoire est fort"),
    ("des ressources hybrides.12 Elles", "des ressources hybrides. Elles"),
    ("la loi de 2014 sur l'ESS", "la loi de 2014 sur l'ESS"),
    ("(Courlet, 2001, p.32-33)", "(Courlet, 2001, p.32-33)"),
    ("émissions de CO2 et 50 m2", "émissions de CO2 et 50 m2"),
])
def test_clean_footnote_calls(raw, expected):
    assert clean_text(raw).text == expected


@pytest.mark.parametrize("broken, repaired", [
    ("différences entre pôles de compétitivit é et PTCE", "différences entre pôles de compétitivité et PTCE"),
    ("émergence des deux in itiatives", "émergence des deux initiatives"),
    ("une logique technocr atique du territoire", "une logique technocratique du territoire"),
    ("pôles territoriaux de coopération économ ique", "pôles territoriaux de coopération économique"),
    ("des pôles territoriau x de coopération", "des pôles territoriaux de coopération"),
])
def test_clean_repairs_words_split_by_pdf_extraction(broken, repaired):
    assert clean_text(broken).text == repaired


@pytest.mark.parametrize("text", [
    "il a mis en place des amis",      # 'amis' is a word, but so are 'a' and 'mis'
    "de main en main, par tout temps",  # both parts are words
    "la ville et le s acteurs",         # 'les' joined only if a part is not a word: 's' is not
])
def test_clean_does_not_join_real_words(text):
    out = clean_text(text).text
    assert "amis" not in out.replace("des amis", "") and "demain" not in out and "partout" not in out


def test_clean_split_word_repair_on_seed_headings(seed_texts):
    text = seed_texts["001_44e51539205ad2c3.txt"]
    cleaned = clean_text(text).text
    for broken in ("compétitivit é", "in itiatives", "technocr atique", "économ ique"):
        assert broken in text
        assert broken not in cleaned
    assert "une logique technocratique d'instrumentalisation du territoire" in cleaned
    assert "Tableau 2 : présentation de l'émergence des deux initiatives" in cleaned


def test_clean_seed_articles_offsets_and_idempotence(seed_texts):
    for name, text in seed_texts.items():
        c = clean_text(text)
        assert clean_text(c.text).text == c.text, name
        # every cleaned word maps back to original characters holding its letters
        for m in re.finditer(r"[^\W\d_]{4,}", c.text):
            a, b = c.original_span(m.start(), m.end())
            assert 0 <= a < b <= len(text)
            assert m.group()[0].lower() in text[a:b].lower() or not m.group()[0].isascii()


def test_offset_text_span_mapping():
    t = OffsetText("ab\u00a0cd\r\nef")
    t = t.apply([(2, 3, " "), (5, 7, "\n")])
    assert t.text == "ab cd\nef"
    assert t.original_span(0, 5) == (0, 5)
    assert t.original_span(5, 6) == (5, 7)
    assert t.original_span(6, 8) == (7, 9)


_ALPHABET = st.sampled_from(list("abcdeéèàçôœ ÉA.,;:!?'’«»-\n\r\t\u00a0\u202f\u00ad\x0c0123456789")
                            + ["e\u0301", "😀", "🇫🇷", "\u2029", "écono-\nmique", "l’ESS"])
_TEXTS = st.lists(_ALPHABET, max_size=120).map("".join)


@settings(max_examples=200, deadline=None)
@given(_TEXTS)
def test_clean_property_idempotent_and_spans_in_bounds(text):
    lex = FrenchLexicon(["économique", "initiatives", "ess"])
    c = clean_text(text, lexicon=lex)
    assert clean_text(c.text, lexicon=lex).text == c.text
    assert len(c.starts) == len(c.text) == len(c.ends)
    previous = 0
    for i in range(len(c.text)):
        a, b = c.original_span(i, i + 1)
        assert 0 <= a <= b <= len(text)
        assert a >= previous  # the map is monotonic
        previous = a


def test_clean_page_number_lines_dropped_twice_do_not_overlap():
    # found by hypothesis: "0" repeated on two pages is both a running footer and a page-number line
    from ptce_nlp.clean import clean_text

    cleaned = clean_text("0\x0c0")
    assert "0" not in cleaned.text
    assert clean_text(cleaned.text).text == cleaned.text
