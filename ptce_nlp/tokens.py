"""Compact per-token arrays of a parsed document: what coding, KWIC, features and the learned coder read.

A spaCy ``Doc`` costs about a kilobyte a token once its Python objects are built; everything downstream
of the parse only needs, per token, its character offset, its text, lower case, lemma and part of speech,
the sentence start and four lexical flags. :class:`TokenArrays` holds exactly that as numpy arrays over a
per-document table of distinct strings (about 20 bytes a token), is built once from a fresh parse
(:meth:`TokenArrays.from_doc`) and is stored in the cache as raw arrays with a JSON header (no pickle), so that a warm run (an edited
codebook) reads it back without importing spaCy nor rebuilding any ``Doc``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Bits of :attr:`TokenArrays.flags`.
SENT_START, IS_PUNCT, IS_SPACE, IS_ALPHA, LIKE_NUM = 1, 2, 4, 8, 16
#: Version of the stored layout: part of the cache key.
LAYOUT_VERSION = 1


class DamagedEntry(ValueError):
    """A stored token-array entry that cannot be read back (truncated, foreign, inconsistent)."""


@dataclass
class TokenArrays:
    """Per-token columns of one parsed text (``idx`` into the cleaned text, half-open code points).

    ``text``, ``lower``, ``lemma`` and ``pos`` are indices into ``strings``; ``lemma`` points at ``""``
    when the parse left no lemma. ``flags`` packs :data:`SENT_START` (spaCy's ``SENT_START == 1``),
    ``is_punct``, ``is_space``, ``is_alpha`` and ``like_num``.
    """

    strings: list[str]
    idx: np.ndarray
    text: np.ndarray
    lower: np.ndarray
    lemma: np.ndarray
    pos: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return len(self.idx)

    # ------------------------------------------------------------------ building

    @classmethod
    def from_doc(cls, doc) -> "TokenArrays":
        """The arrays of a spaCy ``Doc`` (read through ``Doc.to_array``: no Token objects)."""
        from spacy.attrs import IDX, IS_ALPHA as A_ALPHA, IS_PUNCT as A_PUNCT, IS_SPACE as A_SPACE
        from spacy.attrs import LEMMA, LIKE_NUM as A_NUM, LOWER, ORTH, POS, SENT_START as A_SENT

        if not len(doc):
            return cls.empty()
        array = doc.to_array([IDX, ORTH, LOWER, LEMMA, POS, A_SENT, A_PUNCT, A_SPACE, A_ALPHA, A_NUM])
        strings = doc.vocab.strings
        hashes = array[:, 1:5].astype(np.uint64)
        pos_names = {}
        distinct, inverse = np.unique(hashes[:, :3], return_inverse=True)
        table = [strings[h] if h else "" for h in distinct.tolist()]
        # POS values are symbol ids (small ints), not string hashes
        from spacy.symbols import NAMES

        pos_ids = array[:, 4].astype(np.int64)
        index = {s: i for i, s in enumerate(table)}
        if "" not in index:
            index[""] = len(table)
            table.append("")
        for p in np.unique(pos_ids).tolist():
            name = NAMES[p] if 0 < p < len(NAMES) else ""
            if name not in index:
                index[name] = len(table)
                table.append(name)
            pos_names[p] = index[name]
        inverse = inverse.reshape(-1, 3).astype(np.int32)
        lemma = inverse[:, 2].copy()
        lemma[hashes[:, 2] == 0] = index[""]
        flags = ((array[:, 5] == 1) * SENT_START | (array[:, 6] != 0) * IS_PUNCT | (array[:, 7] != 0) * IS_SPACE
                 | (array[:, 8] != 0) * IS_ALPHA | (array[:, 9] != 0) * LIKE_NUM).astype(np.uint8)
        pos = np.asarray([pos_names[p] for p in pos_ids.tolist()], dtype=np.int32)
        return cls(table, array[:, 0].astype(np.int32), inverse[:, 0].copy(), inverse[:, 1].copy(), lemma, pos,
                   flags)

    @classmethod
    def empty(cls) -> "TokenArrays":
        none = np.zeros(0, dtype=np.int32)
        return cls([""], none, none, none, none, none, np.zeros(0, dtype=np.uint8))

    # ------------------------------------------------------------------ reading

    def column(self, name: str) -> list[str]:
        """The strings of a column (``text``, ``lower``, ``lemma``, ``pos``), one per token."""
        values = np.empty(len(self.strings), dtype=object)
        values[:] = self.strings
        return values[getattr(self, name)].tolist()

    def flag(self, bit: int) -> np.ndarray:
        return (self.flags & bit) != 0

    def ends(self) -> np.ndarray:
        """End offset of each token (``idx + len(text)``)."""
        lengths = np.fromiter((len(s) for s in self.strings), dtype=np.int32, count=len(self.strings))
        return self.idx + lengths[self.text]

    def n_words(self) -> int:
        """Tokens that are neither punctuation nor white space."""
        return int(((self.flags & (IS_PUNCT | IS_SPACE)) == 0).sum())

    # ------------------------------------------------------------------ storing

    def to_bytes(self) -> bytes:
        """Raw arrays with a JSON header (:func:`ptce_nlp.cache.pack_arrays`, no pickle); the strings as one
        UTF-8 blob with code-point offsets."""
        from .cache import pack_arrays

        offsets = np.zeros(len(self.strings) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in self.strings], out=offsets[1:])
        blob = np.frombuffer("".join(self.strings).encode("utf-8", "surrogatepass"), dtype=np.uint8)
        return pack_arrays({"blob": blob, "offsets": offsets, "idx": self.idx, "text": self.text,
                            "lower": self.lower, "lemma": self.lemma, "pos": self.pos, "flags": self.flags})

    @classmethod
    def from_bytes(cls, payload: bytes) -> "TokenArrays":
        """Read :meth:`to_bytes` back; :class:`DamagedEntry` when the bytes are not a consistent entry."""
        from .cache import unpack_arrays

        try:
            arrays = unpack_arrays(payload)
            joined = arrays["blob"].tobytes().decode("utf-8", "surrogatepass")
            offsets = arrays["offsets"].tolist()
            columns = {k: arrays[k] for k in ("idx", "text", "lower", "lemma", "pos", "flags")}
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise DamagedEntry(str(exc)) from None
        if not offsets or offsets[0] != 0 or offsets[-1] != len(joined):
            raise DamagedEntry("string table does not match its offsets")
        strings = [joined[a:b] for a, b in zip(offsets, offsets[1:])]
        n = len(columns["idx"])
        for name, values in columns.items():
            if len(values) != n:
                raise DamagedEntry(f"column {name} has the wrong length")
            if name not in ("idx", "flags") and n and (values.min() < 0 or values.max() >= len(strings)):
                raise DamagedEntry(f"column {name} points outside the string table")
        return cls(strings, columns["idx"].astype(np.int32), columns["text"].astype(np.int32),
                   columns["lower"].astype(np.int32), columns["lemma"].astype(np.int32),
                   columns["pos"].astype(np.int32), columns["flags"].astype(np.uint8))

    def covers(self, text: str) -> bool:
        """Whether these tokens are plausibly the parse of ``text`` (first and last tokens where they say).

        The entry is named by the SHA-256 of the text and checksummed: this only guards against a foreign
        or stale file, as the DocBin cache's check did.
        """
        if not len(self):
            return text.strip() == ""
        strings = self.strings
        first, last = strings[int(self.text[0])], strings[int(self.text[-1])]
        a, b = int(self.idx[0]), int(self.idx[-1])
        return (0 <= a <= b and b + len(last) <= len(text) and text.startswith(first, a)
                and text.startswith(last, b) and text[b + len(last):].strip() == "")
