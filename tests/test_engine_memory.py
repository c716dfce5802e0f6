"""Issue 13 §1: the peak memory of `run` stays bounded whatever the corpus size.

Past the parse, the largest peak of a run was the PNG of a figure of a large corpus: the density heatmap of
99 documents (one pole each) was 32.9 x 12 inches, 9,870 x 3,612 pixels at 300 dpi, and saving it took
1.15 GB more (about 32 bytes a pixel): `run` peaked at 2.15 GB where the issue allows 1.5 GB. A figure's
PNG now holds at most MAX_AREA pixels (the dpi is lowered for the largest ones); the figures of the
bundled corpus, all under it, are unchanged.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from PIL import Image

from ptce_nlp.report import figures


def test_a_large_figure_png_is_capped_in_pixels(tmp_path):
    fig = figures._new_figure(32.9, 12.04)  # the heatmap of 99 poles
    fig.subplots().plot([0, 1], [0, 1])
    png = figures.save_figure(fig, tmp_path, "big", ("png",))[0]
    width, height = Image.open(png).size
    assert width * height <= figures.MAX_AREA
    assert width * height >= 0.9 * figures.MAX_AREA  # no smaller than it needs to be
    assert max(width, height) <= figures.MAX_PIXELS


def test_figures_under_the_cap_keep_300_dpi(tmp_path):
    fig = figures._new_figure(12.6, 12.0)  # the co-occurrence matrix of the bundled corpus: 13.6 Mpx
    fig.subplots().plot([0, 1], [0, 1])
    png = figures.save_figure(fig, tmp_path, "small", ("png",))[0]
    assert Image.open(png).size == (3780, 3600)


def test_saving_the_largest_figure_stays_under_half_a_gigabyte(tmp_path):
    """Measured in a child process: peak RSS after drawing and saving a 60 x 60 inch figure."""
    code = textwrap.dedent(f"""
        import resource
        from pathlib import Path
        from ptce_nlp.report import figures
        fig = figures._new_figure(60, 60)
        fig.subplots().imshow([[0, 1], [1, 0]])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        figures.save_figure(fig, Path({str(tmp_path)!r}), "huge")
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) < 600, proc.stdout  # MB more while saving (was about 4 GB)


def test_the_xlsx_export_does_not_hold_every_cell(tmp_path):
    """`run` and `export` write ptce.xlsx: a workbook of every cell in memory grew with the corpus (exports
    stage of `run`: +130 MB at 99 documents, +390 MB at 297). Measured in a child process: the extra peak
    of writing 150,000 rows of 6 columns (292 MB before, 16 MB now)."""
    code = textwrap.dedent(f"""
        import resource
        import pandas as pd
        from ptce_nlp.export import write_xlsx
        n = 150_000
        frame = pd.DataFrame({{"doc_id": [f"doc{{i % 300}}" for i in range(n)], "code_id": ["ess.valeurs"] * n,
                              "start_char": range(n), "end_char": range(1, n + 1),
                              "text": [f"mutualisation des moyens {{i}}" for i in range(n)], "negated": [False] * n}})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        write_xlsx({{"coded_segments": frame}}, {str(tmp_path / "t.xlsx")!r})
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) < 60, proc.stdout  # MB more while writing (16 MB here)
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "t.xlsx", read_only=True)["coded_segments"]
    assert (sheet.max_row, sheet.max_column) == (150_001, 6)



def test_a_cold_parse_holds_no_list_of_the_cleaned_texts(tmp_path, monkeypatch):
    """iter_parsed keeps no list of the cleaned texts waiting for the parser (issue 13: 10^7 tokens are 60
    million characters): each is read back from the cleaning cache when the parser asks for it."""
    import tracemalloc

    import ptce_nlp.nlp as nlp_module
    from ptce_nlp.analysis import iter_parsed
    from ptce_nlp.types import Document

    # 30 texts of 190,000 characters with hard line breaks (joined by the cleaner: a cleaned text is a new string)
    documents = [Document(f"d{i}", "".join(f"l’mot{i}x{j} coopération" + ("\n" if j % 6 == 5 else " ")
                                           for j in range(10_000)) + ".", "txt") for i in range(30)]

    class Measured(Exception):
        pass

    grown = []

    def parse_iter(texts, **kwargs):
        next(iter(texts))
        grown.append(tracemalloc.get_traced_memory()[0] - before)
        raise Measured

    monkeypatch.setattr(nlp_module, "parse_iter", parse_iter)
    from ptce_nlp.clean import clean_text

    clean_text(documents[0].text)  # the cleaner's word lists, loaded once per process: not what is measured
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with pytest.raises(Measured):
            for _ in iter_parsed(documents, cache_dir=tmp_path):
                pass
    finally:
        tracemalloc.stop()
    assert grown and grown[0] < 8_000_000, grown  # a text or two read back, not 5.8 million characters (11 MB)
