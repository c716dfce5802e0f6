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
  internal://<GUID>.txt``; every coded span a ``PlainTextSelection``
  (``startPosition``/``endPosition`` in Unicode code points, 0-based, end
  exclusive, into exactly the text of the source file) with one ``Coding``
  per code of the span: QDA tools keep one coding per code, span and coder
  (QualCoder drops a second one), so the matches of one span share their
  selection (see :func:`_selection`);
- document metadata (pole, pole_type, region, year, genre) become
  ``Variables``, values on each ``TextSource``, and one ``Case`` per pole
  (holding pole, pole_type and region and referring to the pole's sources), so
  a researcher can filter by pole type in the QDA tool;
- GUIDs are UUID 5 derived from ids (code id, doc_id, span), so exporting the
  same coding twice gives byte-identical files.

Negated and contrast matches are exported as codings of their concept code,
like the others, and *flagged*: their selection also gets a coding
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
DOCTYPE (no entity is ever expanded, no network access), a ``project.qde``
over the element or text limits (it is read as a stream, so memory stays
bounded), a selection out of its source's range, a ``CodeRef`` to no code, a
missing source file. Codes are recognised by GUID first, by name only as a
fallback (:func:`_assign_code_ids`).
"""

from __future__ import annotations

import bisect
import collections
import functools
import json
import re
import sys
import unicodedata
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Sequence

from lxml import etree

from .. import __version__
from .._lazy import LazyModule
from ..codebook import Code, Codebook, _patterns
from ..errors import PtceError
from ..tables import flag
from ..io import atomic_write
from ..segment import segment_document
from ..types import FORMATS, METADATA_FIELDS, Document

pd = LazyModule("pandas")  # imported when a table is first made (issue 13)

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = f"ptce_nlp {__version__}"
#: Namespace of every GUID the toolkit derives (UUID 5).
GUID_NAMESPACE = uuid.UUID("5b0e7f4c-2a1d-5c47-9a3e-7d1f0c2b8e61")
#: Metadata exported as Variables, and their names in the QDA tool.
VARIABLES = ("pole", "pole_type", "region", "year", "genre")
CASE_VARIABLES = ("pole", "pole_type", "region")
#: Columns of the table :func:`read_qdpx` returns: the first ten of ``analysis.CODED_COLUMNS`` (not imported from
#: there, which would load spaCy with the package), the code's name in the tool, the coder, the selection's GUID,
#: then, as at the end of ``CODED_COLUMNS``, the offsets into the source's text (``\n`` line endings).
IMPORT_COLUMNS = ["doc_id", "segment_id", "code_id", "category", "term", "start_char", "end_char", "text",
                  "negated", "contrast", "code_name", "coder", "selection_guid", "export_start_char",
                  "export_end_char", "reported"]

FLAG_PARENT = ("flags", "ptce_nlp : à vérifier", "#9E9E9E",
               "Codes de revue ajoutés par ptce_nlp : une sélection qui porte aussi l'un de ces codes a été codée "
               "automatiquement dans une négation, un contraste ou un discours rapporté ; à vérifier avant de la "
               "compter.")
FLAGS = {
    "negated": ("Négation détectée", "#E53935",
                "Correspondance dans la portée d'une négation (ne ... pas, sans, absence de ...) : le concept est "
                "peut-être nié."),
    "contrast": ("Contraste détecté", "#8E24AA",
                 "Correspondance dans une tournure de contraste (contrairement à, à la différence de ...) : le "
                 "concept est peut-être attribué à un autre modèle."),
    "reported": ("Discours rapporté", "#6D4C41",
                 "Correspondance dans une phrase qui cite ou attribue son propos (selon X, (Auteur, 2005), le "
                 "rapport de ... préconise) : le concept est peut-être celui d'un autre auteur."),
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
# project.qde (and a .qdc) are read as a stream within these limits, so that memory stays bounded.
MAX_XML_ELEMENTS = 2_000_000       # XML elements
MAX_XML_TEXT_CHARS = 100_000_000   # characters of text and attribute values


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

    @functools.cached_property
    def _removed(self) -> list[int]:
        # original positions of the dropped '\r' of each CRLF (computed once: to_exported is called per offset)
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
            spans: dict[tuple[int, int], list] = {}
            for row in rows.itertuples(index=False):
                a, b = nl.to_exported(int(row.start_char)), nl.to_exported(int(row.end_char))
                spans.setdefault((a, b), []).append(row)
            for (a, b), matches in spans.items():
                _selection(src, ns, d.doc_id, a, b, plain, matches, names, user_guid)
        for var, kind in types.items():
            value = str(d.metadata.get(var, "") or "").strip()
            if value:
                _variable_value(src, var, value, kind)
    if not len(sources):
        root.remove(sources)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml, files


def _selection(src, ns: str, doc_id: str, a: int, b: int, plain: str, matches: list, names: dict[str, str],
               user_guid: str) -> None:
    """One ``PlainTextSelection`` for every match of a span: each code once, each flag once.

    QDA tools keep one coding per code, span and coder (QualCoder drops the
    second one, and its memo), so matches of the same span share their
    selection. The description names the term and the codes; when the
    matches differ in term or flags, or repeat a code, it gives each match
    its line, and a last line ``ptce_nlp: {"matches": [...]}`` that
    :func:`read_qdpx` reads back into one row per match.
    """
    sel_guid = stable_guid("selection", doc_id, a, b)
    sel = _el(src, ns, "PlainTextSelection", {"guid": sel_guid, "name": plain[a:b], "startPosition": a,
                                              "endPosition": b, "creatingUser": user_guid})
    records = [{"code": _guid_code(m.code_id), "term": m.term if isinstance(m.term, str) else "",
                **{f: flag(getattr(m, f, False)) for f in FLAGS}} for m in matches]
    codes = list(dict.fromkeys(m.code_id for m in matches))
    flags = [f for f in FLAGS if any(r[f] for r in records)]
    lines = [f"{FLAGS[f][0]} : à vérifier" for f in flags]
    if len(codes) == len(records) and len({(r["term"], *(r[f] for f in FLAGS)) for r in records}) == 1:
        term = records[0]["term"]
        lines = ([f"Terme : {term}"] if term else []) + lines + [f"Code : {names[c]}" for c in codes]
    else:
        for m, r in zip(matches, records):
            lines.append(" — ".join([f"Code : {names[m.code_id]}"] + ([f"terme : {r['term']}"] if r["term"] else [])
                                    + [FLAGS[f][0].lower() for f in FLAGS if r[f]]))
        lines.append(_META_PREFIX + json.dumps({"matches": records}, ensure_ascii=False))
    _el(sel, ns, "Description", text="\n".join(lines))
    for code_guid in [_guid_code(c) for c in codes] + [_guid_flag(f) for f in flags]:
        coding = _el(sel, ns, "Coding", {"guid": stable_guid("coding", sel_guid, code_guid), "creatingUser": user_guid})
        _el(coding, ns, "CodeRef", {"targetGUID": code_guid})


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

_DOCTYPE_MARKS = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))
_DOCTYPE_REFUSED = "XML with a DOCTYPE is refused (entities could expand or reach outside the file)"


class _XmlStream:
    """A file-like reader of XML bytes for the streaming parser.

    It counts what really comes out (sizes in zip headers can lie) against
    ``max_bytes``, turns damaged data into :class:`QdaImportError` and refuses
    a DOCTYPE in the prolog before the parser sees it (libxml2 substitutes
    internal entities in attribute values even when told not to resolve them).
    """

    def __init__(self, fh, path: object, member: str, *, max_bytes: int | None = None, bomb: str = "") -> None:
        self.fh, self.path, self.member = fh, path, member
        self.max_bytes, self.bomb = max_bytes, bomb
        self.size = 0
        self.in_prolog = True
        self._last = b""

    def read(self, n: int = -1) -> bytes:
        try:
            chunk = self.fh.read(n if n and n > 0 else 1 << 16)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise QdaImportError(self.path, f"zip member {self.member!r} is damaged ({exc})") from None
        except OSError as exc:
            raise QdaImportError(self.path, f"cannot read {self.member} ({exc.strerror or exc})") from None
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise QdaImportError(self.path, self.bomb or f"{self.member}: file too large")
        if self.in_prolog and chunk:
            window = self._last + chunk
            if any(mark in window for mark in _DOCTYPE_MARKS):
                raise QdaImportError(self.path, f"{self.member}: {_DOCTYPE_REFUSED}")
            self._last = window[-20:]
        return chunk


def _local(el) -> str:
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""  # comments and PIs have no name


def _kids(el, name: str) -> list:
    return [c for c in el if _local(c) == name]


def _kid(el, name: str):
    found = _kids(el, name)
    return found[0] if found else None


def _text_of(el, name: str) -> str:
    child = _kid(el, name)
    return (child.text or "") if child is not None else ""


def _guid_of(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


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

    def stream(self, name: str) -> _XmlStream:
        """The member as a stream of bytes, within its declared size and what is left of the budget."""
        info = self.members[name]
        try:
            fh = self.zf.open(info)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError) as exc:
            raise QdaImportError(self.path, f"zip member {name!r} is damaged ({exc})") from None
        return _XmlStream(fh, self.path, name, max_bytes=min(info.file_size, self.budget),
                          bomb=f"zip member {name!r} expands beyond its declared size: a zip bomb? refused")

    def consumed(self, stream: _XmlStream) -> None:
        stream.fh.close()
        self.budget -= stream.size

    def read(self, name: str) -> bytes:
        stream = self.stream(name)
        chunks = []
        stream.in_prolog = False  # not XML
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        self.consumed(stream)
        return b"".join(chunks)

    def find(self, name: str) -> str | None:
        if name in self.members:
            return name
        lowered = {k.lower(): k for k in self.members}
        return lowered.get(name.lower())


# --------------------------------------------------------------------------- import: streaming parse

@dataclass
class _QdaCode:
    guid: str
    name: str
    parent_guid: str
    color: str
    description: str = ""
    meta: dict | None = None
    code_id: str = ""
    flag: str = ""


@dataclass(slots=True)
class _Selection:
    """A PlainTextSelection (or the codings of a whole source, ``end`` None) as read from the XML."""

    guid: str
    start: str | None
    end: str | None
    user: str
    description: str
    codings: list[tuple[str, str]]  # (code GUID, creating user GUID)


@dataclass
class _Source:
    kind: str
    guid: str
    name: str
    plain_path: str
    content: str | None = None
    description: str = ""
    values: list[tuple[str, str]] = field(default_factory=list)  # (variable GUID, value)
    selections: list[_Selection] = field(default_factory=list)


@dataclass
class _Qde:
    """What the import needs of a ``project.qde`` or a ``.qdc``, read without keeping the tree."""

    root: str = ""
    name: str = ""
    origin: str = ""
    users: dict[str, str] = field(default_factory=dict)
    codes: list[_QdaCode] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    cases: list[tuple[list[tuple[str, str]], list[str]]] = field(default_factory=list)
    sources: list[_Source] = field(default_factory=list)
    containers: set[str] = field(default_factory=set)


# Parts of the XML read one at a time: a *unit* is read at its end, then dropped with its contents; the
# children a unit reads (``_KEEP``) stay until then; everything else is dropped as soon as it ends.
_CONTAINERS = {"Users", "CodeBook", "Codes", "Variables", "Cases", "Sources"}
_KEEP = {"Code": {"Description"}, "PlainTextSelection": {"Description", "Coding"}, "Coding": {"CodeRef"},
         "TextSource": {"Description", "PlainTextContent", "VariableValue", "Coding"},
         "Case": {"VariableValue", "SourceRef"}}
_UNIT, _KEPT, _CONTAINER, _DROP = 1, 2, 3, 4


def _values(el) -> list[tuple[str, str]]:
    out = []
    for vv in _kids(el, "VariableValue"):
        ref = _kid(vv, "VariableRef")
        var = _guid_of(ref.get("targetGUID")) if ref is not None else ""
        value = next((c.text or "" for c in vv if _local(c) != "VariableRef"), "")
        out.append((var, value))
    return out


def _codings(el) -> list[tuple[str, str]]:
    out = []
    for coding in _kids(el, "Coding"):
        ref = _kid(coding, "CodeRef")
        out.append((sys.intern(_guid_of(ref.get("targetGUID"))) if ref is not None else "",
                    sys.intern(_guid_of(coding.get("creatingUser")))))  # the same few GUIDs, many times
    return out


def _xml_error(path: object, member: str, exc: etree.XMLSyntaxError) -> QdaImportError:
    message = re.sub(r" \((?:<string>|[^()]*), line \d+\)$", "", str(exc)).split(" (line")[0]
    if "huge" in message.lower() or "XML_PARSE_HUGE" in message:
        return QdaImportError(path, f"{member}: beyond the XML parser's safety limits ({message}); refused")
    return QdaImportError(path, f"{member}: invalid XML (line {exc.lineno}: {message})")


def _parse_qde(stream: _XmlStream, path: object, member: str, *, max_elements: int, max_text_chars: int,
               kind: str = "project") -> _Qde:
    """Read a REFI-QDA XML file as a stream (``iterparse``), keeping only what the import uses.

    No DTD, no entity, no network; at most ``max_elements`` elements and ``max_text_chars`` characters of
    text and attribute values, so memory stays bounded whatever the file holds.
    """
    out = _Qde()
    parser = etree.iterparse(stream, events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True,
                             remove_pis=True)
    stack: list[tuple[str, int]] = []
    code_stack: list[_QdaCode] = []
    source: _Source | None = None
    n_elements = n_chars = 0

    def too_large(what: str) -> QdaImportError:
        return QdaImportError(path, f"{member}: over {what} (the limit for a {kind}); too large to import, refused")

    try:
        for event, el in parser:
            if event == "start":
                n_elements += 1
                if n_elements > max_elements:
                    raise too_large(f"{max_elements:,} XML elements")
                n_chars += sum(map(len, el.values()))
                if n_chars > max_text_chars:
                    raise too_large(f"{max_text_chars:,} characters of text")
                name = _local(el)
                if not stack:
                    stream.in_prolog = False
                    docinfo = el.getroottree().docinfo
                    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
                        raise QdaImportError(path, f"{member}: {_DOCTYPE_REFUSED}")
                    out.root, out.name, out.origin = name, el.get("name") or "", el.get("origin") or ""
                    stack.append((name, _CONTAINER))
                    continue
                parent, role = stack[-1]
                if role == _CONTAINER and (parent == "Sources" or (name, parent) in (
                        ("User", "Users"), ("Code", "Codes"), ("Variable", "Variables"), ("Case", "Cases"))) \
                        or role == _UNIT and (name, parent) in (("Code", "Code"), ("PlainTextSelection", "TextSource")):
                    role = _UNIT
                    if name == "Code":
                        color = (el.get("color") or "").strip()
                        code = _QdaCode(_guid_of(el.get("guid")), el.get("name") or "",
                                        code_stack[-1].guid if code_stack else "", color)
                        out.codes.append(code)  # parents before their children
                        code_stack.append(code)
                    elif parent == "Sources":
                        source = _Source(name, _guid_of(el.get("guid")), el.get("name") or el.get("guid") or "?",
                                         (el.get("plainTextPath") or "").strip())
                        out.sources.append(source)
                elif name in _CONTAINERS and role == _CONTAINER:
                    out.containers.add(name)
                elif role in (_UNIT, _KEPT) and (name in _KEEP.get(parent, ()) or parent == "VariableValue"):
                    role = _KEPT
                else:
                    role = _DROP
                stack.append((name, role))
                continue
            # end of an element: its text is complete, and so is the tail of the sibling before it
            name, role = stack.pop()
            prev = el.getprevious()
            n_chars += len(el.text or "") + (len(prev.tail or "") if prev is not None else 0)
            if len(el):
                n_chars += len(el[-1].tail or "")
            if n_chars > max_text_chars:
                raise too_large(f"{max_text_chars:,} characters of text")
            if role == _KEPT:
                continue
            if role == _UNIT:
                if name == "User":
                    out.users[_guid_of(el.get("guid"))] = el.get("name") or el.get("id") or ""
                elif name == "Code":
                    code = code_stack.pop()
                    code.description, code.meta = _split_meta(_text_of(el, "Description"))
                elif name == "Variable":
                    out.variables[_guid_of(el.get("guid"))] = el.get("name") or ""
                elif name == "Case":
                    out.cases.append((_values(el), [_guid_of(r.get("targetGUID")) for r in _kids(el, "SourceRef")]))
                elif name == "PlainTextSelection" and source is not None:
                    source.selections.append(_Selection(
                        _guid_of(el.get("guid")), el.get("startPosition"), el.get("endPosition"),
                        sys.intern(_guid_of(el.get("creatingUser"))), _text_of(el, "Description"), _codings(el)))
                elif source is not None and stack and stack[-1][0] == "Sources":
                    content = _kid(el, "PlainTextContent")
                    source.content = content.text if content is not None and content.text is not None else None
                    source.description = _text_of(el, "Description")
                    source.values = _values(el)
                    whole = _codings(el)
                    if whole:  # codings of the whole source
                        source.selections.append(_Selection(source.guid, "0", None, _guid_of(el.get("creatingUser")),
                                                            source.description, whole))
                    source = None
            if stack:
                el.clear()
                while (prev := el.getprevious()) is not None and not len(prev) and not prev.attrib \
                        and not prev.text:  # dropped siblings (and their tails); kept ones stay
                    el.getparent().remove(prev)
    except etree.XMLSyntaxError as exc:
        raise _xml_error(path, member, exc) from None
    return out


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
        columns plus ``code_name``, ``coder``, ``selection_guid`` and
        ``export_start_char``, ``export_end_char``; offsets into the
        document's text, ``text`` the selected text, the export offsets into
        the source's text as the project holds it (``\\n`` line endings).
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


_CODE_ID = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _assign_code_ids(codes: list[_QdaCode], path: object, known: Codebook | None) -> list[_QdaCode]:
    """Give each code of a project its code id (``codes`` in document order, parents first).

    First every code whose GUID is that of a ``known`` code, or the one the
    toolkit derives from the id in its description, takes that id (GUIDs
    are derived from code ids, so a code renamed in the QDA tool keeps its
    id, and a copy of a code made in the tool cannot take the original's);
    then a code whose description holds the toolkit's
    id line takes that id; then the id of the ``known`` code with the same
    name (under the same parent when several codes have that name); else an
    id made from the name path (``Valeurs de l'ESS › Coopération`` ->
    ``valeurs_de_l_ess.cooperation``).
    """
    for c in codes:
        if not c.guid:
            raise QdaImportError(path, f"code {c.name!r} has no guid")
    dup = [g for g, n in collections.Counter(c.guid for c in codes).items() if n > 1]
    if dup:
        raise QdaImportError(path, f"two codes share the guid {sorted(dup)[0]}")
    known_guids = {_guid_code(c.id): c.id for c in known} if known is not None else {}
    flag_guids = {_guid_flag(f): f for f in ("flags", *FLAGS)}
    taken: set[str] = set()
    for code in codes:  # the colours, the flags, then the codes known by their GUID
        color = code.color
        if re.fullmatch(r"#[0-9A-Fa-f]{3}", color):
            color = "#" + "".join(ch * 2 for ch in color[1:])
        code.color = color.upper() if re.fullmatch(r"#[0-9A-Fa-f]{6}", color) else "#888888"
        meta = code.meta or {}
        if meta.get("flag") in ("flags", *FLAGS) or code.guid in flag_guids:
            code.flag = meta.get("flag") or flag_guids[code.guid]
        elif code.guid in known_guids:
            code.code_id = known_guids[code.guid]
            taken.add(code.code_id)
        elif isinstance(meta.get("id"), str) and code.guid == _guid_code(meta["id"]):  # the toolkit's own GUID
            code.code_id = meta["id"]
            taken.add(code.code_id)
    for code in codes:  # the ids the toolkit wrote in the descriptions
        meta_id = (code.meta or {}).get("id")
        if not code.flag and not code.code_id and isinstance(meta_id, str) and meta_id not in taken \
                and _CODE_ID.fullmatch(meta_id):
            code.code_id = meta_id
            taken.add(meta_id)
    by_name: dict[str, list[str]] = {}
    if known is not None:
        names = code_names(known)
        for c in known:
            for key in dict.fromkeys((_name_key(names[c.id]), _name_key(c.label))):
                by_name.setdefault(key, []).append(c.id)
    by_guid = {c.guid: c for c in codes}
    for code in codes:  # by name, else from the name path
        if code.flag or code.code_id:
            continue
        parent = by_guid.get(code.parent_guid)
        parent_id = parent.code_id if parent is not None and not parent.flag else ""
        same_name = [i for i in by_name.get(_name_key(code.name), []) if i not in taken]
        if len(same_name) > 1:
            same_name = [i for i in same_name if known[i].parent == parent_id]
        if len(same_name) == 1:
            candidate = same_name[0]
        else:
            base = (parent_id + "." if parent_id else "") + _slug(code.name)
            candidate, i = base, 2
            while candidate in taken:
                candidate = f"{base}_{i}"
                i += 1
        code.code_id = candidate
        taken.add(candidate)
    return codes


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


def read_qdc(path: str | Path, *, max_elements: int = MAX_XML_ELEMENTS,
             max_text_chars: int = MAX_XML_TEXT_CHARS) -> Codebook:
    """Read a REFI-QDA codebook (``.qdc``) into a :class:`Codebook`.

    Patterns come back from the descriptions the toolkit wrote
    (:func:`write_qdc`); codes of other tools come without patterns and the
    codebook's ``warnings`` say so. The file is read as a stream, within
    the same limits as a project (see :func:`read_qdpx`).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_QDC_BYTES:
            raise QdaImportError(path, f"file too large for a codebook ({size:,} bytes)")
        fh = path.open("rb")
    except FileNotFoundError:
        raise QdaImportError(path, "file not found") from None
    except OSError as exc:
        raise QdaImportError(path, f"cannot read the file ({exc.strerror or exc})") from None
    with fh:
        qde = _parse_qde(_XmlStream(fh, path, path.name, max_bytes=MAX_QDC_BYTES), path, path.name,
                         max_elements=max_elements, max_text_chars=max_text_chars, kind="codebook")
    if qde.root != "CodeBook":
        raise QdaImportError(path, f"not a REFI-QDA codebook (root element {qde.root!r}, expected 'CodeBook')")
    if "Codes" not in qde.containers:
        raise QdaImportError(path, "the codebook has no <Codes>")
    m = re.search(r"codebook (\S+) v(\d+) \((\w+)\)", qde.origin)
    book = _build_codebook(_assign_code_ids(qde.codes, path, None), name=m.group(1) if m else path.stem,
                           source=str(path))
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
              max_ratio: float = MAX_RATIO, max_members: int = MAX_MEMBERS, max_elements: int = MAX_XML_ELEMENTS,
              max_text_chars: int = MAX_XML_TEXT_CHARS) -> ImportedProject:
    """Read a REFI-QDA project written by a QDA tool (or by :func:`write_qdpx`).

    Parameters
    ----------
    path : str or Path
        The ``.qdpx`` file.
    codebook : Codebook, optional
        A codebook to recognise codes by: a code takes the id of the
        codebook's code with the same GUID (the toolkit derives GUIDs from
        code ids, so renaming a code in the QDA tool does not matter), else
        the id the toolkit wrote in its description, else the id of the
        codebook's code with the same name (under the same parent when the
        name repeats); other codes get an id from their name path
        (``Valeurs de l'ESS`` -> ``valeurs_de_l_ess``).
    max_total_bytes, max_ratio, max_members
        Limits against zip bombs (total uncompressed size; compression
        ratio of a member over 1 MiB; number of members).
    max_elements, max_text_chars
        Limits of ``project.qde``, read as a stream so that memory stays
        bounded: number of XML elements, characters of text and attribute
        values.

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
        member = archive.find("project.qde")
        if member is None:
            raise QdaImportError(path, "no project.qde in the archive: not a REFI-QDA project")
        stream = archive.stream(member)
        try:
            qde = _parse_qde(stream, path, member, max_elements=max_elements, max_text_chars=max_text_chars)
        finally:
            archive.consumed(stream)
        if qde.root != "Project":
            raise QdaImportError(path, f"{member}: not a REFI-QDA project (root element {qde.root!r})")
        return _read_project(qde, archive, path, codebook)
    finally:
        archive.zf.close()


def _selection_notes(description: str) -> tuple[str, list[dict] | None]:
    """The term (``Terme :`` line) and the toolkit's per-match record of a selection's description."""
    term = ""
    for line in description.splitlines():
        if line.startswith("Terme : "):
            term = line[len("Terme : "):].strip()
    _, meta = _split_meta(description)
    matches = meta.get("matches") if meta else None
    if not isinstance(matches, list) or not all(isinstance(m, dict) for m in matches):
        matches = None
    return term, matches


def _read_project(qde: _Qde, archive: _SafeZip, path: Path, codebook: Codebook | None) -> ImportedProject:
    warnings: list[str] = []
    users = qde.users
    codes = _assign_code_ids(qde.codes, path, codebook)
    by_guid = {c.guid: c for c in codes}
    book = _build_codebook(codes, name=qde.name or path.stem, source=str(path))
    top_of: dict[str, str] = {}
    for c in codes:
        top = c
        while top.parent_guid in by_guid and not by_guid[top.parent_guid].flag:
            top = by_guid[top.parent_guid]
        top_of[c.guid] = top.code_id

    def values_of(raw: list[tuple[str, str]]) -> dict[str, str]:
        out = {}
        for var_guid, value in raw:
            var = qde.variables.get(var_guid, "")
            if var:
                out[var] = value.strip()
        return out

    case_values: dict[str, dict[str, str]] = {}
    for raw, refs in qde.cases:
        vals = values_of(raw)
        for target in refs:
            case_values.setdefault(target, {}).update({k: v for k, v in vals.items() if v})

    documents: list[Document] = []
    rows: list[tuple] = []
    taken: set[str] = set()
    for src in qde.sources:
        src_name = src.name
        if src.kind != "TextSource":
            warnings.append(f"source {src_name!r} ({src.kind}) skipped: only text sources are imported")
            continue
        text = _source_text(src, archive, path)
        nl = NewlineMap()
        for line in src.description.splitlines():
            if line.startswith(_NEWLINE_PREFIX):
                decoded = NewlineMap.decode(line[len(_NEWLINE_PREFIX):], text)
                if decoded is None:
                    warnings.append(f"source {src_name!r}: its line-ending record does not fit its text "
                                    "(edited?); offsets are into the text as the tool holds it")
                else:
                    nl = decoded
        original = nl.restore(text)
        metadata = {k: "" for k in METADATA_FIELDS}
        metadata.update({k: v for k, v in case_values.get(src.guid, {}).items() if k in METADATA_FIELDS})
        metadata.update({k: v for k, v in values_of(src.values).items() if k in METADATA_FIELDS and v})
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

        span_flags: dict[tuple[int, int, str], set] = {}
        for sel in src.selections:
            try:
                span = (int(sel.start), int(sel.end) if sel.end is not None else len(text))
            except (TypeError, ValueError):
                continue
            for target, user in sel.codings:
                if target in by_guid and by_guid[target].flag:
                    span_flags.setdefault((*span, user or sel.user), set()).add(by_guid[target].flag)
        for sel in src.selections:
            where = f"selection {sel.guid or '?'} in source {src_name!r}"
            start_s, end_s = sel.start, sel.end if sel.end is not None else str(len(text))
            try:
                start, end = int(start_s), int(end_s)
            except (TypeError, ValueError):
                raise QdaImportError(path, f"{where}: positions {start_s!r}-{end_s!r} are not integers") from None
            if not 0 <= start <= end <= len(text):
                raise QdaImportError(path, f"{where}: positions {start}-{end} are out of the source's range "
                                           f"(0-{len(text)})")
            a, b = nl.to_original(start), nl.to_original(end)
            found: list[tuple[_QdaCode, str]] = []
            for target, user in sel.codings:
                if target not in by_guid:
                    raise QdaImportError(path, f"{where}: CodeRef to no code ({target or 'no targetGUID'})")
                user = user or sel.user
                found.append((by_guid[target], users.get(user, user)))
            # flags of the span: this selection's, and those of other selections of the same span and coder (a
            # tool that writes each coding as its own selection keeps the flag apart from the concept's code)
            term, matches = _selection_notes(sel.description)
            for (code, coder), (_, user) in zip(found, sel.codings):
                if code.flag:
                    continue
                flags = {c.flag for c, _ in found if c.flag} | span_flags.get((start, end, user or sel.user), set())
                # a selection holding several matches records each one (term, flags) for its code's GUID
                mine = [m for m in matches or () if m.get("code") == code.guid]
                for m in mine or [{}]:
                    negated = "negated" in flags and bool(m.get("negated", True))
                    contrast = "contrast" in flags and bool(m.get("contrast", True))
                    reported = "reported" in flags and bool(m.get("reported", True))
                    rows.append((doc.doc_id, sentence_at(a), code.code_id, top_of[code.guid],
                                 str(m.get("term", term)), a, b, original[a:b], negated, contrast, code.name, coder,
                                 sel.guid, start, end, reported))
    coded = pd.DataFrame(rows, columns=IMPORT_COLUMNS)
    if len(coded):
        coded = coded.sort_values(["doc_id", "start_char", "end_char", "code_id", "coder"], kind="stable",
                                  ignore_index=True)
    users_table = pd.DataFrame(sorted(users.items(), key=lambda kv: kv[1]), columns=["guid", "name"])
    return ImportedProject(qde.name or path.stem, qde.origin, documents, coded, book, users_table, warnings)


def _source_text(src: _Source, archive: _SafeZip, path: Path) -> str:
    src_name = src.name
    if src.content is not None:
        return src.content
    plain = src.plain_path
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
