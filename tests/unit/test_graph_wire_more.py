"""Wire models of the licence, Secure Score, audit log, Password Rule Settings and Intune rows (issue #30).

Microsoft's own examples (tests/fixtures/real/graph) validate; a count, time or template id that is absent,
null or mistyped is a `WireError` naming the field, never a default (a missing consumedUnits was 0 seats).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.readers.graph_wire import (
    DeviceConfigurationWire,
    DirectoryAuditWire,
    GroupSettingWire,
    Rows,
    SecureScoreProfileWire,
    SecureScoreWire,
    SubscribedSkuWire,
    WireError,
    device_configuration_problems,
)

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "graph"


def _rows(wire: Any, items: list[Any], noun: str = "rows") -> list[Any]:
    rows = Rows(wire, noun)
    out = rows.page(items)
    rows.check()
    return out


def _sku(**changes: Any) -> dict[str, Any]:
    # the shape of https://learn.microsoft.com/graph/api/subscribedsku-list (Example 1's response)
    sku = {"capabilityStatus": "Enabled", "consumedUnits": 14, "id": "48a80680-7326-48cd-9935-b556b81d3a4e_c7df2760",
           "prepaidUnits": {"enabled": 25, "suspended": 0, "warning": 0, "lockedOut": 0},
           "servicePlans": [{"servicePlanId": "8c098270-9dd4-4350-9b30-ba4703f3b36b",
                             "servicePlanName": "ADALLOM_S_O365", "provisioningStatus": "Success",
                             "appliesTo": "User"}],
           "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df", "skuPartNumber": "ENTERPRISEPREMIUM", "appliesTo": "User"}
    sku.update(changes)
    return sku


def test_documented_examples_validate() -> None:
    scores = json.loads((REAL / "security-list-securescores.json").read_text())
    assert _rows(SecureScoreWire, scores["value"])
    profiles_text = (REAL / "security-list-securescorecontrolprofiles.trailing-commas.txt").read_text()
    profiles = json.loads(re.sub(r",(\s*[}\]])", r"\1", profiles_text))  # the documented body's trailing comma
    assert _rows(SecureScoreProfileWire, profiles["value"])
    for name in ("directoryaudit-list.json", "directoryaudit-list-example2.json"):
        assert _rows(DirectoryAuditWire, json.loads((REAL / name).read_text())["value"])
    assert _rows(GroupSettingWire, json.loads((REAL / "groupsetting-list.json").read_text())["value"])
    assert _rows(SubscribedSkuWire, [_sku()])


@pytest.mark.parametrize(("change", "named"), [
    ({"consumedUnits": None}, "`consumedUnits` null where an integer is required"),
    ({"prepaidUnits": {"warning": 0}}, "`prepaidUnits.enabled` absent"),
    ({"prepaidUnits": {"enabled": "25"}}, "`prepaidUnits.enabled` a string where an integer is required"),
])
def test_a_seat_count_that_is_not_there_is_named_not_zero(change: dict[str, Any], named: str) -> None:
    with pytest.raises(WireError, match=re.escape(named) + " in 1 of 2 subscriptions"):
        _rows(SubscribedSkuWire, [_sku(), _sku(**change)], "subscriptions")
    with pytest.raises(WireError, match="`consumedUnits` absent"):
        sku = _sku()
        del sku["consumedUnits"]
        _rows(SubscribedSkuWire, [sku], "subscriptions")


def test_a_setting_object_without_its_template_is_named() -> None:
    setting = json.loads((REAL / "groupsetting-list.json").read_text())["value"][0]
    del setting["templateId"]
    with pytest.raises(WireError, match="`templateId` absent"):
        _rows(GroupSettingWire, [setting])


def test_a_custom_profile_without_its_oma_settings_is_named() -> None:
    rows = [{"@odata.type": "#microsoft.graph.windows10CustomConfiguration", "id": "c1", "displayName": "Reset"},
            {"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "id": "c2"}]
    assert _rows(DeviceConfigurationWire, rows)
    assert device_configuration_problems(rows) == {("omaSettings", "absent"): 1}
    with pytest.raises(WireError, match=re.escape("`@odata.type` absent")):
        _rows(DeviceConfigurationWire, [{"id": "c3"}])
