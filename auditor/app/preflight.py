"""Setup's proof that the lab domain and the browser tests can run on this machine.

`python -m auditor.app.preflight` checks every tool and file the lab DC needs, provisions and starts
a throwaway Samba domain in a temporary folder, and renders one page in headless Chromium. Each
missing piece is one line naming the Debian package to install; the exit code is 1 when any is
missing, 0 when everything ran. Run by `scripts/setup` after it installs the packages.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from auditor.app import browser
from auditor.lab_domain import samba

_MARKER = "sspr-preflight-ok"


def check_samba() -> list[str]:
    """Problems with the lab DC, each naming the package that fixes it (empty when a domain ran)."""
    missing = samba.missing_pieces()
    if missing:
        return [f"{piece} is missing: apt-get install {package}" for piece, package in missing.items()]
    reason = samba.unavailable_reason()
    if reason:
        return [reason]
    with tempfile.TemporaryDirectory(prefix="sspr-preflight-") as folder:
        try:
            dc = samba.provision(Path(folder) / "dc")
            try:
                with dc:
                    pass
            finally:
                samba.remove(dc)
        except (samba.SambaError, OSError, subprocess.SubprocessError) as exc:
            return [f"a throwaway Samba domain did not provision and start: {exc} "
                    f"(packages: {' '.join(samba.DEBIAN_PACKAGES)})"]
    return []


def check_browser() -> list[str]:
    """Problems with headless Chromium (empty when it rendered a page)."""
    binary = browser.find_chromium()
    if binary is None:
        return [f"headless Chromium is missing: apt-get install {browser.CHROMIUM_PACKAGE}"]
    with tempfile.TemporaryDirectory(prefix="sspr-preflight-chromium-") as profile:
        page = Path(profile) / "page.html"
        page.write_text(f"<!doctype html><title>t</title><p id=m></p><script>m.textContent='{_MARKER}'</script>")
        command = [binary, *browser.CHROMIUM_FLAGS, f"--user-data-dir={profile}/p", "--dump-dom", page.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                                  start_new_session=True)
        except (OSError, subprocess.SubprocessError) as exc:
            return [f"headless Chromium did not start: {exc} (apt-get install {browser.CHROMIUM_PACKAGE})"]
    if done.returncode != 0 or _MARKER not in done.stdout:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return [f"headless Chromium did not render a page (exit {done.returncode}): {tail} "
                f"(apt-get install {browser.CHROMIUM_PACKAGE})"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auditor.app.preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--skip-samba", action="store_true", help="check only the browser")
    parser.add_argument("--skip-browser", action="store_true", help="check only the lab DC")
    args = parser.parse_args(argv)
    problems: list[str] = []
    for name, skip, check in (("Samba lab DC", args.skip_samba, check_samba),
                              ("headless Chromium", args.skip_browser, check_browser)):
        if skip:
            continue
        started = time.perf_counter()
        found = check()
        problems += found
        verdict = "missing" if found else "ok"
        print(f"preflight: {name}: {verdict} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    for line in problems:
        print(f"preflight: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
