"""Tables for the report tests: real coding of a few corpus documents, and topic and closeness
tables with exactly the columns of the stage contract (synthetic but plausible values).

The topic and closeness stages are built elsewhere; these tables stand in for them so that the
report's sections are tested with the columns the lead merges. Building them is cached per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
#: A small mix of pole types and formats from the bundled corpus.
SAMPLE_IDS = ("ptce_re_sources", "ptce_pollens", "ptce_coop_alpha", "pdc_lyonbiopole", "pdc_axelera",
              "cluster_lumiere", "spl_decolletage_arve")
XSS = "Fiche piégée <script>alert(1)</script> & <b>gras</b> \"cité\" — l'innovation sociale et la coopération."

TOPIC_TERMS_COLUMNS = ["model", "topic", "label", "seed", "rank", "term", "weight", "from_seed"]
TOPIC_SHARES_COLUMNS = ["doc_id", "pole", "pole_type", "model", "topic", "share"]
TOPIC_SELECTION_COLUMNS = ["model", "k", "coherence_npmi", "perplexity", "stability", "chosen"]
TOPIC_SEGMENTS_COLUMNS = ["model", "topic", "rank", "doc_id", "segment_id", "start_char", "end_char", "text",
                          "weight"]
TOPIC_SEEDS_COLUMNS = ["topic", "seed", "n_top", "n_from_seed", "share_from_seed", "learned_terms"]
METHODS = ("lexicon", "wordscores", "topics", "embedding")
SCORE_COLUMNS = ["score", "score_low", "score_high"] + [f"{m}_{s}" for m in METHODS for s in ("score", "low", "high")]
CLOSENESS_COLUMNS = ["doc_id", "pole", "pole_type"] + SCORE_COLUMNS + ["n_tokens", "reason"]
CLOSENESS_POLES_COLUMNS = ["pole", "pole_type", "n_docs"] + SCORE_COLUMNS
AGREEMENT_COLUMNS = ["method_a", "method_b", "spearman_rho", "p_value", "n"]


@functools.lru_cache(maxsize=1)
def coded_sample():
    """``(documents, ingest_result, coding_result)`` for :data:`SAMPLE_IDS` (real ingest and coding)."""
    from ptce_nlp.analysis import code_documents
    from ptce_nlp.codebook import Codebook
    from ptce_nlp.corpus import find_sources, iter_read
    from ptce_nlp.ingest import _document_row
    from ptce_nlp.clean import clean_text
    from ptce_nlp.segment import segment_document

    sources, _ = find_sources([CORPUS])
    sources = [s for s in sources if s.doc_id in SAMPLE_IDS]
    documents = list(iter_read(sources))
    rows, segments = [], []
    for doc in documents:
        clean = clean_text(doc.text)
        segs = segment_document(doc, clean=clean)
        segments.extend(segs)
        rows.append(_document_row(doc, segs, clean.text))
    from ptce_nlp.ingest import DOCUMENT_COLUMNS, SEGMENT_COLUMNS

    docs_table = pd.DataFrame(rows, columns=list(DOCUMENT_COLUMNS))
    seg_table = pd.DataFrame([(s.doc_id, s.segment_id, s.kind, s.parent_id, s.start_char, s.end_char, s.text)
                              for s in segments], columns=list(SEGMENT_COLUMNS))
    coding = code_documents(documents, Codebook.shipped())
    return documents, docs_table, seg_table, coding


def contract_tables(docs_table: pd.DataFrame, seg_table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Topic and closeness tables with the contract's columns, for the given documents."""
    rng = np.random.RandomState(0)
    docs = docs_table.fillna("")
    centre = {"ptce": 0.45, "pole_competitivite": -0.5, "cluster": -0.35, "district_spl": -0.1, "reference": 0.0}
    close_rows = []
    for r in docs.itertuples():
        row = {"doc_id": r.doc_id, "pole": r.pole, "pole_type": r.pole_type}
        base = centre.get(r.pole_type, 0.0)
        for prefix in ("",) + tuple(f"{m}_" for m in METHODS):
            s = float(np.clip(base + rng.normal(0, 0.15), -1, 1))
            half = float(rng.uniform(0.05, 0.2))
            row[f"{prefix}score"], row[f"{prefix}low" if prefix else "score_low"] = s, max(-1.0, s - half)
            row[f"{prefix}high" if prefix else "score_high"] = min(1.0, s + half)
        row["embedding_score"] = row["embedding_low"] = row["embedding_high"] = float("nan")
        row["n_tokens"] = int(r.n_words)
        row["reason"] = ""
        close_rows.append(row)
    closeness = pd.DataFrame(close_rows)
    closeness = closeness[CLOSENESS_COLUMNS]
    poles = closeness.groupby(["pole", "pole_type"], as_index=False)[SCORE_COLUMNS].mean()
    poles.insert(2, "n_docs", closeness.groupby(["pole", "pole_type"]).size().to_numpy())
    poles = poles[CLOSENESS_POLES_COLUMNS]
    agreement = pd.DataFrame([("lexicon", "wordscores", 0.82, 0.004, len(poles)),
                              ("lexicon", "topics", 0.64, 0.031, len(poles)),
                              ("wordscores", "topics", 0.55, 0.061, len(poles)),
                              ("lexicon", "embedding", float("nan"), float("nan"), 0)], columns=AGREEMENT_COLUMNS)

    words = {"valeurs_ess": ["coopération", "solidarité", "insertion", "mutualisation", "utilité", "social",
                             "association", "emploi", "territoire", "habitant"],
             "discours_cluster": ["innovation", "compétitivité", "recherche", "industriel", "entreprise", "marché",
                                  "international", "croissance", "filière", "technologie"],
             "": ["pôle", "projet", "acteur", "réseau", "développement", "local", "partenaire", "service",
                  "formation", "région"]}
    term_rows = []
    for model, seeds in (("seeded", ["valeurs_ess", "discours_cluster", ""]), ("lda", ["", "", ""]),
                         ("nmf", ["", ""])):
        for topic, seed in enumerate(seeds):
            pool = words[seed] if seed else words[["valeurs_ess", "discours_cluster", ""][topic % 3]]
            label = {"valeurs_ess": "Coopération et solidarité", "discours_cluster": "Innovation et compétitivité",
                     "": "Projets de territoire"}[seed or ["valeurs_ess", "discours_cluster", ""][topic % 3]]
            for rank, term in enumerate(pool, start=1):
                term_rows.append((model, topic, label, seed, rank, term, round(0.12 / rank, 4),
                                  bool(seed) and rank <= 4))
    topic_terms = pd.DataFrame(term_rows, columns=TOPIC_TERMS_COLUMNS)
    share_rows = []
    for model, k in (("seeded", 3), ("lda", 3), ("nmf", 2)):
        for r in docs.itertuples():
            shares = rng.dirichlet(np.ones(k))
            share_rows += [(r.doc_id, r.pole, r.pole_type, model, t, float(s)) for t, s in enumerate(shares)]
    topic_shares = pd.DataFrame(share_rows, columns=TOPIC_SHARES_COLUMNS)
    selection = pd.DataFrame([(m, k, round(0.02 + 0.01 * k - 0.0015 * k * k + (0.01 if m == "nmf" else 0), 4),
                               float(900 - 20 * k) if m == "lda" else float("nan"), round(0.9 - 0.03 * k, 3),
                               k == (3 if m == "lda" else 2)) for m in ("lda", "nmf") for k in range(2, 9)],
                             columns=TOPIC_SELECTION_COLUMNS)
    sentences = seg_table[seg_table["kind"] == "sentence"].reset_index(drop=True)
    seg_rows = []
    for model, k in (("seeded", 3), ("lda", 3), ("nmf", 2)):
        for topic in range(k):
            for rank in (1, 2, 3):
                s = sentences.iloc[(topic * 7 + rank * 3) % len(sentences)]
                seg_rows.append((model, topic, rank, s.doc_id, s.segment_id, s.start_char, s.end_char, s.text,
                                 round(0.9 - 0.1 * rank, 2)))
    topic_segments = pd.DataFrame(seg_rows, columns=TOPIC_SEGMENTS_COLUMNS)
    seeds = pd.DataFrame([(0, "valeurs_ess", 10, 4, 0.4, "association, emploi, territoire, habitant"),
                          (1, "discours_cluster", 10, 4, 0.4, "entreprise, marché, filière")],
                         columns=TOPIC_SEEDS_COLUMNS)
    return {"closeness": closeness, "closeness_poles": poles, "closeness_agreement": agreement,
            "topic_terms": topic_terms, "topic_shares": topic_shares, "topic_selection": selection,
            "topic_segments": topic_segments, "topic_seeds": seeds}


def full_tables() -> dict[str, pd.DataFrame]:
    """Every table of a run on :data:`SAMPLE_IDS` (coding real, topics and closeness synthetic)."""
    _, docs_table, seg_table, coding = coded_sample()
    from ptce_nlp.classify import hybrid_sentences, load_coder
    from ptce_nlp.pipeline import CODER_MODEL

    tables = {"documents": docs_table, "segments": seg_table, "coded_segments": coding.coded,
              "code_counts": coding.counts,
              "coded_sentences": hybrid_sentences(coding.parsed, coding.coded, load_coder(CODER_MODEL))}
    tables.update(contract_tables(docs_table, seg_table))
    return tables
