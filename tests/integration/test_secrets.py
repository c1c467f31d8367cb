"""Secret hygiene: a known client secret, bind password and token appear in nothing the tool writes or says.

Every CLI flow runs as a real `sspr-audit -v` process (debug logging on) with the secrets in its
environment, against the lab emulator and a Samba DC: `check` in every format, `collect`, `check` of
the snapshot, `export`, `plan` with its PowerShell script, `apply --yes`, `rollback --yes`, and the
failures that carry the most detail (a wrong bind password, a client-secret credential that cannot be
built, a DC whose certificate is not trusted). Every file written and all captured stdout and stderr
are scanned for each secret, as UTF-8, UTF-16 and base64. Plain LDAP is refused without
`--insecure-ldap`; certificate verification is on without any option.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from samba_fixtures import fresh_dc, state_dir

from auditor.lab.server import LabIdentityServer, LabServer
from auditor.lab_domain import samba
from auditor.lab_domain.samba import SambaDC
from auditor.readers.credentials import LabTokenCredential

pytestmark = pytest.mark.samba

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
CLIENT_SECRET = "client-secret-canary-7Qx~2d.Kf9"
WRONG_PASSWORD = "Wr0ng-Bind-Canary-9c1e!"
TENANT, CLIENT = "3f8e2b6a-1c4d-4e5f-8a9b-0c1d2e3f4a5b", "11111111-2222-3333-4444-555555555555"
LOGIN_KEY = "login-key-canary-8d2f6a1c9e4b7d3f0a5c"


@dataclass
class Session:
    lab: LabServer
    dc: SambaDC
    out: Path
    identity: LabIdentityServer
    said: list[tuple[str, str]] = field(default_factory=list)
    """(command, stdout + stderr) of every run"""

    @property
    def secrets(self) -> dict[str, str]:
        found = {"client secret": CLIENT_SECRET, "bind password": self.dc.admin_password,
                 "wrong bind password": WRONG_PASSWORD, "lab token": LabTokenCredential().token,
                 "login key": LOGIN_KEY}
        # every access and refresh token the identity platform issued to `login` and its silent refreshes
        found.update({f"issued token {n}": token for n, token in enumerate(self.identity.state.issued)})
        return found

    def run(self, *args: str, password: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "SSPR_LAB_DIR": str(state_dir()), "AZURE_CLIENT_SECRET": CLIENT_SECRET,
                       "SSPR_AD_PASSWORD": password or self.dc.admin_password, "PYTHONWARNINGS": "ignore",
                       "SSPR_LOGIN_KEY": LOGIN_KEY, "REQUESTS_CA_BUNDLE": str(self.identity.ca_file),
                       "AZURE_AUTHORITY_HOST": self.identity.base_url, **env}
        result = subprocess.run([sys.executable, "-m", "auditor.cli", "-v", *args], cwd=ROOT, capture_output=True,
                                text=True, timeout=600, env=environment)
        self.said.append((" ".join(args[:1]), result.stdout + result.stderr))
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        return result

    def sources(self) -> list[str]:
        return ["--graph-url", self.lab.graph_url, "--auth", "lab", "--portal", "--portal-url", self.lab.portal_url,
                "--portal-auth", "lab"]

    def ad(self, *extra: str) -> list[str]:
        return ["--ad-host", self.dc.address, "--ad-user", self.dc.admin_upn, "--ad-ca-file", str(self.dc.ca_file),
                *extra]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    dc = fresh_dc("demo")
    try:
        with dc, LabServer("demo") as lab, LabIdentityServer() as identity:
            identity.state.access_token_seconds = 60  # so the login-cache run refreshes (and rotates) too
            identity.sign_in_to(lab)  # the login-cache run's reader is of the tenant the lab's Graph reads
            yield Session(lab, dc, tmp_path_factory.mktemp("secrets"), identity)
    finally:
        samba.remove(dc)


def encodings(secret: str) -> list[bytes]:
    raw = secret.encode("utf-8")
    forms = [raw, secret.encode("utf-16-le"), secret.encode("utf-16-be")]
    for shift in range(3):  # base64 of the secret at each alignment inside a longer blob
        chunk = base64.b64encode(b"\0" * shift + raw)[4 if shift else 0:-4]
        forms.append(chunk)
    return forms


@pytest.fixture(scope="module")
def runs(session: Session) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every flow, once, in the order a user would run them."""
    out, formats, done = session.out, "html,json,sarif,junit,markdown,csv", {}
    done["check"] = session.run("check", str(BASELINE), *session.sources(), *session.ad(), "--out",
                                str(out / "check"), "--format", formats)
    done["collect"] = session.run("collect", *session.sources(), *session.ad(), "--policy", str(BASELINE),
                                  "--out", str(out / "snapshot.json"))
    done["offline"] = session.run("check", str(BASELINE), "--snapshot", str(out / "snapshot.json"), "--out",
                                  str(out / "offline"), "--format", formats)
    done["export"] = session.run("export", *session.sources(), "--out", str(out / "live.yaml"))
    done["plan"] = session.run("plan", str(BASELINE), *session.sources(), *session.ad(), "--out",
                               str(out / "plan.json"), "--powershell", str(out / "plan.ps1"))
    done["apply"] = session.run("apply", str(out / "plan.json"), "--yes", "--backup", str(out / "backup.json"))
    done["rollback"] = session.run("rollback", str(out / "backup.json"), "--yes")
    done["login"] = session.run("login", "--tenant-id", session.identity.state.tenant_id, "--cache",
                                str(out / "login-cache.json"))
    done["login-cache check"] = session.run(
        "check", str(BASELINE), "--graph-url", session.lab.graph_url, "--auth", "lab", "--portal", "--portal-url",
        session.lab.portal_url, "--portal-auth", "login-cache", "--login-cache", str(out / "login-cache.json"),
        *session.ad(), "--out", str(out / "login-check"), "--format", formats)
    # the failures that carry the most detail
    done["wrong password"] = session.run("check", str(BASELINE), *session.sources(), *session.ad(), "--out",
                                         str(out / "wrong"), "--format", "json,html", password=WRONG_PASSWORD)
    done["secret credential"] = session.run(
        "check", str(BASELINE), "--graph-url", session.lab.graph_url, "--auth", "secret", "--tenant-id", TENANT,
        "--client-id", CLIENT, "--out", str(out / "secret"), AZURE_AUTHORITY_HOST="http://127.0.0.1:9")
    done["untrusted"] = session.run("check", str(BASELINE), *session.sources(), "--ad-host", session.dc.address,
                                    "--ad-user", session.dc.admin_upn, "--out", str(out / "untrusted"),
                                    "--format", "json")
    done["plain"] = session.run("check", str(BASELINE), *session.sources(), *session.ad("--ad-tls", "none"),
                                "--out", str(out / "plain"))
    done["plain collect"] = session.run("collect", *session.sources(), *session.ad("--ad-tls", "none"),
                                        "--policy", str(BASELINE), "--out", str(out / "plain.json"))
    done["insecure"] = session.run("check", str(BASELINE), *session.sources(),
                                   *session.ad("--ad-tls", "none", "--insecure-ldap"), "--out", str(out / "insecure"),
                                   "--format", "json")
    done["plain apply"] = session.run("apply", str(plain_plan(out)), "--yes", "--backup",
                                      str(out / "plain-backup.json"))
    return done


