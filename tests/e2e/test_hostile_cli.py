"""`sspr-audit` given what a careless user or an attacker gives it (issue 14): one clear line and exit 2, never a
traceback, a hang or a changed file; a closed pipe or a terminal that cannot show a character never changes the
exit code of the audit."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.fault_matrix import record_outcome

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def matrix_row(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each case is a row of the fault matrix printed at the end of the run."""
    yield
    record_outcome(request, "input")


BASELINE = ROOT / "policies" / "baseline.yaml"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
        cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=environment)


def refused(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


@pytest.fixture(scope="module", name="snapshot")
def snapshot_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "demo.json"
    made = run("collect", "--lab", "demo", "--out", str(path))
    assert made.returncode == 0, made.stdout + made.stderr
    return path


@pytest.fixture(name="cloud_policy")
def cloud_policy_fixture(tmp_path: Path) -> Path:
    """The baseline without its `directory` section: the cloud audit of a snapshot, no DC."""
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(BASELINE.read_text())
    data.pop("directory", None)
    path = tmp_path / "cloud.yaml"
    with path.open("w") as handle:
        yaml.dump(data, handle)
    return path


@pytest.mark.parametrize(("args", "needle"), [
    (["--lab", "demo", "--lab-latency-ms", "-5"], "must be 0 or more"),
    (["--lab", "demo", "--timeout", "nan"], "more than 0 and at most 3600"),
    (["--lab", "demo", "--timeout", "-1"], "more than 0 and at most 3600"),
    (["--lab", "demo", "--lab-forbid", "nosuch"], "unknown endpoint name(s) nosuch"),
    (["--lab", "/etc/passwd"], "unknown lab scenario '/etc/passwd'"),
    (["--lab", "demo", "--tenant-id", "00000000-0000-0000-0000-000000000001"], "--tenant-id would be ignored"),
])
def test_bad_source_options_are_usage_errors(args: list[str], needle: str, tmp_path: Path) -> None:
    refused(run("check", str(BASELINE), *args, "--out", str(tmp_path / "r")), needle)
    assert not (tmp_path / "r").exists()


def test_snapshot_with_an_ad_host_is_a_usage_error(snapshot: Path, cloud_policy: Path, tmp_path: Path) -> None:
    refused(run("check", str(cloud_policy), "--snapshot", str(snapshot), "--ad-host", "127.0.0.9",
                "--out", str(tmp_path / "r")), "--ad-host would be ignored")


def test_lab_serve_port_out_of_range() -> None:
    refused(run("lab", "serve", "--port", "99999"), "1 to 65535")


def test_a_lab_tenant_with_a_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.yaml"
    tenant.write_text("name: broken\nauthorization_policy:\n  id: x\n  allowedToUseSSPR: [true\n")
    refused(run("check", str(BASELINE), "--lab", str(tenant), "--out", str(tmp_path / "r")),
            f"{tenant}:", "not valid YAML")


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_fifo_or_dev_zero_as_policy_or_snapshot_is_refused_unread(kind: str, tmp_path: Path) -> None:
    if kind == "fifo":
        special = tmp_path / "pipe.yaml"
        os.mkfifo(special)
    else:
        special = Path("/dev/zero")
    refused(run("validate", str(special), timeout=30), "must be a regular file")
    refused(run("check", str(special), "--lab", "demo", "--out", str(tmp_path / "r"), timeout=30),
            "must be a regular file")
    refused(run("check", str(BASELINE), "--snapshot", str(special), "--out", str(tmp_path / "r"), timeout=30),
            "must be a regular file")
    refused(run("diff", str(special), str(special), timeout=30), "must be a regular file")
    refused(run("apply", str(special), timeout=30), "must be a regular file")


def test_deep_json_and_huge_integers_are_refused(tmp_path: Path, cloud_policy: Path) -> None:
    deep, big = tmp_path / "deep.json", tmp_path / "big.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    big.write_text('{"format": "sspr-auditor-plan", "format_version": ' + "7" * 5000 + "}")
    for path, needle in ((deep, "nested 100000 levels deep"), (big, "an integer of 5000 digits")):
        refused(run("apply", str(path)), needle)
        refused(run("rollback", str(path)), needle)
        refused(run("diff", str(path), str(path)), needle)
        refused(run("check", str(cloud_policy), "--snapshot", str(path), "--out", str(tmp_path / "r")), needle)
        refused(run("check", str(cloud_policy), "--lab", "demo", "--previous", str(path),
                    "--out", str(tmp_path / "r")), needle)


