"""The ingest command: outputs, progress, atomic writes, exit codes, help."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from ptce_nlp import __version__
from ptce_nlp.cli import main

from .helpers import TEXT


@pytest.fixture
def small_corpus(tmp_path):
    folder = tmp_path / "fiches"
    folder.mkdir()
    (folder / "a.txt").write_text("Identité\n\n" + TEXT + " Une deuxième phrase ici.", encoding="utf-8")
    (folder / "b.md").write_text("# Le pôle\n\nLe pôle coopère. Il mutualise.\n", encoding="utf-8")
    return folder


def test_cli_ingest_writes_documents_and_segments(small_corpus, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ingest", str(small_corpus), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    docs = pd.read_csv(out / "documents.csv", keep_default_na=False)
    assert list(docs.columns) == ["doc_id", "path", "format", "pole", "pole_type", "genre", "region", "year",
                                  "source", "encoding", "n_chars", "n_words", "n_paragraphs", "n_sentences"]
    assert docs[["doc_id", "format", "encoding", "n_paragraphs", "n_sentences"]].values.tolist() == [
        ["a", "txt", "utf-8", 2, 4], ["b", "md", "utf-8", 2, 3]]
    assert docs.loc[1, "n_words"] == 7
    segs = pd.read_csv(out / "segments.csv", keep_default_na=False)
    assert list(segs.columns) == ["doc_id", "segment_id", "kind", "parent_id", "start_char", "end_char", "text"]
    originals = {"a": (small_corpus / "a.txt").read_text("utf-8"), "b": (small_corpus / "b.md").read_text("utf-8")}
    for row in segs.itertuples():
        assert originals[row.doc_id][row.start_char:row.end_char] == row.text
    assert "Read 2 document(s): 4 paragraphs, 7 sentences." in result.stderr


def test_cli_ingest_interrupted_leaves_previous_outputs_intact(small_corpus, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["ingest", str(small_corpus), "--out", str(out)]).exit_code == 0
    before = (out / "segments.csv").read_bytes()

    real_to_csv = pd.DataFrame.to_csv

    def interrupted(self, fh, *args, **kwargs):
        real_to_csv(self.head(1), fh, *args, **kwargs)  # part of the file is written...
        raise KeyboardInterrupt  # ...then Ctrl-C

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    (small_corpus / "c.txt").write_text(TEXT, encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", str(small_corpus), "--out", str(out)])
    assert result.exit_code == 130
    assert "Error: interrupted; no partial output was left behind" in result.stderr
    assert (out / "segments.csv").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["documents.csv", "segments.csv"]  # no temp file left


def test_cli_output_folder_not_writable(small_corpus, tmp_path):
    blocker = tmp_path / "fichier"
    blocker.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", str(small_corpus), "--out", str(blocker / "out")])
    assert result.exit_code == 5
    assert result.stderr.startswith(f"Error: {blocker / 'out' / 'documents.csv'}: cannot write here")


def test_cli_help_and_version():
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0 and "ingest" in result.output and "Exit codes:" in result.output
    result = runner.invoke(main, ["ingest", "--help"])
    assert result.exit_code == 0
    assert "ptce-nlp ingest corpus --out out" in result.output and "3    some inputs failed" in result.output
    result = runner.invoke(main, ["--version"])
    assert result.output.strip() == f"ptce-nlp, version {__version__}"
