"""Hostile input for ad.acl.reach_beyond (issue #35): a partial read. A container outside the target OUs, or a user
below a grant point, that the DC returns without its descriptor (the bind account may not read it) is not known to
be out of reach: the verdict is unknown, never the pass "no container grants it" / "it reaches no user"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.ad.rights import RESET_PASSWORD
from auditor.ad.sd import canonical_ace, with_aces
from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check
from auditor.readers.sync_reach import read_reach_beyond
from auditor.snapshot.directory import ServiceAccount

from .cases_ad import ACCOUNT_SID, BASE, DOMAIN_SID, baseline_policy
from .cases_seams import express_reach, seam_directory, seam_snapshot
from .test_parser_properties import real_descriptors

CHECK = check_by_id("ad.acl.reach_beyond")
TARGET = f"OU=Staff,{BASE}"
SERVICE = f"OU=Service Accounts,{BASE}"
ACCOUNT = ServiceAccount(dn=f"CN=MSOL_1,CN=Users,{BASE}", sam_account_name="MSOL_1", sid=ACCOUNT_SID,
                         user_account_control=0x200, token_sids=[ACCOUNT_SID, "S-1-1-0", "S-1-5-11"])


def _plain() -> bytes:
    return real_descriptors()[0]


def _granting() -> bytes:
    return with_aces(_plain(), [canonical_ace(ACCOUNT_SID, RESET_PASSWORD)])


class _Reader:
    """The two searches read_reach_beyond makes (DirectoryReader.paged, privileged_groups), answered from a table:
    objects listed with None come back without nTSecurityDescriptor, as a DC sends an attribute the bind account
    may not read."""

    conn: Any = None

    def __init__(self, containers: dict[str, bytes | None], users: dict[str, bytes | None]) -> None:
        self.containers, self.users = containers, users

    def paged(self, base: str, search_filter: str, attributes: list[str], *, scope: str = "SUBTREE",
              sd: bool = False, sd_flags: int = 0x04) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
        table = self.containers if "organizationalUnit" in search_filter else (
            {} if "objectClass=container" in search_filter else self.users)
        for dn, blob in table.items():
            if dn.lower().endswith(base.lower()):
                yield dn, ({"nTSecurityDescriptor": [blob]} if blob is not None else {})

    def privileged_groups(self, base_dn: str, domain_sid: str) -> dict[str, str]:
        return {}

    def base(self, dn: str, attributes: list[str], *, sd: bool = False) -> dict[str, list[bytes]] | None:
        raise AssertionError("not asked")

    def members(self, group: str) -> list[str]:
        raise AssertionError("not asked")


def _read(containers: dict[str, bytes | None], users: dict[str, bytes | None], head: bytes) -> Any:
    from auditor.ad.sd import parse_dacl

    return read_reach_beyond(_Reader(containers, users), BASE, DOMAIN_SID, ACCOUNT, [TARGET], parse_dacl(head))


def test_a_container_returned_without_its_descriptor_is_not_read_as_no_grant() -> None:
    reach = _read({TARGET: _plain(), SERVICE: None}, {}, _plain())
    assert reach.grant_points == [] and reach.unread_containers == [SERVICE]
    (finding,) = run_check(CHECK, baseline_policy(), seam_snapshot(seam_directory(reach_beyond=reach)))
    assert finding.status == Status.unknown and SERVICE in (finding.reason or "")


def test_a_user_below_a_grant_point_returned_without_its_descriptor_is_unknown() -> None:
    svc = f"CN=svc-sql,{SERVICE}"
    reach = _read({TARGET: _plain(), SERVICE: _plain()}, {svc: None, f"CN=Ann,{TARGET}": None}, _granting())
    assert [p.dn for p in reach.grant_points] == [BASE] and reach.users == [] and reach.unread_users == [svc]
    (finding,) = run_check(CHECK, baseline_policy(), seam_snapshot(seam_directory(reach_beyond=reach)))
    assert finding.status == Status.unknown and "svc-sql" in (finding.reason or "")


def test_the_same_reads_with_every_descriptor_still_pass_or_fail_as_before() -> None:
    svc = f"CN=svc-sql,{SERVICE}"
    clean = _read({TARGET: _plain(), SERVICE: _plain()}, {svc: _plain()}, _plain())
    (finding,) = run_check(CHECK, baseline_policy(), seam_snapshot(seam_directory(reach_beyond=clean)))
    assert finding.status == Status.passed
    reached = _read({TARGET: _plain(), SERVICE: _plain()}, {svc: with_aces(_plain(), [
        canonical_ace(ACCOUNT_SID, RESET_PASSWORD, inherit_to=None)])}, _granting())
    (finding,) = run_check(CHECK, baseline_policy(), seam_snapshot(seam_directory(reach_beyond=reached)))
    assert finding.status == Status.failed and "svc-sql" in (finding.reason or "")


def test_an_unread_user_does_not_hide_a_failure_beside_it() -> None:
    reach = express_reach().model_copy(update={"unread_users": [f"CN=svc-x,{SERVICE}"]})
    (finding,) = run_check(CHECK, baseline_policy(), seam_snapshot(seam_directory(reach_beyond=reach)))
    assert finding.status == Status.failed and finding.actual["descriptor not read"] == [f"CN=svc-x,{SERVICE}"]


# -- hybrid.lockout: the fine-grained policies not visible to the bind account -----------------------------------

def test_lockout_with_the_password_settings_container_unreadable_is_unknown_never_pass() -> None:
    """Only Domain Admins read PSOs by default: with the container hidden no user shows a winning PSO, yet one may
    lock in-scope users out after 3 attempts. ad.fgpp.min_password_age already says unknown here."""
    users = [u.model_copy(update={"resultant_pso": None}) for u in seam_directory().users]
    hidden = seam_directory(users=users, password_settings=[], password_settings_readable=False)
    found = run_check(check_by_id("hybrid.lockout"), baseline_policy(), seam_snapshot(hidden))
    assert Status.unknown in {f.status for f in found}
    unknown = next(f for f in found if f.status == Status.unknown)
    assert "Password Settings Container" in (unknown.reason or "")
    readable = seam_directory(users=users)
    assert {f.status for f in run_check(check_by_id("hybrid.lockout"), baseline_policy(),
                                        seam_snapshot(readable))} == {Status.passed}


# -- last_change: the SSPR audit log asked for but refused -------------------------------------------------------

def test_a_cloud_finding_whose_audit_log_was_refused_says_last_change_could_not_be_read() -> None:
    from auditor.derive.attribution import attribute, last_changes
    from auditor.findings import Finding, Severity
    from auditor.snapshot.models import Section, Snapshot
    from auditor.snapshot.tenant import SsprActivityState

    refused = Snapshot(tool_version="test", origin="test", sspr_activity=Section[SsprActivityState].failed(
        "graph:GET /auditLogs/directoryAudits", "403 Forbidden: AuditLog.Read.All"))
    finding = Finding(check="sspr.gates", title="t", status=Status.failed, severity=Severity.medium, target="tenant")
    out = attribute(finding, (), "sspr_settings", refused)
    [change] = last_changes(out)
    assert change.error is not None and "403 Forbidden" in change.error


# -- registration.temporary_access_pass: the method's configuration absent from the answer -------------------------

def test_a_methods_policy_without_the_tap_configuration_is_unknown_not_absent() -> None:
    """GET /policies/authenticationMethodsPolicy expands every method's configuration (Microsoft's own example lists
    TemporaryAccessPass: tests/fixtures/real/graph/authenticationmethodspolicy-get.json); a response without it is
    not a TAP that reaches nobody."""
    from auditor.snapshot.models import MethodsPolicyState

    from .cases_registration_ca import CASES as CA_CASES

    policy, snap = CA_CASES["registration.temporary_access_pass"]["fail"]()
    methods = snap.methods_policy
    assert methods is not None and isinstance(methods.value, MethodsPolicyState)
    without = methods.value.model_copy(update={"configurations": [
        c for c in methods.value.configurations if c.id.lower() != "temporaryaccesspass"]})
    snap = snap.model_copy(update={"methods_policy": methods.model_copy(update={"value": without})})
    found = run_check(check_by_id("registration.temporary_access_pass"), policy, snap)
    assert {f.status for f in found} == {Status.unknown}
    assert "TemporaryAccessPass" in (found[0].reason or "")
