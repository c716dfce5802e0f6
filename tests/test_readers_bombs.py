"""Hostile files: decompression bombs, DOCTYPEs with entities, absurd nesting and repetition.

Every bomb is built here, small on disk, and read in a child process whose
address space is limited (RLIMIT_AS): a reader that unpacks a bomb dies of
MemoryError there instead of taking the machine down. The child reports its
peak resident memory, which must stay under 1 GB: VmHWM of /proc/self/status
(ru_maxrss of a child starts at its parent's size, the whole test session).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import pytest

from ptce_nlp import errors
from ptce_nlp.corpus import find_sources, iter_read
from ptce_nlp.readers import read_file

from . import bombs
from .bombs import MB
from .helpers import make_docx, make_odt

ROOT = Path(__file__).resolve().parents[1]
LIMIT_GB = 1.5   # address space of a child: a bomb unpacked in memory fails there
PEAK_MB = 1024   # what a child may really use

_PEAK = r"""
import resource
def peak_mb():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_CHILD = _PEAK + r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (int(float(sys.argv[1]) * 2**30),) * 2)
start = time.perf_counter()
result = {}
try:
    import warnings
    from ptce_nlp.readers import read_file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text, fmt, enc = read_file(sys.argv[2], max_file_mb=float(sys.argv[3]))
    result.update(outcome="read", chars=len(text), text=text[:2000], warnings=[str(w.message) for w in caught])
except BaseException as exc:
    result.update(outcome="error", type=type(exc).__name__, message=str(exc),
                  classes=[c.__name__ for c in type(exc).__mro__])
