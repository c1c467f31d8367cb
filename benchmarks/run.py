"""Scale benchmark: a lab tenant and a Samba domain of N users, collected, checked and rendered.

    .venv/bin/python benchmarks/run.py --users 1000,10000,100000 --latency-ms 25
    .venv/bin/python benchmarks/run.py --users 200 --latency-ms 0 --no-ad      # a quick smoke run

For each N it

* generates (once, cached under `<lab folder>/bench/`, the lab folder being $SSPR_LAB_DIR or
  ~/.cache/sspr-auditor/lab) a lab tenant of N users scoped to a group (`lab
  generate --scope group`) and serves it from the lab emulator in a process of its own, with
  `--latency-ms` added to every request;
* runs the cloud audit once untimed (the lab keeps each user's JSON once encoded, as a service answers
  from its caches: the timed run then measures the audit and its round trips, not the emulator), then
  in a fresh child process as `sspr-audit check` does it: collect (every Graph
  and portal reader, concurrently), checks (with the fixability plan), render (HTML and JSON), and
  also writes the snapshot `sspr-audit collect` would write; each phase is timed, and the child's
  peak RSS is read with `resource.getrusage` when it ends;
* counts the requests the emulator answered per endpoint and compares them with the fewest the APIs
  allow (every page full: `$top=999` for users, group members and audit events, 1000 per page for
  registration details, one request for every single object);
* computes the round-trip lower bound: the longest chain of requests that must follow one another
  (a collection's pages: each needs the `@odata.nextLink` of the one before) times the latency;
* bulk-loads (once, cached) a Samba domain of the demo's users plus N users (`ldbadd` straight
  into the stopped DC's `sam.ldb`), starts a copy and times the AD phase in a child process:
  LDAPS collection (paged, only the attributes the checks use), SYSVOL over SMB, the AD checks.
  Needs root and Samba; without them the AD columns say why they are empty. `ldbadd` slows with
  every user the database holds (10,000 users: ~3 min; 30,000: over 30 min), so a domain larger
  than `--ad-limit` (30,000) is not bulk-loaded unless cached; `--ad-users` picks other AD sizes.

It prints a table per run and writes every figure to `--json` (default `<lab folder>/bench/results.json`).
`--profile` also writes a cProfile of each cloud run (`<lab folder>/bench/profile-N.prof`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auditor.lab_domain.folders import default_state_dir, private_folder  # noqa: E402  (after sys.path above)
from auditor.readers.graph_tenant import SIGN_IN_RESET_OMA_URI  # noqa: E402

DEFAULT_CACHE = default_state_dir() / "bench"
GENERATOR_VERSION = "1"  # bump when the cached tenants must be made again
WINDOW_DAYS = 30
# The largest page each collection gives (Graph's documented $top maxima; the registration report takes no
# $top and answers 1000 per page in the emulator, as the service does).
PAGE = {"users": 999, "registration_details": 1000, "group_members": 999, "directory_audits": 999,
        "device_configurations": 999}
SINGLE_REQUESTS = ("authorization_policy", "methods_policy", "sync", "subscribed_skus", "secure_scores",
                   "secure_score_profiles", "group_settings", "portal_sspr", "portal_onprem",
                   # Conditional Access policies and named locations (one page each), the domains (GET /domains)
                   "ca_policies", "named_locations", "domains")


# --- fixtures ----------------------------------------------------------------------------------


def tenant_fixture(users: int, cache: Path) -> Path:
    """The lab tenant of `users` users scoped to a group, generated once."""
    from auditor.lab.tenant_generator import TenantMix, generate_tenant

    folder = cache / "tenants"
    path = folder / f"tenant-{users}.yaml"
    marker = folder / f"tenant-{users}.version"
    if path.exists() and marker.exists() and marker.read_text().strip() == GENERATOR_VERSION:
        return path
    started = time.perf_counter()
    generate_tenant(TenantMix(users=users, scope="group"), folder, window_days=WINDOW_DAYS)
    marker.write_text(GENERATOR_VERSION + "\n")
    print(f"  generated the {users:,}-user lab tenant in {time.perf_counter() - started:.1f} s (cached: {path})")
    return path


def bench_policy(cache: Path, *, with_directory: bool) -> Path:
    """policies/baseline.yaml scoped to the generated tenant's SSPR group; the cloud run leaves `directory` out."""
    from ruamel.yaml import YAML

    from auditor.lab.tenant_generator import SCOPE_GROUP_ID

    yaml = YAML(typ="safe", pure=True)
    data = yaml.load((ROOT / "policies" / "baseline.yaml").read_text(encoding="utf-8"))
    data["sspr"]["scope"] = "selected"
    data["sspr"]["group"] = {"id": SCOPE_GROUP_ID}
    if not with_directory:
        data.pop("directory", None)
    path = cache / ("policy-ad.yaml" if with_directory else "policy-cloud.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return path


# --- the lab server process ----------------------------------------------------------------------


def serve(tenant: Path, latency_ms: int) -> int:
    """Child: serve `tenant` with latency until stdin says `quit`; answer `clear` and `log` on stdout."""
    from auditor.lab.emulator import Faults
    from auditor.lab.scenario import load_scenario_file
    from auditor.lab.server import LabServer

    scenario = load_scenario_file(tenant)
    server = LabServer(scenario, faults=Faults(latency_ms=latency_ms)).start()
    try:
        info = {"graph_url": server.graph_url, "portal_url": server.portal_url, "sizes": tenant_sizes(server)}
        print(json.dumps(info), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "clear":
                server.state.clear_log()
                print(json.dumps({"ok": True}), flush=True)
            elif command == "log":
                counts: dict[str, int] = {}
                for record in server.requests():
                    counts[_endpoint_label(record)] = counts.get(_endpoint_label(record), 0) + 1
                print(json.dumps(counts), flush=True)
            elif command == "quit":
                break
    finally:
        server.stop()
    return 0


def _endpoint_label(record: Any) -> str:
    name = record.endpoint or f"unrouted {record.path}"
    if name == "groups" and record.path.endswith("/transitiveMembers"):
        return "group_members"
    return name


def tenant_sizes(server: Any) -> dict[str, Any]:
    """What the tenant holds that decides how many pages each collection takes."""
    from datetime import UTC, datetime, timedelta

    from auditor.lab.emulator import _history_shift, _transitive_members

    state = server.state
    tenant = state.tenant
    group_ids = [str(g) for g in tenant.password_reset_policies.get("passwordResetEnabledGroupIds") or []]
    members = {gid: sum(1 for m in _transitive_members(state, gid)) for gid in group_ids}
    shift = _history_shift(state)
    since = datetime.now(UTC) - timedelta(days=WINDOW_DAYS)
    audits = 0
    for audit in tenant.directory_audits:
        moment = str(audit.get("activityDateTime") or "")
        if audit.get("loggedByService") != "Self-service Password Management" or not moment:
            continue
        if datetime.fromisoformat(moment.replace("Z", "+00:00")) + shift >= since:
            audits += 1
    return {"users": len(tenant.users), "registration_details": len(tenant.user_registration_details),
            "group_members": members, "directory_audits": audits,
            "device_configurations": len(tenant.device_configurations),
            # each profile carrying the sign-in reset setting: its assignments are read after the list
            "sign_in_profiles": sum(1 for c in tenant.device_configurations
                                    if any(str(s.get("omaUri") or "").strip().lower() == SIGN_IN_RESET_OMA_URI.lower()
                                           for s in c.get("omaSettings") or [])),
            }


class LabProcess:
    """The lab emulator in a process of its own, so its CPU time is not the audit's."""

    def __init__(self, tenant: Path, latency_ms: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", "serve", "--tenant", str(tenant), "--latency-ms", str(latency_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.info = self._answer()

    def _answer(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the lab server process stopped (exit code {self.process.wait()})")
        return json.loads(line)

    def ask(self, command: str) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, RuntimeError, ValueError):
            self.ask("quit")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the round-trip bound and the fewest requests ------------------------------------------------


def pages(items: int, size: int) -> int:
    return max(1, math.ceil(items / size))


def request_floor(sizes: dict[str, Any], group_known: bool) -> dict[str, Any]:
    """The fewest requests per endpoint, and the longest chain of requests that must follow one another."""
    members = sum(pages(m, PAGE["group_members"]) for m in sizes["group_members"].values())
    fewest = {
        "users": pages(sizes["users"], PAGE["users"]),
        "registration_details": pages(sizes["registration_details"], PAGE["registration_details"]),
        "directory_audits": pages(sizes["directory_audits"], PAGE["directory_audits"]),
        "device_configurations": pages(sizes["device_configurations"], PAGE["device_configurations"]),
        "device_configuration_assignments": sizes["sign_in_profiles"],
        "groups": len(sizes["group_members"]),  # GET /groups/{id}: its name
        "group_members": members,
        **dict.fromkeys(SINGLE_REQUESTS, 1),
    }
    # The scope group's member pages follow one another; they need the portal's answer first only when the
    # policy does not name the group (the group's own GET runs beside its first member page).
    group_chain = max((pages(m, PAGE["group_members"]) for m in sizes["group_members"].values()), default=0)
    chains = {
        "users": fewest["users"], "registration_details": fewest["registration_details"],
        "directory_audits": fewest["directory_audits"],
        "device_configurations": fewest["device_configurations"] + (1 if sizes["sign_in_profiles"] else 0),
        "portal_sspr → groups": (0 if group_known else 1) + group_chain,
    }
    longest = max(chains, key=lambda k: chains[k])
    return {"fewest": fewest, "fewest_total": sum(fewest.values()), "chains": chains,
            "longest_chain": longest, "chain_requests": chains[longest]}


# --- the cloud run (child) ----------------------------------------------------------------------


def cloud_worker(args: argparse.Namespace) -> int:
    """Child: collect, check, render against the lab URLs; print the phase times as JSON."""
    profiler = None
    if args.profile_out:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    phases: dict[str, float] = {}
    started = time.perf_counter()
    from auditor.app.audit import ExitPolicy, checked_report, coverage_options
    from auditor.endpoints import Endpoints
    from auditor.policy.loader import load_policy
    from auditor.readers.collect import CollectOptions, collect
    from auditor.readers.credentials import LabTokenCredential
    from auditor.readers.reach import Reached
    from auditor.render import write_reports
    from auditor.snapshot.store import save_snapshot

    policy = load_policy(Path(args.policy))
    phases["start"] = time.perf_counter() - started
    out = Path(args.out)
    credential = LabTokenCredential()
    mark = time.perf_counter()
    endpoints = Endpoints(graph_url=args.graph_url, portal=True, portal_url=args.portal_url)
    reached = Reached(endpoints, graph_credential=credential, portal_credential=credential, origin="bench")
    snapshot = collect(CollectOptions(reached=reached, **coverage_options(policy).collect_options()))
    phases["collect"] = time.perf_counter() - mark
    mark = time.perf_counter()
    report = checked_report(policy, snapshot, ExitPolicy())
    phases["checks"] = time.perf_counter() - mark
    mark = time.perf_counter()
    paths = write_reports(report, out / "reports", ["html", "json"])
    phases["render"] = time.perf_counter() - mark
    mark = time.perf_counter()
    snapshot_path = save_snapshot(snapshot, out / "snapshot.json")
    phases["snapshot"] = time.perf_counter() - mark
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile_out)
    unreadable = [name for name, section in snapshot if hasattr(section, "readable") and not section.readable
                  and name not in ("gpo_sign_in_reset", "directory", "sysvol")]
    html = next(p for p in paths if p.suffix == ".html")
    beside = [p for p in paths if p.suffix == ".csv"]  # full lists too long to inline, written beside the page
    print(json.dumps({
        "phases": phases,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "html_bytes": html.stat().st_size,
        "csv_beside_bytes": sum(p.stat().st_size for p in beside),
        "json_bytes": next(p for p in paths if p.suffix == ".json").stat().st_size,
        "snapshot_bytes": snapshot_path.stat().st_size,
        "findings": len(report.findings),
        "unreadable_sections": unreadable,
        "coverage_users": len(snapshot.cloud_users.value.users) if snapshot.cloud_users.value else None,
    }))
    return 0


def run_cloud(users: int, latency_ms: int, cache: Path, profile: bool) -> dict[str, Any]:
    tenant = tenant_fixture(users, cache)
    policy = bench_policy(cache, with_directory=False)
    lab = LabProcess(tenant, latency_ms)
    try:
        out = cache / "runs" / f"cloud-{users}"
        command = [sys.executable, __file__, "--worker", "cloud", "--graph-url", lab.info["graph_url"],
                   "--portal-url", lab.info["portal_url"], "--policy", str(policy), "--out", str(out)]
        # Untimed warm-up: the lab encodes each user's JSON on first use and keeps it (as a service answers from
        # its caches), so the timed run measures the audit and its round trips, not the emulator's encoding.
        warm = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if warm.returncode != 0:
            raise RuntimeError(f"the warm-up run failed ({warm.returncode}): {warm.stderr[-3000:]}")
        lab.ask("clear")
        if profile:
            command += ["--profile-out", str(cache / f"profile-{users}.prof")]
        wall = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        wall = time.perf_counter() - wall
        if done.returncode != 0:
            raise RuntimeError(f"the cloud run failed ({done.returncode}): {done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        requests = lab.ask("log")
    finally:
        lab.close()
    result["chromium"] = open_in_chromium(out / "reports" / "sspr-audit.html", cache)
    floor = request_floor(lab.info["sizes"], group_known=True)
    phases = result["phases"]
    total = phases["collect"] + phases["checks"] + phases["render"]
    bound = floor["chain_requests"] * latency_ms / 1000
    issued = sum(requests.values())
    return {
        **result, "users": users, "latency_ms": latency_ms, "sizes": lab.info["sizes"], "process_wall": wall,
        "total": total, "requests": requests, "requests_total": issued, "floor": floor,
        "requests_ratio": issued / floor["fewest_total"],
        "bound_seconds": bound,
        "ratio_total": total / bound if bound else None,
        "ratio_collect": phases["collect"] / bound if bound else None,
    }


def open_in_chromium(page: Path, cache: Path) -> dict[str, Any]:
    """Open the HTML report in headless Chromium (when installed): the seconds until its DOM is dumped, and
    whether the summary and the coverage section are in it."""
    from auditor.app.browser import CHROMIUM_FLAGS, find_chromium

    binary = find_chromium()
    if binary is None:
        return {"skipped": "no Chromium"}
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={cache / 'chromium-profile'}", "--dump-dom", page.as_uri()]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          start_new_session=True)
    seconds = time.perf_counter() - started
    opened = done.returncode == 0 and "Summary" in done.stdout and "Coverage: who can actually reset" in done.stdout
    return {"opened": opened, "seconds": seconds}


# --- the AD run ----------------------------------------------------------------------------------


def ad_template(users: int, cache: Path) -> Any:
    """The demo domain plus `users` users in OU=Staff, bulk-loaded with ldbadd into the stopped DC; cached."""
    from auditor.lab_domain import domain_seed, samba

    root = cache / "samba" / f"bench-{users}"
    cached = samba.open_template(root)
    if cached is not None and (root / "BENCH").exists() and (root / "BENCH").read_text().strip() == str(users):
        return cached
    demo = domain_seed.scenario_template("demo", samba.default_state_dir() / "samba")
    dc = samba.clone(demo, root)
    started = time.perf_counter()
    domain_seed.bulk_users(dc, users)
    print(f"  bulk-loaded {users:,} AD users with ldbadd in {time.perf_counter() - started:.1f} s (cached: {root})")
    (root / "BENCH").write_text(f"{users}\n")
    (root / "TEMPLATE").write_text("benchmark template: clone it, do not start it\n")
    return dc


def ad_worker(args: argparse.Namespace) -> int:
    """Child: read the running DC as `check` would, then run the AD checks; print the times as JSON."""
    from auditor.lab_domain import samba
    from auditor.lab_domain.domain_seed import reader_settings

    started = time.perf_counter()
    from auditor.checks.registry import all_checks, run_check
    from auditor.policy.loader import load_policy
    from auditor.readers.onpremises import read_on_premises
    from auditor.snapshot.models import Snapshot

    policy = load_policy(Path(args.policy))
    assert policy.directory is not None
    dc = samba.open_dc(Path(args.dc_root))
    phases = {"start": time.perf_counter() - started}
    mark = time.perf_counter()
    sections = read_on_premises(reader_settings(dc), policy.directory)  # (directory, sysvol, ...)
    directory, sysvol = sections[0], sections[1]
    phases["collect"] = time.perf_counter() - mark
    if not directory.readable or not sysvol.readable:
        raise SystemExit(f"AD collection failed: {directory.error or sysvol.error}")
    snapshot = Snapshot(tool_version="bench", origin="bench", directory=directory, sysvol=sysvol)
    mark = time.perf_counter()
    findings = [f for c in all_checks() if c.spec.id.startswith("ad.") for f in run_check(c, policy, snapshot)]
    phases["checks"] = time.perf_counter() - mark
    assert directory.value is not None
    print(json.dumps({"phases": phases, "users_read": len(directory.value.users), "findings": len(findings),
                      "distinct_dacls": len(directory.value.dacls),
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
    return 0


def run_ad(users: int, cache: Path, limit: int = 30_000) -> dict[str, Any]:
    from auditor.lab_domain import samba

    reason = samba.unavailable_reason()
    if reason:
        return {"skipped": reason}
    if users > limit and samba.open_template(cache / "samba" / f"bench-{users}") is None:
        return {"skipped": f"not bulk-loaded: ldbadd into Samba's sam.ldb slows with every user it holds (10,000 "
                           f"users take ~3 min, 30,000 more than 30 min); raise --ad-limit to wait for {users:,}"}
    template = ad_template(users, cache)
    policy = bench_policy(cache, with_directory=True)
    # a short folder: Samba's sockets live under it, and a socket path may not be longer than 107 bytes
    dc = samba.clone(template, Path(tempfile.gettempdir()) / f"sspr-bench-{users}-{os.getpid()}")
    try:
        with dc:
            command = [sys.executable, __file__, "--worker", "ad", "--dc-root", str(dc.root), "--policy", str(policy)]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    finally:
        samba.remove(dc)
    if done.returncode != 0:
        raise RuntimeError(f"the AD run failed ({done.returncode}): {done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["total"] = result["phases"]["collect"] + result["phases"]["checks"]
    return result


# --- output --------------------------------------------------------------------------------------


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f}"


def _opened(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return "-"
    return f"{result['seconds']:.1f} s" if result.get("opened") else "FAILED"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_tables(results: list[dict[str, Any]]) -> None:
    print("\nCloud: lab tenant in its own process, every request delayed by the latency")
    head = (f"{'users':>8} {'lat ms':>6} {'collect s':>9} {'checks s':>8} {'render s':>8} {'total s':>7} "
            f"{'bound s':>7} {'total/bd':>8} {'coll/bd':>7} {'requests':>8} {'fewest':>6} {'req/few':>7} "
            f"{'RSS MB':>6} {'html MB':>7} {'csv MB':>6} {'json MB':>7} {'snap MB':>7} {'Chromium':>8}")
    print(head)
    print("-" * len(head))
    cloud_runs = [r for r in results if "cloud" in r]
    for r in cloud_runs:
        c = r["cloud"]
        p = c["phases"]
        print(f"{r['users']:>8,} {c['latency_ms']:>6} {p['collect']:>9.2f} {p['checks']:>8.2f} {p['render']:>8.2f} "
              f"{c['total']:>7.2f} {c['bound_seconds']:>7.2f} {_ratio(c['ratio_total']):>8} "
              f"{_ratio(c['ratio_collect']):>7} {c['requests_total']:>8} {c['floor']['fewest_total']:>6} "
              f"{c['requests_ratio']:>7.2f} {c['peak_rss_bytes'] / 2**20:>6.0f} {_mb(c['html_bytes']):>7} "
              f"{_mb(c['csv_beside_bytes']):>6} {_mb(c['json_bytes']):>7} {_mb(c['snapshot_bytes']):>7} "
              f"{_opened(c.get('chromium') or {}):>8}")
    print("\nRequests per endpoint: issued / fewest the APIs allow; longest chain of dependent requests")
    endpoints = sorted({e for r in cloud_runs for e in [*r["cloud"]["requests"], *r["cloud"]["floor"]["fewest"]]})
    print(f"{'endpoint':<24}" + "".join(f"{r['users']:>14,}" for r in cloud_runs))
    for endpoint in endpoints:
        cells = [f"{r['cloud']['requests'].get(endpoint, 0)} / {r['cloud']['floor']['fewest'].get(endpoint, 0)}"
                 for r in cloud_runs]
        print(f"{endpoint:<24}" + "".join(f"{cell:>14}" for cell in cells))
    chains = [f"{r['cloud']['floor']['longest_chain']} ({r['cloud']['floor']['chain_requests']})" for r in cloud_runs]
    print(f"{'longest chain':<24}" + "".join(f"{cell:>14}" for cell in chains))
    print("\nAD: Samba DC on loopback (demo domain + N users), LDAPS + SMB")
    print(f"{'users':>8} {'read':>8} {'collect s':>9} {'checks s':>8} {'total s':>7} {'ms/1k users':>11} "
          f"{'RSS MB':>6} {'DACLs':>5}")
    for r in results:
        a = r.get("ad") or {}
        if "skipped" in a:
            print(f"{r['users']:>8,}  skipped: {a['skipped']}")
            continue
        per_thousand = 1000 * a["phases"]["collect"] / max(1, a["users_read"]) * 1000
        print(f"{r['users']:>8,} {a['users_read']:>8,} {a['phases']['collect']:>9.2f} {a['phases']['checks']:>8.2f} "
              f"{a['total']:>7.2f} {per_thousand:>11.0f} {a['peak_rss_bytes'] / 2**20:>6.0f} {a['distinct_dacls']:>5}")


def machine() -> dict[str, Any]:
    memory = None
    with contextlib.suppress(ValueError, OSError):
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"cpus": os.cpu_count(), "memory_bytes": memory, "python": platform.python_version(),
            "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", default="1000,10000,100000", help="comma-separated tenant sizes (10 to 100000)")
    parser.add_argument("--latency-ms", type=int, default=25, help="latency added to every lab request (default 25)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="fixture cache (default <lab folder>/bench)")
    parser.add_argument("--json", type=Path, help="results file (default CACHE/results.json)")
    parser.add_argument("--no-ad", action="store_true", help="skip the Samba (AD) phase")
    parser.add_argument("--ad-limit", type=int, default=30_000,
                        help="largest Samba domain to bulk-load when not cached (default 30000)")
    parser.add_argument("--ad-users", help="comma-separated AD sizes, if not those of --users")
    parser.add_argument("--profile", action="store_true", help="cProfile each cloud run into CACHE/profile-N.prof")
    # internal: the child processes
    parser.add_argument("--worker", choices=("serve", "cloud", "ad"), help=argparse.SUPPRESS)
    parser.add_argument("--tenant", help=argparse.SUPPRESS)
    parser.add_argument("--graph-url", help=argparse.SUPPRESS)
    parser.add_argument("--portal-url", help=argparse.SUPPRESS)
    parser.add_argument("--policy", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--dc-root", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "serve":
        return serve(Path(args.tenant), args.latency_ms)
    if args.worker == "cloud":
        return cloud_worker(args)
    if args.worker == "ad":
        return ad_worker(args)
    sizes = [int(n) for n in args.users.split(",") if n.strip()]
    if args.cache == DEFAULT_CACHE:
        private_folder(DEFAULT_CACHE.parent)  # the lab folder: 0700, never a symlink or another user's
    cache = args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    ad_sizes = [int(n) for n in args.ad_users.split(",") if n.strip()] if args.ad_users else sizes
    results = []
    for users in sorted(set(sizes) | set(ad_sizes)):
        print(f"{users:,} users, {args.latency_ms} ms per request ...", flush=True)
        entry: dict[str, Any] = {"users": users}
        if users in sizes:
            entry["cloud"] = run_cloud(users, args.latency_ms, cache, args.profile)
        if args.no_ad or users not in ad_sizes:
            entry["ad"] = {"skipped": "--no-ad" if args.no_ad else "not asked (--ad-users)"}
        else:
            entry["ad"] = run_ad(users, cache, args.ad_limit)
        results.append(entry)
    print_tables(results)
    out = args.json or cache / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "latency_ms": args.latency_ms, "runs": results}, indent=2) + "\n")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
