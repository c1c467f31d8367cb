"""Golden cases for the on-premises checks, and builders of synthetic directory snapshots.

`compliant_directory()` matches policies/baseline.yaml: the sync account holds the four rights
on both target OUs, every user inherits them, minimum ages are 0, phones are well-formed.
Each failing case changes one thing from there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.ad.intervals import days_to_interval
from auditor.ad.rights import UNEXPIRE_PASSWORD, WRITEBACK_RIGHTS, Right
from auditor.ad.sd import AceFact, AceFlag, DaclFacts, canonical_ace
from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID, EVERYONE
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.snapshot.directory import (
    CloudSyncAccounts,
    DirectoryState,
    DirectoryUser,
    GpoLink,
    GroupPolicy,
    GroupRef,
    PasswordSettings,
    ReachBeyond,
    SecuredObject,
    ServiceAccount,
    SysvolState,
)
from auditor.snapshot.models import Section, Snapshot

BASELINE = Path(__file__).resolve().parents[2] / "policies" / "baseline.yaml"
BASE = "DC=corp,DC=example,DC=test"
STAFF, SALES = f"OU=Staff,{BASE}", f"OU=Sales,{BASE}"
DOMAIN_SID = "S-1-5-21-1111-2222-3333"
ACCOUNT_SID = f"{DOMAIN_SID}-1148"
GROUP_SID = f"{DOMAIN_SID}-1153"
PSO_SALES = f"CN=PSO-Sales,CN=Password Settings Container,CN=System,{BASE}"
GPO_PATH = rf"\\127.0.0.5\SYSVOL\corp.example.test\Policies\{DEFAULT_DOMAIN_POLICY_GUID}\MACHINE\x\GptTmpl.inf"
Case = Callable[[], tuple[Policy, Snapshot]]


def baseline_policy(**directory_changes: Any) -> Policy:
    policy = load_policy(BASELINE)
    if not directory_changes:
        return policy
    assert policy.directory is not None
    nested = {}
    for name in ("rights", "password_age", "users"):
        if name in directory_changes and isinstance(directory_changes[name], dict):
            nested[name] = getattr(policy.directory, name).model_copy(update=directory_changes.pop(name))
    directory = policy.directory.model_copy(update={**directory_changes, **nested})
    return policy.model_copy(update={"directory": directory})


def ou_dacl(sid: str = ACCOUNT_SID, rights: tuple[Right, ...] = WRITEBACK_RIGHTS) -> DaclFacts:
    return DaclFacts(protected=False, aces=(AceFact(allow=True, sid="S-1-5-11", mask=0x20094),
                                            *(canonical_ace(sid, r) for r in rights)))


def as_inherited(ace: AceFact) -> AceFact:
    """The ACE as it lands on a user below the OU: inherited, no longer inherit-only."""
    flags = (ace.flags | AceFlag.INHERITED) & ~AceFlag.INHERIT_ONLY & ~AceFlag.CONTAINER_INHERIT
    return ace.model_copy(update={"flags": flags})


def user_dacl(ou: DaclFacts, *, protected: bool = False, extra: tuple[AceFact, ...] = ()) -> DaclFacts:
    own = (AceFact(allow=True, sid=EVERYONE, mask=0x100, object_type="ab721a53-1e2f-11d0-9819-00aa0040529b"),)
    inherited = () if protected else tuple(as_inherited(a) for a in ou.aces if a.container_inherit)
    return DaclFacts(protected=protected, aces=(*extra, *own, *inherited), complete=False)


def user(cn: str, ou: str, **fields: Any) -> DirectoryUser:
    values: dict[str, Any] = {"dn": f"CN={cn},{ou}", "sam_account_name": cn.lower().replace(" ", "."),
                              "sid": f"{DOMAIN_SID}-{2000 + len(cn)}", "target_ou": ou,
                              "user_account_control": 0x200, "pwd_last_set": 134_000_000_000_000_000,
                              "mobile": "+1 4255550100", "dacl_key": "inherits"}
    values.update(fields)
    return DirectoryUser(**values)


def account(**fields: Any) -> ServiceAccount:
    values: dict[str, Any] = {
        "dn": f"CN=MSOL_0a1b2c3d4e5f,CN=Users,{BASE}", "sam_account_name": "MSOL_0a1b2c3d4e5f", "sid": ACCOUNT_SID,
        "user_account_control": 0x10200,
        "groups": [GroupRef(dn=f"CN=GG-Writeback-Delegation,OU=Groups,{BASE}", sid=GROUP_SID,
                            name="GG-Writeback-Delegation")],
        "token_sids": sorted({ACCOUNT_SID, GROUP_SID, EVERYONE, "S-1-5-11"}),
    }
    values.update(fields)
    return ServiceAccount(**values)


def compliant_directory(**overrides: Any) -> DirectoryState:
    staff, sales = ou_dacl(), ou_dacl(GROUP_SID)
    users = [user("Ann Lee", STAFF), user("Ben Singh", STAFF),
             user("Jade Young", SALES, resultant_pso=PSO_SALES, dacl_key="sales"),
             user("Old Timer", STAFF, user_account_control=0x202, mobile="n/a", pwd_last_set=0)]
    values: dict[str, Any] = {
        "server": "dc1.corp.example.test Samba", "base_dn": BASE, "dns_domain": "corp.example.test",
        "domain_sid": DOMAIN_SID, "min_pwd_age": 0, "max_pwd_age": days_to_interval(42),
        "domain": SecuredObject(dn=BASE, dacl=DaclFacts(protected=False, aces=(
            canonical_ace(ACCOUNT_SID, UNEXPIRE_PASSWORD, inherit_to=None),))),
        "admin_sd_holder": SecuredObject(dn=f"CN=AdminSDHolder,CN=System,{BASE}",
                                         dacl=DaclFacts(protected=True, aces=())),
        "service_account_query": "MSOL_0a1b2c3d4e5f", "service_account": account(),
        "target_ous": [SecuredObject(dn=STAFF, dacl=staff), SecuredObject(dn=SALES, dacl=sales)],
        "users": users,
        "dacls": {"inherits": user_dacl(staff), "sales": user_dacl(sales)},
        "password_settings": [
            PasswordSettings(dn=PSO_SALES, name="PSO-Sales", precedence=10, min_pwd_age=0,
                             applies_to=[f"CN=GG-Sales-Synced,OU=Groups,{BASE}"]),
            PasswordSettings(dn=PSO_SALES.replace("PSO-Sales", "PSO-Service"), name="PSO-Service", precedence=5,
                             min_pwd_age=days_to_interval(1), applies_to=[]),
        ],
        "reach_beyond": ReachBeyond(containers_read=6),  # no grant outside the target OUs
        "cloud_sync_accounts": CloudSyncAccounts(),  # no Cloud Sync gMSA (provAgentgMSA$) in the domain
        "gpos": [GroupPolicy(dn=f"CN={DEFAULT_DOMAIN_POLICY_GUID},CN=Policies,CN=System,{BASE}",
                             guid=DEFAULT_DOMAIN_POLICY_GUID, display_name="Default Domain Policy",
                             version_number=2, linked_to_domain=True, links=[GpoLink(container=BASE)])],
    }
    values.update(overrides)
    return DirectoryState(**values)


def sysvol(minimum_password_age: int | None = 0, present: bool = True) -> SysvolState:
    return SysvolState(path=GPO_PATH, gpo_guid=DEFAULT_DOMAIN_POLICY_GUID, present=present,
                       encoding="utf-16-le-bom" if present else None, newline="CRLF" if present else None,
                       minimum_password_age=minimum_password_age if present else None, gpt_ini_version=2)


def snapshot(directory: DirectoryState | None = None, gpo: SysvolState | None = None) -> Snapshot:
    return Snapshot(
        tool_version="test", origin="test",
        directory=Section[DirectoryState].ok("ldaps://127.0.0.5:636", directory or compliant_directory()),
        sysvol=Section[SysvolState].ok("smb:" + GPO_PATH, gpo or sysvol()),
    )


def with_users(*changed: DirectoryUser, dacls: dict[str, DaclFacts] | None = None) -> DirectoryState:
    base = compliant_directory()
    by_dn = {u.dn: u for u in changed}
    users = [by_dn.pop(u.dn, u) for u in base.users] + list(by_dn.values())
    return base.model_copy(update={"users": users, "dacls": {**base.dacls, **(dacls or {})}})


def _case(policy: Policy, snap: Snapshot) -> Case:
    return lambda: (policy, snap)


def _cases() -> dict[str, dict[str, Case]]:
    policy = baseline_policy()
    compliant = snapshot()
    sales_missing = compliant_directory(target_ous=[
        SecuredObject(dn=STAFF, dacl=ou_dacl()),
        SecuredObject(dn=SALES, dacl=ou_dacl(GROUP_SID, WRITEBACK_RIGHTS[:3])),
    ])
    protected = with_users(user("Nora Quinn", STAFF, dacl_key="protected"),
                           dacls={"protected": user_dacl(ou_dacl(), protected=True)})
    return {
        "ad.acl.writeback_rights": {"pass": _case(policy, compliant), "fail": _case(policy, snapshot(sales_missing))},
        "ad.acl.coverage": {"pass": _case(policy, compliant), "fail": _case(policy, snapshot(protected))},
        "ad.acl.unexpire_password": {
            "pass": _case(baseline_policy(rights={"unexpire_password": True}), compliant),
            "fail": _case(baseline_policy(rights={"unexpire_password": True}), snapshot(compliant_directory(
                domain=SecuredObject(dn=BASE, dacl=DaclFacts(protected=False))))),
        },
        "ad.gpo.min_password_age": {"pass": _case(policy, compliant),
                                    "fail": _case(policy, snapshot(gpo=sysvol(1)))},
        "ad.fgpp.min_password_age": {
            "pass": _case(policy, compliant),
            "fail": _case(policy, snapshot(compliant_directory(password_settings=[
                PasswordSettings(dn=PSO_SALES, name="PSO-Sales", precedence=10, min_pwd_age=days_to_interval(1))]))),
        },
        "ad.users.temporary_password": {
            "pass": _case(policy, compliant),
            "fail": _case(policy, snapshot(with_users(user("Tess Temp", STAFF, pwd_last_set=0)))),
        },
        "ad.users.privileged": {
            "pass": _case(policy, compliant),
            "fail": _case(policy, snapshot(with_users(user("Adam Admin", STAFF, admin_count=1,
                                                           privileged_via=["Domain Admins"])))),
        },
        "ad.users.contact": {
            "pass": _case(policy, compliant),
            "fail": _case(policy, snapshot(with_users(user("Cara Zeller", STAFF, mobile="(425) 555-0102")))),
        },
        "ad.service_account": {
            "pass": _case(policy, compliant),
            "fail": _case(policy, snapshot(compliant_directory(service_account=account(user_account_control=0x202)))),
        },
    }


CASES = _cases()
