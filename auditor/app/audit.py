"""One audit, start to finish: get a snapshot (lab, file or live), run the checks, build the report.

The CLI calls these functions; nothing here parses arguments or prints.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from auditor import __version__
from auditor.app.errors import SourceError
from auditor.checks.base import Finding, Severity
from auditor.checks.exit_codes import Summary, exit_code
from auditor.endpoints import AuthKind, Endpoints, LabSelection
from auditor.policy.models import Policy
from auditor.report import AuditReport, ReportSummary, section_statuses, tenant_of_origin
from auditor.snapshot.models import Snapshot

if TYPE_CHECKING:
    from auditor.policy.models import Directory
    from auditor.readers.directory import AdSettings
    from auditor.readers.graph_tenant import GroupHint
    from auditor.readers.onpremises import OnPremisesSections
    from auditor.readers.reach import Reached

log = logging.getLogger(__name__)



class CollectExtras(TypedDict):
    """What `CoverageOptions` adds to a `readers.collect.CollectOptions` (its fields of the same names)."""

    scope_group: GroupHint | None
    activity_days: int
    known_sspr_policy: object
    read_devices: bool


@dataclass(frozen=True)
class CoverageOptions:
    """What the policy asks the cloud readers for beyond their defaults."""

    scope_group_id: str | None = None
    scope_group_name: str | None = None
    activity_days: int = 30
    known_sspr_policy: object = None  # a portal snapshot's SSPR policy section, when the portal is not read live
    read_devices: bool = False  # the policy asks registration to require a compliant or hybrid-joined device

    def collect_options(self) -> CollectExtras:
        from auditor.readers.graph_tenant import GroupHint

        hint = (GroupHint(self.scope_group_id, self.scope_group_name)
                if self.scope_group_id or self.scope_group_name else None)
        return {"scope_group": hint, "activity_days": self.activity_days,
                "known_sspr_policy": self.known_sspr_policy, "read_devices": self.read_devices}


def coverage_options(policy: Policy | None) -> CoverageOptions:
    """The policy's SSPR group (read as well as the live one), its audit window, and whether devices are read."""
    if policy is None:
        return CoverageOptions()
    group = policy.sspr.group if policy.sspr is not None else None
    days = policy.coverage.activity_window_days if policy.coverage is not None else 30
    return CoverageOptions(group.id if group else None, group.name if group else None, days,
                           read_devices=asks_device_grant(policy))


def asks_device_grant(policy: Policy) -> bool:
    """Whether the policy asks registering security info to require a compliant or hybrid-joined device: then
    the devices are read, for the plan's impact preview (who owns none would be blocked)."""
    wanted = policy.value_at("sspr.registration.conditional_access")
    return getattr(wanted, "require", None) == "compliant_or_joined_device"


@dataclass(frozen=True)
class ExitPolicy:
    fail_on: Severity = Severity.low
    unknown_fails: bool = True


@dataclass
class AuditResult:
    report: AuditReport
    findings: list[Finding] = field(default_factory=list)


def collect_live(endpoints: Endpoints, coverage: CoverageOptions | None = None) -> Snapshot:
    """Read a live tenant (or a running `lab serve`): the endpoints opened by `auditor.readers.reach`."""
    from auditor.readers.collect import CollectOptions, collect
    from auditor.readers.reach import open_endpoints

    reached = open_endpoints(endpoints, "read", with_ad=False)  # the DC is read by the on-premises thread
    snapshot = collect(CollectOptions(reached=reached, **(coverage or CoverageOptions()).collect_options()))
    if reached.portal_url is not None and reached.endpoints.portal_auth is AuthKind.login_cache:
        return _of_the_login_cache_tenant(snapshot, reached.portal_credential)
    return snapshot


def _of_the_login_cache_tenant(snapshot: Snapshot, credential: Any) -> Snapshot:
    """`snapshot` when the login cache that read its portal sections is of the tenant Graph reports; another
    tenant is a SourceError (exit 2), and a tenant Graph did not report leaves the portal sections unknown."""
    from auditor.app.portal_snapshot import PORTAL_SECTIONS
    from auditor.app.snapshot_trust import login_cache_tenant_problem

    problem = login_cache_tenant_problem(snapshot, credential.record.tenant_id, str(credential.path))
    if problem is None:
        return snapshot
    if snapshot.tenant_id:
        raise SourceError(problem)
    failed = {name: type(section).failed(section.source, problem) for name in PORTAL_SECTIONS
              if (section := getattr(snapshot, name)) is not None}
    return snapshot.model_copy(update=failed)


