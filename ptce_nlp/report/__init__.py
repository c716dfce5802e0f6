"""The run's report: one self-contained French HTML page, and figures for papers.

- :func:`render_report` / :func:`write_report`: the HTML page (inline styles,
  script and charts; document text escaped) from the run's tables;
- :func:`write_figures`: the same charts drawn with matplotlib, as PNG and SVG.
"""

from .figures import write_figures
from .highlight import Span, highlight_html, split_pieces
from .html import REPORT_TABLES, render_report, write_report

__all__ = ["REPORT_TABLES", "Span", "highlight_html", "render_report", "split_pieces", "write_figures",
           "write_report"]
