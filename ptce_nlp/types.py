"""Shared value types of the pipeline: ``Document -> Segment``.

Offsets are always ``start_char``/``end_char``, half-open, in Unicode code
points, into ``Document.text`` (the original text as read), so that
``document.text[start_char:end_char] == segment.text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

#: Metadata columns a document may carry (from ``manifest.csv``).
METADATA_FIELDS = ("pole", "pole_type", "genre", "region", "year", "source")
#: Allowed values of ``pole_type``.
POLE_TYPES = ("ptce", "pole_competitivite", "cluster", "district_spl", "reference")
#: Allowed values of ``genre``.
GENRES = ("fiche", "monographie", "reference")
#: Formats the readers understand, by file suffix.
FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".docx": "docx",
    ".odt": "odt",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Document:
    """One document as read from a file.

    Parameters
    ----------
    doc_id : str
        Identifier (manifest ``doc_id`` or the file stem).
    text : str
        The original text as extracted by the reader. Every offset in the
        toolkit refers to this string.
    format : str
        One of the values of :data:`FORMATS`.
    source : Path or None
        The file it was read from.
    encoding : str or None
        Detected encoding of text formats (``utf-8``, ``utf-8-sig``,
        ``utf-16``, ``cp1252`` ...); ``None`` for container formats.
    metadata : Mapping[str, str]
        pole, pole_type, genre, region, year, source (empty strings allowed).
    """

    doc_id: str
    text: str
    format: str
    source: Path | None = None
    encoding: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _frozen(self.metadata))


@dataclass(frozen=True)
class Segment:
    """A paragraph or a sentence of a document, located in its original text.

    ``kind`` is ``"paragraph"`` or ``"sentence"``; a sentence's ``parent_id``
    is the ``segment_id`` of its paragraph (empty for paragraphs).
    """

    doc_id: str
    segment_id: str
    kind: str
    start_char: int
    end_char: int
    text: str
    parent_id: str = ""


@dataclass(frozen=True)
class ReadFailure:
    """A file that could not be read, with a one-line reason."""

    path: str
    reason: str
    doc_id: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"
