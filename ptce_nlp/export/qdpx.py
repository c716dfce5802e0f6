"""REFI-QDA exchange: ``.qdpx`` projects and ``.qdc`` codebooks, both ways.

Export (:func:`write_qdpx`, :func:`write_qdc`) follows the REFI-QDA standard
1.5 and validates against ``Project-mrt2019.xsd`` / ``Codebook-mrt2019.xsd``:

- a ``.qdpx`` is a zip holding ``project.qde`` (UTF-8 XML, namespace
  ``urn:QDA-XML:project:1.0``) and ``sources/<GUID>.txt`` (UTF-8 without BOM,
  ``\\n`` line endings);
- ``<Users>`` holds the toolkit as the creating user of every selection and
  coding; the codebook is a code hierarchy (categories then codes) with
  ``#RRGGBB`` colours and descriptions; code names are unique across the whole
  codebook (a label used twice gets its id appended, because QDA tools merge or
  drop codes of the same name);
- every document is a ``TextSource`` with ``plainTextPath =
  internal://<GUID>.txt``; every coded match a ``PlainTextSelection``
  (``startPosition``/``endPosition`` in Unicode code points, 0-based, end
  exclusive, into exactly the text of the source file) with one ``Coding``;
- document metadata (pole, pole_type, region, year, genre) become
  ``Variables``, values on each ``TextSource``, and one ``Case`` per pole
  (holding pole, pole_type and region and referring to the pole's sources), so
  a researcher can filter by pole type in the QDA tool;
- GUIDs are UUID 5 derived from ids (code id, doc_id, span), so exporting the
  same coding twice gives byte-identical files.

Negated and contrast matches are exported as codings of their concept code,
like the others, and *flagged*: their selection also gets a second coding
with one of two review codes under the top-level code ``ptce_nlp : à
vérifier`` (``Négation détectée``, ``Contraste détecté``), and the
selection's description says so. Flag codes are the one device every QDA
tool shows, filters on and exports back (notes on codings are not imported
by all tools); a researcher who agrees with the flag deletes the concept
coding, or the flag. On import the flag codes set the ``negated`` and
``contrast`` columns again and are not themselves codes of the table.

Line endings: a document's original text may hold ``\\r\\n`` or ``\\r``
(text files are read as they are). The source file gets ``\\n`` only; offsets
are mapped (:class:`NewlineMap`) and the positions of the original line
endings are kept in the source's description (a line ``ptce_nlp-newlines:
{...}``), so that importing the project restores the original text and the
original offsets. A span boundary that fell *between* ``\\r`` and ``\\n`` moves
before the ``\\r`` (the only offsets a round trip changes).

Codebooks keep their patterns in each code's description, on a last line
``ptce_nlp: {"id": ..., "lemmas": [...], ...}``, so :func:`read_qdc` gives
back a codebook that codes; a ``.qdc`` from another tool gives codes without
patterns, and the codebook's ``warnings`` say so.

Import (:func:`read_qdpx`) reads a project written by any QDA tool into the
coded-segment table, refusing unsafe or inconsistent files with one
:class:`QdaImportError` naming the item: not a zip, a member path escaping the
folder, a zip bomb (total size and compression ratio limits), XML with a
DOCTYPE (no entity is ever expanded, no network access), a selection out of
its source's range, a ``CodeRef`` to no code, a missing source file.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Sequence

import pandas as pd
from lxml import etree

from .. import __version__
from ..codebook import Code, Codebook, _patterns
from ..errors import PtceError
from ..io import atomic_write
from ..segment import segment_document
from ..types import FORMATS, METADATA_FIELDS, Document

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = f"ptce_nlp {__version__}"
#: Namespace of every GUID the toolkit derives (UUID 5).
GUID_NAMESPACE = uuid.UUID("5b0e7f4c-2a1d-5c47-9a3e-7d1f0c2b8e61")
#: Metadata exported as Variables, and their names in the QDA tool.
VARIABLES = ("pole", "pole_type", "region", "year", "genre")
CASE_VARIABLES = ("pole", "pole_type", "region")
#: Columns of the table :func:`read_qdpx` returns: ``analysis.CODED_COLUMNS`` (not imported from there, which
#: would load spaCy with the package) then the code's name in the tool, the coder and the selection's GUID.
IMPORT_COLUMNS = ["doc_id", "segment_id", "code_id", "category", "term", "start_char", "end_char", "text",
                  "negated", "contrast", "code_name", "coder", "selection_guid"]

FLAG_PARENT = ("flags", "ptce_nlp : à vérifier", "#9E9E9E",
               "Codes de revue ajoutés par ptce_nlp : une sélection qui porte aussi l'un de ces codes a été codée "
               "automatiquement dans une négation ou un contraste ; à vérifier avant de la compter.")
FLAGS = {
    "negated": ("Négation détectée", "#E53935",
                "Correspondance dans la portée d'une négation (ne ... pas, sans, absence de ...) : le concept est "
                "peut-être nié."),
    "contrast": ("Contraste détecté", "#8E24AA",
                 "Correspondance dans une tournure de contraste (contrairement à, à la différence de ...) : le "
                 "concept est peut-être attribué à un autre modèle."),
}
_META_PREFIX = "ptce_nlp: "
_NEWLINE_PREFIX = "ptce_nlp-newlines: "
_XML_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_UNSAFE_MEMBER = re.compile(r"(^|/)\.\.(/|$)|^/|^[A-Za-z]:|\\")

# Import limits (keyword arguments of read_qdpx can lower them).
MAX_TOTAL_BYTES = 1 << 30          # 1 GiB uncompressed in all
MAX_RATIO = 200                    # uncompressed / compressed, per member larger than 1 MiB
MAX_MEMBERS = 100_000
MAX_QDC_BYTES = 50 << 20


class QdaExportError(PtceError):
    """The coding cannot be exported (a row that does not fit its document or codebook)."""


class QdaImportError(PtceError):
    """A REFI-QDA file cannot be imported; the message names the file and the item."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def stable_guid(kind: str, *parts: object) -> str:
    """A GUID derived from ids: the same ids give the same GUID in every export.

    Examples
    --------
    >>> stable_guid("code", "valeurs_ess") == stable_guid("code", "valeurs_ess")
    True
    """
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join([kind, *map(str, parts)])))


