"""Many tenants as one audit: `fleet check` on one machine, `fleet matrix` + `fleet merge` across machines.

`run_fleet` audits the inventory's tenants in a bounded thread pool (`fleet.concurrency`); each tenant runs
exactly what a single `check` runs (the same sources, checks, report files, in `OUT/<tenant>/`), and any
exception in one tenant is that tenant's result (exit 3, every check unknown with the reason), never the
fleet's. The fleet report is then built from the tenants' reports. `merge_reports` builds the same fleet report
from the JSON reports of separate jobs (a GitHub Actions matrix: one job per tenant, `fleet matrix` prints it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.endpoints import Endpoints
from auditor.exit_codes import Exit
from auditor.policy.fleet import FleetTenant, LoadedFleet
from auditor.render.fleet import TenantResult

log = logging.getLogger(__name__)

STEM = "sspr-audit"


@dataclass(frozen=True)
class FleetEvent:
    tenant: str
    kind: str  # "started" or "finished"
    result: TenantResult | None = None
    seconds: float = 0.0


def tenant_endpoints(loaded: LoadedFleet, tenant: FleetTenant) -> Endpoints:
    """The tenant's endpoints as a single `check` would take them, its files found beside the inventory."""
    fields = tenant.model_dump(include=set(Endpoints.model_fields))
    endpoints = Endpoints.model_validate(fields)
    if endpoints.lab is not None:
        candidate = loaded.path_of(endpoints.lab.scenario)
        if candidate is not None and candidate.suffix in (".yaml", ".yml") and candidate.is_file():
            lab = endpoints.lab.model_copy(update={"scenario": str(candidate.resolve())})
            endpoints = endpoints.model_copy(update={"lab": lab})
        return endpoints
    update: dict[str, object] = {}
    if endpoints.login_cache:
        update["login_cache"] = str(loaded.path_of(endpoints.login_cache))
    if endpoints.ad is not None and endpoints.ad.ca_file:
        update["ad"] = endpoints.ad.model_copy(update={"ca_file": str(loaded.path_of(endpoints.ad.ca_file))})
    return endpoints.model_copy(update=update)


def formats_of(loaded: LoadedFleet) -> list[str]:
    formats = list(dict.fromkeys(loaded.fleet.fleet.formats))
    return formats if "json" in formats else [*formats, "json"]  # the fleet report and merge read the JSON


def audit_tenant(loaded: LoadedFleet, tenant: FleetTenant, out: Path) -> TenantResult:
    """One tenant, as `check` would audit it; a failure of any kind is this tenant's unknown result."""
    from auditor.app.audit import ExitPolicy, checked_report
    from auditor.app.report_trust import sealed
    from auditor.app.sources import snapshot_with_portal_file
    from auditor.checks.base import Severity
    from auditor.render import write_reports

    settings = loaded.fleet.fleet
    policy = loaded.policies[tenant.name]
    try:
        snapshot = snapshot_with_portal_file(tenant_endpoints(loaded, tenant), policy,
                                             loaded.path_of(tenant.portal_snapshot))
        report = checked_report(policy, snapshot, ExitPolicy(Severity(settings.fail_on), settings.unknown == "fail"))
        # the report names its tenant (merge refuses it under another name) and is sealed where a key is set
        report = sealed(report.model_copy(update={"tenant": tenant.name}))
        # the tenant's folder opened without following a link and written relative to it (auditor.files)
        paths = write_reports(report, out / tenant.name, formats_of(loaded), stem=STEM)
    except Exception as exc:  # the tenant's failure, never the fleet's: reported as that tenant's unknown
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        log.warning("tenant %s could not be audited: %s", tenant.name, reason, exc_info=log.isEnabledFor(10))
        return TenantResult(name=tenant.name, exit_code=Exit.incomplete, error=reason[:500])
    by_suffix = {path.suffix: path for path in paths}
    return TenantResult(name=tenant.name, exit_code=report.summary.exit_code, report=report,
                        report_json=by_suffix.get(".json"), report_html=by_suffix.get(".html"))


def run_fleet(loaded: LoadedFleet, out: Path, *, only: list[str] | None = None, concurrency: int | None = None,
              on_event: Callable[[FleetEvent], None] | None = None,
              stop: threading.Event | None = None) -> list[TenantResult]:
    """Every tenant (or those named in `only`), at most `concurrency` at once; results in inventory order."""
    tenants = [t for t in loaded.fleet.tenants if only is None or t.name in only]
    workers = max(1, min(concurrency or loaded.fleet.fleet.concurrency, len(tenants)))
    notify = on_event or (lambda event: None)
    stop = stop or threading.Event()

    def one(tenant: FleetTenant) -> TenantResult:
        if stop.is_set():
            return TenantResult(name=tenant.name, exit_code=Exit.incomplete,
                                error="not audited: the fleet run was stopped")
        notify(FleetEvent(tenant.name, "started"))
        started = time.monotonic()
        result = audit_tenant(loaded, tenant, out)
        notify(FleetEvent(tenant.name, "finished", result, time.monotonic() - started))
        return result

    results: dict[str, TenantResult] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fleet")
    try:
        futures = {pool.submit(one, tenant): tenant.name for tenant in tenants}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
    except BaseException:
        stop.set()  # the queued tenants are not started; the running ones finish their requests
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[t.name] for t in tenants]


