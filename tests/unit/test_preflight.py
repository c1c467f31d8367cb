"""Setup's proof: each missing piece is one line naming the Debian package that brings it (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.app import browser, preflight
from auditor.lab_domain import samba


def test_a_missing_schema_file_names_samba_ad_provision(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gone = str(tmp_path / "ad-schema" / "AD_DS_Attributes__Windows_Server_2012_R2.ldf")
    monkeypatch.setattr(samba, "_PROVISION_FILES", {gone: "samba-ad-provision"})
    monkeypatch.setattr(samba, "_TOOLS", {})
    assert preflight.check_samba() == [f"{gone} is missing: apt-get install samba-ad-provision"]
    if samba.os.geteuid() == 0:
        assert "apt-get install samba-ad-provision" in (samba.unavailable_reason() or "")


def test_a_missing_tool_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samba, "_TOOLS", {"no-such-samba-tool-xyz": "samba-common-bin"})
    monkeypatch.setattr(samba, "_PROVISION_FILES", {})
    assert preflight.check_samba() == ["no-such-samba-tool-xyz is missing: apt-get install samba-common-bin"]


def test_a_missing_browser_names_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    assert preflight.check_browser() == ["headless Chromium is missing: apt-get install chromium"]


def test_a_browser_that_renders_nothing_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(browser, "find_chromium", lambda: str(fake))
    [problem] = preflight.check_browser()
    assert "did not render a page (exit 1)" in problem and "cannot open display" in problem


def test_setup_installs_every_package_the_code_names() -> None:
    setup = (Path(__file__).resolve().parents[2] / "scripts" / "setup").read_text()
    listed = next(line for line in setup.splitlines() if line.startswith("want_apt=("))
    names = set(listed.removeprefix("want_apt=(").removesuffix(")").split())
    needed = set(samba.DEBIAN_PACKAGES) | set(samba._TOOLS.values()) | set(samba._PROVISION_FILES.values())
    assert needed | {browser.CHROMIUM_PACKAGE} <= names