# --------------------------------------------------------------------------- line endings

@dataclass(frozen=True)
class NewlineMap:
    """Offsets between an original text and its ``\\n``-only form.

    ``crlf`` holds the positions, in the ``\\n``-only text, of the ``\\n``
    that were ``\\r\\n`` in the original; ``cr`` those that were a lone ``\\r``.
    """

    crlf: tuple[int, ...] = ()
    cr: tuple[int, ...] = ()

    @property
    def _removed(self) -> list[int]:
        # original positions of the dropped '\r' of each CRLF
        return [q + k for k, q in enumerate(self.crlf)]

    def to_exported(self, offset: int) -> int:
        """Original offset -> offset in the ``\\n`` text (inside a CRLF: before it)."""
        return offset - bisect.bisect_left(self._removed, offset)

    def to_original(self, offset: int) -> int:
        """Offset in the ``\\n`` text -> original offset."""
        return offset + bisect.bisect_left(self.crlf, offset)

    def restore(self, text: str) -> str:
        """The original text, from the ``\\n``-only text."""
        if not self.crlf and not self.cr:
            return text
        ends = {q: "\r\n" for q in self.crlf} | {q: "\r" for q in self.cr}
        out, last = [], 0
        for q in sorted(ends):
            out.append(text[last:q])
            out.append(ends[q])
            last = q + 1
        out.append(text[last:])
        return "".join(out)

    def encode(self, text: str) -> str:
        """The compact form kept in the source's description ('' when nothing changed)."""
        if not self.crlf and not self.cr:
            return ""
        n_newlines = text.count("\n")
        data: dict = {}
        if self.crlf:
            data["crlf"] = "all" if len(self.crlf) == n_newlines else list(self.crlf)
        if self.cr:
            data["cr"] = "all" if len(self.cr) == n_newlines else list(self.cr)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str, text: str) -> "NewlineMap | None":
        """Read :meth:`encode`'s form back; None if it does not fit ``text``."""
        try:
            data = json.loads(value)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        newlines = [i for i, c in enumerate(text) if c == "\n"]
        out = {}
        for key in ("crlf", "cr"):
            v = data.get(key, [])
            positions = newlines if v == "all" else v
            if not isinstance(positions, list) or not all(isinstance(p, int) and 0 <= p < len(text)
                                                          and text[p] == "\n" for p in positions):
                return None
            out[key] = tuple(sorted(positions))
        if set(out["crlf"]) & set(out["cr"]):
            return None
        return cls(out["crlf"], out["cr"])


def newline_map(text: str) -> tuple[str, NewlineMap]:
    """The ``\\n``-only form of a text and the map of its offsets.

    Examples
    --------
    >>> plain, nl = newline_map("a\\r\\nbé\\rc")
    >>> plain, nl.crlf, nl.cr, nl.to_exported(3), nl.to_original(2)
    ('a\\nbé\\nc', (1,), (4,), 2, 3)
    """
    crlf: list[int] = []
    cr: list[int] = []
    out: list[str] = []
    last = removed = 0
    for m in re.finditer(r"\r\n?", text):
        out.append(text[last:m.start()])
        pos = m.start() - removed
        (crlf if m.group() == "\r\n" else cr).append(pos)
        removed += len(m.group()) - 1
        out.append("\n")
        last = m.end()
    out.append(text[last:])
    return "".join(out), NewlineMap(tuple(crlf), tuple(cr))


# --------------------------------------------------------------------------- names and descriptions

def _xml_text(value: object) -> str:
    """A string XML 1.0 can hold (control characters become spaces)."""
    return _XML_BAD_CHARS.sub(" ", str(value))


def code_names(codebook: Codebook) -> dict[str, str]:
    """The unique name of each code in a QDA tool: its label, or ``label (id)`` when the label repeats.

    Names are compared case-insensitively and against the flag codes' names.
    """
    reserved = {FLAG_PARENT[1].casefold()} | {name.casefold() for name, _, _ in FLAGS.values()}
    counts: dict[str, int] = {}
    for c in codebook:
        key = c.label.strip().casefold()
        counts[key] = counts.get(key, 0) + 1
    names: dict[str, str] = {}
    taken: set[str] = set()
    for c in codebook:
        label = " ".join(c.label.split()) or c.id
        name = label if counts[label.casefold()] == 1 and label.casefold() not in reserved else f"{label} ({c.id})"
        base, i = name, 2
        while name.casefold() in taken:
            name = f"{base} {i}"
            i += 1
        taken.add(name.casefold())
        names[c.id] = name
    return names