result.update(seconds=time.perf_counter() - start, peak_mb=peak_mb())
print(json.dumps(result))
"""

_CLI_CHILD = _PEAK + r"""
import atexit, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(float(sys.argv[1]) * 2**30),) * 2)
atexit.register(lambda: sys.stderr.write("PEAK_MB=%d\n" % peak_mb()))
sys.argv = ["ptce-nlp"] + sys.argv[2:]
from ptce_nlp.cli import main
main()
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def read_in_child(path: Path, *, timeout: float = 120, max_file_mb: float = 200) -> dict:
    """read_file(path) in a child limited to LIMIT_GB of address space."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(LIMIT_GB), str(path), str(max_file_mb)],
                          capture_output=True,
                          text=True, timeout=timeout, env=_env())
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_refused(result: dict, path: Path, words: str, *, cls: str = "DecompressionBombError") -> None:
    assert result["outcome"] == "error", result
    assert cls in result["classes"] and "InputFileError" in result["classes"], result
    assert result["message"].startswith(f"{path}: "), result
    assert "\n" not in result["message"]
    assert words in result["message"], result
    assert result["peak_mb"] < PEAK_MB, result


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("templates")
    return {"docx": make_docx(tmp / "t.docx", ["Le pôle territorial réunit des associations."]),
            "odt": make_odt(tmp / "t.odt", ["Le pôle territorial réunit des associations."]),
            "odt_marked": make_odt(tmp / "m.odt", ["MARQUE"])}


# --------------------------------------------------------------------------- zip bombs (docx, odt)

def test_docx_bomb_declared_size_refused_at_once(tmp_path, templates):
    path = bombs.bomb_docx(tmp_path / "bombe.docx", templates["docx"], mb=2000)  # 2.8 MB on disk
    result = read_in_child(path)
    assert_refused(result, path, "word/document.xml")
    assert "100:1" in result["message"]
    assert result["seconds"] < 5


def test_docx_bomb_with_forged_sizes_is_refused(tmp_path, templates):
    # the headers claim 4 KB; the data inflates to 1,000 MB (read whole, zipfile inflated it all at once)
    path = bombs.bomb_docx(tmp_path / "menteur.docx", templates["docx"], mb=1000, declared_size=4096)
    result = read_in_child(path)
    assert_refused(result, path, "word/document.xml", cls="CorruptFileError")


def test_zip_member_is_counted_while_it_is_inflated(tmp_path, templates, monkeypatch):
    """Whatever the zip library does with the declared size, no more than it is taken in."""
    import io
    import zipfile

    path = templates["docx"]
    real_open = zipfile.ZipFile.open

    def overflowing(self, name, *args, **kwargs):
        member = real_open(self, name, *args, **kwargs)
        if self.filename == str(path) and member.name == "word/document.xml":
            return io.BytesIO(member.read() + b" " * (3 * MB))  # more than the headers say
        return member

    monkeypatch.setattr(zipfile.ZipFile, "open", overflowing)
    with pytest.raises(errors.DecompressionBombError, match=r"word/document\.xml unpacks to more than its declared"):
        read_file(path)


def test_docx_under_the_ratio_but_over_the_part_limit(tmp_path, templates):
    """120 MB of XML packed about 60:1: over the 50 MB part limit by default, read with a higher --max-file-mb."""
    members = bombs.zip_members(templates["docx"])
    head, tail = bombs.split_after(dict(members)["word/document.xml"], b"<w:body")
    noise = os.urandom(16384).hex().encode()  # incompressible comments keep the ratio under 100:1
    chunk = (b"<!--" + noise + b"-->" + b" " * MB)[:MB]
    d = bombs.deflate_repeat(chunk, 120, head=head, tail=tail, checksums=True)
    path = bombs.write_zip(tmp_path / "gros.docx",
                           bombs.replace_member(members, "word/document.xml", bombs.RawMember(d)))
    assert d.size > 120 * MB and d.size / len(d.raw) < 100
    result = read_in_child(path)
    assert_refused(result, path, "over the 50 MB limit")
    assert "--max-file-mb" in result["message"]
    result = read_in_child(path, max_file_mb=500)
    assert result["outcome"] == "read", result
    assert result["text"] == "Le pôle territorial réunit des associations."
    assert result["peak_mb"] < PEAK_MB


def test_odt_bomb_refused(tmp_path, templates):
    path = bombs.bomb_odt(tmp_path / "bombe.odt", templates["odt"], mb=2000)
    result = read_in_child(path)
    assert_refused(result, path, "content.xml")


def test_zip_member_with_other_compression_is_refused(tmp_path, templates):
    import zipfile

    members = bombs.zip_members(templates["docx"])
    path = tmp_path / "bz2.docx"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(name, data, compress_type=zipfile.ZIP_BZIP2 if name == "word/document.xml"
                        else zipfile.ZIP_DEFLATED)
    with pytest.raises(errors.CorruptFileError, match=r"word/document\.xml: compression method 12"):
        read_file(path)


def test_media_parts_are_not_unpacked(tmp_path, templates, monkeypatch):
    """An image is not text: it is never inflated from the file (a large one costs nothing)."""
    import zipfile

    members = dict(bombs.zip_members(templates["docx"]))
    types = members["[Content_Types].xml"]
    if b'Extension="png"' not in types:
        members["[Content_Types].xml"] = types.replace(b"<Default ", b'<Default Extension="png" ContentType="image/png"/><Default ', 1)
    rels = members["word/_rels/document.xml.rels"]
    members["word/_rels/document.xml.rels"] = rels.replace(b"</Relationships>", (
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
        b'Target="media/image1.png"/></Relationships>'))
    path = bombs.write_zip(tmp_path / "image.docx", list(members.items())
                           + [("word/media/image1.png", os.urandom(3 * MB))])
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append((self.filename, name if isinstance(name, str) else name.filename))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    assert read_file(path)[0] == "Le pôle territorial réunit des associations."
    assert (str(path), "word/document.xml") in opened
    assert (str(path), "word/media/image1.png") not in opened


# --------------------------------------------------------------------------- PDF bombs

@pytest.mark.parametrize("mb, words", [
    (1500, "PDF stream 5 0 R unpacks to more than 50 MB, over the 50 MB limit for one part"),  # 1.5 MB on disk
    (200, "from 0.2 MB (over the 100:1 limit): a decompression bomb, refused"),               # 0.2 MB on disk
])
def test_pdf_flate_bomb_refused(tmp_path, mb, words):
    path = bombs.bomb_pdf(tmp_path / "bombe.pdf", mb=mb, checksums=False)
    result = read_in_child(path)
    assert_refused(result, path, words)
    assert result["seconds"] < 5


def test_pdf_lzw_bomb_refused(tmp_path):
    data = bombs.lzw_zeros(200)  # ~1 MB that decodes to ~1,470 MB
    path = tmp_path / "lzw.pdf"
    path.write_bytes(bombs.pdf_bytes([data], filters="/LZWDecode"))
    result = read_in_child(path)
    assert_refused(result, path, "PDF stream")


def test_pdf_runlength_over_the_part_limit_refused(tmp_path):
    path = tmp_path / "rle.pdf"
    path.write_bytes(bombs.pdf_bytes([b"\x81 " * (1 << 20) + b"\x80"], filters="/RunLengthDecode"))  # 128 MB
    result = read_in_child(path)
    assert_refused(result, path, "over the 50 MB limit")


def test_pdf_ccitt_absurd_width_refused(tmp_path):
    path = tmp_path / "fax.pdf"
    path.write_bytes(bombs.pdf_bytes([b"\x00" * 64],
                                     filters="/CCITTFaxDecode /DecodeParms << /K -1 /Columns 1000000000 >>"))
    result = read_in_child(path)
    assert_refused(result, path, "1,000,000,000 pixels wide")


def test_pdf_damaged_flate_stream_is_read_in_linear_time(tmp_path):
    words = " ".join(f"mot{i}" for i in range(150_000)).encode()
    body = bombs.text_stream("Une page lisible.") + b"% " + words + b"\n"
    damaged = zlib.compress(body)[:-4] + b"\x00\x00\x00\x00"  # wrong checksum: pdfminer's byte-by-byte fallback
    path = tmp_path / "abime.pdf"
    path.write_bytes(bombs.pdf_bytes([damaged]))
    result = read_in_child(path, timeout=60)
    assert result["outcome"] == "read", result
    assert "Une page lisible." in result["text"]
    assert result["seconds"] < 20


# --------------------------------------------------------------------------- batch

def test_batch_keeps_the_good_files_and_exits_3(tmp_path, templates):
    folder = tmp_path / "lot"
    folder.mkdir()
    bombs.bomb_docx(folder / "bombe.docx", templates["docx"], mb=1200)
    bombs.bomb_odt(folder / "bombe.odt", templates["odt"], mb=2800)
    bombs.bomb_pdf(folder / "bombe.pdf", mb=1500, checksums=False)
    (folder / "bon.txt").write_text("Le pôle territorial réunit des associations.", encoding="utf-8")
    make_docx(folder / "bon2.docx", ["Un deuxième document lisible."])
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", _CLI_CHILD, "2", "ingest", str(folder), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=_env())
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for name in ("bombe.docx", "bombe.odt", "bombe.pdf"):
        lines = [line for line in proc.stderr.splitlines() if line.startswith(f"Error: {folder / name}: ")]
        assert len(lines) == 1 and " unpacks to " in lines[0], proc.stderr
    peak = int(proc.stderr.rsplit("PEAK_MB=", 1)[1].split()[0])
    assert peak < PEAK_MB, proc.stderr
    documents = (out / "documents.csv").read_text("utf-8")
    assert "bon," in documents and "bon2," in documents and "bombe" not in documents


_INGEST_CHILD = _PEAK + r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(float(sys.argv[1]) * 2**30),) * 2)
from ptce_nlp.ingest import ingest
result = ingest(sys.argv[2])
print(json.dumps({"documents": [d.doc_id for d in result.documents],
                  "failures": [[f.path, f.reason] for f in result.failures],
                  "peak_mb": peak_mb()}))
"""


