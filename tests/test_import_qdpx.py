"""REFI-QDA import: round trips, projects edited or written by QDA tools, unsafe and inconsistent files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ptce_nlp.analysis import CODED_COLUMNS
from ptce_nlp.cli import main
from ptce_nlp.codebook import Codebook
from ptce_nlp.export import QdaImportError, newline_map, read_qdpx, write_qdpx
from ptce_nlp.export.qdpx import stable_guid
from ptce_nlp.types import Document

from .export_helpers import coded_corpus, rezip, schema, zip_members

P = "urn:QDA-XML:project:1.0"
NS = {"q": P}
KEY = ["doc_id", "start_char", "end_char", "code_id"]


@pytest.fixture(scope="session")
def corpus_coding():
    return coded_corpus()


@pytest.fixture(scope="session")
def corpus_qdpx(tmp_path_factory, corpus_coding) -> Path:
    _, result, book = corpus_coding
    return write_qdpx(result.parsed, result.coded, book, tmp_path_factory.mktemp("imp") / "ptce.qdpx")


@pytest.fixture(scope="session")
def imported(corpus_qdpx, corpus_coding):
    return read_qdpx(corpus_qdpx, codebook=corpus_coding[2])


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a project gives back (``opposed`` is the coder's, recomputed, not a coding's)."""
    columns = [c for c in CODED_COLUMNS if c != "opposed"]
    return frame[columns].sort_values(KEY, kind="stable").reset_index(drop=True)


def test_import_qdpx_round_trip_gives_the_same_segments_codes_and_texts(imported, corpus_coding):
    documents, result, book = corpus_coding
    pd.testing.assert_frame_equal(_sorted(imported.coded), _sorted(result.coded), check_dtype=False)
    assert [(d.doc_id, d.text) for d in imported.documents] == [(d.doc_id, d.text) for d in documents]
    assert {d.doc_id: dict(d.metadata) for d in imported.documents}["ptce_re_sources"] == {
        "pole": "Re-Sources", "pole_type": "ptce", "genre": "fiche", "region": "Provence-Alpes-Côte d'Azur",
        "year": "2016", "source": ""}
    assert list(imported.codebook.codes) == list(book.codes)
    assert imported.codebook.warnings == [] and imported.warnings == []
    assert set(imported.coded["coder"]) == {"ptce_nlp 0.1.0 (codage automatique)"}
    assert imported.origin == "ptce_nlp 0.1.0"
    for row in imported.coded.itertuples():
        doc = next(d for d in imported.documents if d.doc_id == row.doc_id)
        assert doc.text[row.start_char:row.end_char] == row.text


def test_import_qdpx_restores_crlf_documents_of_the_corpus(imported, corpus_coding):
    documents, _, _ = corpus_coding
    crlf = [d for d in documents if "\r\n" in d.text]
    assert {d.doc_id for d in crlf} >= {"ptce_re_sources", "cluster_lumiere"}
    back = {d.doc_id: d.text for d in imported.documents}
    assert all(back[d.doc_id] == d.text for d in crlf)