@contextmanager
def running_lab(lab: LabSelection, timeout: float = 30.0, tenant_file: Path | None = None) -> Iterator[Reached]:
    """Start the lab emulator in-process with the chosen scenario and faults: its URLs and the lab's token.

    `tenant_file`: the emulated tenant as an earlier run left it (read when it exists, written back when the run
    ends), so writes outlive the process: `apply --lab` and `rollback --lab` (auditor/app/lab_workspace.py)."""
    from pydantic import ValidationError

    from auditor.app.lab import require_lab_server

    require_lab_server("--lab")
    from auditor.lab.emulator import Faults
    from auditor.lab.scenario import load_scenario
    from auditor.lab.server import LabServer
    from auditor.readers.credentials import LabTokenCredential
    from auditor.readers.reach import Reached

    try:
        faults = Faults(forbidden=set(lab.forbid), latency_ms=lab.latency_ms)
    except ValidationError as exc:
        raise SourceError(f"--lab-forbid: {exc.errors(include_url=False)[0]['msg'].removeprefix('Value error, ')}") \
            from None
    try:
        scenario = (kept_tenant(tenant_file) if tenant_file is not None and tenant_file.exists()
                    else load_scenario(lab.scenario))
    except ValueError as exc:  # unknown name, unreadable file, YAML syntax, a section of the wrong shape
        raise SourceError(f"--lab {lab.scenario}: {str(exc).splitlines()[0][:500]}") from None
    with LabServer(scenario, faults=faults) as server:
        credential = LabTokenCredential()
        endpoints = Endpoints(lab=lab, graph_url=server.graph_url, portal=True, portal_url=server.portal_url,
                              auth=AuthKind.lab, portal_auth=AuthKind.lab, timeout=timeout)
        try:
            yield Reached(endpoints, graph_credential=credential, portal_credential=credential,
                          origin=f"lab:{lab.scenario}")
        finally:
            if tenant_file is not None:
                from auditor.files import write_atomically

                with server.state.lock:
                    data = server.state.tenant.model_dump_json().encode("utf-8")
                write_atomically(tenant_file, data, mode=0o600)


def kept_tenant(path: Path) -> Any:
    """The emulated tenant a kept lab run wrote (a Scenario); a file that is not one is a ValueError."""
    from pydantic import ValidationError

    from auditor.lab.scenario import Scenario

    try:
        return Scenario.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise ValueError(f"{path}: not a lab tenant kept by an earlier run ({type(exc).__name__})") from None


def collect_lab(lab: LabSelection | str, coverage: CoverageOptions | None = None) -> Snapshot:
    from auditor.readers.collect import CollectOptions, collect

    with running_lab(LabSelection(scenario=lab) if isinstance(lab, str) else lab) as reached:
        return collect(CollectOptions(reached=reached, **(coverage or CoverageOptions()).collect_options()))


def audit(policy: Policy, snapshot: Snapshot, exit_policy: ExitPolicy, today: date | None = None) -> AuditResult:
    from auditor.derive.memo import run_memo

    with run_memo():  # the checks and the report's views share this run's derived figures, and no other run's
        return _audit(policy, snapshot, exit_policy, today)


def _audit(policy: Policy, snapshot: Snapshot, exit_policy: ExitPolicy, today: date | None) -> AuditResult:
    from auditor.checks.base import unmatched_waivers
    from auditor.checks.registry import all_checks, run_checks

    findings = run_checks(policy, snapshot, today=today)
    known_checks = {check.spec.id for check in all_checks()}
    warnings = [w.message() for w in unmatched_waivers(findings, list(policy.waivers), known_checks)]
    counts = Summary.of(findings)
    code = exit_code(findings, exit_policy.fail_on, exit_policy.unknown_fails)
    from auditor.checks.frameworks import control_results
    from auditor.derive.figures import coverage_report
    from auditor.derive.impact import with_policy_scope
    from auditor.onprem_view import onprem_report
    report = AuditReport(
        tool_version=__version__,
        policy_file=policy.source_file or "(in memory)",
        origin=snapshot.origin,
        tenant_id=tenant_of_origin(snapshot.origin),
        fail_on=exit_policy.fail_on.value,
        unknown="fail" if exit_policy.unknown_fails else "warn",
        snapshot_created_at=snapshot.created_at,
        sections=section_statuses(snapshot),
        summary=ReportSummary(total=counts.total, by_status=counts.by_status,
                              failed_by_severity=counts.failed_by_severity, exit_code=int(code)),
        findings=findings,
        warnings=warnings,
        coverage=with_policy_scope(coverage_report(policy, snapshot), policy, snapshot),
        on_premises=onprem_report(policy, snapshot, findings),
        controls=control_results(policy, findings),
    )
    return AuditResult(report=report, findings=findings)


