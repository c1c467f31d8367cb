"""What the lab domain holds for the checks across the Entra/AD seam (issue #35), kept apart from the rest of
the seeding (domain_seed calls these).

Account lockout (`hybrid.lockout`), against the lab tenants' smart lockout (baseline: 10 attempts, 120 s;
demo: 20 attempts, 60 s):

| scenario | domain head and Default Domain Policy |
|---|---|
| baseline | 30 failed sign-ins, counter reset after 1 minute, locked for 1 minute |
| demo | 5 failed sign-ins, counter reset after 30 minutes, locked for 30 minutes |

Baseline follows Microsoft's example (Entra 120 s, AD 1 minute). The PSOs keep lockout off (threshold 0),
as domain_seed.add_pso writes them.

Reach beyond the target OUs (`ad.acl.reach_beyond`), `demo` only: the sync account also holds Reset Password at
the domain head, inherited by user objects, as an Express install grants it; and `svc-sql` in OU=Service
Accounts is in Backup Operators with adminCount=1 but its DACL still inherits (Samba runs no SDProp, which
would stamp AdminSDHolder's DACL on it within the hour): the demo names the service accounts, the users in
CN=Users and svc-sql (protected) as reached.

Password Protection DC agent (`hybrid.dc_agents`), `baseline` and `traps`: the agent's service connection point below
the DC's computer object (`CN=AzureADPasswordProtectionDCAgent`, keywords `{2bac71e6-…};Domain=<dns>`,
msDS-Settings JSON with a HeartbeatUTC stamped when seeded and again whenever a lab domain is cloned and started,
as a running agent refreshes it hourly), and a proxy's below it too, as the agent and proxy services register
them. `demo` has none: its policy asks for enforce, so the DC without an agent fails.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from auditor.ad import gpttmpl
from auditor.ad.intervals import minutes_to_interval
from auditor.ad.rights import RESET_PASSWORD
from auditor.ad.sd import canonical_ace


class Seeder(Protocol):
    """What these seeds use of `domain_seed.Seeder` (named here so the two modules do not import each other)."""

    base: str
    scenario: str
    demo: bool
    msol_sid: str
    conn: Any
    dc: Any

    def add(self, rdns: str, classes: list[str], attributes: dict[str, Any]) -> str: ...

    def modify(self, target: str, changes: dict[str, Any], controls: Any = None) -> None: ...

    def grant(self, target: str, aces: list[Any]) -> None: ...


class LabLockout(NamedTuple):
    threshold: int
    window_minutes: int
    duration_minutes: int


# traps: its tenant sets no smart lockout (Microsoft's 60 s default, below any AD reset window of whole minutes), so
# its domain keeps Samba's default, lockout off, which never locks out first
LOCKOUT = {"baseline": LabLockout(30, 1, 1), "demo": LabLockout(5, 30, 30), "traps": LabLockout(0, 30, 30)}
# the Cloud Sync variants are the baseline domain with another sync account (lab_domain/cloud_sync_seed.py)
LOCKOUT |= {"cloudsync": LOCKOUT["baseline"], "cloudsync-demo": LOCKOUT["baseline"]}


def seed_lockout(seeder: Seeder) -> None:
    """The domain head's lockoutThreshold, lockOutObservationWindow and lockoutDuration for the scenario."""
    from ldap3 import MODIFY_REPLACE

    wanted = LOCKOUT[seeder.scenario]
    seeder.modify(seeder.base, {
        "lockoutThreshold": [(MODIFY_REPLACE, [str(wanted.threshold)])],
        "lockOutObservationWindow": [(MODIFY_REPLACE, [str(minutes_to_interval(wanted.window_minutes))])],
        "lockoutDuration": [(MODIFY_REPLACE, [str(minutes_to_interval(wanted.duration_minutes))])],
    })


def default_domain_template(scenario: str, minimum_password_age_days: int) -> gpttmpl.GptTmpl:
    """The Default Domain Policy's GptTmpl.inf as Windows writes it, with the scenario's lockout policy."""
    wanted = LOCKOUT[scenario]
    template = gpttmpl.windows_template(minimum_password_age_days)
    for key, value in ((gpttmpl.LOCKOUT_BAD_COUNT, wanted.threshold),
                       (gpttmpl.RESET_LOCKOUT_COUNT, wanted.window_minutes),
                       (gpttmpl.LOCKOUT_DURATION, wanted.duration_minutes)):
        template = template.with_value(gpttmpl.SYSTEM_ACCESS, key, str(value))
    return template


