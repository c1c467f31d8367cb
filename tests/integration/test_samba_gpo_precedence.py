"""Group Policy precedence on a real Samba DC (issue 13, item 7): the shipped `traps` lab domain.

`traps` is the compliant baseline domain plus what a Default-Domain-Policy-only, precedence-blind reading
gets wrong:
- `Password hardening`, linked to the domain head *enforced* at link order 2 (after the Default Domain
  Policy, which says 0 days), sets MinimumPasswordAge = 1. Before precedence this was a **pass**.
- `Staff laptops local accounts`, linked to OU=Staff, sets 3 days: it changes local accounts only and
  must not fail.
- The sign-in screen GPO carries AllowPasswordReset = 1 in Preferences (Registry.xml), linked to
  OU=Workstations; OU=Kiosks below it blocks inheritance, so its two computers never get the link.
  Before precedence this was a **pass** ("a linked GPO turns it on").

Each hand change an admin would make (unenforce, reorder, disable the link, turn the GPO's computer
settings off, unblock inheritance, enforce the sign-in link) moves the verdict as Windows would, and the
remediation plan rewrites the GPO that wins, not the Default Domain Policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samba_fixtures import baseline_policy, collect_ad, running, settings

from auditor.ad import gpttmpl
from auditor.checks.base import Finding, Status
from auditor.checks.registry import all_checks, run_check, run_checks
from auditor.lab_domain import domain_seed
from auditor.lab_domain.samba import SambaDC
from auditor.remediation.apply import Targets
from auditor.remediation.planner import make_plan
from auditor.snapshot.models import Section, Snapshot
from auditor.snapshot.tenant import IntuneSignInResetState
from tests.helpers.remediation import apply

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
STAFF, WORKSTATIONS = f"OU=Staff,{BASE}", f"OU=Workstations,{BASE}"
KIOSKS = f"{domain_seed.KIOSKS},{BASE}"


@pytest.fixture(scope="module", name="traps_dc")
def traps_dc_fixture() -> Iterator[SambaDC]:
    yield from running("traps")


def snapshot_of(dc: SambaDC) -> Snapshot:
    snapshot = collect_ad(dc, baseline_policy())
    no_intune = Section[IntuneSignInResetState].ok("graph:test", IntuneSignInResetState(configurations_read=0))
    return snapshot.model_copy(update={"intune_sign_in_reset": no_intune})


def run(snapshot: Snapshot, check_id: str) -> list[Finding]:
    check = next(c for c in all_checks() if c.spec.id == check_id)
    return run_check(check, baseline_policy(), snapshot)


def gpo_age(snapshot: Snapshot) -> Finding:
    return next(f for f in run(snapshot, "ad.gpo.min_password_age") if f.target != BASE)


def guid(snapshot: Snapshot, name: str) -> str:
    return next(g.guid for g in snapshot.directory.value.gpos if g.display_name == name)


def set_link(dc: SambaDC, container: str, gpo_guid: str, options: int, *, last: bool | None = None) -> None:
    """Rewrite one gPLink entry's options; `last` moves it to the end (link order 1) or the front."""
    from ldap3 import MODIFY_REPLACE

    conn = domain_seed.admin_connection(dc)
    try:
        entries = [e + "]" for e in domain_seed.read_gp_link(conn, container).split("]") if e]
        mine = next(e for e in entries if gpo_guid.lower() in e.lower())
        entry = mine.rsplit(";", 1)[0] + f";{options}]"
        others = [e for e in entries if e is not mine]
        index = entries.index(mine)
        if last is None:
            ordered = [*entries[:index], entry, *entries[index + 1:]]
        else:
            ordered = [*others, entry] if last else [entry, *others]
        assert conn.modify(container, {"gPLink": [(MODIFY_REPLACE, ["".join(ordered)])]}), conn.result
    finally:
        conn.unbind()


def set_flags(dc: SambaDC, gpo_guid: str, flags: int) -> None:
    from ldap3 import MODIFY_REPLACE

    conn = domain_seed.admin_connection(dc)
    try:
        assert conn.modify(f"CN={gpo_guid},CN=Policies,CN=System,{BASE}", {"flags": [(MODIFY_REPLACE, [str(flags)])]})
    finally:
        conn.unbind()


def test_the_enforced_domain_gpo_wins_and_every_source_is_listed(traps_dc: SambaDC) -> None:
    snapshot = snapshot_of(traps_dc)
    state = snapshot.directory.value
    strict = guid(snapshot, domain_seed.PASSWORD_GPO)
    link = next(link for g in state.gpos if g.guid == strict for link in g.links)
    assert (link.container, link.enforced, link.order) == (BASE, True, 2)  # after the Default Domain Policy
    templates = snapshot.sysvol.value.all_templates()
    assert templates[strict].minimum_password_age == 1
    assert templates[guid(snapshot, domain_seed.OU_PASSWORD_GPO)].minimum_password_age == 3
    assert snapshot.sysvol.value.minimum_password_age == 0  # the Default Domain Policy alone would pass

    finding = gpo_age(snapshot)
    assert finding.status == Status.failed and finding.actual == 1, finding.reason
    assert finding.target == f"{domain_seed.PASSWORD_GPO} {strict}"
    assert "overridden: Default Domain Policy (link order 1" in (finding.reason or "")
    fields = [e.field for e in finding.evidence]
    assert any(f.startswith("MinimumPasswordAge, rank 1: Password hardening (enforced, link order 2") for f in fields)
    assert any(f.startswith("MinimumPasswordAge, rank 2: Default Domain Policy (link order 1") for f in fields)
    ou_only = [e for e in finding.evidence if "linked to OUs only" in e.field]
    assert [(domain_seed.OU_PASSWORD_GPO in e.field, e.value) for e in ou_only] == [(True, 3)]


