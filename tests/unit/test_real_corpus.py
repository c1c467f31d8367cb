"""Every reader over the real, public artifacts in tests/fixtures/real/ (issue 13: the corpus).

Each file's origin (repository, path, commit) is one line of tests/fixtures/real/SOURCES.md; a file
without its line, or a line without its file, fails here. Readers parse every file; where a writer
exists it must give the bytes back unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.ad import gpp_registry, gpttmpl, registry_pol
from auditor.ad.sd import parse_dacl
from auditor.snapshot.models import MethodsPolicyState

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
SOURCES = (REAL / "SOURCES.md").read_text(encoding="utf-8")


def files(kind: str, *suffixes: str) -> list[Path]:
    return sorted(p for p in (REAL / kind).iterdir() if p.name.lower().endswith(suffixes))


def test_every_file_has_its_source_line_and_every_line_its_file() -> None:
    listed = {line.split(" | ")[0].strip() for line in SOURCES.splitlines() if line.startswith("tests/fixtures/real/")}
    present = {str(p.relative_to(REAL.parents[2])) for p in REAL.rglob("*")
               if p.is_file() and p.name not in ("SOURCES.md", "FIELDS.md")}
    assert present <= listed, sorted(present - listed)
    assert {p for p in listed if not (REAL.parents[2] / p).is_file()} == set()
    for line in SOURCES.splitlines():
        if line.startswith("tests/fixtures/real/") and not line.split(" | ")[0].endswith(".md"):
            commit = line.split(" | ")[3].strip()
            assert len(commit) == 40 and int(commit, 16) >= 0, line


@pytest.mark.parametrize("path", files("gpo", ".pol"), ids=lambda p: p.name)
def test_registry_pol_parses_and_writes_back_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    entries = registry_pol.parse(data)
    assert registry_pol.write(entries) == data
    registry_pol.allow_password_reset(data)  # never raises on a real file


def test_value_names_holding_semicolons_are_read_whole() -> None:
    entries = registry_pol.parse((REAL / "gpo" / "sos-browsers-machine-registry.pol").read_bytes())
    forced = [e for e in entries if e.key.endswith(r"Chromium\ExtensionInstallForcelist")
              and not e.value_name.startswith("**")]
    assert forced and all(";" in e.value_name for e in forced)
    assert all(e.value_name == e.decoded() for e in forced)  # the name is the "<id>;<update url>" data


@pytest.mark.parametrize("path", files("gpo", ".inf"), ids=lambda p: p.name)
def test_gpttmpl_parses_and_writes_back_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    template = gpttmpl.parse(data)
    assert template.to_bytes() == data
    age = gpttmpl.minimum_password_age(template)
    assert age is None or 0 <= age <= 998


def test_the_baselines_set_a_minimum_password_age_of_one_day() -> None:
    ages = {p.name: gpttmpl.minimum_password_age(gpttmpl.parse(p.read_bytes())) for p in files("gpo", ".inf")}
    assert ages["shb-windows-GptTmpl.inf"] == 1 and ages["dod-win10-GptTmpl.inf"] == 1


@pytest.mark.parametrize("path", files("gpo", ".xml"), ids=lambda p: p.name)
def test_preferences_registry_xml_parses(path: Path) -> None:
    items = gpp_registry.parse(path.read_bytes())
    assert items and all(i.hive and i.action in "CRUD" for i in items)
    value, why = gpp_registry.machine_value(items, registry_pol.SIGN_IN_RESET_KEY, registry_pol.SIGN_IN_RESET_VALUE)
    assert (value, why) == (None, None)  # none of them sets the sign-in value


def test_a_document_type_declaration_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><RegistrySettings>&a;</RegistrySettings>'
    with pytest.raises(gpp_registry.GppError, match="document type"):
        gpp_registry.parse(bomb)


@pytest.mark.parametrize("path", files("sd", ".bin"), ids=lambda p: p.name)
def test_real_security_descriptors_parse(path: Path) -> None:
    facts = parse_dacl(path.read_bytes())
    assert facts.aces or facts.protected is not None


def test_graph_methods_policy_example_reads_targets() -> None:
    from auditor.readers.graph import _method_configuration

    body = json.loads((REAL / "graph" / "authenticationmethodspolicy-get.json").read_text())
    configs = {c.id: c for c in (_method_configuration(c) for c in body["authenticationMethodConfigurations"])}
    assert configs["Sms"].include_target_ids == ["all_users"] and configs["Sms"].exclude_target_ids == []
    # Microsoft's own example has Email enabled with `includeTargets: []`: enabled, yet it reaches nobody
    from auditor.derive.sspr_methods import reach

    policy = MethodsPolicyState(migration_state=None, configurations=list(configs.values()))
    assert reach("email", policy, frozenset({"u1"}), {}).users == frozenset()
    assert reach("mobile_phone", policy, frozenset({"u1"}), {}).users == {"u1"}


def test_graph_sms_example_wraps_the_entity_in_value() -> None:
    from auditor.readers.graph import _method_configuration

    body = json.loads((REAL / "graph" / "smsauthenticationmethodconfiguration-get.json").read_text())
    config = _method_configuration(body["value"])
    assert config.id == "Sms" and config.include_target_ids
