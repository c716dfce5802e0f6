"""The cyclic garbage collector kept off what a run loads once and keeps (issue 13).

A full collection walks every object the collector tracks. A run holds a few large structures for its whole
length (modules, the codebook, the spaCy model and its lemmatizer's tables: some 800,000 lists and tuples), and
each full collection walked them again: 0.7 s of a first run of 340,000 tokens, a tenth of a warm re-code.
:func:`frozen` moves what is alive when a run starts out of the collector's way (:func:`gc.freeze`), and
:func:`loading` what it loads later; everything is handed back when the run returns (a process that ends with
its run keeps them frozen: :func:`freeze_process`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from typing import Callable, Iterator

_active = False


def frozen(function: Callable) -> Callable:
    """Run ``function`` with the objects alive when it starts (modules, the documents, the codebook) frozen, as
    long as no one else froze any (then nothing is done); they are unfrozen when it returns."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        global _active
        if _active or gc.get_freeze_count():
            return function(*args, **kwargs)
        gc.freeze()
        _active = True
        try:
            return function(*args, **kwargs)
        finally:
            _active = False
            gc.unfreeze()

    return run


def freeze_process() -> None:
    """For a process that ends with its run (the ``ptce-nlp`` script): freeze what is alive now, and what
    :func:`loading` loads later, for good. Nothing is unfrozen: the collections of the run's end, and the one
    at the interpreter's exit, skip them too (a fifth of a second after a first run)."""
    global _active
    gc.freeze()
    _active = True


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Inside a :func:`frozen` call, load something large and long-lived (a spaCy model, the lemmatizer's
    tables) with the collector paused (each collection would walk the half-built structure again), then freeze
    it with the rest; elsewhere nothing is changed."""
    if not _active:
        yield
        return
    # a threshold of 0 rather than gc.disable(): a loader may enable the collector again (srsly's msgpack does)
    thresholds = gc.get_threshold()
    gc.set_threshold(0)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.freeze()
