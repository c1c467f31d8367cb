"""A fleet run at scale: N lab tenants of U users each, every request delayed by the lab's latency.

    .venv/bin/python benchmarks/fleet.py [--tenants 100] [--users 1000] [--latency-ms 25] [--concurrency 8]

One tenant is first audited alone, after an untimed warm-up tenant; the fleet's wall time is then set against
the round-trip bound (each tenant's longest chain of requests that must follow one another, times the latency,
summed and divided by the concurrency) and against N x the lone tenant's time / concurrency. Printed too:
requests (counted in the emulator), peak memory (max RSS of this process, every tenant's lab served in it too)
and the fleet report's size.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Requests:
    """Every request any lab emulator answers, per emulator and endpoint (a benchmark-only wrap of its log)."""

    def __init__(self) -> None:
        from auditor.lab import emulator

        self.lock = threading.Lock()
        self.by_lab: dict[int, Counter[str]] = {}
        original = emulator.EmulatorState.record

        def record(state: emulator.EmulatorState, entry: emulator.RequestRecord) -> None:
            with self.lock:
                self.by_lab.setdefault(id(state), Counter())[entry.endpoint or entry.path] += 1
            original(state, entry)

        emulator.EmulatorState.record = record  # type: ignore[method-assign]

    def take(self) -> tuple[int, float]:
        """(requests, sum over labs of the longest chain) since the last take; the chain of one lab is its
        most-requested endpoint: a collection's pages each wait for the `@odata.nextLink` of the one before,
        and every reader starts at once, so no audit can take fewer round trips than that."""
        with self.lock:
            labs, self.by_lab = self.by_lab, {}
        return sum(sum(c.values()) for c in labs.values()), sum(max(c.values()) + 1 for c in labs.values() if c)


def write_fleet(folder: Path, tenants: int, users: int, latency_ms: int, concurrency: int) -> Path:
    from ruamel.yaml import YAML

    from auditor.lab.tenant_generator import TenantMix, generate_tenant

    yaml = YAML(typ="rt")
    base = yaml.load((ROOT / "policies" / "baseline.yaml").read_text())
    del base["directory"]
    with (folder / "base.yaml").open("w") as handle:
        yaml.dump(base, handle)
    generated = generate_tenant(TenantMix(users=users, seed=16, scope="group", unregistered=0.1), folder / "tenant")
    scenario = str(generated.scenario_path.relative_to(folder))
    entries = [{"name": f"t{i:04d}", "lab": {"scenario": scenario, "latency_ms": latency_ms}, "policy": "base.yaml"}
               for i in range(tenants)]
    path = folder / "fleet.yaml"
    with path.open("w") as handle:
        yaml.dump({"version": 1, "fleet": {"concurrency": concurrency, "formats": ["json", "html"]},
                   "tenants": entries}, handle)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=25)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    from auditor.app.fleet import run_fleet
    from auditor.policy.fleet import load_fleet
    from auditor.render.fleet import build_fleet_report, write_fleet_reports

    requests = Requests()
    with tempfile.TemporaryDirectory(prefix="sspr-fleet-bench-") as temp:
        folder = Path(temp)
        loaded = load_fleet(write_fleet(folder, args.tenants, args.users, args.latency_ms, args.concurrency))
        warm, first = loaded.fleet.tenants[0].name, loaded.fleet.tenants[1].name
        run_fleet(loaded, folder / "warm", only=[warm], concurrency=1)  # imports and first-use costs, untimed
        requests.take()
        start = time.perf_counter()
        run_fleet(loaded, folder / "alone", only=[first], concurrency=1)
        alone = time.perf_counter() - start
        alone_requests, alone_chain = requests.take()

        done = [0]

        def progress(event: object) -> None:
            if getattr(event, "kind", "") == "finished":
                done[0] += 1

        start = time.perf_counter()
        results = run_fleet(loaded, folder / "out", on_event=progress)
        report = build_fleet_report(results, folder / "out", fleet_file="fleet.yaml")
        paths = write_fleet_reports(report, results, folder / "out")
        wall = time.perf_counter() - start
        fleet_requests, chains = requests.take()
        latency_bound = chains * args.latency_ms / 1000 / args.concurrency
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        bound = args.tenants * alone / args.concurrency
        sizes = {path.suffix: path.stat().st_size for path in paths}
        tenant_bytes = sum(p.stat().st_size for p in (folder / "out").rglob("sspr-audit.*"))
        failed = [r.name for r in results if r.error]
        print(f"fleet: {args.tenants} tenants x {args.users} users, latency {args.latency_ms} ms, "
              f"concurrency {args.concurrency} (2-core machine)")
        print(f"  one tenant alone: {alone:.2f} s, {alone_requests} requests, longest chain {alone_chain:.0f} "
              f"round trips ({alone_chain * args.latency_ms / 1000:.2f} s at this latency)")
        print(f"  fleet wall time: {wall:.1f} s")
        print(f"    against the round-trip bound (sum of the tenants' chains x latency / concurrency = "
              f"{latency_bound:.2f} s): {wall / latency_bound:.1f}x")
        print(f"    against N x one tenant alone / concurrency ({bound:.1f} s): {wall / bound:.2f}x")
        print(f"  requests: {fleet_requests:,} ({fleet_requests / args.tenants:.0f} per tenant)")
        print(f"  peak memory (max RSS): {peak_mib:.0f} MiB")
        print("  fleet report: " + ", ".join(f"{ext[1:]} {size / 1024:.0f} KiB" for ext, size in sizes.items())
              + f"; tenants' reports {tenant_bytes / 1024 / 1024:.1f} MiB")
        print(f"  tenants not audited: {len(failed)}{' ' + ', '.join(failed[:5]) if failed else ''}")


if __name__ == "__main__":
    main()
