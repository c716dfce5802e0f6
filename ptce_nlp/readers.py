"""Readers: one function per format, each ``(path, limits, notes) -> (text, encoding)``.

The text a reader returns is the document's *original text*: every offset the
toolkit writes refers to it. Text formats are decoded as they are (CRLF kept;
a byte-order mark is not part of the text). Container formats are extracted
with well-kept libraries: pdfminer.six (PDF), python-docx (DOCX), odfpy (ODT),
BeautifulSoup with lxml (HTML). Paragraphs of container formats are separated
by a blank line.

Every problem raises a subclass of :class:`~ptce_nlp.errors.InputFileError`
whose message names the file and the reason in one line. A file read with a
part left out (entity references of a DOCTYPE) gives an
:class:`~ptce_nlp.errors.InputFileWarning` through :mod:`warnings`.

Hostile containers are bounded (:class:`UnpackLimits`): a zip member
(DOCX, ODT) or a PDF stream may unpack to at most :data:`MAX_RATIO` times its
packed size once over :data:`RATIO_FLOOR`, one XML part or PDF stream to a
quarter of ``--max-file-mb``, a whole archive or PDF to ``--max-file-mb``.
Zip members are checked on their declared sizes first and counted again as
they are inflated; PDF streams are counted as pdfminer.six decodes them.
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import io
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .errors import (CorruptFileError, DecompressionBombError, EmptyFileError, FileTooLargeError,
                     InputFileError, InputFileWarning, NoTextLayerError, NotTextError, UnreadableFileError,
                     UnsupportedFormatError)
from .types import FORMATS

#: Default size limit of an input file, in megabytes.
MAX_FILE_MB = 200.0
#: Longest line accepted in a text file, in bytes: prose has line breaks.
MAX_LINE_BYTES = 1_000_000
_CHUNK = 1 << 20
_WESTERN = ["cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850"]
_MB = 1 << 20
#: A zip member or PDF stream may unpack to at most this many times its packed size...
MAX_RATIO = 100
#: ...once it unpacks to more than this many bytes (small parts may pack better).
RATIO_FLOOR = _MB
#: One XML part or PDF stream may unpack to ``--max-file-mb`` divided by this
#: (parsing XML takes some ten times its size in memory).
PART_SHARE = 4
#: Deepest nesting of HTML elements read (libxml2's own limit for a tree).
MAX_HTML_DEPTH = 256
#: Widest CCITT fax image pdfminer.six is allowed to decode (fax: 1728; A0 at 1200 dpi: ~40,000).
MAX_CCITT_COLUMNS = 1 << 16


@dataclass(frozen=True)
class UnpackLimits:
    """How far a container file may unpack, in bytes.

    ``total`` bounds a whole archive or PDF, ``part`` one XML part or PDF
    stream; both follow ``--max-file-mb`` (:meth:`from_mb`).
    """

    max_file_mb: float
    total: int
    part: int

    @classmethod
    def from_mb(cls, max_file_mb: float = MAX_FILE_MB) -> "UnpackLimits":
        total = max(int(max_file_mb * _MB), 1)
        return cls(max_file_mb, total, max(total // PART_SHARE, 1))

    def check(self, path: Path, what: str, size: int, packed: int | None, *, part: bool = True,
              more: bool = False) -> None:
        """Raise DecompressionBombError when ``what``, packed in ``packed`` bytes (``None``: unknown),
        unpacks to ``size`` bytes: over :data:`MAX_RATIO` times ``packed``, or (``part``) over the part limit.

        ``more``: ``size`` is what came out so far (decoding stops there),
        the message then names the limit crossed.
        """
        ratio_limit = None if packed is None else max(RATIO_FLOOR, MAX_RATIO * packed)
        if ratio_limit is not None and size > ratio_limit:
            if more:
                amount = f"more than {_mb(ratio_limit)} from {_mb(packed)} (over the {MAX_RATIO}:1 limit)"
            else:
                amount = f"{_mb(size)} from {_mb(packed)} ({size // max(packed, 1):,}:1, over the {MAX_RATIO}:1 limit)"
            raise DecompressionBombError(path, f"{what} unpacks to {amount}: a decompression bomb, refused")
        if part and size > self.part:
            amount = f"more than {_mb(self.part)}" if more else _mb(size)
            raise DecompressionBombError(
                path, f"{what} unpacks to {amount}, over the {_mb(self.part)} limit for one part "
                      f"(--max-file-mb {self.max_file_mb:g} / {PART_SHARE})")

    def check_total(self, path: Path, what: str, size: int, *, more: bool = False) -> None:
        """Raise DecompressionBombError when a whole archive or PDF unpacks to more than ``--max-file-mb``."""
        if size > self.total:
            amount = f"more than {_mb(self.total)}" if more else _mb(size)
            raise DecompressionBombError(
                path, f"{what} unpacks to {amount}, over the {_mb(self.total)} limit (--max-file-mb)")


def _mb(size: int) -> str:
    if size % _MB == 0 or size >= 100 * _MB:
        return f"{size / _MB:,.0f} MB"
    return f"{size / _MB:,.1f} MB"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def detect_format(path: Path) -> str:
    """The reader format of ``path`` from its suffix, or raise UnsupportedFormatError."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted({s for s in FORMATS}))
        shown = path.suffix or "(none)"
        raise UnsupportedFormatError(path, f"unsupported file type {shown} (readable: {known})")
    return fmt