def test_library_batch_reports_each_bomb(tmp_path, templates):
    folder = tmp_path / "lot"
    folder.mkdir()
    bombs.bomb_docx(folder / "bombe.docx", templates["docx"], mb=2000)
    bombs.bomb_pdf(folder / "bombe.pdf", mb=1500, checksums=False)
    (folder / "bon.txt").write_text("Le pôle territorial réunit des associations.", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _INGEST_CHILD, "2", str(folder)], capture_output=True, text=True,
                          timeout=300, env=_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["documents"] == ["bon"]
    assert sorted(Path(path).name for path, _ in result["failures"]) == ["bombe.docx", "bombe.pdf"]
    assert all(" unpacks to " in reason for _, reason in result["failures"]), result
    assert result["peak_mb"] < PEAK_MB


# --------------------------------------------------------------------------- legitimate large files

def _paragraphs(n: int) -> list[str]:
    import random

    rng = random.Random(0)
    words = ("le pôle territorial de coopération économique réunit des associations coopératives et la "
             "communauté de communes autour d'une gouvernance collégiale et démocratique").split()
    return [" ".join(rng.choice(words) for _ in range(60)) + "." for _ in range(n)]


def test_large_real_docx_is_read(tmp_path, templates):
    """A 300-page-like document: 12 MB of XML (Word's run markup), plus an 8 MB picture."""
    members = bombs.zip_members(templates["docx"])
    head, tail = bombs.split_after(dict(members)["word/document.xml"], b"<w:body")
    tail = tail[tail.index(b"</w:p>") + len(b"</w:p>"):]  # drop the template's paragraph
    run = ('<w:r w:rsidRPr="00A1B2C3"><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri"/>'
           '<w:sz w:val="22"/><w:lang w:val="fr-FR"/></w:rPr><w:t xml:space="preserve">{}</w:t></w:r>')
    paragraphs = _paragraphs(12000)
    body = "".join('<w:p w:rsidR="00D4E5F6"><w:pPr><w:jc w:val="both"/></w:pPr>'
                   + "".join(run.format(part) for part in (p[:120], p[120:240], p[240:])) + "</w:p>"
                   for p in paragraphs).encode("utf-8")
    xml = head + body + tail
    assert len(xml) > 12 * MB
    path = bombs.write_zip(tmp_path / "rapport.docx", bombs.replace_member(members, "word/document.xml", xml)
                           + [("word/media/image1.png", os.urandom(8 * MB))])
    result = read_in_child(path)
    assert result["outcome"] == "read", result
    assert result["text"].startswith(paragraphs[0][:200])
    assert result["chars"] == len("\n\n".join(paragraphs))
    assert result["peak_mb"] < PEAK_MB


