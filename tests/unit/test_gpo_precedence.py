"""Group Policy precedence for the domain's minimum password age (issue 13, item 7), without a DC.

Each case is a domain where the Default Domain Policy says 0 days. Before precedence was modelled the
check read only the Default Domain Policy, so every case below where another GPO wins was a pass.
The same cases run against a real Samba DC in tests/integration/test_samba_gpo_precedence.py.
"""

from __future__ import annotations

from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.checks.base import Finding, Status
from auditor.checks.registry import all_checks, run_check, run_checks
from auditor.derive import gpo_precedence
from auditor.remediation.planner import make_plan
from auditor.snapshot.directory import GpoLink, GpoTemplate, GroupPolicy, SysvolState
from tests.unit.cases_ad import BASE, GPO_PATH, baseline_policy, compliant_directory, snapshot, sysvol

STRICT = "{AAAAAAAA-1111-2222-3333-444444444444}"
OU_ONLY = "{BBBBBBBB-1111-2222-3333-444444444444}"
STAFF = f"OU=Staff,{BASE}"


def policy_gpo(guid: str, name: str, *links: GpoLink, flags: int = 0, wmi: str | None = None) -> GroupPolicy:
    return GroupPolicy(dn=f"CN={guid},CN=Policies,CN=System,{BASE}", guid=guid, display_name=name, flags=flags,
                       links=list(links), wmi_filter=wmi)


def template(guid: str, days: int | None, error: str | None = None) -> GpoTemplate:
    return GpoTemplate(path=GPO_PATH.replace(DEFAULT_DOMAIN_POLICY_GUID, guid), gpo_guid=guid, present=True,
                       encoding="utf-16-le-bom", newline="CRLF", minimum_password_age=days, error=error,
                       content_b64=None if error else "", gpt_ini_version=1)


def audit(strict_link: GpoLink | None, strict_days: int | None = 1, *, ddp_link: GpoLink | None = None,
          flags: int = 0, wmi: str | None = None, error: str | None = None,
          extra: list[GroupPolicy] | None = None, templates: list[GpoTemplate] | None = None) -> Finding:
    ddp = policy_gpo(DEFAULT_DOMAIN_POLICY_GUID, "Default Domain Policy", ddp_link or GpoLink(container=BASE))
    gpos = [ddp] + ([policy_gpo(STRICT, "Password hardening", strict_link, flags=flags, wmi=wmi)]
                    if strict_link else []) + (extra or [])
    others = [template(STRICT, strict_days, error)] if strict_link else []
    state = compliant_directory(gpos=gpos)
    sys = sysvol(0).model_copy(update={"templates": others + (templates or [])})
    check = next(c for c in all_checks() if c.spec.id == "ad.gpo.min_password_age")
    return run_check(check, baseline_policy(), snapshot(state, sys))[0]


def test_only_the_default_domain_policy_passes() -> None:
    finding = audit(None)
    assert finding.status == Status.passed and finding.target == f"Default Domain Policy {DEFAULT_DOMAIN_POLICY_GUID}"


def test_an_enforced_domain_gpo_saying_1_beats_the_default_domain_policy() -> None:
    """The issue's wrong pass: the DDP says 0, an enforced second domain GPO says 1."""
    finding = audit(GpoLink(container=BASE, enforced=True, order=2))
    assert finding.status == Status.failed and finding.actual == 1
    assert finding.target == f"Password hardening {STRICT}"
    assert "Password hardening (enforced, link order 2 on" in (finding.reason or "")
    assert "overridden: Default Domain Policy (link order 1" in (finding.reason or "")
    ranks = [e.field for e in finding.evidence if e.field.startswith("MinimumPasswordAge, rank")]
    assert ranks[0].startswith("MinimumPasswordAge, rank 1: Password hardening (enforced")
    assert ranks[1].startswith("MinimumPasswordAge, rank 2: Default Domain Policy")


def test_link_order_decides_between_unenforced_domain_gpos() -> None:
    assert audit(GpoLink(container=BASE, order=1), ddp_link=GpoLink(container=BASE, order=2)).status == Status.failed
    assert audit(GpoLink(container=BASE, order=2), ddp_link=GpoLink(container=BASE, order=1)).status == Status.passed


def test_an_ou_linked_password_gpo_does_not_touch_domain_accounts_and_is_listed() -> None:
    finding = audit(GpoLink(container=STAFF, enforced=True))
    assert finding.status == Status.passed
    [listed] = [e for e in finding.evidence if "linked to OUs only" in e.field]
    assert listed.value == 1 and "Password hardening" in listed.field


