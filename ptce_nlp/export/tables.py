"""Tables for spreadsheets and scripts: CSV, one XLSX workbook, JSONL.

- :func:`write_tables`: one ``<name>.csv`` per table, UTF-8 with ``,``, the
  cells exactly as they are (for scripts and for the toolkit reading its own
  tables back); with ``excel_fr=True`` UTF-8 with a BOM, ``;`` as separator,
  a decimal comma (``0,25``) and CRLF line ends, which French Excel opens
  correctly by double-click (with a decimal point it would read ``1.5`` as a
  date or as text). Those files are for spreadsheets, so a text cell that a
  spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
  ``@``, tab or CR) gets a leading ``'`` (OWASP's advice on CSV injection),
  see :func:`neutralise_cell`; numbers, negative ones included, are untouched.
- :func:`write_xlsx`: one workbook, one sheet per table (sheet names cut to
  Excel's 31 characters and made unique). Strings, column names included, are
  always stored as text (a cell starting with ``=`` is never a formula, and
  keeps its text unchanged); characters XLSX cannot hold
  (control characters such as the form feed ending PDF pages) become spaces;
  a cell longer than Excel's 32,767 characters is cut and ends with ``[...]``.
- :func:`write_jsonl`: one JSON object per row of the coded-segment table.

All writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Mapping

from .._lazy import LazyModule
from ..errors import OutputError
from ..io import atomic_write, write_csv

pd = LazyModule("pandas")  # imported when a table is first made (issue 13)

EXCEL_MAX_CELL = 32_767
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def neutralise_cell(value):
    """A text cell that a spreadsheet will not run as a formula (OWASP, "CSV injection").

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading ``'``; a number written as text (``-0.5``, ``+3``) is no
    formula and is kept; values that are not ``str`` are returned as they are.

    Examples
    --------
    >>> neutralise_cell("=1+1"), neutralise_cell("@SUM(A1)"), neutralise_cell("-0.5"), neutralise_cell(-0.5)
    ("'=1+1", "'@SUM(A1)", '-0.5', -0.5)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names went through :func:`neutralise_cell`."""
    out = frame.copy(deep=False)
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if not pd.api.types.is_numeric_dtype(column.dtype):  # numbers and booleans hold no text
            out.isetitem(i, column.map(neutralise_cell))
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def _check_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    if not tables:
        raise OutputError("no table to write")
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"table {name!r} is a {type(frame).__name__}, not a DataFrame")


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: str | Path, *, excel_fr: bool = False) -> list[Path]:
    """Write each table as ``out_dir/<name>.csv``.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Table name (``coded_segments``, ``code_counts``...; letters, digits,
        ``_``, ``-``, ``.``) to table.
    out_dir : str or Path
        Folder, created if needed.
    excel_fr : bool, default False
        UTF-8 with BOM, ``;`` separator, decimal comma and CRLF, for French
        Excel; text cells that would start a formula get a leading ``'``
        (:func:`neutralise_cell`). Without it the cells are written exactly.

    Returns
    -------
    list of Path
        The files written, in the order of ``tables``.
    """
    _check_tables(tables)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: not a folder")
    paths = []
    for name in tables:
        if not _NAME_RE.match(name):
            raise OutputError(f"table name {name!r} cannot be a file name (letters, digits, _ - . only)")
    for name, frame in tables.items():
        path = out_dir / f"{name}.csv"
        if excel_fr:
            # CRLF, so that a cell holding a bare CR is quoted: unquoted, a spreadsheet may end the row there
            # and read what follows (a "=..." of the same cell) as a new row's first cell.
            with atomic_write(path, encoding="utf-8-sig") as fh:
                _neutralised(frame).to_csv(fh, index=False, sep=";", decimal=",", lineterminator="\r\n",
                                           quoting=csv.QUOTE_MINIMAL)
            paths.append(path)
        else:
            paths.append(write_csv(frame, path))
    return paths


def sheet_names(names: list[str]) -> list[str]:
    """Excel sheet names for table names: no ``[]:*?/\\``, at most 31 characters, unique.

    Examples
    --------
    >>> sheet_names(["coded_segments", "a" * 40, "a" * 35])
    ['coded_segments', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaa~2']
    """
    out: list[str] = []
    taken: set[str] = set()
    for name in names:
        base = _SHEET_BAD.sub("_", name).strip("'") or "table"
        sheet, i = base[:31], 2
        while sheet.casefold() in taken:
            suffix = f"~{i}"
            sheet = base[:31 - len(suffix)] + suffix
            i += 1
        taken.add(sheet.casefold())
        out.append(sheet)
    return out


def _cell(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    if isinstance(value, str):
        value = _XLSX_ILLEGAL.sub(" ", value)
        if len(value) > EXCEL_MAX_CELL:
            value = value[:EXCEL_MAX_CELL - 5] + "[...]"
    return value


def write_xlsx(tables: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write the tables as one XLSX workbook, one sheet per table (header row frozen).

    Examples
    --------
    >>> write_xlsx({"coded_segments": result.coded, "code_counts": result.counts}, "out/ptce.xlsx")  # doctest: +SKIP
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    _check_tables(tables)
    path = Path(path)
    book = Workbook(write_only=True)  # rows streamed out as they are added: memory does not grow with the tables

    def text(sheet, value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # never a formula, even when the text starts with '='
        return cell

    dimensions = {}
    for n, (sheet_name, frame) in enumerate(zip(sheet_names(list(tables)), tables.values()), start=1):
        sheet = book.create_sheet(sheet_name)
        sheet.freeze_panes = "A2"
        for c, column in enumerate(frame.columns, start=1):
            width = max([len(str(column))] + [min(len(str(v)), 60) for v in frame[column].head(200)])
            sheet.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 62)
        sheet.append([text(sheet, _cell(str(column))) for column in frame.columns])  # "=..." is no formula
        for row in frame.itertuples(index=False, name=None):
            sheet.append([text(sheet, v) if isinstance(v, str) else v for v in map(_cell, row)])
        last = f"{get_column_letter(max(1, len(frame.columns)))}{len(frame) + 1}"
        dimensions[f"xl/worksheets/sheet{n}.xml"] = f'<dimension ref="A1:{last}"/>'.encode("ascii")
    buffer = io.BytesIO()
    book.save(buffer)
    with atomic_write(path, "wb") as fh:
        fh.write(_reproducible_zip(buffer.getvalue(), dimensions))
    return path


_STAMP_RE = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _reproducible_zip(data: bytes, dimensions: Mapping[str, bytes] | None = None) -> bytes:
    """The same workbook with fixed zip dates and document dates: same tables, same bytes. ``dimensions``:
    the ``<dimension>`` element of each sheet (by file name), which a write-only workbook lacks and
    readers use for the sheet's size."""
    import zipfile

    import shutil

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            with src.open(info) as fin, dst.open(entry, "w") as fout:  # by chunks: a sheet can be large
                head = fin.read() if info.filename == "docProps/core.xml" else fin.read(1 << 16)
                if info.filename == "docProps/core.xml":
                    head = _STAMP_RE.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", head)
                elif dimensions and info.filename in dimensions and b"<dimension " not in head:
                    head = head.replace(b"<sheetViews>", dimensions[info.filename] + b"<sheetViews>", 1)
                fout.write(head)
                shutil.copyfileobj(fin, fout, 1 << 20)
    return out.getvalue()


def _json_value(value):
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_jsonl(coded: pd.DataFrame, path: str | Path) -> Path:
    """Write a table (the coded segments) as JSON Lines: one object per row, UTF-8, NaN as null."""
    path = Path(path)
    columns = [str(c) for c in coded.columns]
    with atomic_write(path) as fh:
        for row in coded.itertuples(index=False, name=None):
            fh.write(json.dumps({k: _json_value(v) for k, v in zip(columns, row)}, ensure_ascii=False))
            fh.write("\n")
    return path