def _code_meta(code: Code) -> dict:
    return {"id": code.id, **code.pattern_dict()}


def _code_description(code: Code) -> str:
    meta = _META_PREFIX + json.dumps(_code_meta(code), ensure_ascii=False)
    return f"{code.description}\n\n{meta}" if code.description else meta


def _split_meta(description: str) -> tuple[str, dict | None]:
    """Human part of a description and the toolkit's JSON line (None if absent or broken)."""
    lines = description.replace("\r\n", "\n").split("\n")
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i].strip()
        if line.startswith(_META_PREFIX.strip()):
            try:
                meta = json.loads(line[len(_META_PREFIX.strip()):].strip())
            except ValueError:
                return description.strip(), None
            human = "\n".join(lines[:i] + lines[i + 1:]).strip()
            return human, meta if isinstance(meta, dict) else None
    return description.strip(), None


def _guid_code(code_id: str) -> str:
    return stable_guid("code", code_id)


def _guid_flag(flag: str) -> str:
    return stable_guid("flag", flag)


# --------------------------------------------------------------------------- XML building

def _el(parent, ns: str, tag: str, attrib: dict | None = None, text: str | None = None):
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", {k: _xml_text(v) for k, v in (attrib or {}).items()})
    if text is not None:
        el.text = _xml_text(text)
    return el


def _codes_element(parent, ns: str, codebook: Codebook, *, with_flags: bool):
    names = code_names(codebook)
    codes_el = _el(parent, ns, "Codes")

    def add(parent_el, code: Code) -> None:
        el = _el(parent_el, ns, "Code", {"guid": _guid_code(code.id), "name": names[code.id], "isCodable": "true",
                                         "color": code.color.upper()})
        _el(el, ns, "Description", text=_code_description(code))
        for child in codebook.children(code.id):
            add(el, child)

    for top in codebook.categories():
        add(codes_el, top)
    if with_flags:
        key, name, color, description = FLAG_PARENT
        top = _el(codes_el, ns, "Code", {"guid": _guid_flag(key), "name": name, "isCodable": "false",
                                         "color": color})
        _el(top, ns, "Description", text=f"{description}\n\n{_META_PREFIX}{json.dumps({'flag': key})}")
        for flag, (fname, fcolor, fdescription) in FLAGS.items():
            el = _el(top, ns, "Code", {"guid": _guid_flag(flag), "name": fname, "isCodable": "true", "color": fcolor})
            _el(el, ns, "Description", text=f"{fdescription}\n\n{_META_PREFIX}{json.dumps({'flag': flag})}")
    return codes_el


def _documents(items: Sequence) -> list[Document]:
    docs = []
    for item in items:
        doc = getattr(item, "document", item)  # a ParsedDocument holds its Document
        if not isinstance(doc, Document):
            raise TypeError(f"expected Document or ParsedDocument items, not {type(item).__name__}")
        docs.append(doc)
    return docs


def _variable_types(documents: Sequence[Document]) -> dict[str, str]:
    types: dict[str, str] = {}
    for var in VARIABLES:
        values = [str(d.metadata.get(var, "") or "").strip() for d in documents]
        values = [v for v in values if v]
        if not values:
            continue
        types[var] = "Integer" if all(re.fullmatch(r"-?\d+", v) for v in values) else "Text"
    return types


def _variable_value(parent, var: str, value: str, kind: str) -> None:
    vv = _el(parent, PROJECT_NS, "VariableValue")
    _el(vv, PROJECT_NS, "VariableRef", {"targetGUID": stable_guid("variable", var)})
    _el(vv, PROJECT_NS, "IntegerValue" if kind == "Integer" else "TextValue", text=value)


