"""Same inputs, same seed: the same outputs, byte for byte, from a cold cache, a warm cache and no cache.

Parses restored from the cache must carry the lexical attributes of a fresh parse (``like_num`` and
``is_stop`` come from the French language class): the features filter on them, so a generic vocab
changed the number of topics chosen and every closeness score of a warm run.
"""

from __future__ import annotations

import html
import json
import shutil

from ptce_nlp.nlp import cache_vocab, parse_texts
from ptce_nlp.pipeline import run

from .report_fixtures import CORPUS


def _snapshot(out):
    """Every output file; ``run.json`` without what says how the parses were obtained (cache or not)."""
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    settings = json.loads(files.pop("run.json"))
    how = {"parsed": settings["stats"].pop("parsed"), "cached": settings["stats"].pop("cached"),
           "cache": settings["settings"].pop("cache d'analyse")}
    # The report lists the settings too: only the cache setting's value may differ there.
    files["report.html"] = files["report.html"].replace(html.escape(how["cache"]).encode("utf-8"), b"CACHE", 1)
    return files, settings, how


def test_cold_warm_and_uncached_runs_write_identical_outputs(tmp_path):
    cache, out, kept = tmp_path / "cache", tmp_path / "out", {}
    for name, use_cache in [("cold", True), ("warm", True), ("no-cache", False)]:
        run([CORPUS], out, seed=0, cache_dir=cache, use_cache=use_cache)
        kept[name] = _snapshot(out)
        shutil.rmtree(out)
    cold_files, cold_settings, _ = kept["cold"]
    assert len(cold_files) > 20 and "topic_terms.csv" in cold_files and "closeness.csv" in cold_files
    for name in ("warm", "no-cache"):
        files, settings, _ = kept[name]
        assert files.keys() == cold_files.keys()
        assert [f for f in cold_files if files[f] != cold_files[f]] == [], name
        assert settings == cold_settings, name
    assert kept["cold"][2]["parsed"] == 33 and kept["warm"][2]["cached"] == 33


def test_cached_parses_keep_the_french_lexical_attributes(tmp_path):
    texts = ["Le pôle réunit 45 structures et 3 000 emplois ; il a été créé en 2012 par dix-huit membres.",
             "Nous ne sommes pas une structure de l'ESS, mais nous y travaillons avec elles."]
    cold, stats = parse_texts(texts, cache_dir=tmp_path)
    warm, warm_stats = parse_texts(texts, cache_dir=tmp_path)
    assert stats["parsed"] == 2 and warm_stats["cached"] == 2 and not warm_stats["model_loaded"]
    attrs = ["like_num", "is_stop", "is_alpha", "is_punct", "like_url", "norm_", "lemma_", "pos_", "is_sent_start"]
    for a, b in zip(cold, warm):
        assert [[getattr(t, x) for x in attrs] for t in a] == [[getattr(t, x) for x in attrs] for t in b]
    assert any(t.like_num for t in warm[0] if t.text == "dix-huit" or t.text == "dix")  # French number words
    assert cache_vocab().lang == "fr"


def test_the_cache_vocab_does_not_build_the_french_tokenizer():
    """A warm run parses nothing: it must not pay for the tokenizer exceptions of spacy.lang.fr (seconds)."""
    import subprocess
    import sys

    code = ("import sys; from ptce_nlp.nlp import cache_vocab; v = cache_vocab(); "
            "assert v['dix-huit'].like_num and v['le'].is_stop and not v['pôle'].is_stop; "
            "assert 'spacy.lang.fr.tokenizer_exceptions' not in sys.modules, 'tokenizer built'; "
            "import spacy.lang.fr; from spacy.lang.fr import French; "
            "assert French.Defaults.lex_attr_getters is sys.modules['spacy.lang.fr.lex_attrs'].LEX_ATTRS")
    subprocess.run([sys.executable, "-c", code], check=True)
