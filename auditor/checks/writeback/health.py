"""writeback.health: writeback is switched on and works: no more resets, changes or unlocks failed on the
on-premises write in the SSPR audit window than `writeback.max_failed_writebacks` allows.

The on/off switch (`writeback.enabled`) says nothing about whether the on-premises client answers: Microsoft's
portal shows that as a status message on the On-premises integration page (concept-sspr-howitworks, "On-premises
integration": "Your on-premises writeback client is up and running" ... "we can't connect to your on-premises
writeback client right now"), but neither Graph nor the portal API read here carries it (docs/seams.md, "Writeback
health"). What is readable is the outcome: each self-service reset, change or unlock, and each step of the reset
flow, is an event of the SSPR audit log (howto-sspr-reporting), and a failure's resultReason says why. Which
reasons are a failed writeback, with Microsoft's sources, is `auditor.graph_fields.WRITEBACK_FAILURE_REASONS`.

No event at all in the window is not "no failure": the log holds SSPR events only once the tenant opted in
(howto-sspr-reporting: "Until then, data isn't collected for your organization") and only as long as the tenant's
licence keeps them (reference-reports-data-retention: audit logs 7 days without Entra ID P1, 30 days with it), so
an empty window is `unknown`, never a pass.
"""

from __future__ import annotations

from collections import Counter

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.snapshot.tenant import SsprActivityState, WritebackFailure

KEY = "writeback.max_failed_writebacks"
TARGET = "writeback outcomes"

SPEC = CheckSpec(
    id="writeback.health",
    title="Failed writebacks in the SSPR audit window stay within the threshold",
    severity=Severity.high,
    policy_key=KEY,
    also_reads=("writeback.enabled",),
    sections=("sspr_activity",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/howto-sspr-reporting",
        "https://learn.microsoft.com/entra/identity/authentication/troubleshoot-sspr",
        "https://learn.microsoft.com/entra/identity/authentication/troubleshoot-sspr-writeback",
        "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks#on-premises-integration",
        "https://learn.microsoft.com/entra/identity/monitoring-health/reference-reports-data-retention",
    ),
    fix=Fix(portal="Entra admin center > Protection > Password reset > On-premises integration (the writeback "
                   "client's status), then on the Entra Connect server: the Application event log "
                   "(PasswordResetService and ADSync sources) and troubleshoot-sspr-writeback's steps"),
    manual="a broken writeback client is repaired on the Entra Connect server (connectivity, service, "
           "permissions), not by a setting this tool writes",
    description="Counts the SSPR audit events (GET /auditLogs/directoryAudits, loggedByService 'Self-service "
                "Password Management') of resets, changes, unlocks and reset-flow steps that failed with an "
                "on-premises writeback reason, over the audit window.",
)


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.writeback
    assert wanted is not None
    limit = wanted.max_failed_writebacks
    if limit is None:
        return [ctx.result(Status.not_applicable, target=TARGET, key=KEY,
                           reason="the policy sets no threshold on failed writebacks")]
    if not wanted.enabled:
        return [ctx.result(Status.not_applicable, target=TARGET, key=KEY,
                           reason="the policy wants writeback off: there are no writebacks to judge")]
    state: SsprActivityState = ctx.section("sspr_activity")
    source = ctx.source("sspr_activity")
    # the reason names the window by its length, the evidence by its moments: a verdict on the same tenant reads
    # the same from one run to the next (fleet and `diff` compare reasons; the moments are facts of the run)
    window = f"the last {round((state.window_end - state.window_start).total_seconds() / 86400)} days"
    failures = state.writeback_failures
    evidence = [Evidence(source=source, field="audit window (UTC)",
                         value=f"{state.window_start:%Y-%m-%d %H:%M} to {state.window_end:%Y-%m-%d %H:%M}"),
                Evidence(source=source, field="events in the window", value=state.events),
                Evidence(source=source, field="failed writebacks (by resultReason)", value=_by_kind(failures))]
    if failures:
        evidence.append(Evidence(source=source, field="latest failed writeback", value=_latest(failures[-1])))
    expected = f"at most {limit} failed writeback(s)"
    if state.events == 0:
        return [ctx.result(Status.unknown, target=TARGET, key=KEY, expected=expected, evidence=evidence,
                           reason=f"the SSPR audit log holds no event in {window}: nothing shows writeback "
                                  "working. Either no one used SSPR, or the log is not collected (Microsoft "
                                  "collects it only after an admin opened the audit logs once) or not retained "
                                  "that long (7 days without Entra ID P1, 30 with it)")]
    count = len(failures)
    if count > limit:
        users = len({f.user for f in failures if f.user})
        return [ctx.result(Status.failed, target=TARGET, key=KEY, expected=expected, actual=count,
                           evidence=evidence,
                           reason=f"{count} reset(s), change(s) or unlock(s) failed on the on-premises write in "
                                  f"{window} ({_kinds(failures)}; {users} user(s); the latest in the evidence): "
                                  "writeback is on but not working for them; the "
                                  "portal's On-premises integration page and the Entra Connect server's "
                                  "Application event log say why")]
    return [ctx.result(Status.passed, target=TARGET, key=KEY, expected=expected, actual=count, evidence=evidence,
                       reason=f"{count} failed writeback(s) among {state.events} SSPR event(s) in {window}")]


def _by_kind(failures: list[WritebackFailure]) -> dict[str, int]:
    return dict(sorted(Counter(f.reason for f in failures).items()))


def _kinds(failures: list[WritebackFailure]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in _by_kind(failures).items())


def _latest(failure: WritebackFailure) -> str:
    return f"{failure.at:%Y-%m-%d %H:%M} UTC ({failure.activity}: {failure.reason})"
