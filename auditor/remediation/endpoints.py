"""Where apply and rollback write: the plan's recorded endpoints, options that override them, and
credentials from the environment (never from the plan, which holds no secret)."""

from __future__ import annotations

from typing import Any

from auditor.readers.credentials import AD_PASSWORD_VARIABLE, ad_password
from auditor.remediation.changes import PlanSource
from auditor.remediation.session import Targets


class TargetError(Exception):
    """The plan's targets cannot be reached as configured (a gone lab, a missing credential)."""


def with_overrides(source: PlanSource, **overrides: Any) -> PlanSource:
    """`source` with every override that is not None (command-line options win over the plan)."""
    given = {k: v for k, v in overrides.items() if v not in (None, "", False)}
    if given.get("graph_url") or given.get("portal_url"):
        given["ephemeral"] = False
    return source.model_copy(update=given)


def describe_targets(source: PlanSource, *, lab_scenario: str | None = None) -> str:
    """One line naming every endpoint apply or rollback will write to (shown in the dry run too)."""
    from auditor.text import one_line as safe_text

    if lab_scenario:
        return f"a fresh in-process lab emulator (scenario {safe_text(lab_scenario)})"
    parts = [f"Graph {source.graph_url}" if source.graph_url else None,
             f"portal {source.portal_url}" if source.portal_url else None]
    if source.ad_host:
        tls = source.ad_tls or "ldaps"
        extra = [f"TLS name {source.ad_tls_name}" if source.ad_tls_name else None,
                 f"CA {source.ad_ca_file}" if source.ad_ca_file else None,
                 f"SYSVOL on {source.smb_host}" if source.smb_host else None]
        parts.append(f"AD {source.ad_host} ({', '.join([tls, *(e for e in extra if e)])})")
    shown = [p for p in parts if p]
    return safe_text("; ".join(shown)) if shown else "nothing recorded (the plan has no endpoint)"


def plan_targets(source: PlanSource, timeout_seconds: float = 30.0, insecure_ldap: bool = False) -> Targets:
    """The endpoints and credentials a plan recorded (lab runs are opened by `auditor.app.audit.open_targets`)."""
    if source.ephemeral:
        raise TargetError(f"the plan was made against an in-process lab ({source.origin}) that is gone: apply it to "
                          "a fresh one with --lab SCENARIO, or plan against `sspr-audit lab serve` with --graph-url "
                          "and --portal-url")
    return Targets(graph_url=source.graph_url, graph_credential=_credential(source.auth, source, source.graph_url),
                   portal_url=source.portal_url,
                   portal_credential=_credential(source.portal_auth, source, source.portal_url),
                   ad=_ad_settings(source, timeout_seconds, insecure_ldap), timeout_seconds=timeout_seconds)


def _credential(kind: str | None, source: PlanSource, url: str | None) -> Any:
    from auditor.readers.credentials import AuthKind, LabTokenCredential, build_credential, is_loopback

    if url is None:
        return None
    if kind in (None, "lab"):
        if not is_loopback(url):
            raise TargetError(f"choose a credential with --auth / --portal-auth for {url}")
        return LabTokenCredential()
    if kind == "login-cache":  # the reader's sealed login is for unattended reads, never for writes
        raise TargetError("the plan read the portal with the reader's login cache, which is not for writing: "
                          "apply with --portal-auth azure-cli or device-code as an admin")
    return build_credential(AuthKind(kind), source.tenant_id, source.client_id)


def _ad_settings(source: PlanSource, timeout_seconds: float, insecure_ldap: bool = False) -> Any:
    if not source.ad_host:
        return None
    if source.ad_tls == "none" and not insecure_ldap:
        raise TargetError("the plan binds to Active Directory without TLS (--ad-tls none), which sends the password "
                          "in clear: give --insecure-ldap to accept that (a lab only)")
    from auditor.readers.directory import AdSettings

    password = ad_password()
    if not password or not source.ad_user:
        raise TargetError(f"the plan changes Active Directory: give --ad-user and the password in "
                          f"{AD_PASSWORD_VARIABLE}")
    return AdSettings(host=source.ad_host, user=source.ad_user, password=password,
                      tls=source.ad_tls or "ldaps",  # type: ignore[arg-type]
                      ca_file=source.ad_ca_file, tls_name=source.ad_tls_name, base_dn=source.ad_base_dn,
                      smb_host=source.smb_host,
                      timeout=timeout_seconds)
