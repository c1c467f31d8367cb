"""hybrid.dc_agents: every domain controller runs the Entra Password Protection DC agent when banned passwords are
meant to be checked on-premises.

The tenant's "Enforce" (EnableBannedPasswordCheckOnPremises, BannedPasswordCheckOnPremisesMode) is enforced only
by the DC agent, on the DC that takes the password change; a DC without it accepts any password AD's own policy
allows, a written-back reset included (Microsoft: "Plan and deploy on-premises Microsoft Entra Password
Protection", deployment requirements: the DC agent on every domain controller; concept-password-ban-bad-on-premises:
how a password change is validated). Which DC runs the agent is read from the agents' service connection points
(`auditor.readers.dc_agents` has the source).
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.checks.password_protection import FIELDS
from auditor.snapshot.directory import DirectoryState, DomainController

KEY = "password_protection.agent_on_every_dc"

SPEC = CheckSpec(
    id="hybrid.dc_agents",
    title="Every domain controller runs the Password Protection DC agent",
    severity=Severity.medium,
    policy_key=KEY,
    also_reads=("password_protection.on_premises",),
    sections=("password_rules", "directory"),
    changed_attributes=("userAccountControl",),  # SERVER_TRUST_ACCOUNT: which computers are domain controllers
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/howto-password-ban-bad-on-premises-deploy",
        "https://learn.microsoft.com/entra/identity/authentication/concept-password-ban-bad-on-premises",
        "https://learn.microsoft.com/entra/identity/authentication/howto-password-ban-bad-on-premises-troubleshoot",
    ),
    fix=Fix(
        portal="Install the Microsoft Entra Password Protection DC agent (AzureADPasswordProtectionDCAgentSetup.msi) "
               "on the domain controller and restart it; a proxy must be registered in the forest",
        powershell="Get-AzureADPasswordProtectionDCAgent (on the proxy server) lists the DCs that run the agent",
        console="the domain controller (Windows Installer)",
        shell="PowerShell on the Password Protection proxy server (AzureADPasswordProtection module)",
    ),
    description="Lists the domain controllers (SERVER_TRUST_ACCOUNT computers) and the DC agent service connection "
                "points (keywords {2bac71e6-a293-4d5b-ba3b-50b995237946}) below them.",
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
    return [_finding(ctx, dc, why, [*cloud, proxies]) for dc in agents.domain_controllers]


def _finding(ctx: Context, dc: DomainController, why: list[str], evidence: list[Evidence]) -> Finding:
    name = dc.dns_host_name or dc.dn
    if dc.agent is not None:
        agent = dc.agent
        return ctx.result(Status.passed, target=dc.dn, key=KEY, expected="a DC agent service connection point",
                          actual={"scp": agent.dn, "version": agent.software_version,
                                  "heartbeat": agent.heartbeat_utc},
                          evidence=[*evidence, Evidence(source=agent.dn, field="serviceConnectionPoint keywords",
                                                        value="{2bac71e6-a293-4d5b-ba3b-50b995237946}")])
    return ctx.result(Status.failed, target=dc.dn, key=KEY, expected="a DC agent service connection point",
                      actual="none below the DC's computer object", evidence=evidence,
                      reason=f"{' and '.join(why)}, but {name} runs no Password Protection DC agent: a password set "
                             "on it, a written-back reset included, skips the banned-password check")
