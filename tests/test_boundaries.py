"""Boundaries between inputs, outputs and the file system.

- an output (folder or file) may not be, hold, or lie inside an input: refused before anything is written (exit 2);
- manifest rows and folder links pointing outside the corpus folder are refused unless ``--allow-outside``;
  broken links and link loops are named;
- SIGTERM cleans up as Ctrl-C does (exit 143);
- a full disk, a quota, a read-only file system or a refused permission while writing is exit 5, previous outputs
  intact.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ptce_nlp import pipeline
from ptce_nlp.cli import main
from ptce_nlp.corpus import find_sources, read_corpus
from ptce_nlp.errors import OutputError, PathConflictError
from ptce_nlp.io import all_or_nothing, atomic_write, check_outputs, write_csv
from ptce_nlp.pipeline import REFERENCE_MODEL, run

from .helpers import TEXT
from .report_fixtures import CORPUS

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CODEBOOK = ROOT / "ptce_nlp" / "data" / "codebook_ptce.yaml"


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path below ``root`` with its bytes (None for folders and links), links not followed."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


# --------------------------------------------------------------------------- 1. outputs apart from inputs

@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A corpus folder ``c``, a codebook, an earlier run ``out`` holding a codebook and a model, and ``res`` holding
    inputs of other commands; the current folder is ``tmp_path`` (paths below are relative)."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text(TEXT, "utf-8")
    (tmp_path / "c" / "b.txt").write_text("Le cluster favorise l'innovation des entreprises.", "utf-8")
    (tmp_path / "c2").mkdir()
    (tmp_path / "c2" / "a.txt").write_text(TEXT, "utf-8")
    (tmp_path / "c2" / "manifest.csv").write_text("doc_id,path\na,a.txt\n", "utf-8")
    shutil.copy(SHIPPED_CODEBOOK, tmp_path / "book.yaml")
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("{}\n", "utf-8")
    (out / "report.html").write_text("<p>ancien rapport</p>", "utf-8")
    shutil.copy(SHIPPED_CODEBOOK, out / "x.yaml")
    (out / "cache").mkdir()
    res = tmp_path / "res"
    res.mkdir()
    (res / "t.csv").write_text(f"id,texte\n1,{TEXT}\n", "utf-8")
    shutil.copytree(REFERENCE_MODEL, res / "m")
    (res / "p.qdpx").write_bytes(b"PK not really a project")
    (res / "a.csv").write_text("doc_id,code_id,start_char,end_char\nd,x.y,0,4\n", "utf-8")
    (tmp_path / "b.csv").write_text("doc_id,code_id,start_char,end_char\nd,x.y,0,4\n", "utf-8")
    (tmp_path / "lien").symlink_to("c", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


CONFLICTS = {
    "ingest-out-is-input": (["ingest", "c", "--out", "c"], "c: the output folder is the input c; choose another --out"),
    "ingest-out-inside-input": (["ingest", "c", "--out", "c/res"],
                                "c/res: the output folder is inside the input c; choose another --out"),
    "ingest-out-holds-file": (["ingest", "c/a.txt", "--out", "c"],
                              "c: the output folder holds the input c/a.txt; choose another --out"),
    "ingest-out-holds-manifest": (["ingest", "c2/manifest.csv", "--out", "c2"],
                                  "c2: the output folder holds the input c2/manifest.csv; choose another --out"),
    "ingest-out-symlink-to-input": (["ingest", "c", "--out", "lien"],
                                    "lien: the output folder is the input c; choose another --out"),
    "ingest-relative-path": (["ingest", "c", "--out", "./c/sub/.."],
                             "c/sub/..: the output folder is the input c; choose another --out"),
    "code-codebook": (["code", "c", "--out", "out", "--codebook", "out/x.yaml"],
                      "out: the output folder holds the codebook out/x.yaml; choose another --out"),
    "code-cache": (["code", "c", "--out", "out", "--cache-dir", "out/cache"],
                   "out: the output folder holds the cache folder out/cache; choose another --out"),
    "code-from-table": (["code", "--from-table", "res/t.csv", "--id-col", "id", "--text-col", "texte", "--out", "res"],
                        "res: the output folder holds the input table res/t.csv; choose another --out"),
    "kwic-csv": (["kwic", "c", "--lemma", "pôle", "--csv", "c/a.txt"],
                 "c/a.txt: the output file is inside the input c; choose another --csv"),
    "topics-save-model": (["topics", "c", "--out", "res2", "--save-model", "c/modele"],
                          "c/modele: the output folder is inside the input c; choose another --save-model"),
    "closeness-model": (["closeness", "c", "--model", "res/m", "--out", "res"],
                        "res: the output folder holds the model res/m; choose another --out"),
    "export-qdpx": (["export", "c", "--format", "qdpx", "--out", "c/ptce.qdpx"],
                    "c/ptce.qdpx: the output file is inside the input c; choose another --out"),
    "export-qdc": (["export", "--format", "qdc", "--codebook", "book.yaml", "--out", "book.yaml"],
                   "book.yaml: the output file is the codebook book.yaml; choose another --out"),
    "export-csv-include-tables": (["export", "c", "--format", "csv", "--include-tables", "res", "--out", "res"],
                                  "res: the output folder is the tables folder res; choose another --out"),
    "import-qdpx": (["import-qdpx", "res/p.qdpx", "--out", "res"],
                    "res: the output folder holds the input project res/p.qdpx; choose another --out"),
    "agree": (["agree", "res/a.csv", "b.csv", "--unit", "segment", "--out", "res"],
              "res: the output folder holds the input res/a.csv; choose another --out"),
    "run-cache": (["run", "c", "--out", "out", "--cache-dir", "out/cache"],
                  "out: the output folder holds the cache folder out/cache; choose another --out"),
    "run-model": (["run", "c", "--out", "out", "--model", "out/cache"],
                  "out: the output folder holds the model out/cache; choose another --out"),
}


@pytest.mark.parametrize("argv, message", CONFLICTS.values(), ids=CONFLICTS.keys())
def test_cli_refuses_an_output_among_the_inputs(workspace, argv, message):
    before = _tree(workspace)
    result = CliRunner().invoke(main, argv)
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
    assert _tree(workspace) == before  # nothing written, nothing deleted


def test_cli_run_keeps_the_codebook_and_model_held_by_its_output_folder(workspace):
    """The data loss of the issue: the output folder of an earlier run holds the codebook and the model."""
    shutil.copytree(REFERENCE_MODEL, workspace / "out" / "m")
    before = _tree(workspace)
    result = CliRunner().invoke(main, ["run", "c", "--codebook", "out/x.yaml", "--model", "out/m", "--out", "out",
                                       "--quiet"])
    assert result.exit_code == 2
    assert result.stderr == "Error: out: the output folder holds the codebook out/x.yaml; choose another --out\n"
    assert _tree(workspace) == before


def test_cli_refuses_a_manifest_row_inside_the_output_folder(workspace):
    """With --allow-outside a manifest may name a file of the output folder: it is an input too."""
    (workspace / "out" / "doc.txt").write_text(TEXT, "utf-8")
    (workspace / "mc").mkdir()
    (workspace / "mc" / "manifest.csv").write_text("doc_id,path\nd,../out/doc.txt\n", "utf-8")
    before = _tree(workspace)
    result = CliRunner().invoke(main, ["run", "mc", "--out", "out", "--allow-outside"])
    assert result.exit_code == 2
    assert result.stderr == ("Error: out: the output folder holds the input mc/../out/doc.txt (manifest.csv line 2); "
                             "choose another --out\n")
    assert _tree(workspace) == before


def test_library_run_refuses_a_codebook_model_or_cache_in_its_output_folder(workspace):
    from ptce_nlp.codebook import Codebook

    for kwargs, what in (({"codebook": "out/x.yaml"}, "codebook out/x.yaml"),
                         ({"codebook": Codebook.from_yaml(Path("out/x.yaml"))}, "codebook out/x.yaml"),
                         ({"cache_dir": "out/cache"}, "cache folder out/cache"),
                         ({"model": Path("out/cache")}, "model out/cache")):
        with pytest.raises(PathConflictError, match=f"^out: the output folder holds the {what}; choose another"):
            run(["c"], "out", **kwargs)
    assert (workspace / "out" / "x.yaml").read_bytes() == SHIPPED_CODEBOOK.read_bytes()


def test_check_outputs_compares_resolved_paths_part_by_part(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "out", target_is_directory=True)
    check_outputs([("--out", tmp_path / "out2", "folder")], [("input", tmp_path / "out"), ("model", None)])
    check_outputs([("--out", None, "folder")], [("input", tmp_path / "out")])
    with pytest.raises(PathConflictError) as info:
        check_outputs([("--out", tmp_path / "alias" / "sub", "folder")], [("input", tmp_path / "out")])
    assert str(info.value) == (f"{tmp_path / 'alias' / 'sub'}: the output folder is inside the input "
                               f"{tmp_path / 'out'}; choose another --out")
    assert isinstance(info.value, OutputError)
    with pytest.raises(PathConflictError, match="holds the codebook"):
        check_outputs([("--out", tmp_path / "out" / ".." / "out", "folder")],
                      [("codebook", tmp_path / "alias" / "x.yaml")])


# --------------------------------------------------------------------------- 2. files outside the corpus folder

@pytest.fixture
def outside(tmp_path):
    """``corpus/`` with a manifest naming ``../secret.txt``, an absolute path and a link pointing out of it."""
    (tmp_path / "secret.txt").write_text("Mot de passe secret de la machine.", "utf-8")
    (tmp_path / "secret2.txt").write_text("Autre secret absolu.", "utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(TEXT, "utf-8")
    (corpus / "lien.txt").symlink_to(tmp_path / "secret.txt")
    (corpus / "manifest.csv").write_text(
        "doc_id,path\na,a.txt\ns,../secret.txt\nabs," + str(tmp_path / "secret2.txt") + "\nl,lien.txt\n", "utf-8")
    return corpus


def test_manifest_rows_outside_the_corpus_folder_are_refused(outside):
    sources, failures = find_sources([outside])
    assert [s.doc_id for s in sources] == ["a"]
    hint = "give --allow-outside (allow_outside=True) to read it"
    assert [(f.doc_id, str(f)) for f in failures] == [
        ("s", f"{outside / '../secret.txt'}: outside the folder of the manifest (manifest.csv line 3); {hint}"),
        ("abs", f"{outside.parent / 'secret2.txt'}: outside the folder of the manifest (manifest.csv line 4); {hint}"),
        ("l", f"{outside / 'lien.txt'}: outside the folder of the manifest (manifest.csv line 5); {hint}")]
    corpus = read_corpus(outside, allow_outside=True)
    assert [d.doc_id for d in corpus.documents] == ["a", "s", "abs", "l"] and corpus.failures == []


def test_cli_ingest_names_each_refused_row_and_goes_on(outside, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ingest", str(outside), "--out", str(out), "--quiet"])
    assert result.exit_code == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert [e.split(": ", 2)[1] for e in errors] == [str(outside / "../secret.txt"),
                                                     str(outside.parent / "secret2.txt"), str(outside / "lien.txt")]
    assert all("outside the folder of the manifest (manifest.csv line" in e for e in errors)
    assert list(pd.read_csv(out / "documents.csv")["doc_id"]) == ["a"]
    assert "secret" not in (out / "segments.csv").read_text("utf-8")
    result = CliRunner().invoke(main, ["ingest", str(outside), "--out", str(out), "--quiet", "--allow-outside"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert list(pd.read_csv(out / "documents.csv")["doc_id"]) == ["a", "s", "abs", "l"]


def test_pipeline_run_does_not_read_a_row_outside_the_corpus_folder(outside, tmp_path):
    stages = [("read", pipeline.stage_read)]
    res = run([outside], tmp_path / "out", stages=stages)
    assert [d.doc_id for d in res.documents] == ["a"]
    assert [f.doc_id for f in res.failures] == ["s", "abs", "l"]
    res = run([outside], tmp_path / "out", stages=stages, allow_outside=True)
    assert [d.doc_id for d in res.documents] == ["a", "s", "abs", "l"]


@pytest.fixture
def linked_folder(tmp_path):
    """A folder without manifest, with links: inside, outside, broken, loops, to a folder outside."""
    (tmp_path / "secret.txt").write_text("Mot de passe secret.", "utf-8")
    (tmp_path / "ailleurs").mkdir()
    (tmp_path / "ailleurs" / "x.txt").write_text("Texte d'ailleurs.", "utf-8")
    folder = tmp_path / "f"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(TEXT, "utf-8")
    (folder / "sub" / "b.txt").write_text(TEXT, "utf-8")
    (folder / "interne.txt").symlink_to("a.txt")
    (folder / "lien.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "casse.txt").symlink_to("nulle_part.txt")
    (folder / "boucle.txt").symlink_to("boucle.txt")
    (folder / "sub" / "retour").symlink_to("..", target_is_directory=True)
    (folder / "dehors").symlink_to(tmp_path / "ailleurs", target_is_directory=True)
    return folder


def test_folder_links_outside_broken_or_looping_are_named(linked_folder):
    f = linked_folder
    sources, failures = find_sources([f])
    assert [(s.doc_id, s.path) for s in sources] == [("a", f / "a.txt"), ("interne", f / "interne.txt"),
                                                     ("b", f / "sub" / "b.txt")]
    reasons = {Path(x.path).relative_to(f).as_posix(): x.reason for x in failures}
    assert reasons == {
        "boucle.txt": "symbolic link loop (-> boucle.txt)",
        "casse.txt": "broken symbolic link (-> nulle_part.txt, which does not exist)",
        "dehors": (f"symbolic link to {f.parent / 'ailleurs'}, outside the folder {f}; "
                   "give --allow-outside (allow_outside=True) to read it"),
        "lien.txt": (f"symbolic link to {f.parent / 'secret.txt'}, outside the folder {f}; "
                     "give --allow-outside (allow_outside=True) to read it"),
        "sub/retour": "symbolic link loop (-> .., a folder that holds it)"}
    sources, failures = find_sources([f], allow_outside=True)
    assert [s.doc_id for s in sources] == ["a", "x", "interne", "lien", "b"]
    assert sorted(Path(x.path).name for x in failures) == ["boucle.txt", "casse.txt", "retour"]


def test_cli_ingest_names_broken_links_and_loops(linked_folder, tmp_path):
    result = CliRunner().invoke(main, ["ingest", str(linked_folder), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 3
    errors = sorted(line for line in result.stderr.splitlines() if line.startswith("Error: "))
    assert [e.split(": ")[1] for e in errors] == [str(linked_folder / n) for n in
                                                  ("boucle.txt", "casse.txt", "dehors", "lien.txt", "sub/retour")]


def test_a_sub_folder_that_cannot_be_listed_is_named(linked_folder, monkeypatch):
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "sub":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    sources, failures = find_sources([linked_folder])
    assert [s.doc_id for s in sources] == ["a", "interne"]
    assert f"{linked_folder / 'sub'}: cannot list the folder (Permission denied)" in map(str, failures)


@pytest.mark.parametrize("command", ["ingest", "code", "kwic", "topics", "closeness", "export", "run"])
def test_every_command_reading_a_corpus_has_allow_outside(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "--allow-outside" in result.output


# --------------------------------------------------------------------------- 3. SIGTERM

def test_sigterm_during_run_cleans_up_like_ctrl_c(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name in ("ptce/re_sources.txt", "clusters/cluster_lumiere.txt", "poles_competitivite/lyonbiopole.txt"):
        shutil.copy(CORPUS / "fiches" / name, corpus)
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("{}\n", "utf-8")
    (out / "report.html").write_text("<p>ancien rapport</p>", "utf-8")
    before = _tree(out)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", "from ptce_nlp.cli import main; main()", "run", str(corpus),
                             "--out", str(out), "--quiet", "--no-cache"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".out.tmp-*")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.02)
        time.sleep(0.3)  # inside the stages
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert stderr.splitlines()[-1] == "Error: terminated (SIGTERM); no partial output was left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "out"]  # no .out.tmp-* nor .out.old-*
    assert _tree(out) == before


def test_cli_puts_the_previous_sigterm_handler_back(tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    CliRunner().invoke(main, ["ingest", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")])
    assert signal.getsignal(signal.SIGTERM) is previous


# --------------------------------------------------------------------------- 4. full disk, quota, read-only

@pytest.fixture
def ingested(tmp_path):
    folder = tmp_path / "fiches"
    folder.mkdir()
    (folder / "a.txt").write_text(TEXT, "utf-8")
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["ingest", str(folder), "--out", str(out)]).exit_code == 0
    return folder, out


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES])
def test_cli_ingest_disk_full_is_exit_5_and_keeps_previous_outputs(ingested, monkeypatch, code):
    folder, out = ingested
    before = _tree(out)
    (folder / "b.txt").write_text("Un autre texte sur le pôle.", "utf-8")
    real_to_csv = pd.DataFrame.to_csv
    calls = []

    def full(self, fh, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # documents.csv is written, then the disk is full in segments.csv
            real_to_csv(self.head(1), fh, *args, **kwargs)
            raise OSError(code, os.strerror(code))
        return real_to_csv(self, fh, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    result = CliRunner().invoke(main, ["ingest", str(folder), "--out", str(out), "--quiet"])
    assert (result.exit_code, result.stderr) == (5, f"Error: {out / 'segments.csv'}: cannot write here "
                                                    f"({os.strerror(code)})\n")
    assert _tree(out) == before  # documents.csv not replaced either, no temporary file left


def test_cli_run_disk_full_is_exit_5_names_the_output_folder(tmp_path, monkeypatch):
    folder = tmp_path / "fiches"
    folder.mkdir()
    (folder / "a.txt").write_text(TEXT, "utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("{}\n", "utf-8")
    monkeypatch.setattr(pipeline, "STAGES", [("read", pipeline.stage_read), ("tables", pipeline.stage_tables)])

    def full(self, fh, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    result = CliRunner().invoke(main, ["run", str(folder), "--out", str(out), "--quiet", "--no-cache"])
    assert (result.exit_code, result.stderr) == (5, f"Error: {out / 'documents.csv'}: cannot write here "
                                                    "(No space left on device)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fiches", "out"]
    assert [p.name for p in out.iterdir()] == ["run.json"]


def test_cli_write_error_outside_atomic_write_is_exit_5(tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_text("doc_id,code_id,start_char,end_char\nd,x.y,0,4\n", "utf-8")

    def full(frame, path, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("ptce_nlp.io.write_csv", full)
    out = tmp_path / "accord"
    result = CliRunner().invoke(main, ["agree", str(tmp_path / "a.csv"), str(tmp_path / "a.csv"), "--unit", "segment",
                                       "--out", str(out)])
    assert result.exit_code == 5
    assert result.stderr.splitlines() == [f"Error: {out / 'agreement.csv'}: cannot write here (No space left on "
                                          "device)"]


def test_atomic_write_turns_only_output_errors_into_output_error(tmp_path):
    target = tmp_path / "t.txt"
    with pytest.raises(OutputError, match=r"t.txt: cannot write here \(Disk quota exceeded\)"):
        with atomic_write(target) as fh:
            fh.write("x")
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
    with pytest.raises(PermissionError):  # reading an input inside the block is not an output error
        with atomic_write(target):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "input.txt"))
    assert list(tmp_path.iterdir()) == []


def test_all_or_nothing_replaces_every_file_or_none(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("old a", "utf-8")
    b.write_text("old b", "utf-8")
    frame = pd.DataFrame({"x": [1]})
    with pytest.raises(KeyboardInterrupt):
        with all_or_nothing():
            write_csv(frame, a)
            assert a.read_text("utf-8") == "old a"  # not yet
            raise KeyboardInterrupt
    assert (a.read_text("utf-8"), b.read_text("utf-8")) == ("old a", "old b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]
    with all_or_nothing():
        write_csv(frame, a)
        write_csv(frame, b)
    assert a.read_text("utf-8") == b.read_text("utf-8") == "x\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_all_or_nothing_removes_the_folders_it_made_when_it_fails(tmp_path):
    """A run stopped before its end (SIGTERM, Ctrl-C) leaves no empty output folder behind; a folder that was
    there, or that holds something else, stays."""
    out = tmp_path / "new" / "out"
    with pytest.raises(KeyboardInterrupt):
        with all_or_nothing():
            with atomic_write(out / "a.csv") as fh:
                fh.write("x\n")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    with pytest.raises(KeyboardInterrupt):
        with all_or_nothing():
            with atomic_write(tmp_path / "kept" / "sub" / "a.csv") as fh:
                fh.write("x\n")
            (tmp_path / "kept" / "sub" / "other.txt").write_text("not ours", "utf-8")
            raise KeyboardInterrupt
    assert [p.name for p in (tmp_path / "kept" / "sub").iterdir()] == ["other.txt"]
    with all_or_nothing():
        with atomic_write(out / "a.csv") as fh:
            fh.write("x\n")
    assert (out / "a.csv").read_text("utf-8") == "x\n"


def test_sigterm_handled_inside_a_gc_callback_is_not_lost():
    """Python ignores an exception raised in a garbage-collector callback (Dask's client registers one): a SIGTERM
    that lands there is sent again, so the command still stops with Terminated (exit 143), not at its end."""
    import gc

    from ptce_nlp.cli import _terminate_cleanly
    from ptce_nlp.errors import Terminated

    previous = _terminate_cleanly()
    sent = []

    def callback(phase, info):
        if phase == "start" and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000):  # the handler runs here, inside the callback
                pass

    gc.callbacks.append(callback)
    try:
        with pytest.raises(Terminated):
            gc.collect()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        gc.callbacks.remove(callback)
        signal.signal(signal.SIGTERM, previous)
    assert sent