def test_large_real_odt_is_read(tmp_path):
    paragraphs = _paragraphs(6000)
    path = make_odt(tmp_path / "rapport.odt", paragraphs)
    text = read_file(path)[0]
    assert text == "\n\n".join(paragraphs)


def test_pdf_stream_over_the_floor_with_a_normal_ratio_is_read(tmp_path):
    """A 4 MB content stream that compresses like real content (about 2:1) is read."""
    noise = os.urandom(2 * MB).hex().encode()
    body = bombs.text_stream("Une page dense.") + b"".join(b"% " + noise[i:i + 64] + b"\n"
                                                           for i in range(0, len(noise), 64))
    path = tmp_path / "dense.pdf"
    path.write_bytes(bombs.pdf_bytes([zlib.compress(body)]))
    assert "Une page dense." in read_file(path)[0]


# --------------------------------------------------------------------------- DOCTYPE and entities

_DOCTYPE = b'<!DOCTYPE {root} [<!ENTITY e "ENTITE"> <!ENTITY x SYSTEM "file:///etc/hostname">]>'


def _with_doctype(members, member: str, root: bytes, text: bytes):
    xml = dict(members)[member]
    at = xml.index(b"<" + root)
    xml = xml[:at] + _DOCTYPE.replace(b"{root}", root) + xml[at:]
    return bombs.replace_member(members, member, xml.replace(b"MARQUE", text))


def test_docx_doctype_text_after_an_entity_is_kept_and_reported(tmp_path):
    template = make_docx(tmp_path / "t.docx", ["MARQUE"])
    members = _with_doctype(bombs.zip_members(template), "word/document.xml", b"w:document",
                            b"Avant &e; milieu &x; fin du paragraphe.")
    path = bombs.write_zip(tmp_path / "entites.docx", members)
    with pytest.warns(errors.InputFileWarning) as caught:
        text = read_file(path)[0]
    assert text == "Avant  milieu  fin du paragraphe."  # nothing expanded, nothing fetched
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert messages[0].startswith(f"{path}: word/document.xml: ")
    assert "2 entity references" in messages[0] and "&e;" in messages[0] and "&x;" in messages[0]


