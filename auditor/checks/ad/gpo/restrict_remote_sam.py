"""ad.gpo.restrict_remote_sam: the GPOs that apply to the domain controllers let the sync account make remote
SAM calls, which password writeback needs.

"Network access: Restrict clients allowed to make remote calls to SAM" (RestrictRemoteSAM under
HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa) holds a security descriptor in SDDL; the SAM server lets a caller in
when that descriptor grants it READ_CONTROL (STANDARD_RIGHTS_READ, [MS-SAMR] 3.1.1.11); on a domain controller
without the setting every client may call. A GPO sets it in GptTmpl.inf, `[Registry Values]`
`MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\RestrictRemoteSAM=1,"O:BAG:BAD:(A;;RC;;;BA)"`. Writeback then fails
when the connector account is not allowed (MicrosoftDocs/azure-docs issues #62884 and #68215). Which GPO wins comes
from `auditor.derive.gpo_precedence` (the chain of OU=Domain Controllers); the descriptor is judged with the
account's token (its SID, its groups nested, Everyone, Authenticated Users and NETWORK: the call is a network
logon) by `auditor.ad.sd.effective_right`.

Audit only mode (RestrictRemoteSamAuditOnlyMode, REG_DWORD under the same key; the same Microsoft page, "Audit only
mode"): SAM does the access check "but will not fail the call if the access check fails. Instead, the call will be
allowed" and logs event 16968. It is read from the same GPOs with the same precedence; where it is 1 a descriptor
that shuts the sync account out does not stop writeback today, so the finding passes and says so (the restriction
is staged: leaving audit mode without adding the account breaks writeback). A pass, not a fail: the check asks
whether the DCs let the account call, and Microsoft says they do. The value is "not configured by default" and may
also be set outside security templates (a custom policy, a preference item, locally), which is not read: a failing
finding says so.
"""

from __future__ import annotations

import base64
from typing import Any

from auditor.ad import gpttmpl
from auditor.ad.rights import REMOTE_SAM
from auditor.ad.sd import effective_right
from auditor.ad.sddl import SddlError, parse_sddl
from auditor.ad.wellknown import NETWORK
from auditor.checks.ad import describe, directory_state
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.derive import gpo_precedence
from auditor.snapshot.directory import GroupPolicy, SysvolState

KEY = "directory.service_account"
DOMAIN_CONTROLLERS = "OU=Domain Controllers"
SETTING_DOC = ("https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/"
               "network-access-restrict-clients-allowed-to-make-remote-sam-calls")

SPEC = CheckSpec(
    id="ad.gpo.restrict_remote_sam",
    title="The domain controllers let the sync account make remote SAM calls",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory", "sysvol"),
    changed_attributes=("versionNumber", "gPLink", "flags"),
    references=(
        SETTING_DOC,
        "https://learn.microsoft.com/openspecs/windows_protocols/ms-samr/1ed7ed5b-d7b5-444f-86b8-ebe8bad1403a",
        "https://github.com/MicrosoftDocs/azure-docs/issues/62884",
        "https://github.com/MicrosoftDocs/azure-docs/issues/68215",
    ),
    fix=Fix(
        portal="Group Policy Management > the GPO linked to Domain Controllers > Computer Configuration > Policies > "
               "Windows Settings > Security Settings > Local Policies > Security Options > Network access: Restrict "
               "clients allowed to make remote calls to SAM > Edit Security > add the sync account (Allow)",
        powershell=None,
        console="Group Policy Management Console",
    ),
    description="Reads RestrictRemoteSAM from the GptTmpl.inf of every GPO applying to OU=Domain Controllers, takes "
                "the one that wins by precedence, parses its SDDL and checks READ_CONTROL for the sync account's "
                "token.",
)


