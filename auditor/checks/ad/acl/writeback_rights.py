"""ad.acl.writeback_rights: on every target OU the sync account holds each writeback right,
inherited by descendant user objects (and on AdminSDHolder when the policy asks)."""

from __future__ import annotations

from auditor.ad.dn import dn_key
from auditor.ad.rights import RIGHTS_BY_NAME, USER_CLASS, Right
from auditor.ad.sd import effective_right, inherited_right
from auditor.checks.ad import (
    ace_evidence,
    describe,
    directory_state,
    required_rights,
    right_key,
    wanted,
)
from auditor.checks.ad.acl import grant
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status, Subject
from auditor.fixes.fixer import FixContext, Fixer
from auditor.snapshot.directory import DirectoryState, SecuredObject

SPEC = CheckSpec(
    id="ad.acl.writeback_rights",
    title="The sync account holds the writeback rights on every target OU, inherited by user objects",
    severity=Severity.high,
    policy_key="directory.rights",
    sections=("directory",),
    changed_attributes=("nTSecurityDescriptor",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > View > Advanced Features > the OU > Properties > Security > "
               "Advanced > Add the sync account, Applies to: Descendant User objects, and tick Reset password, "
               "Change password, Write lockoutTime, Write pwdLastSet",
        powershell="Import-Module ADSyncConfig; Set-ADSyncPasswordWritebackPermissions "
                   "-ADConnectorAccountDN '<account DN>' -ADObjectDN '<OU DN>'",
        console="Active Directory Users and Computers",
        shell="PowerShell on the Entra Connect server (ADSyncConfig module)",
        fills=(("<OU DN>", "target"),),
    ),
    description="Reads each target OU's DACL and decides, in DACL order (deny first), whether an inheritable ACE "
                "for the sync account or one of its groups grants the right to descendant user objects. "
                "Broader grants (GenericAll, all extended rights, write all properties, the property set) count.",
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    state = directory_state(ctx)
    account = state.service_account
    rights = required_rights(directory)
    findings: list[Finding] = []
    by_target = state.users_by_target()
    for ou in state.target_ous:
        users = len(by_target.get(dn_key(ou.dn), []))
        if not ou.exists:
            findings.append(ctx.result(
                Status.failed, target=ou.dn, expected="an existing OU", actual="no such object",
                evidence=[Evidence(source=ctx.source("directory"), field="distinguishedName", value=ou.dn)],
                reason="the target OU does not exist in the directory", key="directory.target_ous"))
            continue
        if ou.dacl is None:
            findings.append(ctx.result(
                Status.unknown, target=ou.dn, reason=ou.error or "the OU's security descriptor was not read",
                evidence=[Evidence(source=ou.dn, field="nTSecurityDescriptor", value=None)]))
            continue
        for right in rights:
            if account is None:
                findings.append(_no_account(ctx, ou.dn, right, right_key(right)))
                continue
            decision = inherited_right(ou.dacl, account.token_sids, right, USER_CLASS)
            actual = describe(decision, account)
            evidence = [ace_evidence(ou.dn, "nTSecurityDescriptor (DACL)", decision.ace),
                        Evidence(source=ou.dn, field="in-scope users below", value=users)]
            expected = f"{right.label} for {account.sam_account_name}, inherited by descendant user objects"
            if decision.granted:
                findings.append(ctx.result(Status.passed, target=ou.dn, expected=expected, actual=actual,
                                           evidence=evidence, reason=decision.note, key=right_key(right),
                                           subject=Subject(right=right.name)))
            else:
                findings.append(ctx.result(
                    Status.failed, target=ou.dn, expected=expected, actual=actual, evidence=evidence,
                    key=right_key(right), subject=Subject(right=right.name),
                    reason=f"{right.label} is {'denied' if decision.denied else 'missing'} on this OU, so "
                           f"writeback cannot {_verb(right.name)} for its {users} in-scope user(s)"))
    if directory.rights.admin_sd_holder:
        findings += _admin_sd_holder(ctx, rights)
    return findings


def _admin_sd_holder(ctx: Context, rights: list[Right]) -> list[Finding]:
    state = directory_state(ctx)
    holder, account = state.admin_sd_holder, state.service_account
    if holder.dacl is None:
        return [ctx.result(Status.unknown, target=holder.dn, key="directory.rights.admin_sd_holder",
                           reason=holder.error or "AdminSDHolder's security descriptor was not read")]
    out = []
    for right in rights:
        if account is None:
            out.append(_no_account(ctx, holder.dn, right, "directory.rights.admin_sd_holder"))
            continue
        # SDProp copies AdminSDHolder's DACL onto protected users: the ACE must apply to the object itself
        decision = effective_right(holder.dacl, account.token_sids, right, USER_CLASS)
        status = Status.passed if decision.granted else Status.failed
        out.append(ctx.result(
            status, target=holder.dn, key="directory.rights.admin_sd_holder", subject=Subject(right=right.name),
            expected=f"{right.label} for {account.sam_account_name} (copied to adminCount=1 users)",
            actual=describe(decision, account),
            evidence=[ace_evidence(holder.dn, "nTSecurityDescriptor (DACL)", decision.ace)],
            reason=None if decision.granted else
            f"AdminSDHolder does not grant {right.label}, so protected (adminCount=1) users never get it"))
    return out


def _no_account(ctx: Context, target: str, right: Right, key: str) -> Finding:
    wanted_name = wanted(ctx).service_account
    return ctx.result(Status.failed, target=target, key=key, subject=Subject(right=right.name),
                      expected=f"{right.label} for {wanted_name}",
                      actual="the sync account does not exist",
                      evidence=[Evidence(source=ctx.source("directory"), field="sAMAccountName", value=wanted_name)],
                      reason=f"the sync account {wanted_name!r} was not found, so nobody holds the rights")


def _verb(name: str) -> str:
    return {"reset_password": "reset passwords", "change_password": "change passwords",
            "write_lockout_time": "unlock accounts (write lockoutTime)",
            "write_pwd_last_set": "write pwdLastSet"}.get(name, "act")


NO_DESCRIPTOR = "the snapshot holds no descriptor bytes for this object: collect again"
MISSING_OU = "the target OU does not exist: create it or correct directory.target_ous"


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """Each missing right (the finding's typed subject) granted to the sync account: inheritable to user objects
    on a target OU, on AdminSDHolder itself; one change per object."""
    state: DirectoryState | None = fx.value("directory")
    directory = fx.policy.directory
    if state is None or directory is None:
        return
    account = state.service_account
    wanted_rights = required_rights(directory)
    holder_key = dn_key(state.admin_sd_holder.dn)
    objects = {dn_key(o.dn): o for o in state.target_ous}
    per_object: dict[str, tuple[SecuredObject, list[tuple[Right, Finding]]]] = {}
    for finding in failing:
        if finding.subject is None:  # about the OU itself, not a right: it does not exist
            fx.manual_step(finding, MISSING_OU)
            continue
        key = dn_key(finding.target)
        obj = state.admin_sd_holder if key == holder_key else objects.get(key)
        right = _right_of(finding, wanted_rights)
        if obj is None or not obj.exists or obj.dacl is None or right is None:
            continue  # left to the check's manual step
        if account is None:
            fx.manual_step(finding, "the sync account does not exist (see ad.service_account): create it with Entra "
                                    "Connect first, then plan again")
            continue
        if key != holder_key and inherited_right(obj.dacl, account.token_sids, right).denied:
            fx.manual_step(finding, "a deny ACE for the sync account comes first in this DACL: an allow ACE would not "
                                    "help; remove the deny by hand, then plan again")
            continue
        per_object.setdefault(key, (obj, []))[1].append((right, finding))
    for key, (obj, pairs) in per_object.items():
        assert account is not None
        if obj.descriptor_b64 is None:
            for _, finding in pairs:
                fx.manual_step(finding, NO_DESCRIPTOR)
            continue
        grant(fx, account, obj, pairs, object_only=key == holder_key, holder=key == holder_key)


def _right_of(finding: Finding, candidates: list[Right]) -> Right | None:
    """The right a finding is about: its typed subject, never its text."""
    name = finding.subject.right if finding.subject is not None else None
    right = RIGHTS_BY_NAME.get(name or "")
    return right if right in candidates else None


FIXER = Fixer(plan=fix)
