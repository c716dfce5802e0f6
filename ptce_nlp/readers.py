"""Readers: one function per format, each ``Path -> (text, encoding)``.

The text a reader returns is the document's *original text*: every offset the
toolkit writes refers to it. Text formats are decoded as they are (CRLF kept;
a byte-order mark is not part of the text). Container formats are extracted
with well-kept libraries: pdfminer.six (PDF), python-docx (DOCX), odfpy (ODT),
BeautifulSoup with lxml (HTML). Paragraphs of container formats are separated
by a blank line.

Every problem raises a subclass of :class:`~ptce_nlp.errors.InputFileError`
whose message names the file and the reason in one line.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path
from typing import Callable

from .errors import (CorruptFileError, EmptyFileError, FileTooLargeError, NoTextLayerError,
                     NotTextError, UnreadableFileError, UnsupportedFormatError)
from .types import FORMATS

#: Default size limit of an input file, in megabytes.
MAX_FILE_MB = 200.0
#: Longest line accepted in a text file, in bytes: prose has line breaks.
MAX_LINE_BYTES = 1_000_000
_CHUNK = 1 << 20
_WESTERN = ["cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850"]


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
        Files larger than this are refused (FileTooLargeError).

    Raises
    ------
    InputFileError
        Any subclass, with a one-line message naming the file and the reason.
    """
    path = Path(path)
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
    try:
        text, encoding = _READERS[fmt](path)
    except OSError as exc:
        raise UnreadableFileError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not text.strip():
        raise EmptyFileError(path, "no text in the file (only white space)")
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


def read_text_file(path: Path) -> tuple[str, str]:
    """Plain text and Markdown: the decoded file as it is."""
    return decode_bytes(_check_lines(path), path)


# --------------------------------------------------------------------------- HTML

_DROP_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside",
              "form", "button", "svg", "iframe", "head")
_BLOCK_TAGS = ("p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
               "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "tr", "td", "th",
               "figure", "figcaption", "address", "hr", "title")


def read_html(path: Path) -> tuple[str, str]:
    """HTML: visible text of the page; block elements become paragraphs."""
    from bs4 import BeautifulSoup, UnicodeDammit

    raw = _check_lines(path)
    dammit = UnicodeDammit(raw, ["utf-8", "cp1252"], is_html=True)
    if dammit.unicode_markup is None:
        raise NotTextError(path, "undecodable HTML")
    if "\x00" in dammit.unicode_markup:
        raise NotTextError(path, "binary content (NUL bytes): not an HTML file")
    soup = BeautifulSoup(dammit.unicode_markup, "lxml")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text()
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in block.split("\n")]
        block = "\n".join(line for line in lines if line)
        if block:
            paragraphs.append(block)
    return "\n\n".join(paragraphs), dammit.original_encoding or "utf-8"


# --------------------------------------------------------------------------- DOCX

def read_docx(path: Path) -> tuple[str, None]:
    """DOCX: body paragraphs and table rows in document order."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(path):
        raise CorruptFileError(path, "not a valid .docx file (not a zip archive)")
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise CorruptFileError(path, f"not a valid .docx file ({exc.__class__.__name__})") from None
    except Exception as exc:  # lxml errors of a damaged document part
        raise CorruptFileError(path, f"damaged .docx file ({exc.__class__.__name__}: {exc})") from None
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            if item.text.strip():
                blocks.append(item.text.strip())
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [c.text.strip() for c in row.cells if c.text.strip()]
                if cells:
                    blocks.append(" | ".join(dict.fromkeys(cells)))
    return "\n\n".join(blocks), None


# --------------------------------------------------------------------------- ODT

def read_odt(path: Path) -> tuple[str, None]:
    """ODT: headings and paragraphs (including list items) in document order."""
    from odf import teletype
    from odf.element import Element
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    if not zipfile.is_zipfile(path):
        raise CorruptFileError(path, "not a valid .odt file (not a zip archive)")
    try:
        document = load(str(path))
    except Exception as exc:  # odfpy raises many kinds on damaged packages
        raise CorruptFileError(path, f"not a valid .odt file ({exc.__class__.__name__})") from None
    blocks: list[str] = []

    def walk(node: Element) -> None:
        for child in node.childNodes:
            if child.nodeType != child.ELEMENT_NODE:
                continue
            if child.qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                text = teletype.extractText(child).strip()
                if text:
                    blocks.append(text)
            else:
                walk(child)

    walk(document.text)
    return "\n\n".join(blocks), None


# --------------------------------------------------------------------------- PDF

def read_pdf(path: Path) -> tuple[str, None]:
    """PDF: text layer extracted by pdfminer.six (pages end with a form feed)."""
    from pdfminer.high_level import extract_text
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psexceptions import PSException

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
        with path.open("rb") as fh:
            n_pages = sum(1 for _ in PDFPage.get_pages(fh))
        if n_pages == 0:
            raise CorruptFileError(path, "corrupt PDF (no readable page)")
        text = extract_text(str(path), laparams=LAParams())
    except CorruptFileError:
        raise
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise CorruptFileError(path, "encrypted PDF: remove the password first") from None
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise CorruptFileError(path, f"corrupt PDF ({exc.__class__.__name__})") from None
    except Exception as exc:  # pdfminer raises many kinds on damaged files
        raise CorruptFileError(path, f"corrupt PDF ({exc.__class__.__name__}: {exc})") from None
    if not text.replace("\x0c", "").strip():
        raise NoTextLayerError(path, "no text layer, OCR needed (the pages hold no extractable text)")
    return text, None


_READERS: dict[str, Callable[[Path], tuple[str, str | None]]] = {
    "txt": read_text_file,
    "md": read_text_file,
    "html": read_html,
    "docx": read_docx,
    "odt": read_odt,
    "pdf": read_pdf,
}
