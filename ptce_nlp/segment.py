"""Segmentation of a document into paragraphs and sentences.

Segmentation runs on the cleaned text (:mod:`ptce_nlp.clean`) and every
segment is mapped back to the original text: ``start_char``/``end_char`` are
half-open code-point offsets into ``Document.text`` and ``Segment.text`` is
exactly ``Document.text[start_char:end_char]``.

Sentences come from a rule-based splitter: a sentence ends at ``.``, ``!``,
``?`` or ``…`` (with any closing quote or bracket) followed by white space and
an upper-case letter, a digit or an opening quote, unless the dot ends a known
abbreviation (``M.``, ``cf.``, ``p.``, ``etc.`` ...) or an initial (``B.
Lundvall``). No spaCy pipeline is loaded at this stage (a blank French spaCy
pipeline takes six seconds to build here); the coding stage uses the model's
statistical ``senter`` on the same paragraphs.
"""

from __future__ import annotations

import re
from typing import Iterator

from .clean import CleanText, clean_text
from .types import Document, Segment

_PARAGRAPH_RE = re.compile(r"[^\n]+(?:\n(?!\n)[^\n]*)*")


_ABBREVIATIONS = frozenset(
    "m mm mme mmes mlle dr pr me st ste cf p pp etc art al coll chap ch fig éd ed vol n no nº "
    "av apr env hab min max t tél ibid op cit vs resp dir trad ex suiv sq spp".split())
_SENTENCE_END_RE = re.compile(r"([.!?…]+)[\"')\]»]*(?=\s+[\"«(\[]?\s?[A-ZÀ-ÖØ-Þ0-9])")
_WORD_BEFORE_RE = re.compile(r"([^\W\d_]+)$")


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def iter_paragraphs(clean: CleanText) -> Iterator[tuple[int, int]]:
    """Half-open spans of the paragraphs of a cleaned text (in cleaned offsets)."""
    for m in _PARAGRAPH_RE.finditer(clean.text):
        a, b = _strip_span(clean.text, m.start(), m.end())
        if b > a:
            yield a, b


def _word_before(text: str, end: int):
    """The run of letters ending at ``end`` (a match of _WORD_BEFORE_RE), looking back a short window
    first: searching from the paragraph's start at every full stop is quadratic in long paragraphs."""
    window = max(0, end - 48)
    word = _WORD_BEFORE_RE.search(text, window, end)
    if word and word.start() == window and window:
        word = _WORD_BEFORE_RE.search(text, 0, end)  # a 48-letter run: the word may start earlier
    return word


def iter_sentences(paragraph: str) -> Iterator[tuple[int, int]]:
    """Half-open spans of the sentences of one cleaned paragraph.

    Examples
    --------
    >>> p = "M. Porter parle de clusters, cf. p. 3. Les PTCE diffèrent !"
    >>> [p[a:b] for a, b in iter_sentences(p)]
    ['M. Porter parle de clusters, cf. p. 3.', 'Les PTCE diffèrent !']
    """
    start = 0
    for m in _SENTENCE_END_RE.finditer(paragraph):
        if m.group(1) == ".":
            word = _word_before(paragraph, m.start(1))
            if word and (word.group(1).lower() in _ABBREVIATIONS
                         or (len(word.group(1)) == 1 and word.group(1).isupper())):
                continue
        a, b = _strip_span(paragraph, start, m.end())
        if b > a:
            yield a, b
        start = m.end()
    a, b = _strip_span(paragraph, start, len(paragraph))
    if b > a:
        yield a, b


def segment_document(document: Document, *, clean: CleanText | None = None) -> list[Segment]:
    """Split a document into paragraph and sentence segments.

    Parameters
    ----------
    document : Document
        The document; offsets refer to ``document.text``.
    clean : CleanText, optional
        Its cleaned text, if already computed (``clean_text(document.text)``).

    Returns
    -------
    list of Segment
        Paragraphs (``p0001``...) each followed by its sentences
        (``p0001.s001``...), in text order.

    Examples
    --------
    >>> doc = Document("d1", "Premier.\\n\\nDeux phrases. Ici.", "txt")
    >>> [(s.segment_id, s.text) for s in segment_document(doc)]  # doctest: +SKIP
    [('p0001', 'Premier.'), ('p0001.s001', 'Premier.'), ('p0002', 'Deux phrases. Ici.'), ...]
    """
    if not isinstance(document, Document):
        raise TypeError(f"segment_document expects a Document, not {type(document).__name__}")
    clean = clean if clean is not None else clean_text(document.text)
    original = document.text
    segments: list[Segment] = []
    for p_index, (pa, pb) in enumerate(iter_paragraphs(clean), start=1):
        pid = f"p{p_index:04d}"
        oa, ob = clean.original_span(pa, pb)
        segments.append(Segment(document.doc_id, pid, "paragraph", oa, ob, original[oa:ob]))
        for s_index, (sa, sb) in enumerate(iter_sentences(clean.text[pa:pb]), start=1):
            sa_o, sb_o = clean.original_span(pa + sa, pa + sb)
            segments.append(Segment(document.doc_id, f"{pid}.s{s_index:03d}", "sentence",
                                    sa_o, sb_o, original[sa_o:sb_o], parent_id=pid))
    return segments