def plain_plan(out: Path) -> Path:
    """The plan, as `plan --ad-tls none --insecure-ldap` would have recorded it (sealed again)."""
    from auditor.remediation.changes import load_plan

    plan = load_plan(out / "plan.json")
    endpoints = plan.source.endpoints
    plain_ad = endpoints.model_copy(update={"ad": endpoints.ad.model_copy(update={"tls": "none"})})
    plain = plan.model_copy(update={"source": plan.source.model_copy(update={"endpoints": plain_ad})}).sealed()
    path = out / "plain-plan.json"
    path.write_text(plain.model_dump_json(indent=2))
    return path


def test_every_flow_ran(runs: dict[str, subprocess.CompletedProcess[str]], session: Session) -> None:
    codes = {name: run.returncode for name, run in runs.items()}
    assert codes["check"] == codes["offline"] == 1  # the demo drift, cloud and on-premises
    assert codes["collect"] == 0 and codes["export"] in (0, 1) and codes["plan"] == 4
    assert codes["apply"] == 0 and codes["rollback"] == 0, runs["apply"].stdout + runs["rollback"].stdout
    assert codes["login"] == 0 and codes["login-cache check"] == 1, runs["login-cache check"].stderr
    assert session.identity.state.outcomes("refresh_token") == ["refreshed"]  # the silent refresh ran
    assert "invalid credentials" in (session.out / "wrong" / "sspr-audit.json").read_text()
    assert codes["secret credential"] == 2 and "authority" in runs["secret credential"].stderr
    assert not (session.out / "secret").exists()
    assert any("DEBUG " in run.stderr for run in runs.values())  # -v really logged at debug level


def test_tls_is_verified_by_default_and_plain_ldap_needs_insecure_ldap(
        runs: dict[str, subprocess.CompletedProcess[str]], session: Session) -> None:
    out = session.out
    assert "not trusted" in (out / "untrusted" / "sspr-audit.json").read_text()  # no CA given: refused
    for name in ("plain", "plain collect", "plain apply"):
        assert runs[name].returncode == 2 and "--insecure-ldap" in runs[name].stderr, runs[name].stderr
    assert not (out / "plain").exists() and not (out / "plain.json").exists()
    assert not (out / "plain-backup.json").exists()
    # with --insecure-ldap it is said out loud, and the lab DC still insists on an encrypted bind
    assert "in clear" in runs["insecure"].stderr
    assert "encrypted connection" in (out / "insecure" / "sspr-audit.json").read_text()


def test_no_secret_in_any_file_or_anything_said(runs: dict[str, subprocess.CompletedProcess[str]],
                                                 session: Session) -> None:
    written = [path for path in session.out.rglob("*") if path.is_file()]
    kinds = {path.suffix for path in written}
    assert {".html", ".json", ".sarif", ".xml", ".md", ".csv", ".ps1", ".yaml"} <= kinds
    assert any(path.name == "backup.json" for path in written) and any(path.name == "plan.json" for path in written)
    for name, secret in session.secrets.items():
        forms = encodings(secret)
        for path in written:
            data = path.read_bytes()
            assert not [form for form in forms if form in data], (name, path)
        for command, text in session.said:
            assert secret not in text, (name, command)
    for command, text in session.said:  # no token in any header or log line
        assert "Bearer " not in text and "authorization:" not in text.lower(), command