def test_out_paths_that_cannot_be_written(tmp_path: Path, snapshot: Path, cloud_policy: Path) -> None:
    refused(run("schema", "--out", "/dev/full"), "a character device, not a file")
    refused(run("schema", "--out", str(tmp_path)), "a directory, not a file")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        # root writes anywhere; an immutable folder stops even root
        if os.geteuid() == 0 and (shutil.which("chattr") is None
                                  or subprocess.run(["chattr", "+i", str(locked)]).returncode != 0):
            pytest.skip("no chattr +i here to make a folder root cannot write")
        refused(run("schema", "--out", str(locked / "schema.json")), f"{locked / 'schema.json'}: cannot write")
        refused(run("check", str(cloud_policy), "--snapshot", str(snapshot), "--out", str(locked / "r")),
                str(locked / "r"))
        refused(run("collect", "--lab", "demo", "--out", str(locked / "s.json")), "cannot write")
    finally:
        if os.geteuid() == 0 and shutil.which("chattr"):
            subprocess.run(["chattr", "-i", str(locked)], check=False)
        locked.chmod(stat.S_IRWXU)
    assert list(locked.iterdir()) == []


def test_a_closed_stdout_pipe_keeps_the_audit_exit_code(snapshot: Path, cloud_policy: Path, tmp_path: Path) -> None:
    full = run("check", str(cloud_policy), "--snapshot", str(snapshot), "--out", str(tmp_path / "a"))
    assert full.returncode in (0, 1, 3) and full.stdout.count("\n") > 2
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", "check", str(cloud_policy), "--snapshot",
                                str(snapshot), "--out", str(tmp_path / "b")], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    process.stdout.readline()
    process.stdout.close()  # `| head -1`
    code = process.wait(timeout=120)
    reader.join()
    assert code == full.returncode, errors
    assert b"Traceback" not in errors[0] and b"BrokenPipe" not in errors[0]


@pytest.mark.parametrize("command", ["check", "validate-error"])
def test_a_closed_stderr_pipe_keeps_the_exit_code(command: str, cloud_policy: Path,
                                                  tmp_path: Path) -> None:
    """Issue 29: stderr's reader gone (`2>&1 | head -1` closing early, a log collector that died) is no reason
    to change the verdict: the run ends with the code it would have had."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nwriteback:\n  enabeld: true\n")
    args = (["check", str(cloud_policy), "--lab", "demo", "--out"]  # the lab run says what it read on stderr
            if command == "check" else ["validate", str(bad)])
    full = run(*args, *([str(tmp_path / "a")] if command == "check" else []))
    assert full.returncode in ((0, 1, 3) if command == "check" else (2,)) and full.stderr
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", *args,
                                *([str(tmp_path / "b")] if command == "check" else [])],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stderr.close()  # the reader of stderr is gone before the run writes to it
    out = process.stdout.read()
    assert process.wait(timeout=120) == full.returncode, out
    assert out.decode().splitlines()[-1:] == full.stdout.splitlines()[-1:]


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "PYTHONIOENCODING": "latin-1"}])
def test_a_terminal_that_cannot_show_a_character_never_crashes(env: dict[str, str], snapshot: Path,
                                                              cloud_policy: Path, tmp_path: Path) -> None:
    utf8 = run("check", str(cloud_policy), "--snapshot", str(snapshot), "--out", str(tmp_path / "a"))
    narrow = run("check", str(cloud_policy), "--snapshot", str(snapshot), "--out", str(tmp_path / "b"), env=env)
    assert narrow.returncode == utf8.returncode, narrow.stderr
    assert "Traceback" not in narrow.stderr and "UnicodeEncodeError" not in narrow.stderr
    import json

    def findings(folder: str) -> list[object]:
        return json.loads((tmp_path / folder / "sspr-audit.json").read_text())["findings"]

    assert findings("b") == findings("a")  # the same verdicts, written whole
    assert narrow.stdout.splitlines()[-1] == utf8.stdout.splitlines()[-1]


def test_a_target_ou_listed_twice_is_a_policy_error(tmp_path: Path) -> None:
    text = BASELINE.read_text()
    assert "target_ous:" in text
    first = text.split("target_ous:")[1].splitlines()[1]
    policy = tmp_path / "twice.yaml"
    policy.write_text(text.replace(first, first + "\n" + first.upper().replace("- OU", "- ou"), 1))
    result = run("validate", str(policy))
    refused(result, f"{policy}:", "target_ous", "again")


def test_an_expired_waiver_is_said_in_the_terminal_summary(snapshot: Path, cloud_policy: Path,
                                                          tmp_path: Path) -> None:
    first = run("check", str(cloud_policy), "--snapshot", str(snapshot), "--out", str(tmp_path / "a"),
                "--format", "json")
    import json

    failing = next(f for f in json.loads((tmp_path / "a" / "sspr-audit.json").read_text())["findings"]
                   if f["status"] == "fail")
    policy = tmp_path / "waived.yaml"
    text = cloud_policy.read_text()
    assert "waivers: []" in text
    policy.write_text(text.replace("waivers: []", "waivers:\n  - check: " + failing["check"] +
                                   "\n    reason: accepted for the pilot\n    owner: secops@example.test\n"
                                   "    expires: 2020-01-31\n"))
    result = run("check", str(policy), "--snapshot", str(snapshot), "--out", str(tmp_path / "b"))
    assert result.returncode == first.returncode, result.stderr
    assert "[waiver expired 2020-01-31]" in result.stdout
    assert "waiver(s) expired" in result.stdout and "secops@example.test" in result.stdout

