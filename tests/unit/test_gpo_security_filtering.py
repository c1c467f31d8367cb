"""GPO security filtering without a DC ([MS-GPOL] 3.2.5.1.6): which GPOs the Apply Group Policy right lets reach the
domain controllers (for the domain's password policy) and the member computers. The same rules against a real Samba
DC: tests/integration/test_samba_gpo_filtering.py."""

from __future__ import annotations

from auditor.ad.rights import APPLY_GROUP_POLICY, AccessMask
from auditor.ad.sd import AceFact, DaclFacts
from auditor.ad.wellknown import (
    AUTHENTICATED_USERS,
    DEFAULT_DOMAIN_POLICY_GUID,
    ENTERPRISE_DOMAIN_CONTROLLERS,
    EVERYONE,
)
from auditor.checks.base import Finding, Status
from auditor.checks.registry import all_checks, run_check
from auditor.derive import gpo_precedence
from auditor.snapshot.directory import ComputerToken, GpoLink, GroupPolicy
from tests.unit.cases_ad import BASE, DOMAIN_SID, baseline_policy, compliant_directory, snapshot
from tests.unit.test_gpo_precedence import STRICT, policy_gpo, sysvol, template

DCS = f"OU=Domain Controllers,{BASE}"
DC_GROUP = f"{DOMAIN_SID}-516"
SALES = f"{DOMAIN_SID}-1105"


def apply_ace(sid: str, allow: bool = True) -> AceFact:
    return AceFact(allow=allow, sid=sid, mask=AccessMask.CONTROL_ACCESS, object_type=APPLY_GROUP_POLICY.guid)


def read_only(sid: str) -> AceFact:
    return AceFact(allow=True, sid=sid, mask=AccessMask.READ_PROPERTY | AccessMask.LIST_CHILDREN, flags=0x02)


DEFAULT = DaclFacts(protected=False, aces=(read_only(AUTHENTICATED_USERS), apply_ace(AUTHENTICATED_USERS)))
FILTERED_TO_SALES = DaclFacts(protected=False, aces=(read_only(AUTHENTICATED_USERS), apply_ace(SALES)))


def dc_token(*extra: str, computers: int = 1) -> ComputerToken:
    sids = sorted({EVERYONE, AUTHENTICATED_USERS, ENTERPRISE_DOMAIN_CONTROLLERS, DC_GROUP, *extra})
    return ComputerToken(container=DCS, computers=computers, sids=sids)


def age(strict_dacl: DaclFacts | None, tokens: list[ComputerToken] | None, dacl_error: str | None = None) -> Finding:
    ddp = policy_gpo(DEFAULT_DOMAIN_POLICY_GUID, "Default Domain Policy", GpoLink(container=BASE, order=2))
    ddp = ddp.model_copy(update={"dacl": DEFAULT})
    strict: GroupPolicy = policy_gpo(STRICT, "Password hardening", GpoLink(container=BASE, order=1))
    strict = strict.model_copy(update={"dacl": strict_dacl, "dacl_error": dacl_error})
    member_tokens = [] if tokens is not None else None
    state = compliant_directory(gpos=[ddp, strict], dc_tokens=tokens, computer_tokens=member_tokens)
    sys = sysvol(0).model_copy(update={"templates": [template(STRICT, 2)]})
    check = next(c for c in all_checks() if c.spec.id == "ad.gpo.min_password_age")
    return run_check(check, baseline_policy(), snapshot(state, sys))[0]


def test_a_gpo_filtered_away_from_the_domain_controllers_drops_out() -> None:
    finding = age(FILTERED_TO_SALES, [dc_token()])
    # before: a fail, the filtered GPO's 2 days at link order 1 won
    assert finding.status == Status.passed and finding.actual == 0, finding.reason
    assert "Password hardening (link order 1 on DC=corp" in finding.reason
    assert "does not apply: Apply Group Policy does not reach the domain controllers" in finding.reason
    [note] = [e for e in finding.evidence if e.field == "not evaluated"]
    assert "security filtering" not in note.value  # evaluated now: only sites (and WMI) are left out


def test_the_default_descriptor_reaches_the_domain_controllers() -> None:
    assert age(DEFAULT, [dc_token()]).status == Status.failed


def test_a_deny_ace_for_a_group_of_the_dcs_is_honoured() -> None:
    denied = DaclFacts(protected=False, aces=(apply_ace(DC_GROUP, allow=False), *DEFAULT.aces))
    finding = age(denied, [dc_token()])
    assert finding.status == Status.passed
    assert f"denied by (OD;;CR;{APPLY_GROUP_POLICY.guid};;{DC_GROUP})" in finding.reason


def test_a_gpo_reaching_some_domain_controllers_only_makes_the_verdict_unknown() -> None:
    finding = age(FILTERED_TO_SALES, [dc_token(), dc_token(SALES)])
    assert finding.status == Status.unknown
    assert "Apply Group Policy reaches 1 of 2 of the domain controllers" in finding.reason


def test_an_unread_gpo_dacl_is_not_certain() -> None:
    finding = age(None, [dc_token()], dacl_error="the DC returned no nTSecurityDescriptor")
    assert finding.status == Status.unknown and "its DACL was not read" in finding.reason


def test_an_older_snapshot_says_security_filtering_is_not_evaluated() -> None:
    finding = age(None, None)
    assert finding.status == Status.failed  # as before: the DACL was never read
    [note] = [e for e in finding.evidence if e.field == "not evaluated"]
    assert note.value.startswith(gpo_precedence.NOT_EVALUATED)


def test_the_msWMI_Parm2_query_is_shown_as_written() -> None:
    from auditor.readers.gpo_filtering import wmi_filter_id, wql_queries

    query = 'SELECT * FROM Win32_OperatingSystem WHERE ProductType = "1"'
    assert wql_queries(f"1;3;10;{len(query)};WQL;root\\CIMv2;{query};") == f"root\\CIMv2: {query}"
    assert wql_queries("garbage") == "garbage"
    assert wmi_filter_id("[corp.example.test;{0C2B4D3E-1111-2222-3333-444455556666};0]") == \
        "{0C2B4D3E-1111-2222-3333-444455556666}"
    assert wmi_filter_id("[corp.example.test]") is None
