"""The report as a person sees it: headless chromium (Debian's package), screenshot, console, sizes, escaping.

Skipped when chromium is not installed, unless CI is set (``.ci/run`` installs it): then it fails.
"""

from __future__ import annotations

import os

import pytest

from ptce_nlp.codebook import Codebook
from ptce_nlp.report import write_report
from ptce_nlp.types import Document, ReadFailure

from .cdp import Browser, find_chromium
from .report_fixtures import XSS, coded_sample, full_tables

# Markup in a fiche that would run if it were not escaped: a script, an event handler, a javascript: link.
PAYLOAD = (XSS + "\n\n<img src=x onerror=\"window.pwned='img'\"> <script>window.pwned='script'</script> "
           "<a href=\"javascript:window.pwned='link'\">lien</a> <style>body{display:none}</style>")


def require_chromium() -> str:
    """The chromium executable; skip the test when it is missing, fail instead when CI is set."""
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI is set but chromium is not installed: `apt-get install -y chromium` "
                        "(.ci/run installs it when missing)")
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); CI runs this test")
    return executable


@pytest.fixture(scope="module")
def browser():
    with Browser(require_chromium(), width=1400, height=1000) as b:
        yield b


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception),
                                         ("false", pytest.skip.Exception)])
def test_browser_missing_chromium_skips_unless_ci(monkeypatch, ci, outcome):
    import tests.test_report_browser as me

    monkeypatch.setattr(me, "find_chromium", lambda: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome) as info:
        require_chromium()
    assert "apt-get install -y chromium" in str(info.value)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    documents = coded_sample()[0] + [Document("piege", PAYLOAD, "txt", metadata={"pole": "Piège", "pole_type": "ptce"})]
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(full_tables(), path, codebook=Codebook.shipped(), documents=documents,
                 settings={"entrées": ["corpus"], "graine (seed)": 0},
                 failures=[ReadFailure("fiches/scan.pdf", "no text layer, OCR needed")])
    return path


@pytest.fixture(scope="module")
def page(browser, report):
    browser.open(report)
    return browser


def _rect(browser, selector: str) -> dict:
    return browser.evaluate(f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect(); "
                            "return {width: r.width, height: r.height}; })()")


def test_browser_report_loads_without_console_errors(page, tmp_path):
    assert page.problems() == []
    shot = page.screenshot(tmp_path / "report.png", full_height=2200)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 2200)
    assert len(data) > 100_000  # a rendered page, not a blank one


def test_browser_closeness_chart_is_drawn_and_sized(page):
    rect = _rect(page, "#closeness-chart")
    assert rect["width"] > 1000 and rect["height"] > 200
    n_poles = len(full_tables()["closeness_poles"])
    assert page.evaluate("document.querySelectorAll('#closeness-chart .pole-row').length") == n_poles
    dots = page.evaluate("Array.from(document.querySelectorAll('#closeness-chart .pole-row circle'))"
                         ".map(c => c.getBoundingClientRect().width)")
    assert len(dots) == 4 * n_poles and min(dots) > 5  # visible points, composite + 3 methods with scores


def test_browser_highlighted_documents_are_visible(page):
    rect = _rect(page, "details.doc[open] .doctext")
    assert rect["width"] > 800 and rect["height"] > 300
    marks = page.evaluate("Array.from(document.querySelectorAll('details.doc[open] mark.hl'))"
                          ".map(m => getComputedStyle(m).backgroundColor)")
    assert len(marks) > 5
    assert all(c.startswith("rgba(") and not c.endswith(", 0)") for c in marks)  # coloured, not transparent


def test_browser_code_filter_dims_other_codes_and_hides_documents(page):
    result = page.evaluate("""(() => {
        const select = document.getElementById('code-filter');
        select.value = 'discours_cluster';
        select.dispatchEvent(new Event('change'));
        const marks = Array.from(document.querySelectorAll('.doctext mark.hl'));
        const out = {
          dim: marks.filter(m => m.classList.contains('dim')).length,
          lit: marks.filter(m => !m.classList.contains('dim')).length,
          litOk: marks.filter(m => !m.classList.contains('dim'))
                      .every(m => m.dataset.codes.split(' ').some(c => c.startsWith('discours_cluster.'))),
          hidden: Array.from(document.querySelectorAll('details.doc')).filter(d => d.hidden).map(d => d.dataset.docId),
          status: document.getElementById('filter-status').textContent,
        };
        select.value = '';
        select.dispatchEvent(new Event('change'));
        return out;
    })()""")
    assert result["dim"] > 0 and result["lit"] > 0 and result["litOk"]
    assert "piege" in result["hidden"]
    assert result["status"].endswith(f"{7 - len(result['hidden']) + 1} affiché(s).")
    assert page.problems() == []


def test_browser_markup_in_a_document_is_shown_as_text_and_runs_nothing(page):
    text = page.evaluate("""(() => {
        const doc = document.querySelector('details.doc[data-doc-id="piege"]');
        doc.open = true;
        return doc.querySelector('.doctext').textContent;
    })()""")
    assert "<script>alert(1)</script>" in text
    assert "<img src=x onerror=\"window.pwned='img'\">" in text
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('.doctext script, .doctext img, .doctext a, .doctext style')"
                         ".length") == 0
    assert page.evaluate("getComputedStyle(document.body).display") == "block"
    assert page.problems() == []  # no alert() dialog, no error
