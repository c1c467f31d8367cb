"""The report's on-premises section, computed from the findings and the snapshot with no I/O.

Four parts, each as the checks judged it (statuses always come from the findings, so the section
never says more than the checks did; the snapshot adds what a finding does not carry):

* **writeback rights**: per target OU, each right the policy asks for, present or missing (from
  `ad.acl.writeback_rights`: one finding per OU and right), with the principal that holds it;
* **affected users**: per check (`ad.acl.coverage`, `ad.users.*`) how many in-scope users fail it
  and who they are, with each one's cause;
* **password age**: the Default Domain Policy's `MinimumPasswordAge` (GptTmpl.inf), the domain's
  effective `minPwdAge` and every fine-grained policy (precedence, and how many in-scope users it
  wins for), side by side with the policy's limit (`ad.gpo.min_password_age`, `ad.fgpp.…`);
* **sign-in screen**: each GPO's `AllowPasswordReset` and where the GPO is linked
  (`client.sign_in_reset`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.ad.dn import dn_key, rdn_value
from auditor.ad.rights import WRITEBACK_RIGHTS, Right
from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.findings import Finding, Severity, Status, worst
from auditor.policy.models import Location, Policy
from auditor.snapshot.directory import DirectoryState, SysvolState
from auditor.snapshot.models import Snapshot
from auditor.snapshot.tenant import GpoSignInResetState

USER_LIMIT = 1000  # users listed per check; the findings (and the JSON report) have every one
USER_CHECKS = ("ad.acl.coverage", "ad.users.temporary_password", "ad.users.privileged", "ad.users.contact")
RIGHTS_CHECK, ACCOUNT_CHECK, SIGN_IN_CHECK = "ad.acl.writeback_rights", "ad.service_account", "client.sign_in_reset"
GPO_AGE_CHECK, FGPP_AGE_CHECK = "ad.gpo.min_password_age", "ad.fgpp.min_password_age"
# most pressing first: the status a row or group shows when its findings differ


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class RightCell(Model):
    right: str = Field(description="The right's policy name, `directory.rights.<right>`")
    label: str
    status: Status
    holder: str | None = Field(None, description="Who the deciding ACE names (the account or one of its groups)")
    detail: str | None = Field(None, description="The check's verdict, with the deciding ACE in SDDL")
    target: str = Field(description="The finding's target (the OU's DN)")


class OuRights(Model):
    dn: str
    status: Status = Field(description="The worst status of its rights")
    in_scope_users: int | None = None
    rights: list[RightCell] = Field(default_factory=list)
    note: str | None = Field(None, description="Why no right could be judged (no such OU, descriptor not read)")


class AffectedUser(Model):
    dn: str
    name: str
    status: Status
    detail: str | None = None


class AffectedGroup(Model):
    check: str
    title: str
    severity: Severity
    status: Status
    count: int = Field(description="In-scope users failing the check (waived ones included)")
    waived: int = 0
    explanation: str | None = Field(None, description="The cause all listed users share, said once")
    summary: str | None = Field(None, description="What a pass, not-applicable or unknown finding says")
    users: list[AffectedUser] = Field(default_factory=list, description=f"At most {USER_LIMIT}")


class AgeSource(Model):
    kind: Literal["gpo", "domain", "fgpp"]
    name: str
    where: str
    setting: str
    days: int | None = None
    raw: str | None = Field(None, description="The stored value (an AD interval) when it is not days")
    precedence: int | None = None
    wins_for: int | None = Field(None, description="In-scope users for whom this source decides the minimum age")
    status: Status | None = Field(None, description="None for a fine-grained policy no in-scope user gets")
    note: str | None = None
    target: str | None = Field(None, description="The finding's target")


class GpoLinkView(Model):
    container: str
    enabled: bool = True
    enforced: bool = False
    holds_computers: bool | None = None


class SignInGpo(Model):
    guid: str
    name: str | None = None
    value: int | None = Field(None, description="AllowPasswordReset in Machine\\Registry.pol; None = not set")
    counts: bool = Field(description="Linked (enabled, computer settings on) where member computers are")
    computer_settings_enabled: bool = True
    links: list[GpoLinkView] = Field(default_factory=list)
    error: str | None = None


class SeamFact(Model):
    """One value across the Entra/AD seam, with where it was read (issue #35), side by side per topic."""

    topic: Literal["authentication", "lockout", "password protection", "sync account reach", "Entra Connect",
                   "writeback"]
    name: str = Field(description="The setting: a domain's authenticationType, a lockout value and its source")
    value: str | None = Field(None, description="None: not known (the note says why)")
    source: str
    status: Status | None = Field(None, description="The judging finding's status, where one judges it")
    note: str | None = None


class OnPremisesReport(Model):
    """The on-premises side as the report shows it (see the module's description)."""

    domain: str | None = None
    server: str | None = None
    service_account: str
    service_account_status: Status | None = None
    service_account_detail: str | None = None
    in_scope_users: int | None = None
    rights: list[str] = Field(default_factory=list, description="Labels of the rights the policy asks for, in order")
    ous: list[OuRights] = Field(default_factory=list)
    admin_sd_holder: OuRights | None = None
    affected: list[AffectedGroup] = Field(default_factory=list)
    minimum_age_limit: int = Field(description="The policy's highest allowed minimum password age, in days")
    password_age: list[AgeSource] = Field(default_factory=list)
    sign_in_status: Status | None = None
    sign_in_detail: str | None = None
    sign_in_gpos: list[SignInGpo] = Field(default_factory=list)
    seams: list[SeamFact] = Field(default_factory=list, description="How passwords reach the cloud, the Entra "
                                  "Connect version, lockout on both sides, the DC agents, the sync account's reach")
    unavailable: dict[str, str] = Field(default_factory=dict, description="Part of the section → why it is missing")
    policy_location: Location | None = Field(
        None, description="Where the policy file declares `directory` (SARIF anchors the section there); null for "
                          "a policy not read from a file")


def onprem_report(policy: Policy, snapshot: Snapshot, findings: list[Finding]) -> OnPremisesReport | None:
    """The section for a policy with a `directory` part; None when the policy asks nothing on-premises."""
    directory = policy.directory
    if directory is None:
        return None
    by_check: dict[str, list[Finding]] = {}
    for finding in findings:
        by_check.setdefault(finding.check, []).append(finding)
    unavailable: dict[str, str] = {}
    state = _value(snapshot, "directory", unavailable, "directory")
    sysvol = _value(snapshot, "sysvol", unavailable, "GptTmpl.inf")
    gpo_values = _value(snapshot, "gpo_sign_in_reset", unavailable, "Registry.pol")
    rights = [r for r in WRITEBACK_RIGHTS if getattr(directory.rights, r.name)]
    in_scope = state.in_scope_users() if isinstance(state, DirectoryState) else None
    account = next(iter(by_check.get(ACCOUNT_CHECK) or []), None)
    sign_in = next(iter(by_check.get(SIGN_IN_CHECK) or []), None)
    holder_findings = [f for f in by_check.get(RIGHTS_CHECK, []) if _is_admin_sd_holder(f.target)]
    declared = policy.location("directory")
    return OnPremisesReport(
        domain=state.dns_domain if isinstance(state, DirectoryState) else None,
        server=state.server if isinstance(state, DirectoryState) else None,
        service_account=directory.service_account,
        service_account_status=account.status if account else None,
        service_account_detail=(account.reason or _text(account.actual)) if account else None,
        in_scope_users=len(in_scope) if in_scope is not None else None,
        rights=[r.label for r in rights],
        ous=_ou_rights(directory.target_ous, rights, by_check.get(RIGHTS_CHECK, []), state),
        admin_sd_holder=_holder_rights(holder_findings, rights) if holder_findings else None,
        affected=[_affected(check, by_check.get(check, []), state) for check in USER_CHECKS if check in by_check],
        minimum_age_limit=directory.password_age.minimum_days,
        password_age=_password_age(by_check, state, sysvol, unavailable),
        sign_in_status=sign_in.status if sign_in else None,
        sign_in_detail=sign_in.reason if sign_in else None,
        sign_in_gpos=_sign_in_gpos(state, gpo_values),
        seams=seam_facts(snapshot, by_check),
        unavailable=unavailable,
        policy_location=declared if declared is not None and declared.key == "directory" else None,
    )


# --- writeback rights ----------------------------------------------------------------------------


def _ou_rights(target_ous: list[str], rights: list[Right], findings: list[Finding],
               state: DirectoryState | None) -> list[OuRights]:
    by_ou: dict[str, list[Finding]] = {}
    for finding in findings:
        by_ou.setdefault(dn_key(finding.target), []).append(finding)
    counts = ({key: len(users) for key, users in state.users_by_target().items()}
              if isinstance(state, DirectoryState) else {})
    out = []
    for ou in target_ous:
        mine = by_ou.get(dn_key(ou), [])
        cells = [_cell(f, right) for f in mine if (right := right_of(f, rights)) is not None]
        cells.sort(key=lambda c: [r.name for r in rights].index(c.right))
        unjudged = [f for f in mine if right_of(f, rights) is None]
        note = "; ".join(f.reason or f.status.value for f in unjudged) or None
        if not mine:
            note = "no finding for this OU (the directory was not read)"
        out.append(OuRights(dn=ou, status=worst([f.status for f in mine]) if mine else Status.unknown,
                            in_scope_users=counts.get(dn_key(ou), 0) if isinstance(state, DirectoryState) else None,
                            rights=cells, note=note))
    return out


def _holder_rights(findings: list[Finding], rights: list[Right]) -> OuRights:
    cells = [_cell(f, right) for f in findings if (right := right_of(f, rights)) is not None]
    unjudged = [f.reason or f.status.value for f in findings if right_of(f, rights) is None]
    return OuRights(dn=findings[0].target, status=worst([f.status for f in findings]), rights=cells,
                    note="; ".join(unjudged) or None)


def right_of(finding: Finding, rights: list[Right]) -> Right | None:
    """The right a writeback-rights finding judges: by its policy key when the policy declares the right,
    else by its expected value, which names the right first ("Reset Password for MSOL_…")."""
    key = _key(finding)
    for right in rights:
        if key == f"directory.rights.{right.name}":
            return right
    expected = finding.expected if isinstance(finding.expected, str) else ""
    return next((r for r in rights if expected.startswith(r.label + " ")), None)


def _cell(finding: Finding, right: Right) -> RightCell:
    detail = _text(finding.actual) or finding.reason
    holder = None
    if isinstance(finding.actual, str) and finding.actual.startswith(("granted to ", "denied to ")):
        holder = finding.actual.split(" to ", 1)[1].split(" by (", 1)[0]
    return RightCell(right=right.name, label=right.label, status=finding.status, holder=holder, detail=detail,
                     target=finding.target)


# --- affected users ------------------------------------------------------------------------------


def _affected(check: str, findings: list[Finding], state: DirectoryState | None) -> AffectedGroup:
    names = ({dn_key(u.dn): u.sam_account_name or u.user_principal_name for u in state.users}
             if isinstance(state, DirectoryState) else {})
    listed = [f for f in findings if f.status in (Status.failed, Status.waived)]
    reasons = Counter(f.reason for f in listed)
    shared = next(iter(reasons)) if len(reasons) == 1 and len(listed) > 1 else None
    users = [AffectedUser(dn=f.target, name=names.get(dn_key(f.target)) or rdn_value(f.target) or f.target,
                          status=f.status, detail=_user_detail(f, shared)) for f in listed[:USER_LIMIT]]
    others = [f for f in findings if f not in listed]
    summary = "; ".join(dict.fromkeys(f.reason or _text(f.actual) or f.status.value for f in others)) or None
    first = findings[0]
    return AffectedGroup(check=check, title=first.title, severity=first.severity,
                         status=worst([f.status for f in findings]), count=len(listed),
                         waived=sum(1 for f in listed if f.status == Status.waived),
                         explanation=shared, summary=summary, users=users)


def _user_detail(finding: Finding, shared: str | None) -> str | None:
    if finding.reason and finding.reason != shared:
        return finding.reason
    if isinstance(finding.actual, str) and finding.actual:
        return finding.actual
    if finding.evidence:
        first = finding.evidence[0]
        return f"{first.field} = {_text(first.value)}"
    return _text(finding.actual)


# --- password age --------------------------------------------------------------------------------


def _password_age(by_check: dict[str, list[Finding]], state: DirectoryState | None, sysvol: SysvolState | None,
                  unavailable: dict[str, str]) -> list[AgeSource]:
    from auditor.checks.ad.gpo.min_password_age import GPO_TARGET

    gpo_findings = by_check.get(GPO_AGE_CHECK, [])
    base = dn_key(state.base_dn) if isinstance(state, DirectoryState) else None
    domain = next((f for f in gpo_findings if f.target in (state.base_dn if state else None, "domain minPwdAge")
                   or dn_key(f.target) == base), None)
    gpo = next((f for f in gpo_findings if f is not domain), None)
    users = state.in_scope_users() if isinstance(state, DirectoryState) else []
    out = _gpo_sources(state, sysvol, gpo) if isinstance(state, DirectoryState) and isinstance(sysvol, SysvolState) \
        else []
    if not out:
        out = [AgeSource(
            kind="gpo", name="Default Domain Policy", setting="GptTmpl.inf [System Access] MinimumPasswordAge",
            where=sysvol.path if isinstance(sysvol, SysvolState) else GPO_TARGET,
            days=sysvol.minimum_password_age if isinstance(sysvol, SysvolState) else _days(gpo),
            status=gpo.status if gpo else None, note=_note(gpo, unavailable.get("GptTmpl.inf")),
            target=gpo.target if gpo else GPO_TARGET,
        )]
    with_pso = sum(1 for u in users if u.resultant_pso)
    out.append(AgeSource(
        kind="domain", name="Domain password policy", setting="minPwdAge on the domain head",
        where=state.base_dn if isinstance(state, DirectoryState) else "domain",
        days=state.min_pwd_age_days if isinstance(state, DirectoryState) else _days(domain),
        raw=str(state.min_pwd_age) if isinstance(state, DirectoryState) and state.min_pwd_age is not None else None,
        wins_for=len(users) - with_pso if isinstance(state, DirectoryState) else None,
        status=domain.status if domain else None, note=_note(domain, unavailable.get("directory")),
        target=domain.target if domain else None,
    ))
    fgpp = {dn_key(f.target): f for f in by_check.get(FGPP_AGE_CHECK, [])}
    if isinstance(state, DirectoryState):
        winners = Counter(dn_key(u.resultant_pso) for u in users if u.resultant_pso)
        for pso in sorted(state.password_settings, key=lambda p: (p.precedence is None, p.precedence, p.name)):
            finding = fgpp.get(dn_key(pso.dn))
            wins = winners.get(dn_key(pso.dn), 0)
            out.append(AgeSource(
                kind="fgpp", name=pso.name, setting="msDS-MinimumPasswordAge", where=pso.dn, days=pso.min_age_days,
                raw=str(pso.min_pwd_age) if pso.min_pwd_age is not None else None, precedence=pso.precedence,
                wins_for=wins, status=finding.status if finding else None, target=pso.dn,
                note=_note(finding, None) if finding else
                ("wins for no in-scope user, so the audit does not judge it" if not wins else None),
            ))
    return out  # without the directory the fine-grained policies are unknown, and `unavailable` says why


def _gpo_sources(state: DirectoryState, sysvol: SysvolState, finding: Finding | None) -> list[AgeSource]:
    """Every GPO linked to the domain head that sets the minimum age, by precedence, then the OU-only ones."""
    from auditor.derive import gpo_precedence

    outcome = gpo_precedence.domain_password_age(state, sysvol)
    templates = sysvol.all_templates()
    winner = outcome.winner.applied.gpo.guid.upper() if outcome.winner else None
    out = []
    for applied in outcome.chain:
        template = templates.get(applied.gpo.guid.upper())
        days = template.minimum_password_age if template is not None else None
        if template is not None and template.error is None and days is None and applied.gpo.guid.upper() != winner \
                and applied.gpo.guid.upper() != DEFAULT_DOMAIN_POLICY_GUID:
            continue  # a GPO that does not touch the setting
        wins = applied.gpo.guid.upper() == winner
        note = (finding.reason if wins and finding else None) or (
            template.error if template is not None and template.error else
            "not read" if template is None else
            None if wins else "overridden by a GPO of higher precedence" if days is not None else
            "does not set MinimumPasswordAge")
        out.append(AgeSource(
            kind="gpo", name=applied.name,
            where=template.path if template else applied.gpo.dn,
            setting=f"GptTmpl.inf MinimumPasswordAge; precedence {applied.rank} "
                    f"({'enforced, ' if applied.link.enforced else ''}link order {applied.link.order} on the domain)",
            days=days,
            status=finding.status if wins and finding else None, note=note,
            target=finding.target if wins and finding else None))
    for gpo, days in gpo_precedence.ou_only_password_ages(state, sysvol):
        out.append(AgeSource(kind="gpo", name=gpo.display_name or gpo.guid, where=templates[gpo.guid.upper()].path,
                             setting="GptTmpl.inf MinimumPasswordAge; linked to OUs only", days=days,
                             note="changes the local accounts of the computers in those OUs, not domain accounts"))
    if out and not any(source.status is not None for source in out) and finding is not None:
        out[0] = out[0].model_copy(update={"status": finding.status, "note": finding.reason, "target": finding.target})
    return out


def _days(finding: Finding | None) -> int | None:
    return finding.actual if finding is not None and isinstance(finding.actual, int) else None


def _note(finding: Finding | None, unavailable: str | None) -> str | None:
    if finding is None:
        return unavailable
    return finding.reason


# --- the sign-in screen --------------------------------------------------------------------------


def _sign_in_gpos(state: DirectoryState | None, values: GpoSignInResetState | None) -> list[SignInGpo]:
    if not isinstance(values, GpoSignInResetState):
        return []
    gpos = {g.guid.upper(): g for g in state.gpos} if isinstance(state, DirectoryState) else {}
    out = []
    for value in values.values:
        gpo = gpos.get(value.gpo_guid.upper())
        links = ([GpoLinkView(container=link.container, enabled=link.enabled, enforced=link.enforced,
                              holds_computers=link.holds_computers) for link in gpo.links] if gpo else
                 [GpoLinkView(container=c, holds_computers=True) for c in value.linked_to])
        out.append(SignInGpo(guid=value.gpo_guid, name=value.display_name, value=value.value, counts=value.linked,
                             computer_settings_enabled=gpo.computer_settings_enabled if gpo else True,
                             links=links, error=value.error))
    # the GPOs that set the value first, then the linked ones, then by name
    out.sort(key=lambda g: (g.value is None and g.error is None, not g.counts, (g.name or g.guid).casefold()))
    return out


# --- helpers -------------------------------------------------------------------------------------


def _is_admin_sd_holder(dn: str) -> bool:
    return dn_key(dn).startswith("cn=adminsdholder,cn=system,")


def _key(finding: Finding) -> str:
    return finding.policy_location.key if finding.policy_location else ""


def _value(snapshot: Snapshot, name: str, unavailable: dict[str, str], label: str) -> Any:
    section = getattr(snapshot, name, None)
    if section is None:
        unavailable[label] = f"`{name}` was not collected in this snapshot"
        return None
    if not section.readable:
        unavailable[label] = f"{section.source}: {section.error or 'no value'}"
        return None
    return section.value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


# --- across the seam (issue #35) ------------------------------------------------------------------

CONNECT_VERSION_UNKNOWN = ("not exposed where this tool reads: Graph's GET /directory/onPremisesSynchronization and "
                           "/organization carry no version (the DirSyncClientVersion of the retired MSOnline module "
                           "has no Graph successor), the portal's Directories/ADConnectStatus as publicly captured "
                           "has none, and AD's connector account description names the installation and server, "
                           "not the build. Microsoft documents reading it on the server (AzureADConnect.exe, "
                           "Product version: verify-sync-tool-version) or in Entra Connect Health")
WRITEBACK_STATUS_UNKNOWN = ("not exposed: the portal shows the writeback client's status on the On-premises "
                            "integration page (concept-sspr-howitworks), but no documented or publicly captured "
                            "field carries it (OnPremisesPasswordResetPolicies has five switches, "
                            "Directories/ADConnectStatus sync and sign-in flags, Graph none); writeback.health "
                            "judges the failed writebacks of the audit log instead")


def seam_facts(snapshot: Snapshot, by_check: dict[str, list[Finding]]) -> list[SeamFact]:
    """Authentication mode, Entra Connect version, lockout on both sides, DC agents and the sync account's reach,
    each value with its source and the status of the finding that judges it."""
    from auditor.checks.hybrid.lockout import DURATION_TARGET, NEVER_LABEL, THRESHOLD_TARGET, cloud_of, domain_values

    out: list[SeamFact] = []
    status_of = {(f.check, f.target): f.status for fs in by_check.values() for f in fs}
    domains, sync = _section(snapshot, "domains"), _section(snapshot, "sync_features")
    auth_status = status_of.get(("hybrid.authentication", "verified domains"))
    if domains is None:
        out.append(SeamFact(topic="authentication", name="domains", source="graph:GET /domains",
                            note=_why(snapshot, "domains")))
    else:
        out += [SeamFact(topic="authentication", name=f"{d.id} authenticationType", value=d.authentication_type,
                         source=snapshot.domains.source if snapshot.domains else "domains", status=auth_status,
                         note="Managed: password hash sync or pass-through (Graph does not tell them apart)"
                         if not d.federated else "Federated: the federation service signs its users in")
                for d in domains.verified()]
    out.append(SeamFact(topic="authentication", name="password hash sync (features.passwordSyncEnabled)",
                        value=_word(getattr(sync, "password_sync_enabled", None)),
                        source=snapshot.sync_features.source if snapshot.sync_features else "sync_features",
                        status=status_of.get(("hybrid.authentication", "password hash sync")),
                        note=None if sync is not None else _why(snapshot, "sync_features")))
    out.append(SeamFact(topic="Entra Connect", name="version", value=None, source="Graph, portal and AD",
                        note=CONNECT_VERSION_UNKNOWN))
    out += writeback_facts(snapshot, status_of.get(("writeback.health", "writeback outcomes")))
    rules, state, sysvol = (_section(snapshot, "password_rules"), _section(snapshot, "directory"),
                            _section(snapshot, "sysvol"))
    if rules is not None:
        cloud = cloud_of(rules, snapshot.password_rules.source if snapshot.password_rules else "password_rules")
        out += [SeamFact(topic="lockout", name=e.field, value=str(e.value), source=e.source) for e in cloud.evidence]
    if isinstance(state, DirectoryState):
        lockouts = domain_values(state, sysvol if isinstance(sysvol, SysvolState) else None,
                                 snapshot.directory.source if snapshot.directory else "directory")
        for values, target in ((lockouts.thresholds, THRESHOLD_TARGET), (lockouts.durations, DURATION_TARGET),
                               (lockouts.windows, None)):
            out += [SeamFact(topic="lockout", name=v.field,
                             value=NEVER_LABEL if v.never else None if v.value is None else str(v.value),
                             source=v.source, note=v.error if target else v.error or "evidence: not judged",
                             status=status_of.get(("hybrid.lockout", target)) if target else None)
                    for v in values]
        agents = state.password_protection_agents
        if agents is not None and agents.error is None:
            out += [SeamFact(topic="password protection", name=f"DC agent on {dc.dns_host_name or dc.dn}",
                             value=(f"yes ({dc.agent.software_version or 'version not published'})" if dc.agent
                                    else "no"), source=dc.agent.dn if dc.agent else dc.dn,
                             status=status_of.get(("hybrid.dc_agents", dc.dn))) for dc in agents.domain_controllers]
        reach = state.reach_beyond
        if reach is not None and reach.error is None:
            protected = [u.sam_account_name or u.dn for u in reach.users if u.protected]
            out += [SeamFact(topic="sync account reach", name=f"Reset Password granted at {p.dn}",
                             value=f"{len(reach.users)} user(s) outside the target OUs, {len(protected)} protected"
                             + (f": {', '.join(protected[:10])}" if protected else ""), source=p.ace,
                             status=status_of.get(("ad.acl.reach_beyond", p.dn))) for p in reach.grant_points]
    return out


def writeback_facts(snapshot: Snapshot, status: Status | None) -> list[SeamFact]:
    """The failed writebacks of the SSPR audit window (as writeback.health counts them) and the portal's writeback
    client status (not exposed)."""
    activity = _section(snapshot, "sspr_activity")
    source = snapshot.sspr_activity.source if snapshot.sspr_activity else "sspr_activity"
    name = "failed writebacks in the SSPR audit window"
    if activity is None:
        counted = SeamFact(topic="writeback", name=name, source=source, note=_why(snapshot, "sspr_activity"))
    elif activity.events == 0:
        counted = SeamFact(topic="writeback", name=name, source=source, status=status,
                           note="the window holds no SSPR event: not collected, not retained, or unused")
    else:
        failures = activity.writeback_failures
        latest = f", latest {failures[-1].at:%Y-%m-%d %H:%M} UTC ({failures[-1].reason})" if failures else ""
        counted = SeamFact(topic="writeback", name=name, source=source, status=status,
                           value=f"{len(failures)} of {activity.events} event(s) from "
                                 f"{activity.window_start:%Y-%m-%d} to {activity.window_end:%Y-%m-%d}{latest}")
    return [counted, SeamFact(topic="writeback", name="writeback client connection status", source="portal and Graph",
                              note=WRITEBACK_STATUS_UNKNOWN)]


def _section(snapshot: Snapshot, name: str) -> Any:
    section = getattr(snapshot, name, None)
    return section.value if section is not None and section.readable else None


def _why(snapshot: Snapshot, name: str) -> str:
    section = getattr(snapshot, name, None)
    return f"`{name}` was not collected" if section is None else f"{section.source}: {section.error or 'no value'}"


def _word(value: bool | None) -> str | None:
    return None if value is None else ("on" if value else "off")
