"""Bad input: one clear line naming the file and the reason, the batch goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ptce_nlp import errors
from ptce_nlp.cli import main
from ptce_nlp.corpus import read_corpus
from ptce_nlp.readers import read_file

from .helpers import TEXT, make_pdf


def _bad_files(tmp: Path) -> dict[str, tuple[Path, type, str]]:
    """name -> (path, expected exception, expected words of the reason)."""
    files: dict[str, tuple[Path, type, str]] = {}
    p = tmp / "vide.txt"
    p.write_bytes(b"")
    files["empty"] = (p, errors.EmptyFileError, "empty file")
    p = tmp / "blancs.md"
    p.write_bytes(b"  \n\n\t \n")
    files["blank"] = (p, errors.EmptyFileError, "only white space")
    p = tmp / "binaire.txt"
    p.write_bytes(bytes(range(256)) * 40)
    files["binary"] = (p, errors.NotTextError, "binary content")
    good_pdf = make_pdf(tmp / "complet.pdf")
    p = tmp / "tronque.pdf"
    p.write_bytes(good_pdf.read_bytes()[: good_pdf.stat().st_size // 2])
    files["truncated_pdf"] = (p, errors.CorruptFileError, "truncated PDF")
    good_pdf.unlink()
    p = tmp / "corrompu.pdf"
    p.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    files["corrupt_pdf"] = (p, errors.CorruptFileError, "corrupt PDF")
    p = make_pdf(tmp / "scan.pdf", text_layer=False)
    files["no_text_layer"] = (p, errors.NoTextLayerError, "no text layer, OCR needed")
    p = tmp / "pas_un_zip.docx"
    p.write_text("Ceci n'est pas un document Word.", encoding="utf-8")
    files["docx_not_zip"] = (p, errors.CorruptFileError, "not a valid .docx file (not a zip archive)")
    p = tmp / "faux.odt"
    p.write_bytes(b"PK\x03\x04 broken zip")
    files["odt_corrupt"] = (p, errors.CorruptFileError, "not a valid .odt file")
    p = tmp / "tableur.xyz"
    p.write_text("a;b;c", encoding="utf-8")
    files["unknown_ext"] = (p, errors.UnsupportedFormatError, "unsupported file type .xyz")
    p = tmp / "une_ligne.txt"
    with p.open("wb") as fh:  # 50 MB without a line break
        block = b"a" * (1 << 20)
        for _ in range(50):
            fh.write(block)
    files["no_line_break"] = (p, errors.FileTooLargeError, "without a line break")
    return files


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("bad")
    files = _bad_files(tmp)
    (tmp / "bon.txt").write_text(TEXT, encoding="utf-8")
    return tmp, files


@pytest.mark.parametrize("name", ["empty", "blank", "binary", "truncated_pdf", "corrupt_pdf", "no_text_layer",
                                  "docx_not_zip", "odt_corrupt", "unknown_ext", "no_line_break"])
def test_bad_input_named_error_with_file_and_reason(bad_dir, name):
    _, files = bad_dir
    path, exc_type, words = files[name]
    with pytest.raises(exc_type) as info:
        read_file(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    assert words in message
    assert "\n" not in message


def test_bad_input_unreadable_file(tmp_path, monkeypatch):
    p = tmp_path / "secret.txt"
    p.write_text(TEXT, encoding="utf-8")

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(errors.UnreadableFileError, match=r"secret\.txt: cannot read file \(Permission denied\)"):
        read_file(p)


def test_bad_input_oversized_file(tmp_path):
    p = tmp_path / "gros.txt"
    p.write_text(TEXT * 200, encoding="utf-8")
    with pytest.raises(errors.FileTooLargeError, match=r"over the 0.01 MB limit"):
        read_file(p, max_file_mb=0.01)


def test_bad_input_batch_goes_on(bad_dir):
    tmp, files = bad_dir
    corpus = read_corpus(tmp)
    assert [d.doc_id for d in corpus.documents] == ["bon"]
    assert sorted(Path(f.path).name for f in corpus.failures) == sorted(p.name for p, _, _ in files.values())


def test_bad_input_cli_lines_summary_exit_code(bad_dir, tmp_path):
    tmp, files = bad_dir
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ingest", str(tmp), "--out", str(out)])
    assert result.exit_code == 3, result.output
    err = result.stderr
    assert "Traceback" not in err
    for path, _, words in files.values():
        lines = [line for line in err.splitlines() if line.startswith(f"Error: {path}: ")]
        assert len(lines) == 1 and words in lines[0], (path, err)
    assert f"{len(files)} input(s) failed, the others were read:" in err
    assert (out / "documents.csv").read_text("utf-8").count("\n") == 2  # header + bon


def test_bad_input_cli_nothing_readable(tmp_path):
    (tmp_path / "vide.txt").write_bytes(b"")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ingest", str(tmp_path / "vide.txt"), "--out", str(out)])
    assert result.exit_code == 4
    assert "Error: no document could be read" in result.stderr
    assert not out.exists()


def test_bad_input_cli_missing_path_and_manifest_row(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "a.txt").write_text(TEXT, encoding="utf-8")
    (folder / "manifest.csv").write_text("doc_id,path,pole_type\na,a.txt,ptce\nb,absent.docx,ptce\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", str(folder), str(tmp_path / "nulle_part.pdf"),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 3
    assert f"Error: {folder / 'absent.docx'}: file not found (manifest.csv line 3)" in result.stderr
    assert f"Error: {tmp_path / 'nulle_part.pdf'}: no such file or folder" in result.stderr


def test_bad_input_console_script_prints_no_traceback(tmp_path):
    folder = tmp_path / "in"  # the output folder may not lie inside the input folder
    folder.mkdir()
    (folder / "binaire.txt").write_bytes(b"\x00\x01\x02" * 1000)
    (folder / "ok.md").write_text("# Titre\n\n" + TEXT, encoding="utf-8")
    exe = Path(sys.executable).with_name("ptce-nlp")
    proc = subprocess.run([str(exe), "ingest", str(folder), "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[0] == f"Error: {folder / 'binaire.txt'}: binary content (NUL bytes): not a text file"
    assert "Traceback" not in proc.stderr


def test_bad_input_usage_error_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["ingest", str(tmp_path)])
    assert result.exit_code == 2
    assert "Missing option '--out'" in result.stderr
