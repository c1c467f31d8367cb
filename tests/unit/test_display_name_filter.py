"""The `$filter` a group named in a policy is looked up with: trimmed as names are compared, quotes doubled."""

from __future__ import annotations

import pytest

from auditor.readers.graph_tenant import display_name_filter
from auditor.text import name_key


@pytest.mark.parametrize(("name", "expected"), [
    ("SSPR-Users", "displayName eq 'SSPR-Users'"),
    ("  SSPR-Users \t", "displayName eq 'SSPR-Users'"),  # trimmed as text.name_key trims
    ("O'Brien's team ", "displayName eq 'O''Brien''s team'"),  # OData: a quote inside a literal is doubled
    ("a  b", "displayName eq 'a  b'"),  # inner whitespace is part of the name
])
def test_the_filter_is_trimmed_and_quoted(name: str, expected: str) -> None:
    assert display_name_filter(name) == expected


def test_the_literal_is_the_name_key_up_to_case() -> None:
    name = " Ünïcode  'Group' "
    literal = display_name_filter(name).removeprefix("displayName eq '").removesuffix("'").replace("''", "'")
    assert name_key(literal) == name_key(name)
