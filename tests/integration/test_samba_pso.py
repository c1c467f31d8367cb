"""Fine-grained password policies: the reader asks the DC for msDS-ResultantPSO only for users a PSO
can reach (directly, through nested groups, as their primary group); the answer must equal the
DC's for every user."""

from __future__ import annotations

import pytest
from samba_fixtures import ad_outcomes, baseline_policy, collect_ad, demo_dc_fixture, settings  # noqa: F401

from auditor.lab_domain.domain_seed import Seeder
from auditor.lab_domain.samba import SambaDC
from auditor.readers.directory import _Reader, connect, read_directory

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
STAFF = f"OU=Staff,{BASE}"


@pytest.fixture(scope="module")
def psos_everywhere(demo_dc: SambaDC) -> SambaDC:
    from ldap3 import MODIFY_ADD, MODIFY_REPLACE

    seeder = Seeder(demo_dc, "demo")  # its helpers, not its run()
    ann, ben, cara, dev = (f"CN={n},{STAFF}" for n in ("Ann Lee", "Ben Singh", "Cara Zeller", "Dev Rossi"))
    inner = seeder.add_group("CN=GG-Inner,OU=Groups", [ben], "nested member")
    outer = seeder.add_group("CN=GG-Outer,OU=Groups", [inner], "holds GG-Inner")
    primary = seeder.add_group("CN=GG-Primary,OU=Groups", [cara], "Cara's primary group")
    seeder.modify(cara, {"primaryGroupID": [(MODIFY_REPLACE, [seeder.sid_of(primary).rsplit("-", 1)[1]])]})
    seeder.add_pso("CN=PSO-Direct", precedence=1, min_age_days=2, applies_to=[ann])
    seeder.add_pso("CN=PSO-Nested", precedence=3, min_age_days=3, applies_to=[outer])
    seeder.add_pso("CN=PSO-Primary", precedence=4, min_age_days=4, applies_to=[primary])
    # Dev is in two groups with PSOs: the lower precedence wins
    seeder.modify(inner, {"member": [(MODIFY_ADD, [dev])]})
    seeder.add_pso("CN=PSO-Loser", precedence=50, min_age_days=5,
                   applies_to=[seeder.add_group("CN=GG-Loser,OU=Groups", [dev], "low priority")])
    seeder.conn.unbind()
    return demo_dc


def test_targeted_resultant_pso_equals_the_dcs_answer_for_every_user(psos_everywhere: SambaDC) -> None:
    policy = baseline_policy()
    state = read_directory(settings(psos_everywhere), policy.directory).value
    assert state is not None
    targeted = {u.dn: u.resultant_pso for u in state.users}
    conn = connect(settings(psos_everywhere))
    try:
        reader = _Reader(conn, settings(psos_everywhere), policy.directory)
        token = set(state.service_account.token_sids)
        everyone, _ = reader.users(state.base_dn, state.domain_sid, token, None)  # asks the DC for all users
    finally:
        conn.unbind()
    assert targeted == {u.dn: u.resultant_pso for u in everyone}

    def pso(name: str) -> str:
        return f"CN={name},CN=Password Settings Container,CN=System,{BASE}"

    assert targeted[f"CN=Ann Lee,{STAFF}"] == pso("PSO-Direct")
    assert targeted[f"CN=Ben Singh,{STAFF}"] == pso("PSO-Nested")
    assert targeted[f"CN=Cara Zeller,{STAFF}"] == pso("PSO-Primary")
    assert targeted[f"CN=Dev Rossi,{STAFF}"] == pso("PSO-Nested")
    assert targeted[f"CN=Eli Young,{STAFF}"] is None
    assert targeted[f"CN=Jade Young,OU=Sales,{BASE}"] == pso("PSO-Sales")


def test_fgpp_check_names_each_winning_policy(psos_everywhere: SambaDC) -> None:
    policy = baseline_policy()
    outcomes = ad_outcomes(policy, collect_ad(psos_everywhere, policy))
    fgpp = {target.split(",")[0]: status for (check, target, _), status in outcomes.items()
            if check == "ad.fgpp.min_password_age"}
    assert fgpp == {"CN=PSO-Direct": "fail", "CN=PSO-Nested": "fail", "CN=PSO-Primary": "fail",
                    "CN=PSO-Sales": "fail"}


def test_group_walk_matches_token_groups(demo_dc: SambaDC) -> None:
    """When tokenGroups is not readable the reader walks memberships; both give the same groups."""
    policy = baseline_policy()
    state = read_directory(settings(demo_dc), policy.directory).value
    account = state.service_account
    conn = connect(settings(demo_dc))
    try:
        reader = _Reader(conn, settings(demo_dc), policy.directory)
        walked = reader.nested_group_sids(state.base_dn, account.dn, state.domain_sid, 513)
    finally:
        conn.unbind()
    assert sorted(walked) == sorted(g.sid for g in account.groups)
