"""Atomic output: write to a temporary file beside the target, then rename.

An interrupted run never leaves a half-written file under the final name.
:func:`all_or_nothing` extends this to several files, and
:func:`check_outputs` refuses an output that would overwrite or sit among
the inputs before anything is written.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator

from .errors import OutputError, PathConflictError
from ._lazy import LazyModule

pd = LazyModule("pandas")  # imported when a table is first made (issue 13)

#: ``errno`` values of an output that cannot be written (full disk, quota, read-only file system, permissions):
#: they become :class:`OutputError` instead of an internal error.
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})

# The renames that the innermost all_or_nothing() block defers: (temporary file, target).
_pending: contextvars.ContextVar[list | None] = contextvars.ContextVar("ptce_nlp_pending_writes", default=None)
# The folders that block made (removed again, when empty, if it fails).
_pending_dirs: contextvars.ContextVar[list | None] = contextvars.ContextVar("ptce_nlp_pending_dirs", default=None)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8",
                 newline: str | None = "", durable: bool = True) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` only if the block succeeds.

    Inside an :func:`all_or_nothing` block the replacement waits for the end
    of that block (caches, ``durable=False``, are never held back). A full
    disk, a quota, a read-only file system or a permission refused while
    writing (:data:`OUTPUT_ERRNOS`) raises :class:`OutputError`.

    Examples
    --------
    >>> with atomic_write(tmp / "a.csv") as fh:   # doctest: +SKIP
    ...     fh.write("x\\n")
    """
    path = Path(path)
    try:
        made = _pending_dirs.get()
        if made is not None and not path.parent.is_dir():  # removed again if the all_or_nothing block fails
            missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            made.extend(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.chmod(fd, 0o666 & ~_umask())  # mkstemp makes the file private; outputs get the usual permissions
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    binary = "b" in mode
    pending = _pending.get() if durable else None
    try:
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": newline})) as fh:
            yield fh
            fh.flush()
            if durable:  # caches skip it: a damaged cache entry is only a miss
                os.fsync(fh.fileno())
        if pending is not None:
            pending.append((tmp, path))
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS and exc.filename in (None, tmp, str(path)):
            raise _cannot_write(path, exc) from None  # not an input file read inside the block: this output
        raise


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Files written with :func:`atomic_write` in the block replace their targets together, at its end.

    When the block fails (an error, Ctrl-C, a full disk), none of them is
    replaced and their temporary files are removed: the previous outputs
    stay as they were, all of them; the folders the block made for them are
    removed too, when nothing else was put there.

    Examples
    --------
    >>> with all_or_nothing():                          # doctest: +SKIP
    ...     write_csv(documents, out / "documents.csv")
    ...     write_csv(segments, out / "segments.csv")
    """
    pending: list[tuple[str, Path]] = []
    made: list[Path] = []
    token, dirs_token = _pending.set(pending), _pending_dirs.set(made)
    try:
        yield
    except BaseException:
        _discard(pending)
        for folder in made:  # the folders the block made for its outputs, deepest first, if left empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        _pending.reset(token)
        _pending_dirs.reset(dirs_token)
    for i, (tmp, path) in enumerate(pending):
        try:
            os.replace(tmp, path)
        except BaseException as exc:
            _discard(pending[i:])
            if isinstance(exc, OSError):
                raise _cannot_write(path, exc) from None
            raise


def _discard(pending: list[tuple[str, Path]]) -> None:
    for tmp, _ in pending:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _cannot_write(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write here ({exc.strerror or exc})")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_csv(frame: pd.DataFrame, path: str | Path, *, excel_fr: bool = False) -> Path:
    """Write a DataFrame as CSV atomically (UTF-8; ``excel_fr``: BOM and ``;``)."""
    import csv

    path = Path(path)
    # Python's csv writer quotes a cell holding "\n" but not one holding a lone "\r", which then reads back as
    # two rows: a table with such a cell has every text cell quoted (same values, read back whole).
    text = frame.select_dtypes(include=["object", "string"])
    lone_cr = any(text[c].astype(str).str.contains("\r", regex=False).any() for c in text.columns)
    with atomic_write(path, encoding="utf-8-sig" if excel_fr else "utf-8") as fh:
        frame.to_csv(fh, index=False, sep=";" if excel_fr else ",", lineterminator="\n",
                     quoting=csv.QUOTE_NONNUMERIC if lone_cr else csv.QUOTE_MINIMAL)
    return path


# --------------------------------------------------------------------------- outputs apart from inputs

def check_outputs(outputs: Iterable[tuple[str, str | Path | None, str]],
                  inputs: Iterable[tuple[str, str | Path | None] | tuple[str, str | Path | None, str]]) -> None:
    """Refuse an output that is an input, holds one, or lies inside an input folder.

    Call it before anything is read or written. Paths are compared once
    resolved (relative paths, ``..`` and symbolic links), part by part
    (``out2`` is not inside ``out``); ``None`` entries are skipped.

    Parameters
    ----------
    outputs : iterable of (option, path, kind)
        E.g. ``("--out", "out", "folder")`` or ``("--csv", "kwic.csv", "file")``.
    inputs : iterable of (what, path) or (what, path, note)
        E.g. ``("input", "corpus")``, ``("codebook", "out/x.yaml")``,
        ``("input", "corpus/../a.txt", "manifest.csv line 4")``.

    Raises
    ------
    PathConflictError
        Naming the output and the input (the first conflict found).

    Examples
    --------
    >>> check_outputs([("--out", "out", "folder")], [("codebook", "out/x.yaml")])  # doctest: +SKIP
    Traceback (most recent call last):
    PathConflictError: out: the output folder holds the codebook out/x.yaml; choose another --out
    """
    resolved = [(what, path, rest[0] if rest else "", _real(path)) for what, path, *rest in inputs
                if path is not None]
    for option, out, kind in outputs:
        if out is None:
            continue
        real_out = _real(out)
        for what, path, note, real_in in resolved:
            if real_out == real_in:
                relation = "is"
            elif real_in.is_relative_to(real_out):
                relation = "holds"
            elif real_out.is_relative_to(real_in):
                relation = "is inside"
            else:
                continue
            raise PathConflictError(out, option, kind, relation, what, f"{path} ({note})" if note else path)


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))
