"""Where the parts of a report page are drawn: the top of each selector's first element, in CSS pixels, and the
page's height, as headless Chromium lays the page out at a given window width.

The report runs no script (its Content-Security-Policy forbids it), so a copy of the page is measured: the CSP
meta element removed and a script appended that writes the figures into the DOM, which `--dump-dom` prints
(the page's layout is the same: the script only reads it). Chromium's `--virtual-time-budget` lets the page
finish loading before the dump (https://developer.chrome.com/docs/chromium/headless).

    python -m tests.helpers.page_layout reports/sspr-audit.html '#status-fail .finding' '#coverage'
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

MARK = "layout-measure"
WIDTH = 1280
_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>', re.IGNORECASE)
_RESULT = re.compile(rf'<pre id="{MARK}">(.*?)</pre>', re.DOTALL)

Runner = Callable[..., subprocess.CompletedProcess[str]]


def _script(selectors: Sequence[str]) -> str:
    return (
        "<script>(function(){var out={height: document.documentElement.scrollHeight, tops: {}};"
        f"{json.dumps(list(selectors))}.forEach(function(s){{var e=document.querySelector(s);"
        "out.tops[s]=e?Math.round(e.getBoundingClientRect().top+window.scrollY):null;});"
        f"var p=document.createElement('pre');p.id='{MARK}';p.textContent=JSON.stringify(out);"
        "document.body.appendChild(p);})();</script>"
    )


def measure(run: Runner, page: Path, selectors: Sequence[str], width: int = WIDTH) -> dict[str, object]:
    """{"height": page height, "tops": {selector: top or None}}; `run(*args)` runs headless Chromium."""
    html = page.read_text(encoding="utf-8")
    if not _CSP.search(html):
        raise ValueError(f"{page}: no Content-Security-Policy meta element to lift for the measurement")
    copy = _CSP.sub("", html).replace("</body>", _script(selectors) + "</body>")
    with tempfile.TemporaryDirectory() as folder:
        measured = Path(folder) / page.name
        measured.write_text(copy, encoding="utf-8")
        result = run(f"--window-size={width},1000", "--virtual-time-budget=5000", "--dump-dom", measured.as_uri())
    found = _RESULT.search(result.stdout)
    if found is None:
        raise RuntimeError(f"the measurement did not run: {result.stderr[-1000:]}")
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def with_findings_hidden(page: Path, folder: Path) -> Path:
    """A copy of the report with its findings hidden, so the sections after them (coverage first) are drawn on the
    first screen of a screenshot: the findings lead the page (issue 32)."""
    html = page.read_text(encoding="utf-8")
    if '<section id="findings"' not in html:
        raise ValueError(f"{page}: no findings section")
    copy = folder / f"{page.stem}-findings-hidden.html"
    copy.write_text(html.replace('<section id="findings"', '<section hidden id="findings"', 1), encoding="utf-8")
    return copy


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    from auditor.app.browser import CHROMIUM_FLAGS, find_chromium

    binary = find_chromium()
    if binary is None:
        raise SystemExit("headless Chromium is not installed")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120, check=True)


if __name__ == "__main__":
    print(json.dumps(measure(_chromium, Path(sys.argv[1]), sys.argv[2:]), indent=2))
