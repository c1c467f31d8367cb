"""The one argparse group that builds an `Endpoints` (auditor/endpoints.py), for every command that reads or writes.

Reading commands (check, collect, export, plan) take every option, with the defaults a run reads with; writing
commands (apply, rollback) take the ones that may redirect a plan, each defaulting to what the plan recorded.
The `--auth` and `--portal-auth` choices come from `AuthKind`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.commands.common import UsageError, non_negative_int, seconds
from auditor.endpoint_kinds import (
    AD_PASSWORD_VARIABLE,
    GRAPH_AUTH,
    PORTAL_AUTH,
    TLS_MODES,
    WRITE_PORTAL_AUTH,
    AuthKind,
)

if TYPE_CHECKING:
    from auditor.endpoints import Endpoints
    from auditor.remediation.changes import PlanSource

SOURCE, LIVE, AD = "source", "live", "ad"
GROUP_TITLES = {
    SOURCE: "where the live state comes from (one of)",
    LIVE: "live tenant (secrets only from the environment)",
    AD: f"on-premises AD (the policy's `directory` section; password from {AD_PASSWORD_VARIABLE})",
}
WRITE_TITLE = "where to write (default: the endpoints recorded in the plan; secrets only from the environment)"


@dataclass(frozen=True)
class Option:
    flag: str
    group: str
    kwargs: dict[str, Any]
    write_help: str | None = None  # also an apply/rollback option (overriding the plan's), with this help
    write_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


def _values(kinds: tuple[AuthKind, ...]) -> tuple[str, ...]:
    return tuple(kind.value for kind in kinds)


OPTIONS: tuple[Option, ...] = (
    Option("--lab-forbid", SOURCE, {"action": "append", "default": [], "metavar": "ENDPOINT",
                                    "help": "lab fault: answer 403 on this endpoint (e.g. portal, "
                                            "authorization_policy)"}),
    Option("--progress", SOURCE, {"choices": ("auto", "always", "never"), "default": "auto",
                                  "help": "show the reads' progress on stderr: auto = live on a terminal, one line "
                                          "per source in a log (CI); always; never (default: auto)"}),
    Option("--lab-latency-ms", SOURCE, {"type": non_negative_int, "default": 0, "metavar": "MS",
                                        "help": "lab fault: latency per request"}),
    Option("--tenant-id", LIVE, {"help": "directory (tenant) id"}, "directory (tenant) id"),
    Option("--client-id", LIVE, {"help": "application (client) id of the app registration"},
           "application (client) id"),
    Option("--auth", LIVE, {"choices": _values(GRAPH_AUTH),
                            "help": "credential kind for Graph: secret reads AZURE_CLIENT_SECRET, certificate reads "
                                    "AZURE_CLIENT_CERTIFICATE_PATH (and _PASSWORD); lab only for a loopback "
                                    "emulator"}, "credential kind for Graph"),
    Option("--portal", LIVE, {"action": "store_true",
                              "help": "also read the portal's SSPR API (undocumented; needs a delegated admin "
                                      "token)"}),
    Option("--portal-auth", LIVE, {"choices": _values(PORTAL_AUTH), "default": AuthKind.azure_cli.value,
                                   "help": "delegated credential for the portal API (default: azure-cli); "
                                           "login-cache = the sealed cache `sspr-audit login` wrote, refreshed "
                                           "silently (key from SSPR_LOGIN_KEY)"},
           "delegated credential for the portal API", {"choices": _values(WRITE_PORTAL_AUTH)}),
    Option("--login-cache", LIVE, {"type": Path, "metavar": "FILE",
                                   "help": "the login cache for --portal-auth login-cache (default: "
                                           "SSPR_LOGIN_CACHE, else ~/.config/sspr-auditor/login-cache.json)"}),
    Option("--graph-url", LIVE, {"help": "Graph base URL (e.g. a running `sspr-audit lab serve`: "
                                         "http://127.0.0.1:8765/v1.0)"}, "Graph base URL"),
    Option("--portal-url", LIVE, {"help": "portal API base URL (e.g. http://127.0.0.1:8765/api)"},
           "portal API base URL"),
    Option("--timeout", LIVE, {"type": seconds, "default": 30.0, "help": "seconds per request (default: 30)"},
           "seconds per request (default: the plan's, else 30)"),
    Option("--ad-host", AD, {"help": "domain controller IP or name (as on its TLS certificate)"},
           "domain controller to write to (overrides the plan's)"),
    Option("--ad-user", AD, {"help": "bind account: user@REALM, DOMAIN\\user or a DN (also used for SYSVOL)"}),
    Option("--ad-tls", AD, {"choices": TLS_MODES, "default": "ldaps",
                            "help": "ldaps (636, default) or starttls (389), both verifying the certificate; "
                                    "none = plain LDAP with the password in clear: refused unless --insecure-ldap"}),
    Option("--insecure-ldap", AD, {"action": "store_true",
                                   "help": "accept --ad-tls none, a simple bind that sends the password in clear "
                                           "(a lab only)"},
           "accept a plan that binds to AD without TLS (--ad-tls none): the password goes in clear"),
    Option("--ad-ca-file", AD, {"type": Path, "help": "PEM file of the CA that signed the DC's certificate"},
           "CA bundle that signed the DC's certificate (overrides the plan's)"),
    Option("--ad-tls-name", AD, {"help": "name expected on the DC's certificate when --ad-host is an IP"},
           "the name the DC's TLS certificate carries, when --ad-host is an IP or an alias (overrides the plan's)"),
    Option("--ad-base-dn", AD, {"help": "domain naming context (default: read from the rootDSE)"}),
    Option("--smb-host", AD, {"help": "host serving SYSVOL (default: --ad-host)"},
           "host serving SYSVOL (overrides the plan's)"),
)
LIVE_OPTIONS = tuple(o.dest for o in OPTIONS if o.group == LIVE and o.dest not in ("timeout", "portal_auth",
                                                                                  "login_cache"))
AD_OPTIONS = tuple(o.dest for o in OPTIONS if o.group == AD and o.dest not in ("ad_tls", "insecure_ldap"))


def add_read_options(parser: argparse.ArgumentParser, *, allow_snapshot: bool) -> None:
    """Where a reading command's state comes from: the lab, a saved snapshot, or a live tenant and DC."""
    groups = {name: parser.add_argument_group(title) for name, title in GROUP_TITLES.items()}
    choice = groups[SOURCE].add_mutually_exclusive_group()
    choice.add_argument("--lab", metavar="SCENARIO",
                        help="start the built-in lab emulator with this scenario (demo, baseline, traps, hostile, "
                             "cloudsync, cloudsync-demo; or a `lab generate` tenant file)")
    if allow_snapshot:
        choice.add_argument("--snapshot", type=Path, metavar="FILE", help="audit a saved snapshot offline")
        groups[SOURCE].add_argument(
            "--portal-snapshot", type=Path, metavar="FILE",
            help="take the portal's SSPR settings from a `collect --portal-only` file (for app-only pipelines): "
                 "labelled with its age, unknown when older than sources.portal.max_age_days or when the audit "
                 "log shows a later change")
    for option in OPTIONS:
        groups[option.group].add_argument(option.flag, **option.kwargs)