def _edit(path: Path, out: Path, edit) -> Path:
    members = zip_members(path)
    root = etree.fromstring(members["project.qde"])
    edit(root, members)
    members["project.qde"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return rezip(members, out)


def test_import_qdpx_edited_as_a_qda_tool_would(tmp_path, corpus_qdpx, corpus_coding):
    _, result, book = corpus_coding
    # a document with Windows line endings, so that the added selection's offsets must be mapped back
    spans = result.coded.groupby(["doc_id", "start_char", "end_char"])["code_id"].transform("size")
    removed = result.coded[(result.coded["doc_id"] == "ptce_re_sources") & (spans == 1)].iloc[0]
    doc = next(p.document for p in result.parsed if p.document.doc_id == removed.doc_id)
    nl = newline_map(doc.text)[1]
    coder_guid = "aaaaaaaa-0000-4000-8000-000000000001"
    new_text = doc.text[:200].replace("\r\n", "\n")
    start = new_text.index(" ", new_text.index("\n") + 5) + 1  # after the first line break
    end = new_text.index(" ", start + 5)

    def edit(root, members):
        users = root.find("q:Users", NS)
        etree.SubElement(users, f"{{{P}}}User", guid=coder_guid, name="Chercheuse A")
        sel_guid = stable_guid("selection", removed.doc_id, nl.to_exported(removed.start_char),
                               nl.to_exported(removed.end_char))
        sel = root.find(f".//q:PlainTextSelection[@guid='{sel_guid}']", NS)
        source = sel.getparent()
        source.remove(sel)
        added = etree.Element(f"{{{P}}}PlainTextSelection", guid="bbbbbbbb-0000-4000-8000-000000000002",
                              startPosition=str(start), endPosition=str(end), creatingUser=coder_guid)
        coding = etree.SubElement(added, f"{{{P}}}Coding", guid="bbbbbbbb-0000-4000-8000-000000000003",
                                  creatingUser=coder_guid)
        etree.SubElement(coding, f"{{{P}}}CodeRef", targetGUID=stable_guid("code", "valeurs_ess.cooperation"))
        first_sel = source.find("q:PlainTextSelection", NS)
        (first_sel.addprevious if first_sel is not None else source.append)(added)
        code = root.find(f".//q:Code[@guid='{stable_guid('code', 'gouvernance.democratique_deliberative')}']", NS)
        code.set("name", "Gouvernance partagée (renommé)")

    edited = _edit(corpus_qdpx, tmp_path / "edited.qdpx", edit)
    project = read_qdpx(edited, codebook=book)
    assert len(project.coded) == len(result.coded)  # one removed, one added
    key = tuple(removed[KEY])
    assert key not in set(map(tuple, project.coded[KEY].itertuples(index=False)))
    new = project.coded[project.coded["coder"] == "Chercheuse A"]
    assert len(new) == 1
    row = new.iloc[0]
    original_start = newline_map(doc.text)[1].to_original(start)
    assert "\r\n" in doc.text[:original_start] and original_start > start  # the mapping did work here
    assert (row.doc_id, row.code_id, row.category) == (removed.doc_id, "valeurs_ess.cooperation", "valeurs_ess")
    assert row.start_char == original_start
    assert row.text == doc.text[row.start_char:row.end_char]
    assert row.text.replace("\r\n", "\n") == new_text[start:end]
    assert row.segment_id.startswith("p0")
    renamed = project.coded[project.coded["code_id"] == "gouvernance.democratique_deliberative"]
    assert len(renamed) == (result.coded["code_id"] == "gouvernance.democratique_deliberative").sum() > 0
    assert set(renamed["code_name"]) == {"Gouvernance partagée (renommé)"}
    assert project.codebook["gouvernance.democratique_deliberative"].label == "Gouvernance partagée (renommé)"


def test_import_qdpx_when_the_tool_dropped_every_description(tmp_path, corpus_qdpx, corpus_coding):
    documents, result, book = corpus_coding

    def edit(root, members):
        for el in root.findall(".//q:Description", NS):
            el.getparent().remove(el)

    stripped = _edit(corpus_qdpx, tmp_path / "stripped.qdpx", edit)
    project = read_qdpx(stripped, codebook=book)
    # codes are recognised by their GUIDs, flags by the flag codes' GUIDs
    assert sorted(project.coded["code_id"]) == sorted(result.coded["code_id"])
    assert project.coded["negated"].sum() == result.coded["negated"].sum()
    assert project.coded["contrast"].sum() == result.coded["contrast"].sum()
    assert set(project.coded["term"]) == {""}
    # without the line-ending record, texts and offsets are those of the source files (\n only)
    back = {d.doc_id: d.text for d in project.documents}
    assert back["ptce_re_sources"] == next(d.text for d in documents if d.doc_id == "ptce_re_sources").replace(
        "\r\n", "\n")
    for row in project.coded.itertuples():
        assert back[row.doc_id][row.start_char:row.end_char] == row.text
    # without a codebook, ids come from the code names
    plain = read_qdpx(stripped)
    ids = plain.coded["code_id"]
    assert (ids == "valeurs_de_l_ess.insertion_par_l_activite_economique").sum() == \
        (result.coded["code_id"] == "valeurs_ess.insertion").sum() > 0
    assert plain.codebook.warnings[0].endswith("they cannot code texts automatically")


FOREIGN = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Codage manuel" origin="QualCoder 3.5">
 <Users>
  <User guid="{{10000000-0000-4000-8000-000000000001}}" name="alice"/>
  <User guid="10000000-0000-4000-8000-000000000002" name="bruno"/>
 </Users>
 <CodeBook><Codes>
  <Code guid="20000000-0000-4000-8000-000000000001" name="Valeurs" isCodable="true" color="#F80">
   <Code guid="20000000-0000-4000-8000-000000000002" name="Coopération" isCodable="true"/>
  </Code>
  <Code guid="20000000-0000-4000-8000-000000000003" name="Gouvernance" isCodable="true"/>
 </Codes></CodeBook>
 <Variables><Variable guid="30000000-0000-4000-8000-000000000001" name="pole_type" typeOfVariable="Text"/></Variables>
 <Sources>
  <TextSource guid="40000000-0000-4000-8000-000000000001" name="entretien_1.txt"
              plainTextPath="internal://40000000-0000-4000-8000-000000000001.txt">
   <PlainTextSelection guid="50000000-0000-4000-8000-000000000001" startPosition="{s1}" endPosition="{e1}"
                       creatingUser="10000000-0000-4000-8000-000000000001">
    <Coding guid="60000000-0000-4000-8000-000000000001" creatingUser="10000000-0000-4000-8000-000000000001">
     <CodeRef targetGUID="20000000-0000-4000-8000-000000000002"/></Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="50000000-0000-4000-8000-000000000002" startPosition="{s2}" endPosition="{e2}"
                       creatingUser="10000000-0000-4000-8000-000000000002">
    <Coding guid="60000000-0000-4000-8000-000000000002" creatingUser="10000000-0000-4000-8000-000000000002">
     <CodeRef targetGUID="{ref}"/></Coding>
   </PlainTextSelection>
   <VariableValue><VariableRef targetGUID="30000000-0000-4000-8000-000000000001"/><TextValue>ptce</TextValue>
   </VariableValue>
  </TextSource>
  <PDFSource guid="40000000-0000-4000-8000-000000000002" name="scan.pdf" path="internal://x.pdf"/>
 </Sources>
</Project>
"""
FOREIGN_TEXT = "Les membres coopèrent 🤝 au sein du pôle.\nLa gouvernance est collégiale."
G = "20000000-0000-4000-8000-000000000003"


def _foreign(tmp_path: Path, *, text: str = FOREIGN_TEXT, s1: int = 12, e1: int = 21, s2: int = 44, e2: int = 55,
             ref: str = G, source_member: str | None = "sources/40000000-0000-4000-8000-000000000001.txt",
             name: str = "foreign.qdpx", xml: str | None = None) -> Path:
    members = {"project.qde": (xml or FOREIGN.format(s1=s1, e1=e1, s2=s2, e2=e2, ref=ref)).encode("utf-8")}
    if source_member:
        members[source_member] = b"\xef\xbb\xbf" + text.encode("utf-8")  # some tools write a BOM
    return rezip(members, tmp_path / name)


def test_import_qdpx_of_another_tool_with_two_coders(tmp_path):
    project = read_qdpx(_foreign(tmp_path))
    assert project.name == "Codage manuel" and project.origin == "QualCoder 3.5"
    assert [(d.doc_id, d.text, d.metadata["pole_type"]) for d in project.documents] == [
        ("entretien_1", FOREIGN_TEXT, "ptce")]
    table = project.coded[["doc_id", "segment_id", "code_id", "category", "start_char", "end_char", "text",
                           "code_name", "coder"]]
    assert table.values.tolist() == [
        ["entretien_1", "p0001.s001", "valeurs.cooperation", "valeurs", 12, 21, "coopèrent", "Coopération", "alice"],
        ["entretien_1", "p0002.s001", "gouvernance", "gouvernance", 44, 55, "gouvernance", "Gouvernance", "bruno"]]
    assert project.users["name"].tolist() == ["alice", "bruno"]
    assert project.warnings == ["source 'scan.pdf' (PDFSource) skipped: only text sources are imported"]
    assert project.codebook["valeurs"].color == "#FF8800"


def test_import_qdpx_recognises_codes_by_name_with_a_codebook(tmp_path):
    book = Codebook.shipped("ptce")
    label = book["valeurs_ess.cooperation"].label
    xml = FOREIGN.replace('name="Coopération"', f'name="{label}"').format(s1=12, e1=21, s2=44, e2=55, ref=G)
    project = read_qdpx(_foreign(tmp_path, xml=xml), codebook=book)
    assert project.coded["code_id"].tolist() == ["valeurs_ess.cooperation", "gouvernance"]


# --------------------------------------------------------------------------- bad and unsafe files

def _error(path: Path, **kwargs) -> str:
    with pytest.raises(QdaImportError) as err:
        read_qdpx(path, **kwargs)
    return str(err.value)


def test_import_qdpx_refuses_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "faux.qdpx"
    path.write_text("<Project/>", "utf-8")
    assert _error(path) == f"{path}: not a .qdpx project (not a zip archive)"
    assert _error(tmp_path / "absent.qdpx") == f"{tmp_path / 'absent.qdpx'}: file not found"


@pytest.mark.parametrize("member", ["../evil.txt", "sources/../../evil.txt", "/etc/passwd", "C:/x.txt",
                                    "sources\\..\\x.txt"])
def test_import_qdpx_refuses_zip_slip_member_paths(tmp_path, member):
    path = _foreign(tmp_path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(member, b"x")
    assert _error(path) == f"{path}: zip member path {member!r} escapes the project folder; refused"


def test_import_qdpx_refuses_zip_bombs(tmp_path):
    path = _foreign(tmp_path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sources/bomb.txt", b"\0" * (4 << 20))  # 4 MiB of zeros deflate ~1000 times
    message = _error(path)
    assert message.startswith(f"{path}: zip member 'sources/bomb.txt' expands ")
    assert message.endswith(" times (limit 200): a zip bomb? refused")
    small = _foreign(tmp_path, name="small.qdpx")
    assert _error(small, max_total_bytes=1000).startswith(f"{small}: the archive expands to ")
    assert _error(small, max_total_bytes=1000).endswith(" bytes (limit 1,000): a zip bomb? refused")


def test_import_qdpx_refuses_doctype_and_entities(tmp_path):
    xml = ('<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY x SYSTEM "file:///etc/passwd">'
           '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
           '<Project xmlns="urn:QDA-XML:project:1.0" name="&x;&b;"/>')
    path = _foreign(tmp_path, xml=xml)
    assert _error(path) == (f"{path}: project.qde: XML with a DOCTYPE is refused (entities could expand or reach "
                            "outside the file)")


def test_import_qdpx_refuses_a_selection_out_of_range(tmp_path):
    path = _foreign(tmp_path, e2=500)
    assert _error(path) == (f"{path}: selection 50000000-0000-4000-8000-000000000002 in source 'entretien_1.txt': "
                            f"positions 44-500 are out of the source's range (0-{len(FOREIGN_TEXT)})")


def test_import_qdpx_refuses_a_coderef_to_no_code(tmp_path):
    path = _foreign(tmp_path, ref="99999999-0000-4000-8000-000000000009")
    assert _error(path) == (f"{path}: selection 50000000-0000-4000-8000-000000000002 in source 'entretien_1.txt': "
                            "CodeRef to no code (99999999-0000-4000-8000-000000000009)")


def test_import_qdpx_refuses_a_missing_source_file(tmp_path):
    path = _foreign(tmp_path, source_member=None)
    assert _error(path) == (f"{path}: source 'entretien_1.txt': its text file "
                            "sources/40000000-0000-4000-8000-000000000001.txt is missing from the archive")


def test_import_qdpx_refuses_a_damaged_member(tmp_path):
    path = tmp_path / "damaged.qdpx"
    data = FOREIGN_TEXT.encode("utf-8") * 50
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("project.qde", FOREIGN.format(s1=12, e1=21, s2=44, e2=55, ref=G))
        zf.writestr("sources/40000000-0000-4000-8000-000000000001.txt", data)
    raw = bytearray(path.read_bytes())
    at = raw.index(data) + 10
    raw[at] ^= 0xFF  # one flipped byte: the CRC no longer matches
    path.write_bytes(bytes(raw))
    assert _error(path) == (f"{path}: zip member 'sources/40000000-0000-4000-8000-000000000001.txt' is damaged "
                            "(Bad CRC-32 for file 'sources/40000000-0000-4000-8000-000000000001.txt')")


def test_import_qdpx_refuses_invalid_xml(tmp_path):
    path = _foreign(tmp_path, xml="<Project xmlns='urn:QDA-XML:project:1.0'><Users></Project>")
    assert _error(path).startswith(f"{path}: project.qde: invalid XML (line 1: ")


def test_cli_import_qdpx_writes_tables_or_nothing(tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    ok = runner.invoke(main, ["import-qdpx", str(_foreign(tmp_path)), "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in out.iterdir()) == ["codebook.yaml", "coded_segments.csv", "documents.csv",
                                                     "users.csv"]
    table = pd.read_csv(out / "coded_segments.csv")
    assert table.columns.tolist() == CODED_COLUMNS[:10] + ["code_name", "coder", "selection_guid",
                                                           "export_start_char", "export_end_char", "reported"]
    assert table["text"].tolist() == ["coopèrent", "gouvernance"]
    assert "Imported 1 document(s), 2 coding(s) of 2 code(s) by 2 coder(s) (alice, bruno) from QualCoder 3.5." \
        in ok.output
    bad = _foreign(tmp_path, e2=500, name="bad.qdpx")
    out2 = tmp_path / "out2"
    result = runner.invoke(main, ["import-qdpx", str(bad), "--out", str(out2)])
    assert result.exit_code == 4
    assert result.output == (f"Error: {bad}: selection 50000000-0000-4000-8000-000000000002 in source "
                             "'entretien_1.txt': positions 44-500 are out of the source's range "
                             f"(0-{len(FOREIGN_TEXT)})\n")
    assert not out2.exists()


# --------------------------------------------------------------------------- property: random texts and spans

_CHUNKS = ["a", "é", "È", "ç", "œ", "’", " ", "\u00a0", "\u202f", "\r\n", "\n", "\r", "\t", ".", "😀",
           "🇫🇷",
           "𝔘", "e\u0301", "«", "»", "\x0c", "&", "<", "PTCE"]
_BOOK = Codebook.from_dict({"name": "p", "codes": [
    {"id": "c", "label": "C"}, {"id": "c.x", "parent": "c", "label": "X", "lemmas": ["x"]},
    {"id": "c.y", "parent": "c", "label": "Y", "surface": ["y"]}]}, check_lemmas=False)


def _not_inside_crlf(text: str, offset: int) -> int:
    # an offset between '\r' and '\n' moves before the '\r' (documented); generate the others
    return offset - 1 if 0 < offset < len(text) and text[offset - 1:offset + 1] == "\r\n" else offset


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(st.sampled_from(_CHUNKS), min_size=0, max_size=60).map("".join), min_size=1,
                      max_size=3),
       data=st.data())
def test_import_qdpx_round_trip_of_random_texts_and_spans(tmp_path_factory, texts, data):
    docs = [Document(f"doc{i}", t, "txt", metadata={"pole": "P é", "year": "2020"}) for i, t in enumerate(texts)]
    rows = set()
    for d in docs:
        nl = newline_map(d.text)[1]
        n = data.draw(st.integers(0, 4))
        for _ in range(n):
            a = _not_inside_crlf(d.text, data.draw(st.integers(0, len(d.text))))
            b = _not_inside_crlf(d.text, data.draw(st.integers(0, len(d.text))))
            a, b = min(a, b), max(a, b)
            code = data.draw(st.sampled_from(["c.x", "c.y", "c"]))
            negated, contrast, reported = data.draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
            rows.add((d.doc_id, "", code, "c", "terme", a, b, d.text[a:b], negated, contrast, nl.to_exported(a),
                      nl.to_exported(b), reported, False))
    coded = pd.DataFrame(sorted(rows), columns=CODED_COLUMNS)
    path = write_qdpx(docs, coded, _BOOK, tmp_path_factory.mktemp("prop") / "p.qdpx")
    project = read_qdpx(path)
    xsd = schema("Project-mrt2019.xsd")
    assert xsd.validate(etree.fromstring(zip_members(path)["project.qde"])), xsd.error_log
    assert [(d.doc_id, d.text) for d in project.documents] == [(d.doc_id, d.text) for d in docs]
    columns = ["doc_id", "code_id", "start_char", "end_char", "text", "negated", "contrast", "export_start_char",
               "export_end_char", "reported"]
    got, want = project.coded[columns], coded[columns]
    key = ["doc_id", "start_char", "end_char", "code_id"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  want.sort_values(key).reset_index(drop=True), check_dtype=False)


# --------------------------------------------------------------------------- memory: project.qde read as a stream

_BOMB_SCRIPT = r"""
import resource, sys, time, zipfile
path, kind, cap_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
head = b'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="b"><Notes>'
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
    with zf.open("project.qde", "w", force_zip64=True) as fh:
        fh.write(head)
        if kind == "elements":   # 80 MB of tiny elements: a tree of them takes about 2 GB
            block = b'<Note guid="1"/>' * 100_000
            for _ in range(50):
                fh.write(block)
        else:                    # 120 MB of text in 8 MB descriptions (each under the parser's own node limit)
            note = b'<Note><Description>' + b'a' * (8 << 20) + b'</Description></Note>'
            for _ in range(15):
                fh.write(note)
        fh.write(b'</Notes></Project>')
resource.setrlimit(resource.RLIMIT_AS, (cap_mb << 20, cap_mb << 20))
from ptce_nlp.export import QdaImportError, read_qdpx
start = time.time()
try:
    read_qdpx(path, max_ratio=1e9)  # zip limits out of the way: the XML limits alone must hold
    print("accepted")
except QdaImportError as exc:
    print(exc)
except MemoryError:
    print("MemoryError")
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak // 1024, round(time.time() - start, 1))  # VmHWM, not ru_maxrss: that one keeps the forking parent's
"""


@pytest.mark.parametrize("kind, limit", [("elements", "2,000,000 XML elements"),
                                         ("text", "100,000,000 characters of text")])
def test_import_qdpx_bounds_memory_on_xml_bombs(tmp_path, kind, limit):
    import subprocess
    import sys

    path = tmp_path / f"{kind}.qdpx"
    proc = subprocess.run([sys.executable, "-c", _BOMB_SCRIPT, str(path), kind, "1500"], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    message, usage = proc.stdout.splitlines()
    assert path.stat().st_size < 1 << 20  # small on disk
    assert message == (f"{path}: project.qde: over {limit} (the limit for a project); too large to import, "
                       "refused")
    peak_mb, seconds = usage.split()
    assert int(peak_mb) < 400, usage  # before: 2.3 GB for 80 MB of elements (MemoryError under this cap)


def test_import_qdpx_xml_limits_can_be_lowered_and_are_named(tmp_path):
    path = _foreign(tmp_path)
    assert _error(path, max_elements=10) == (f"{path}: project.qde: over 10 XML elements (the limit for a "
                                             "project); too large to import, refused")
    assert _error(path, max_text_chars=100) == (f"{path}: project.qde: over 100 characters of text (the limit "
                                                "for a project); too large to import, refused")
    assert len(read_qdpx(path).coded) == 2


def test_import_qdpx_streamed_parse_keeps_every_part_of_a_project(tmp_path):
    # comments, processing instructions, unknown elements and notes between the parts do not disturb the reading
    xml = FOREIGN.format(s1=12, e1=21, s2=44, e2=55, ref=G)
    xml = xml.replace("<Users>", "<!-- c --><?pi x?><Users>").replace(
        "<Sources>", "<Notes><Note guid='n1'><Description>note</Description></Note></Notes><Sources>").replace(
        "<PlainTextSelection ", "<Unknown><PlainTextSelection guid='x' startPosition='0' endPosition='999'/>"
        "</Unknown><PlainTextSelection ", 1)
    project = read_qdpx(_foreign(tmp_path, xml=xml))
    assert project.coded[["code_id", "start_char", "end_char", "coder"]].values.tolist() == [
        ["valeurs.cooperation", 12, 21, "alice"], ["gouvernance", 44, 55, "bruno"]]
    assert project.documents[0].metadata["pole_type"] == "ptce"


# --------------------------------------------------------------------------- codes recognised by GUID, then by name

def test_import_qdpx_code_renamed_or_copied_in_the_tool_keeps_its_id(tmp_path, corpus_qdpx, corpus_coding):
    _, result, book = corpus_coding
    coop, mutu = stable_guid("code", "valeurs_ess.cooperation"), stable_guid("code", "valeurs_ess.mutualisation")
    copy_guid = "cccccccc-0000-4000-8000-000000000001"

    def edit(root, members):
        for el in root.findall(".//q:PlainTextSelection/q:Description", NS):  # only the codes' descriptions stay
            el.getparent().remove(el)
        # the two codes swap names in the tool (same GUIDs)
        code = root.find(f".//q:Code[@guid='{coop}']", NS)
        other = root.find(f".//q:Code[@guid='{mutu}']", NS)
        code_name, other_name = code.get("name"), other.get("name")
        code.set("name", other_name)
        other.set("name", code_name)
        # and the researcher copies a code: same name and description (with the toolkit's id line), new GUID,
        # placed before the original
        copy = etree.fromstring(etree.tostring(code))
        copy.set("guid", copy_guid)
        code.addprevious(copy)

    project = read_qdpx(_edit(corpus_qdpx, tmp_path / "renamed.qdpx", edit), codebook=book)
    for code_id in ("valeurs_ess.cooperation", "valeurs_ess.mutualisation"):
        rows = project.coded[project.coded["code_id"] == code_id]
        assert len(rows) == (result.coded["code_id"] == code_id).sum() > 0
    assert set(project.coded.loc[project.coded["code_id"] == "valeurs_ess.cooperation", "code_name"]) == {
        book["valeurs_ess.mutualisation"].label}
    assert project.codebook["valeurs_ess.cooperation"].label == book["valeurs_ess.mutualisation"].label
    copy_id = [c for c in project.codebook.codes if c not in book.codes]  # the copy gets an id of its own
    assert len(copy_id) == 1 and copy_id[0].startswith("valeurs_ess.") and copy_id[0] not in set(project.coded["code_id"])
    # without the codebook: the ids written in the descriptions, checked against the GUIDs derived from them
    plain = read_qdpx(_edit(corpus_qdpx, tmp_path / "renamed2.qdpx", edit))
    for code_id in ("valeurs_ess.cooperation", "valeurs_ess.mutualisation"):
        assert (plain.coded["code_id"] == code_id).sum() == (result.coded["code_id"] == code_id).sum()


SAME_NAMES = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Deux Autre" origin="MAXQDA 2022">
 <Users><User guid="10000000-0000-4000-8000-000000000001" name="alice"/></Users>
 <CodeBook><Codes>
  <Code guid="20000000-0000-4000-8000-000000000010" name="Valeurs" isCodable="true">
   <Code guid="20000000-0000-4000-8000-000000000011" name="Autre" isCodable="true"/>
  </Code>
  <Code guid="20000000-0000-4000-8000-000000000020" name="Gouvernance" isCodable="true">
   <Code guid="20000000-0000-4000-8000-000000000021" name=" autre " isCodable="true"/>
  </Code>
 </Codes></CodeBook>
 <Sources>
  <TextSource guid="40000000-0000-4000-8000-000000000001" name="entretien_1.txt"
              plainTextPath="internal://40000000-0000-4000-8000-000000000001.txt">
   <PlainTextSelection guid="50000000-0000-4000-8000-000000000001" startPosition="12" endPosition="21"
                       creatingUser="10000000-0000-4000-8000-000000000001">
    <Coding guid="60000000-0000-4000-8000-000000000001"><CodeRef targetGUID="20000000-0000-4000-8000-000000000011"/>
    </Coding>
    <Coding guid="60000000-0000-4000-8000-000000000002"><CodeRef targetGUID="20000000-0000-4000-8000-000000000021"/>
    </Coding>
   </PlainTextSelection>
  </TextSource>
 </Sources>
</Project>
"""


def test_import_qdpx_two_codes_of_one_name_under_different_parents(tmp_path):
    book = Codebook.from_dict({"name": "t", "codes": [
        {"id": "gouvernance", "label": "Gouvernance"},
        {"id": "gouvernance.autre", "parent": "gouvernance", "label": "Autre", "lemmas": ["x"]},
        {"id": "valeurs", "label": "Valeurs"},
        {"id": "valeurs.autre", "parent": "valeurs", "label": "Autre", "lemmas": ["y"]}]}, check_lemmas=False)
    path = _foreign(tmp_path, xml=SAME_NAMES)
    project = read_qdpx(path, codebook=book)
    assert project.coded[["code_id", "category", "code_name"]].values.tolist() == [
        ["gouvernance.autre", "gouvernance", " autre "], ["valeurs.autre", "valeurs", "Autre"]]
    assert sorted(project.codebook.codes) == sorted(book.codes)
    # without a codebook: ids from the name paths, still apart
    assert sorted(read_qdpx(path).coded["code_id"]) == ["gouvernance.autre", "valeurs.autre"]