def findings_of(policy: Policy, snapshot: Snapshot, today: date | None = None) -> list[Finding]:
    """Every check's findings, waivers applied: what `plan` needs, without the report's views."""
    from auditor.checks.registry import run_checks

    return run_checks(policy, snapshot, today=today)


def checked_report(policy: Policy, snapshot: Snapshot, exit_policy: ExitPolicy) -> AuditReport:
    """The audit's report with each failing finding marked fixable (a check's fixer proposes a change for it) or
    not (a manual step), asked of the fixers without building a plan."""
    from auditor.remediation.planner import mark_fixable

    report = audit(policy, snapshot, exit_policy).report
    try:
        marked = mark_fixable(policy, snapshot, report.findings)
    except Exception:  # a fixer bug must never stop an audit: the marks are left out instead
        log.warning("could not tell which findings the plan can fix", exc_info=True)
        return report
    return report.model_copy(update={"findings": marked})


@contextmanager
def open_targets(endpoints: Endpoints, *, ephemeral_origin: str | None = None) -> Iterator[Reached]:
    """Where apply and rollback write: `endpoints` opened for writing, or with `endpoints.lab` a fresh
    in-process lab. `ephemeral_origin`: the plan was read from an in-process lab that is gone."""
    from auditor.readers.reach import open_endpoints

    if endpoints.lab is not None:
        with running_lab(endpoints.lab, endpoints.timeout) as reached:
            yield reached
        return
    if ephemeral_origin is not None:
        raise SourceError(f"the plan was made against an in-process lab ({ephemeral_origin}) that is gone: apply it "
                          "to a fresh one with --lab SCENARIO, or plan against `sspr-audit lab serve` with "
                          "--graph-url and --portal-url")
    yield open_endpoints(endpoints, "write")


# -- on-premises AD: a live DC, the lab domain, or not asked ---------------------------------------

@dataclass(frozen=True)
class OnPremisesRequest:
    """What to read on-premises for one run: a live DC (`settings`) or a lab domain (`lab_scenario`)."""

    directory: Directory | None  # None: find the synced OUs and the sync account first (export)
    settings: AdSettings | None = None
    lab_scenario: str | None = None
    lab_state_dir: Path | None = None
    not_asked: str | None = None  # why nothing is read (the sections then carry this reason)
    synced_containers: dict[str, int] = field(default_factory=dict)  # from Graph, for the discovery


def _read_domain(settings: AdSettings, request: OnPremisesRequest) -> OnPremisesSections:
    from auditor.readers.onpremises import discover_then_read, read_on_premises

    if request.directory is None:
        return discover_then_read(settings, request.synced_containers)
    return read_on_premises(settings, request.directory)


def collect_on_premises(request: OnPremisesRequest) -> OnPremisesSections:
    """Read the directory and SYSVOL as `request` says; every failure becomes a failed section."""
    from auditor.readers.onpremises import OnPremisesSections

    failed = OnPremisesSections.failed
    if request.settings is not None:
        return _read_domain(request.settings, request)
    if request.lab_scenario is None:
        return failed(request.not_asked or "no domain controller was given (--ad-host)")
    from auditor.lab_domain import domain_seed, samba

    if request.lab_scenario not in domain_seed.SCENARIOS:
        return failed(f"the lab has no domain for scenario {request.lab_scenario!r} "
                      f"(it has {', '.join(domain_seed.SCENARIOS)})", "lab")
    reason = samba.unavailable_reason()
    if reason:
        return failed(f"the lab domain cannot run on this machine: {reason}", "lab:samba")
    try:
        with domain_seed.lab_domain(request.lab_scenario, request.lab_state_dir) as dc:
            return _read_domain(domain_seed.reader_settings(dc), request)
    except (samba.SambaError, OSError) as exc:
        return failed(f"the lab domain did not start: {exc}", "lab:samba")


def start_on_premises(request: OnPremisesRequest) -> Future[OnPremisesSections]:
    """`collect_on_premises` in a background thread, so it overlaps the cloud readers."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="on-premises")
    future = executor.submit(collect_on_premises, request)
    executor.shutdown(wait=False)
    return future
