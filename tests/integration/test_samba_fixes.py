"""Fixing one planted misconfiguration by hand turns exactly that finding to pass.

Each test reads the demo domain, applies one fix the way an admin would (samba-tool, editing
the GPO file over SMB, an LDAP modify), reads again, and compares every AD finding: only the
fixed one may change. The module works on its own clone of the demo domain.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from samba_fixtures import ad_outcomes, baseline_policy, collect_ad, demo_dc_fixture  # noqa: F401

from auditor.lab_domain.domain_seed import admin_connection, read_descriptor, write_default_domain_policy_template
from auditor.lab_domain.samba import SambaDC

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
STAFF, SALES = f"OU=Staff,{BASE}", f"OU=Sales,{BASE}"
GPO = "Default Domain Policy {31B2F340-016D-11D2-945F-00C04FB984F9}"
PSO_SALES = f"CN=PSO-Sales,CN=Password Settings Container,CN=System,{BASE}"
AGE = "directory.password_age.minimum_days"


def changes_after(dc: SambaDC, fix: Callable[[], object]) -> dict[tuple[str, str, str], tuple[str | None, str | None]]:
    policy = baseline_policy()
    before = ad_outcomes(policy, collect_ad(dc, policy))
    fix()
    after = ad_outcomes(policy, collect_ad(dc, policy))
    return {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_granting_the_missing_ace_with_dsacl_fixes_that_right_only(demo_dc: SambaDC) -> None:
    policy = baseline_policy()
    account = collect_ad(demo_dc, policy).directory.value.service_account
    group = next(g for g in account.groups if g.name == "GG-Writeback-Delegation")
    sddl = f"(OA;CIIO;RPWP;bf967a0a-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;{group.sid})"
    changed = changes_after(demo_dc, lambda: demo_dc.samba_tool("dsacl", "set", f"--objectdn={SALES}",
                                                                f"--sddl={sddl}"))
    assert changed == {("ad.acl.writeback_rights", SALES, "directory.rights.write_pwd_last_set"): ("fail", "pass")}


def test_domain_min_pwd_age_zero_with_samba_tool_fixes_the_domain_value_only(demo_dc: SambaDC) -> None:
    changed = changes_after(demo_dc, lambda: demo_dc.samba_tool("domain", "passwordsettings", "set",
                                                                "--min-pwd-age=0"))
    assert changed == {("ad.gpo.min_password_age", BASE, AGE): ("fail", "pass")}


def test_editing_the_gpo_file_fixes_the_gpo_value_only(demo_dc: SambaDC) -> None:
    changed = changes_after(demo_dc, lambda: write_default_domain_policy_template(demo_dc,
                                                                                minimum_password_age_days=0))
    assert changed == {("ad.gpo.min_password_age", GPO, AGE): ("fail", "pass")}


def test_pso_min_age_zero_with_samba_tool_fixes_that_policy_only(demo_dc: SambaDC) -> None:
    changed = changes_after(demo_dc, lambda: demo_dc.samba_tool("domain", "passwordsettings", "pso", "set",
                                                                "PSO-Sales", "--min-pwd-age=0"))
    assert changed == {("ad.fgpp.min_password_age", PSO_SALES, AGE): ("fail", "pass")}


def test_setting_a_password_clears_the_temporary_password_finding_only(demo_dc: SambaDC) -> None:
    changed = changes_after(demo_dc, lambda: demo_dc.samba_tool("user", "setpassword", "tess.temp",
                                                                "--newpassword=Fixed-Passw0rd!42"))
    # the only failing user was Tess: the check collapses to one passing summary
    tess = ("ad.users.temporary_password", f"CN=Tess Temp,{STAFF}", "directory.users.allow_temporary_password")
    assert changed.pop(tess) == ("fail", None)
    assert list(changed.values()) == [(None, "pass")]
    assert next(iter(changed))[0] == "ad.users.temporary_password"


def test_enabling_inheritance_on_the_user_fixes_its_coverage_only(demo_dc: SambaDC) -> None:
    nora = f"CN=Nora Quinn,{STAFF}"

    def enable_inheritance() -> None:
        from ldap3 import MODIFY_REPLACE
        from ldap3.protocol.microsoft import security_descriptor_control
        from winacl.dtyp.security_descriptor import SE_SACL, SECURITY_DESCRIPTOR

        conn = admin_connection(demo_dc)
        sd = SECURITY_DESCRIPTOR.from_bytes(read_descriptor(conn, nora))
        sd.Control = SE_SACL(int(sd.Control) & ~SE_SACL.SE_DACL_PROTECTED)
        assert conn.modify(nora, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [sd.to_bytes()])]},
                           controls=security_descriptor_control(sdflags=0x04)), conn.result
        conn.unbind()

    changed = changes_after(demo_dc, enable_inheritance)
    assert changed == {("ad.acl.coverage", nora, "directory.rights"): ("fail", None)}


def test_correcting_a_phone_number_fixes_that_user_only(demo_dc: SambaDC) -> None:
    cara = f"CN=Cara Zeller,{STAFF}"

    def correct() -> None:
        from ldap3 import MODIFY_REPLACE

        conn = admin_connection(demo_dc)
        assert conn.modify(cara, {"mobile": [(MODIFY_REPLACE, ["+1 4255550102"])]}), conn.result
        conn.unbind()

    changed = changes_after(demo_dc, correct)
    assert changed == {("ad.users.contact", cara, "directory.contact_attributes"): ("fail", None)}
