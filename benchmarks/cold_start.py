"""Cold start of `sspr-audit --help` and `validate`: median wall time of N fresh processes.

    .venv/bin/python benchmarks/cold_start.py [--runs 15] [--python OTHER/.venv/bin/python --cwd OTHER]

Run it against two checkouts (interleaved, so machine load hits both alike) to compare a change.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(python: str, cwd: Path, args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-m", "auditor.cli", *args], cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", action="append", default=[], help="another interpreter (with --cwd)")
    parser.add_argument("--cwd", action="append", default=[], type=Path, help="the checkout it runs in")
    args = parser.parse_args()
    targets = [(sys.executable, ROOT), *zip(args.python, args.cwd, strict=True)]
    commands = {"--help": ["--help"], "validate": ["validate", "policies/baseline.yaml"]}
    for name, command in commands.items():
        samples: dict[int, list[float]] = {i: [] for i in range(len(targets))}
        for _ in range(args.runs):
            for i, (python, cwd) in enumerate(targets):
                samples[i].append(timed(python, cwd, command))
        for i, (_python, cwd) in enumerate(targets):
            print(f"{name:<9} {cwd}: median {statistics.median(samples[i]) * 1000:.0f} ms over {args.runs} runs")


if __name__ == "__main__":
    main()
