"""Ingestion: read a batch, clean and segment each document, build the tables.

``ingest(paths)`` is the library entry point behind ``ptce-nlp ingest``; it
returns pandas DataFrames and the list of files that failed, and writes
nothing. :func:`write_ingest` writes ``documents.csv`` and ``segments.csv``
atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .cache import CleanCache
from .clean import clean_text
from .corpus import find_sources, iter_read
from .io import write_csv
from .readers import MAX_FILE_MB
from .segment import segment_document
from .types import METADATA_FIELDS, Document, ReadFailure, Segment
from ._lazy import LazyModule

pd = LazyModule("pandas")  # imported when a table is first made (issue 13)

DOCUMENT_COLUMNS = (("doc_id", "path", "format") + METADATA_FIELDS
                    + ("encoding", "n_chars", "n_words", "n_paragraphs", "n_sentences"))
SEGMENT_COLUMNS = ("doc_id", "segment_id", "kind", "parent_id", "start_char", "end_char", "text")
_WORD_RE = re.compile(r"\S*[^\W_]\S*")


def count_words(text: str) -> int:
    """Number of white-space separated tokens holding a letter or digit."""
    return len(_WORD_RE.findall(text))


@dataclass
class IngestResult:
    """Documents read, their segments as tables, and the failures."""

    documents: list[Document]
    segments: list[Segment]
    failures: list[ReadFailure]
    documents_table: pd.DataFrame
    segments_table: pd.DataFrame


def _document_row(doc: Document, segments: list[Segment], clean: str) -> dict:
    row = {"doc_id": doc.doc_id, "path": str(doc.source or ""), "format": doc.format}
    row.update({k: doc.metadata.get(k, "") for k in METADATA_FIELDS})
    row.update(encoding=doc.encoding or "", n_chars=len(doc.text), n_words=count_words(clean),
               n_paragraphs=sum(s.kind == "paragraph" for s in segments),
               n_sentences=sum(s.kind == "sentence" for s in segments))
    return row


def ingest(paths: str | Path | Iterable[str | Path], *, max_file_mb: float = MAX_FILE_MB,
           progress: Callable[[str, ReadFailure | None], None] | None = None,
           cache_dir: str | Path | None = None, allow_outside: bool = False) -> IngestResult:
    """Read, clean and segment files, folders or manifests.

    Parameters
    ----------
    paths : path or iterable of paths
        Files, folders (with or without ``manifest.csv``) or manifests.
    max_file_mb : float
        Size limit of one input file.
    progress : callable, optional
        Called with each file's path and its failure (or None) once it is
        processed, for progress bars and messages as the batch goes.
    cache_dir : path, optional
        Use the extraction and cleaning caches there (:mod:`ptce_nlp.cache`);
        by default nothing is cached.
    allow_outside : bool
        Read manifest rows and folder links that point outside their corpus
        folder (by default each is a failure, see :func:`ptce_nlp.corpus.find_sources`).

    Returns
    -------
    IngestResult
        ``documents_table`` has one row per document (:data:`DOCUMENT_COLUMNS`),
        ``segments_table`` one row per paragraph and sentence
        (:data:`SEGMENT_COLUMNS`).

    Raises
    ------
    ManifestError
        When a manifest is invalid (nothing is read).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    sources, failures = find_sources(paths, allow_outside=allow_outside)
    documents: list[Document] = []
    segments: list[Segment] = []
    rows: list[dict] = []
    if progress is not None:
        for failure in failures:
            progress(failure.path, failure)
    clean_cache = CleanCache(cache_dir) if cache_dir is not None else None
    for src, item in zip(sources, iter_read(sources, max_file_mb=max_file_mb, cache_dir=cache_dir)):
        if isinstance(item, ReadFailure):
            failures.append(item)
        else:
            clean = clean_cache.get(item.text) if clean_cache is not None else None
            if clean is None:
                clean = clean_text(item.text)
                if clean_cache is not None:
                    clean_cache.put(clean)
            segs = segment_document(item, clean=clean)
            documents.append(item)
            segments.extend(segs)
            rows.append(_document_row(item, segs, clean.text))
        if progress is not None:
            progress(str(src.path), item if isinstance(item, ReadFailure) else None)
    doc_table = pd.DataFrame(rows, columns=list(DOCUMENT_COLUMNS))
    seg_table = pd.DataFrame([(s.doc_id, s.segment_id, s.kind, s.parent_id, s.start_char, s.end_char, s.text)
                              for s in segments], columns=list(SEGMENT_COLUMNS))
    return IngestResult(documents, segments, failures, doc_table, seg_table)


def write_ingest(result: IngestResult, out_dir: str | Path) -> list[Path]:
    """Write ``documents.csv`` and ``segments.csv`` into ``out_dir`` (atomically)."""
    out = Path(out_dir)
    return [write_csv(result.documents_table, out / "documents.csv"),
            write_csv(result.segments_table, out / "segments.csv")]
