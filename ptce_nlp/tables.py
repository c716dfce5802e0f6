"""Documents from a table (CSV, JSONL or XLSX): one row per document.

``doc_id`` is the id column's value, the text column's cell is the
document's original text (offsets are into it), other columns are kept as
metadata. Rows that cannot be documents are skipped with a warning naming the
row: an empty or non-text cell in the text column; an empty id (an empty XLSX
cell or a JSON ``null`` is never the id ``nan``); an id that is a formula (an
XLSX formula cell, whatever value it last showed, or a text starting with
``=``); an id already used by an earlier row. Values keep their written form:
a JSONL id ``1`` is ``"1"``, never ``"1.0"``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import InputFileError, PtceError
from .types import METADATA_FIELDS, Document
from ._lazy import LazyModule

pd = LazyModule("pandas")  # imported when a table is first made (issue 13)


def flag(value: object) -> bool:
    """A boolean cell, also when read back from CSV (``"True"``, ``"False"``, ``"1"``, ``""``) or missing (NaN)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "vrai")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def flags(column: pd.Series) -> pd.Series:
    """A column of boolean cells (:func:`flag` of each)."""
    return pd.Series(column).map(flag).astype(bool)

class TableError(PtceError):
    """The table cannot be read or lacks the named columns."""


def read_table(path: str | Path, *, id_col: str, text_col: str) -> tuple[list[Document], list[str]]:
    """Read documents from a table; returns ``(documents, warnings)``."""
    path = Path(path)
    suffix = path.suffix.lower()
    formulas: dict[int, str] = {}
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=None,
                                engine="python")
            columns, rows = _frame_rows(frame)
        elif suffix in (".jsonl", ".ndjson"):
            columns, rows = _jsonl_rows(path)
        elif suffix == ".xlsx":
            columns, rows = _frame_rows(pd.read_excel(path, dtype=object))
            if id_col in columns:
                formulas = _xlsx_formula_rows(path, id_col)
        else:
            raise TableError(f"{path}: unsupported table type {suffix or '(none)'} (use .csv, .jsonl or .xlsx)")
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except TableError:
        raise
    except Exception as exc:
        raise TableError(f"{path}: cannot read the table ({exc.__class__.__name__}: {exc})") from None
    missing = [c for c in (id_col, text_col) if c not in columns]
    if missing:
        raise TableError(f"{path}: no column {', '.join(map(repr, missing))}; the columns are "
                         f"{', '.join(map(repr, columns))}")
    documents: list[Document] = []
    warnings: list[str] = []
    first_row: dict[str, int] = {}
    for line, row in rows:
        text = row.get(text_col)
        if not isinstance(text, str) or not text.strip():
            warnings.append(f"{path}: row {line}: empty or non-text cell in {text_col!r}, skipped")
            continue
        doc_id = _cell_text(row.get(id_col)).strip()
        if line in formulas or doc_id.startswith("="):
            formula = formulas.get(line, doc_id)
            shown = repr(formula if len(formula) <= 60 else formula[:57] + "...")
            warnings.append(f"{path}: row {line}: the id is a formula ({shown}), not a value, skipped")
            continue
        if not doc_id:
            warnings.append(f"{path}: row {line}: empty id, skipped")
            continue
        if doc_id in first_row:
            warnings.append(f"{path}: row {line}: duplicate id {doc_id!r} (first on row {first_row[doc_id]}), "
                            "skipped")
            continue
        first_row[doc_id] = line
        metadata = {k: _cell_text(v) for k, v in row.items() if k not in (id_col, text_col)}
        metadata = {k: metadata.get(k, "") for k in METADATA_FIELDS} | metadata
        documents.append(Document(doc_id, text, "table", path, None, metadata))
    return documents, warnings


def _cell_text(value) -> str:
    """A cell as text: ``""`` for an empty cell (None, NaN, NA), else ``str(value)``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _frame_rows(frame: pd.DataFrame) -> tuple[list[str], list[tuple[int, dict]]]:
    """Column names and ``(row number, record)`` of a CSV or XLSX frame (the header is row 1)."""
    columns = [str(c) for c in frame.columns]
    records = frame.to_dict("records")
    return columns, [(i + 2, {str(k): v for k, v in record.items()}) for i, record in enumerate(records)]


def _jsonl_rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """Column names (in order of first use) and ``(line, object)`` of a JSON Lines file.

    Read with :mod:`json`, not pandas: pandas turns a column of integers with a ``null`` into floats.
    """
    columns: dict[str, None] = {}
    rows = []
    with open(path, encoding="utf-8-sig") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise TableError(f"{path}: line {line}: invalid JSON ({exc})") from None
            if not isinstance(record, dict):
                raise TableError(f"{path}: line {line}: not a JSON object")
            columns.update(dict.fromkeys(record))
            rows.append((line, record))
    return list(columns), rows


def _xlsx_formula_rows(path: Path, id_col: str) -> dict[int, str]:
    """Row number -> formula of the id cells of the first sheet that hold a formula.

    pandas reads the value a formula last showed (or nothing when the file was
    never opened in a spreadsheet); this second read, without values, sees the
    formulas themselves.
    """
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=False)
    try:
        sheet = book.worksheets[0]
        header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        names = [_cell_text(v) for v in header]
        if id_col not in names:
            return {}
        column = names.index(id_col) + 1
        out = {}
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            if getattr(cell, "data_type", None) == "f":
                out[cell.row] = str(cell.value)
        return out
    finally:
        book.close()
