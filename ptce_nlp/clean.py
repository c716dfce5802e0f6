"""Cleaning for matching, with an offset map back to the original text.

Each cleaner is a ``str -> edits`` step applied through :class:`OffsetText`,
which records, for every character of the cleaned text, the span of the
original text it comes from. :func:`clean_text` composes the steps and repeats
them until the text no longer changes, so cleaning is idempotent.

The steps, in order:

1. characters: Unicode NFC, typographic apostrophes and quotes to ASCII,
   non-breaking and thin spaces to spaces, soft hyphens and zero-width
   characters removed, PDF ligatures expanded, unmapped PDF glyphs
   (``(cid:127)``) removed, CRLF/CR to LF;
2. page furniture: running headers/footers repeated at page boundaries (pages
   split by form feeds, as PDF extraction writes them) and page-number lines;
3. hyphenation across line breaks (``écono-\\nmique``), keeping the hyphen of
   real compounds (``socio-\\néconomique``);
4. words split by PDF extraction (``territoriau x``): joined when the joined
   form is a known French word (or a word of the same document) and the parts
   are not both words;
5. footnote call numbers glued to words (``territoire3``, ``SPL.5``);
6. hard line breaks inside paragraphs joined with a space; paragraphs separated
   by exactly one blank line; runs of spaces collapsed.
"""

from __future__ import annotations

from array import array

import re
import statistics
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from .lexicon import FrenchLexicon, french_lexicon

Edit = tuple[int, int, str]


class OffsetText:
    """A text derived from an original string, with a per-character offset map.

    ``starts[i]``/``ends[i]`` give the span of the original text that character
    ``i`` of :attr:`text` comes from. Inserted characters map to an empty span.

    Examples
    --------
    >>> t = OffsetText("l’ESS")
    >>> t = t.apply([(1, 2, "'")])
    >>> t.text, t.original_span(0, 5)
    ("l'ESS", (0, 5))
    """

    __slots__ = ("original", "text", "starts", "ends")

    def __init__(self, original: str, text: str | None = None,
                 starts: list[int] | None = None, ends: list[int] | None = None) -> None:
        self.original = original
        if text is None:
            self.text = original
            self.starts = list(range(len(original)))
            self.ends = list(range(1, len(original) + 1))
        else:
            self.text, self.starts, self.ends = text, starts or [], ends or []

    def apply(self, edits: Iterable[Edit]) -> "OffsetText":
        """Return a new OffsetText with ``text[a:b]`` replaced by ``r`` for each edit.

        Edits must not overlap; an edit that changes nothing is skipped.
        """
        text, starts, ends = self.text, self.starts, self.ends
        out: list[str] = []
        new_s: list[int] = []
        new_e: list[int] = []
        pos = 0
        changed = False
        for a, b, repl in sorted(edits):
            if a < pos:
                raise ValueError(f"overlapping edits at {a}")
            if text[a:b] == repl:
                continue
            changed = True
            out.append(text[pos:a])
            new_s.extend(starts[pos:a])
            new_e.extend(ends[pos:a])
            if len(repl) == b - a:
                new_s.extend(starts[a:b])
                new_e.extend(ends[a:b])
            elif b > a:
                new_s.extend([starts[a]] * len(repl))
                new_e.extend([ends[b - 1]] * len(repl))
            else:
                anchor = starts[a] if a < len(text) else (ends[-1] if ends else 0)
                new_s.extend([anchor] * len(repl))
                new_e.extend([anchor] * len(repl))
            out.append(repl)
            pos = b
        if not changed:
            return self
        out.append(text[pos:])
        new_s.extend(starts[pos:])
        new_e.extend(ends[pos:])
        return OffsetText(self.original, "".join(out), new_s, new_e)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of :attr:`text` to a half-open span of the original."""
        if end <= start:
            anchor = self.starts[start] if start < len(self.starts) else len(self.original)
            return anchor, anchor
        return self.starts[start], max(self.ends[end - 1], self.starts[start])


@dataclass(frozen=True)
class CleanText:
    """Result of :func:`clean_text`: the cleaned string and its map to the original.

    ``starts``/``ends`` are compact integer arrays (``array("i")``), one entry
    per character of ``text``: a corpus holds millions of characters.
    """

    text: str
    original: str
    starts: Sequence[int]
    ends: Sequence[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Half-open span of the original text covered by ``text[start:end]``."""
        return _span(self.starts, self.ends, len(self.original), start, end)


