"""A corpus for IRaMuTeQ (Reinert classification), in one UTF-8 text file.

IRaMuTeQ reads ALCESTE-formatted corpora: each text (*uci*) starts with a
line ``****`` followed by star variables ``*variable_modalite`` separated by
spaces; the variable name is what precedes the first ``_``. Inside the text,
a line starting with ``-*`` is a thematic marker and a form ``_mot_`` is read
as a star variable, so the text must hold no ``*`` and no such forms.

What :func:`write_iramuteq` writes for each document::

    **** *doc_ptce_re_sources *pole_re_sources *type_ptce *region_provence_alpes_cote_d_azur *annee_2016 *genre_fiche
    <the text, cleaned>

- variable names: ``doc``, ``pole``, ``type`` (pole type), ``region``,
  ``annee``, ``genre``; modalities: lower-case ASCII letters, digits and
  ``_`` only (accents removed, every other run of characters becomes one
  ``_``: ``Provence-Alpes-Côte d'Azur`` -> ``provence_alpes_cote_d_azur``),
  ``nr`` when the metadata is empty;
- text: ``*`` removed, ``_`` replaced by a space, non-breaking and other
  spaces by a plain space, form feeds and ``\\r`` line endings by ``\\n``,
  blank lines collapsed to one, lines stripped.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Sequence

from ..io import atomic_write
from ..types import Document

#: (star variable name, metadata field) in the order written.
STAR_VARIABLES = (("pole", "pole"), ("type", "pole_type"), ("region", "region"), ("annee", "year"),
                  ("genre", "genre"))


def iramuteq_token(value: object) -> str:
    """A star-variable modality: lower-case ASCII letters, digits and ``_`` (``nr`` if empty).

    Examples
    --------
    >>> iramuteq_token("Provence-Alpes-Côte d'Azur")
    'provence_alpes_cote_d_azur'
    >>> iramuteq_token("Domb'Innov"), iramuteq_token(""), iramuteq_token("pôle_compétitivité")
    ('domb_innov', 'nr', 'pole_competitivite')
    """
    text = unicodedata.normalize("NFKD", str(value or "")).replace("œ", "oe").replace("Œ", "oe")
    text = text.replace("æ", "ae").replace("Æ", "ae").encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "nr"


def clean_for_iramuteq(text: str) -> str:
    """A text IRaMuTeQ reads as plain text (no ``*``, no ``_``, ``\\n`` line endings).

    Examples
    --------
    >>> clean_for_iramuteq("**** faux début\\r\\n-*theme\\u00a0_rire_ fin *")
    'faux début\\n-theme rire fin'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = text.replace("*", "").replace("_", " ")
    text = "".join(" " if (unicodedata.category(c) == "Zs" or c == "\t") else c for c in text)
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def star_line(document: Document) -> str:
    """The ``****`` line of a document."""
    stars = [f"*doc_{iramuteq_token(document.doc_id)}"]
    for name, field_name in STAR_VARIABLES:
        stars.append(f"*{name}_{iramuteq_token(document.metadata.get(field_name, ''))}")
    return "**** " + " ".join(stars)


def iramuteq_corpus(documents: Sequence[Document]) -> str:
    """The whole corpus as one string (each text after its star line, a blank line between texts)."""
    parts = []
    for d in documents:
        body = clean_for_iramuteq(d.text)
        parts.append(f"{star_line(d)}\n{body}\n")
    return "\n".join(parts)


def write_iramuteq(documents: Sequence, path: str | Path) -> Path:
    """Write the IRaMuTeQ corpus of the documents (UTF-8, ``\\n``) to one file.

    Parameters
    ----------
    documents : sequence of Document or ParsedDocument
    path : str or Path

    Examples
    --------
    >>> write_iramuteq(read_corpus("corpus").documents, "out/corpus_iramuteq.txt")  # doctest: +SKIP
    """
    docs = [getattr(d, "document", d) for d in documents]
    for d in docs:
        if not isinstance(d, Document):
            raise TypeError(f"expected Document or ParsedDocument items, not {type(d).__name__}")
    text = iramuteq_corpus(docs)
    path = Path(path)
    with atomic_write(path, newline="\n") as fh:
        fh.write(text)
    return path
