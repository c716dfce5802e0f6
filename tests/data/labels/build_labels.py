"""Assemble ``labels.csv`` from the annotators' files and the adjudications (see README.md in this folder).

Inputs (all in this folder):
- ``candidates.csv`` (``build_candidates.py``): the sentences, their document group and split;
- ``annotations/<X>.tsv``: annotator X's labels, ``id, TERR, GOUV, ESS, IND, note`` (after X's second pass);
- ``adjudication/<XY>.tsv``: ``id, category, final, reason`` for every (sentence, category) where the two
  annotators of a double-labelled sentence disagree;
- ``recheck/<R>.tsv``: ``id, category, old, new, reason``: the corrections of a re-checker who read the
  single-annotator (``train``) labels again against the manual and ``GUIDELINES.md``.

A sentence labelled by two annotators takes their common label, or the adjudicated one where they differ;
a sentence labelled by one annotator takes that label, corrected by the re-check where it was. The script prints Cohen's kappa per category for
every pair of annotators, over the sentences both labelled, and checks that every disagreement is
adjudicated and every candidate labelled.

Run from the repository root: ``.venv/bin/python tests/data/labels/build_labels.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SHORT = {"TERR": "territorialisation", "GOUV": "gouvernance", "ESS": "valeurs_ess", "IND": "discours_cluster"}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False, quoting=csv.QUOTE_NONE, dtype=str)


def cohen_kappa(a, b) -> float:
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(list(a), list(b)))


def main() -> None:
    candidates = pd.read_csv(HERE / "candidates.csv", keep_default_na=False, dtype=str).set_index("id")
    annotations = {p.stem: _read(p).set_index("id") for p in sorted((HERE / "annotations").glob("*.tsv"))}
    adjudicated = pd.concat([_read(p).assign(pair=p.stem) for p in sorted((HERE / "adjudication").glob("*.tsv"))],
                            ignore_index=True) if (HERE / "adjudication").is_dir() else pd.DataFrame()
    decisions = {(r.id, r.category): int(r.final) for r in adjudicated.itertuples()}
    rechecks = [_read(p) for p in sorted((HERE / "recheck").glob("*.tsv"))] if (HERE / "recheck").is_dir() else []
    rechecked = {(r.id, r.category): (int(r.old), int(r.new)) for f in rechecks for r in f.itertuples()}
    changed = set(rechecked)
    assert sum(len(f) for f in rechecks) == len(rechecked), "a (sentence, category) re-checked twice"
    by_sentence: dict[str, list[str]] = {}
    for name, frame in annotations.items():
        unknown = set(frame.index) - set(candidates.index)
        assert not unknown, f"{name}: ids that are not candidates: {sorted(unknown)[:3]}"
        for i in frame.index:
            by_sentence.setdefault(i, []).append(name)
    rows, used = [], set()
    for i in candidates.index:
        names = by_sentence.get(i, [])
        assert names, f"{i} is not labelled"
        assert len(names) <= 2, f"{i}: more than two annotators"
        row = {"id": i}
        for short, category in SHORT.items():
            values = {int(annotations[n].at[i, short]) for n in names}
            if len(values) == 1:
                row[category] = values.pop()
            else:
                assert (i, short) in decisions, f"{i} {short}: annotators {names} disagree, no adjudication"
                row[category] = decisions[(i, short)]
                used.add((i, short))
        for short, category in SHORT.items():
            if (i, short) in rechecked:
                assert len(names) == 1, f"{i}: a re-check of a double-labelled sentence"
                old, new = rechecked.pop((i, short))
                assert old == row[category], f"{i} {short}: the re-check's old label is not the label"
                row[category] = new
        row["annotators"] = "+".join(sorted(names))
        row["rechecked"] = int(any((i, s) in changed for s in SHORT))
        row["adjudicated"] = int(any((i, s) in used for s in SHORT))
        rows.append(row)
    assert used == set(decisions), f"adjudications of agreed labels: {sorted(set(decisions) - used)[:3]}"
    assert not rechecked, f"re-checks of unknown sentences: {sorted(rechecked)[:3]}"
    labels = pd.DataFrame(rows, columns=["id", *SHORT.values(), "annotators", "adjudicated", "rechecked"])
    tmp = HERE / "labels.csv.tmp"
    labels.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(HERE / "labels.csv")
    print(f"{len(labels)} sentences; double-labelled {int(labels['annotators'].str.contains('+', regex=False).sum())}, "
          f"adjudicated {int(labels['adjudicated'].sum())} ({len(decisions)} decisions), "
          f"corrected by the re-check {int(labels['rechecked'].sum())} ({len(changed)} labels)")
    names = sorted(annotations)
    for x in range(len(names)):
        for y in range(x + 1, len(names)):
            a, b = annotations[names[x]], annotations[names[y]]
            both = a.index.intersection(b.index)
            if not len(both):
                continue
            kappas = ", ".join(f"{s} {cohen_kappa(a.loc[both, s], b.loc[both, s]):.3f}" for s in SHORT)
            print(f"kappa {names[x]}-{names[y]} over {len(both)} sentences: {kappas}")


if __name__ == "__main__":
    main()
