"""The code and kwic commands: outputs, tables, bad input, exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from ptce_nlp.cli import main


@pytest.fixture
def fiches(tmp_path):
    folder = tmp_path / "fiches"
    folder.mkdir()
    (folder / "a.txt").write_text("Le pôle mutualise des locaux.\n\nLe chantier d'insertion accueille des salariés.\n",
                                  encoding="utf-8")
    (folder / "b.md").write_text("# Cluster\n\nLe pôle vise la compétitivité à l’international.\n", encoding="utf-8")
    return folder


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_code_writes_coded_segments_and_counts(fiches, tmp_path):
    out = tmp_path / "out"
    result = _run("code", fiches, "--out", out, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    coded = pd.read_csv(out / "coded_segments.csv", keep_default_na=False)
    assert set(coded.columns) >= {"doc_id", "segment_id", "code_id", "category", "term", "start_char", "end_char",
                                  "text", "negated", "contrast"}
    texts = {"a": (fiches / "a.txt").read_text("utf-8"), "b": (fiches / "b.md").read_text("utf-8")}
    for row in coded.itertuples():
        assert texts[row.doc_id][row.start_char:row.end_char] == row.text
    assert {"valeurs_ess.mutualisation", "valeurs_ess.insertion", "discours_cluster.competitivite"} <= set(
        coded["code_id"])
    counts = pd.read_csv(out / "code_counts.csv", keep_default_na=False)
    row = counts[(counts.doc_id == "a") & (counts.code_id == "valeurs_ess")].iloc[0]
    assert row["n"] == 2 and row["level"] == "category"
    assert "Coded 2 document(s)" in result.output


def test_cli_code_from_table_keeps_metadata_and_skips_empty_cells(tmp_path):
    table = tmp_path / "reponses.jsonl"
    rows = [{"id": "r1", "texte": "Nous mutualisons un local.", "pole": "P1"},
            {"id": "r2", "texte": "", "pole": "P2"},
            {"id": "r3", "texte": 12, "pole": "P3"}]
    table.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    result = _run("code", "--from-table", table, "--id-col", "id", "--text-col", "texte", "--out", out,
                  "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert f"Warning: {table}: row 2: empty or non-text cell in 'texte', skipped" in result.output
    assert f"Warning: {table}: row 3: empty or non-text cell in 'texte', skipped" in result.output
    coded = pd.read_csv(out / "coded_segments.csv", keep_default_na=False)
    assert coded[["doc_id", "code_id", "start_char", "end_char", "text"]].values.tolist() == [
        ["r1", "valeurs_ess.mutualisation", 5, 16, "mutualisons"]]
    counts = pd.read_csv(out / "code_counts.csv", keep_default_na=False)
    assert set(counts["pole"]) == {"P1"}


def test_cli_code_table_without_the_column_lists_the_columns(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("id,contenu\n1,Le pôle coopère.\n", encoding="utf-8")
    result = _run("code", "--from-table", table, "--id-col", "id", "--text-col", "texte", "--out", tmp_path / "o")
    assert result.exit_code == 4
    assert result.output.strip() == f"Error: {table}: no column 'texte'; the columns are 'id', 'contenu'"
    assert not (tmp_path / "o").exists()


def test_cli_code_bad_codebook_lists_problems(fiches, tmp_path):
    book = tmp_path / "cb.yaml"
    book.write_text("codes:\n  - id: a\n    label: A\n  - id: a.b\n    parent: z\n    label: B\n    lemmas: [x]\n",
                    encoding="utf-8")
    result = _run("code", fiches, "--codebook", book, "--out", tmp_path / "o")
    assert result.exit_code == 4
    assert result.output.startswith(f"Error: {book}: 2 problems in the codebook")
    assert "unknown parent 'z'" in result.output
    assert "Traceback" not in result.output


def test_cli_kwic_prints_concordance_and_writes_csv(fiches, tmp_path):
    csv = tmp_path / "kwic.csv"
    result = _run("kwic", fiches, "--code", "valeurs_ess.insertion", "--window", "2", "--csv", csv,
                  "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert ". Le [chantier d'insertion] accueille des" in result.output  # the longest pattern of the code
    table = pd.read_csv(csv, keep_default_na=False)
    assert table[["left", "keyword", "right"]].values.tolist() == [[". Le", "chantier d'insertion", "accueille des"]]


def test_cli_kwic_unknown_code_suggests_close_matches(fiches, tmp_path):
    result = _run("kwic", fiches, "--code", "valeurs_ess.insersion")
    assert result.exit_code == 4
    assert result.output.strip().startswith("Error: unknown code 'valeurs_ess.insersion'; did you mean "
                                            "valeurs_ess.insertion")


def test_cli_kwic_needs_exactly_one_target(fiches):
    result = _run("kwic", fiches)
    assert result.exit_code == 2
    assert "give exactly one of --code, --category or --lemma" in result.output
