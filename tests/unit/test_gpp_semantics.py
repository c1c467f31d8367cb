"""Group Policy Preferences registry items read per [MS-GPPREF] (issue 30).

The shapes are the real `avalanchez-machine-Registry.xml` (tests/fixtures/real/SOURCES.md) with its one item
pointed at AllowPasswordReset, and the options the editor writes: `<Filters><FilterRunOnce hidden="1" not="0"
bool="AND" id="{...}"/></Filters>` for "Apply once and do not reapply", `action="C"` for Create, a
`<FilterGroup>` for item-level targeting, `<Collection>` around items.
"""

from __future__ import annotations

from pathlib import Path

from auditor.ad import gpp_registry, registry_pol

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "gpo" / "avalanchez-machine-Registry.xml"
KEY, NAME = registry_pol.SIGN_IN_RESET_KEY, registry_pol.SIGN_IN_RESET_VALUE
RUN_ONCE = ('<Filters><FilterRunOnce hidden="1" not="0" bool="AND" id="{4A1C7E2B-9D3F-4E5A-8B6C-7D8E9F0A1B2C}"/>'
            '</Filters>')
GROUP = ('<Filters><FilterGroup bool="AND" not="0" name="CORP\\Kiosks" sid="S-1-5-21-1-2-3-1105" userContext="0" '
         'primaryGroup="0" localGroup="0"/></Filters>')


def item(value: int, action: str = "U", filters: str = "", uid: str = "730BF21D-3319-4B19-8B60-99C8165B7655") -> str:
    """The real file's `<Registry>` element, pointed at AllowPasswordReset, with `action` and `filters`."""
    text = REAL.read_text(encoding="utf-8")
    start, end = text.index("<Registry "), text.index("</Registry>") + len("</Registry>")
    element = text[start:end]
    element = element.replace('key="SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\ZoneMap\\Domains"',
                              f'key="{KEY}"')
    element = element.replace('name="KXM.LC" type', f'name="{NAME}" type')
    element = element.replace('value="00000002"', f'value="{value:08X}"').replace('action="U"', f'action="{action}"')
    element = element.replace("730BF21D-3319-4B19-8B60-99C8165B7655", uid)
    return element.replace("</Registry>", f"{filters}</Registry>")


def document(*items: str) -> bytes:
    text = REAL.read_text(encoding="utf-8")
    head = text[:text.index("<Registry ")]
    return (head + "".join(items) + "</RegistrySettings>\n").encode()


def value_of(*items: str) -> tuple[int | None, str | None]:
    return gpp_registry.machine_value(gpp_registry.parse(document(*items)), KEY, NAME)


def test_the_shape_is_the_real_file_when_unchanged() -> None:
    real = gpp_registry.parse(REAL.read_bytes())
    ours = gpp_registry.parse(document(item(2)))
    assert len(real) == len(ours) == 1 and ours[0].action == real[0].action == "U"


def test_run_once_is_not_item_level_targeting() -> None:
    """main read any <Filters> as targeting: a run-once item was `not evaluated` instead of applied."""
    parsed = gpp_registry.parse(document(item(1, filters=RUN_ONCE)))
    assert parsed[0].run_once and not parsed[0].targeted
    assert value_of(item(1, filters=RUN_ONCE)) == (1, None)


def test_real_targeting_is_still_targeting_with_or_without_run_once() -> None:
    for filters in (GROUP, GROUP.replace("</Filters>", RUN_ONCE[len("<Filters>"):])):
        value, why = value_of(item(1, filters=filters))
        assert value is None and why is not None and "item-level targeting" in why


def test_create_alone_is_unknown_not_an_update() -> None:
    """main read action C as U (value 1); a create leaves a value that already exists as it is."""
    value, why = value_of(item(1, action="C"))
    assert value is None and why is not None and "action C" in why


def test_create_after_an_update_changes_nothing() -> None:
    assert value_of(item(1), item(0, action="C", uid="11111111-2222-3333-4444-555555555555")) == (1, None)


def test_create_after_a_delete_creates() -> None:
    assert value_of(item(1, action="D"), item(0, action="C", uid="11111111-2222-3333-4444-555555555555")) == (0, None)


def test_replace_sets_the_value() -> None:
    assert value_of(item(0, action="R")) == (0, None)


def test_a_disabled_or_targeted_collection_holds_for_its_items() -> None:
    disabled = (f'<Collection clsid="{{53B533F5-224C-47e3-B01B-CA3B3F3FF4BF}}" name="c" disabled="1">{item(1)}'
                '</Collection>')
    assert value_of(disabled) == (None, None)
    targeted = (f'<Collection clsid="{{53B533F5-224C-47e3-B01B-CA3B3F3FF4BF}}" name="c">{item(1)}{GROUP}'
                '</Collection>')
    value, why = value_of(targeted)
    assert value is None and why is not None and "item-level targeting" in why