def test_odt_doctype_is_read_without_entities(tmp_path, templates):
    members = [(n, d) for n, d in bombs.zip_members(templates["odt_marked"])]
    members = _with_doctype(members, "content.xml", b"office:document-content", b"Avant &e; fin.")
    members = [(n, bombs.RawMember(bombs.Deflated(d, len(d), zlib.crc32(d), 0), method=0)) if n == "mimetype"
               else (n, d) for n, d in members]
    path = bombs.write_zip(tmp_path / "entites.odt", members)
    with pytest.warns(errors.InputFileWarning, match=r"content\.xml: .*1 entity reference .*&e;"):
        text = read_file(path)[0]
    assert text == "Avant  fin."


def test_doctype_warning_is_given_on_every_run_despite_the_cache(tmp_path):
    template = make_docx(tmp_path / "t.docx", ["MARQUE"])
    members = _with_doctype(bombs.zip_members(template), "word/document.xml", b"w:document", b"Avant &e; fin.")
    path = bombs.write_zip(tmp_path / "entites.docx", members)
    sources, _ = find_sources([path])
    for _ in range(2):
        with pytest.warns(errors.InputFileWarning, match="entity reference"):
            [doc] = list(iter_read(sources, cache_dir=tmp_path / "cache"))
        assert doc.text == "Avant  fin."


def test_doctype_without_references_reads_silently(tmp_path):
    template = make_docx(tmp_path / "t.docx", ["MARQUE"])
    members = _with_doctype(bombs.zip_members(template), "word/document.xml", b"w:document", b"Texte simple.")
    # entities declared, never used
    path = bombs.write_zip(tmp_path / "doctype.docx", members)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_file(path)[0] == "Texte simple."


@pytest.mark.parametrize("fmt", ["docx", "odt"])
def test_billion_laughs_refused_at_once(tmp_path, fmt):
    """Exponential entities (a billion laughs, in text and in an attribute): libxml2 stops them."""
    laughs = b'<!ENTITY a0 "hahahahaha">' + b"".join(
        b'<!ENTITY a%d "%s">' % (i, b"&a%d;" % (i - 1) * 10) for i in range(1, 10))
    if fmt == "docx":
        template, member, root = make_docx(tmp_path / "t.docx", ["MARQUE"]), "word/document.xml", b"w:document"
    else:
        template, member, root = make_odt(tmp_path / "t.odt", ["MARQUE"]), "content.xml", b"office:document-content"
    members = bombs.zip_members(template)
    xml = dict(members)[member]
    at = xml.index(b"<" + root)
    xml = xml[:at] + b"<!DOCTYPE r [" + laughs + b"]>" + xml[at:]
    xml = xml.replace(b"MARQUE", b"&a9;").replace(b"<" + root + b" ", b"<" + root + b' lol="&a9;" ', 1)
    path = bombs.write_zip(tmp_path / f"rires.{fmt}", bombs.replace_member(members, member, xml))
    result = read_in_child(path)
    assert_refused(result, path, member, cls="CorruptFileError")
    assert result["seconds"] < 5


# --------------------------------------------------------------------------- ODT: printing, nesting, spaces

def test_odt_damaged_part_prints_nothing(tmp_path, templates, capfd):
    members = bombs.zip_members(templates["odt"])
    members = bombs.replace_member(members, "styles.xml", b"<office:document-styles><oups></office:document-styles>")
    members = [(n, bombs.RawMember(bombs.Deflated(d, len(d), zlib.crc32(d), 0), method=0)) if n == "mimetype"
               else (n, d) for n, d in members]
    path = bombs.write_zip(tmp_path / "styles.odt", members)
    assert read_file(path)[0] == "Le pôle territorial réunit des associations."  # the text is in content.xml
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("inner", [
    b"<text:section>" * 5000 + b"<text:p>profond</text:p>" + b"</text:section>" * 5000,
    b"<text:p>" + b"<text:span>" * 5000 + b"profond" + b"</text:span>" * 5000 + b"</text:p>",
])
def test_odt_deep_nesting_is_read(tmp_path, templates, inner):
    path = bombs.deep_odt(tmp_path / "profond.odt", templates["odt_marked"], inner)
    assert read_file(path)[0] == "profond"