# --- many machines -------------------------------------------------------------------------------


def matrix(loaded: LoadedFleet) -> dict[str, Any]:
    """A GitHub Actions `strategy.matrix`: one `include` entry per tenant, with what its OIDC login needs."""
    include = []
    for tenant in loaded.fleet.tenants:
        entry: dict[str, Any] = {"tenant": tenant.name}
        for key in ("tenant_id", "client_id", "auth", "github_environment"):
            value = getattr(tenant, key)
            if value is not None:
                entry[key] = value
        if tenant.lab is not None:
            entry["lab"] = tenant.lab.scenario
        include.append(entry)
    return {"include": include}


class MergeError(Exception):
    """A report given to `fleet merge` cannot be read as a tenant's JSON report."""


def merge_inputs(items: list[str]) -> list[tuple[str, Path]]:
    """`NAME=PATH` or `PATH` (the tenant's name is then its report's folder name), in the order given.

    A name is shaped as the inventory's names are (letters, digits, `.`, `_`, `-`): it becomes a SARIF category,
    a Markdown row and an HTML cell."""
    import re

    from auditor.policy.fleet import NAME_PATTERN

    out: list[tuple[str, Path]] = []
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or "/" in name or Path(item).exists():  # a path that holds "=" is a path
            name, path = Path(item).parent.name, item
        if not name:
            raise MergeError(f"{item!a}: cannot tell the tenant: give NAME=PATH")
        if not re.fullmatch(NAME_PATTERN.removesuffix("$"), name, flags=re.ASCII) or \
                name.lower().startswith("sspr-fleet"):
            raise MergeError(f"{path!a}: the tenant name {name[:64]!a} is not a tenant name (letters, "
                             "digits, `.`, `_`, `-`, at most 63; not sspr-fleet…): give NAME=PATH")
        out.append((name, Path(path)))
    names = [name.lower() for name, _ in out]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise MergeError(f"two reports for tenant(s) {', '.join(twice)}: give NAME=PATH for each")
    return out


def merge_reports(items: list[tuple[str, Path]], fleet: LoadedFleet | None = None) -> list[TenantResult]:
    """Each tenant's JSON report (the `--format json` file of a separate run) as a fleet result.

    Nothing a report claims about itself is taken: its format and version must be known, its seal must hold (with
    SSPR_PLAN_KEY), its exit code and counts are derived again from its findings (`report_trust`), and it must be
    the report of the tenant it is merged as: the inventory name it records, the tenant id `--fleet` gives that
    name, and no two reports of one tenant."""
    from auditor.app.report_trust import ReportTrustError, read_report, tenant_key
    from auditor.text import one_line

    results = []
    seen: dict[str, str] = {}
    for name, path in items:
        try:
            report = read_report(path)
        except ReportTrustError as exc:
            raise MergeError(str(exc)) from None
        if report.tenant is not None and report.tenant != name:
            raise MergeError(f"{path}: the report of fleet tenant {one_line(report.tenant)[:80]}, merged as {name}: "
                             "give NAME=PATH with its own name")
        if fleet is not None:
            _bound_to_inventory(fleet, name, path, report)
        key = tenant_key(report)
        if key is not None:
            if key in seen:
                raise MergeError(f"{path}: {name} and {seen[key]} are reports of the same tenant "
                                 f"({one_line(report.tenant_id or report.origin)[:200]}): merge one report a tenant")
            seen[key] = name
        html = path.with_suffix(".html")
        results.append(TenantResult(name=name, exit_code=report.summary.exit_code, report=report, report_json=path,
                                    report_html=html if html.is_file() else None))
    return results


def _bound_to_inventory(fleet: LoadedFleet, name: str, path: Path, report: Any) -> None:
    from auditor.text import one_line

    try:
        tenant = fleet.tenant(name)
    except KeyError:
        raise MergeError(f"{path}: merged as {name}, which is no tenant of {fleet.path}") from None
    from auditor.app.report_trust import tenant_key

    if tenant.tenant_id is not None and tenant_key(report) != tenant.tenant_id.casefold():
        raise MergeError(f"{path}: a report of tenant {one_line(report.tenant_id or report.origin)[:200]}, but "
                         f"{fleet.path} gives {name} the tenant id {tenant.tenant_id}")
    if tenant.lab is not None and not report.origin.startswith("lab:"):
        raise MergeError(f"{path}: {name} is a lab tenant in {fleet.path}, but the report is of "
                         f"{one_line(report.origin)[:200]}")
