"""REFI-QDA export: schema validity on the bundled corpus, structure, stable GUIDs, line endings, .qdc."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from ptce_nlp import __version__
from ptce_nlp.codebook import Codebook
from ptce_nlp.export import QdaExportError, newline_map, read_qdc, write_qdc, write_qdpx
from ptce_nlp.export.qdpx import GUID_NAMESPACE, NewlineMap, _xml_text, code_names, stable_guid
from ptce_nlp.types import Document

from .export_helpers import coded_corpus, schema, zip_members

NS = {"q": "urn:QDA-XML:project:1.0"}
CB_NS = {"c": "urn:QDA-XML:codebook:1.0"}


@pytest.fixture(scope="session")
def corpus_coding():
    return coded_corpus()


@pytest.fixture(scope="session")
def corpus_qdpx(tmp_path_factory, corpus_coding) -> Path:
    documents, result, book = corpus_coding
    return write_qdpx(result.parsed, result.coded, book, tmp_path_factory.mktemp("qdpx") / "ptce.qdpx")


@pytest.fixture(scope="session")
def project(corpus_qdpx):
    members = zip_members(corpus_qdpx)
    return etree.fromstring(members["project.qde"]), members


def test_export_qdpx_validates_against_the_project_schema(project):
    root, _ = project
    xsd = schema("Project-mrt2019.xsd")
    assert xsd.validate(root), xsd.error_log


def test_export_qdpx_zip_layout_and_source_files(project, corpus_coding):
    root, members = project
    documents, _, _ = corpus_coding
    assert sorted(members) == ["project.qde"] + sorted(f"sources/{stable_guid('source', d.doc_id)}.txt"
                                                        for d in documents)
    assert members["project.qde"].startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    sources = root.findall("q:Sources/q:TextSource", NS)
    assert [s.get("name") for s in sources] == [d.doc_id for d in documents]
    for source, doc in zip(sources, documents):
        guid = source.get("guid")
        assert source.get("plainTextPath") == f"internal://{guid}.txt"
        data = members[f"sources/{guid}.txt"]
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
        assert data.decode("utf-8") == doc.text.replace("\r\n", "\n").replace("\r", "\n")


def test_export_qdpx_selections_point_at_the_coded_text(project, corpus_coding):
    root, members = project
    _, result, book = corpus_coding
    selections = root.findall(".//q:PlainTextSelection", NS)
    assert len(selections) == len(result.coded.drop_duplicates(["doc_id", "start_char", "end_char"])) > 900
    names = code_names(book)
    by_guid = {stable_guid("code", c.id): c.id for c in book}
    checked = 0
    for source in root.findall("q:Sources/q:TextSource", NS):
        text = members[f"sources/{source.get('guid')}.txt"].decode("utf-8")
        for sel in source.findall("q:PlainTextSelection", NS):
            a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert 0 <= a < b <= len(text)
            assert _xml_text(text[a:b]) == sel.get("name")  # form feeds (PDF pages) cannot be in XML
            for ref in sel.findall("q:Coding/q:CodeRef", NS):
                code_id = by_guid.get(ref.get("targetGUID"))
                if code_id is not None:  # not a flag
                    assert f"Code : {names[code_id]}" in sel.find("q:Description", NS).text
                    checked += 1
    assert checked == len(result.coded)
    # offsets in code points: a selection after an astral or accented character is not shifted
    row = result.coded[result.coded["text"] == "Coopérer"].iloc[0]
    doc_text = next(p.document.text for p in result.parsed if p.document.doc_id == row.doc_id)
    assert doc_text[row.start_char:row.end_char] == "Coopérer"


def test_export_qdpx_users_origin_and_creating_user(project):
    root, _ = project
    users = root.findall("q:Users/q:User", NS)
    assert len(users) == 1
    user_guid = users[0].get("guid")
    assert users[0].get("name") == f"ptce_nlp {__version__} (codage automatique)"
    assert root.get("origin") == f"ptce_nlp {__version__}"
    assert root.get("creatingUserGUID") == user_guid
    assert root.get("name") == "ptce_nlp"
    for el in root.iter("{urn:QDA-XML:project:1.0}PlainTextSelection", "{urn:QDA-XML:project:1.0}Coding",
                        "{urn:QDA-XML:project:1.0}TextSource"):
        assert el.get("creatingUser") == user_guid


def test_export_qdpx_codebook_hierarchy_names_colors(project, corpus_coding):
    root, _ = project
    _, _, book = corpus_coding
    codes = root.findall(".//q:CodeBook//q:Code", NS)
    assert len(codes) == len(book) + 4  # + the review parent and its three flag codes
    names = [c.get("name") for c in codes]
    assert len({n.casefold() for n in names}) == len(names)
    assert all(c.get("color") and len(c.get("color")) == 7 and c.get("color").startswith("#") for c in codes)
    top = [c.get("name") for c in root.findall("q:CodeBook/q:Codes/q:Code", NS)]
    assert top == [c.label for c in book.categories()] + ["ptce_nlp : à vérifier"]
    insertion = next(c for c in codes if c.get("guid") == stable_guid("code", "valeurs_ess.insertion"))
    parent = insertion.getparent()
    assert parent.get("guid") == stable_guid("code", "valeurs_ess")
    assert insertion.get("color") == book["valeurs_ess.insertion"].color.upper()
    description = insertion.find("q:Description", NS).text
    assert description.startswith(book["valeurs_ess.insertion"].description)
    assert '"id": "valeurs_ess.insertion"' in description.splitlines()[-1]


def test_export_qdpx_variables_and_cases(project, corpus_coding):
    root, _ = project
    documents, _, _ = corpus_coding
    variables = {v.get("name"): v.get("typeOfVariable") for v in root.findall("q:Variables/q:Variable", NS)}
    assert variables == {"pole": "Text", "pole_type": "Text", "region": "Text", "year": "Integer", "genre": "Text"}
    var_name = {v.get("guid"): v.get("name") for v in root.findall("q:Variables/q:Variable", NS)}
    source = root.find("q:Sources/q:TextSource[@name='ptce_re_sources']", NS)
    values = {var_name[vv.find("q:VariableRef", NS).get("targetGUID")]: vv[1].text
              for vv in source.findall("q:VariableValue", NS)}
    assert values == {"pole": "Re-Sources", "pole_type": "ptce", "region": "Provence-Alpes-Côte d'Azur",
                      "year": "2016", "genre": "fiche"}
    cases = root.findall("q:Cases/q:Case", NS)
    poles = {d.metadata["pole"] for d in documents if d.metadata.get("pole")}
    assert {c.get("name") for c in cases} == poles
    case = next(c for c in cases if c.get("name") == "Re-Sources")
    refs = [r.get("targetGUID") for r in case.findall("q:SourceRef", NS)]
    assert stable_guid("source", "ptce_re_sources") in refs
    case_values = {var_name[vv.find("q:VariableRef", NS).get("targetGUID")]: vv[1].text
                   for vv in case.findall("q:VariableValue", NS)}
    assert case_values == {"pole": "Re-Sources", "pole_type": "ptce", "region": "Provence-Alpes-Côte d'Azur"}


def test_export_qdpx_flags_negated_and_contrast_matches(project, corpus_coding):
    root, _ = project
    _, result, _ = corpus_coding
    flagged = {"negated": stable_guid("flag", "negated"), "contrast": stable_guid("flag", "contrast")}
    spans = result.coded.groupby(["doc_id", "start_char", "end_char"])
    for flag, guid in flagged.items():
        n_spans = int(spans[flag].any().sum())  # one flag per flagged span, however many matches it holds
        refs = root.findall(f".//q:PlainTextSelection/q:Coding/q:CodeRef[@targetGUID='{guid}']", NS)
        assert len(refs) == n_spans > 0
    negated = root.findall(f".//q:PlainTextSelection/q:Coding/q:CodeRef[@targetGUID='{flagged['negated']}']/../..",
                           NS)
    assert all("Négation détectée : à vérifier" in s.find("q:Description", NS).text for s in negated)
    # the concept coding is still there, next to the flag
    assert all(len(s.findall("q:Coding", NS)) >= 2 for s in negated)


def test_export_qdpx_is_byte_stable_and_guids_derive_from_ids(tmp_path, corpus_coding, corpus_qdpx):
    documents, result, book = corpus_coding
    again = write_qdpx(result.parsed, result.coded, book, tmp_path / "again.qdpx")
    assert again.read_bytes() == corpus_qdpx.read_bytes()
    assert stable_guid("code", "valeurs_ess") == str(uuid.uuid5(GUID_NAMESPACE, "code\x1fvaleurs_ess"))
    # a subset of the documents keeps the same GUIDs for its sources and codes
    subset = write_qdpx(result.parsed[:2], result.coded[result.coded["doc_id"].isin(
        [p.document.doc_id for p in result.parsed[:2]])], book, tmp_path / "subset.qdpx")
    small = etree.fromstring(zip_members(subset)["project.qde"])
    assert [s.get("guid") for s in small.findall("q:Sources/q:TextSource", NS)] == \
        [stable_guid("source", p.document.doc_id) for p in result.parsed[:2]]


def test_export_qdpx_code_names_unique_when_labels_repeat():
    book = Codebook.from_dict({"name": "t", "codes": [
        {"id": "a", "label": "Gouvernance"},
        {"id": "a.x", "parent": "a", "label": "Autre", "lemmas": ["x"]},
        {"id": "b", "label": "gouvernance"},
        {"id": "b.x", "parent": "b", "label": "Autre", "lemmas": ["y"]},
        {"id": "c", "label": "Négation détectée", "lemmas": ["z"]},
    ]}, check_lemmas=False)
    assert code_names(book) == {"a": "Gouvernance (a)", "a.x": "Autre (a.x)", "b": "gouvernance (b)",
                                "b.x": "Autre (b.x)", "c": "Négation détectée (c)"}


def _tiny_book() -> Codebook:
    return Codebook.from_dict({"name": "tiny", "codes": [
        {"id": "cat", "label": "Catégorie", "color": "#123abc"},
        {"id": "cat.coop", "parent": "cat", "label": "Coopération", "lemmas": ["coopération"],
         "surface": ["PTCE"], "exclude": ["coopération internationale"]},
    ]}, check_lemmas=False)


def _rows(*spans) -> pd.DataFrame:
    return pd.DataFrame([("d", "", "cat.coop", "cat", "coopération", a, b, t, False, False) for a, b, t in spans],
                        columns=["doc_id", "segment_id", "code_id", "category", "term", "start_char", "end_char",
                                 "text", "negated", "contrast"])


def test_export_qdpx_maps_crlf_offsets(tmp_path):
    text = "Ligne un\r\nLa coopération 😀\r\n\r\nFin\rcoopération"
    doc = Document("d", text, "txt")
    a = text.index("coopération")
    b = text.rindex("coopération")
    coded = _rows((a, a + 11, "coopération"), (b, b + 11, "coopération"))
    path = write_qdpx([doc], coded, _tiny_book(), tmp_path / "crlf.qdpx")
    members = zip_members(path)
    root = etree.fromstring(members["project.qde"])
    source = root.find("q:Sources/q:TextSource", NS)
    plain = members[f"sources/{source.get('guid')}.txt"].decode("utf-8")
    assert plain == "Ligne un\nLa coopération 😀\n\nFin\ncoopération"
    starts = [int(s.get("startPosition")) for s in source.findall("q:PlainTextSelection", NS)]
    assert starts == [12, 31] and plain[12:23] == plain[31:42] == "coopération"
    assert 'ptce_nlp-newlines: {"crlf":[8,25,26],"cr":[30]}' in source.find("q:Description", NS).text


def test_newline_map_offsets_both_ways_and_snapping():
    text = "a\r\nb\r\n\rc"
    plain, nl = newline_map(text)
    assert plain == "a\nb\n\nc" and nl == NewlineMap((1, 3), (4,))
    assert [nl.to_exported(o) for o in range(len(text) + 1)] == [0, 1, 1, 2, 3, 3, 4, 5, 6]
    assert [nl.to_original(e) for e in range(len(plain) + 1)] == [0, 1, 3, 4, 6, 7, 8]
    assert nl.restore(plain) == text
    # an offset between '\r' and '\n' moves before the '\r'
    assert nl.to_original(nl.to_exported(2)) == 1
    assert NewlineMap.decode(nl.encode(plain), plain) == nl
    assert NewlineMap.decode('{"crlf":"all"}', "x\ny\n") == NewlineMap((1, 3), ())
    assert NewlineMap.decode('{"crlf":[0]}', "x\ny") is None  # position 0 is not a line break


def test_export_qdpx_refuses_rows_that_do_not_fit(tmp_path):
    doc = Document("d", "La coopération.", "txt")
    book = _tiny_book()
    target = tmp_path / "p.qdpx"
    write_qdpx([doc], _rows((3, 14, "coopération")), book, target)
    before = target.read_bytes()
    with pytest.raises(QdaExportError) as err:
        write_qdpx([doc], _rows((3, 14, "coopérative")), book, target)
    assert str(err.value) == ("coded row 0: the text at 3-14 of document 'd' is not 'coopérative': the coding does "
                              "not belong to this version of the document")
    with pytest.raises(QdaExportError, match=r"^coded row 0: span 3-99 is out of document 'd' \(0-15\)$"):
        write_qdpx([doc], _rows((3, 99, None)), book, target)
    other = _rows((3, 14, "coopération")).assign(doc_id="x")
    with pytest.raises(QdaExportError, match="^coded row 0: document 'x' is not among the documents exported$"):
        write_qdpx([doc], other, book, target)
    unknown = _rows((3, 14, "coopération")).assign(code_id="cat.nope")
    with pytest.raises(QdaExportError, match="^coded row 0: code 'cat.nope' is not in codebook 'tiny'$"):
        write_qdpx([doc], unknown, book, target)
    # the earlier export is intact and no temporary file is left behind
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.qdpx"]


def test_export_qdpx_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    import zipfile

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(KeyboardInterrupt):
        write_qdpx([Document("d", "La coopération.", "txt")], _rows(), _tiny_book(), tmp_path / "p.qdpx")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- .qdc

def test_export_qdc_validates_and_round_trips_the_shipped_codebook(tmp_path):
    book = Codebook.shipped("ptce")
    path = write_qdc(book, tmp_path / "codebook.qdc")
    root = etree.parse(str(path)).getroot()
    xsd = schema("Codebook-mrt2019.xsd")
    assert xsd.validate(root), xsd.error_log
    assert root.tag == "{urn:QDA-XML:codebook:1.0}CodeBook"
    assert root.get("origin") == f"ptce_nlp {__version__}; codebook ptce_concepts v1 (fr)"
    assert len(root.findall(".//c:Code", CB_NS)) == len(book) == len(list(Codebook.shipped()))
    back = read_qdc(path)
    assert back.warnings == []
    assert (back.name, back.version, back.language) == ("ptce_concepts", 1, "fr")
    assert list(back.codes) == list(book.codes)
    for code in book:
        other = back[code.id]
        assert (other.label, other.parent, other.description, other.color.upper()) == \
            (code.label, code.parent, code.description, code.color.upper())
        assert [(p.kind, p.text, p.tokens) for p in other.patterns] == \
            [(p.kind, p.text, p.tokens) for p in code.patterns]
        assert [p.text for p in other.exclusions] == [p.text for p in code.exclusions]


def test_import_qdc_of_another_tool_gives_codes_without_patterns(tmp_path):
    path = tmp_path / "autre.qdc"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="MAXQDA 2022"><Codes>'
        '<Code guid="11111111-1111-1111-1111-111111111111" name="Valeurs de l\'ESS" isCodable="true" color="#F80">'
        '<Description>Catégorie</Description>'
        '<Code guid="22222222-2222-2222-2222-222222222222" name="Utilité sociale" isCodable="true"/>'
        '</Code></Codes></CodeBook>', "utf-8")
    book = read_qdc(path)
    assert list(book.codes) == ["valeurs_de_l_ess", "valeurs_de_l_ess.utilite_sociale"]
    assert book["valeurs_de_l_ess"].color == "#FF8800"
    assert book["valeurs_de_l_ess.utilite_sociale"].parent == "valeurs_de_l_ess"
    assert book.warnings == ["1 code(s) come without patterns (valeurs_de_l_ess.utilite_sociale): the file was not "
                             "written by ptce_nlp or their descriptions were edited; they cannot code texts "
                             "automatically"]


def test_cli_code_with_a_qdc_codebook_codes_like_the_yaml_one(tmp_path):
    from click.testing import CliRunner

    from ptce_nlp.cli import main

    texts = tmp_path / "textes"
    texts.mkdir()
    from .export_helpers import CORPUS

    # a corpus text: its parse is in the cache, so no model is loaded
    (texts / "a.txt").write_bytes((CORPUS / "fiches" / "ptce" / "re_sources.txt").read_bytes())
    runner = CliRunner()
    assert runner.invoke(main, ["export", "--format", "qdc", "--out", str(tmp_path / "cb.qdc"), "-q"]).exit_code == 0
    one = runner.invoke(main, ["code", str(texts), "--out", str(tmp_path / "yaml"), "-q"])
    two = runner.invoke(main, ["code", str(texts), "--codebook", str(tmp_path / "cb.qdc"), "--out",
                               str(tmp_path / "qdc"), "-q"])
    assert one.exit_code == two.exit_code == 0, one.output + two.output
    coded = (tmp_path / "yaml" / "coded_segments.csv").read_text("utf-8")
    assert coded == (tmp_path / "qdc" / "coded_segments.csv").read_text("utf-8")
    assert "valeurs_ess.insertion" in coded and "valeurs_ess.mutualisation" in coded


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = st.sampled_from(["a", "é", "\r\n", "\n", "\r", "😀", "\u00a0", " ", "\r\r\n", "\n\r"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_newline_map_property(text):
    plain, nl = newline_map(text)
    assert plain == text.replace("\r\n", "\n").replace("\r", "\n")
    assert nl.restore(plain) == text
    assert nl.encode(plain) == "" if nl == NewlineMap() else NewlineMap.decode(nl.encode(plain), plain) == nl
    for o in range(len(text) + 1):
        inside_crlf = 0 < o < len(text) and text[o - 1:o + 1] == "\r\n"
        assert nl.to_original(nl.to_exported(o)) == (o - 1 if inside_crlf else o)
    for e in range(len(plain) + 1):
        assert nl.to_exported(nl.to_original(e)) == e
    for a in range(len(text) + 1):
        for b in range(a, len(text) + 1):
            if not any(0 < x < len(text) and text[x - 1:x + 1] == "\r\n" for x in (a, b)):
                piece = text[a:b].replace("\r\n", "\n").replace("\r", "\n")
                assert plain[nl.to_exported(a):nl.to_exported(b)] == piece


# --------------------------------------------------------------------------- one coding per (code, span, coder)

def _coding_keys(root) -> list[tuple[str, str, int, int, str]]:
    """(code GUID, source, start, end, coder) of every coding, the key QDA tools store codings under.

    QualCoder keeps one row per code, file, span and coder (its ``code_text`` table is unique on ``cid, fid,
    pos0, pos1, owner``): a second coding with the same key is dropped on import, and its memo with it.
    """
    keys = []
    for source in root.findall("q:Sources/q:TextSource", NS):
        for sel in source.findall("q:PlainTextSelection", NS):
            for coding in sel.findall("q:Coding", NS):
                keys.append((coding.find("q:CodeRef", NS).get("targetGUID"), source.get("guid"),
                             int(sel.get("startPosition")), int(sel.get("endPosition")),
                             coding.get("creatingUser") or sel.get("creatingUser")))
    return keys


def test_export_qdpx_never_codes_one_span_twice_with_one_code(project, corpus_coding, tmp_path):
    root, _ = project
    _, result, book = corpus_coding
    keys = _coding_keys(root)
    assert len(keys) == len(set(keys))
    # one selection per distinct span, holding every code of the span once (the flags once too)
    spans = {(r.doc_id, r.start_char, r.end_char) for r in result.coded.itertuples()}
    selections = root.findall(".//q:PlainTextSelection", NS)
    assert len(selections) == len(spans) < len(result.coded)
    n_flags = int(result.coded.groupby(["doc_id", "start_char", "end_char"])[["negated", "contrast", "reported"]]
                  .any().to_numpy().sum())
    assert len(keys) == len(result.coded) + n_flags
    # a negated span that two codes share (the same match under a second code): one selection, both codes, one flag
    first = result.coded[result.coded["negated"] & ~result.coded["contrast"] & ~result.coded["reported"]].iloc[0]
    other = next(c.id for c in book.leaves() if c.id != first["code_id"])
    doc_id = first["doc_id"]
    twin = result.coded.loc[[first.name]].assign(code_id=other, category=book[other].category)
    coded = pd.concat([result.coded[result.coded["doc_id"] == doc_id], twin], ignore_index=True)
    document = next(p.document for p in result.parsed if p.document.doc_id == doc_id)
    twin_root = etree.fromstring(zip_members(write_qdpx([document], coded, book, tmp_path / "t.qdpx"))["project.qde"])
    plain = newline_map(document.text)[1]
    start = plain.to_exported(int(first["start_char"]))
    sel = twin_root.find(f"q:Sources/q:TextSource/q:PlainTextSelection[@startPosition='{start}']", NS)
    refs = [c.get("targetGUID") for c in sel.findall("q:Coding/q:CodeRef", NS)]
    codes = sorted({first["code_id"], other})
    assert refs == [stable_guid("code", c) for c in codes] + [stable_guid("flag", "negated")]
    names = code_names(book)
    assert sel.find("q:Description", NS).text.splitlines() == [
        f"Terme : {first['term']}", "Négation détectée : à vérifier"] + [f"Code : {names[c]}" for c in codes]


def test_export_qdpx_merged_selections_keep_every_match(tmp_path):
    from ptce_nlp.export import read_qdpx

    book = Codebook.from_dict({"name": "t", "codes": [
        {"id": "a", "label": "A"}, {"id": "a.x", "parent": "a", "label": "X", "lemmas": ["x"]},
        {"id": "a.y", "parent": "a", "label": "Y", "lemmas": ["y"]}]}, check_lemmas=False)
    text = "Le pôle coopère avec ses voisins.\r\nIl mutualise."
    doc = Document("d", text, "txt")
    s, e = text.index("coopère"), text.index("coopère") + 7
    m = text.index("mutualise")
    rows = [("d", "", "a.x", "a", "coopérer", s, e, "coopère", True, False),   # same span, other term, other flags
            ("d", "", "a.y", "a", "coopération", s, e, "coopère", False, False),
            ("d", "", "a.y", "a", "coopérer", s, e, "coopère", False, True),   # the same code twice on a span
            ("d", "", "a.x", "a", "mutualiser", m, m + 9, "mutualise", False, False)]
    coded = pd.DataFrame(rows, columns=["doc_id", "segment_id", "code_id", "category", "term", "start_char",
                                        "end_char", "text", "negated", "contrast"])
    path = write_qdpx([doc], coded, book, tmp_path / "m.qdpx")
    root = etree.fromstring(zip_members(path)["project.qde"])
    assert schema("Project-mrt2019.xsd").validate(root)
    keys = _coding_keys(root)
    assert len(keys) == len(set(keys)) == 2 + 2 + 1  # a.x, a.y, both flags; then a.x
    description = root.find(".//q:PlainTextSelection", NS).find("q:Description", NS).text
    assert "Code : X — terme : coopérer — négation détectée" in description
    assert "Code : Y — terme : coopération" in description and "Code : Y — terme : coopérer — contraste détecté" \
        in description
    back = read_qdpx(path, codebook=book).coded
    cols = ["code_id", "term", "start_char", "end_char", "negated", "contrast"]
    assert sorted(map(tuple, back[cols].values.tolist())) == sorted(map(tuple, coded[cols].values.tolist()))


# --------------------------------------------------------------------------- offsets into the exported (\n) text

def test_coded_segments_carry_the_offsets_into_the_exported_text(project, corpus_coding):
    from ptce_nlp.analysis import CODED_COLUMNS

    root, members = project
    documents, result, _ = corpus_coding
    coded = result.coded
    assert CODED_COLUMNS == ["doc_id", "segment_id", "code_id", "category", "term", "start_char", "end_char", "text",
                             "negated", "contrast", "export_start_char", "export_end_char", "reported",
                             "opposed"]  # added at the end
    assert coded.columns.tolist() == CODED_COLUMNS
    crlf_docs = set()
    for doc in documents:
        exported = members[f"sources/{stable_guid('source', doc.doc_id)}.txt"].decode("utf-8")
        rows = coded[coded["doc_id"] == doc.doc_id]
        for r in rows.itertuples():
            assert exported[r.export_start_char:r.export_end_char] == newline_map(r.text)[0]
            assert doc.text[r.start_char:r.end_char] == r.text
            # one position less per Windows line ending before the span, and within it
            assert r.start_char - r.export_start_char == doc.text[:r.start_char].count("\r\n")
            assert r.end_char - r.export_end_char == doc.text[:r.end_char].count("\r\n")
        if "\r\n" in doc.text:
            crlf_docs.add(doc.doc_id)
            assert (rows["start_char"] > rows["export_start_char"]).any()
        else:
            assert (rows["start_char"] == rows["export_start_char"]).all()
    assert crlf_docs >= {"ptce_re_sources", "cluster_lumiere"}
    # the project's selections stand exactly there
    spans = {(stable_guid("source", r.doc_id), r.export_start_char, r.export_end_char) for r in coded.itertuples()}
    sels = {(s.get("guid"), int(sel.get("startPosition")), int(sel.get("endPosition")))
            for s in root.findall("q:Sources/q:TextSource", NS) for sel in s.findall("q:PlainTextSelection", NS)}
    assert sels == spans
