"""Documents from a table (CSV, JSONL or XLSX): one row per document.

``doc_id`` is the id column's value, the text column's cell is the
document's original text (offsets are into it), other columns are kept as
metadata. Empty or non-text cells are skipped with a warning naming the row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import InputFileError, PtceError
from .types import METADATA_FIELDS, Document


class TableError(PtceError):
    """The table cannot be read or lacks the named columns."""


def read_table(path: str | Path, *, id_col: str, text_col: str) -> tuple[list[Document], list[str]]:
    """Read documents from a table; returns ``(documents, warnings)``."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=None,
                                engine="python")
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True, dtype=False)
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=object)
        else:
            raise TableError(f"{path}: unsupported table type {suffix or '(none)'} (use .csv, .jsonl or .xlsx)")
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except TableError:
        raise
    except Exception as exc:
        raise TableError(f"{path}: cannot read the table ({exc.__class__.__name__}: {exc})") from None
    columns = [str(c) for c in frame.columns]
    missing = [c for c in (id_col, text_col) if c not in columns]
    if missing:
        raise TableError(f"{path}: no column {', '.join(map(repr, missing))}; the columns are "
                         f"{', '.join(map(repr, columns))}")
    documents: list[Document] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for i, row in enumerate(frame.to_dict("records")):
        line = i + 2 if suffix == ".csv" or suffix == ".xlsx" else i + 1
        text = row.get(text_col)
        doc_id = str(row.get(id_col) if row.get(id_col) is not None else "").strip()
        if not isinstance(text, str) or not text.strip():
            warnings.append(f"{path}: row {line}: empty or non-text cell in {text_col!r}, skipped")
            continue
        if not doc_id or doc_id in seen:
            warnings.append(f"{path}: row {line}: {'empty' if not doc_id else 'duplicate'} id {doc_id!r}, skipped")
            continue
        seen.add(doc_id)
        metadata = {k: ("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
                    for k, v in row.items() if k not in (id_col, text_col)}
        metadata = {k: metadata.get(k, "") for k in METADATA_FIELDS} | metadata
        documents.append(Document(doc_id, text, "table", path, None, metadata))
    return documents, warnings