def add_write_options(parser: argparse.ArgumentParser) -> None:
    """Where apply and rollback write: the plan's endpoints unless an option says otherwise."""
    where = parser.add_argument_group(WRITE_TITLE)
    where.add_argument("--lab", metavar="SCENARIO", help="write to a fresh in-process lab emulator with this scenario "
                                                       "(demo, baseline, traps, hostile, cloudsync, cloudsync-demo)")
    for option in OPTIONS:
        if option.write_help is None:
            continue
        kwargs = {k: v for k, v in option.kwargs.items() if k not in ("default", "help")}
        where.add_argument(option.flag, **{**kwargs, **option.write_kwargs, "help": option.write_help})


def endpoints_of(args: argparse.Namespace) -> Endpoints:
    """The `Endpoints` a reading command was given."""
    from pydantic import ValidationError

    from auditor.endpoints import AdEndpoint, Endpoints, LabSelection

    if not args.lab and (args.lab_forbid or args.lab_latency_ms):
        raise UsageError("--lab-forbid and --lab-latency-ms need --lab SCENARIO")
    try:
        lab = (LabSelection(scenario=args.lab, forbid=tuple(args.lab_forbid), latency_ms=args.lab_latency_ms)
               if args.lab else None)
        ad = AdEndpoint(host=args.ad_host, user=args.ad_user, tls=args.ad_tls, insecure_ldap=args.insecure_ldap,
                        ca_file=_text(args.ad_ca_file), tls_name=args.ad_tls_name, base_dn=args.ad_base_dn,
                        smb_host=args.smb_host) if args.ad_host else None
        return Endpoints(lab=lab, tenant_id=args.tenant_id, client_id=args.client_id, auth=args.auth,
                         graph_url=args.graph_url, portal=args.portal, portal_url=args.portal_url,
                         portal_auth=args.portal_auth, login_cache=_text(args.login_cache), ad=ad,
                         timeout=args.timeout)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = "-".join(str(p) for p in first["loc"]).replace("_", "-")
        raise UsageError(f"--{where}: {first['msg'].removeprefix('Value error, ')}") from None


