"""Agreement coefficients against published worked examples; units, confusion table, CLI."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from ptce_nlp.agreement import (AgreementError, cohen_kappa, compare_codings, krippendorff_alpha, percent_agreement,
                                segment_units, sentence_units, units_from_segments)
from ptce_nlp.cli import main
from ptce_nlp.codebook import Codebook
from ptce_nlp.export import write_qdpx
from ptce_nlp.types import Document

M = None


def test_agreement_krippendorff_alpha_reliability_data_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units,
    # nominal alpha = 0.743
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, M, M, M],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, M, 3],
            [M, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, M],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, M]]
    assert round(krippendorff_alpha(data), 3) == 0.743
    # the same with NaN for missing values and letters for values
    letters = [[float("nan") if v is None else "abcde"[v - 1] for v in row] for row in data]
    assert round(krippendorff_alpha(letters), 3) == 0.743


def test_agreement_krippendorff_alpha_binary_two_observers_example():
    # Krippendorff (2011), section A: two observers, binary data, 10 units: alpha = 0.095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert round(krippendorff_alpha([a, b]), 3) == 0.095
    assert krippendorff_alpha([[1, 1, 1], [1, 1, 1]]) != krippendorff_alpha([[1, 1, 1], [1, 1, 1]])  # NaN
    assert math.isnan(krippendorff_alpha([[1, M], [M, 2]]))  # no pairable unit
    with pytest.raises(AgreementError, match="every coder needs a value"):
        krippendorff_alpha([[1, 2], [1]])


def test_agreement_cohen_kappa_textbook_example_and_sklearn():
    # Wikipedia "Cohen's kappa", worked example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert percent_agreement(a, b) == 0.7
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    # Cohen (1960)-style three-category table, checked against scikit-learn
    from sklearn.metrics import cohen_kappa_score

    x = [0] * 44 + [1] * 5 + [2] * 1 + [0] * 7 + [1] * 20 + [2] * 3 + [0] * 9 + [1] * 5 + [2] * 6
    y = [0] * 50 + [1] * 30 + [2] * 20
    assert cohen_kappa(x, y) == pytest.approx(cohen_kappa_score(x, y))
    assert math.isnan(cohen_kappa([1, 1], [1, 1]))
    with pytest.raises(AgreementError, match="^the two codings have 2 and 1 units$"):
        percent_agreement([1, 2], [1])


DOC = Document("d", "La coopération est forte. Les PME coopèrent.\n\nLa compétitivité prime. Rien ici.", "txt")


def _coded(*rows) -> pd.DataFrame:
    return pd.DataFrame([(DOC.doc_id, code, code.split(".")[0], a, b, neg, False) for code, a, b, neg in rows],
                        columns=["doc_id", "code_id", "category", "start_char", "end_char", "negated", "contrast"])


def _span(word: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = DOC.text.index(word, start + 1)
    return start, start + len(word)


def test_agreement_sentence_units_and_per_code_figures():
    units = sentence_units([DOC])
    assert units["unit_id"].tolist() == ["p0001.s001", "p0001.s002", "p0002.s001", "p0002.s002"]
    auto = _coded(("v.coop", *_span("coopération"), False), ("v.coop", *_span("coopèrent"), False),
                  ("c.compet", *_span("compétitivité"), False), ("c.compet", *_span("Rien"), True))
    # the human selects a longer stretch: the sentence still agrees
    manual = _coded(("v.coop", 0, 24, False), ("c.compet", *_span("PME"), False))
    result = compare_codings(auto, manual, units)
    table = result.table.set_index("code")
    assert table.loc["v.coop", ["n_units", "n_both", "n_only_a", "n_only_b", "n_neither"]].tolist() == [4, 1, 1, 0, 2]
    assert table.loc["v.coop", "percent_agreement"] == 0.75
    assert table.loc["v.coop", "kappa"] == pytest.approx(0.5)
    assert table.loc["c.compet", ["n_both", "n_only_a", "n_only_b", "n_neither"]].tolist() == [0, 1, 1, 2]
    overall = table.loc["(ensemble)"]
    assert overall[["n_units", "n_both", "n_only_a", "n_only_b", "n_neither"]].tolist() == [4, 1, 2, 1, 4]
    assert overall["kappa"] == pytest.approx(cohen_kappa([1, 1, 0, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, 1, 0, 0]))
    assert overall["alpha"] == pytest.approx(krippendorff_alpha([[1, 1, 0, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, 1, 0, 0]]))
    confusion = result.confusion
    assert confusion.loc["v.coop", "v.coop"] == 1
    assert confusion.loc["v.coop", "c.compet"] == 1  # sentence 2: auto says coop, human says compet
    assert confusion.loc["c.compet", "(aucun)"] == 1
    assert confusion.loc["(aucun)", "(aucun)"] == 1
    # the negated match counts only when asked
    flagged = compare_codings(auto, manual, units, include_flagged=True).table.set_index("code")
    assert flagged.loc["c.compet", "n_only_a"] == 2


def test_agreement_category_level_and_segment_units():
    auto = _coded(("v.coop", *_span("coopération"), False), ("v.mutu", *_span("coopèrent"), False))
    manual = _coded(("v.autre", 3, 20, False))
    by_cat = compare_codings(auto, manual, sentence_units([DOC]), level="category").table.set_index("code")
    assert by_cat.loc["v", ["n_both", "n_only_a", "n_only_b", "n_neither"]].tolist() == [1, 1, 0, 2]
    units = segment_units(auto, manual)
    assert units[["start_char", "end_char"]].values.tolist() == [[3, 20], [34, 43]]
    seg = compare_codings(auto, manual, units).table.set_index("code")
    assert seg.loc["v.coop", ["n_both", "n_only_a", "n_only_b", "n_neither"]].tolist() == [0, 1, 0, 1]
    with pytest.raises(AgreementError, match="level must be 'code' or 'category', not 'x'"):
        compare_codings(auto, manual, units, level="x")


def test_agreement_units_from_segments_table_and_warnings():
    segments = pd.DataFrame({"doc_id": ["d", "d"], "segment_id": ["p0001", "p0001.s001"],
                             "kind": ["paragraph", "sentence"], "start_char": [0, 0], "end_char": [25, 25]})
    units = units_from_segments(segments)
    assert units.values.tolist() == [["d", "p0001.s001", 0, 25]]
    other = _coded(("v.coop", 3, 14, False)).assign(doc_id="inconnu")
    result = compare_codings(_coded(("v.coop", 3, 14, False)), other, units)
    assert result.warnings == ["1 document(s) of the second coding are not among the units' documents and are "
                               "left out: inconnu"]


@pytest.fixture()
def two_projects(tmp_path):
    book = Codebook.from_dict({"name": "t", "codes": [
        {"id": "v", "label": "Valeurs"}, {"id": "v.coop", "parent": "v", "label": "Coopération", "lemmas": ["x"]},
        {"id": "c", "label": "Cluster"}, {"id": "c.compet", "parent": "c", "label": "Compétitivité",
                                          "lemmas": ["y"]}]}, check_lemmas=False)
    text = DOC.text
    auto = _coded(("v.coop", *_span("coopération"), False), ("c.compet", *_span("compétitivité"), False))
    manual = _coded(("v.coop", *_span("coopération"), False), ("v.coop", *_span("coopèrent"), False))
    for frame in (auto, manual):
        frame["segment_id"] = ""
        frame["term"] = ""
        frame["text"] = [text[a:b] for a, b in zip(frame["start_char"], frame["end_char"])]
    a = write_qdpx([DOC], auto, book, tmp_path / "auto.qdpx")
    m = write_qdpx([DOC], manual, book, tmp_path / "manual.qdpx")
    auto.to_csv(tmp_path / "auto.csv", index=False)
    return a, m, tmp_path


def test_cli_agree_two_projects_prints_and_writes_tables(two_projects):
    a, m, tmp = two_projects
    result = CliRunner().invoke(main, ["agree", str(a), str(m), "--out", str(tmp / "accord")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "4 sentence unit(s); A = auto.qdpx, B = manual.qdpx"
    assert lines[2].split() == ["c.compet", "0", "1", "0", "3", "75.0", "0.000", "0.000"]
    assert lines[3].split() == ["v.coop", "1", "0", "1", "2", "75.0", "0.500", "0.533"]
    table = pd.read_csv(tmp / "accord" / "agreement.csv")
    assert table["code"].tolist() == ["c.compet", "v.coop", "(ensemble)"]
    confusion = pd.read_csv(tmp / "accord" / "confusion.csv")
    assert confusion.columns.tolist() == ["a \\ b", "c.compet", "v.coop", "(aucun)"]


def test_cli_agree_csv_against_project_and_errors(two_projects):
    a, m, tmp = two_projects
    runner = CliRunner()
    ok = runner.invoke(main, ["agree", str(tmp / "auto.csv"), str(m), "--level", "category"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[2].split()[:5] == ["c", "0", "1", "0", "3"]
    both_csv = runner.invoke(main, ["agree", str(tmp / "auto.csv"), str(tmp / "auto.csv")])
    assert both_csv.exit_code == 2
    assert "give --segments segments.csv for the sentences (or use --unit segment)" in both_csv.output
    seg = runner.invoke(main, ["agree", str(tmp / "auto.csv"), str(tmp / "auto.csv"), "--unit", "segment"])
    assert seg.exit_code == 0 and seg.output.splitlines()[0] == "2 segment unit(s); A = auto.csv, B = auto.csv"
    bad = tmp / "x.txt"
    bad.write_text("x", "utf-8")
    wrong = runner.invoke(main, ["agree", str(bad), str(m)])
    assert wrong.exit_code == 4
    assert wrong.output == f"Error: {bad}: expected a .qdpx project or a coded_segments.csv table\n"


def test_cli_agree_two_coders_of_one_project(tmp_path):
    from .test_import_qdpx import _foreign

    path = _foreign(tmp_path, s2=12, e2=21, ref="20000000-0000-4000-8000-000000000002")
    runner = CliRunner()
    result = runner.invoke(main, ["agree", str(path), str(path), "--coder-a", "alice", "--coder-b", "bruno"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2].split() == ["valeurs_ess.cooperation", "1", "0", "0", "1", "100.0", "1.000",
                                                     "1.000"]
    wrong = runner.invoke(main, ["agree", str(path), str(path), "--coder-a", "chloé"])
    assert wrong.exit_code == 2
    assert f"no coder 'chloé' in {path} (coders: alice, bruno)" in wrong.output


CRLF_TEXT = "Première ligne.\r\nLa coopération prime.\r\n\r\nSeconde partie : la compétitivité.\r\nFin."


def test_align_line_endings_maps_offsets_onto_the_lf_text():
    from ptce_nlp.agreement import align_line_endings

    lf = CRLF_TEXT.replace("\r\n", "\n")
    a = CRLF_TEXT.index("compétitivité")
    coded = pd.DataFrame({"doc_id": ["d"], "code_id": ["c"], "start_char": [a], "end_char": [a + 13],
                          "text": ["compétitivité"]})
    # with the source text known
    moved, warnings = align_line_endings(coded, {"d": lf}, source_texts={"d": CRLF_TEXT})
    assert warnings == [] and moved["start_char"].tolist() == [lf.index("compétitivité")]
    assert moved["text"].tolist() == ["compétitivité"]
    # from a CSV: the all-CRLF original is inferred and checked against the text column
    moved, warnings = align_line_endings(coded, {"d": lf})
    assert warnings == [] and moved["start_char"].tolist() == [lf.index("compétitivité")]
    # already aligned: untouched
    same, _ = align_line_endings(moved, {"d": lf})
    assert same["start_char"].tolist() == moved["start_char"].tolist()
    # another version of the text: a warning, offsets left as they are
    other, warnings = align_line_endings(coded, {"d": "Autre texte, sans rapport avec le premier du tout."})
    assert other["start_char"].tolist() == [a]
    assert warnings == ["document 'd': the coded texts do not match its text at their offsets (another version "
                        "of the document?); offsets are compared as they are"]


def test_cli_agree_when_the_tool_lost_the_line_endings(tmp_path):
    from lxml import etree

    from .export_helpers import rezip, zip_members

    doc = Document("d", CRLF_TEXT, "txt")
    book = Codebook.from_dict({"name": "t", "codes": [
        {"id": "v", "label": "V"}, {"id": "v.coop", "parent": "v", "label": "Coop", "lemmas": ["x"]},
        {"id": "c", "label": "C"}, {"id": "c.compet", "parent": "c", "label": "Compet", "lemmas": ["y"]}]},
        check_lemmas=False)
    rows = []
    for code, word in (("v.coop", "coopération"), ("c.compet", "compétitivité"), ("v.coop", "Fin")):
        a = CRLF_TEXT.index(word)
        rows.append(("d", "", code, code.split(".")[0], "", a, a + len(word), word, False, False))
    coded = pd.DataFrame(rows, columns=["doc_id", "segment_id", "code_id", "category", "term", "start_char",
                                        "end_char", "text", "negated", "contrast"])
    auto = write_qdpx([doc], coded, book, tmp_path / "auto.qdpx")
    coded.to_csv(tmp_path / "auto.csv", index=False)
    members = zip_members(auto)
    root = etree.fromstring(members["project.qde"])
    for el in root.iter("{urn:QDA-XML:project:1.0}Description"):
        el.getparent().remove(el)
    members["project.qde"] = etree.tostring(root)
    manual = rezip(members, tmp_path / "manual.qdpx")
    runner = CliRunner()
    for first in (auto, tmp_path / "auto.csv"):
        result = runner.invoke(main, ["agree", str(first), str(manual)])
        assert result.exit_code == 0, result.output
        overall = result.stdout.splitlines()[-1].split()
        assert overall == ["(ensemble)", "3", "0", "0", "5", "100.0", "1.000", "1.000"], result.stdout


# --------------------------------------------------------------------------- coded-segment tables checked row by row

def _bad_table(tmp, edit, *, sep: str = ",") -> "Path":
    table = pd.read_csv(tmp / "auto.csv", dtype=str, keep_default_na=False)
    table["text"] = table["text"].astype(object)
    table.loc[0, "text"] = "coopération\nsur deux lignes"  # a quoted field over two lines: line numbers still hold
    edit(table)
    path = tmp / "bad.csv"
    table.to_csv(path, index=False, sep=sep)
    return path


@pytest.mark.parametrize("edit, problem", [
    (lambda t: t.__setitem__("start_char", ["3", "-4"]), "line 4: start_char -4 is negative"),
    (lambda t: t.__setitem__("end_char", [t.loc[0, "end_char"], "2"]),
     "line 4: end_char 2 is before start_char {s1} (a reversed span)"),
    (lambda t: t.__setitem__("end_char", [t.loc[0, "end_char"], "100000"]),
     "line 4: span {s1}-100000 goes beyond the end of document 'd' ({n} characters)"),
    (lambda t: t.__setitem__("start_char", ["3", ""]), "line 4: start_char is empty"),
    (lambda t: t.__setitem__("end_char", [t.loc[0, "end_char"], "douze"]), "line 4: end_char 'douze' is not a whole number"),
    (lambda t: t.__setitem__("end_char", [t.loc[0, "end_char"], "1e3"]), "line 4: end_char '1e3' is not a whole number"),
    (lambda t: t.__setitem__("doc_id", ["d", " "]), "line 4: doc_id is empty"),
])
def test_cli_agree_refuses_a_coded_table_with_a_bad_row(two_projects, edit, problem):
    a, m, tmp = two_projects
    auto = pd.read_csv(tmp / "auto.csv")
    problem = problem.format(s1=auto.loc[1, "start_char"], n=len(DOC.text))
    for sep in (",", ";"):  # also the French-Excel form of the table
        bad = _bad_table(tmp, edit, sep=sep)
        result = CliRunner().invoke(main, ["agree", str(bad), str(m)])
        assert result.exit_code == 4, result.output
        assert result.output == f"Error: {bad}: {problem}\n"
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_agree_checks_tables_without_any_project(two_projects):
    a, m, tmp = two_projects
    bad = _bad_table(tmp, lambda t: t.__setitem__("start_char", ["3", "-4"]))
    for args in (["--unit", "segment"], ["--segments", str(tmp / "auto.csv")]):
        result = CliRunner().invoke(main, ["agree", str(tmp / "auto.csv"), str(bad), *args])
        assert result.exit_code == 4, result.output
        assert result.output == f"Error: {bad}: line 4: start_char -4 is negative\n"
    # several bad rows: the first is named, the others counted
    worse = _bad_table(tmp, lambda t: t.__setitem__("start_char", ["x", "-4"]))
    result = CliRunner().invoke(main, ["agree", str(worse), str(m)])
    assert result.output == f"Error: {worse}: line 2: start_char 'x' is not a whole number (and 1 more row with a " \
        "problem)\n"


def test_read_coding_table_gives_line_numbers_and_integer_offsets(two_projects):
    from ptce_nlp.agreement import read_coding_table
    from ptce_nlp.errors import TableRowError

    a, m, tmp = two_projects
    good = _bad_table(tmp, lambda t: None, sep=";")
    table = read_coding_table(good)
    assert table.index.tolist() == [2, 4] and table.index.name == "line"
    assert table["start_char"].dtype.kind == "i" and table["text"].iloc[0] == "coopération\nsur deux lignes"
    ragged = tmp / "ragged.csv"
    ragged.write_text("doc_id,code_id,start_char,end_char\nd,v.coop,3,14\nd,v.coop,3\n", "utf-8")
    with pytest.raises(TableRowError) as err:
        read_coding_table(ragged)
    assert str(err.value) == f"{ragged}: line 3: 3 fields where the header has 4"
    assert err.value.line == 3
