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
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.app.errors import SourceError
from auditor.checks.base import Finding, Severity
from auditor.checks.exit_codes import Summary, exit_code
from auditor.policy.models import Policy
from auditor.report import AuditReport, ReportSummary, section_statuses, tenant_of_origin
from auditor.snapshot.models import Snapshot

if TYPE_CHECKING:
    from auditor.policy.models import Directory
    from auditor.readers.directory import AdSettings
    from auditor.readers.onpremises import OnPremisesSections
    from auditor.remediation.apply import Targets
    from auditor.remediation.changes import PlanSource

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class CoverageOptions:
    """What the policy asks the cloud readers for beyond their defaults."""

    scope_group_id: str | None = None
    scope_group_name: str | None = None
    activity_days: int = 30
    known_sspr_policy: object = None  # a portal snapshot's SSPR policy section, when the portal is not read live

    def collect_options(self) -> dict[str, object]:
        from auditor.readers.graph_tenant import GroupHint

        hint = (GroupHint(self.scope_group_id, self.scope_group_name)
                if self.scope_group_id or self.scope_group_name else None)
        return {"scope_group": hint, "activity_days": self.activity_days,
                "known_sspr_policy": self.known_sspr_policy}


def coverage_options(policy: Policy | None) -> CoverageOptions:
    """The policy's SSPR group (read as well as the live one) and its audit window."""
    if policy is None:
        return CoverageOptions()
    group = policy.sspr.group if policy.sspr is not None else None
    days = policy.coverage.activity_window_days if policy.coverage is not None else 30
    return CoverageOptions(group.id if group else None, group.name if group else None, days)


@dataclass(frozen=True)
class LiveOptions:
    tenant_id: str | None = None
    client_id: str | None = None
    auth: str | None = None
    portal: bool = False
    portal_auth: str = "azure-cli"
    login_cache: str | None = None
    """The sealed `sspr-audit login` cache, when portal_auth is login-cache (default: SSPR_LOGIN_CACHE or
    ~/.config/sspr-auditor/login-cache.json)."""
    graph_url: str | None = None
    portal_url: str | None = None
    timeout_seconds: float = 30.0
    coverage: CoverageOptions = field(default_factory=CoverageOptions)


@dataclass(frozen=True)
class LabOptions:
    scenario: str
    forbidden: tuple[str, ...] = ()
    latency_ms: int = 0
    coverage: CoverageOptions = field(default_factory=CoverageOptions)


@dataclass(frozen=True)
class ExitPolicy:
    fail_on: Severity = Severity.low
    unknown_fails: bool = True


@dataclass
class AuditResult:
    report: AuditReport
    findings: list[Finding] = field(default_factory=list)


def collect_live(options: LiveOptions) -> Snapshot:
    from auditor.readers.collect import CollectOptions, collect
    from auditor.readers.credentials import AuthKind, LabTokenCredential, build_credential
    from auditor.readers.graph import GRAPH_URL
    from auditor.readers.portal import PORTAL_URL

    graph_url = options.graph_url or GRAPH_URL
    portal_url = options.portal_url or PORTAL_URL
    lab_endpoints = _is_loopback(graph_url) and (not options.portal or _is_loopback(portal_url))
    auth = options.auth or ("lab" if lab_endpoints else None)
    if auth is None:
        raise SourceError("choose a credential with --auth (secret, certificate, workload-identity, "
                          "github-oidc, azure-cli, device-code), or audit the lab with --lab demo")
    portal_credential: Any = None
    if auth == "lab":
        if not lab_endpoints:
            raise SourceError("--auth lab only talks to a lab emulator on a loopback address")
        graph_credential = portal_credential = LabTokenCredential()
        origin = f"graph:{graph_url}"
    else:
        try:
            graph_credential = build_credential(AuthKind(auth), options.tenant_id, options.client_id)
            if options.portal and options.portal_auth != "login-cache":
                portal_credential = build_credential(AuthKind(options.portal_auth), options.tenant_id,
                                                     options.client_id)
        except ValueError as exc:
            raise SourceError(str(exc)) from None
        origin = f"live:{options.tenant_id or 'tenant'}"
    if options.portal and options.portal_auth == "login-cache":
        portal_credential = login_cache_credential(options.login_cache, options.timeout_seconds, options.tenant_id)
    elif not options.portal:
        portal_credential = None
    snapshot = collect(CollectOptions(
        origin=origin, graph_url=graph_url, graph_credential=graph_credential,
        portal_url=portal_url if options.portal else None, portal_credential=portal_credential,
        timeout_seconds=options.timeout_seconds, **options.coverage.collect_options(),  # type: ignore[arg-type]
    ))
    if options.portal and options.portal_auth == "login-cache":
        return _of_the_login_cache_tenant(snapshot, portal_credential)
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


