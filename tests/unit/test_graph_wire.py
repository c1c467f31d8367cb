"""The Graph wire models (readers/graph_wire.py) and the emulator's nested field faults, without a server.

The documented shapes (Microsoft's own examples, tests/fixtures/real/graph) validate; a field that is absent,
null where Graph never sends null, or of another type is a `WireError` naming the field and how many rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.graph_fields import AUTHORIZATION_FIELDS
from auditor.lab.emulator import Faults, FieldFault, parse_field_path, retyped
from auditor.readers.graph_wire import (
    AuthorizationPolicyWire,
    MemberWire,
    RegistrationWire,
    Rows,
    UserWire,
    WireError,
    one,
    required_fields,
    select,
)

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "graph"


def _user(**changes: Any) -> dict[str, Any]:
    user = {"id": "u1", "userPrincipalName": "a@contoso.com", "displayName": "A", "accountEnabled": True,
            "userType": "Member", "onPremisesSyncEnabled": None, "onPremisesDistinguishedName": None,
            "assignedPlans": [{"servicePlanId": "41781fb2-bc02-4b7c-bd55-b576c07bb09d", "capabilityStatus": "Enabled",
                               "service": "AADPremiumService", "assignedDateTime": "2024-01-01T00:00:00Z"}],
            "businessPhones": []}
    user.update(changes)
    return user


def test_documented_examples_validate() -> None:
    registration = json.loads((REAL / "authenticationmethodsroot-list-userregistrationdetails.json").read_text())
    rows = Rows(RegistrationWire, "registration rows")
    assert len(rows.page(registration["value"])) == 3
    rows.check()
    members = json.loads((REAL / "group-list-transitivemembers.json").read_text())
    rows = Rows(MemberWire, "members")
    assert rows.page(members["value"])
    rows.check()
    policy = json.loads((REAL / "authorizationpolicy-get.json").read_text())
    assert one(AuthorizationPolicyWire, policy, "authorization policies").allowedToUseSSPR is True


def test_a_good_user_keeps_only_the_modelled_fields() -> None:
    (row,) = Rows(UserWire, "users").page([_user()])
    assert "businessPhones" not in row and "service" not in row["assignedPlans"][0]
    assert row["onPremisesSyncEnabled"] is None  # documented null: never synced


@pytest.mark.parametrize(("change", "expected"), [
    ({"accountEnabled": None}, "`accountEnabled` null where a boolean is required in 1 of 2 users"),
    ({"accountEnabled": "true"}, "`accountEnabled` a string where a boolean is required in 1 of 2 users"),
    ({"assignedPlans": None}, "`assignedPlans` null where a list is required in 1 of 2 users"),
    ({"userType": None}, "`userType` null where a string is required in 1 of 2 users"),
    ({"onPremisesSyncEnabled": 1}, "`onPremisesSyncEnabled` a number where a boolean is required in 1 of 2 users"),
    ({"assignedPlans": [{"servicePlanId": "x"}]}, "`assignedPlans[*].capabilityStatus` absent in 1 of 2 users"),
])
def test_a_wrong_field_is_named_with_its_count(change: dict[str, Any], expected: str) -> None:
    rows = Rows(UserWire, "users")
    assert rows.page([_user(), _user(**change)]) == []  # once a row is wrong, no rows are handed on
    with pytest.raises(WireError) as caught:
        rows.check()
    assert str(caught.value) == expected


def test_an_absent_field_counts_every_page() -> None:
    rows = Rows(UserWire, "users")
    missing = {k: v for k, v in _user().items() if k != "accountEnabled"}
    rows.page([missing, _user()])
    rows.page([_user(), missing, missing])
    with pytest.raises(WireError, match=r"`accountEnabled` absent in 3 of 5 users"):
        rows.check()


def test_optional_fields_are_evidence_only() -> None:
    assert "userPrincipalName" in select(UserWire) and "userPrincipalName" not in required_fields(UserWire)
    assert required_fields(UserWire)[-2:] == ["assignedPlans[*].servicePlanId", "assignedPlans[*].capabilityStatus"]
    rows = Rows(UserWire, "users")
    assert rows.page([{k: v for k, v in _user().items() if k not in ("userPrincipalName", "displayName")}])
    rows.check()


def test_graph_fields_names_are_wire_fields() -> None:
    assert set(AUTHORIZATION_FIELDS.values()) <= set(select(AuthorizationPolicyWire))


def test_field_fault_paths() -> None:
    assert parse_field_path('value[*]["@odata.type"]') == ("value", None, "@odata.type")
    assert parse_field_path("value[2].assignedPlans[*].servicePlanId") == (
        "value", 2, "assignedPlans", None, "servicePlanId")
    for bad in ("", "value[x]", ".value", "value[*"):
        with pytest.raises(ValueError, match="path"):
            parse_field_path(bad)
    with pytest.raises(ValueError, match="field path"):
        Faults(field_faults={"users": [{"path": "value[*"}]})


def test_field_fault_changes_every_row() -> None:
    body = {"value": [_user(), _user(assignedPlans=[])]}
    assert FieldFault(path="value[*].accountEnabled").apply(body) == 2
    assert all("accountEnabled" not in row for row in body["value"])
    assert FieldFault(path="value[*].assignedPlans[*].servicePlanId", action="retype").apply(body) == 1
    assert body["value"][0]["assignedPlans"][0]["servicePlanId"] == ["41781fb2-bc02-4b7c-bd55-b576c07bb09d"]
    assert FieldFault(path="value[1].userType", action="null").apply(body) == 1
    assert body["value"][1]["userType"] is None and body["value"][0]["userType"] == "Member"
    assert FieldFault(path="value[*].nothing").apply(body) == 0


@pytest.mark.parametrize("value", [True, False, 0, 2.5, "Enabled", [], ["x"], {}, {"a": 1}, None])
def test_retyped_is_always_another_json_type(value: Any) -> None:
    def kind(v: Any) -> str:
        return "bool" if isinstance(v, bool) else "number" if isinstance(v, int | float) else type(v).__name__

    assert kind(retyped(value)) != kind(value)
