"""The test suite's wall time in one process and on pytest-xdist workers, on the same tests, one after the other.

    .venv/bin/python benchmarks/suite_workers.py [--workers 2] [--rounds 1] [TEST PATH ...]

Default paths: a sample of the heavy files (Samba DCs, `--lab` CLI processes, the emulator, Chromium). Each round
runs them serially, then with `-n WORKERS --dist loadfile` (what .ci/run uses), and prints both wall times and
their ratio. The machine is shared: compare the ratio, and run more rounds when the load moves. A figure, never a
test assertion.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = [
    "tests/e2e/test_cli.py",
    "tests/e2e/test_report_browser.py",
    "tests/integration/test_export_roundtrip.py",
    "tests/integration/test_fault_matrix_samba.py",
    "tests/integration/test_samba_cli.py",
    "tests/integration/test_lab_loop.py",
    "tests/integration/test_remediation_lab.py",
    "tests/integration/test_login_cache.py",
    "tests/integration/test_apply_crash_points_samba.py",
]


def timed(args: list[str]) -> tuple[float, str]:
    env = {**os.environ, "SSPR_REQUIRE_SAMBA": "1", "SSPR_REQUIRE_BROWSER": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
    return elapsed, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("paths", nargs="*", default=SAMPLE)
    options = parser.parse_args()
    for round_ in range(1, options.rounds + 1):
        serial, said = timed(options.paths)
        print(f"round {round_}: one process        {serial:7.1f} s  ({said})", flush=True)
        spread, said = timed(["-n", str(options.workers), "--dist", "loadfile", *options.paths])
        print(f"round {round_}: {options.workers} xdist workers    {spread:7.1f} s  ({said})", flush=True)
        print(f"round {round_}: ratio {spread / serial:.2f}", flush=True)


if __name__ == "__main__":
    main()
