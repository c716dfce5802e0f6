"""Segmentation: paragraphs and sentences at exact offsets into the original text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ptce_nlp.lexicon import FrenchLexicon
from ptce_nlp.clean import clean_text
from ptce_nlp.segment import iter_sentences, segment_document
from ptce_nlp.types import Document


def _check_offsets(doc: Document, segments) -> None:
    for s in segments:
        assert 0 <= s.start_char < s.end_char <= len(doc.text)
        assert doc.text[s.start_char:s.end_char] == s.text
        assert s.text == s.text.strip()
    paragraphs = [s for s in segments if s.kind == "paragraph"]
    for prev, nxt in zip(paragraphs, paragraphs[1:]):
        assert prev.end_char <= nxt.start_char
    for p in paragraphs:
        sentences = [s for s in segments if s.parent_id == p.segment_id]
        assert sentences, p.segment_id
        assert sentences[0].start_char == p.start_char and sentences[-1].end_char == p.end_char
        for prev, nxt in zip(sentences, sentences[1:]):
            assert prev.end_char <= nxt.start_char


def test_segment_paragraphs_and_sentences_exact():
    text = "Identité\r\n\r\nLe PTCE réunit 13 entreprises. M. Dupont préside ! Et ensuite ?\r\n\r\nFin."
    doc = Document("d", text, "txt")
    segs = segment_document(doc)
    got = [(s.segment_id, s.kind, s.text) for s in segs]
    assert got == [
        ("p0001", "paragraph", "Identité"),
        ("p0001.s001", "sentence", "Identité"),
        ("p0002", "paragraph", "Le PTCE réunit 13 entreprises. M. Dupont préside ! Et ensuite ?"),
        ("p0002.s001", "sentence", "Le PTCE réunit 13 entreprises."),
        ("p0002.s002", "sentence", "M. Dupont préside !"),
        ("p0002.s003", "sentence", "Et ensuite ?"),
        ("p0003", "paragraph", "Fin."),
        ("p0003.s001", "sentence", "Fin."),
    ]
    _check_offsets(doc, segs)


def test_segment_sentence_rules_keep_abbreviations_and_initials():
    p = ("Selon M. Porter (1998, p. 78), cf. le chap. 2, un cluster est un réseau. "
         "B. Lundvall parle d'apprentissage, etc. Les PTCE diffèrent ! \"Vraiment ?\" Oui.")
    assert [p[a:b] for a, b in iter_sentences(p)] == [
        "Selon M. Porter (1998, p. 78), cf. le chap. 2, un cluster est un réseau.",
        "B. Lundvall parle d'apprentissage, etc. Les PTCE diffèrent !",
        "\"Vraiment ?\"",
        "Oui.",
    ]


def test_segment_rejects_other_input_types():
    import pytest
    with pytest.raises(TypeError, match="expects a Document"):
        segment_document("du texte")


def test_segment_offsets_on_seed_articles(seed_texts):
    for name, text in seed_texts.items():
        doc = Document(name, text, "txt")
        segs = segment_document(doc)
        _check_offsets(doc, segs)
        assert sum(s.kind == "sentence" for s in segs) > 150


def test_segment_offsets_on_bundled_corpus(ingested_corpus):
    by_id = {d.doc_id: d for d in ingested_corpus.documents}
    assert by_id
    for doc_id, doc in by_id.items():
        _check_offsets(doc, [s for s in ingested_corpus.segments if s.doc_id == doc_id])
    table = ingested_corpus.segments_table
    for row in table.itertuples():
        assert by_id[row.doc_id].text[row.start_char:row.end_char] == row.text


_PIECES = st.sampled_from(
    ["Le pôle", " coopère", ". ", "! ", "? ", "\n", "\n\n", "\r\n", "\u00a0", "\u202f", "é", "e\u0301",
     "😀", "🇫🇷", "M. ", "l’ESS", "« ", " »", "écono-\nmique", "3", "\x0c", "\t", "  ", "Œuvre", "ǅ", "ﬁ"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join) | st.text(max_size=200))
def test_segment_property_offsets_on_random_text(text):
    doc = Document("r", text, "txt")
    segs = segment_document(doc, clean=clean_text(text, lexicon=FrenchLexicon(["économique"])))
    _check_offsets(doc, segs)


_CHUNKS = st.one_of(st.text(alphabet="abÉ", min_size=1, max_size=70), st.sampled_from([" ", ". ", "M", "3", "\n"]))


@given(st.lists(_CHUNKS, max_size=12).map("".join), st.integers(min_value=0, max_value=400))
def test_segment_word_before_matches_a_search_from_the_start(text, end):
    from ptce_nlp.segment import _WORD_BEFORE_RE, _word_before

    end = min(end, len(text))
    expected, got = _WORD_BEFORE_RE.search(text, 0, end), _word_before(text, end)
    assert (expected and expected.span()) == (got and got.span())


def test_segment_abbreviation_after_a_long_word_and_a_long_paragraph():
    long_word = "a" * 60
    paragraph = ("Des mots. " * 50) + f"Le {long_word}. Voir p. 3 et M. Porter. Fin."
    sentences = [paragraph[a:b] for a, b in iter_sentences(paragraph)]
    assert sentences[-3:] == [f"Le {long_word}.", "Voir p. 3 et M. Porter.", "Fin."]
