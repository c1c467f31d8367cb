"""hybrid.dc_agents: every domain controller runs the Entra Password Protection DC agent when banned passwords are
meant to be checked on-premises.

The tenant's "Enforce" (EnableBannedPasswordCheckOnPremises, BannedPasswordCheckOnPremisesMode) is enforced only
by the DC agent, on the DC that takes the password change; a DC without it accepts any password AD's own policy
allows, a written-back reset included (Microsoft: "Plan and deploy on-premises Microsoft Entra Password
Protection", deployment requirements: the DC agent on every domain controller; concept-password-ban-bad-on-premises:
how a password change is validated). Which DC runs the agent is read from the agents' service connection points
(`auditor.readers.dc_agents` has the source).

An SCP is not a running agent: it outlives an uninstall (the troubleshooting page's removal steps delete it by
hand). Microsoft's monitoring page (howto-password-ban-bad-on-premises-monitor, "DC Agent discovery"): the SCP's
properties "are updated by each DC agent service on an approximate hourly basis", and "If the HeartbeatUTC value
gets stale, this may be a symptom that the ... DC Agent on that domain controller is not running, or has been
uninstalled, or the machine was demoted". So the agent counts as running only while HeartbeatUTC (msDS-Settings) is
at most `agent_heartbeat_max_hours` (default 24: a day of missed hourly updates, well beyond AD replication latency)
older than the directory snapshot; older, absent or unparseable, the DC's finding is unknown and says why. The
page gives no threshold; the age is measured against when the snapshot was collected, never the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.checks.password_protection import FIELDS
from auditor.snapshot.directory import DirectoryState, DomainController

KEY = "password_protection.agent_on_every_dc"
HEARTBEAT_KEY = "password_protection.agent_heartbeat_max_hours"
MONITOR_DOC = "https://learn.microsoft.com/entra/identity/authentication/howto-password-ban-bad-on-premises-monitor"

SPEC = CheckSpec(
    id="hybrid.dc_agents",
    title="Every domain controller runs the Password Protection DC agent",
    severity=Severity.medium,
    policy_key=KEY,
    also_reads=("password_protection.on_premises", HEARTBEAT_KEY),
    sections=("password_rules", "directory"),
    changed_attributes=("userAccountControl",),  # SERVER_TRUST_ACCOUNT: which computers are domain controllers
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/howto-password-ban-bad-on-premises-deploy",
        "https://learn.microsoft.com/entra/identity/authentication/concept-password-ban-bad-on-premises",
        "https://learn.microsoft.com/entra/identity/authentication/howto-password-ban-bad-on-premises-troubleshoot",
        MONITOR_DOC,
    ),
    fix=Fix(
        portal="Install the Microsoft Entra Password Protection DC agent (AzureADPasswordProtectionDCAgentSetup.msi) "
               "on the domain controller and restart it; a proxy must be registered in the forest",
        powershell="Get-AzureADPasswordProtectionDCAgent (on the proxy server) lists the DCs that run the agent",
        console="the domain controller (Windows Installer)",
        shell="PowerShell on the Password Protection proxy server (AzureADPasswordProtection module)",
    ),
    description="Lists the domain controllers (SERVER_TRUST_ACCOUNT computers) and the DC agent service connection "
                "points (keywords {2bac71e6-a293-4d5b-ba3b-50b995237946}) below them, with the HeartbeatUTC each "
                "agent refreshes about hourly.",
    manual=("the DC agent is software installed on each domain controller (and a proxy registered in the forest): "
            "no Graph, portal or LDAP write installs it"),
)


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.password_protection
    assert wanted is not None
    if not wanted.agent_on_every_dc:
        return [ctx.result(Status.not_applicable, target="domain controllers", key=KEY,
                           reason="the policy does not ask for the DC agent on every domain controller")]
    if ctx.policy.directory is None:  # a cloud-only policy: the domain controllers are not read, nor judged
        return [ctx.result(Status.not_applicable, target="domain controllers", key=KEY,
                           reason="the policy has no `directory` section: the domain controllers are not read")]
    rules = ctx.section("password_rules")
    rules_source = ctx.source("password_rules")
    tenant_mode = (rules.banned_on_premises_mode or "Audit") if rules.banned_on_premises_enabled else "off"
    tenant_enforces = rules.setting_id is not None and tenant_mode == "Enforce"
    why = ([f"the tenant's mode is Enforce ({rules_source})"] if tenant_enforces else []) + (
        [f"the policy asks for {wanted.on_premises}"] if wanted.on_premises != "off" else [])
    cloud = [Evidence(source=rules_source, field=FIELDS["enabled"], value=rules.banned_on_premises_enabled),
             Evidence(source=rules_source, field=FIELDS["mode"], value=rules.banned_on_premises_mode)]
    if not why:
        return [ctx.result(Status.not_applicable, target="domain controllers", key=KEY, evidence=cloud,
                           reason="neither the tenant nor the policy turns password protection on for AD")]
    state: DirectoryState = ctx.section("directory")
    agents = state.password_protection_agents
    directory_source = ctx.source("directory")
    if agents is None or agents.error is not None:
        return [ctx.result(Status.unknown, target="domain controllers", key=KEY, evidence=cloud,
                           reason=agents.error if agents is not None else
                           "this snapshot did not read the DC agents' service connection points: collect again")]
    proxies = Evidence(source=directory_source, field="Password Protection proxy service connection points",
                       value=agents.proxies)
    section = ctx.snapshot.directory
    as_of = section.collected_at if section is not None else None
    max_age = timedelta(hours=wanted.agent_heartbeat_max_hours)
    return [_finding(ctx, dc, why, [*cloud, proxies], as_of, max_age) for dc in agents.domain_controllers]


def parse_heartbeat(text: str | None) -> datetime | None:
    """HeartbeatUTC as the agent writes it in msDS-Settings (ISO 8601, e.g. 2018-02-16T08:35:02.0Z) or as
    Get-AzureADPasswordProtectionDCAgent prints it (2/16/2018 8:35:02 AM); UTC when no offset is given."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            when = datetime.strptime(text.strip(), "%m/%d/%Y %I:%M:%S %p")
        except ValueError:
            return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _finding(ctx: Context, dc: DomainController, why: list[str], evidence: list[Evidence],
             as_of: datetime | None, max_age: timedelta) -> Finding:
    name = dc.dns_host_name or dc.dn
    if dc.agent is not None:
        agent = dc.agent
        expected = f"a DC agent service connection point with a HeartbeatUTC at most {max_age} old"
        actual = {"scp": agent.dn, "version": agent.software_version, "heartbeat": agent.heartbeat_utc}
        evidence = [*evidence, Evidence(source=agent.dn, field="serviceConnectionPoint keywords",
                                        value="{2bac71e6-a293-4d5b-ba3b-50b995237946}"),
                    Evidence(source=agent.dn, field="msDS-Settings HeartbeatUTC", value=agent.heartbeat_utc)]
        beat = parse_heartbeat(agent.heartbeat_utc)
        stale = None
        if beat is None:
            stale = (f"its HeartbeatUTC is {'absent' if not agent.heartbeat_utc else repr(agent.heartbeat_utc)}"
                     ", so whether the agent runs is not known")
        elif as_of is not None and as_of - beat > max_age:
            stale = (f"its last heartbeat ({beat.isoformat()}) is {_age(as_of - beat)} older than the snapshot "
                     f"({as_of.isoformat()}), beyond the policy's {max_age}")
        if stale is not None:
            return ctx.result(Status.unknown, target=dc.dn, key=HEARTBEAT_KEY, expected=expected, actual=actual,
                              evidence=evidence,
                              reason=f"{name} has a DC agent service connection point ({agent.dn}), but {stale}: "
                                     "the agent refreshes it about hourly and the SCP outlives an uninstall "
                                     f"(Microsoft: a stale HeartbeatUTC may mean the agent is not running or was "
                                     f"uninstalled, {MONITOR_DOC}); the agent is not counted as running. Check "
                                     "the service on the DC, or Get-AzureADPasswordProtectionDCAgent on the proxy")
        return ctx.result(Status.passed, target=dc.dn, key=KEY, expected=expected, actual=actual, evidence=evidence)
    return ctx.result(Status.failed, target=dc.dn, key=KEY, expected="a DC agent service connection point",
                      actual="none below the DC's computer object", evidence=evidence,
                      reason=f"{' and '.join(why)}, but {name} runs no Password Protection DC agent: a password set "
                             "on it, a written-back reset included, skips the banned-password check")


def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} day(s) {hours % 24} hour(s)" if hours >= 24 else f"{hours} hour(s)"