def login_cache_credential(path: str | None, timeout_seconds: float = 30.0, tenant_id: str | None = None) -> Any:
    """The portal credential from `sspr-audit login`'s sealed cache; a missing key, a bad file or a cache of
    another tenant than `tenant_id` is a SourceError."""
    from pathlib import Path

    from auditor.readers.login_cache import LoginCacheCredential, LoginCacheError, default_cache_path

    try:
        return LoginCacheCredential(Path(path) if path else default_cache_path(), timeout_seconds, tenant_id)
    except LoginCacheError as exc:
        raise SourceError(str(exc)) from None


@contextmanager
def running_lab(options: LabOptions) -> Iterator[object]:
    """Start the lab emulator in-process with the chosen scenario and faults."""
    from pydantic import ValidationError

    from auditor.app.lab import require_lab_server

    require_lab_server("--lab")
    from auditor.lab.emulator import Faults
    from auditor.lab.scenario import load_scenario
    from auditor.lab.server import LabServer

    try:
        faults = Faults(forbidden=set(options.forbidden), latency_ms=options.latency_ms)
    except ValidationError as exc:
        raise SourceError(f"--lab-forbid: {exc.errors(include_url=False)[0]['msg'].removeprefix('Value error, ')}") \
            from None
    try:
        scenario = load_scenario(options.scenario)
    except ValueError as exc:  # unknown name, unreadable file, YAML syntax, a section of the wrong shape
        raise SourceError(f"--lab {options.scenario}: {str(exc).splitlines()[0][:500]}") from None
    with LabServer(scenario, faults=faults) as server:
        yield server


def collect_lab(options: LabOptions) -> Snapshot:
    from auditor.readers.collect import CollectOptions, collect
    from auditor.readers.credentials import LabTokenCredential

    with running_lab(options) as server:
        credential = LabTokenCredential()
        snapshot = collect(CollectOptions(
            origin=f"lab:{options.scenario}", graph_url=server.graph_url,  # type: ignore[attr-defined]
            graph_credential=credential, portal_url=server.portal_url,  # type: ignore[attr-defined]
            portal_credential=credential, **options.coverage.collect_options(),  # type: ignore[arg-type]
        ))
    return snapshot


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


def _is_loopback(url: str) -> bool:
    from auditor.readers.credentials import is_loopback

    return is_loopback(url)


@contextmanager
def open_targets(source: PlanSource, *, lab_scenario: str | None = None,
                 timeout_seconds: float = 30.0, insecure_ldap: bool = False) -> Iterator[Targets]:
    """Where apply and rollback write: the plan's targets, or with `lab_scenario` a fresh in-process lab."""
    from auditor.remediation.apply import Targets
    from auditor.remediation.endpoints import plan_targets

    if not lab_scenario:
        yield plan_targets(source, timeout_seconds, insecure_ldap)
        return
    from auditor.readers.credentials import LabTokenCredential

    with running_lab(LabOptions(scenario=lab_scenario)) as server:
        credential = LabTokenCredential()
        yield Targets(graph_url=server.graph_url, graph_credential=credential,  # type: ignore[attr-defined]
                      portal_url=server.portal_url, portal_credential=credential,  # type: ignore[attr-defined]
                      timeout_seconds=timeout_seconds)


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
