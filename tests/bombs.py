"""Builders of hostile files (decompression bombs, DOCTYPEs, deep nesting) that stay small on disk.

Bombs are made from real documents (``helpers.make_docx`` / ``make_odt``) whose main XML part is replaced.

A bomb's compressed data is made without ever holding its uncompressed
content: a block of compressed data ending with a full flush can be repeated
(no back-reference crosses it), and an empty final block closes the stream.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

MB = 1 << 20
_FINAL_EMPTY_BLOCK = b"\x03\x00"  # raw deflate: BFINAL=1, fixed Huffman, end-of-block


@dataclass
class Deflated:
    """Raw deflate data with the CRC-32 / Adler-32 and size of what it decompresses to."""

    raw: bytes
    size: int
    crc32: int
    adler32: int


def _flushed(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)


def deflate_repeat(chunk: bytes, times: int, *, head: bytes = b"", tail: bytes = b"",
                   checksums: bool = True) -> Deflated:
    """Raw deflate of ``head + chunk * times + tail``; ``checksums=False`` skips the (slow) sums."""
    block = _flushed(chunk)
    raw = _flushed(head) + block * times + _flushed(tail) + _FINAL_EMPTY_BLOCK
    crc, adler = 0, 1
    if checksums:
        crc, adler = zlib.crc32(head), zlib.adler32(head)
        for _ in range(times):
            crc, adler = zlib.crc32(chunk, crc), zlib.adler32(chunk, adler)
        crc, adler = zlib.crc32(tail, crc), zlib.adler32(tail, adler)
    return Deflated(raw, len(head) + len(chunk) * times + len(tail), crc, adler)


def zlib_stream(d: Deflated) -> bytes:
    """The zlib (RFC 1950) form of raw deflate data, as in a PDF /FlateDecode stream."""
    return b"\x78\xda" + d.raw + struct.pack(">I", d.adler32)


@dataclass
class RawMember:
    """A zip member given as raw deflate data, with the sizes the headers declare."""

    deflated: Deflated
    declared_size: int | None = None  # what the headers claim (default: the true size)
    method: int = zipfile.ZIP_DEFLATED


def write_zip(path: Path, members: list[tuple[str, bytes | RawMember]]) -> Path:
    """A zip archive (no zip64) whose members are bytes (deflated here) or RawMember."""
    out = io.BytesIO()
    central = []
    for name, member in members:
        if isinstance(member, bytes):
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            member = RawMember(Deflated(c.compress(member) + c.flush(), len(member), zlib.crc32(member), 0))
        d = member.deflated
        size = d.size if member.declared_size is None else member.declared_size
        fname = name.encode("utf-8")
        offset = out.tell()
        fields = (20, 0, member.method, 0, 0x21, d.crc32, len(d.raw), size, len(fname), 0)
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + fname + d.raw)
        central.append(struct.pack("<IH" + "HHHHHIIIHH" + "HHHII", 0x02014B50, 20, *fields,
                                   0, 0, 0, 0, offset) + fname)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))
    path.write_bytes(out.getvalue())
    return path


def zip_members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def replace_member(members: list[tuple[str, bytes]], name: str, new) -> list[tuple[str, bytes | RawMember]]:
    assert name in [n for n, _ in members], name
    return [(n, new if n == name else data) for n, data in members]


def split_after(xml: bytes, marker: bytes) -> tuple[bytes, bytes]:
    """``xml`` cut right after the end of the start tag ``marker`` (e.g. ``b"<w:body"``)."""
    at = xml.index(b">", xml.index(marker)) + 1
    return xml[:at], xml[at:]


# --------------------------------------------------------------------------- documents

#: One MB of well-formed filler (text nodes stay under libxml2's 10 MB limit).
_BLANKS = (b"<!---->" + b" " * 4089) * 256


def bomb_docx(path: Path, template: Path, *, mb: int, declared_size: int | None = None,
              checksums: bool = False) -> Path:
    """A .docx whose word/document.xml holds ``mb`` MB of blanks and empty comments in its body."""
    members = zip_members(template)
    head, tail = split_after(dict(members)["word/document.xml"], b"<w:body")
    d = deflate_repeat(_BLANKS, mb, head=head, tail=tail, checksums=checksums)
    return write_zip(path, replace_member(members, "word/document.xml", RawMember(d, declared_size)))


def bomb_odt(path: Path, template: Path, *, mb: int, checksums: bool = False) -> Path:
    """An .odt whose content.xml holds ``mb`` MB of blanks and empty comments inside office:text."""
    members = zip_members(template)
    head, tail = split_after(dict(members)["content.xml"], b"<office:text")
    d = deflate_repeat(_BLANKS, mb, head=head, tail=tail, checksums=checksums)
    # mimetype first and stored, as ODF wants
    out = [(n, RawMember(Deflated(data, len(data), zlib.crc32(data), 0), method=zipfile.ZIP_STORED))
           if n == "mimetype" else (n, data) for n, data in members]
    return write_zip(path, replace_member(out, "content.xml", RawMember(d)))


def pdf_bytes(streams: list[bytes], *, filters: str = "/FlateDecode") -> bytes:
    """A PDF with one page per content stream (already encoded with ``filters``) and Helvetica as F1."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", None,
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for data in streams:
        page_no = len(objects) + 1
        kids.append(f"{page_no} 0 R".encode())
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R "
                       f">> >> /Contents {page_no + 1} 0 R >>".encode())
        objects.append(b"<< /Length %d /Filter %s >>\nstream\n" % (len(data), filters.encode()) + data
                       + b"\nendstream")
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(kids)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def text_stream(text: str) -> bytes:
    return b"BT /F1 12 Tf 72 760 Td (" + text.encode("cp1252") + b") Tj ET\n"


def bomb_pdf(path: Path, *, mb: int, text: str = "Texte visible de la page.", checksums: bool = True) -> Path:
    """A one-page PDF whose /FlateDecode content stream decodes to ``mb`` MB (blanks after a line of text)."""
    d = deflate_repeat(b" " * MB, mb, head=text_stream(text), checksums=checksums)
    path.write_bytes(pdf_bytes([zlib_stream(d)]))
    return path


def lzw_zeros(cycles: int) -> bytes:
    """LZW data (PDF /LZWDecode, early change) of about 7.4 MB of NUL bytes per cycle, ~5 KB each."""
    bits: list[str] = []
    nbits = 9
    for _ in range(cycles):
        bits.append(format(256, f"0{nbits}b"))  # clear table
        nbits = 9
        bits.append(format(0, "09b"))           # a literal NUL
        for code in range(258, 4096):           # each code: the previous run plus one NUL
            bits.append(format(code, f"0{nbits}b"))
            length = code + 1                   # the decoder's table length after this code
            nbits = {511: 10, 1023: 11, 2047: 12}.get(length, nbits)
    stream = "".join(bits)
    stream += "0" * (-len(stream) % 8)
    return int(stream, 2).to_bytes(len(stream) // 8, "big")


def deep_odt(path: Path, template: Path, inner: bytes) -> Path:
    """The template .odt (``make_odt`` of one paragraph MARQUE) with that paragraph replaced by ``inner`` (raw XML)."""
    members = zip_members(template)
    content = dict(members)["content.xml"].replace(b"<text:p>MARQUE</text:p>", inner)
    out = [(n, RawMember(Deflated(data, len(data), zlib.crc32(data), 0), method=zipfile.ZIP_STORED))
           if n == "mimetype" else (n, data) for n, data in members]
    return write_zip(path, replace_member(out, "content.xml", content))
