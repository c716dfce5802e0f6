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

With another codebook, a document's entry serves when every code that can match is either unchanged (same
fingerprint) or cannot match in the document: it had no match there and none of its patterns' first words
occurs among the document's words. Rows of codes the codebook no longer has are dropped; ``category`` and
``opposed`` are worked out again. Any other document is coded again from its parse (and its entry
replaced): an edit costs the documents it may touch. The rows read back are the rows coding gives (tested,
and the golden hashes of ``tests/test_stream.py`` hold on a warm run).

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
CODED_VERSION = 1
#: The modules whose code makes a document's rows: their source is hashed into every key.
_ROW_MODULES = ("analysis.py", "clean.py", "coding.py", "nlp.py", "recode.py", "segment.py", "tokens.py")
_NEGATED, _CONTRAST, _REPORTED = 1, 2, 4


def code_fingerprints(codebook: "Codebook") -> dict[str, str]:
    """For each code with patterns or exclusions, a hash of what its matches depend on: its id, its patterns
    (kind, words, text) and its exclusions, in order. A label, colour, description or YAML line is not part of it."""
    out = {}
    for code in codebook:
        if not code.patterns and not code.exclusions:
            continue
        material = [code.id, [[p.kind, list(p.tokens), p.text] for p in code.patterns],
                    [[p.kind, list(p.tokens), p.text] for p in code.exclusions]]
        out[code.id] = hashlib.sha256(json.dumps(material, ensure_ascii=False).encode("utf-8")).hexdigest()[:24]
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
        self.fingerprints = code_fingerprints(coder.codebook)
        self._first_words: dict[str, tuple[list[bytes], list[bytes]]] | None = None
        self._kept: dict[int, tuple] = {}
        self._kept_bytes = 0

    @property
    def damaged(self) -> int:
        return self.store.damaged

    # ------------------------------------------------------------------ writing
    def save(self, p: "ParsedDocument", rows: Sequence[tuple]) -> None:
        """Keep a coded document's rows (as :class:`~ptce_nlp.analysis._DocumentCoder` makes them), sentences,
        word count and words."""
        from .analysis import CODED_COLUMNS

        sentences = [s for s in p.segments if s.kind == "sentence"]
        index = {s.segment_id: i for i, s in enumerate(sentences)}
        strings: dict[str, int] = {}
        seg_at, code_at, term_at = (CODED_COLUMNS.index(c) for c in ("segment_id", "code_id", "term"))
        a_at, b_at, ea_at, eb_at = (CODED_COLUMNS.index(c) for c in ("start_char", "end_char", "export_start_char",
                                                                      "export_end_char"))
        flag_at = [CODED_COLUMNS.index(c) for c in ("negated", "contrast", "reported")]
        norms, lowers = self.coder.coder.document_words(p.tokens)
        meta = {"codes": self.fingerprints, "n_tokens": int(p.n_tokens),
                "sentence_ids": "\n".join(s.segment_id for s in sentences),
                "strings": None}
        arrays = {
            "seg": np.asarray([index.get(r[seg_at], -1) for r in rows], dtype=np.int32),
            "code": np.asarray([strings.setdefault(r[code_at], len(strings)) for r in rows], dtype=np.int32),
            "term": np.asarray([strings.setdefault(r[term_at], len(strings)) for r in rows], dtype=np.int32),
            "pos": np.asarray([(r[a_at], r[b_at], r[ea_at], r[eb_at]) for r in rows], dtype=np.int64).reshape(-1),
            "flags": np.asarray([sum(bit for bit, i in zip((_NEGATED, _CONTRAST, _REPORTED), flag_at) if r[i])
                                 for r in rows], dtype=np.uint8),
            "s_start": np.asarray([s.start_char for s in sentences], dtype=np.int64),
            "s_end": np.asarray([s.end_char for s in sentences], dtype=np.int64),
        }
        meta["strings"] = list(strings)
        head = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        norm_part, lower_part = _words(norms), _words(lowers)
        payload = b"".join([len(head).to_bytes(4, "little"), head, len(norm_part).to_bytes(4, "little"), norm_part,
                            len(lower_part).to_bytes(4, "little"), lower_part, pack_arrays(arrays)])
        self.store.put(self._material(p.document), payload)

    @staticmethod
    def _material(document: "Document") -> bytes:
        return document.text.encode("utf-8", "surrogatepass")

    # ------------------------------------------------------------------ reading
    #: Bytes of entries that :meth:`serves` keeps for :meth:`load` (beyond it, ``load`` reads the file again).
    KEEP_BYTES = 64 << 20

    def serves(self, document: "Document") -> bool:
        """Whether the document's entry (there, undamaged) serves this codebook (:meth:`load` then reads it)."""
        payload = self.store.get(self._material(document))
        if payload is None:
            return False
        try:
            opened = self._open(payload)
        except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError, json.JSONDecodeError):
            self.store.damaged += 1
            return False
        if opened is not None and self._kept_bytes + len(payload) <= self.KEEP_BYTES:
            self._kept[id(document)] = (document, payload, opened)
            self._kept_bytes += len(payload)
        return opened is not None

    def load(self, document: "Document", source=None):
        """``(rows, parsed document)`` of a document whose entry serves this codebook, or None.

        The parsed document (:class:`~ptce_nlp.analysis.ParsedDocument`) holds the document's sentences (no
        paragraph) and word count; its cleaned text and parse are read from ``source`` if ever asked for."""
        kept = self._kept.pop(id(document), None)
        if kept is not None and kept[0] is document:
            self._kept_bytes -= len(kept[1])
            payload, opened = kept[1], kept[2]
        else:
            payload, opened = self.store.get(self._material(document)), None
        if payload is None:
            return None
        try:
            return self._read(document, payload, source, opened)
        except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError, json.JSONDecodeError):
            self.store.damaged += 1
            return None

    def _first(self) -> dict[str, tuple[list[bytes], list[bytes]]]:
        """For each code, the first words of its patterns (not of its exclusions): matching keys and lower cases."""
        if self._first_words is None:
            by_norm, by_lower = self.coder.coder._phrase_tables()
            found: dict[str, tuple[set, set]] = {}
            for k, table in enumerate((by_norm, by_lower)):
                for first, lengths in table.items():
                    for patterns in lengths.values():
                        for labels in patterns.values():
                            for code_id, which in labels:
                                if not which.startswith("x"):
                                    found.setdefault(code_id, (set(), set()))[k].add(first)
            self._first_words = {c: ([("\n" + w + "\n").encode("utf-8", "surrogatepass") for w in sorted(n)],
                                     [("\n" + w + "\n").encode("utf-8", "surrogatepass") for w in sorted(lo)])
                                 for c, (n, lo) in found.items()}
        return self._first_words

    def _open(self, payload: bytes):
        """``(meta, arrays, codes)`` of an entry that serves this codebook, None when one does not."""
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
        strings = meta["strings"]
        codes = [strings[i] for i in arrays["code"].tolist()]
        stored: dict = meta["codes"]
        current = self.fingerprints
        with_rows = set(codes)
        for code_id, fp in current.items():
            if stored.get(code_id) == fp:
                continue
            # a new or edited code: served only when it had no match here and can have none
            if code_id in with_rows:
                return None
            norm_first, lower_first = self._first().get(code_id, ((), ()))
            if any(w in norm_part for w in norm_first) or any(w in lower_part for w in lower_first):
                return None
        return meta, arrays, codes

    def _read(self, document: "Document", payload: bytes, source, opened=None):
        from .analysis import ParsedDocument, _opposed
        from .types import Segment

        opened = opened if opened is not None else self._open(payload)
        if opened is None:
            return None
        meta, arrays, codes = opened
        strings, current = meta["strings"], self.fingerprints
        text = document.text
        n = len(text)
        starts, ends = arrays["s_start"], arrays["s_end"]
        ids = meta["sentence_ids"].split("\n") if meta["sentence_ids"] else []
        pos = arrays["pos"].reshape(-1, 4)
        if (len(ids) != len(starts) or len(ends) != len(starts) or len(pos) != len(codes)
                or (len(starts) and (starts.min() < 0 or ends.max() > n or (ends < starts).any()))
                or (len(pos) and (pos.min() < 0 or pos[:, :2].max() > n))):
            raise ValueError("offsets out of the document")
        doc_id = document.doc_id
        sentences = [Segment(doc_id, sid, "sentence", a, b, text[a:b], parent_id=sid.split(".")[0])
                     for sid, a, b in zip(ids, starts.tolist(), ends.tolist())]
        seg = arrays["seg"].tolist()
        terms = [strings[i] for i in arrays["term"].tolist()]
        flags = arrays["flags"].tolist()
        rows = []
        for k, (code_id, (a, b, ea, eb)) in enumerate(zip(codes, pos.tolist())):
            if code_id not in current:  # a code the codebook no longer has
                continue
            f = flags[k]
            rows.append((doc_id, ids[seg[k]] if seg[k] >= 0 else "", code_id, code_id.split(".")[0], terms[k],
                         a, b, text[a:b], bool(f & _NEGATED), bool(f & _CONTRAST), ea, eb, bool(f & _REPORTED)))
        rows = [row + (opposed,) for row, opposed in zip(rows, _opposed(rows))]
        p = ParsedDocument(document, None, sentences, None, source=source, n_tokens=int(meta["n_tokens"]))
        return rows, p