def evaluate(ctx: Context) -> list[Finding]:
    state = directory_state(ctx)
    sysvol: SysvolState = ctx.section("sysvol")
    account = state.service_account
    container = f"{DOMAIN_CONTROLLERS},{state.base_dn}"
    templates = sysvol.all_templates()

    def read(gpo: GroupPolicy) -> tuple[Any, str | None]:
        template = templates.get(gpo.guid.upper())
        if template is None:
            return None, "its GptTmpl.inf was not read"
        if template.error is not None:
            return None, template.error
        if not template.present or template.content_b64 is None:
            return None, None
        try:
            found = gpttmpl.registry_value(gpttmpl.parse(base64.b64decode(template.content_b64)),
                                           gpttmpl.RESTRICT_REMOTE_SAM)
        except gpttmpl.GptTmplError as exc:
            return None, str(exc)
        return (found[1] if found else None), None

    def read_audit(gpo: GroupPolicy) -> tuple[Any, str | None]:
        template = templates.get(gpo.guid.upper())
        if template is None or template.error is not None or not template.present or template.content_b64 is None:
            return None, read(gpo)[1]  # the same reason as for RestrictRemoteSAM; (None, None): not set
        try:
            return audit_only(gpttmpl.parse(base64.b64decode(template.content_b64))), None
        except gpttmpl.GptTmplError as exc:
            return None, str(exc)

    applied_chain = gpo_precedence.computer_chain(state, container)
    outcome = gpo_precedence.resolve(applied_chain, read)
    chain = [Evidence(source=a.gpo.file_sys_path or a.gpo.dn, field=f"#{a.rank} {a.describe()}",
                      value=read(a.gpo)[1] or read(a.gpo)[0]) for a in outcome.chain]
    doubts = gpo_precedence.describe_uncertain(outcome)
    if any(s.error is not None for s in outcome.uncertain):
        return [ctx.result(Status.unknown, target=container, evidence=chain,
                           reason="a GPO that may set RestrictRemoteSAM was not read: " + "; ".join(doubts))]
    if account is None:
        return [ctx.result(Status.unknown, target=container, evidence=chain,
                           reason="the sync account does not exist (see ad.service_account)")]
    if outcome.winner is None:
        return [ctx.result(Status.passed, target=container, expected="the sync account may call SAM remotely",
                           actual="not set: a domain controller lets every client call", evidence=chain,
                           reason=None if not doubts else "; ".join(doubts))]
    winner = outcome.winner
    target = f"{winner.applied.name} {winner.applied.gpo.guid}"
    try:
        dacl = parse_sddl(winner.value, state.domain_sid)
    except SddlError as exc:
        return [ctx.result(Status.unknown, target=target, evidence=chain,
                           reason=f"RestrictRemoteSAM in {winner.applied.describe()} is not readable SDDL: {exc}")]
    # the call comes over the network: its token holds NETWORK besides the account's own SIDs, so an ACE for NU
    # (deny or allow) decides for the sync account too
    decision = effective_right(dacl, {*account.token_sids, NETWORK}, REMOTE_SAM)
    evidence = [*chain, Evidence(source=target, field="RestrictRemoteSAM", value=winner.value),
                Evidence(source=account.dn, field="token (groups nested)", value=[g.name for g in account.groups])]
    if decision.granted:
        return [ctx.result(Status.passed, target=target, expected="the sync account may call SAM remotely",
                           actual=describe(decision, account), evidence=evidence)]
    how = "denied" if decision.denied else "not allowed"
    audit = gpo_precedence.resolve(applied_chain, read_audit)
    evidence += [Evidence(source=s.applied.gpo.file_sys_path or s.applied.gpo.dn,
                          field=f"RestrictRemoteSamAuditOnlyMode, #{s.applied.rank} {s.applied.describe()}",
                          value=s.error if s.error is not None else s.value)
                 for s in [*audit.uncertain, *([audit.winner] if audit.winner else [])]]
    # not set anywhere = off ("Audit only mode is not configured by default")
    possible = {s.value for s in audit.uncertain if s.error is None} | {audit.winner.value if audit.winner else 0}
    unread = [f"{s.applied.describe()}: {s.error}" for s in audit.uncertain if s.error is not None]
    if unread or len(possible) > 1:
        return [ctx.result(
            Status.unknown, target=target, expected="the sync account may call SAM remotely",
            actual=describe(decision, account), evidence=evidence,
            reason=f"{winner.applied.describe()} shuts the sync account {account.sam_account_name} out of remote SAM "
                   f"calls ({how}), but whether audit only mode (RestrictRemoteSamAuditOnlyMode) lets the call "
                   "through is not known: " + "; ".join(unread + gpo_precedence.describe_uncertain(audit)))]
    if possible == {1}:
        assert audit.winner is not None or audit.uncertain
        where = (audit.winner or audit.uncertain[0]).applied.describe()
        return [ctx.result(
            Status.passed, target=target, expected="the sync account may call SAM remotely",
            actual=f"audit only mode: {describe(decision, account)}, yet the call is allowed", evidence=evidence,
            reason=f"{where} sets RestrictRemoteSamAuditOnlyMode=1: the domain controllers check {winner.value} "
                   f"but do not fail the call (Microsoft: \"the call will be allowed\", event 16968 logged), so the "
                   f"sync account {account.sam_account_name} ({how} by the descriptor) can still write passwords "
                   "back; grant it READ_CONTROL in the descriptor before leaving audit mode, or writeback fails")]
    return [ctx.result(
        Status.failed, target=target, expected="the sync account may call SAM remotely",
        actual=describe(decision, account), evidence=evidence,
        reason=f"{winner.applied.describe()} restricts remote SAM calls to the domain controllers with "
               f"{winner.value}; the sync account {account.sam_account_name} is {how} (neither it nor any of its "
               "groups is granted READ_CONTROL), so password writeback fails (azure-docs #62884, #68215)"
               + ("; " + "; ".join(doubts) if doubts else "")
               + "; audit only mode (RestrictRemoteSamAuditOnlyMode) is "
               + ("0 in " + audit.winner.applied.describe() if audit.winner else "not set in these GPOs")
               + " (set outside a security template, e.g. locally, it is not read)")]


def audit_only(template: gpttmpl.GptTmpl) -> int | None:
    """RestrictRemoteSamAuditOnlyMode from `[Registry Values]`: 1 (audit only) or 0; None when not set. Another type
    or value is not documented and raises (the caller makes the GPO unreadable for this value)."""
    found = gpttmpl.registry_value(template, gpttmpl.RESTRICT_REMOTE_SAM_AUDIT_ONLY)
    if found is None:
        return None
    kind, text = found
    if kind != gpttmpl.REG_DWORD or text.strip() not in ("0", "1"):
        raise gpttmpl.GptTmplError(f"[{gpttmpl.REGISTRY_VALUES}] {gpttmpl.RESTRICT_REMOTE_SAM_AUDIT_ONLY} is "
                                   f"{kind},{text!r}: Microsoft documents REG_DWORD (4) 1 for audit only mode")
    return int(text.strip())
