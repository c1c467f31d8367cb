"""The hash-pinned lock files (requirements/*.lock, written by scripts/lock) agree with pyproject.toml: every
requirement of the locked audience is pinned at a version its specifier allows, every pin carries hashes, every
locked package is reached from pyproject.toml through the lock's own `# via` lines, and every locked package's own
dependencies (as its installed metadata declares them, on this interpreter) are pinned too."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NAME = canonicalize_name(PROJECT["name"])
FROM_PYPROJECT = f"{PROJECT['name']} (pyproject.toml)"
# lock file -> the extras it locks on top of [project.dependencies]
AUDIENCES = {"audit.lock": (), "dev.lock": ("dev",)}
PYTHONS = ("3.11", "3.12", "3.13")


@dataclass
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def parse_lock(path: Path) -> dict[str, Pin]:
    """`name==version [; marker] \\` then `--hash=sha256:…` lines, then `# via …` comment lines."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    in_via = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip().rstrip("\\").strip()
        if not line:
            continue
        if not raw.startswith((" ", "#")):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            current = Pin(canonicalize_name(requirement.name), Version(specifier.version), requirement.marker)
            assert current.name not in pins, f"{path.name}: {current.name} pinned twice"
            pins[current.name] = current
            in_via = False
        elif current is None:
            continue  # the header
        elif line.startswith("--hash="):
            current.hashes.append(line.removeprefix("--hash="))
        elif line.startswith("# via"):
            in_via = True
            if rest := line.removeprefix("# via").strip():
                current.via.append(rest)
        elif in_via and line.startswith("#"):
            current.via.append(line.lstrip("#").strip())
    return pins


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    """[project.dependencies] plus the extras, a self-reference (`sspr-auditor[lab]`) expanded to its extras."""
    requirements = [Requirement(text) for text in PROJECT["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in PROJECT["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == NAME:
                todo.extend(requirement.extras)
            else:
                requirements.append(requirement)
    return requirements


def applies_somewhere(marker: Marker | None) -> bool:
    return marker is None or any(marker.evaluate({"python_version": v, "python_full_version": f"{v}.0"})
                                 for v in PYTHONS)


@pytest.fixture(scope="module", params=sorted(AUDIENCES))
def lock(request: pytest.FixtureRequest) -> tuple[str, dict[str, Pin]]:
    return request.param, parse_lock(ROOT / "requirements" / request.param)


def test_the_lock_header_names_the_command_that_wrote_it(lock: tuple[str, dict[str, Pin]]) -> None:
    name, _ = lock
    head = (ROOT / "requirements" / name).read_text(encoding="utf-8").splitlines()[:4]
    assert "scripts/lock" in head[0]
    assert head[1].startswith("#   uv pip compile pyproject.toml --universal") and "--generate-hashes" in head[1]
    assert all(line.startswith("#") for line in head)


def test_every_requirement_is_pinned_at_a_version_its_specifier_allows(lock: tuple[str, dict[str, Pin]]) -> None:
    name, pins = lock
    requirements = wanted(AUDIENCES[name])
    assert len(requirements) >= 14
    for requirement in requirements:
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{name}: {requirement} is not locked"
        assert requirement.specifier.contains(pin.version, prereleases=True), f"{name}: {requirement} vs {pin.version}"


def test_every_pin_has_sha256_hashes(lock: tuple[str, dict[str, Pin]]) -> None:
    name, pins = lock
    for pin in pins.values():
        assert pin.hashes, f"{name}: {pin.name} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for digest in pin.hashes), pin.name


def test_nothing_in_the_lock_is_unreachable_from_pyproject(lock: tuple[str, dict[str, Pin]]) -> None:
    name, pins = lock
    reached = {pin.name for pin in pins.values() if FROM_PYPROJECT in pin.via}
    assert reached == {canonicalize_name(r.name) for r in wanted(AUDIENCES[name])}
    grew = True
    while grew:
        before = len(reached)
        reached |= {pin.name for pin in pins.values() if any(canonicalize_name(v) in reached for v in pin.via)}
        grew = len(reached) > before
    assert set(pins) - reached == set(), f"{name}: locked but nothing requires them"
    for pin in pins.values():  # every `via` names pyproject.toml or a package that is itself locked
        assert all(v == FROM_PYPROJECT or canonicalize_name(v) in pins for v in pin.via), (name, pin.via)


def test_the_lab_server_is_only_in_the_dev_lock() -> None:
    audit, dev = parse_lock(ROOT / "requirements" / "audit.lock"), parse_lock(ROOT / "requirements" / "dev.lock")
    for package in ("starlette", "uvicorn"):
        assert package not in audit and package in dev


def test_the_action_and_ci_install_the_same_versions_of_what_both_lock() -> None:
    """audit.lock (the action) is dev.lock (CI's tests) less the extras: the tested versions are the shipped ones."""
    audit, dev = parse_lock(ROOT / "requirements" / "audit.lock"), parse_lock(ROOT / "requirements" / "dev.lock")
    assert set(audit) <= set(dev)
    for name, pin in audit.items():
        assert (pin.version, sorted(pin.hashes)) == (dev[name].version, sorted(dev[name].hashes)), name


def test_each_locked_package_finds_its_own_dependencies_in_the_lock(lock: tuple[str, dict[str, Pin]]) -> None:
    """The lock is closed: for each locked package installed here at its locked version (scripts/setup installs
    dev.lock), every dependency its metadata declares for this interpreter is locked at an allowed version."""
    name, pins = lock
    checked = 0
    for pin in pins.values():
        if not applies_somewhere(pin.marker):
            continue
        try:
            installed = metadata.distribution(pin.name)
        except metadata.PackageNotFoundError:
            continue
        if Version(installed.version) != pin.version:
            continue
        checked += 1
        for text in installed.requires or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue  # another platform or Python, or an extra nothing here asks for
            dependency = pins.get(canonicalize_name(requirement.name))
            assert dependency is not None, f"{name}: {pin.name} needs {requirement}, which is not locked"
            assert requirement.specifier.contains(dependency.version, prereleases=True), (name, pin.name, text)
    assert checked >= len(wanted(AUDIENCES[name])), f"{name}: only {checked} locked packages are installed here"
