"""The coding cache: a warm re-code with an edited codebook reads each document's matches back (issue 13).

Matching is independent from one code to the next: a code's matches in a document depend on the document's
parse and on that code's own patterns and exclusions only (:meth:`ptce_nlp.coding.Coder.match` keeps the
longest match within a code and applies a code's exclusions to that code alone; the negation, contrast and
reported flags depend on the document alone). So, for each document, ``coded/`` keeps:

- the rows its coding gave (sentence, code, term, offsets, flags), with the fingerprint of each code of the
  codebook that coded it (:func:`code_fingerprints`: its patterns and exclusions, not its label or line);
- its sentences (offsets into the original text and ids) and its word count, for the counts and
  ``coded_sentences``;
- the matching keys and lower cases of its tokens (each once): the words a pattern can open with.

With another codebook, a document's rows of unchanged codes (same fingerprint) are read back, those of codes
the codebook no longer has are dropped, and the edited or new codes are matched again, alone, on the
document's parse, only where they had a match or where one of their patterns' first words occurs among the
document's words; the rows are merged in coding's order (token span, then code id: each row's token span is
kept), ``category`` and ``opposed`` worked out again, and the entry replaced. An edit costs the documents it
may touch, and in them the edited codes only. The rows are the rows coding every document again gives (tested
for each kind of edit; the golden hashes of ``tests/test_stream.py`` hold on a warm run).

Entries are keyed by the document's text and salted with the toolkit's version, the parse settings, the
accent setting and a hash of the source of the modules that make the rows: a change to the matching code
never reads old entries. Checksummed and written atomically (:class:`ptce_nlp.cache.KeyedStore`); a damaged
entry is a miss, counted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .cache import KeyedStore, pack_arrays, unpack_arrays

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import ParsedDocument, _DocumentCoder
    from .codebook import Codebook
    from .types import Document

#: Bumped when the entry layout changes.
CODED_VERSION = 3
#: The modules whose code makes a document's rows: their source is hashed into every key.
_ROW_MODULES = ("analysis.py", "clean.py", "coding.py", "nlp.py", "recode.py", "segment.py", "tokens.py")
_NEGATED, _CONTRAST, _REPORTED = 1, 2, 4


def _hash(material) -> str:
    return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode("utf-8")).hexdigest()[:24]


def code_fingerprints(codebook: "Codebook") -> dict[str, str]:
    """For each code with patterns or exclusions, a hash of what its matches depend on: its id, its patterns
    (kind, words, text) and its exclusions, in order. A label, colour, description or YAML line is not part of it."""
    return {code_id: parts[0] for code_id, parts in code_parts(codebook).items()}


def code_parts(codebook: "Codebook") -> dict[str, list]:
    """For each code with patterns or exclusions: ``[fingerprint, hash of each pattern, hash of the exclusions]``.

    A code's matches do not depend on the order of its patterns (the longest of overlapping matches wins, ties
    going to the earliest, then to the pattern's text), so a code whose patterns are its former ones plus new
    ones, with the same exclusions, keeps its former matches wherever no new pattern can match."""
    out = {}
    for code in codebook:
        if not code.patterns and not code.exclusions:
            continue
        patterns = [[p.kind, list(p.tokens), p.text] for p in code.patterns]
        exclusions = [[p.kind, list(p.tokens), p.text] for p in code.exclusions]
        out[code.id] = [_hash([code.id, patterns, exclusions]), [_hash(p) for p in patterns], _hash(exclusions)]
    return out


def _source_hash() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in _ROW_MODULES:
        digest.update(name.encode("ascii") + b"\x00" + (here / name).read_bytes())
    return digest.hexdigest()


def _words(values: Sequence[str]) -> bytes:
    """Words as one ``\\n``-separated section (a ``\\n`` inside a word becomes a space: a search may find too
    much, never too little)."""
    return ("\n" + "\n".join(v.replace("\n", " ") for v in values) + "\n").encode("utf-8", "surrogatepass")


class CodedCache:
    """The ``coded/`` entries of a cache folder for one coder (:class:`ptce_nlp.analysis._DocumentCoder`)."""

    def __init__(self, directory: str | Path, coder: "_DocumentCoder") -> None:
        from . import __version__
        from .nlp import pipeline_settings

        self.coder = coder
        salt = {"coded": CODED_VERSION, "toolkit": __version__, "parse": pipeline_settings(),
                "accent_insensitive": coder.coder.accent_insensitive, "source": _source_hash()}
        self.store = KeyedStore(directory, "coded", salt, suffix=".arr")
        self.parts = code_parts(coder.codebook)
        self.fingerprints = {code_id: parts[0] for code_id, parts in self.parts.items()}
        #: the codebook's parts are stored once (an entry of their own, keyed by this hash), not in every entry
        self.book_id = _hash(self.parts)
        self._books: dict[str, dict] = {self.book_id: self.parts}
        self._book_saved = False
        self._first_words: dict[str, tuple[list[bytes], list[bytes]]] | None = None
        self._coders: dict[frozenset, "_DocumentCoder"] = {}

    @property
    def damaged(self) -> int:
        return self.store.damaged

    @staticmethod
    def _material(document: "Document") -> bytes:
        return document.text.encode("utf-8", "surrogatepass")

    # ------------------------------------------------------------------ writing
    def save(self, p: "ParsedDocument", rows: Sequence[tuple], spans: Sequence[tuple[int, int]]) -> None:
        """Keep a coded document's rows (as :class:`~ptce_nlp.analysis._DocumentCoder` makes them) with their token
        spans, its sentences, word count and words."""
        sentences = [s for s in p.segments if s.kind == "sentence"]
        norms, lowers = self.coder.coder.document_words(p.tokens)
        self._put(p.document, rows, spans, sentences, int(p.n_tokens), _words(norms), _words(lowers))

    def _put(self, document, rows, spans, sentences, n_tokens: int, norm_part: bytes, lower_part: bytes) -> None:
        from .analysis import CODED_COLUMNS

        index = {s.segment_id: i for i, s in enumerate(sentences)}
        strings: dict[str, int] = {}
        seg_at, code_at, term_at = (CODED_COLUMNS.index(c) for c in ("segment_id", "code_id", "term"))
        a_at, b_at, ea_at, eb_at = (CODED_COLUMNS.index(c) for c in ("start_char", "end_char", "export_start_char",
                                                                      "export_end_char"))
        flag_at = [CODED_COLUMNS.index(c) for c in ("negated", "contrast", "reported")]
        arrays = {
            "seg": np.asarray([index.get(r[seg_at], -1) for r in rows], dtype=np.int32),
            "code": np.asarray([strings.setdefault(r[code_at], len(strings)) for r in rows], dtype=np.int32),
            "term": np.asarray([strings.setdefault(r[term_at], len(strings)) for r in rows], dtype=np.int32),
            "pos": np.asarray([(r[a_at], r[b_at], r[ea_at], r[eb_at]) for r in rows], dtype=np.int64).reshape(-1),
            "span": np.asarray(list(spans), dtype=np.int64).reshape(-1),
            "flags": np.asarray([sum(bit for bit, i in zip((_NEGATED, _CONTRAST, _REPORTED), flag_at) if r[i])
                                 for r in rows], dtype=np.uint8),
            "s_start": np.asarray([s.start_char for s in sentences], dtype=np.int64),
            "s_end": np.asarray([s.end_char for s in sentences], dtype=np.int64),
        }
        if not self._book_saved:
            self.store.put(b"codebook\x00" + self.book_id.encode("ascii"),
                           json.dumps(self.parts, ensure_ascii=False).encode("utf-8"))
            self._book_saved = True
        meta = {"book": self.book_id, "n_tokens": n_tokens,
                "sentence_ids": "\n".join(s.segment_id for s in sentences), "strings": list(strings)}
        head = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        payload = b"".join([len(head).to_bytes(4, "little"), head, len(norm_part).to_bytes(4, "little"), norm_part,
                            len(lower_part).to_bytes(4, "little"), lower_part, pack_arrays(arrays)])
        self.store.put(self._material(document), payload)

    # ------------------------------------------------------------------ reading
    def serves(self, document: "Document") -> bool:
        """Whether the document has an entry (:meth:`load` reads it; a damaged one is found there)."""
        return self.store.has(self._material(document))

    def load(self, document: "Document", source=None):
        """``(rows, parsed document)`` of a document with an entry, the edited codes matched again, or None (no
        entry, or a damaged one: counted).

        The parsed document (:class:`~ptce_nlp.analysis.ParsedDocument`) holds the document's sentences (no
        paragraph) and word count; its cleaned text and parse are read from ``source`` when asked for (the
        edited codes' matching asks for them)."""
        payload = self.store.get(self._material(document))
        if payload is None:
            return None
        try:
            return self._read(document, payload, source)
        except _DAMAGED:
            self.store.damaged += 1
            return None

    def _book(self, book_id: str) -> dict:
        """The parts (:func:`code_parts`) of the codebook that made an entry; KeyError when they are not kept."""
        if book_id not in self._books:
            damaged = self.store.damaged
            payload = self.store.get(b"codebook\x00" + book_id.encode("ascii"))
            self.store.damaged = damaged  # counted once for each document entry that needed it (load)
            try:
                book = json.loads(payload) if payload is not None else None
            except ValueError:
                book = None
            self._books[book_id] = book if isinstance(book, dict) else None
        book = self._books[book_id]
        if book is None:
            raise KeyError(f"the parts of codebook {book_id} are not in the cache")
        return book

    def _first(self) -> dict[tuple[str, str], tuple[list[bytes], list[bytes]]]:
        """For each pattern ``(code id, pattern hash)`` (not the exclusions), the first words it can start with
        (with its article contractions and gaps): matching keys and lower cases, as searched in an entry."""
        if self._first_words is None:
            by_norm, by_lower = self.coder.coder._phrase_tables()
            gaps = self.coder.coder._gaps
            found: dict[tuple[str, str], tuple[set, set]] = {}
            for k, table in enumerate((by_norm, by_lower)):
                for first, lengths in table.items():
                    for patterns in lengths.values():
                        for labels in patterns.values():
                            for code_id, which in labels:
                                if which.startswith("g"):  # a gapped pattern's first part: (code, pattern) in _gaps
                                    which = gaps[int(which[1:])][1]
                                if not which.startswith("x"):
                                    key = (code_id, self.parts[code_id][1][int(which)])
                                    found.setdefault(key, (set(), set()))[k].add(first)
            self._first_words = {key: ([("\n" + w + "\n").encode("utf-8", "surrogatepass") for w in sorted(n)],
                                       [("\n" + w + "\n").encode("utf-8", "surrogatepass") for w in sorted(lo)])
                                 for key, (n, lo) in found.items()}
        return self._first_words

    def _may_match(self, code_id: str, pattern_hashes, norm_part: bytes, lower_part: bytes) -> bool:
        """Whether one of these patterns of the code can start in a document with these words."""
        first = self._first()
        for h in pattern_hashes:
            norm_first, lower_first = first.get((code_id, h), ((), ()))
            if any(w in norm_part for w in norm_first) or any(w in lower_part for w in lower_first):
                return True
        return False

    def _coder_of(self, codes: frozenset) -> "_DocumentCoder":
        """A coder of these codes of the codebook alone (the matches of a code do not depend on the others)."""
        coder = self._coders.get(codes)
        if coder is None:
            from dataclasses import replace

            from .analysis import _DocumentCoder

            book = self.coder.codebook
            sub = replace(book, codes={c: code for c, code in book.codes.items() if c in codes}, warnings=[])
            coder = self._coders[codes] = _DocumentCoder(sub, accent_insensitive=self.coder.coder.accent_insensitive)
        return coder

    @staticmethod
    def _open(payload: bytes):
        """``(meta, norm_part, lower_part, arrays)`` of an entry; ValueError (or another of :data:`_DAMAGED`) when
        the bytes are not such an entry."""
        at = 0

        def part() -> bytes:
            nonlocal at
            size = int.from_bytes(payload[at:at + 4], "little")
            chunk = payload[at + 4:at + 4 + size]
            if len(chunk) != size:
                raise ValueError("truncated")
            at += 4 + size
            return chunk

        meta = json.loads(part())
        norm_part, lower_part = part(), part()
        arrays = unpack_arrays(payload[at:])
        n = len(arrays["code"])
        if not (len(arrays["seg"]) == len(arrays["term"]) == len(arrays["flags"]) == n
                and len(arrays["pos"]) == 4 * n and len(arrays["span"]) == 2 * n):
            raise ValueError("columns of different lengths")
        return meta, norm_part, lower_part, arrays

    def _read(self, document: "Document", payload: bytes, source):
        from .analysis import ParsedDocument, with_opposed
        from .types import Segment

        meta, norm_part, lower_part, arrays = self._open(payload)
        strings, stored, current = meta["strings"], self._book(meta["book"]), self.fingerprints
        codes = [strings[i] for i in arrays["code"].tolist()]
        with_rows = set(codes)
        redo = []  # the edited or new codes whose matches here may differ from the rows kept
        for code_id, parts in self.parts.items():
            before = stored.get(code_id)
            if before is not None and before[0] == parts[0]:
                continue
            if before is not None and before[2] == parts[2] and set(before[1]) <= set(parts[1]):
                # patterns added, none removed, the same exclusions: its rows stand unless a new one may match
                added = [h for h in parts[1] if h not in set(before[1])]
                if self._may_match(code_id, added, norm_part, lower_part):
                    redo.append(code_id)
            elif code_id in with_rows or self._may_match(code_id, parts[1], norm_part, lower_part):
                redo.append(code_id)
        text = document.text
        n = len(text)
        starts, ends = arrays["s_start"], arrays["s_end"]
        ids = meta["sentence_ids"].split("\n") if meta["sentence_ids"] else []
        pos = arrays["pos"].reshape(-1, 4)
        if (len(ids) != len(starts) or len(ends) != len(starts)
                or (len(starts) and (starts.min() < 0 or ends.max() > n or (ends < starts).any()))
                or (len(pos) and (pos.min() < 0 or pos[:, :2].max() > n))):
            raise ValueError("offsets out of the document")
        doc_id = document.doc_id
        sentences = [Segment(doc_id, sid, "sentence", a, b, text[a:b], parent_id=sid.split(".")[0])
                     for sid, a, b in zip(ids, starts.tolist(), ends.tolist())]
        p = ParsedDocument(document, None, sentences, None, source=source, n_tokens=int(meta["n_tokens"]))
        seg = arrays["seg"].tolist()
        terms = [strings[i] for i in arrays["term"].tolist()]
        flags = arrays["flags"].tolist()
        redone = set(redo)
        rows, spans = [], []
        for k, (code_id, (a, b, ea, eb), span) in enumerate(zip(codes, pos.tolist(),
                                                                 arrays["span"].reshape(-1, 2).tolist())):
            if code_id not in current or code_id in redone:  # a code removed, or matched again below
                continue
            f = flags[k]
            rows.append((doc_id, ids[seg[k]] if seg[k] >= 0 else "", code_id, code_id.split(".")[0], terms[k],
                         a, b, text[a:b], bool(f & _NEGATED), bool(f & _CONTRAST), ea, eb, bool(f & _REPORTED)))
            spans.append(tuple(span))
        if redo or len(rows) != len(codes):  # (rows unchanged: the entry stays, its checks as cheap next time)
            if redo:
                spanned = [(r, tuple(sp)) for r, sp in zip(rows, spans)]
                spanned += self._coder_of(frozenset(redo)).spanned(p)
                spanned.sort(key=lambda t: (t[1][0], t[1][1], t[0][2]))  # coding's order: span, then code id
                rows, spans = [r for r, _ in spanned], [sp for _, sp in spanned]
            self._put(document, rows, spans, sentences, int(meta["n_tokens"]), norm_part, lower_part)
        return with_opposed(rows), p


_DAMAGED = (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError)
