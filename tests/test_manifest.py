"""Manifest validation: every problem listed at once, each with its line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ptce_nlp.cli import main
from ptce_nlp.corpus import find_sources, load_manifest, read_corpus
from ptce_nlp.errors import ManifestError

from .helpers import TEXT


def _write(folder, manifest: str, files=("a.txt", "b.txt")):
    for name in files:
        (folder / name).write_text(TEXT, encoding="utf-8")
    path = folder / "manifest.csv"
    path.write_text(manifest, encoding="utf-8")
    return path


def test_manifest_valid_rows_give_sources_with_metadata(tmp_path):
    path = _write(tmp_path, "doc_id,path,pole,pole_type,genre,region,year,source\n"
                            "a,a.txt,Domb'Innov,ptce,fiche,Auvergne-Rhône-Alpes,2014,test\n"
                            "b,b.txt,Minalogic,pole_competitivite,fiche,,2015,\n")
    sources = load_manifest(path)
    assert [s.doc_id for s in sources] == ["a", "b"]
    assert sources[0].metadata == {"pole": "Domb'Innov", "pole_type": "ptce", "genre": "fiche",
                                   "region": "Auvergne-Rhône-Alpes", "year": "2014", "source": "test"}
    assert sources[1].path == tmp_path / "b.txt"


def test_manifest_all_problems_at_once(tmp_path):
    path = _write(tmp_path, "doc_id,path,pole_type,genre,year,couleur\n"
                            "a,a.txt,ptce,fiche,2014,rouge\n"
                            "a,b.txt,cluster,fiche,2015,vert\n"
                            "c,absent.pdf,pole,fiche,2015,bleu\n"
                            "d,b.txt,ptce,roman,vingt,noir\n"
                            ",b.txt,ptce,fiche,2016,gris\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.problems == [
        "line 1: unknown column 'couleur' (allowed: doc_id, path, pole, pole_type, genre, region, year, source)",
        "line 3: duplicate doc_id 'a' (first on line 2)",
        "line 4: unknown pole_type 'pole' (allowed: ptce, pole_competitivite, cluster, district_spl, reference)",
        "line 4: file not found: absent.pdf",
        "line 5: unknown genre 'roman' (allowed: fiche, monographie, reference)",
        "line 5: year 'vingt' is not a four-digit year",
        "line 6: empty doc_id",
    ]
    assert str(info.value).startswith(f"{path}: 7 problems in the manifest\n  - line 1: unknown column")


def test_manifest_missing_required_column(tmp_path):
    path = _write(tmp_path, "doc_id,pole\na,X\n")
    with pytest.raises(ManifestError, match=r"line 1: missing required column 'path'"):
        load_manifest(path)


def test_manifest_wrong_field_count_and_empty(tmp_path):
    path = _write(tmp_path, "doc_id,path\na,a.txt,extra\n")
    with pytest.raises(ManifestError, match=r"line 2: 3 fields, the header has 2"):
        load_manifest(path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(ManifestError, match="the manifest is empty"):
        load_manifest(path)


def test_manifest_missing_file_is_a_batch_failure(tmp_path):
    _write(tmp_path, "doc_id,path\na,a.txt\nz,absent.txt\n")
    corpus = read_corpus(tmp_path)
    assert [d.doc_id for d in corpus.documents] == ["a"]
    assert [(f.doc_id, f.reason) for f in corpus.failures] == [("z", "file not found (manifest.csv line 3)")]


def test_manifest_invalid_cli_exit_4_and_nothing_written(tmp_path):
    _write(tmp_path, "doc_id,path,pole_type\na,a.txt,clusteur\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ingest", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 4
    assert result.stderr.startswith(f"Error: {tmp_path / 'manifest.csv'}: 1 problem in the manifest\n"
                                    "  - line 2: unknown pole_type 'clusteur'")
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_folder_without_manifest_uses_file_stems(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "fiche_a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "sub" / "fiche_a.md").write_text(TEXT, encoding="utf-8")
    (tmp_path / ".cache.txt").write_text(TEXT, encoding="utf-8")
    sources, failures = find_sources([tmp_path])
    assert [s.doc_id for s in sources] == ["fiche_a", "sub/fiche_a.md"]
    assert not failures and all(s.metadata == {} for s in sources)
