"""hybrid.authentication: how passwords reach the cloud, as the policy accepts it.

Password hash sync, pass-through or federation decides what the seam checks mean: smart lockout
(`hybrid.lockout`) guards sign-ins Entra ID performs (managed domains: hash sync or pass-through), while a
federated domain's users sign in at the federation service (AD FS extranet lockout applies there; Microsoft:
howto-password-smart-lockout, "AD FS 2016 and AD FS 2019 ... extranet lockout"); writeback serves all three
(concept-sspr-writeback). Microsoft recommends moving federated domains to cloud authentication
(migrate-from-federation-to-cloud-authentication) and password hash sync even beside pass-through or federation
(whatis-phs: a backup sign-in method and leaked-credential detection).

Read: each domain's `authenticationType` (GET /domains) and the sync features' `passwordSyncEnabled`
(GET /directory/onPremisesSynchronization). Pass-through cannot be told from Graph's domain (it is "Managed"
like hash sync); the Entra Connect version is exposed by neither Graph nor AD, so the report says so.
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, OptionalSection, Severity, Status

KEY = "writeback.federated_domains_allowed"
PHS_KEY = "writeback.password_hash_sync"

SPEC = CheckSpec(
    id="hybrid.authentication",
    title="How passwords reach the cloud (hash sync, pass-through, federation) is as the policy accepts",
    severity=Severity.low,
    policy_key=KEY,
    also_reads=(PHS_KEY,),
    sections=("domains", "sync_features"),
    optional=(OptionalSection("sync_features", "the password hash sync finding is unknown with its reason; the "
                              "domains' finding stands on GET /domains"),),
    references=(
        "https://learn.microsoft.com/graph/api/resources/domain",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/migrate-from-federation-to-cloud-authentication",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/whatis-phs",
        "https://learn.microsoft.com/entra/identity/authentication/howto-password-smart-lockout",
    ),
    fix=Fix(
        portal="Entra Connect: Change user sign-in > Password Hash Synchronization (or Pass-through authentication), "
               "and convert the federated domain to managed; Optional features > Password hash synchronization",
        powershell="Update-MgDomain -DomainId <domain> -AuthenticationType Managed (after staged rollout)",
    ),
    description="Reads each verified domain's authenticationType (GET /domains) and passwordSyncEnabled "
                "(GET /directory/onPremisesSynchronization).",
    manual=("switching a domain from federated to managed changes how every user of it signs in (staged rollout, "
            "password hash sync or pass-through first), and password hash sync is switched on in Entra Connect, "
            "not through Graph: both stay with the people who run the migration"),
)


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.writeback
    assert wanted is not None
    domains = ctx.section("domains")
    source = ctx.source("domains")
    verified = domains.verified()
    federated = [d.id for d in verified if d.federated]
    evidence = [Evidence(source=source, field=f"{d.id} authenticationType", value=d.authentication_type)
                for d in verified]
    expected = "federated domains allowed" if wanted.federated_domains_allowed else "every verified domain managed"
    actual = {d.id: d.authentication_type for d in verified}
    if not verified:
        findings = [ctx.result(Status.unknown, target="verified domains", key=KEY, evidence=evidence,
                               reason="GET /domains returned no verified domain, which a tenant always has")]
    elif federated and not wanted.federated_domains_allowed:
        findings = [ctx.result(Status.failed, target="verified domains", key=KEY, expected=expected, actual=actual,
                               evidence=evidence, reason=f"{len(federated)} verified domain(s) are federated "
                               f"({', '.join(federated)}): their users sign in at the federation service, so Entra "
                               "smart lockout and the cloud's password checks do not guard those sign-ins")]
    else:
        findings = [ctx.result(Status.passed, target="verified domains", key=KEY, expected=expected, actual=actual,
                               evidence=evidence)]
    if wanted.password_hash_sync is not None:
        findings.append(_hash_sync(ctx, wanted.password_hash_sync))
    return findings


def _hash_sync(ctx: Context, wanted: bool) -> Finding:
    reasons: list[str] = []
    evidence: list[Evidence] = []
    sync = ctx.section_or_none("sync_features", reasons, evidence)
    if sync is None:
        return ctx.result(Status.unknown, target="password hash sync", key=PHS_KEY, expected=wanted,
                          evidence=evidence, reason="; ".join(reasons))
    evidence = [Evidence(source=ctx.source("sync_features"), field="features.passwordSyncEnabled",
                         value=sync.password_sync_enabled)]
    return ctx.compare(wanted, sync.password_sync_enabled, evidence, target="password hash sync", key=PHS_KEY,
                       what="password hash sync")