def project_xml(documents: Sequence, coded: pd.DataFrame, codebook: Codebook, *, name: str = "ptce_nlp",
                created: datetime | None = None) -> tuple[bytes, dict[str, bytes]]:
    """The ``project.qde`` bytes and the source files (``sources/<GUID>.txt`` -> bytes) of a project.

    See :func:`write_qdpx`.
    """
    documents = _documents(documents)
    _check_coded(documents, coded, codebook)
    ns = PROJECT_NS
    user_guid = stable_guid("user", "ptce_nlp")
    attrib = {"name": name, "origin": ORIGIN, "creatingUserGUID": user_guid}
    if created is not None:
        attrib["creationDateTime"] = created.strftime("%Y-%m-%dT%H:%M:%S")
    root = etree.Element(f"{{{ns}}}Project", attrib, nsmap={None: ns})
    users = _el(root, ns, "Users")
    _el(users, ns, "User", {"guid": user_guid, "name": f"ptce_nlp {__version__} (codage automatique)",
                            "id": "ptce_nlp"})
    codebook_el = _el(root, ns, "CodeBook")
    _codes_element(codebook_el, ns, codebook, with_flags=True)

    types = _variable_types(documents)
    if types:
        variables = _el(root, ns, "Variables")
        for var, kind in types.items():
            v = _el(variables, ns, "Variable", {"guid": stable_guid("variable", var), "name": var,
                                                "typeOfVariable": kind})
            _el(v, ns, "Description", text=f"Métadonnée « {var} » du manifeste du corpus (ptce_nlp).")
    poles: dict[str, list[Document]] = {}
    for d in documents:
        pole = str(d.metadata.get("pole", "") or "").strip()
        if pole:
            poles.setdefault(pole, []).append(d)
    if poles:
        cases = _el(root, ns, "Cases")
        for pole, docs in poles.items():
            case = _el(cases, ns, "Case", {"guid": stable_guid("case", pole), "name": pole})
            _el(case, ns, "Description", text=f"Pôle « {pole} » : {len(docs)} document(s).")
            for var in CASE_VARIABLES:
                value = str(docs[0].metadata.get(var, "") or "").strip()
                if value and var in types:
                    _variable_value(case, var, value, types[var])
            for d in docs:
                _el(case, ns, "SourceRef", {"targetGUID": stable_guid("source", d.doc_id)})

    files: dict[str, bytes] = {}
    by_doc = {doc_id: rows for doc_id, rows in coded.groupby("doc_id", sort=False)} if len(coded) else {}
    names = code_names(codebook)
    sources = _el(root, ns, "Sources")
    for d in documents:
        guid = stable_guid("source", d.doc_id)
        plain, nl = newline_map(d.text)
        files[f"sources/{guid}.txt"] = plain.encode("utf-8")
        src = _el(sources, ns, "TextSource", {"guid": guid, "name": d.doc_id,
                                              "plainTextPath": f"internal://{guid}.txt", "creatingUser": user_guid})
        meta = [str(d.metadata.get(k, "") or "").strip() for k in ("pole", "pole_type", "genre", "year")]
        description = " — ".join(m for m in meta if m) or d.doc_id
        encoded = nl.encode(plain)
        if encoded:
            description += f"\n{_NEWLINE_PREFIX}{encoded}"
        _el(src, ns, "Description", text=description)
        rows = by_doc.get(d.doc_id)
        if rows is not None:
            rows = rows.sort_values(["start_char", "end_char", "code_id"], kind="stable")
            for row in rows.itertuples(index=False):
                a, b = nl.to_exported(int(row.start_char)), nl.to_exported(int(row.end_char))
                sel_guid = stable_guid("selection", d.doc_id, row.code_id, int(row.start_char), int(row.end_char))
                sel = _el(src, ns, "PlainTextSelection", {"guid": sel_guid, "name": plain[a:b], "startPosition": a,
                                                          "endPosition": b, "creatingUser": user_guid})
                term = row.term if isinstance(row.term, str) else ""
                lines = [f"Terme : {term}"] if term else []
                flags = [f for f in ("negated", "contrast") if bool(getattr(row, f))]
                lines += [f"{FLAGS[f][0]} : à vérifier" for f in flags]
                lines.append(f"Code : {names[row.code_id]}")
                _el(sel, ns, "Description", text="\n".join(lines))
                for code_guid in [_guid_code(row.code_id)] + [_guid_flag(f) for f in flags]:
                    coding = _el(sel, ns, "Coding", {"guid": stable_guid("coding", sel_guid, code_guid),
                                                     "creatingUser": user_guid})
                    _el(coding, ns, "CodeRef", {"targetGUID": code_guid})
        for var, kind in types.items():
            value = str(d.metadata.get(var, "") or "").strip()
            if value:
                _variable_value(src, var, value, kind)
    if not len(sources):
        root.remove(sources)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml, files


def _check_coded(documents: Sequence[Document], coded: pd.DataFrame, codebook: Codebook) -> None:
    missing = [c for c in ("doc_id", "code_id", "start_char", "end_char", "term", "negated", "contrast")
               if c not in coded.columns]
    if missing:
        raise QdaExportError(f"the coded-segment table lacks the column(s) {', '.join(missing)}")
    by_id = {d.doc_id: d for d in documents}
    if len(by_id) != len(documents):
        dup = sorted({d.doc_id for d in documents if sum(e.doc_id == d.doc_id for e in documents) > 1})
        raise QdaExportError(f"duplicate doc_id {dup[0]!r}: every document needs its own id")
    for i, row in enumerate(coded.itertuples(index=False)):
        doc = by_id.get(row.doc_id)
        if doc is None:
            raise QdaExportError(f"coded row {i}: document {row.doc_id!r} is not among the documents exported")
        if row.code_id not in codebook:
            raise QdaExportError(f"coded row {i}: code {row.code_id!r} is not in codebook {codebook.name!r}")
        a, b = int(row.start_char), int(row.end_char)
        if not 0 <= a <= b <= len(doc.text):
            raise QdaExportError(f"coded row {i}: span {a}-{b} is out of document {row.doc_id!r} "
                                 f"(0-{len(doc.text)})")
        if "text" in coded.columns and isinstance(row.text, str) and doc.text[a:b] != row.text:
            raise QdaExportError(f"coded row {i}: the text at {a}-{b} of document {row.doc_id!r} is not "
                                 f"{row.text!r}: the coding does not belong to this version of the document")


def _write_zip(path: str | Path, members: dict[str, bytes]) -> Path:
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
    return path