def test_odt_space_count_bomb_refused(tmp_path, templates):
    path = bombs.deep_odt(tmp_path / "espaces.odt", templates["odt_marked"],
                          b'<text:p>a<text:s text:c="2000000000"/>b</text:p>')
    result = read_in_child(path)
    assert_refused(result, path, "2,000,000,000 spaces")


def test_odt_spaces_are_still_expanded(tmp_path, templates):
    path = bombs.deep_odt(tmp_path / "espaces.odt", templates["odt_marked"],
                          b'<text:p>a<text:s text:c="3"/>b<text:s/>c<text:tab/>d<text:line-break/>e</text:p>')
    assert read_file(path)[0] == "a   b c\td\ne"


# --------------------------------------------------------------------------- DOCX tables

def _table_docx(tmp_path, rows_xml: bytes, name: str) -> Path:
    template = make_docx(tmp_path / "t.docx", ["MARQUE"])
    members = bombs.zip_members(template)
    xml = dict(members)["word/document.xml"]
    start = xml.index(b"<w:p>") if b"<w:p>" in xml else xml.index(b"<w:p ")
    end = xml.index(b"</w:p>", start) + len(b"</w:p>")
    xml = xml[:start] + b"<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/></w:tblGrid>" + rows_xml + b"</w:tbl>" + xml[end:]
    return bombs.write_zip(tmp_path / name, bombs.replace_member(members, "word/document.xml", xml))


def _tc(text: str, props: str = "") -> bytes:
    return f"<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>".encode()


def test_docx_cell_spanning_billions_of_columns(tmp_path):
    row = b"<w:tr>" + _tc("large", '<w:gridSpan w:val="2000000000"/>') + _tc("voisin") + b"</w:tr>"
    path = _table_docx(tmp_path, row, "span.docx")
    result = read_in_child(path)
    assert result["outcome"] == "read", result
    assert result["text"] == "large | voisin"
    assert result["peak_mb"] < PEAK_MB and result["seconds"] < 10


def test_docx_long_vertical_merge(tmp_path):
    rows = b"<w:tr>" + _tc("fusion", '<w:vMerge w:val="restart"/>') + _tc("ligne 0") + b"</w:tr>"
    rows += b"".join(b"<w:tr>" + _tc("", "<w:vMerge/>") + _tc(f"ligne {i}") + b"</w:tr>" for i in range(1, 3000))
    path = _table_docx(tmp_path, rows, "fusion.docx")
    text = read_file(path)[0]
    lines = text.split("\n\n")
    assert len(lines) == 3000
    assert lines[0] == "fusion | ligne 0" and lines[-1] == "fusion | ligne 2999"


def test_docx_tables_read_as_python_docx_lays_them_out(tmp_path):
    """Merged cells: the same text as python-docx's row.cells gives, once per row."""
    import docx

    document = docx.Document()
    table = document.add_table(rows=4, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"c{r}{c}"
    table.cell(0, 0).merge(table.cell(0, 1))          # horizontal
    table.cell(1, 2).merge(table.cell(3, 2))          # vertical
    table.cell(2, 0).merge(table.cell(3, 1))          # both
    path = tmp_path / "fusions.docx"
    document.save(str(path))
    expected = []
    for row in docx.Document(str(path)).tables[0].rows:
        cells = [c.text.strip() for c in row.cells if c.text.strip()]
        expected.append(" | ".join(dict.fromkeys(cells)))
    assert read_file(path)[0] == "\n\n".join(expected)


# --------------------------------------------------------------------------- HTML

def test_html_deep_nesting_is_refused_fast(tmp_path):
    path = tmp_path / "profond.html"
    n = 100_000
    path.write_text("<html><body>" + "<div>\n" * n + "texte profond" + "</div>\n" * n + "<p>fin</p></body></html>",
                    encoding="utf-8")
    result = read_in_child(path, timeout=120)
    assert_refused(result, path, "HTML nested more than 256 levels deep", cls="FileTooLargeError")
    assert result["seconds"] < 5


def test_html_nested_within_the_limit_is_read(tmp_path):
    path = tmp_path / "imbrique.html"
    n = 250  # html > body > 250 div > p
    path.write_text("<html><body>" + "<div>\n" * n + "<p>texte profond</p>" + "</div>\n" * n + "</body></html>",
                    encoding="utf-8")
    assert read_file(path)[0] == "texte profond"


def test_html_many_blocks_are_read_in_linear_time(tmp_path):
    """20,000 paragraphs (a long report saved as HTML) took minutes: blank lines were inserted in the tree."""
    path = tmp_path / "long.html"
    path.write_text("<html><body>" + "".join(f"<p>Paragraphe {i}.</p>" for i in range(20_000)) + "</body></html>",
                    encoding="utf-8")
    result = read_in_child(path, timeout=120)
    assert result["outcome"] == "read", result
    assert result["chars"] == len("\n\n".join(f"Paragraphe {i}." for i in range(20_000)))
    assert result["seconds"] < 15


def _html_before(markup: str) -> str:
    """read_html's text as it was computed before (quadratic in the number of blocks): the reference."""
    import re

    from bs4 import BeautifulSoup

    from ptce_nlp.readers import _BLOCK_TAGS, _DROP_TAGS

    soup = BeautifulSoup(markup, "lxml")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    paragraphs = []
    for block in re.split(r"\n\s*\n", soup.get_text()):
        lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in block.split("\n")]
        block = "\n".join(line for line in lines if line)
        if block:
            paragraphs.append(block)
    return "\n\n".join(paragraphs)


