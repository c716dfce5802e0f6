"""Corpus: which files to read, with which metadata, and reading them in a batch.

A folder with a ``manifest.csv`` is read as the manifest says; a folder
without one is read file by file (``doc_id`` = file stem, empty metadata).
Files given directly are read the same way. A batch never stops on a bad
file: it records a :class:`~ptce_nlp.types.ReadFailure` and goes on.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import os
import tempfile
import threading
import warnings
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .cache import ExtractCache
from .errors import InputFileError, InputFileWarning, ManifestError, OutputError, PtceError
from .readers import MAX_FILE_MB, detect_format, read_file
from .types import GENRES, METADATA_FIELDS, POLE_TYPES, Document, ReadFailure

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("doc_id", "path") + METADATA_FIELDS
REQUIRED_COLUMNS = ("doc_id", "path")


@dataclass(frozen=True)
class Source:
    """A file to read, with the doc_id and metadata it will get."""

    path: Path
    doc_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    origin: str = ""  # "manifest.csv row 7", for messages


@dataclass
class Corpus:
    """The result of reading a batch: documents and the files that failed."""

    documents: list[Document]
    failures: list[ReadFailure]

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)


class DocumentSpool(Sequence[Document]):
    """Documents whose texts wait in an anonymous temporary file, read back one at a time (issue 13).

    A batch of fiches may not fit in memory: :func:`ptce_nlp.analysis.write_coding` goes through its documents
    a few at a time, so a run that holds them in a list would still grow with the corpus (about two bytes per
    character of text). A spool keeps in memory only each document's id, format, source and metadata and where
    its text lies in the file (UTF-8, lone surrogates kept); ``spool[i]`` reads that text back and gives an
    equal :class:`Document` (the last one asked for is kept, as stages ask for the same document several times
    in a row). The file has no name and is gone when the spool is closed or collected.

    ``directory``: where the file is made (default: the system's temporary folder). A full disk (or any error
    making or writing the file) raises :class:`~ptce_nlp.errors.OutputError`, naming that folder.
    """

    def __init__(self, documents: Iterable[Document] = (), *, directory: str | Path | None = None) -> None:
        self.directory = Path(directory if directory is not None else tempfile.gettempdir())
        try:
            self._file = tempfile.TemporaryFile(dir=self.directory)
        except OSError as exc:
            raise self._cannot_write(exc) from None
        self._heads: list[Document] = []  # each document with an empty text
        self._offsets = array("q")
        self._sizes = array("q")
        self._end = 0
        self._last: tuple[int, Document] | None = None
        self._lock = threading.Lock()  # one file position: a spool may be read from more than one thread
        for document in documents:
            self.append(document)

    def append(self, document: Document) -> None:
        data = document.text.encode("utf-8", "surrogatepass")
        with self._lock:
            self._file.seek(self._end)
            try:
                self._file.write(data)
                self._file.flush()  # a full disk is met here, not at a later read
            except OSError as exc:
                raise self._cannot_write(exc) from None
            self._offsets.append(self._end)
            self._sizes.append(len(data))
            self._end += len(data)
            self._heads.append(dataclasses.replace(document, text=""))

    def __len__(self) -> int:
        return len(self._heads)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Picked(self, range(len(self))[i])
        i = range(len(self))[i]  # negative indices, IndexError
        with self._lock:
            last = self._last
            if last is not None and last[0] == i:
                return last[1]
            self._file.seek(self._offsets[i])
            data = self._file.read(self._sizes[i])
            document = dataclasses.replace(self._heads[i], text=data.decode("utf-8", "surrogatepass"))
            self._last = (i, document)
            return document

    def close(self) -> None:
        self._file.close()
        self._last = None

    def _cannot_write(self, exc: OSError) -> OutputError:
        return OutputError(f"{self.directory}: cannot write the temporary file of the documents' texts here "
                           f"({exc.strerror or exc})")

    def __enter__(self) -> "DocumentSpool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Picked(Sequence[Document]):
    """The documents of ``documents`` at ``indices``, in that order, taken from it when asked for (a view: a
    list of them would hold every text of a :class:`DocumentSpool` at once)."""

    def __init__(self, documents: Sequence[Document], indices: Sequence[int]) -> None:
        self._documents = documents
        self._indices = indices

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Picked(self._documents, self._indices[i])
        return self._documents[self._indices[i]]


# --------------------------------------------------------------------------- manifest

def load_manifest(path: str | Path, *, check_files: bool = True) -> list[Source]:
    """Read and validate a ``manifest.csv``.

    Every problem is collected before raising, each with its CSV line number:
    unknown or missing column, empty or duplicate ``doc_id``, unknown
    ``pole_type`` or ``genre``, a year that is not a year, and (with
    ``check_files``) a path pointing to no file. Paths are relative to the
    manifest's folder.

    Raises
    ------
    ManifestError
        With the list of all problems.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(path, [f"cannot read the manifest ({exc.strerror or exc})"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(path, ["the manifest is not UTF-8 text"]) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise ManifestError(path, ["the manifest is empty (expected a header line)"])
    header = [h.strip() for h in rows[0]]
    problems: list[str] = []
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    if unknown:
        problems.append(f"line 1: unknown column{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(map(repr, unknown))} (allowed: {', '.join(MANIFEST_COLUMNS)})")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        problems.append(f"line 1: missing required column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(map(repr, missing))}")
        raise ManifestError(path, problems)
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {line_no}: {len(row)} fields, the header has {len(header)}")
            continue
        record = {h: cell.strip() for h, cell in zip(header, row)}
        doc_id, rel = record["doc_id"], record["path"]
        if not doc_id:
            problems.append(f"line {line_no}: empty doc_id")
        elif doc_id in seen:
            problems.append(f"line {line_no}: duplicate doc_id {doc_id!r} (first on line {seen[doc_id]})")
        else:
            seen[doc_id] = line_no
        pole_type = record.get("pole_type", "")
        if pole_type and pole_type not in POLE_TYPES:
            problems.append(f"line {line_no}: unknown pole_type {pole_type!r} "
                            f"(allowed: {', '.join(POLE_TYPES)})")
        genre = record.get("genre", "")
        if genre and genre not in GENRES:
            problems.append(f"line {line_no}: unknown genre {genre!r} (allowed: {', '.join(GENRES)})")
        year = record.get("year", "")
        if year and not (year.isdigit() and len(year) == 4):
            problems.append(f"line {line_no}: year {year!r} is not a four-digit year")
        if not rel:
            problems.append(f"line {line_no}: empty path")
            continue
        file = (path.parent / rel)
        if check_files and not file.is_file():
            problems.append(f"line {line_no}: file not found: {rel}")
        metadata = {k: record.get(k, "") for k in METADATA_FIELDS}
        sources.append(Source(file, doc_id, metadata, f"{path.name} line {line_no}"))
    if problems:
        raise ManifestError(path, problems)
    return sources


# --------------------------------------------------------------------------- discovery

#: The reason of a file refused outside its corpus folder; ``--allow-outside`` lifts it.
OUTSIDE_HINT = "give --allow-outside (allow_outside=True) to read it"


def _inside(path: str | Path, folder: Path) -> bool:
    """Whether ``path``, symbolic links and ``..`` resolved, is ``folder`` (resolved) or inside it."""
    return Path(os.path.realpath(path)).is_relative_to(folder)


def _link_problem(path: Path) -> str | None:
    """Why the symbolic link ``path`` cannot be followed (broken, a loop...), or None."""
    if not path.is_symlink():
        return None
    try:
        os.stat(path)
    except OSError as exc:
        target = os.readlink(path)
        if exc.errno == errno.ELOOP:
            return f"symbolic link loop (-> {target})"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return f"broken symbolic link (-> {target}, which does not exist)"
        return f"cannot follow the symbolic link -> {target} ({exc.strerror or exc})"
    return None


def _folder_sources(folder: Path, *, allow_outside: bool = False) -> tuple[list[Source], list[ReadFailure]]:
    """Files of ``folder`` and its sub-folders (hidden names skipped), symbolic links followed.

    A link whose target is outside ``folder`` is a failure unless
    ``allow_outside``; so are a broken link, a link loop and a link to a
    folder that holds it.
    """
    root = Path(os.path.realpath(folder))
    files: list[Path] = []
    failures: list[ReadFailure] = []

    def walk(directory: Path, ancestors: frozenset[str]) -> None:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            failures.append(ReadFailure(str(directory), f"cannot list the folder ({exc.strerror or exc})"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = directory / entry.name
            if entry.is_symlink():
                problem = _link_problem(path)
                if problem is not None:
                    failures.append(ReadFailure(str(path), problem))
                    continue
                real = os.path.realpath(path)
                if not allow_outside and not _inside(real, root):
                    failures.append(ReadFailure(str(path), f"symbolic link to {real}, outside the folder "
                                                           f"{folder}; {OUTSIDE_HINT}"))
                    continue
                if os.path.isdir(real):
                    if real in ancestors:
                        failures.append(ReadFailure(str(path), f"symbolic link loop (-> {os.readlink(path)}, "
                                                               "a folder that holds it)"))
                    else:
                        walk(path, ancestors | {real})
                elif os.path.isfile(real):
                    files.append(path)
            elif entry.is_dir(follow_symlinks=False):
                walk(path, ancestors | {os.path.realpath(path)})
            elif entry.is_file(follow_symlinks=False):
                files.append(path)

    walk(folder, frozenset({str(root)}))
    sources: list[Source] = []
    taken: set[str] = set()
    for file in sorted(files):
        doc_id = file.stem
        if doc_id in taken:
            doc_id = file.relative_to(folder).as_posix()
        taken.add(doc_id)
        sources.append(Source(file, doc_id))
    return sources, failures


def find_sources(paths: Iterable[str | Path], *, missing_files: str = "report",
                 allow_outside: bool = False) -> tuple[list[Source], list[ReadFailure]]:
    """Resolve input paths (files, folders, manifests) into sources to read.

    A folder holding ``manifest.csv`` is read through it; a path to a
    ``manifest.csv`` too. With ``missing_files="report"``, manifest rows that
    point to no file become failures and the batch goes on; with ``"error"``
    they are manifest problems. Structural manifest problems always raise
    :class:`ManifestError`.

    A manifest row whose file is outside the manifest's folder (``../x.txt``,
    an absolute path, a symbolic link pointing out), or a file of a folder
    reached through a symbolic link pointing out of it, is a failure unless
    ``allow_outside``; so is a broken symbolic link or a link loop. Paths given
    directly are read wherever they are.
    """
    sources: list[Source] = []
    failures: list[ReadFailure] = []
    for raw in paths:
        path = Path(raw)
        manifest = None
        if path.is_dir() and (path / MANIFEST_NAME).is_file():
            manifest = path / MANIFEST_NAME
        elif path.is_file() and path.name == MANIFEST_NAME:
            manifest = path
        if manifest is not None:
            rows = load_manifest(manifest, check_files=missing_files == "error")
            folder = Path(os.path.realpath(manifest.parent))
            for src in rows:
                problem = _link_problem(src.path)
                if problem is not None:
                    failures.append(ReadFailure(str(src.path), f"{problem} ({src.origin})", src.doc_id))
                elif not allow_outside and not _inside(src.path, folder):
                    failures.append(ReadFailure(str(src.path), f"outside the folder of the manifest "
                                                               f"({src.origin}); {OUTSIDE_HINT}", src.doc_id))
                elif src.path.is_file():
                    sources.append(src)
                else:
                    failures.append(ReadFailure(str(src.path), f"file not found ({src.origin})", src.doc_id))
        elif path.is_dir():
            found, refused = _folder_sources(path, allow_outside=allow_outside)
            sources.extend(found)
            failures.extend(refused)
        elif path.exists():
            sources.append(Source(path, path.stem))
        else:
            failures.append(ReadFailure(str(path), _link_problem(path) or "no such file or folder"))
    dup: dict[str, Source] = {}
    unique: list[Source] = []
    for src in sources:
        if src.doc_id in dup:
            failures.append(ReadFailure(str(src.path), f"doc_id {src.doc_id!r} already used by {dup[src.doc_id].path}",
                                        src.doc_id))
            continue
        dup[src.doc_id] = src
        unique.append(src)
    return unique, failures


def input_paths(paths: Iterable[str | Path], sources: Iterable[Source]) -> list[tuple[str, Path, str]]:
    """The inputs a batch reads, for :func:`ptce_nlp.io.check_outputs`: the paths given (files, folders,
    manifests) and every source file (a manifest may name files elsewhere, with ``allow_outside``)."""
    given = [("input", Path(p), "") for p in paths]
    return given + [("input", s.path, s.origin) for s in sources]


# --------------------------------------------------------------------------- reading

def read_source(source: Source, *, max_file_mb: float = MAX_FILE_MB, cache: ExtractCache | None = None) -> Document:
    """Read one source into a Document (raises InputFileError).

    With ``cache``, the text extracted from a container file (PDF, DOCX, ODT,
    HTML) is looked up by the file's bytes before the reader runs, and stored
    after a successful read without warning (an
    :class:`~ptce_nlp.errors.InputFileWarning` is given again on every read).
    """
    data = None
    if cache is not None:
        try:
            fmt = detect_format(source.path)
            if fmt in cache.FORMATS and source.path.stat().st_size <= max_file_mb * 1024 * 1024:
                data = source.path.read_bytes()
        except (OSError, InputFileError):
            data = None  # read_file names the problem
        hit = cache.get(data, fmt) if data is not None else None
        if hit is not None:
            return Document(source.doc_id, hit[0], fmt, source.path, hit[1], source.metadata)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputFileWarning)
        text, fmt, encoding = read_file(source.path, max_file_mb=max_file_mb)
    for w in caught:  # shown (or not) as the caller's filters say
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if data is not None and not any(issubclass(w.category, InputFileWarning) for w in caught):
        cache.put(data, fmt, text, encoding)  # a read with a warning is not cached: the warning comes every time
    return Document(source.doc_id, text, fmt, source.path, encoding, source.metadata)


def iter_read(sources: Sequence[Source], *, max_file_mb: float = MAX_FILE_MB,
              cache_dir: str | Path | None = None) -> Iterator[Document | ReadFailure]:
    """Read sources one by one, yielding a Document or a ReadFailure for each.

    ``cache_dir`` enables the extraction cache (:class:`ptce_nlp.cache.ExtractCache`).
    """
    cache = ExtractCache(cache_dir) if cache_dir is not None else None
    for src in sources:
        try:
            yield read_source(src, max_file_mb=max_file_mb, cache=cache)
        except InputFileError as exc:
            yield ReadFailure(exc.path, exc.reason, src.doc_id)
        except PtceError:
            raise
        except MemoryError:
            yield ReadFailure(str(src.path), "out of memory while reading", src.doc_id)


def read_corpus(paths: str | Path | Iterable[str | Path], *, max_file_mb: float = MAX_FILE_MB,
                allow_outside: bool = False) -> Corpus:
    """Read files, folders and manifests into a :class:`Corpus`.

    ``allow_outside``: read manifest rows and folder links that point outside
    their corpus folder (refused by default, see :func:`find_sources`).

    Examples
    --------
    >>> corpus = read_corpus("corpus")            # doctest: +SKIP
    >>> len(corpus.documents), corpus.failures
    (33, [])
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    sources, failures = find_sources(paths, allow_outside=allow_outside)
    documents: list[Document] = []
    for item in iter_read(sources, max_file_mb=max_file_mb):
        (documents if isinstance(item, Document) else failures).append(item)
    return Corpus(documents, failures)
