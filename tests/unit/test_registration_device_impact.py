"""The registration policy's impact preview counted from the device data: per covered user, whether they own an
enabled compliant (compliantDevice) or hybrid-joined (domainJoinedDevice, trustType ServerAd) device; users with
none would be blocked, users whose devices lack a field the count needs are unknown, apart; devices attributed to
nobody are said. The device rows come through the reader's wire model (auditor/readers/devices_wire.py)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.policy.models import Policy
from auditor.readers.devices_wire import device_rows
from auditor.readers.graph_wire import WireError
from auditor.remediation.changes import ChangeImpact, GraphCaPolicyChange, SettingChange
from auditor.remediation.impact import impact_lines, impacts_of
from auditor.snapshot.devices import DevicesState
from auditor.snapshot.models import Section
from tests.unit.cases_coverage import USERS, coverage_snapshot

U = [u for u in USERS if u.enabled]  # the covered users of an `All` policy: disabled users are not counted
POLICY = Policy.model_validate({"version": 1})


def device(n: int, owner: Any = None, **fields: Any) -> dict[str, Any]:
    row = {"id": f"dev-{n}", "displayName": f"PC-{n}", "accountEnabled": True, "isCompliant": None,
           "trustType": "AzureAd", "registeredOwners": [{"@odata.type": "#microsoft.graph.user", "id": owner.id}]
           if owner is not None else []}
    row.update(fields)
    return {k: v for k, v in row.items() if v is not ...}  # `...`: the field is not sent


def preview(rows: list[dict[str, Any]] | None, built_in: list[str],
            operator: str | None = None) -> ChangeImpact:
    devices = Section[DevicesState].ok("graph:GET /devices", DevicesState(devices=device_rows(rows))) \
        if rows is not None else None
    change = GraphCaPolicyChange(id="1", target="graph ca (new)", summary="create", display_name="reg",
                                 policy_id=None, setting=SettingChange(name="state", old=None,
                                                                       new="enabledForReportingButNotEnforced"),
                                 include_users=["All"], built_in=built_in)
    [impact] = impacts_of([change], POLICY, coverage_snapshot(devices=devices))
    return impact


DEVICE_GRANT = ["compliantDevice", "domainJoinedDevice"]


def test_users_without_a_compliant_or_joined_device_would_be_blocked() -> None:
    rows = [device(1, U[0], isCompliant=True),                       # compliant: not blocked
            device(2, U[1], trustType="ServerAd"),                   # hybrid joined: not blocked
            device(3, U[2], isCompliant=False),                      # neither: blocked
            device(4, U[3], isCompliant=True, accountEnabled=False)]  # disabled: does not count
    impact = preview(rows, DEVICE_GRANT)
    assert impact.in_scope_after == len(U)
    assert set(impact.blocked) == {u.upn for u in U[2:]}
    assert impact.counts == {"blocked": len(U) - 2, "unknown": 0}
    assert f"blocks {len(U) - 2} of the {len(U)} users" in impact_lines([impact])[0]


def test_only_the_granted_device_control_counts() -> None:
    rows = [device(1, U[0], isCompliant=True), device(2, U[1], trustType="ServerAd")]
    assert U[1].upn in preview(rows, ["compliantDevice"]).blocked
    assert U[0].upn in preview(rows, ["domainJoinedDevice"]).blocked


def test_a_device_lacking_a_needed_field_leaves_its_owner_unknown_and_is_named() -> None:
    rows = [device(1, U[0], isCompliant=...),              # compliance not sent
            device(2, U[1], accountEnabled=...),           # enabled not sent
            device(3, U[2], isCompliant="yes"),            # mistyped
            device(4, U[3], isCompliant=False, trustType=...)]
    impact = preview(rows, DEVICE_GRANT)
    assert impact.counts["unknown"] == 4 and not {u.upn for u in U[:4]} & set(impact.blocked)
    assert impact.counts["blocked"] == len(U) - 4
    notes = " | ".join(impact.not_judged)
    assert "1 with isCompliant absent" in notes and "1 with accountEnabled absent" in notes
    assert "1 with isCompliant a string where a boolean is required" in notes and "1 with trustType absent" in notes
    assert "unknown: " in notes and U[0].upn in notes
    assert "(4 more unknown)" in impact_lines([impact])[0]


def test_a_known_compliant_device_outweighs_an_unknown_one() -> None:
    impact = preview([device(1, U[0], isCompliant=...), device(2, U[0], isCompliant=True)], DEVICE_GRANT)
    assert impact.counts["unknown"] == 0 and U[0].upn not in impact.blocked


def test_devices_attributed_to_nobody_are_said_never_guessed() -> None:
    rows = [device(1, None, trustType="ServerAd"),                 # hybrid joined, no registered owner
            device(2, U[0], trustType="ServerAd", registeredOwners=...)]  # owners not sent
    impact = preview(rows, DEVICE_GRANT)
    assert impact.counts == {"blocked": len(U), "unknown": 0}  # owning none is what the data shows
    note = next(n for n in impact.not_judged if "attributed to nobody" in n)
    assert "2 enabled device(s)" in note and "1 with no registered owner" in note and "1 whose owners" in note
    assert any("registeredOwners absent" in n for n in impact.not_judged)


def test_the_grant_operator_combines_mfa_and_the_device() -> None:
    # the coverage snapshot's registration rows: every enabled member is MFA capable unless the row says not
    rows = [device(1, U[0], isCompliant=True)]
    either = preview(rows, ["mfa", "compliantDevice"])
    assert U[0].upn not in either.blocked
    change = GraphCaPolicyChange(id="1", target="t", summary="s", display_name="reg", policy_id=None,
                                 setting=SettingChange(name="state", old=None, new="enabled"),
                                 include_users=["All"], built_in=["mfa", "compliantDevice"])
    from auditor.derive.registration_impact import Target, blocked_by

    snapshot = coverage_snapshot(devices=Section[DevicesState].ok("t", DevicesState(devices=device_rows(rows))))
    both = blocked_by(Target(True, (), frozenset(), tuple(change.built_in), None, operator="AND"),
                      snapshot.cloud_users.value, snapshot.registration_details.value, None, None,
                      snapshot.devices.value)
    assert U[0].upn not in both.blocked and U[1].upn in both.blocked  # AND: MFA alone is not enough


def test_without_device_data_nothing_is_counted_as_blocked() -> None:
    impact = preview(None, DEVICE_GRANT)
    assert impact.blocked == [] and impact.counts["unknown"] == len(U)
    assert any("no device data" in n and "compliant_or_joined_device" in n for n in impact.not_judged)


def test_a_row_without_an_id_fails_the_section_naming_it() -> None:
    with pytest.raises(WireError, match="`id` absent in 1 of 2 devices"):
        device_rows([{"displayName": "x"}, device(1)])
