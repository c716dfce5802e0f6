"""Named exceptions of the library. The CLI turns them into one-line messages.

The library never prints nor exits: every problem a user can cause is one of
these exceptions, whose ``str()`` is the message shown to the user.
"""

from __future__ import annotations

from typing import Sequence


class PtceError(Exception):
    """Base class of every error the toolkit reports to users."""


class InputFileError(PtceError):
    """A single input file cannot be read; the batch goes on without it."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsupportedFormatError(InputFileError):
    """The file suffix is not one of the readable formats."""


class EmptyFileError(InputFileError):
    """The file is empty or holds only white space."""


class NotTextError(InputFileError):
    """A file named as text holds binary data."""


class CorruptFileError(InputFileError):
    """A container file (PDF, DOCX, ODT) is damaged, truncated or not of its format."""


class NoTextLayerError(InputFileError):
    """A PDF whose pages carry no extractable text (scanned images)."""


class FileTooLargeError(InputFileError):
    """A file over the size limit, text with an absurdly long line, HTML nested absurdly deep."""


class DecompressionBombError(FileTooLargeError):
    """A container (DOCX, ODT, PDF) whose content would unpack far beyond the limits.

    Refused before it is unpacked: a zip member or PDF stream packed more than
    100:1, or larger than the limits derived from ``--max-file-mb``.
    """


class UnreadableFileError(InputFileError):
    """The operating system refused to open the file (permissions, missing...)."""


class InputFileWarning(UserWarning):
    """A file was read, but part of it was left out; the message names the file and what.

    Emitted with :func:`warnings.warn` (Python shows it on stderr); a caller
    collects it with ``warnings.catch_warnings(record=True)``.
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ManifestError(PtceError):
    """A ``manifest.csv`` has problems; all of them are listed at once."""

    def __init__(self, path: object, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{self.path}: {n} problem{'s' if n != 1 else ''} in the manifest"
        super().__init__(head + "".join(f"\n  - {p}" for p in self.problems))


class OutputError(PtceError):
    """An output file or folder cannot be written."""


class PathConflictError(OutputError):
    """An output would be, hold, or lie inside one of the inputs; refused before anything is written.

    The CLI reports it as a usage error (exit code 2): the two paths given
    cannot be used together.
    """

    def __init__(self, output: object, option: str, kind: str, relation: str, what: str, path: object) -> None:
        self.output, self.option, self.input = str(output), option, str(path)
        super().__init__(f"{self.output}: the output {kind} {relation} the {what} {self.input}; "
                         f"choose another {option}")


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM. A KeyboardInterrupt, so that the cleanup of Ctrl-C runs for it too."""


class TableRowError(InputFileError):
    """A row of an input table (a ``coded_segments.csv`` given to ``agree``...) cannot be used.

    The message names the file, the row's line number (1 is the header) and the problem.
    """

    def __init__(self, path: object, line: int, reason: str) -> None:
        self.line = line
        super().__init__(path, f"line {line}: {reason}")


class DaskError(PtceError):
    """The Dask cluster given with ``--dask`` cannot be used (unreachable, lost, workers that differ).

    The CLI reports it with exit code 4: nothing is written.
    """


class DaskSpecError(DaskError):
    """A ``--dask`` value that is neither ``local:N`` nor a scheduler address ``tcp://HOST:PORT``."""

    def __init__(self, spec: str, reason: str) -> None:
        self.spec, self.reason = spec, reason
        super().__init__(f"--dask {spec!r}: {reason}")


class SchedulerUnreachableError(DaskError):
    """Nothing answers at the scheduler address: ``dask scheduler tcp://...: unreachable (reason)``."""

    def __init__(self, address: str, reason: str) -> None:
        self.address, self.reason = address, reason
        super().__init__(f"dask scheduler {address}: unreachable ({reason})")
