"""The spaCy ``PhraseMatcher`` coder the toolkit used before it matched on token arrays (issue 13).

Kept here, unchanged but for its imports, as the reference the array coder must agree with: the same
matches, terms and flags on the bundled corpus (``tests/test_stream.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ptce_nlp.codebook import GAP, Codebook
from ptce_nlp.coding import (Match, _Clauses, _gap_ends, _longest, _segments, contraction_variants, strip_accents,
                             token_key)


@dataclass
class _Tokens:  # noqa: D101
    """Per-token strings of a doc: text, lower case (straight apostrophe), lemma key, sentence start,
    punctuation, and the matching key (the lemma key, without accents when matching ignores them)."""

    texts: list[str]
    lowers: list[str]
    keys: list[str]
    sent_starts: list[bool]
    punct: list[bool]
    norms: list[str]



class ReferenceCoder:
    """Compiles a codebook into spaCy phrase matchers and codes docs.

    Parameters
    ----------
    codebook : Codebook
    accent_insensitive : bool
        Match ``developpement`` and ``développement`` alike.
    """

    def __init__(self, codebook: Codebook, *, accent_insensitive: bool = False) -> None:
        self.codebook = codebook
        self.accent_insensitive = accent_insensitive
        self._matchers: dict[int, object] = {}
        self._strings: dict[int, dict] = {}  # per vocab (by id): "text"/"lower"/"key" -> {string hash: str}

    def _matcher(self, vocab):
        """The compiled phrase matchers for ``vocab``.

        Fixed-length patterns (most of a codebook) go to two
        :class:`spacy.matcher.PhraseMatcher` (on ``NORM``, which holds the
        lemma key, and on ``LOWER`` for surface forms): they cost one hash
        look-up per token whatever their number. A pattern with gaps
        (``retour à * emploi``) is found by its first fixed part, then its
        other parts are looked for 0 to :data:`MAX_GAP` words (not
        punctuation) further: the rare anchors cost less than a
        :class:`spacy.matcher.Matcher` state machine on every token.
        """
        key = id(vocab)
        if key not in self._matchers:
            from spacy.matcher import PhraseMatcher
            from spacy.tokens import Doc

            by_norm = PhraseMatcher(vocab, attr="NORM")
            by_lower = PhraseMatcher(vocab, attr="LOWER")
            accents = not self.accent_insensitive
            self._gaps = []
            for code in self.codebook:
                labelled = [(f"{i}", p) for i, p in enumerate(code.patterns)]
                labelled += [(f"x{i}", p) for i, p in enumerate(code.exclusions)]
                for which, p in labelled:
                    for tokens in ([p.tokens] if p.kind == "surface" else contraction_variants(p.tokens)):
                        if GAP in tokens:
                            segments = _segments([token_key(t, accents=accents) if t != GAP else GAP for t in tokens])
                            self._gaps.append((code.id, which, segments[1:]))
                            words, label = segments[0], f"{code.id}\tg{len(self._gaps) - 1}"
                        else:
                            words, label = list(tokens), f"{code.id}\t{which}"
                        if p.kind == "surface":
                            by_lower.add(label, [Doc(vocab, words=words)])
                        else:
                            doc = Doc(vocab, words=words)
                            for token in doc:
                                token.norm_ = token_key(token.text, accents=accents)
                            by_norm.add(label, [doc])
            self._matchers = {key: tuple(m for m in (by_norm, by_lower) if len(m))}
        return self._matchers[key]

    def set_keys(self, doc) -> _Tokens:
        """Set each token's ``norm_`` to its matching key; return the token strings coding needs."""
        memo = self._strings.setdefault(id(doc.vocab), {"text": {}, "lower": {}, "key": {}})
        return _tokens_of(doc, norms=True, accents=not self.accent_insensitive, memo=memo)

    def match(self, doc) -> list[Match]:
        """Code one parsed doc (sets token norms to lemma keys first)."""
        tokens = self.set_keys(doc)
        raw = [m for matcher in self._matcher(doc.vocab) for m in matcher(doc)]
        strings = doc.vocab.strings
        found: dict[str, list[tuple[int, int, str]]] = {}
        excluded: dict[str, list[tuple[int, int]]] = {}
        hits: list[tuple[str, str, int, int]] = []
        for match_id, start, end in raw:
            code_id, which = strings[match_id].split("\t")
            if which.startswith("g"):
                code_id, which, rest = self._gaps[int(which[1:])]
                hits.extend((code_id, which, start, e) for e in _gap_ends(tokens, end, rest))
            else:
                hits.append((code_id, which, start, end))
        for code_id, which, start, end in hits:
            if which.startswith("x"):
                excluded.setdefault(code_id, []).append((start, end))
            else:
                found.setdefault(code_id, []).append((start, end, self.codebook[code_id].patterns[int(which)].text))
        clauses = _Clauses(tokens)
        out: list[Match] = []
        for code_id, spans in found.items():
            blocked = excluded.get(code_id, [])
            for start, end, term in _longest(spans):
                if any(s < end and start < e for s, e in blocked):
                    continue
                out.append(Match(code_id, term, start, end, doc[start].idx, doc[end - 1].idx + len(doc[end - 1]),
                                 clauses.negated(start), clauses.contrast(start), clauses.reported(start)))
        out.sort(key=lambda m: (m.start, m.end, m.code_id))
        return out


def _tokens_of(doc, *, norms: bool = False, accents: bool = True, memo: dict | None = None) -> _Tokens:
    """The per-token strings of a doc, read through ``Doc.to_array`` (no Token objects: they are what costs).

    Strings are looked up once per distinct hash (once per ``memo``, which the coder keeps across the
    docs of one vocab) and spread over the tokens with numpy. With ``norms``, also sets each token's
    ``NORM`` to its matching key (the phrase matcher reads it), in one ``Doc.from_array`` call.
    """
    from spacy.attrs import IS_PUNCT, LEMMA, LOWER, NORM, ORTH, SENT_START

    strings = doc.vocab.strings
    if not len(doc):
        return _Tokens([], [], [], [], [], [])
    array = doc.to_array([ORTH, LOWER, LEMMA, SENT_START, IS_PUNCT])

    memo = memo if memo is not None else {"text": {}, "lower": {}, "key": {}}

    def spread(hashes, kind, convert):
        known = memo[kind]
        distinct, inverse = np.unique(hashes, return_inverse=True)
        values = np.empty(len(distinct), dtype=object)
        values[:] = [known[h] if h in known else known.setdefault(h, convert(h)) for h in distinct.tolist()]
        return values, inverse

    texts, orth_at = spread(array[:, 0], "text", strings.__getitem__)
    lowers, lower_at = spread(array[:, 1], "lower", lambda h: strings[h].replace("’", "'"))
    # the key comes from the lemma, or from the token text when the lemma is empty (hash 0)
    source = np.where(array[:, 2] != 0, array[:, 2], array[:, 0])
    keys, key_at = spread(source, "key", lambda h: token_key(strings[h]))
    key_list = keys[key_at].tolist()
    tokens = _Tokens(texts[orth_at].tolist(), lowers[lower_at].tolist(), key_list,
                     (array[:, 3] == 1).tolist(), (array[:, 4] != 0).tolist(), key_list)
    if norms:
        norm_of = keys if accents else np.array([strip_accents(k) for k in keys], dtype=object)
        if not accents:
            tokens.norms = norm_of[key_at].tolist()
        hashes = np.array([strings.add(k) for k in norm_of.tolist()], dtype=np.uint64)
        doc.from_array([NORM], hashes[key_at].reshape(-1, 1))
    return tokens


