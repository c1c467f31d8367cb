"""One endpoint model (auditor/endpoints.py), one opener (auditor/readers/reach.py), one exit-code table, and a
thin cli.py: the structure issue 31 asked for, held by tests that fail when it slides back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from auditor.endpoints import GRAPH_AUTH, PORTAL_AUTH, AdEndpoint, AuthKind, Endpoints, LabSelection

ROOT = Path(__file__).resolve().parents[2]
AUDITOR = ROOT / "auditor"

# the fields that say where the state lives and how to reach it, under every name they were ever given
ENDPOINT_FIELDS = {
    "graph_url", "portal_url", "auth", "portal_auth", "login_cache", "client_id", "tls", "tls_name", "ca_file",
    "base_dn", "smb_host", "insecure_ldap", "password_variable", "forbid", "latency_ms", "ad_host", "ad_user",
    "ad_tls", "ad_ca_file", "ad_tls_name", "ad_base_dn", "ad_password_variable", "lab_forbid", "lab_latency_ms",
}
# records that declare one of those names for something else than reaching the tenant or the DC
OTHER_MEANINGS = {
    ("snapshot/directory.py", "DirectoryState"): {"base_dn"},  # the naming context that was read
    ("snapshot/directory.py", "DirectoryDiscovery"): {"base_dn"},
    ("lab/emulator.py", "Faults"): {"latency_ms"},  # the emulator's side of a lab fault
    ("lab/tls.py", "LabCertificates"): {"ca_file"},  # the lab CA the lab writes
    ("lab/identity.py", "_DeviceGrant"): {"client_id"},  # grants the lab's identity platform issued
    ("lab/identity.py", "_RefreshGrant"): {"client_id"},
    ("lab/identity.py", "_AccessGrant"): {"client_id"},
    ("readers/login_cache.py", "LoginRecord"): {"client_id"},  # the client a reader signed in with
}


def _declared_fields() -> dict[tuple[str, str], set[str]]:
    found = {}
    for path in AUDITOR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {s.target.id for s in node.body if isinstance(s, ast.AnnAssign)
                         and isinstance(s.target, ast.Name)}
                if names & ENDPOINT_FIELDS:
                    found[(str(path.relative_to(AUDITOR)), node.name)] = names & ENDPOINT_FIELDS
    return found


def test_the_endpoint_fields_are_declared_in_one_module() -> None:
    declared = _declared_fields()
    elsewhere = {key: names for key, names in declared.items()
                 if key[0] != "endpoints.py" and OTHER_MEANINGS.get(key) != names}
    assert elsewhere == {}, f"endpoint fields declared outside auditor/endpoints.py: {elsewhere}"
    assert {key[1] for key in declared if key[0] == "endpoints.py"} == {"LabSelection", "AdEndpoint", "Endpoints"}


def test_the_fleet_inventory_embeds_the_model() -> None:
    from auditor.policy.fleet import FleetTenant

    assert issubclass(FleetTenant, Endpoints)
    tenant = FleetTenant.model_validate({"name": "a", "policy": "p.yaml", "tenant_id": "contoso.onmicrosoft.com",
                                         "auth": "secret", "ad": {"host": "dc1", "user": "r@corp"}})
    assert isinstance(tenant.ad, AdEndpoint) and tenant.auth is AuthKind.secret
    with pytest.raises(ValueError, match="unattended"):  # no one answers a device code in a fleet run
        FleetTenant.model_validate({"name": "a", "policy": "p.yaml", "tenant_id": "contoso.onmicrosoft.com",
                                    "auth": "device-code"})


def test_the_auth_choices_derive_from_the_enum() -> None:
    from auditor.cli import build_parser

    parser = build_parser()
    commands = {name: sub for action in parser._actions if hasattr(action, "choices") and action.choices
                and isinstance(action.choices, dict) for name, sub in action.choices.items()}
    for name in ("check", "collect", "export", "plan"):
        options = {o.dest: o for o in commands[name]._actions}
        assert tuple(options["auth"].choices) == tuple(k.value for k in GRAPH_AUTH)
        assert tuple(options["portal_auth"].choices) == tuple(k.value for k in PORTAL_AUTH)
    for name in ("apply", "rollback"):
        options = {o.dest: o for o in commands[name]._actions}
        assert "login-cache" not in options["portal_auth"].choices  # never for writing
        assert options["auth"].default is None and options["timeout"].default is None  # the plan's unless given


def test_no_auth_on_loopback_is_the_lab_token_for_graph_and_the_portal() -> None:
    local = Endpoints(graph_url="http://127.0.0.1:9/v1.0", portal=True, portal_url="http://127.0.0.1:9/api")
    assert (local.resolved().auth, local.resolved().portal_auth) == (AuthKind.lab, AuthKind.lab)
    remote = Endpoints(tenant_id="t", auth=AuthKind.azure_cli, portal=True)
    assert remote.resolved().graph_url == "https://graph.microsoft.com/v1.0"
    assert remote.resolved().portal_auth is AuthKind.azure_cli
    cached = local.model_copy(update={"portal_auth": AuthKind.login_cache})
    assert cached.resolved().portal_auth is AuthKind.login_cache  # the reader's cache stays the reader's cache


def test_the_opener_owns_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.readers.reach import EndpointError, open_endpoints

    with pytest.raises(EndpointError, match="loopback"):
        open_endpoints(Endpoints(graph_url="https://graph.example/v1.0", auth=AuthKind.lab))
    with pytest.raises(EndpointError, match="choose a credential"):
        open_endpoints(Endpoints(tenant_id="t"))
    with pytest.raises(EndpointError, match="not for writing"):
        open_endpoints(Endpoints(graph_url="http://127.0.0.1:9/v1.0", portal_url="http://127.0.0.1:9/api",
                                 portal_auth=AuthKind.login_cache), "write")
    plain = Endpoints(graph_url="http://127.0.0.1:9/v1.0", ad=AdEndpoint(host="dc", user="u", tls="none"))
    monkeypatch.setenv("SSPR_AD_PASSWORD", "pw")
    for purpose in ("read", "write"):
        with pytest.raises(EndpointError, match="--insecure-ldap"):
            open_endpoints(plain, purpose)  # type: ignore[arg-type]
    accepted = plain.model_copy(update={"ad": plain.ad.model_copy(update={"insecure_ldap": True})})  # type: ignore[union-attr]
    assert open_endpoints(accepted).ad is not None
    own = accepted.model_copy(update={"ad": accepted.ad.model_copy(update={"password_variable": "DC2_PASSWORD"})})  # type: ignore[union-attr]
    monkeypatch.delenv("DC2_PASSWORD", raising=False)
    with pytest.raises(EndpointError, match="DC2_PASSWORD"):
        open_endpoints(own)
    monkeypatch.setenv("DC2_PASSWORD", "other")
    reached = open_endpoints(own)
    assert reached.ad is not None and reached.ad.password == "other" and reached.ad.host == "dc"


def test_a_lab_selection_is_not_opened_as_a_live_tenant() -> None:
    from auditor.readers.reach import EndpointError, open_endpoints

    with pytest.raises(EndpointError, match="in-process"):
        open_endpoints(Endpoints(lab=LabSelection(scenario="demo")))


def test_cli_py_stays_a_thin_dispatcher() -> None:
    lines = (AUDITOR / "cli.py").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"auditor/cli.py has {len(lines)} lines: a command's code goes to auditor/commands/"
    text = "\n".join(lines)
    assert "__name__ in (" not in text and "type(exc).__name__" not in text  # errors are mapped by type


def _integer_exit_codes(path: Path) -> list[str]:
    """`return 3`, `exit_code=3`, `sys.exit(3)`: an exit code written as a number instead of from the table."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        value = None
        if isinstance(node, ast.keyword) and node.arg == "exit_code":
            value = node.value
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "exit":
            value = node.args[0] if node.args else None
        if isinstance(value, ast.Constant) and isinstance(value.value, int) and not isinstance(value.value, bool):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_exit_codes_come_from_the_one_table() -> None:
    places = [p for p in AUDITOR.rglob("*.py") if p.name != "exit_codes.py" or p.parent != AUDITOR]
    assert [hit for path in places for hit in _integer_exit_codes(path)] == []
    for path in [AUDITOR / "cli.py", *(AUDITOR / "commands").glob("*.py")]:
        returns = [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
                   and isinstance(node.value.value, int)]
        assert returns == [], f"{path.relative_to(ROOT)} returns a numeric exit code at lines {returns}"
