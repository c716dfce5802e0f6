"""Issue 13: the cyclic collector kept off what a run loads once (ptce_nlp._gc)."""

from __future__ import annotations

import gc
import subprocess
import sys

from click.testing import CliRunner

from ptce_nlp import _gc
from ptce_nlp.cli import main

from .conftest import CORPUS


def test_a_frozen_run_freezes_what_it_loads_and_hands_everything_back():
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    seen = {}

    @_gc.frozen
    def run():
        seen["start"] = gc.get_freeze_count()
        with _gc.loading():
            seen["threshold"] = gc.get_threshold()[0]
            table = [[i] for i in range(50_000)]  # a large structure made while loading
        seen["after"] = gc.get_freeze_count()
        return table

    table = run()
    assert seen["start"] > 0 and seen["threshold"] == 0
    assert seen["after"] >= seen["start"] + 50_000
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    assert len(table) == 50_000


def test_loading_outside_a_run_changes_nothing():
    thresholds = gc.get_threshold()
    with _gc.loading():
        assert gc.get_threshold() == thresholds
        _ = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0


def test_a_frozen_run_leaves_a_callers_freeze_alone():
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        seen = []
        _gc.frozen(lambda: seen.append(gc.get_freeze_count()))()
        with _gc.loading():
            _ = [[i] for i in range(1000)]
        assert seen == [count] and gc.get_freeze_count() == count
    finally:
        gc.unfreeze()


def test_the_script_freezes_its_process_and_the_cli_runner_does_not(tmp_path):
    result = CliRunner().invoke(main, ["code", str(CORPUS / "fiches"), "--out", str(tmp_path / "o"), "--coder",
                                       "lexicon", "--cache-dir", str(tmp_path / "c"), "-q"])
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == 0 and not _gc._active
    probe = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
             "from ptce_nlp.cli import main\n"
             "sys.argv = ['ptce-nlp', '--help']\n"
             "main()\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(CORPUS.parent), "PATH": ""})
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.stdout.strip().splitlines()[-1] == "frozen True"