_HTML_CASES = [
    "<p>un</p>deux<div>trois<p>quatre</p>cinq</div>six",
    "<ul><li>a<br>b</li><li>c<br/><br/>d</li></ul><table><tr><td>x</td><td>y</td></tr></table>",
    "<div>avant<script>cache()</script><nav><p>menu</p></nav>après<!-- commentaire --></div>",
    "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby> texte <![CDATA[donnée]]> fin",
    "<template><p>modèle</p></template><p>vu <b>gras <i>italique</i></b> et <a href='#'>lien</a></p>",
    "<html><head><title>Titre</title><style>p{}</style></head><body><h1>Titre visible</h1>"
    "<pre>  code\n  indenté</pre><header>h</header><main><p>corps</p></main><footer>f</footer></body></html>",
    "<p>sans fin<p>deuxième<div>bloc<span>en ligne</div>après</p>",
    "<form><p>champ</p></form><svg><text>dessin</text></svg><noscript>ns</noscript><p>\u00a0fin\u00a0</p>",
    "<aside><div><aside><p>imbriqué</p></aside></div></aside><address>adresse</address><hr>après hr",
    "<dl><dt>terme</dt><dd>définition<br>suite</dd></dl><figure><img src=x><figcaption>légende</figcaption></figure>",
    "<button>ok</button><iframe>cadre</iframe><blockquote>citation</blockquote>",
]


@pytest.mark.parametrize("markup", _HTML_CASES)
def test_html_text_unchanged(tmp_path, markup):
    path = tmp_path / "page.html"
    path.write_text(markup, encoding="utf-8")
    assert read_file(path)[0] == _html_before(markup)


def test_html_corpus_pages_unchanged(corpus_dir):
    pages = sorted(corpus_dir.rglob("*.htm*"))
    assert pages
    for path in pages:
        from bs4 import UnicodeDammit

        markup = UnicodeDammit(path.read_bytes(), ["utf-8", "cp1252"], is_html=True).unicode_markup
        assert read_file(path)[0] == _html_before(markup), path


def test_cli_shows_an_input_warning_as_one_line(tmp_path):
    from click.testing import CliRunner

    from ptce_nlp.cli import main

    template = make_docx(tmp_path / "t.docx", ["MARQUE"])
    members = _with_doctype(bombs.zip_members(template), "word/document.xml", b"w:document", b"Avant &e; fin.")
    folder = tmp_path / "in"
    folder.mkdir()
    path = bombs.write_zip(folder / "entites.docx", members)
    result = CliRunner().invoke(main, ["ingest", str(folder), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if "entity reference" in line]
    assert len(warned) == 1 and warned[0].startswith(f"Warning: {path}: word/document.xml: ")
    assert "InputFileWarning" not in result.stderr and "warnings.warn" not in result.stderr