def read_file(path: str | Path, *, max_file_mb: float = MAX_FILE_MB) -> tuple[str, str, str | None]:
    """Read one file and return ``(text, format, encoding)``.

    Parameters
    ----------
    path : str or Path
        The file.
    max_file_mb : float
        Files larger than this are refused (FileTooLargeError); it also
        bounds what a DOCX, ODT or PDF may unpack to (:class:`UnpackLimits`).

    Raises
    ------
    InputFileError
        Any subclass, with a one-line message naming the file and the reason
        (:class:`~ptce_nlp.errors.DecompressionBombError` for a container
        that would unpack beyond the limits).

    Warns
    -----
    InputFileWarning
        The file was read but part of it was left out (entity references
        of a DOCTYPE in a DOCX or ODT part: never expanded).
    """
    path = Path(path)
    limits = UnpackLimits.from_mb(max_file_mb)
    fmt = detect_format(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnreadableFileError(path, "file not found") from None
    except OSError as exc:
        raise UnreadableFileError(path, f"cannot read file ({exc.strerror or exc})") from None
    if path.is_dir():
        raise UnreadableFileError(path, "is a folder, not a file")
    if size > max_file_mb * 1024 * 1024:
        raise FileTooLargeError(path, f"file is {size / 2**20:.1f} MB, over the {max_file_mb:g} MB limit")
    if size == 0:
        raise EmptyFileError(path, "empty file (0 bytes)")
    notes: list[str] = []
    try:
        text, encoding = _READERS[fmt](path, limits, notes)
    except OSError as exc:
        raise UnreadableFileError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not text.strip():
        raise EmptyFileError(path, "no text in the file (only white space)")
    for note in notes:
        warnings.warn(InputFileWarning(path, note), stacklevel=2)
    return text, fmt, encoding


# --------------------------------------------------------------------------- text files

def _check_lines(path: Path) -> bytes:
    """Read a text file in chunks, refusing one with an absurdly long line early."""
    parts: list[bytes] = []
    run = 0  # length of the line still open at the end of the previous chunk
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            pieces = re.split(rb"[\r\n]", chunk)
            longest = run + len(pieces[0])
            if len(pieces) > 1:
                longest = max([longest] + [len(p) for p in pieces[1:-1]])
                run = len(pieces[-1])
            else:
                run = longest
            if max(longest, run) > MAX_LINE_BYTES:
                raise FileTooLargeError(
                    path, f"a line of more than {MAX_LINE_BYTES:,} bytes without a line break: "
                          "not a prose document")
            parts.append(chunk)
    return b"".join(parts)


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # control characters other than \t \n \f \r


def decode_bytes(data: bytes, path: Path) -> tuple[str, str]:
    """Decode a text file: BOM, UTF-8, UTF-16 without BOM, then Western encodings.

    Returns ``(text, encoding)``; raises NotTextError for binary data.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data, "utf-8-sig", path), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _decode(data, "utf-32", path), "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16", path), "utf-16"
    if b"\x00" in data:
        sample = data[:4096]
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > 0.4 * len(sample) / 2 and even < 0.05 * len(sample) / 2:
            return _decode(data, "utf-16-le", path), "utf-16-le"
        if even > 0.4 * len(sample) / 2 and odd < 0.05 * len(sample) / 2:
            return _decode(data, "utf-16-be", path), "utf-16-be"
        raise NotTextError(path, "binary content (NUL bytes): not a text file")
    try:
        text = data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        text, encoding = _decode_western(data, path)
    controls = len(_CONTROLS.findall(text, 0, 20000))
    if controls > 0.01 * min(len(text), 20000):
        raise NotTextError(path, "binary content (control characters): not a text file")
    return text, encoding


def _decode(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise NotTextError(path, f"invalid {encoding} text at byte {exc.start}") from None


def _decode_western(data: bytes, path: Path) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_WESTERN).best()
    if best is None:
        raise NotTextError(path, "undecodable bytes: not a text file in a known encoding")
    encoding = codecs.lookup(best.encoding).name
    # latin-1 and cp1252 differ only in 0x80-0x9F, where cp1252 has the typographic
    # apostrophe and quotes of French word processors: prefer cp1252 when it decodes.
    if encoding in ("latin-1", "iso8859-1", "iso8859-15"):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), encoding


def read_text_file(path: Path, limits: UnpackLimits | None = None, notes: list[str] | None = None) -> tuple[str, str]:
    """Plain text and Markdown: the decoded file as it is."""
    return decode_bytes(_check_lines(path), path)


# --------------------------------------------------------------------------- HTML

_DROP_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside",
              "form", "button", "svg", "iframe", "head")
_BLOCK_TAGS = ("p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
               "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "tr", "td", "th",
               "figure", "figcaption", "address", "hr", "title")


def read_html(path: Path, limits: UnpackLimits | None = None, notes: list[str] | None = None) -> tuple[str, str]:
    """HTML: visible text of the page; block elements become paragraphs."""
    from bs4 import BeautifulSoup, UnicodeDammit

    raw = _check_lines(path)
    dammit = UnicodeDammit(raw, ["utf-8", "cp1252"], is_html=True)
    if dammit.unicode_markup is None:
        raise NotTextError(path, "undecodable HTML")
    if "\x00" in dammit.unicode_markup:
        raise NotTextError(path, "binary content (NUL bytes): not an HTML file")
    _check_html_depth(path, dammit.unicode_markup)
    soup = BeautifulSoup(dammit.unicode_markup, "lxml")
    text = "".join(_html_pieces(soup))
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in block.split("\n")]
        block = "\n".join(line for line in lines if line)
        if block:
            paragraphs.append(block)
    return "\n\n".join(paragraphs), dammit.original_encoding or "utf-8"


class _TooDeep(Exception):
    pass


class _DepthGauge:
    """An lxml parser target that only follows the nesting depth, and stops past MAX_HTML_DEPTH."""

    def __init__(self) -> None:
        self.depth = 0

    def start(self, tag, attrib) -> None:
        self.depth += 1
        if self.depth > MAX_HTML_DEPTH:
            raise _TooDeep

    def end(self, tag) -> None:
        self.depth -= 1

    def close(self) -> None:
        return None


def _check_html_depth(path: Path, markup: str) -> None:
    """Refuse a page nested deeper than MAX_HTML_DEPTH, before BeautifulSoup builds it.

    BeautifulSoup's tree building costs the depth of the element just closed
    at each closing tag followed by text: 100,000 nested elements take
    minutes. The same parser (lxml's, as BeautifulSoup uses it) is run once
    here, C-fast, following only the depth.
    """
    from lxml import etree

    parser = etree.HTMLParser(target=_DepthGauge(), recover=True, encoding="utf-8")
    try:
        parser.feed(markup.encode("utf-8", "surrogatepass"))
        parser.close()
    except _TooDeep:
        raise FileTooLargeError(path, f"HTML nested more than {MAX_HTML_DEPTH} levels deep: not a prose "
                                      "document") from None
    except etree.LxmlError:
        pass  # BeautifulSoup decides what can be read


def _html_pieces(soup) -> Iterator[str]:
    """The page's visible text in document order, a blank line around each block, a line break for <br>.

    One pass with an explicit stack, in linear time (inserting the blank
    lines into the tree, as before, cost the number of siblings each time:
    10,000 paragraphs took 20 s); the strings kept are those ``get_text()``
    keeps (not comments, scripts, ruby annotations).
    """
    from bs4 import CData, NavigableString, Tag

    drop, blocks, kept = frozenset(_DROP_TAGS), frozenset(_BLOCK_TAGS), (NavigableString, CData)
    stack: list[tuple[Iterator, bool]] = [(iter(soup.contents), False)]
    while stack:
        children, block = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if block:
                yield "\n\n"
        elif isinstance(child, Tag):
            if child.name in drop:
                continue
            if child.name == "br":
                yield "\n"
                continue
            is_block = child.name in blocks
            if is_block:
                yield "\n\n"
            stack.append((iter(child.contents), is_block))
        elif type(child) in kept:
            yield str(child)


# --------------------------------------------------------------------------- zip containers

_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_DOCTYPE_MARKS = tuple("<!DOCTYPE".encode(encoding) for encoding in ("ascii", "utf-16-le", "utf-16-be"))


def _unpack_zip(path: Path, label: str, limits: UnpackLimits, notes: list[str], *,
                wanted: Callable[[str], bool]) -> io.BytesIO:
    """An in-memory copy of a DOCX/ODT archive that its library can open without risk.

    The declared sizes of every member are checked before anything is
    inflated (ratio, size of the parts read, total). Only the members
    ``wanted`` (the XML parts the library parses) are inflated, counted as
    they come out (headers can lie), and stripped of any DOCTYPE
    (:func:`_without_doctype`); the others (pictures, fonts...) are copied
    empty: their bytes are never text.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise CorruptFileError(path, f"not a valid {label} file ({exc.__class__.__name__})") from None
    with archive:
        infos = archive.infolist()
        file_size = path.stat().st_size
        total = 0
        for info in infos:
            packed = min(info.compress_size, file_size)
            read = wanted(info.filename)
            if read and info.compress_type not in _ZIP_METHODS:
                raise CorruptFileError(path, f"{info.filename}: compression method {info.compress_type} is not "
                                             f"allowed in a {label} file (only stored or deflated)")
            if read and info.compress_size > _most_packed(info):
                raise CorruptFileError(path, f"damaged {label} file ({info.filename}: {info.compress_size:,} packed "
                                             f"bytes for {info.file_size:,} declared: the sizes are forged)")
            limits.check(path, info.filename, info.file_size, packed, part=read)
            total += info.file_size
        limits.check_total(path, "the archive", total)
        members = {info.filename: info for info in infos}  # the last of duplicate names, as zipfile reads
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
            for name, info in members.items():
                data = b""
                if wanted(name) and not info.is_dir():
                    data = _without_doctype(path, label, name, _inflate(archive, info, path, label), notes)
                copy.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    out.seek(0)
    return out


def _most_packed(info: zipfile.ZipInfo) -> int:
    """The largest packed size that ``info.file_size`` bytes can take (deflate grows data by less than 0.1%)."""
    if info.compress_type == zipfile.ZIP_STORED:
        return info.file_size
    return info.file_size + info.file_size // 1000 + 1024


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, label: str) -> bytes:
    """One member, read a megabyte at a time and refused as soon as it outgrows its declared size."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise DecompressionBombError(
                        path, f"{info.filename} unpacks to more than its declared {info.file_size:,} bytes: refused")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise CorruptFileError(path, f"damaged {label} file ({info.filename}: {_one_line(exc)})") from None
    return b"".join(chunks)


def _without_doctype(path: Path, label: str, member: str, data: bytes, notes: list[str]) -> bytes:
    """An XML part without its DOCTYPE; entity references are dropped (never expanded, never fetched).

    python-docx parses without expanding entities and then loses the text
    that follows a reference; defusedxml (odfpy) refuses the whole file.
    Here the text around each reference is kept, and a note says how many
    references were dropped. A part without a DOCTYPE is returned as it is.
    """
    if not any(mark in data for mark in _DOCTYPE_MARKS):
        return data
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise CorruptFileError(path, f"damaged {label} file ({member}: {_one_line(exc)})") from None
    docinfo = root.getroottree().docinfo
    if not docinfo.doctype and docinfo.internalDTD is None:
        return data  # the mark stood in a comment or in text
    dropped: dict[str, int] = {}
    for entity in list(root.iter(etree.Entity)):
        dropped[entity.text] = dropped.get(entity.text, 0) + 1
        parent, previous, tail = entity.getparent(), entity.getprevious(), entity.tail or ""
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(entity)
    if dropped:
        n = sum(dropped.values())
        notes.append(f"{member}: a DOCTYPE declares entities; {n} entity reference{'s' if n > 1 else ''} "
                     f"({', '.join(dropped)}) not expanded, their text is missing")
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, standalone=docinfo.standalone)


# --------------------------------------------------------------------------- DOCX

def _docx_part(name: str) -> bool:
    return name.endswith((".xml", ".rels"))


def read_docx(path: Path, limits: UnpackLimits | None = None, notes: list[str] | None = None) -> tuple[str, None]:
    """DOCX: body paragraphs and table rows in document order."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    limits = limits or UnpackLimits.from_mb()
    if not zipfile.is_zipfile(path):
        raise CorruptFileError(path, "not a valid .docx file (not a zip archive)")
    package = _unpack_zip(path, ".docx", limits, notes if notes is not None else [], wanted=_docx_part)
    try:
        document = docx.Document(package)
    except (PackageNotFoundError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise CorruptFileError(path, f"not a valid .docx file ({exc.__class__.__name__})") from None
    except Exception as exc:  # lxml errors of a damaged document part
        raise CorruptFileError(path, f"damaged .docx file ({exc.__class__.__name__}: {_one_line(exc)})") from None
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            if item.text.strip():
                blocks.append(item.text.strip())
        elif isinstance(item, Table):
            try:
                rows = list(_table_rows(item))
            except Exception as exc:  # a damaged table (bad span values...)
                raise CorruptFileError(path, f"damaged .docx file (table: {exc.__class__.__name__}: "
                                             f"{_one_line(exc)})") from None
            for texts in rows:
                cells = [t.strip() for t in texts if t.strip()]
                if cells:
                    blocks.append(" | ".join(dict.fromkeys(cells)))
    return "\n\n".join(blocks), None


def _table_rows(table) -> Iterator[list[str]]:
    """The cell texts of each row, as python-docx's ``row.cells`` gives them, each cell once.

    ``row.cells`` repeats a cell once per grid column it spans (a cell that
    claims two billion columns fills the memory) and finds the text of a
    vertically merged cell by recursion through the rows above (a merge over
    a thousand rows overflows the stack). The reader keeps each text once per
    row anyway: here every ``w:tc`` gives its text once, and a merged cell
    the text of the cell above it at the same grid offset (python-docx's
    ``tc_at_grid_offset``), from the previous row, in one pass.
    """
    from docx.table import _Cell

    above: dict[int, str] = {}
    for tr in table._tbl.tr_lst:
        here: dict[int, str] = {}
        texts: list[str] = []
        offset, position = tr.grid_before, 0  # grid offset of the cell; its place counted from the row's first cell
        for tc in tr.tc_lst:
            span = tc.grid_span
            text = above.get(offset) if tc.vMerge == "continue" else None
            if text is None:  # not merged, or nothing above (python-docx would fail): the cell's own text
                text = _Cell(tc, table).text
            here.setdefault(position, text)
            if span > 0:
                texts.append(text)
            offset += span
            position += span
        above = here
        yield texts


# --------------------------------------------------------------------------- ODT

_ODT_PARTS = ("content.xml", "styles.xml", "meta.xml", "settings.xml")


def _odt_part(name: str) -> bool:
    """The members odfpy reads: the four XML parts (also of embedded objects), the manifest, the mimetype."""
    return name in ("mimetype", "META-INF/manifest.xml") or name.rsplit("/", 1)[-1] in _ODT_PARTS


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def read_odt(path: Path, limits: UnpackLimits | None = None, notes: list[str] | None = None) -> tuple[str, None]:
    """ODT: headings and paragraphs (including list items) in document order."""
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    limits = limits or UnpackLimits.from_mb()
    if not zipfile.is_zipfile(path):
        raise CorruptFileError(path, "not a valid .odt file (not a zip archive)")
    package = _unpack_zip(path, ".odt", limits, notes if notes is not None else [], wanted=_odt_part)
    try:
        with contextlib.redirect_stdout(_Discard()):  # odfpy prints a part it cannot parse, whole
            document = load(package)
    except Exception as exc:  # odfpy raises many kinds on damaged packages
        raise CorruptFileError(path, f"not a valid .odt file ({exc.__class__.__name__})") from None
    blocks: list[str] = []
    spaces = [0]
    stack = [iter(document.text.childNodes)]  # explicit stack: any depth of sections and lists
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.nodeType == child.ELEMENT_NODE:
            if child.qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                text = _odt_text(child, path, limits, spaces).strip()
                if text:
                    blocks.append(text)
            else:
                stack.append(iter(child.childNodes))
    return "\n\n".join(blocks), None


def _odt_text(element, path: Path, limits: UnpackLimits, spaces: list[int]) -> str:
    """odfpy's ``teletype.extractText`` without recursion, and with the spaces of ``text:s`` counted.

    ``<text:s text:c="N"/>`` stands for N spaces: all of a document's
    together may not exceed the part limit (a tiny file could ask for
    billions).
    """
    from odf.namespaces import TEXTNS

    out: list[str] = []
    stack = [iter(element.childNodes)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.nodeType == child.TEXT_NODE:
            out.append(child.data)
        elif child.nodeType == child.ELEMENT_NODE:
            if child.qname == (TEXTNS, "line-break"):
                out.append("\n")
            elif child.qname == (TEXTNS, "tab"):
                out.append("\t")
            elif child.qname == (TEXTNS, "s"):
                count = child.getAttribute("c")
                try:
                    n = int(count) if count else 1
                except ValueError:
                    raise CorruptFileError(path, f"damaged .odt file (text:s with c={count[:20]!r})") from None
                spaces[0] += max(n, 0)
                if spaces[0] > limits.part:
                    raise DecompressionBombError(
                        path, f"content.xml: text:s elements ask for {spaces[0]:,} spaces, over the limit of "
                              f"{limits.part:,} for one part (--max-file-mb {limits.max_file_mb:g} / {PART_SHARE})")
                out.append(" " * n)
            else:
                stack.append(iter(child.childNodes))
    return "".join(out)


# --------------------------------------------------------------------------- PDF

def read_pdf(path: Path, limits: UnpackLimits | None = None, notes: list[str] | None = None) -> tuple[str, None]:
    """PDF: text layer extracted by pdfminer.six (pages end with a form feed).

    Streams are decoded under ``limits`` (:func:`_pdf_budget`).
    """
    from pdfminer.high_level import extract_text
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psexceptions import PSException

    limits = limits or UnpackLimits.from_mb()
    with path.open("rb") as fh:
        head = fh.read(1024)
        fh.seek(max(0, path.stat().st_size - 2048))
        tail = fh.read()
    if b"%PDF-" not in head:
        raise CorruptFileError(path, "not a PDF file (no %PDF header)")
    if b"%%EOF" not in tail:
        raise CorruptFileError(path, "truncated PDF (the end-of-file marker is missing)")
    from pdfminer.pdfpage import PDFPage

    try:
        with _pdf_budget(path, limits) as budget:
            with path.open("rb") as fh:
                n_pages = sum(1 for _ in PDFPage.get_pages(fh))
            if n_pages == 0:
                raise CorruptFileError(path, "corrupt PDF (no readable page)")
            text = extract_text(str(path), laparams=LAParams())
        if budget.error is not None:  # raised inside pdfminer, and swallowed there
            raise budget.error
    except InputFileError:
        raise
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise CorruptFileError(path, "encrypted PDF: remove the password first") from None
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise CorruptFileError(path, f"corrupt PDF ({exc.__class__.__name__})") from None
    except Exception as exc:  # pdfminer raises many kinds on damaged files
        raise CorruptFileError(path, f"corrupt PDF ({exc.__class__.__name__}: {_one_line(exc)})") from None
    if not text.replace("\x0c", "").strip():
        raise NoTextLayerError(path, "no text layer, OCR needed (the pages hold no extractable text)")
    return text, None


class _StreamBudget:
    """What the streams of one PDF may decode to: each stream, and all of them together."""

    def __init__(self, path: Path, limits: UnpackLimits) -> None:
        self.path = path
        self.limits = limits
        self.total = 0
        self.streams: list[tuple[str, int]] = []  # (name, packed size) of the streams being decoded
        self.error: DecompressionBombError | None = None

    def charge(self, produced: int, new: int) -> None:
        """A decoder has produced ``new`` more bytes, ``produced`` in all for the filter it is running."""
        self.total += new
        what, packed = self.streams[-1] if self.streams else ("a PDF stream", None)
        try:
            self.limits.check(self.path, what, produced, packed, more=True)
            self.limits.check_total(self.path, "the PDF", self.total, more=True)
        except DecompressionBombError as exc:
            self.error = self.error or exc
            raise


_PDF_BUDGET: contextvars.ContextVar[_StreamBudget | None] = contextvars.ContextVar("ptce_pdf_budget", default=None)


@contextlib.contextmanager
def _pdf_budget(path: Path, limits: UnpackLimits) -> Iterator[_StreamBudget]:
    """Context in which pdfminer.six decodes the streams of ``path`` under ``limits``.

    pdfminer decodes a stream whole (``zlib.decompress``, and its own LZW,
    RunLength and CCITT decoders): a 1.5 MB flate stream of zeros becomes
    1.5 GB at once. The decoders it calls from ``pdfminer.pdftypes`` are
    replaced, once, by wrappers (:func:`_install_pdf_guard`) that decode
    step by step and count against the budget of the PDF being read here;
    outside this context they behave as the originals.
    """
    _install_pdf_guard()
    budget = _StreamBudget(path, limits)
    token = _PDF_BUDGET.set(budget)
    try:
        yield budget
    finally:
        _PDF_BUDGET.reset(token)


class _BoundedDecompressor:
    """A ``zlib.decompressobj`` whose output is charged to a budget as it comes."""

    def __init__(self, inner, budget: _StreamBudget, produced: int = 0) -> None:
        self._inner = inner
        self._budget = budget
        self.produced = produced

    def __getattr__(self, name: str):
        return getattr(self._inner, name)  # eof, unused_data, unconsumed_tail

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        """At most a megabyte per step: a bomb is stopped before its output is allocated."""
        if max_length > 0:  # the caller takes care of unconsumed_tail
            out = self._inner.decompress(data, min(max_length, _CHUNK))
            self._charge(out)
            return out
        parts = []
        out = self._inner.decompress(data, _CHUNK)
        while True:
            self._charge(out)
            parts.append(out)
            if not out or (not self._inner.unconsumed_tail and len(out) < _CHUNK):
                break
            out = self._inner.decompress(self._inner.unconsumed_tail, _CHUNK)
        return b"".join(parts)

    def flush(self, *args) -> bytes:
        data = self.decompress(self._inner.unconsumed_tail) if self._inner.unconsumed_tail else b""
        rest = self._inner.flush(*args)
        self._charge(rest)
        return data + rest

    def copy(self) -> "_BoundedDecompressor":
        return _BoundedDecompressor(self._inner.copy(), self._budget, self.produced)

    def _charge(self, data: bytes) -> None:
        if data:
            self.produced += len(data)
            self._budget.charge(self.produced, len(data))


class _GuardedZlib:
    """The ``zlib`` pdfminer.pdftypes sees: the real module, with bounded decompression under a budget."""

    error = zlib.error

    def __getattr__(self, name: str):
        return getattr(zlib, name)

    @staticmethod
    def decompressobj(*args, **kwargs):
        inner = zlib.decompressobj(*args, **kwargs)
        budget = _PDF_BUDGET.get()
        return inner if budget is None else _BoundedDecompressor(inner, budget)

    @staticmethod
    def decompress(data, wbits: int = zlib.MAX_WBITS, bufsize: int = zlib.DEF_BUF_SIZE) -> bytes:
        """``zlib.decompress``, a chunk at a time: same result, same errors (data after the end is ignored)."""
        budget = _PDF_BUDGET.get()
        if budget is None:
            return zlib.decompress(data, wbits, bufsize)
        d = _BoundedDecompressor(zlib.decompressobj(wbits), budget)
        out = d.decompress(data)
        if not d.eof:
            raise zlib.error("Error -5 while decompressing data: incomplete or truncated stream")
        return out


def _decompress_corrupted(data: bytes) -> bytes:
    """pdfminer's ``decompress_corrupted`` (a flate stream whose end is damaged), in linear time.

    Like the original it inflates byte by byte and keeps what came out
    before an error in the last three bytes (the checksum); the original
    concatenates bytes objects, quadratic on a long stream.
    """
    d = _GuardedZlib.decompressobj()
    parts: list[bytes] = []
    for i in range(len(data)):
        try:
            parts.append(d.decompress(data[i:i + 1]))
        except zlib.error:
            if i < len(data) - 3:
                raise
            break
    return b"".join(parts)


def _bounded_lzwdecode(data: bytes) -> bytes:
    from pdfminer.lzw import LZWDecoder

    budget = _PDF_BUDGET.get()
    parts, produced = [], 0
    for chunk in LZWDecoder(io.BytesIO(data)).run():
        parts.append(chunk)
        if budget is not None and chunk:
            produced += len(chunk)
            budget.charge(produced, len(chunk))
    return b"".join(parts)


def _bounded_rldecode(data: bytes) -> bytes:
    """pdfminer's RunLength decoder, once the decoded size is known to fit (it holds a list of ints)."""
    from pdfminer.runlength import rldecode

    budget = _PDF_BUDGET.get()
    if budget is not None:
        size, i = 0, 0
        while i < len(data) and data[i] != 128:
            length = data[i]
            size += length + 1 if length < 128 else 257 - length
            i += length + 2 if length < 128 else 2
            if size > budget.limits.part:
                break
        budget.charge(size, size)
    return rldecode(data)


def _bounded_ccittfaxdecode(data: bytes, params: dict) -> bytes:
    """pdfminer's CCITT fax decoder with a bounded width, output counted line by line and kept in a list
    (the original appends to a bytes object: quadratic)."""
    from pdfminer.ccitt import CCITTFaxDecoder, ccittfaxdecode

    budget = _PDF_BUDGET.get()
    if budget is None or not isinstance(params, dict) or params.get("K") != -1 \
            or not isinstance(params.get("Columns"), int):
        return ccittfaxdecode(data, params)
    columns = params["Columns"]
    if not 0 < columns <= MAX_CCITT_COLUMNS:
        what = budget.streams[-1][0] if budget.streams else "a PDF stream"
        budget.error = budget.error or DecompressionBombError(
            budget.path, f"{what}: a CCITT fax image {columns:,} pixels wide (limit {MAX_CCITT_COLUMNS:,}): refused")
        raise budget.error

    class Decoder(CCITTFaxDecoder):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.lines: list[bytes] = []
            self.produced = 0

        def output_line(self, y: int, bits) -> None:
            self._buf = b""
            super().output_line(y, bits)
            self.lines.append(self._buf)
            self.produced += len(self._buf)
            budget.charge(self.produced, len(self._buf))

        def close(self) -> bytes:
            return b"".join(self.lines)

    decoder = Decoder(columns, bytealign=params.get("EncodedByteAlign"), reversed=params.get("BlackIs1"))
    decoder.feedbytes(data)
    return decoder.close()


_PDF_GUARD_INSTALLED = False


def _install_pdf_guard() -> None:
    """Replace the decoders pdfminer.pdftypes calls by the bounded ones above (once per process)."""
    global _PDF_GUARD_INSTALLED
    if _PDF_GUARD_INSTALLED:
        return
    from pdfminer import pdftypes

    names = ("zlib", "decompress_corrupted", "lzwdecode", "rldecode", "ccittfaxdecode")
    missing = [n for n in names if not hasattr(pdftypes, n)]
    if missing or not hasattr(pdftypes.PDFStream, "decode"):
        raise RuntimeError(f"pdfminer.six changed: pdftypes has no {', '.join(missing) or 'PDFStream.decode'}; "
                           "the PDF stream limits cannot be installed")
    decode = pdftypes.PDFStream.decode

    def guarded_decode(stream) -> None:
        budget = _PDF_BUDGET.get()
        if budget is None:
            return decode(stream)
        name = f"PDF stream {stream.objid} {stream.genno} R" if stream.objid is not None else "a PDF stream"
        budget.streams.append((name, len(stream.rawdata or b"")))
        try:
            return decode(stream)
        finally:
            budget.streams.pop()

    pdftypes.zlib = _GuardedZlib()
    pdftypes.decompress_corrupted = _decompress_corrupted
    pdftypes.lzwdecode = _bounded_lzwdecode
    pdftypes.rldecode = _bounded_rldecode
    pdftypes.ccittfaxdecode = _bounded_ccittfaxdecode
    pdftypes.PDFStream.decode = guarded_decode
    _PDF_GUARD_INSTALLED = True


_READERS: dict[str, Callable[[Path], tuple[str, str | None]]] = {
    "txt": read_text_file,
    "md": read_text_file,
    "html": read_html,
    "docx": read_docx,
    "odt": read_odt,
    "pdf": read_pdf,
}
