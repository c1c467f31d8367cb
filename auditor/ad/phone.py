"""The phone number form Entra ID accepts for authentication phones synced from AD.

Microsoft: "+CountryCode PhoneNumber", e.g. `+1 4251234567`, a space after the country code
and digits only after it; an office phone may end with an extension (`x123`). Numbers in any
other form are not used for SSPR (learn.microsoft.com/entra/identity/authentication/
howto-sspr-authenticationdata).
"""

from __future__ import annotations

import re

_FORM = re.compile(r"^\+[1-9][0-9]{0,2} [0-9]{4,14}$")
_FORM_WITH_EXTENSION = re.compile(r"^\+[1-9][0-9]{0,2} [0-9]{4,14}(x[0-9]{1,10})?$")


def phone_problem(value: str | None, *, allow_extension: bool = False) -> str | None:
    """Why `value` is not an authentication phone in `+CC NUMBER` form; None when it is."""
    if value is None or not value.strip():
        return "missing"
    pattern = _FORM_WITH_EXTENSION if allow_extension else _FORM
    if pattern.match(value):
        return None
    if not value.startswith("+"):
        return "no leading + and country code"
    if " " not in value:
        return "no space between the country code and the number"
    others = r"[^0-9+ x]" if allow_extension else r"[^0-9+ ]"
    if re.search(others, value) or value.count(" ") > 1:
        return "characters other than digits after the country code"
    return "not in +CC NUMBER form"
