"""Coded spans of a document as HTML: the text cut at every span boundary, escaped.

Spans of different codes may overlap or nest. The text is split at the union
of all span starts and ends, so that each piece is covered by a fixed set of
spans; a piece covered by one span or more becomes one ``<mark>`` listing all
of its codes. Everything taken from the document is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

# C0 controls other than tab, line feed and carriage return are not allowed in HTML text; the
# form feed that ends a PDF page is shown as a line break.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Span:
    """A coded span: half-open offsets into the original text, its code and flags."""

    start_char: int
    end_char: int
    code_id: str
    negated: bool = False
    contrast: bool = False


def escape_text(text: str) -> str:
    """HTML-escape document text (quotes included) and neutralise control characters."""
    text = text.replace("\x0c", "\n")
    return html.escape(_CONTROL_RE.sub("\ufffd", text), quote=True)


def split_pieces(length: int, spans: Sequence[Span]) -> list[tuple[int, int, tuple[int, ...]]]:
    """Cut ``[0, length)`` at every span boundary.

    Returns ``(start, end, active)`` triples covering the text in order, where
    ``active`` holds the indices (into ``spans``) of the spans covering the
    piece. Empty and out-of-range spans are ignored.

    Examples
    --------
    >>> split_pieces(10, [Span(2, 6, "a"), Span(4, 8, "b")])
    [(0, 2, ()), (2, 4, (0,)), (4, 6, (0, 1)), (6, 8, (1,)), (8, 10, ())]
    """
    valid = [(i, max(0, s.start_char), min(length, s.end_char)) for i, s in enumerate(spans)]
    valid = [(i, a, b) for i, a, b in valid if a < b]
    cuts = sorted({0, length} | {a for _, a, _ in valid} | {b for _, _, b in valid})
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        active = tuple(i for i, s, e in valid if s <= a and e >= b)
        pieces.append((a, b, active))
    return pieces


def highlight_html(text: str, spans: Sequence[Span], codes: Mapping[str, tuple[str, str]]) -> str:
    """The text as escaped HTML with coded pieces wrapped in ``<mark>``.

    Parameters
    ----------
    text : str
        The document's original text (offsets refer to it).
    spans : sequence of Span
        Coded spans, in any order; overlaps allowed.
    codes : mapping
        ``code_id -> (label, "#RRGGBB")``; unknown codes are shown in grey.

    Notes
    -----
    Each mark carries ``data-codes`` (the code ids, space separated), a
    ``title`` for the hover text (labels, with ``nié`` / ``contraste``), the
    background colour of its first code and an underline in the second code's
    colour when codes overlap. A piece where every covering span is negated
    gets the class ``neg``; a piece where every span is a contrast, ``ctr``.
    """
    out = []
    for a, b, active in split_pieces(len(text), spans):
        piece = escape_text(text[a:b])
        if not active:
            out.append(piece)
            continue
        covering = sorted((spans[i] for i in active), key=lambda s: (s.start_char, -s.end_char, s.code_id))
        ids = list(dict.fromkeys(s.code_id for s in covering))
        tips = []
        for s in covering:
            label = codes.get(s.code_id, (s.code_id, ""))[0]
            flag = " (nié)" if s.negated else " (contraste)" if s.contrast else ""
            tip = f"{label} [{s.code_id}]{flag}"
            if tip not in tips:
                tips.append(tip)
        classes = ["hl"]
        if all(s.negated for s in covering):
            classes.append("neg")
        elif all(s.contrast or s.negated for s in covering):
            classes.append("ctr")
        if len(ids) > 1:
            classes.append("multi")
        color = codes.get(ids[0], ("", "#888888"))[1] or "#888888"
        style = f"--c:{color};--bg:{rgba(color, 0.30)}"
        if len(ids) > 1:
            style += f";--c2:{codes.get(ids[1], ('', '#888888'))[1] or '#888888'}"
        out.append(f'<mark class="{" ".join(classes)}" data-codes="{html.escape(" ".join(ids))}" '
                   f'title="{html.escape(" · ".join(tips))}" style="{style}">{piece}</mark>')
    return "".join(out)


def rgba(color: str, alpha: float) -> str:
    """``#RRGGBB`` as a CSS ``rgba()`` with the given opacity."""
    value = color.lstrip("#")
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", value):
        value = "888888"
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"
