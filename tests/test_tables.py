"""Documents from a table (code --from-table): ids that are empty, formulas or repeated are refused by row."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from openpyxl import Workbook

from ptce_nlp.tables import TableError, read_table


def _xlsx(path, rows, *, cached: dict[str, str] | None = None):
    """An XLSX of ``rows`` (header first); ``cached`` gives formula cells (by reference) the value a
    spreadsheet saves beside the formula (openpyxl saves none)."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info).decode("utf-8")
            if info.filename == "xl/worksheets/sheet1.xml":
                for ref, value in (cached or {}).items():
                    data, n = re.subn(rf'<c r="{ref}">(<f>.*?</f>)<v\s*/?>(?:</v>)?</c>',
                                      rf'<c r="{ref}" t="str">\1<v>{value}</v></c>', data)
                    assert n == 1
            dst.writestr(info, data)
    path.write_bytes(out.getvalue())
    return path


def test_xlsx_empty_and_formula_ids_are_refused_naming_the_row(tmp_path):
    path = _xlsx(tmp_path / "t.xlsx", [["id", "texte", "pole"],
                                       ["a", "Le pôle coopère.", "P1"],
                                       [None, "Texte sans id.", "P2"],
                                       ["=A2", "Texte dont l'id est une formule.", "P3"],
                                       ['=HYPERLINK("http://x.invalid","b")', "Formule avec valeur.", "P4"],
                                       [3, "Un id numérique.", None]],
                 cached={"A5": "b"})
    documents, warnings = read_table(path, id_col="id", text_col="texte")
    assert [d.doc_id for d in documents] == ["a", "3"]
    assert documents[1].metadata["pole"] == ""
    assert warnings == [
        f"{path}: row 3: empty id, skipped",
        f"{path}: row 4: the id is a formula ('=A2'), not a value, skipped",
        f"{path}: row 5: the id is a formula ('=HYPERLINK(\"http://x.invalid\",\"b\")'), not a value, skipped",
    ]


def test_csv_empty_formula_and_duplicate_ids_are_refused_naming_the_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,texte\na,Texte un.\n,Texte deux.\n=1+1,Texte trois.\nnan,Texte quatre.\na,Texte cinq.\n",
                    "utf-8")
    documents, warnings = read_table(path, id_col="id", text_col="texte")
    assert [d.doc_id for d in documents] == ["a", "nan"]  # "nan" written in the file is an id like any other
    assert warnings == [
        f"{path}: row 3: empty id, skipped",
        f"{path}: row 4: the id is a formula ('=1+1'), not a value, skipped",
        f"{path}: row 6: duplicate id 'a' (first on row 2), skipped",
    ]


def test_jsonl_ids_and_metadata_keep_their_written_form(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{"id": 1, "texte": "Texte un.", "year": 2019}, {"id": None, "texte": "Texte deux.", "year": None},
            {"id": 2, "texte": "Texte trois.", "year": 2020}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", "utf-8")
    documents, warnings = read_table(path, id_col="id", text_col="texte")
    assert [(d.doc_id, d.metadata["year"]) for d in documents] == [("1", "2019"), ("2", "2020")]  # not "1.0"
    assert warnings == [f"{path}: row 2: empty id, skipped"]


def test_jsonl_line_that_is_not_an_object_names_its_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a", "texte": "x"}\n\n[1, 2]\n', "utf-8")
    with pytest.raises(TableError, match=r"t.jsonl: line 3: not a JSON object$"):
        read_table(path, id_col="id", text_col="texte")
    path.write_text('{"id": "a", "texte": "x"}\n{"id": \n', "utf-8")
    with pytest.raises(TableError, match=r"t.jsonl: line 2: invalid JSON \("):
        read_table(path, id_col="id", text_col="texte")