def write_qdpx(documents: Sequence, coded: pd.DataFrame, codebook: Codebook, path: str | Path, *,
               name: str = "ptce_nlp", created: datetime | None = None) -> Path:
    """Write a REFI-QDA project (``.qdpx``) with the documents and their coding.

    Parameters
    ----------
    documents : sequence of Document or ParsedDocument
        The documents; each becomes a text source (``\\n`` line endings).
    coded : DataFrame
        The coded-segment table (``analysis.CODED_COLUMNS``): offsets into
        each document's original text.
    codebook : Codebook
        The codebook the coding used (every ``code_id`` must be in it).
    path : str or Path
        The ``.qdpx`` file, written atomically.
    name : str, default "ptce_nlp"
        Project name shown by the QDA tool.
    created : datetime, optional
        Creation date written on the project; none by default, so that the
        same coding always gives the same bytes.

    Returns
    -------
    Path

    Examples
    --------
    >>> result = code_documents(corpus.documents, Codebook.shipped())        # doctest: +SKIP
    >>> write_qdpx(result.parsed, result.coded, Codebook.shipped(), "out/ptce.qdpx")  # doctest: +SKIP
    """
    xml, files = project_xml(documents, coded, codebook, name=name, created=created)
    return _write_zip(path, {"project.qde": xml, **files})


def codebook_xml(codebook: Codebook) -> bytes:
    """The ``.qdc`` bytes of a codebook (namespace ``urn:QDA-XML:codebook:1.0``)."""
    origin = f"{ORIGIN}; codebook {codebook.name} v{codebook.version} ({codebook.language})"
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", {"origin": _xml_text(origin)}, nsmap={None: CODEBOOK_NS})
    _codes_element(root, CODEBOOK_NS, codebook, with_flags=False)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_qdc(codebook: Codebook, path: str | Path) -> Path:
    """Write a codebook as a REFI-QDA codebook (``.qdc``), patterns kept in the descriptions."""
    path = Path(path)
    data = codebook_xml(codebook)
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return path


# --------------------------------------------------------------------------- import: safety