def test_disabled_links_and_disabled_computer_settings_are_ignored() -> None:
    assert audit(GpoLink(container=BASE, enforced=True, enabled=False)).status == Status.passed
    assert audit(GpoLink(container=BASE, enforced=True), flags=2).status == Status.passed
    assert audit(GpoLink(container=BASE, enforced=True), flags=1).status == Status.failed  # only user settings off


def test_an_unread_gpo_above_the_winner_is_unknown_and_one_below_is_not() -> None:
    above = audit(GpoLink(container=BASE, enforced=True), None, error="GptTmpl.inf is not readable: bad line")
    assert above.status == Status.unknown and "bad line" in (above.reason or "")
    below = audit(GpoLink(container=BASE, order=2), None, error="GptTmpl.inf is not readable: bad line")
    assert below.status == Status.passed


def test_a_linked_gpo_missing_from_an_old_snapshot_is_not_read() -> None:
    state = compliant_directory(gpos=[
        policy_gpo(DEFAULT_DOMAIN_POLICY_GUID, "Default Domain Policy", GpoLink(container=BASE, order=2)),
        policy_gpo(STRICT, "Password hardening", GpoLink(container=BASE, order=1))])
    check = next(c for c in all_checks() if c.spec.id == "ad.gpo.min_password_age")
    finding = run_check(check, baseline_policy(), snapshot(state, sysvol(0)))[0]
    assert finding.status == Status.unknown and "was not read" in (finding.reason or "")


def test_a_wmi_filtered_winner_is_not_certain_and_security_filtering_is_spelled_out() -> None:
    filtered = audit(GpoLink(container=BASE, enforced=True), 1, wmi="[corp.example.test;{F1};0]")
    assert filtered.status == Status.unknown and "WMI filter" in (filtered.reason or "")
    same = audit(GpoLink(container=BASE, enforced=True), 0, wmi="[corp.example.test;{F1};0]")
    assert same.status == Status.passed  # either way 0 days
    winner = audit(GpoLink(container=BASE, enforced=True), 0)
    [note] = [e for e in winner.evidence if e.field == "not evaluated"]
    assert "security filtering" in note.value and "the next GPO says the same (0 day(s))" in note.value
    loses = audit(GpoLink(container=BASE, order=2), 3)
    [note] = [e for e in loses.evidence if e.field == "not evaluated"]
    assert "Password hardening (3 day(s)) would apply" in note.value


def test_no_gpo_linked_to_the_domain_head_fails() -> None:
    finding = audit(None, ddp_link=GpoLink(container=STAFF))
    assert finding.status == Status.failed and "no GPO is linked to the domain head" in (finding.reason or "")


def test_the_plan_rewrites_the_winning_gpo_not_the_default_domain_policy() -> None:
    ddp = policy_gpo(DEFAULT_DOMAIN_POLICY_GUID, "Default Domain Policy", GpoLink(container=BASE, order=1))
    strict = policy_gpo(STRICT, "Password hardening", GpoLink(container=BASE, enforced=True, order=2))
    state = compliant_directory(gpos=[ddp, strict])
    strict_template = template(STRICT, 1).model_copy(update={"content_b64": "W1N5c3RlbSBBY2Nlc3NdDQo="})
    sys = sysvol(0).model_copy(update={"templates": [strict_template]})
    snap = snapshot(state, sys)
    plan = make_plan(baseline_policy(), snap, run_checks(baseline_policy(), snap))
    sysvol_changes = [c for c in plan.changes if c.kind == "sysvol.gpttmpl"]
    assert [c.gpo_guid for c in sysvol_changes] == [STRICT]
    assert sysvol_changes[0].setting.old == 1 and sysvol_changes[0].setting.new == 0


def test_scopes_of_stop_at_cn_containers() -> None:
    assert gpo_precedence.scopes_of(f"CN=Computers,{BASE}", BASE) == [BASE]
    assert gpo_precedence.scopes_of(f"OU=Laptops,OU=Workstations,{BASE}", BASE) == [
        BASE, f"OU=Workstations,{BASE}", f"OU=Laptops,OU=Workstations,{BASE}"]
    assert gpo_precedence.scopes_of("DC=other,DC=test", BASE) == []


def test_sysvol_state_indexes_every_template() -> None:
    state = SysvolState(path=GPO_PATH, gpo_guid=DEFAULT_DOMAIN_POLICY_GUID, present=True,
                        templates=[template(STRICT.lower(), 1)])
    assert set(state.all_templates()) == {DEFAULT_DOMAIN_POLICY_GUID, STRICT}