def test_the_plan_rewrites_the_winning_gpo_and_the_audit_then_passes(tmp_path: Path) -> None:
    for dc in running("traps"):
        policy = baseline_policy()
        snapshot = collect_ad(dc, policy)
        plan = make_plan(policy, snapshot, run_checks(policy, snapshot))
        [change] = [c for c in plan.changes if c.kind == "sysvol.gpttmpl"]
        strict = guid(snapshot, domain_seed.PASSWORD_GPO)
        assert change.gpo_guid == strict and (change.setting.old, change.setting.new) == (1, 0)
        result = apply(plan, Targets(ad=settings(dc)), policy=policy, yes=True, backup_path=tmp_path / "backup.json")
        assert result.outcome == "applied", result.message
        after = collect_ad(dc, policy)
        assert gpo_age(after).status == Status.passed
        assert after.sysvol.value.all_templates()[strict].minimum_password_age == 0


def test_hand_changes_to_the_password_gpo_move_the_verdict(traps_dc: SambaDC) -> None:
    strict = guid(snapshot_of(traps_dc), domain_seed.PASSWORD_GPO)
    set_link(traps_dc, BASE, strict, 0)  # not enforced: the Default Domain Policy (link order 1) wins
    assert gpo_age(snapshot_of(traps_dc)).status == Status.passed
    set_link(traps_dc, BASE, strict, 0, last=True)  # moved to link order 1
    moved = snapshot_of(traps_dc)
    assert gpo_age(moved).status == Status.failed
    assert next(link for g in moved.directory.value.gpos if g.guid == strict for link in g.links).order == 1
    set_link(traps_dc, BASE, strict, 1)  # link disabled
    assert gpo_age(snapshot_of(traps_dc)).status == Status.passed
    set_link(traps_dc, BASE, strict, 2)  # enforced again, but the GPO's computer settings are off
    set_flags(traps_dc, strict, 2)
    assert gpo_age(snapshot_of(traps_dc)).status == Status.passed
    set_flags(traps_dc, strict, 1)  # only its user settings off: it applies
    assert gpo_age(snapshot_of(traps_dc)).status == Status.failed


def test_kiosks_blocking_inheritance_miss_the_sign_in_screen_setting(traps_dc: SambaDC) -> None:
    snapshot = snapshot_of(traps_dc)
    state = snapshot.directory.value
    assert state.blocks_inheritance == [KIOSKS]
    assert state.member_computers == {WORKSTATIONS: domain_seed.WORKSTATIONS, KIOSKS: domain_seed.KIOSK_COMPUTERS}
    sign_in = next(v for v in snapshot.gpo_sign_in_reset.value.values if v.display_name == domain_seed.SIGN_IN_GPO)
    assert (sign_in.value, sign_in.source) == (1, r"Machine\Preferences\Registry\Registry.xml")
    [finding] = run(snapshot, "client.sign_in_reset")
    assert finding.status == Status.failed
    assert finding.actual["computers"] == {"on": domain_seed.WORKSTATIONS, "off": 2, "unknown": 0}
    assert f"2 of 8 member computer(s) without it: {KIOSKS} (2: no GPO sets it)" in (finding.reason or "")

    sign_in_guid = guid(snapshot, domain_seed.SIGN_IN_GPO)
    set_link(traps_dc, WORKSTATIONS, sign_in_guid, 2)  # enforced: block inheritance cannot stop it
    [enforced] = run(snapshot_of(traps_dc), "client.sign_in_reset")
    assert enforced.status == Status.passed and enforced.actual["computers"]["on"] == 8
    set_link(traps_dc, WORKSTATIONS, sign_in_guid, 0)
    conn = domain_seed.admin_connection(traps_dc)
    try:
        domain_seed.block_inheritance(conn, KIOSKS, blocked=False)
    finally:
        conn.unbind()
    [unblocked] = run(snapshot_of(traps_dc), "client.sign_in_reset")
    assert unblocked.status == Status.passed


def test_an_unreadable_template_above_the_winner_is_unknown(traps_dc: SambaDC) -> None:
    import smbclient

    strict = guid(snapshot_of(traps_dc), domain_seed.PASSWORD_GPO)
    set_link(traps_dc, BASE, strict, 2)
    set_flags(traps_dc, strict, 0)
    cache: dict[str, Any] = {}
    smbclient.register_session(traps_dc.address, username=traps_dc.admin_upn, password=traps_dc.admin_password,
                               auth_protocol="ntlm", connection_cache=cache)
    try:
        path = rf"\\{traps_dc.address}\sysvol\{traps_dc.dns_domain}\Policies\{strict}\{gpttmpl.GPO_FILE}"
        with smbclient.open_file(path, mode="wb", connection_cache=cache) as handle:
            handle.write(b"\xff\xfe" + "[System Access]\r\nMinimumPasswordAge\r\n".encode("utf-16-le")[:-1])
    finally:
        smbclient.reset_connection_cache(connection_cache=cache)
    finding = gpo_age(snapshot_of(traps_dc))
    assert finding.status == Status.unknown and domain_seed.PASSWORD_GPO in (finding.reason or "")
