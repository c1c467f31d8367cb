"""ad.gpo.restrict_remote_sam: the GPOs that apply to the domain controllers let the sync account make remote
SAM calls, which password writeback needs.

"Network access: Restrict clients allowed to make remote calls to SAM" (RestrictRemoteSAM under
HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa) holds a security descriptor in SDDL; the SAM server lets a caller in
when that descriptor grants it READ_CONTROL (STANDARD_RIGHTS_READ, [MS-SAMR] 3.1.1.11); on a domain controller
without the setting every client may call. A GPO sets it in GptTmpl.inf, `[Registry Values]`
`MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\RestrictRemoteSAM=1,"O:BAG:BAD:(A;;RC;;;BA)"`. Writeback then fails
when the connector account is not allowed (MicrosoftDocs/azure-docs issues #62884 and #68215). Which GPO wins comes
from `auditor.derive.gpo_precedence` (the chain of OU=Domain Controllers); the descriptor is judged with the
account's token (its SID, its groups nested, Everyone and Authenticated Users) by `auditor.ad.sd.effective_right`.
"""

from __future__ import annotations

import base64
from typing import Any

from auditor.ad import gpttmpl
from auditor.ad.rights import REMOTE_SAM
from auditor.ad.sd import effective_right
from auditor.ad.sddl import SddlError, parse_sddl
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

    outcome = gpo_precedence.resolve(gpo_precedence.computer_chain(state, container), read)
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
    decision = effective_right(dacl, account.token_sids, REMOTE_SAM)
    evidence = [*chain, Evidence(source=target, field="RestrictRemoteSAM", value=winner.value),
                Evidence(source=account.dn, field="token (groups nested)", value=[g.name for g in account.groups])]
    if decision.granted:
        return [ctx.result(Status.passed, target=target, expected="the sync account may call SAM remotely",
                           actual=describe(decision, account), evidence=evidence)]
    how = "denied" if decision.denied else "not allowed"
    return [ctx.result(
        Status.failed, target=target, expected="the sync account may call SAM remotely",
        actual=describe(decision, account), evidence=evidence,
        reason=f"{winner.applied.describe()} restricts remote SAM calls to the domain controllers with "
               f"{winner.value}; the sync account {account.sam_account_name} is {how} (neither it nor any of its "
               "groups is granted READ_CONTROL), so password writeback fails (azure-docs #62884, #68215)"
               + ("; " + "; ".join(doubts) if doubts else ""))]