def heartbeat_now() -> str:
    """HeartbeatUTC as the DC agent writes it in msDS-Settings (ISO 8601, UTC)."""
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.0Z")


def refresh_agent_heartbeats(conn: Any, base: str) -> int:
    """Stamp every DC agent SCP's HeartbeatUTC with now, as a running agent does about hourly (Microsoft,
    howto-password-ban-bad-on-premises-monitor, "DC Agent discovery"): a lab domain cloned from a cached template
    runs its agents, so `hybrid.dc_agents` sees a fresh heartbeat. Returns how many SCPs were stamped."""
    import json

    from ldap3 import MODIFY_REPLACE

    from auditor.readers.dc_agents import DC_AGENT_KEYWORD

    conn.search(base, f"(&(objectClass=serviceConnectionPoint)(keywords={DC_AGENT_KEYWORD}*))",
                attributes=["msDS-Settings"])
    stamped = 0
    for entry in [e for e in conn.response if e.get("type") == "searchResEntry"]:
        raw = entry["attributes"].get("msDS-Settings")
        text = raw[0] if isinstance(raw, list) and raw else raw
        settings = json.loads(text) if isinstance(text, str) and text else {}
        settings["HeartbeatUTC"] = heartbeat_now()
        if not conn.modify(entry["dn"], {"msDS-Settings": [(MODIFY_REPLACE, [json.dumps(settings)])]}):
            from auditor.lab_domain.samba import SambaError

            raise SambaError(f"refresh {entry['dn']}: {conn.result['description']} {conn.result['message']}")
        stamped += 1
    return stamped


PROTECTED_SERVICE_ACCOUNT = "svc-sql"


def seed_reach(seeder: Seeder) -> None:
    """`demo`: an Express-style Reset Password grant at the domain head and a protected, inheriting service account."""
    from ldap3 import MODIFY_ADD, MODIFY_REPLACE

    if not seeder.demo:
        return
    seeder.grant(seeder.base, [canonical_ace(seeder.msol_sid, RESET_PASSWORD)])
    name = PROTECTED_SERVICE_ACCOUNT
    sql = seeder.add(f"CN={name},OU=Service Accounts", ["top", "person", "organizationalPerson", "user"], {
        "sAMAccountName": name, "userPrincipalName": f"{name}@{seeder.dc.dns_domain}", "displayName": name,
        "userAccountControl": str(0x200 | 0x20)})  # normal, enabled, no password needed (as bulk_users)
    seeder.modify(f"CN=Backup Operators,CN=Builtin,{seeder.base}", {"member": [(MODIFY_ADD, [sql])]})
    seeder.modify(sql, {"adminCount": [(MODIFY_REPLACE, ["1"])]})


def seed_password_protection_agents(seeder: Seeder) -> None:
    """`baseline` and `traps`: the DC agent's and a proxy's service connection points below every DC's computer
    object."""
    import json

    from auditor.readers.dc_agents import DC_AGENT_KEYWORD, PROXY_KEYWORD

    if seeder.demo:
        return
    seeder.conn.search(seeder.base, "(&(objectCategory=computer)(userAccountControl:1.2.840.113556.1.4.803:=8192))",
                       attributes=["dNSHostName"])
    for entry in [e for e in seeder.conn.response if e.get("type") == "searchResEntry"]:
        dc, host = entry["dn"], str(entry["attributes"]["dNSHostName"])
        settings = {"SoftwareVersion": "1.2.177.1", "ServerFQDN": host, "HeartbeatUTC": heartbeat_now(),
                    "Domain": seeder.dc.dns_domain, "Forest": seeder.dc.dns_domain}
        for name, keyword, extra in (("AzureADPasswordProtectionDCAgent", DC_AGENT_KEYWORD,
                                      {"msDS-Settings": json.dumps(settings)}),
                                     ("AzureADPasswordProtectionProxy", PROXY_KEYWORD, {})):
            target = f"CN={name},{dc}"
            if not seeder.conn.add(target, ["top", "leaf", "connectionPoint", "serviceConnectionPoint"],
                                   {"keywords": [f"{keyword};Domain={seeder.dc.dns_domain}"], **extra}):
                from auditor.lab_domain.samba import SambaError

                raise SambaError(f"add {target}: {seeder.conn.result['description']} {seeder.conn.result['message']}")
