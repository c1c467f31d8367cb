"""AD collection time: the readers against a lab Samba DC, for the demo domain and for N extra users.

    sudo .venv/bin/python benchmarks/ad_collect.py                 # demo domain and 5,000 users
    sudo .venv/bin/python benchmarks/ad_collect.py --users 1000 --repeat 5

Needs root and Samba (scripts/setup installs it). Seeded domains are cached under the lab state
folder ($SSPR_LAB_DIR, else ~/.cache/sspr-auditor/lab), so only the first run pays for seeding and bulk loading.
Timed: `read_on_premises` (LDAPS bind, every descriptor and attribute the checks need, paged,
then SYSVOL over SMB), best and median of --repeat runs, plus running the AD checks once, and
export's discovery once from Graph's DNs and once by scanning every OU's DACL (no DNs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from auditor.lab_domain import domain_seed, samba
from auditor.lab_domain.folders import private_folder
from auditor.lab_domain.samba import SambaDC
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.readers.discovery import discover
from auditor.readers.onpremises import read_on_premises
from auditor.snapshot.models import Snapshot

ROOT = Path(__file__).resolve().parents[1]


def bulk_template(users: int, state: Path) -> SambaDC:
    """The demo domain plus `users` users in OU=Staff, cached as a stopped template."""
    root = state / f"bench-{users}"
    cached = samba.open_template(root)
    if cached is not None and (root / "BENCH").exists():
        return cached
    demo = domain_seed.scenario_template("demo", state)
    dc = samba.clone(demo, root)
    started = time.perf_counter()
    domain_seed.bulk_users(dc, users)
    print(f"  bulk-loaded {users:,} users with ldbadd in {time.perf_counter() - started:.1f} s (cached for reruns)")
    (root / "BENCH").write_text(f"{users}\n")
    (root / "TEMPLATE").write_text("benchmark template\n")
    return dc


def measure(label: str, template: SambaDC, policy: Policy, state: Path, repeat: int) -> None:
    from auditor.checks.registry import all_checks, run_check

    assert policy.directory is not None
    dc = samba.clone(template, state / "runs" / f"bench-{label}")
    try:
        with dc:
            settings = domain_seed.reader_settings(dc)
            times, directory, sysvol = [], None, None
            for _ in range(repeat):
                started = time.perf_counter()
                directory, sysvol, *_ = read_on_premises(settings, policy.directory)
                times.append(time.perf_counter() - started)
            discovery = []  # export's policy-free find: from Graph's DNs, and by scanning every OU's DACL
            for containers in ({ou: 1 for ou in policy.directory.target_ous}, {}):
                started = time.perf_counter()
                found = discover(settings, containers)
                discovery.append(time.perf_counter() - started)
                if found.value is None or not found.value.candidates:
                    raise SystemExit(f"discovery found nothing: {found.error}")
            assert directory is not None and sysvol is not None
            if not directory.readable or not sysvol.readable:
                raise SystemExit(f"collection failed: {directory.error or sysvol.error}")
            snapshot = Snapshot(tool_version="bench", origin="bench", directory=directory, sysvol=sysvol)
            started = time.perf_counter()
            findings = [f for c in all_checks() if c.spec.id.startswith("ad.") for f in run_check(c, policy, snapshot)]
            checks_time = time.perf_counter() - started
    finally:
        samba.remove(dc)
    state_value = directory.value
    size = len(snapshot.model_dump_json())
    print(f"{label:>14} | {len(state_value.users):>6,} users | {len(state_value.dacls):>4} distinct DACLs | "
          f"collect best {min(times):6.2f} s, median {statistics.median(times):6.2f} s | "
          f"checks {checks_time:5.2f} s, {len(findings):>5} findings | snapshot {size / 1e6:5.1f} MB | "
          f"export discovery {discovery[0]:5.2f} s (Graph DNs), {discovery[1]:5.2f} s (every OU)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=5000, help="extra users for the scale run (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="collections per domain (default 3)")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="lab state folder (default $SSPR_LAB_DIR, else ~/.cache/sspr-auditor/lab)")
    args = parser.parse_args(argv)
    reason = samba.unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    try:
        state = private_folder(args.state_dir or samba.default_state_dir()) / "samba"
    except OSError as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    policy = load_policy(ROOT / "policies" / "baseline.yaml")
    print(f"AD collection (LDAPS + SMB, {args.repeat} runs each) against Samba on loopback")
    demo = domain_seed.scenario_template("demo", state)
    measure("demo", demo, policy, state, args.repeat)
    if args.users:
        measure(f"demo+{args.users:,}", bulk_template(args.users, state), policy, state, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
