"""The CLI as a user runs it: exit codes, reports written (or not), one-screen errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_demo_lab_writes_reports_and_exits_1_for_drift(tmp_path: Path) -> None:
    result = run("check", str(BASELINE), "--lab", "demo", "--out", str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    html = (tmp_path / "sspr-audit.html").read_text()
    report = json.loads((tmp_path / "sspr-audit.json").read_text())
    assert report["summary"]["exit_code"] == 1
    failing = {f["check"] for f in report["findings"] if f["status"] == "fail"}
    assert {"sspr.gates", "sspr.scope", "admin_sspr", "methods_policy.migration"} <= failing
    for finding in report["findings"]:
        assert {"check", "status", "severity", "target", "expected", "actual", "evidence",
                "policy_location"} <= set(finding)
    assert "sspr.gates" in html and "baseline.yaml" in html
    assert "FAIL" in result.stdout and "exit code 1" in result.stdout


def test_baseline_lab_exits_0(tmp_path: Path) -> None:
    result = run("check", str(BASELINE), "--lab", "baseline", "--out", str(tmp_path), "--format", "json")
    report = json.loads((tmp_path / "sspr-audit.json").read_text())
    cloud = [f for f in report["findings"] if not f["check"].startswith("ad.")]
    assert all(f["status"] in ("pass", "not_applicable") for f in cloud), result.stdout
    if all(f["status"] in ("pass", "not_applicable") for f in report["findings"]):
        assert result.returncode == 0, result.stdout + result.stderr


def test_portal_403_gives_exit_3_and_unknown(tmp_path: Path) -> None:
    result = run("check", str(BASELINE), "--lab", "baseline", "--lab-forbid", "portal", "--out", str(tmp_path),
                 "--format", "json")
    assert result.returncode == 3, result.stdout + result.stderr
    report = json.loads((tmp_path / "sspr-audit.json").read_text())
    gates = next(f for f in report["findings"] if f["check"] == "sspr.gates")
    assert gates["status"] == "unknown" and "403" in gates["reason"]
    warn = run("check", str(BASELINE), "--lab", "baseline", "--lab-forbid", "portal", "--out", str(tmp_path),
               "--format", "json", "--unknown", "warn")
    assert warn.returncode == 0, warn.stdout


def test_misspelt_key_is_exit_2_one_screen_no_traceback_no_report(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASELINE.read_text().replace("methods_required:", "methods_requried:"))
    out = tmp_path / "out"
    result = run("check", str(bad), "--lab", "demo", "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "methods_requried" in text)
    assert f"bad.yaml:{line}:3: sspr.methods_requried: unknown key; did you mean `methods_required`?" in result.stderr
    assert len(result.stderr.splitlines()) <= 25
    assert not out.exists()


def test_collect_then_check_offline(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    assert run("collect", "--lab", "demo", "--out", str(snap)).returncode == 0
    result = run("check", str(BASELINE), "--snapshot", str(snap), "--out", str(tmp_path), "--format", "json")
    assert result.returncode == 1
    assert json.loads((tmp_path / "sspr-audit.json").read_text())["origin"] == "lab:demo"


def test_bad_snapshot_is_exit_2(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text('{"format": "something else"}')
    result = run("check", str(BASELINE), "--snapshot", str(snap), "--out", str(tmp_path))
    assert result.returncode == 2 and "not a valid sspr-auditor snapshot" in result.stderr
    assert "Traceback" not in result.stderr


def test_live_without_credentials_is_a_usage_error(tmp_path: Path) -> None:
    result = run("check", str(BASELINE), "--out", str(tmp_path))
    assert result.returncode == 2 and "--auth" in result.stderr and "Traceback" not in result.stderr
    secret = run("check", str(BASELINE), "--out", str(tmp_path), "--auth", "secret", "--tenant-id", "t",
                 "--client-id", "c")
    assert secret.returncode == 2 and "AZURE_CLIENT_SECRET" in secret.stderr


def test_validate_and_schema(tmp_path: Path) -> None:
    assert run("validate", str(BASELINE)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("sspr:\n  scope: everyone\n")
    result = run("validate", str(BASELINE), str(bad))
    assert result.returncode == 2 and "bad.yaml:2:3: sspr.scope" in result.stderr
    schema = run("schema")
    assert schema.returncode == 0 and json.loads(schema.stdout)["title"] == "sspr-auditor policy"


def test_help_and_validate_do_not_import_heavy_libraries() -> None:
    code = ("import sys; from auditor.cli import main; import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['--help'])\n    except SystemExit: pass\n"
            f"    main(['validate', {str(BASELINE)!r}])\n"
            "heavy = [m for m in ('msgraph', 'azure.identity', 'ldap3', 'jinja2', 'winacl', 'smbprotocol')"
            " if m in sys.modules]\nprint(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
