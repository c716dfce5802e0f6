"""Screenshot of a report for the README: ``python scripts/report_screenshot.py out/report.html docs/report.png``.

Uses Debian's chromium, headless, through the small DevTools client of the tests (nothing is downloaded).
Prints the console problems of the page, if any, and exits 1 when there are some.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.cdp import Browser, find_chromium  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2000, help="height of the top of the page to capture")
    args = parser.parse_args()
    executable = find_chromium()
    if executable is None:
        print("Error: chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 2
    with Browser(executable, width=args.width, height=1000) as browser:
        browser.open(args.report)
        browser.screenshot(args.png, full_height=args.height)
        problems = browser.problems()
    for problem in problems:
        print(f"Error: {problem}", file=sys.stderr)
    print(f"Wrote {args.png}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
