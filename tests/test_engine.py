"""The Dask engine (issue 13 §3): parsing on a real cluster of worker processes gives the outputs of a
single-process run, byte for byte; a worker killed mid-batch loses nothing; an unreachable scheduler is one
line and exit code 4.

One ``local:2`` cluster (a LocalCluster of two worker processes on 127.0.0.1, one thread each) serves the
module; the CLI tests join it by its scheduler address, as a user joins a cluster started elsewhere.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from ptce_nlp.analysis import code_documents, parse_documents
from ptce_nlp.codebook import Codebook
from ptce_nlp.corpus import read_corpus
from ptce_nlp.engine import DaskEngine, parse_spec, using
from ptce_nlp.errors import DaskSpecError, SchedulerUnreachableError
from ptce_nlp.pipeline import run

from .conftest import CORPUS
from .test_determinism import _snapshot

FILES = ["fiches/ptce/re_sources.txt", "fiches/ptce/pollens.txt", "fiches/clusters/cluster_lumiere.txt",
         "fiches/poles_competitivite/axelera.md"]
CLI = [sys.executable, "-m", "ptce_nlp.cli"]


@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dask_docs")
    for name in FILES:
        shutil.copy(CORPUS / name, folder / Path(name).name)
    return folder


@pytest.fixture(scope="module")
def engine():
    import psutil

    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    eng = DaskEngine.connect("local:2")
    workers = [p for p in _processes(me) if p.pid not in before]
    assert len(eng.client.scheduler_info()["workers"]) == 2
    yield eng
    eng.close()
    gone, alive = psutil.wait_procs([p for p in workers if p.is_running()], timeout=20)
    assert alive == [], "the local cluster left processes behind"


def _processes(parent) -> list:
    """The live descendants of a process, but multiprocessing's resource tracker (it lives as long as its
    parent, whatever the cluster does)."""
    import psutil

    out = []
    for p in parent.children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and not any("resource_tracker" in a for a in p.cmdline()):
                out.append(p)
        except psutil.Error:  # gone meanwhile
            pass
    return out


@pytest.fixture(scope="module")
def reference(docs_dir, tmp_path_factory):
    """The single-process run: outputs and tables."""
    out = tmp_path_factory.mktemp("ref") / "out"
    result = run([docs_dir], out, seed=0, use_cache=False)
    return out, result


def test_spec_local_or_address():
    assert parse_spec("local:3") == ("local", 3)
    assert parse_spec("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "10.0.0.5", "http://host:8786", "tcp://host", ""):
        with pytest.raises(DaskSpecError):
            parse_spec(bad)


def test_batches_cover_every_text_once_in_order():
    eng = DaskEngine(None, "tcp://x:1", batch_texts=4, batch_chars=100)
    texts = ["a" * n for n in (10, 200, 30, 30, 30, 30, 30, 5, 5, 5, 5, 5, 5)]
    ranges = eng.batches(texts, n_workers=1)
    assert [i for r in ranges for i in r] == list(range(len(texts)))
    assert all(len(r) <= 4 for r in ranges)
    assert all(sum(len(texts[i]) for i in r) <= 100 or len(r) == 1 for r in ranges)
    assert [len(r) for r in eng.batches(["x"] * 6, n_workers=3)] == [1] * 6  # every worker gets work


def test_run_on_dask_writes_the_outputs_of_a_single_process_run(engine, docs_dir, reference, tmp_path):
    ref_out, _ = reference
    out, cache = ref_out.parent / "dask_out", tmp_path / "cache"
    before = dict(engine.stats)
    with using(engine):
        result = run([docs_dir], out, seed=0, cache_dir=cache)
    files, settings, how = _snapshot(out)
    ref_files, ref_settings, _ = _snapshot(ref_out)
    settings["settings"]["sortie"] = ref_settings["settings"]["sortie"]
    for name in ("report.html",):  # the output folder's name is shown in the report's settings
        files[name] = files[name].replace(str(out).encode(), str(ref_out).encode())
    assert files.keys() == ref_files.keys() and len(files) > 20
    assert [f for f in files if files[f] != ref_files[f]] == []
    assert settings == ref_settings
    assert how["parsed"] == len(FILES)
    assert engine.stats["texts"] - before["texts"] == len(FILES)
    assert engine.stats["batches"] - before["batches"] >= 2  # both workers had work
    # the workers wrote the parse cache (the folder is shared: same machine)
    assert engine.stats["cache_written_by_workers"] - before["cache_written_by_workers"] == len(FILES)
    assert len([f for f in (cache / "tokens").rglob("*") if f.is_file()]) == len(FILES)
    documents = [p.document for p in result.coding.parsed]
    with using(engine):  # warm: nothing is sent to the cluster
        _, stats = parse_documents(documents, cache_dir=cache)
    assert stats["cached"] == len(FILES) and stats["damaged"] == 0
    assert engine.stats["texts"] - before["texts"] == len(FILES)


def _code_killing_the_first_worker(engine, documents, markers: Path):
    """``code_documents`` on ``engine``, the worker that starts the first batch killed (SIGKILL) in the middle of
    it: ``(result, killed pids)``."""
    markers.mkdir()
    killed = []

    def kill_first_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            started = sorted(markers.iterdir(), key=lambda p: p.stat().st_mtime)
            if started:
                pid = int(started[0].name.split("-")[0])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_first_worker, daemon=True)
    engine.pause = (str(markers), 2.0)
    try:
        watcher.start()
        with using(engine):
            result = code_documents(documents, Codebook.shipped(), use_cache=False)
    finally:
        engine.pause = None
        watcher.join(5)
    return result, killed


def test_a_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(engine, docs_dir, reference, tmp_path):
    _, ref = reference
    documents = read_corpus([docs_dir]).documents
    markers = tmp_path / "markers"
    before = dict(engine.stats)
    result, killed = _code_killing_the_first_worker(engine, documents, markers)
    assert killed, "no worker started a batch"
    assert len(list(markers.iterdir())) > len(FILES)  # the killed worker's batch was started again elsewhere
    assert engine.stats["texts"] - before["texts"] == len(FILES)
    assert engine.stats["coded_by_workers"] - before["coded_by_workers"] == len(FILES)
    pd.testing.assert_frame_equal(result.coded, ref.tables["coded_segments"].reset_index(drop=True),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(result.counts, ref.tables["code_counts"].reset_index(drop=True),
                                  check_dtype=False)
    deadline = time.monotonic() + 60  # the nanny restarts the worker for the next tests
    while len(engine.client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)


def test_the_only_worker_killed_mid_batch_is_restarted_and_the_batch_retried(docs_dir, reference, tmp_path):
    """Nothing a batch needs lives on one worker only: with a single worker killed mid-batch (its nanny starts
    another), the batch is retried and the results are whole. (A codebook scattered to the workers was lost
    with the worker that held it: the run stopped, "connection lost ... already forgotten".)"""
    _, ref = reference
    documents = read_corpus([docs_dir]).documents
    with DaskEngine.connect("local:1") as single:
        result, killed = _code_killing_the_first_worker(single, documents, tmp_path / "markers")
    assert killed
    pd.testing.assert_frame_equal(result.coded, ref.tables["coded_segments"].reset_index(drop=True),
                                  check_dtype=False)


def test_cli_code_on_a_scheduler_address(engine, docs_dir, reference, tmp_path):
    ref_out, _ = reference
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = subprocess.run([*CLI, "code", str(docs_dir), "--out", str(out), "--cache-dir", str(cache), "-q",
                           "--dask", engine.address], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for name in ("coded_segments.csv", "code_counts.csv", "coded_sentences.csv"):
        assert (out / name).read_bytes() == (ref_out / name).read_bytes(), name


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_unreachable_scheduler_is_one_line_exit_4_nothing_written(docs_dir, tmp_path):
    port = _closed_port()
    out, cache = tmp_path / "out", tmp_path / "cache"
    start = time.monotonic()
    proc = subprocess.run([*CLI, "run", str(docs_dir), "--out", str(out), "--cache-dir", str(cache),
                           "--dask", f"tcp://127.0.0.1:{port}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4
    assert proc.stderr == f"Error: dask scheduler tcp://127.0.0.1:{port}: unreachable (connection refused on port {port})\n"
    assert not out.exists() and not cache.exists()
    assert time.monotonic() - start < 30


def test_a_port_that_never_answers_times_out(docs_dir, tmp_path):
    """A port that accepts connections but is not a scheduler: distributed alone would wait for ever."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        env = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
        proc = subprocess.run([*CLI, "code", str(docs_dir), "--out", str(tmp_path / "out"), "--dask", address],
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 4
        assert proc.stderr == f"Error: dask scheduler {address}: unreachable (no Dask scheduler answered within 1 s)\n"
        assert not (tmp_path / "out").exists()
        with pytest.raises(SchedulerUnreachableError, match="within 0.5 s"):
            DaskEngine.connect(address, timeout=0.5)


def test_cli_bad_dask_value_is_a_usage_error(docs_dir, tmp_path):
    proc = subprocess.run([*CLI, "code", str(docs_dir), "--out", str(tmp_path / "out"), "--dask", "local:zero"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Invalid value for '--dask'" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_worker_with_another_pipeline_refuses_the_batch():
    """A worker with another spaCy, model or toolkit version would give other parses: it says which differs."""
    from ptce_nlp.engine import parse_batch
    from ptce_nlp.errors import DaskError
    from ptce_nlp.nlp import pipeline_settings

    client_settings = {**pipeline_settings(), "model_version": "3.7.0"}
    with pytest.raises(DaskError, match=r"model_version '3\.8\.0' != '3\.7\.0'"):
        parse_batch(["Le pôle coopère."], client_settings, False, None)


def test_sigterm_during_a_local_cluster_run_leaves_no_process_and_no_output(docs_dir, tmp_path):
    """SIGTERM while local:2 starts: exit 143, the usual line only, no process left, nothing written."""
    import psutil

    out = tmp_path / "out"
    proc = subprocess.Popen([*CLI, "code", str(docs_dir), "--out", str(out), "--cache-dir", str(tmp_path / "c"),
                             "-q", "--dask", "local:2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        parent = psutil.Process(proc.pid)
        deadline, family = time.monotonic() + 120, []
        while time.monotonic() < deadline and len(family) < 2:  # the two workers (the nannies are in the client)
            family = _processes(parent)
            time.sleep(0.2)
        assert len(family) == 2, family
        time.sleep(0.3)  # the cluster is still starting: distributed alone printed tracebacks at exit
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143
    assert stderr.strip().splitlines()[-1] == "Error: terminated (SIGTERM); no partial output was left behind"
    _, alive = psutil.wait_procs(family, timeout=20)
    assert alive == [] and not out.exists()


def test_workers_clean_parse_and_code_the_client_only_merges(engine, docs_dir, reference, tmp_path, monkeypatch):
    """Issue 13 §3: the workers code; the client codes nothing (its coder would fail) and merges in order."""
    from ptce_nlp import analysis
    from ptce_nlp.cache import CleanCache

    _, ref = reference
    documents = read_corpus([docs_dir]).documents

    def no_coding_here(self, p):
        raise AssertionError("the client coded a document the workers were given")

    monkeypatch.setattr(analysis._DocumentCoder, "rows", no_coding_here)
    monkeypatch.setattr(analysis, "clean_text", lambda text: pytest.fail("the client cleaned a document"))
    cache = tmp_path / "cache"
    before = dict(engine.stats)
    with using(engine):
        result = code_documents(documents, Codebook.shipped(), cache_dir=cache)
    assert engine.stats["coded_by_workers"] - before["coded_by_workers"] == len(FILES)
    # the workers saw the client's folder: they wrote the cleaned texts and parses, and sent back neither
    assert engine.stats["cache_written_by_workers"] - before["cache_written_by_workers"] == len(FILES)
    assert all(CleanCache(cache).get(d.text) is not None for d in documents)
    assert not list(cache.glob(".ptce-dask-*"))  # the run's marker is gone
    pd.testing.assert_frame_equal(result.coded, ref.tables["coded_segments"].reset_index(drop=True),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(result.counts, ref.tables["code_counts"].reset_index(drop=True),
                                  check_dtype=False)
    monkeypatch.undo()
    # later stages read the parses back from the cache: the same as the single-process run's
    for p, q in zip(result.parsed, ref.coding.parsed):
        assert p.clean.text == q.clean.text and p.tokens.to_bytes() == q.tokens.to_bytes()
        assert p.segments == q.segments


def test_a_worker_that_does_not_see_the_cache_sends_the_parse_back(tmp_path):
    """code_batch without the client's marker (another machine, no shared folder): nothing written there,
    the cleaned text and the parse come back; with the marker: written, nothing comes back."""
    from ptce_nlp import __version__
    from ptce_nlp.analysis import ParsedDocument, _DocumentCoder
    from ptce_nlp.clean import clean_text
    from ptce_nlp.engine import code_batch
    from ptce_nlp.nlp import pipeline_settings
    from ptce_nlp.tokens import TokenArrays
    from ptce_nlp.types import Document

    documents = [Document("a", "Le pôle mutualise ses moyens\r\nau service du territoire.", {}),
                 Document("b", "Une coopération entre entreprises et associations de l'ESS.", {"pole": "x"})]
    book = Codebook.shipped()
    settings = {**pipeline_settings(), "ptce_nlp": __version__}
    cache = tmp_path / "cache"
    cache.mkdir()
    away = code_batch(documents, book, ("run1", str(cache / ".ptce-dask-absent"), settings, False, False))
    assert not any(cache.iterdir())
    coder = _DocumentCoder(book)
    for d, res in zip(documents, away):
        clean = clean_text(d.text)
        assert res.clean[0] == clean.text and list(res.clean[1]) == list(clean.starts)
        tokens = TokenArrays.from_bytes(res.tokens)
        assert res.rows == coder.rows(ParsedDocument(d, clean, None, tokens)) and res.rows
    (cache / ".ptce-dask-run2").touch()
    shared = code_batch(documents, book, ("run2", str(cache / ".ptce-dask-run2"), settings, False, False))
    assert [r.tokens for r in shared] == [None, None] and [r.clean for r in shared] == [None, None]
    assert [r.rows for r in shared] == [r.rows for r in away]
    assert len([f for f in (cache / "tokens").rglob("*") if f.is_file()]) == 2
    with pytest.raises(Exception, match=r"ptce_nlp '[^']+' != '0\.0'"):
        code_batch(documents, book, ("run3", None, {**settings, "ptce_nlp": "0.0"}, False, False))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, started as a user starts them."""
    dask_cli = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask_logs")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([*dask_cli, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=open(logs / "scheduler.log", "w"), env=env)]
    try:
        for n in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=open(logs / f"worker{n}.log", "w"),
                                          env=env))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.parametrize("command", ["code", "run"])
def test_cli_on_a_real_scheduler_and_two_workers(real_cluster, command, docs_dir, reference, tmp_path):
    ref_out, _ = reference
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = subprocess.run([*CLI, command, str(docs_dir), "--out", str(out), "--cache-dir", str(cache), "-q",
                           "--dask", real_cluster], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    names = ["coded_segments.csv", "code_counts.csv", "coded_sentences.csv"]
    if command == "run":
        names = sorted(p.name for p in ref_out.glob("*.csv"))
        assert len(names) > 10
    for name in names:
        assert (out / name).read_bytes() == (ref_out / name).read_bytes(), name
    assert len([f for f in (cache / "tokens").rglob("*") if f.is_file()]) == len(FILES)


def test_cli_export_on_a_scheduler_address(engine, docs_dir, tmp_path):
    """`export` takes --dask too: the same files as without it (the workers code)."""
    outs = {}
    for how, extra in (("dask", ["--dask", engine.address]), ("alone", [])):
        out = tmp_path / how
        proc = subprocess.run([*CLI, "export", str(docs_dir), "--format", "csv", "--out", str(out), "-q",
                               "--cache-dir", str(tmp_path / f"cache_{how}"), *extra],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        outs[how] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert outs["dask"] == outs["alone"] and len(outs["dask"]) == 3
