"""Atomic output: write to a temporary file beside the target, then rename.

An interrupted run never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

import pandas as pd

from .errors import OutputError


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8",
                 newline: str | None = "", durable: bool = True) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` only if the block succeeds.

    Examples
    --------
    >>> with atomic_write(tmp / "a.csv") as fh:   # doctest: +SKIP
    ...     fh.write("x\\n")
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.chmod(fd, 0o666 & ~_umask())  # mkstemp makes the file private; outputs get the usual permissions
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": newline})) as fh:
            yield fh
            fh.flush()
            if durable:  # caches skip it: a damaged cache entry is only a miss
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_csv(frame: pd.DataFrame, path: str | Path, *, excel_fr: bool = False) -> Path:
    """Write a DataFrame as CSV atomically (UTF-8; ``excel_fr``: BOM and ``;``)."""
    path = Path(path)
    with atomic_write(path, encoding="utf-8-sig" if excel_fr else "utf-8") as fh:
        frame.to_csv(fh, index=False, sep=";" if excel_fr else ",", lineterminator="\n")
    return path
