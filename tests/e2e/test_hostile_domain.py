"""Hostile names in the lab domain (a real Samba DC): an OU, users, a group and attribute values named like
attacks, seeded through the lab's own seeding code on a clone of the `baseline` domain.

LDAP: every value the reader puts into a search filter is escaped, so a name holding `*()\\` and NUL
finds exactly its own object: the fine-grained policy aimed at `CN=Star *(x)\\ Nul<NUL>End` reaches that
user and not `CN=Star` or `CN=Star *(x)`; a group named `GG *)(|(cn=*) \\ Admins` nested in Domain Admins
makes exactly its member privileged; a sync account looked up as `*`, `svc*` or `x)(cn=*` finds nothing.
HTML: the report of that domain is inert and, in headless Chromium, runs none of the payloads.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.ad.dn import dn_key, escape_value
from auditor.ad.rights import WRITEBACK_RIGHTS
from auditor.ad.sd import canonical_ace
from auditor.app.audit import ExitPolicy, audit
from auditor.checks.base import Status
from auditor.lab_domain import domain_seed, samba
from auditor.lab_domain.domain_seed import GLOBAL_SECURITY_GROUP, SERVICE_ACCOUNT, LabUser, Seeder
from auditor.lab_domain.samba import SambaDC
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.readers.directory import read_directory
from auditor.render import write_reports
from auditor.snapshot.models import Snapshot
from tests.helpers.hostile import assert_inert_html, assert_nothing_ran, shown
from tests.integration.samba_fixtures import collect_ad, fresh_dc

pytestmark = pytest.mark.samba

ROOT = Path(__file__).resolve().parents[2]
OU_NAME = "<script>document.title='PWNED-ou'</script> Sales\u202e *(x)\\"
FILTER_NAME = "Star *(x)\\ Nul\x00End"  # every character an LDAP filter value must escape
DECOYS = ("Star", "Star *(x)")  # what an unescaped `*` or a NUL-truncated value would match
OTHERS = ("<img src=x onerror=\"document.title='PWNED-cn'\">", "Invoice\u202efdp.exe",
          "\"><svg onload=document.title='PWNED-q'>", "L" * 60 + "<b>")
ADMIN_NAME = OTHERS[0]
GROUP_NAME = "GG *)(|(cn=*) \\ Admins <b>"
MOBILE_PAYLOAD = "<script>document.title='PWNED-mobile'</script>"

Headless = Callable[..., subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class HostileDomain:
    dc: SambaDC
    ou: str
    users: dict[str, str]
    """name → DN"""
    pso: str
    policy: Policy


def seed(dc: SambaDC) -> tuple[str, dict[str, str], str]:
    seeder = Seeder(dc, "baseline")
    try:
        ou = seeder.add(f"OU={escape_value(OU_NAME)}", ["top", "organizationalUnit"],
                        {"description": "<script>document.title='PWNED-description'</script>"})
        sync = seeder.sid_of(f"CN={SERVICE_ACCOUNT},CN=Users,{dc.base_dn}")
        seeder.grant(ou, [canonical_ace(sync, right) for right in WRITEBACK_RIGHTS])
        rdn = f"OU={escape_value(OU_NAME)}"
        users = {name: seeder.add_user(LabUser(cn=name, ou=rdn, mobile=f"+1 42555503{index:02d}",
                                               account_name=f"hostile{index}"))
                 for index, name in enumerate((FILTER_NAME, *DECOYS, *OTHERS))}
        users["mobile"] = seeder.add_user(LabUser(cn="Mobile Payload", ou=rdn, mobile=MOBILE_PAYLOAD,
                                                  account_name="hostile-mobile"))
        group = seeder.add(f"CN={escape_value(GROUP_NAME)},OU=Groups", ["top", "group"], {
            "sAMAccountName": "gg-hostile-admins", "groupType": str(GLOBAL_SECURITY_GROUP),
            "description": "<script>document.title='PWNED-group'</script>", "member": [users[ADMIN_NAME]]})
        from ldap3 import MODIFY_ADD

        seeder.modify(f"CN=Domain Admins,CN=Users,{dc.base_dn}", {"member": [(MODIFY_ADD, [group])]})
        seeder.add_pso("CN=PSO-Hostile", precedence=1, min_age_days=2, applies_to=[users[FILTER_NAME]])
        seeder.add_user(LabUser(cn="Sync Decoy", ou="CN=Users", mobile=None, account_name="svc"))
    finally:
        seeder.conn.unbind()
    return ou, users, f"CN=PSO-Hostile,CN=Password Settings Container,CN=System,{dc.base_dn}"


@pytest.fixture(scope="module")
def domain() -> Iterator[HostileDomain]:
    dc = fresh_dc("baseline")
    try:
        with dc:
            ou, users, pso = seed(dc)
            policy = load_policy(ROOT / "policies" / "baseline.yaml")
            assert policy.directory is not None
            policy = policy.model_copy(update={"directory": policy.directory.model_copy(update={"target_ous": [ou]})})
            yield HostileDomain(dc, ou, users, pso, policy)
    finally:
        samba.remove(dc)


def directory_with(domain: HostileDomain, **changes: object) -> Snapshot:
    assert domain.policy.directory is not None
    wanted = domain.policy.directory.model_copy(update=changes)
    section = read_directory(domain_seed.reader_settings(domain.dc), wanted)
    return Snapshot(tool_version="test", origin="lab:samba", directory=section)


def test_filter_values_find_exactly_their_own_object(domain: HostileDomain) -> None:
    section = directory_with(domain).directory
    assert section is not None and section.value is not None, section.error if section else None
    users = {dn_key(user.dn): user for user in section.value.users}
    assert set(users) == {dn_key(dn) for dn in domain.users.values()}  # the search base itself is hostile
    # (distinguishedName=…) and (memberOf:…:=…) with the escaped DN: the PSO reaches that user only
    with_pso = {key for key, user in users.items() if user.resultant_pso}
    assert with_pso == {dn_key(domain.users[FILTER_NAME])}
    assert dn_key(users[dn_key(domain.users[FILTER_NAME])].resultant_pso or "") == dn_key(domain.pso)
    # (memberOf=…) with the escaped group DN: exactly its member is privileged
    privileged = {key for key, user in users.items() if user.privileged_via}
    assert privileged == {dn_key(domain.users[ADMIN_NAME])}


@pytest.mark.parametrize("wanted", ["*", "svc*", "x)(cn=*", "*)(sAMAccountName=*", "svc\\2a"])
def test_a_sync_account_name_is_never_a_pattern(domain: HostileDomain, wanted: str) -> None:
    section = directory_with(domain, service_account=wanted).directory
    assert section is not None and section.value is not None, section.error if section else None
    assert section.value.service_account is None  # escaped: no wildcard, no injected clause
    sane = directory_with(domain, service_account="svc").directory
    assert sane is not None and sane.value is not None and sane.value.service_account is not None


def test_the_checks_name_exactly_the_hostile_objects(domain: HostileDomain) -> None:
    snapshot = collect_ad(domain.dc, domain.policy)
    findings = audit(domain.policy, snapshot, ExitPolicy()).findings
    failed = {(f.check, dn_key(f.target)) for f in findings if f.status == Status.failed}
    assert ("ad.fgpp.min_password_age", dn_key(domain.pso)) in failed
    assert ("ad.users.privileged", dn_key(domain.users[ADMIN_NAME])) in failed
    assert ("ad.users.contact", dn_key(domain.users["mobile"])) in failed
    assert not [f for f in findings if f.check == "ad.users.privileged" and f.status == Status.failed
                and dn_key(f.target) != dn_key(domain.users[ADMIN_NAME])]


@pytest.fixture(scope="module")
def domain_report(domain: HostileDomain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    snapshot = collect_ad(domain.dc, domain.policy)
    report = audit(domain.policy, snapshot, ExitPolicy()).report
    [path] = write_reports(report, tmp_path_factory.mktemp("hostile-domain"), ["html"])
    return path


def test_the_domain_report_is_inert_and_shows_the_names(domain_report: Path) -> None:
    html = domain_report.read_text(encoding="utf-8")
    text = assert_inert_html(html).text
    assert shown(MOBILE_PAYLOAD) in text
    assert "[U+202E]" in text and "\u202e" not in html
    assert "[U+0000]" in text or "\\00" in text  # the NUL in a DN is shown, never a raw NUL in the page
    assert "\x00" not in html


@pytest.mark.browser
def test_no_script_runs_from_domain_names_in_chromium(domain_report: Path, headless: Headless) -> None:
    result = headless("--virtual-time-budget=5000", "--dump-dom", domain_report.as_uri())
    assert_nothing_ran(result.stdout, domain_report.read_text(encoding="utf-8"))
