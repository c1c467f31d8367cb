"""A realistic on-premises audit for report tests: real checks over a drifted directory snapshot.

`drifted_snapshot()`: OU=Sales misses Write pwdLastSet; a user with inheritance disabled, an admin
with adminCount=1, a temporary password, two malformed phones (one waived by `waived()`); the
Default Domain Policy says 1 day while the domain says 0; PSO-Sales (1 day) wins for the Sales users;
the GPO that sets AllowPasswordReset is linked to a users-only OU. Names and DNs can be swapped for
hostile ones.
"""

from __future__ import annotations

from datetime import date

from auditor.ad.intervals import days_to_interval
from auditor.ad.rights import WRITEBACK_RIGHTS
from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.app.audit import ExitPolicy, audit
from auditor.policy.models import Policy, Waiver
from auditor.report import AuditReport
from auditor.snapshot.directory import GpoLink, GroupPolicy, PasswordSettings, SecuredObject
from auditor.snapshot.models import Section, Snapshot
from auditor.snapshot.tenant import GpoRegistryValue, GpoSignInResetState
from tests.helpers.report_factory import RIGHT_TO_LEFT_OVERRIDE
from tests.unit.cases_ad import (
    BASE,
    GROUP_SID,
    PSO_SALES,
    SALES,
    STAFF,
    baseline_policy,
    compliant_directory,
    ou_dacl,
    snapshot,
    sysvol,
    user,
    user_dacl,
)

TODAY = date(2025, 3, 14)
WORKSTATIONS = f"OU=Workstations,{BASE}"
SIGN_IN_GUID = "{F99FD350-CB8B-54E4-A5CE-4AF8C2B2227E}"
HOSTILE_OU = f'OU=<script>alert(1)</script>\\, "x" onmouseover=alert(1),{BASE}'
HOSTILE_NAME = f'"><img src=x onerror=alert(1)>{RIGHT_TO_LEFT_OVERRIDE}gpj.exe'


def gpo(guid: str, name: str, *links: GpoLink, flags: int = 0) -> GroupPolicy:
    return GroupPolicy(dn=f"CN={guid},CN=Policies,CN=System,{BASE}", guid=guid, display_name=name, flags=flags,
                       links=list(links), linked_to_domain=any(link.container == BASE for link in links))


def drifted_snapshot(target_ou: str = SALES, user_name: str = "Nora Quinn", pso_name: str = "PSO-Sales",
                     gpo_name: str = "SSPR sign-in screen") -> Snapshot:
    """Sales misses Write pwdLastSet; a protected user, a temporary password, an admin, two bad phones;
    the GPO says 1 day while the domain says 0; PSO-Sales (1 day) wins for the Sales users; the GPO that
    sets AllowPasswordReset is linked to a users-only OU."""
    users = [
        user("Ann Lee", STAFF), user("Ben Singh", STAFF),
        user(user_name, STAFF, sam_account_name=user_name, dacl_key="protected"),
        user("Tess Temp", STAFF, pwd_last_set=0),
        user("Adam Admin", STAFF, admin_count=1, privileged_via=["Domain Admins"], dacl_key="protected"),
        user("Cara Zeller", STAFF, mobile="(425) 555-0102"),
        user("Hana Park", STAFF, mobile="+14255550107"),
        user("Jade Young", target_ou, resultant_pso=PSO_SALES, dacl_key="sales"),
        user("Gus Xu", target_ou, resultant_pso=PSO_SALES, dacl_key="sales"),
    ]
    sales = ou_dacl(GROUP_SID, WRITEBACK_RIGHTS[:3])
    directory = compliant_directory(
        target_ous=[SecuredObject(dn=STAFF, dacl=ou_dacl()), SecuredObject(dn=target_ou, dacl=sales)],
        users=users, dacls={"inherits": user_dacl(ou_dacl()), "protected": user_dacl(ou_dacl(), protected=True),
                            "sales": user_dacl(sales)},
        password_settings=[
            PasswordSettings(dn=PSO_SALES, name=pso_name, precedence=10, min_pwd_age=days_to_interval(1)),
            PasswordSettings(dn=PSO_SALES.replace("PSO-Sales", "PSO-Service"), name="PSO-Service", precedence=5,
                             min_pwd_age=days_to_interval(1)),
        ],
        gpos=[gpo(DEFAULT_DOMAIN_POLICY_GUID, "Default Domain Policy", GpoLink(container=BASE, holds_computers=True)),
              gpo(SIGN_IN_GUID, gpo_name, GpoLink(container=STAFF, holds_computers=False),
                  GpoLink(container=WORKSTATIONS, enabled=False, holds_computers=True))],
        member_computers={WORKSTATIONS: 3}, blocks_inheritance=[],
    )
    values = [GpoRegistryValue(DEFAULT_DOMAIN_POLICY_GUID, "Default Domain Policy", True, None, (BASE,)),
              GpoRegistryValue(SIGN_IN_GUID, gpo_name, False, 1)]
    return snapshot(directory, sysvol(1)).model_copy(update={
        "gpo_sign_in_reset": Section[GpoSignInResetState].ok("smb:test", GpoSignInResetState(gpos_read=2,
                                                                                             values=values)),
    })


def waived(policy: Policy) -> Policy:
    waiver = Waiver(check="ad.users.contact", target=f"CN=Hana Park,{STAFF}", reason="number being fixed in HR",
                    owner="iam@corp.example.test", expires=date(2099, 1, 1))
    return policy.model_copy(update={"waivers": [waiver]})


def report_for(policy: Policy, snap: Snapshot) -> AuditReport:
    return audit(policy, snap, ExitPolicy(), today=TODAY).report




def drifted_report() -> AuditReport:
    return report_for(waived(baseline_policy(target_ous=[STAFF, SALES])), drifted_snapshot())