def write_overrides(args: argparse.Namespace) -> dict[str, object]:
    """What an apply or rollback was told to write to instead of the plan's endpoints (None: the plan's)."""
    from auditor.endpoints import LabSelection

    given = {o.dest: getattr(args, o.dest, None) for o in OPTIONS if o.write_help is not None}
    given["ad_ca_file"] = _text(given.get("ad_ca_file"))
    given["ad_insecure_ldap"] = given.pop("insecure_ldap", None) or None
    given["lab"] = LabSelection(scenario=args.lab) if args.lab else None
    return given


def plan_source(args: argparse.Namespace, endpoints: Endpoints, origin: str) -> PlanSource:
    """What a plan records: the endpoints as the state was actually read (the auth each URL was read with), never
    the consent to plain LDAP, which apply is given again."""
    from auditor.endpoints import Endpoints
    from auditor.remediation.changes import PlanSource

    if getattr(args, "snapshot", None):
        return PlanSource(origin=origin, endpoints=Endpoints())
    recorded = endpoints.resolved()
    if recorded.ad is not None:
        recorded = recorded.model_copy(update={"ad": recorded.ad.model_copy(update={"insecure_ldap": False})})
    return PlanSource(origin=origin, endpoints=recorded, ephemeral=recorded.lab is not None)


def source_arguments(args: argparse.Namespace) -> list[str]:
    """The options that name this run's source again (for the next command it suggests)."""
    if getattr(args, "snapshot", None):
        return ["--snapshot", str(args.snapshot)]
    if args.lab:
        return ["--lab", args.lab]
    source: list[str] = []
    for name in ("tenant_id", "client_id", "auth", "graph_url", "portal_url", "portal_auth", "ad_host",
                 "ad_user", "ad_tls", "ad_ca_file", "ad_tls_name", "ad_base_dn", "smb_host"):
        value = getattr(args, name, None)
        if value is not None and not (name in ("portal_auth", "ad_tls") and value in ("azure-cli", "ldaps")):
            source += ["--" + name.replace("_", "-"), str(value)]
    if getattr(args, "portal", False):
        source.append("--portal")
    return source


def refuse_mixed_sources(args: argparse.Namespace) -> None:
    """An option that the chosen source would ignore is a mistake to say, not to swallow."""
    def given(names: tuple[str, ...]) -> list[str]:
        return ["--" + n.replace("_", "-") for n in names if getattr(args, n, None)]

    if getattr(args, "snapshot", None):
        ignored = given(LIVE_OPTIONS + AD_OPTIONS + ("portal_snapshot",)) + \
            (["--lab-forbid"] if args.lab_forbid else []) + \
            (["--lab-latency-ms"] if args.lab_latency_ms else [])
        if ignored:
            raise UsageError(f"--snapshot audits a saved file: {', '.join(ignored)} would be ignored; leave "
                             f"{'it' if len(ignored) == 1 else 'them'} out")
    elif args.lab:
        ignored = given(LIVE_OPTIONS + AD_OPTIONS)
        if ignored:
            raise UsageError(f"--lab {args.lab} reads the built-in lab tenant and domain: {', '.join(ignored)} "
                             "would be ignored; leave them out, or drop --lab to read a live tenant")


def _text(value: object) -> str | None:
    return str(value) if value else None