def _span(starts: Sequence[int], ends: Sequence[int], n: int, start: int, end: int) -> tuple[int, int]:
    if end <= start:
        anchor = starts[start] if start < len(starts) else n
        return anchor, anchor
    return starts[start], max(ends[end - 1], starts[start])


# --------------------------------------------------------------------------- 1. characters

_CHAR_MAP = {
    "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2039": '"', "\u203a": '"',
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u2002": " ",
    "\u2003": " ", "\u2004": " ", "\u2005": " ", "\u2006": " ", "\u2008": " ", "\u205f": " ",
    "\u3000": " ", "\t": " ", "\u000b": " ",
    "\u00ad": "", "\u200b": "", "\u2060": "", "\ufeff": "", "\u200e": "", "\u200f": "",
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st",
    "\u2028": "\n", "\u2029": "\n\n", "\u0085": "\n",
}
_CHAR_RE = re.compile(r"\(cid:\d+\)|\r\n?|[" + "".join(re.escape(c) for c in _CHAR_MAP) + "\x00-\x08\x0e-\x1f\x7f]")


def _char_edits(text: str) -> list[Edit]:
    edits: list[Edit] = []
    for m in _CHAR_RE.finditer(text):
        c = m.group()
        if c[0] == "\r":
            edits.append((m.start(), m.end(), "\n"))
        elif c.startswith("(cid:"):  # a glyph pdfminer could not map to a character
            edits.append((m.start(), m.end(), ""))
        else:
            edits.append((m.start(), m.end(), _CHAR_MAP.get(c, " ")))
    return edits


def _nfc_edits(text: str) -> list[Edit]:
    """Compose each base character with its following combining marks (NFC)."""
    if unicodedata.is_normalized("NFC", text):
        return []
    edits: list[Edit] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        chunk = text[i:j]
        norm = unicodedata.normalize("NFC", chunk)
        if norm != chunk:
            edits.append((i, j, norm))
        i = j
    return edits


# --------------------------------------------------------------------------- 2. page furniture

_PAGE_NUMBER_RE = re.compile(
    r"^[ ]*(?:page|p\.)?[ ]*[-–—]?[ ]*\d{1,4}[ ]*(?:(?:/|sur|of)[ ]*\d{1,4})?[ ]*[-–—]?[ ]*$",
    re.IGNORECASE)