def _parse_xml(data: bytes, path: object, member: str):
    """Parse XML without DTD, entity expansion or network; refuse any DOCTYPE."""
    head = data  # a DOCTYPE can only stand in the prolog, but a long comment could push it far
    if any(mark in head for mark in (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))):
        raise QdaImportError(path, f"{member}: XML with a DOCTYPE is refused (entities could expand or reach "
                                   "outside the file)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_blank_text=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        message = str(exc).split(" (line")[0]
        raise QdaImportError(path, f"{member}: invalid XML (line {exc.lineno}: {message})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise QdaImportError(path, f"{member}: XML with a DOCTYPE is refused (entities could expand or reach "
                                   "outside the file)")
    return root


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _kids(el, name: str) -> list:
    return [c for c in el if _local(c) == name]


def _kid(el, name: str):
    found = _kids(el, name)
    return found[0] if found else None


def _text_of(el, name: str) -> str:
    child = _kid(el, name)
    return (child.text or "") if child is not None else ""


class _SafeZip:
    """A zip archive checked before anything is read from it."""

    def __init__(self, path: Path, *, max_total_bytes: int, max_ratio: float, max_members: int) -> None:
        self.path = path
        if not path.exists():
            raise QdaImportError(path, "file not found")
        if not zipfile.is_zipfile(path):
            raise QdaImportError(path, "not a .qdpx project (not a zip archive)")
        try:
            self.zf = zipfile.ZipFile(path)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise QdaImportError(path, f"damaged zip archive ({exc})") from None
        try:
            self._check(infos, max_total_bytes=max_total_bytes, max_ratio=max_ratio, max_members=max_members)
        except BaseException:
            self.zf.close()
            raise
        self.budget = max_total_bytes
        self.members = {info.filename: info for info in infos}

    def _check(self, infos, *, max_total_bytes: int, max_ratio: float, max_members: int) -> None:
        path = self.path
        if len(infos) > max_members:
            raise QdaImportError(path, f"too many members in the archive ({len(infos)} > {max_members})")
        total = 0
        for info in infos:
            if _UNSAFE_MEMBER.search(info.filename):
                raise QdaImportError(path, f"zip member path {info.filename!r} escapes the project folder; refused")
            total += info.file_size
            if info.file_size > (1 << 20) and info.file_size > max_ratio * max(info.compress_size, 1):
                ratio = info.file_size // max(info.compress_size, 1)
                raise QdaImportError(path, f"zip member {info.filename!r} expands {ratio} times (limit {max_ratio:g}): "
                                           "a zip bomb? refused")
        if total > max_total_bytes:
            raise QdaImportError(path, f"the archive expands to {total:,} bytes (limit {max_total_bytes:,}): "
                                       "a zip bomb? refused")

    def read(self, name: str) -> bytes:
        info = self.members[name]
        chunks, size = [], 0
        try:
            with self.zf.open(info) as fh:  # sizes in headers can lie: count what really comes out
                while True:
                    chunk = fh.read(1 << 20)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > info.file_size or size > self.budget:
                        raise QdaImportError(self.path, f"zip member {name!r} expands beyond its declared size: "
                                                        "a zip bomb? refused")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise QdaImportError(self.path, f"zip member {name!r} is damaged ({exc})") from None
        self.budget -= size
        return b"".join(chunks)

    def find(self, name: str) -> str | None:
        if name in self.members:
            return name
        lowered = {k.lower(): k for k in self.members}
        return lowered.get(name.lower())


# --------------------------------------------------------------------------- import

@dataclass
class ImportedProject:
    """A QDA project read by :func:`read_qdpx`.

    Attributes
    ----------
    name, origin : str
        The project's name and the tool that wrote it.
    documents : list of Document
        The text sources (``doc_id`` = source name; metadata from Variables
        and Cases; original line endings restored for the toolkit's exports).
    coded : DataFrame
        One row per coding (:data:`IMPORT_COLUMNS`): the coded-segment
        columns plus ``code_name``, ``coder`` and ``selection_guid``; offsets
        into the document's text, ``text`` the selected text.
    codebook : Codebook
        The project's codes (patterns restored when the toolkit wrote them).
    users : DataFrame
        ``guid, name`` of the project's users (coders).
    warnings : list of str
        Parts of the project that were skipped (non-text sources...).
    """

    name: str
    origin: str
    documents: list[Document]
    coded: pd.DataFrame
    codebook: Codebook
    users: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _slug(name: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_).strip("_") or "code"


@dataclass
class _QdaCode:
    guid: str
    name: str
    parent_guid: str
    color: str
    description: str
    meta: dict | None
    code_id: str = ""
    flag: str = ""


def _read_codes(codes_el, path: object, known: Codebook | None) -> list[_QdaCode]:
    out: list[_QdaCode] = []
    known_guids = {_guid_code(c.id): c.id for c in known} if known is not None else {}
    known_labels = {}
    if known is not None:
        for cid, nm in code_names(known).items():
            known_labels.setdefault(nm.casefold(), cid)
            known_labels.setdefault(known[cid].label.casefold(), cid)

    def walk(el, parent: _QdaCode | None) -> None:
        guid = (el.get("guid") or "").strip("{}").lower()
        name = el.get("name") or ""
        if not guid:
            raise QdaImportError(path, f"code {name!r} has no guid")
        human, meta = _split_meta(_text_of(el, "Description"))
        color = (el.get("color") or "").strip()
        if re.fullmatch(r"#[0-9A-Fa-f]{3}", color):
            color = "#" + "".join(ch * 2 for ch in color[1:])
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", color):
            color = "#888888"
        code = _QdaCode(guid, name, parent.guid if parent else "", color.upper(), human, meta)
        if meta and meta.get("flag") in ("flags", *FLAGS) or guid in {_guid_flag(f) for f in ("flags", *FLAGS)}:
            code.flag = (meta or {}).get("flag") or next(f for f in ("flags", *FLAGS) if _guid_flag(f) == guid)
        else:
            candidate = ""
            if meta and isinstance(meta.get("id"), str):
                candidate = meta["id"]
            elif guid in known_guids:
                candidate = known_guids[guid]
            elif name.casefold() in known_labels:
                candidate = known_labels[name.casefold()]
            taken = {c.code_id for c in out}
            if not candidate or candidate in taken or not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", candidate):
                base = (parent.code_id + "." if parent and parent.code_id else "") + _slug(name)
                candidate, i = base, 2
                while candidate in taken:
                    candidate = f"{base}_{i}"
                    i += 1
            code.code_id = candidate
        out.append(code)
        for child in _kids(el, "Code"):
            walk(child, code)

    for el in _kids(codes_el, "Code"):
        walk(el, None)
    guids = [c.guid for c in out]
    dup = {g for g in guids if guids.count(g) > 1}
    if dup:
        raise QdaImportError(path, f"two codes share the guid {sorted(dup)[0]}")
    return out


def _build_codebook(codes: list[_QdaCode], *, name: str, source: str) -> Codebook:
    by_guid = {c.guid: c for c in codes}
    book_codes: dict[str, Code] = {}
    problems: list[str] = []
    for c in codes:
        if c.flag:
            continue
        parent = by_guid.get(c.parent_guid)
        item = {k: v for k, v in (c.meta or {}).items() if k in ("lemmas", "surface", "exclude")}
        patterns = _patterns(item, "lemmas", "lemma", c.code_id, problems, 0) + \
            _patterns(item, "surface", "surface", c.code_id, problems, 0)
        exclusions = _patterns(item, "exclude", "lemma", c.code_id, problems, 0)
        book_codes[c.code_id] = Code(c.code_id, c.name, parent.code_id if parent and not parent.flag else "",
                                     " ".join(c.description.split()), c.color, tuple(patterns), tuple(exclusions))
    book = Codebook(name, book_codes, source=source)
    parents = {c.parent for c in book_codes.values()}
    bare = [c.id for c in book_codes.values() if c.id not in parents and not c.patterns]
    if bare:
        book.warnings.append(f"{len(bare)} code(s) come without patterns ({', '.join(bare[:5])}"
                             f"{', ...' if len(bare) > 5 else ''}): the file was not written by ptce_nlp or their "
                             "descriptions were edited; they cannot code texts automatically")
    book.warnings.extend(problems)
    return book


def read_qdc(path: str | Path) -> Codebook:
    """Read a REFI-QDA codebook (``.qdc``) into a :class:`Codebook`.

    Patterns come back from the descriptions the toolkit wrote
    (:func:`write_qdc`); codes of other tools come without patterns and the
    codebook's ``warnings`` say so.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_QDC_BYTES:
            raise QdaImportError(path, f"file too large for a codebook ({size:,} bytes)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise QdaImportError(path, "file not found") from None
    except OSError as exc:
        raise QdaImportError(path, f"cannot read the file ({exc.strerror or exc})") from None
    root = _parse_xml(data, path, path.name)
    if _local(root) != "CodeBook":
        raise QdaImportError(path, f"not a REFI-QDA codebook (root element {_local(root)!r}, expected 'CodeBook')")
    codes_el = _kid(root, "Codes")
    if codes_el is None:
        raise QdaImportError(path, "the codebook has no <Codes>")
    origin = root.get("origin") or ""
    m = re.search(r"codebook (\S+) v(\d+) \((\w+)\)", origin)
    book = _build_codebook(_read_codes(codes_el, path, None), name=m.group(1) if m else path.stem, source=str(path))
    if m:
        book.version, book.language = int(m.group(2)), m.group(3)
    return book


def _doc_id(name: str, taken: set[str]) -> str:
    base = name.strip() or "source"
    suffix = PurePosixPath(base).suffix.lower()
    if suffix in FORMATS:
        base = base[: -len(suffix)]
    doc_id, i = base, 2
    while doc_id in taken:
        doc_id = f"{base}_{i}"
        i += 1
    return doc_id


def read_qdpx(path: str | Path, *, codebook: Codebook | None = None, max_total_bytes: int = MAX_TOTAL_BYTES,
              max_ratio: float = MAX_RATIO, max_members: int = MAX_MEMBERS) -> ImportedProject:
    """Read a REFI-QDA project written by a QDA tool (or by :func:`write_qdpx`).

    Parameters
    ----------
    path : str or Path
        The ``.qdpx`` file.
    codebook : Codebook, optional
        A codebook to recognise codes by: a code whose description lacks the
        toolkit's id line takes the id of the codebook's code with the same
        GUID or the same name; other codes get an id from their name path
        (``Valeurs de l'ESS`` -> ``valeurs_de_l_ess``).
    max_total_bytes, max_ratio, max_members
        Limits against zip bombs (total uncompressed size; compression
        ratio of a member over 1 MiB; number of members).

    Returns
    -------
    ImportedProject

    Raises
    ------
    QdaImportError
        The file is unsafe or inconsistent; the message names the item.
    """
    path = Path(path)
    archive = _SafeZip(path, max_total_bytes=max_total_bytes, max_ratio=max_ratio, max_members=max_members)
    try:
        return _read_project(archive, path, codebook)
    finally:
        archive.zf.close()


def _read_project(archive: _SafeZip, path: Path, codebook: Codebook | None) -> ImportedProject:
    qde = archive.find("project.qde")
    if qde is None:
        raise QdaImportError(path, "no project.qde in the archive: not a REFI-QDA project")
    root = _parse_xml(archive.read(qde), path, qde)
    if _local(root) != "Project":
        raise QdaImportError(path, f"{qde}: not a REFI-QDA project (root element {_local(root)!r})")
    warnings: list[str] = []

    users = {}
    users_el = _kid(root, "Users")
    for u in _kids(users_el, "User") if users_el is not None else []:
        users[(u.get("guid") or "").strip("{}").lower()] = u.get("name") or u.get("id") or ""

    codebook_el = _kid(root, "CodeBook")
    codes_el = _kid(codebook_el, "Codes") if codebook_el is not None else None
    codes = _read_codes(codes_el, path, codebook) if codes_el is not None else []
    by_guid = {c.guid: c for c in codes}
    book = _build_codebook(codes, name=root.get("name") or path.stem, source=str(path))
    top_of: dict[str, str] = {}
    for c in codes:
        top = c
        while top.parent_guid in by_guid and not by_guid[top.parent_guid].flag:
            top = by_guid[top.parent_guid]
        top_of[c.guid] = top.code_id

    variables = {}
    vars_el = _kid(root, "Variables")
    for v in _kids(vars_el, "Variable") if vars_el is not None else []:
        variables[(v.get("guid") or "").strip("{}").lower()] = v.get("name") or ""

    def values_of(el) -> dict[str, str]:
        out = {}
        for vv in _kids(el, "VariableValue"):
            ref = _kid(vv, "VariableRef")
            var = variables.get((ref.get("targetGUID") or "").strip("{}").lower(), "") if ref is not None else ""
            value = next((c.text or "" for c in vv if _local(c) != "VariableRef"), "")
            if var:
                out[var] = value.strip()
        return out

    case_values: dict[str, dict[str, str]] = {}
    cases_el = _kid(root, "Cases")
    for case in _kids(cases_el, "Case") if cases_el is not None else []:
        vals = values_of(case)
        for ref in _kids(case, "SourceRef"):
            target = (ref.get("targetGUID") or "").strip("{}").lower()
            case_values.setdefault(target, {}).update({k: v for k, v in vals.items() if v})

    documents: list[Document] = []
    rows: list[tuple] = []
    taken: set[str] = set()
    sources_el = _kid(root, "Sources")
    for src in list(sources_el) if sources_el is not None else []:
        kind = _local(src)
        if not kind:
            continue
        src_name = src.get("name") or src.get("guid") or "?"
        if kind != "TextSource":
            warnings.append(f"source {src_name!r} ({kind}) skipped: only text sources are imported")
            continue
        text = _source_text(src, archive, path, src_name)
        description = _text_of(src, "Description")
        nl = NewlineMap()
        for line in description.splitlines():
            if line.startswith(_NEWLINE_PREFIX):
                decoded = NewlineMap.decode(line[len(_NEWLINE_PREFIX):], text)
                if decoded is None:
                    warnings.append(f"source {src_name!r}: its line-ending record does not fit its text "
                                    "(edited?); offsets are into the text as the tool holds it")
                else:
                    nl = decoded
        original = nl.restore(text)
        guid = (src.get("guid") or "").strip("{}").lower()
        metadata = {k: "" for k in METADATA_FIELDS}
        metadata.update({k: v for k, v in case_values.get(guid, {}).items() if k in METADATA_FIELDS})
        metadata.update({k: v for k, v in values_of(src).items() if k in METADATA_FIELDS and v})
        doc = Document(_doc_id(src_name, taken), original, "qdpx", path, "utf-8", metadata)
        taken.add(doc.doc_id)
        documents.append(doc)
        sentences: list = []
        starts: list[int] = []

        def sentence_at(start: int) -> str:
            if not starts and not sentences:  # segment only the documents that hold selections
                sentences.extend(s for s in segment_document(doc) if s.kind == "sentence")
                starts.extend(s.start_char for s in sentences)
            i = bisect.bisect_right(starts, start) - 1
            return sentences[i].segment_id if i >= 0 else ""

        selections = [(sel, sel.get("startPosition"), sel.get("endPosition"))
                      for sel in _kids(src, "PlainTextSelection")]
        whole = _kids(src, "Coding")
        if whole:  # codings of the whole source
            selections.append((src, "0", str(len(text))))
        for sel, start_s, end_s in selections:
            sel_guid = (sel.get("guid") or "").strip("{}").lower()
            where = f"selection {sel_guid or '?'} in source {src_name!r}"
            try:
                start, end = int(start_s), int(end_s)
            except (TypeError, ValueError):
                raise QdaImportError(path, f"{where}: positions {start_s!r}-{end_s!r} are not integers") from None
            if not 0 <= start <= end <= len(text):
                raise QdaImportError(path, f"{where}: positions {start}-{end} are out of the source's range "
                                           f"(0-{len(text)})")
            a, b = nl.to_original(start), nl.to_original(end)
            sel_user = (sel.get("creatingUser") or "").strip("{}").lower()
            found: list[tuple[_QdaCode, str]] = []
            for coding in _kids(sel, "Coding"):
                ref = _kid(coding, "CodeRef")
                target = (ref.get("targetGUID") or "").strip("{}").lower() if ref is not None else ""
                if target not in by_guid:
                    raise QdaImportError(path, f"{where}: CodeRef to no code ({target or 'no targetGUID'})")
                user = (coding.get("creatingUser") or "").strip("{}").lower() or sel_user
                found.append((by_guid[target], users.get(user, user)))
            flags = {c.flag for c, _ in found if c.flag}
            term = ""
            for line in _text_of(sel, "Description").splitlines():
                if line.startswith("Terme : "):
                    term = line[len("Terme : "):].strip()
            for code, coder in found:
                if code.flag:
                    continue
                rows.append((doc.doc_id, sentence_at(a), code.code_id, top_of[code.guid], term, a, b, original[a:b],
                             "negated" in flags, "contrast" in flags, code.name, coder, sel_guid))
    coded = pd.DataFrame(rows, columns=IMPORT_COLUMNS)
    if len(coded):
        coded = coded.sort_values(["doc_id", "start_char", "end_char", "code_id", "coder"], kind="stable",
                                  ignore_index=True)
    users_table = pd.DataFrame(sorted(users.items(), key=lambda kv: kv[1]), columns=["guid", "name"])
    return ImportedProject(root.get("name") or path.stem, root.get("origin") or "", documents, coded, book,
                           users_table, warnings)


def _source_text(src, archive: _SafeZip, path: Path, src_name: str) -> str:
    content = _kid(src, "PlainTextContent")
    if content is not None and content.text is not None:
        return content.text
    plain = (src.get("plainTextPath") or "").strip()
    if not plain:
        raise QdaImportError(path, f"source {src_name!r} has no text (neither plainTextPath nor PlainTextContent)")
    if not plain.startswith("internal://"):
        raise QdaImportError(path, f"source {src_name!r}: its text {plain!r} is outside the archive (only "
                                   "internal:// sources can be imported)")
    member_name = "sources/" + plain[len("internal://"):]
    if _UNSAFE_MEMBER.search(plain[len("internal://"):]):
        raise QdaImportError(path, f"source {src_name!r}: path {plain!r} escapes the project folder; refused")
    member = archive.find(member_name)
    if member is None:
        raise QdaImportError(path, f"source {src_name!r}: its text file {member_name} is missing from the archive")
    data = archive.read(member)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QdaImportError(path, f"source {src_name!r}: {member_name} is not UTF-8 text (byte {exc.start})") from None
