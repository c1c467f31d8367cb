"""scripts/setup leaves the machine as it found it (issue 28, item 8): the policy-rc.d guard that stops package
scripts from starting Samba's services exists while apt-get runs, and is gone afterwards however setup ends;
a guard that was there before is never touched.

The real script runs, unmodified, as root in a private mount namespace whose /usr/sbin is a temporary folder
(so the machine's own /usr/sbin/policy-rc.d is never at stake), with apt-get, dpkg-query and Python replaced by
small fakes on PATH that record what they saw.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARD = "#!/bin/sh\nexit 101\n"

FAKE_APT_GET = """#!/bin/sh
# record what the guard looked like while apt-get ran, then do what the test asked
if [ -e /usr/sbin/policy-rc.d ]; then
  { echo "present $(stat -c %a /usr/sbin/policy-rc.d)"; cat /usr/sbin/policy-rc.d; } > "$FAKE_LOG/apt-$1"
else
  echo absent > "$FAKE_LOG/apt-$1"
fi
case "$FAKE_APT:$1" in
  fail:install) exit 100 ;;
  hang:install) touch "$FAKE_LOG/waiting"; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 0 ;;
esac
exit 0
"""

FAKE_DPKG_QUERY = """#!/bin/sh
exit 1  # nothing installed: setup goes the apt-get way
"""

# `python -m venv DIR` makes DIR/bin/python (a copy of this fake); every other call succeeds, or fails when asked
FAKE_PYTHON = """#!/bin/sh
[ "$FAKE_PYTHON" = fail ] && exit 1
if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
exit 0
"""


@dataclass
class Run:
    code: int
    stderr: str
    sbin: Path
    log: Path

    def seen_by(self, apt_command: str) -> str:
        return (self.log / f"apt-{apt_command}").read_text()


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root: setup takes the apt-get way only as root, and a mount namespace needs it too")
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux)")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "requirements").mkdir()
    shutil.copy2(ROOT / "scripts" / "setup", repo / "scripts" / "setup")
    shutil.copy2(ROOT / "pyproject.toml", repo / "pyproject.toml")
    shutil.copy2(ROOT / "requirements" / "dev.lock", repo / "requirements" / "dev.lock")
    fakes = tmp_path / "bin"
    fakes.mkdir()
    _executable(fakes / "apt-get", FAKE_APT_GET)
    _executable(fakes / "dpkg-query", FAKE_DPKG_QUERY)
    _executable(fakes / "python", FAKE_PYTHON)
    (tmp_path / "sbin").mkdir()
    (tmp_path / "log").mkdir()
    return tmp_path


def start(sandbox: Path, **env: str) -> subprocess.Popen[str]:
    environment = {
        "PATH": f"{sandbox / 'bin'}:/usr/bin:/bin", "HOME": str(sandbox), "LANG": "C.UTF-8",
        "PYTHON": str(sandbox / "bin" / "python"), "FAKE_LOG": str(sandbox / "log"), **env,
    }
    # a private mount namespace: /usr/sbin is the sandbox's folder there, and only there
    command = ["unshare", "--mount", "--propagation", "private", "--", "bash", "-c",
               'mount --bind "$1" /usr/sbin && exec bash "$2"', "_", str(sandbox / "sbin"),
               str(sandbox / "repo" / "scripts" / "setup")]
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def run_setup(sandbox: Path, **env: str) -> Run:
    process = start(sandbox, **env)
    _, stderr = process.communicate(timeout=120)
    return Run(process.returncode, stderr, sandbox / "sbin", sandbox / "log")


@pytest.fixture(autouse=True)
def machine_guard_untouched() -> object:
    """Whatever the test does, the machine's own /usr/sbin/policy-rc.d is as it was."""
    real = Path("/usr/sbin/policy-rc.d")
    before = (real.read_bytes(), real.stat().st_mtime_ns) if real.exists() else None
    yield
    assert ((real.read_bytes(), real.stat().st_mtime_ns) if real.exists() else None) == before


def test_the_guard_is_there_while_apt_get_runs_and_gone_after_a_setup_that_succeeds(sandbox: Path) -> None:
    run = run_setup(sandbox, FAKE_APT="ok")
    assert run.code == 0, run.stderr
    for command in ("update", "install"):
        assert run.seen_by(command) == "present 755\n" + GUARD
    assert list(run.sbin.iterdir()) == []


def test_the_guard_is_removed_when_apt_get_fails(sandbox: Path) -> None:
    run = run_setup(sandbox, FAKE_APT="fail")
    assert run.code == 100, run.stderr
    assert run.seen_by("install").startswith("present")
    assert list(run.sbin.iterdir()) == []


def test_the_guard_is_removed_when_a_later_step_fails(sandbox: Path) -> None:
    run = run_setup(sandbox, FAKE_APT="ok", FAKE_PYTHON="fail")
    assert run.code != 0
    assert run.seen_by("install").startswith("present")
    assert list(run.sbin.iterdir()) == []


def test_the_guard_is_removed_when_setup_is_stopped_during_apt_get(sandbox: Path) -> None:
    process = start(sandbox, FAKE_APT="hang")
    waiting = sandbox / "log" / "waiting"
    for _ in range(600):  # bounded: at most 60 s for the fake apt-get to start
        if waiting.exists() or process.poll() is not None:
            break
        time.sleep(0.1)
    assert waiting.exists(), process.communicate(timeout=10)
    assert (sandbox / "sbin" / "policy-rc.d").exists()  # the guard is in place while apt-get runs
    os.killpg(process.pid, signal.SIGTERM)  # as a terminal or CI stops the whole group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert list((sandbox / "sbin").iterdir()) == []


def test_a_guard_that_was_there_before_is_left_exactly_as_it_was(sandbox: Path) -> None:
    theirs = sandbox / "sbin" / "policy-rc.d"
    _executable(theirs, "#!/bin/sh\n# the machine's own policy\nexit 0\n")
    before = theirs.stat()
    for apt in ("ok", "fail"):
        run = run_setup(sandbox, FAKE_APT=apt)
        assert run.seen_by("install") == "present 755\n#!/bin/sh\n# the machine's own policy\nexit 0\n"
        assert theirs.read_text() == "#!/bin/sh\n# the machine's own policy\nexit 0\n"
        assert (theirs.stat().st_mtime_ns, theirs.stat().st_mode) == (before.st_mtime_ns, before.st_mode)