def _lines(text: str, base: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each line of ``text`` (end excludes the newline)."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((base + pos, base + pos + len(line)))
        pos += len(line) + 1
    return spans


def _furniture_edits(text: str) -> list[Edit]:
    pages: list[list[tuple[int, int]]] = []
    pos = 0
    for chunk in text.split("\x0c"):
        pages.append([(a, b) for a, b in _lines(chunk, pos) if text[a:b].strip()])
        pos += len(chunk) + 1
    drop: set[tuple[int, int]] = set()
    edges = [page[:2] + page[-2:] if len(page) > 4 else page for page in pages if page]
    if len(edges) >= 2:
        counts: dict[str, int] = {}
        for edge in edges:
            for key in {_furniture_key(text[a:b]) for a, b in edge}:
                counts[key] = counts.get(key, 0) + 1
        # a two-page document repeats its running header on both pages; longer ones on most of them
        threshold = len(edges) if len(edges) < 4 else max(3, (len(edges) + 1) // 2)
        repeated = {k for k, c in counts.items() if c >= threshold and 0 < len(k) <= 120}
        for edge in edges:
            drop.update(span for span in edge if _furniture_key(text[span[0]:span[1]]) in repeated)
    for a, b in _lines(text):
        if _PAGE_NUMBER_RE.match(text[a:b].replace("\x0c", "")) and text[a:b].strip(" \x0c"):
            drop.add((a, b))
    # a line can be dropped twice (a repeated page-number line): merge overlapping spans first
    merged: list[list[int]] = []
    for a, b in sorted(drop):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    edits = []
    for a, b in merged:
        # remove the line and its newline, keeping any form feed (page break) in place
        end = b + 1 if b < len(text) and text[b] == "\n" else b
        keep_ff = "\x0c" if "\x0c" in text[a:b] else ""
        edits.append((a, end, keep_ff))
    return edits


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", line.replace("\x0c", "").strip().lower()))


# --------------------------------------------------------------------------- 3-4. broken words

_LETTERS = r"[^\W\d_]"
_HYPHEN_RE = re.compile(rf"({_LETTERS}+)-[ ]*\n\s*({_LETTERS}+)")
_PREFIXES = frozenset(
    "anti auto bio co contre demi éco eco euro extra franco inter intra macro micro mini multi "
    "nano néo neo non post pré pre pro pseudo quasi semi socio sous sur super trans ultra vice".split())
_WORD_RE = re.compile(rf"{_LETTERS}+")
_SINGLE_LETTER_WORDS = frozenset("aàyô")


def _hyphen_edits(text: str, known: Callable[[str], bool]) -> list[Edit]:
    edits = []
    for m in _HYPHEN_RE.finditer(text):
        left, right = m.group(1), m.group(2)
        if known(left + right) and not (known(left + "-" + right)):
            edits.append((m.end(1), m.start(2), ""))
        elif known(right) and (known(left) or left.lower() in _PREFIXES) or known(left + "-" + right):
            edits.append((m.end(1), m.start(2), "-"))
        elif right[:1].islower():
            edits.append((m.end(1), m.start(2), ""))
        else:
            edits.append((m.end(1), m.start(2), "-"))
    return edits


def _is_word_part(word: str, lexicon_known: Callable[[str], bool]) -> bool:
    if len(word) == 1:
        return word.lower() in _SINGLE_LETTER_WORDS
    return lexicon_known(word)


def _split_word_edits(text: str, lexicon: FrenchLexicon, doc_words: set[str]) -> list[Edit]:
    words = [(m.start(), m.end()) for m in _WORD_RE.finditer(text)]
    edits: list[Edit] = []
    i = 0
    while i < len(words) - 1:
        (a1, b1), (a2, b2) = words[i], words[i + 1]
        left, right = text[a1:b1], text[a2:b2]
        if (b1 + 1 == a2 and text[b1] == " " and right.islower()
                and (left.islower() or left[1:].islower())
                and (a1 == 0 or not _is_joiner(text[a1 - 1]))
                and (b2 == len(text) or not _is_joiner(text[b2]))):
            joined = (left + right).lower()
            if len(joined) >= 4 and (lexicon.known(joined) or joined in doc_words) and not (
                    _is_word_part(left, lexicon.known) and _is_word_part(right, lexicon.known)):
                edits.append((b1, a2, ""))
                i += 2
                continue
        i += 1
    return edits


def _is_joiner(c: str) -> bool:
    return c in "-'’" or c.isalnum()


# --------------------------------------------------------------------------- 5. footnote calls

_FOOTNOTE_RE = re.compile(
    r"(?<=[a-zà-öø-ÿœæ]{3})\d{1,2}(?=[ \n.,;:!?)\"']|$)"
    r"|(?<=[a-zà-öø-ÿœæ]{3}[.,;:)\"])\d{1,2}(?=[ \n]|$)")


def _footnote_edits(text: str) -> list[Edit]:
    return [(m.start(), m.end(), "") for m in _FOOTNOTE_RE.finditer(text)]


# --------------------------------------------------------------------------- 6. line structure

_BULLET_RE = re.compile(r"^(?:[-•*–—·▪►]|\d{1,2}[.)]|[a-z][)])\s")
_FINAL_PUNCT = ".!?:\"…"


def _is_hard_wrapped(lines: list[str]) -> tuple[bool, float]:
    lengths = [len(line) for line in lines if line.strip()]
    if len(lengths) < 5:
        return False, 0.0
    width = statistics.quantiles(lengths, n=10)[-1]  # 90th percentile
    long_share = sum(1 for n in lengths if n >= 0.7 * width) / len(lengths)
    return (width <= 200 and long_share >= 0.4), width


def _space_edits(text: str) -> list[Edit]:
    """Collapse runs of spaces; drop spaces at line, page and text boundaries."""
    edits: list[Edit] = []
    for m in re.finditer(r"[ ]+", text):
        a, b = m.start(), m.end()
        at_edge = a == 0 or b == len(text) or text[a - 1] in "\n\x0c" or text[b] in "\n\x0c"
        edits.append((a, b, "" if at_edge else " "))
    return edits


def _break_edits(text: str, wrapped: bool, width: float) -> list[Edit]:
    """Decide each line break: inside a paragraph (space) or between paragraphs.

    ``wrapped``/``width`` come from :func:`_is_hard_wrapped` on the text before
    hyphenated words were joined (joining makes some lines twice as long).
    """
    edits: list[Edit] = []
    for m in re.finditer(r"[\n\x0c]+", text):
        a, b = m.start(), m.end()
        if a == 0 or b == len(text):
            edits.append((a, b, ""))
            continue
        ws = m.group()
        if "\x0c" in ws:
            prev, nxt = text[a - 1], text[b]
            join = prev not in _FINAL_PUNCT and not nxt.isupper()
            edits.append((a, b, " " if join else "\n\n"))
        elif len(ws) >= 2:
            edits.append((a, b, "\n\n"))
        elif wrapped and _joins(_line_before(text, a), _line_after(text, b), width):
            edits.append((a, b, " "))
        else:
            edits.append((a, b, "\n\n"))
    return edits


def _line_before(text: str, pos: int) -> str:
    return text[text.rfind("\n", 0, pos) + 1:pos].strip()


def _line_after(text: str, pos: int) -> str:
    end = text.find("\n", pos)
    return text[pos:end if end >= 0 else len(text)].strip()


def _joins(prev: str, nxt: str, width: float) -> bool:
    """Whether a single line break between two lines is inside a paragraph."""
    if not prev or not nxt or _BULLET_RE.match(nxt):
        return False
    short = len(prev) < 0.7 * width
    if prev[-1] in _FINAL_PUNCT and short:
        return False
    if short and not prev[-1] in ",;" and (nxt[0].isupper() or nxt[0].isdigit()):
        return False
    return True


# --------------------------------------------------------------------------- pipeline

def _doc_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD_RE.findall(text) if len(w) >= 4}


def clean_text(text: str, *, lexicon: FrenchLexicon | None = None, max_rounds: int = 4) -> CleanText:
    """Clean ``text`` for matching and keep the map back to it.

    Parameters
    ----------
    text : str
        The original text of a document.
    lexicon : FrenchLexicon, optional
        Known French words for repairing broken words; defaults to the lexicon
        built from the installed spaCy model.
    max_rounds : int
        The steps are repeated until the text is stable (idempotence), at most
        this many times.

    Returns
    -------
    CleanText
        ``.text`` is the cleaned string; ``.original_span(i, j)`` maps a span of
        it to the original text.

    Examples
    --------
    >>> c = clean_text("écono-\\nmique et l’ESS")   # doctest: +SKIP
    >>> c.text
    "économique et l'ESS"
    """
    lex = lexicon if lexicon is not None else french_lexicon()
    current = OffsetText(text)
    for _ in range(max_rounds):
        before = current.text
        current = current.apply(_nfc_edits(current.text))
        current = current.apply(_char_edits(current.text))
        current = current.apply(_furniture_edits(current.text))
        wrapped, width = _is_hard_wrapped(current.text.replace("\x0c", "\n").split("\n"))
        doc_words = _doc_words(current.text)
        known = lambda w: lex.known(w) or w.lower() in doc_words  # noqa: E731
        current = current.apply(_hyphen_edits(current.text, known))
        current = current.apply(_split_word_edits(current.text, lex, doc_words))
        current = current.apply(_footnote_edits(current.text))
        current = current.apply(_space_edits(current.text))
        current = current.apply(_break_edits(current.text, wrapped, width))
        if current.text == before:
            break
    return CleanText(current.text, text, array("i", current.starts), array("i", current.ends))
