"""Shapes the lab's scenario and coverage builders share: a licence SKU, registration profiles, timestamps.

Its own module so `scenario` and `coverage_data` import it instead of each other's private names.
"""

from __future__ import annotations

from datetime import datetime

SPE_E3_SKU = "05e9a617-0261-4cee-bb44-138d3ef5d965"

# The registration method sets generated users get, in turn (Graph's methodsRegistered values)
REGISTERED_PROFILES: tuple[tuple[str, ...], ...] = (
    ("email", "mobilePhone", "microsoftAuthenticatorPush", "softwareOneTimePasscode"),
    ("mobilePhone", "microsoftAuthenticatorPush", "softwareOneTimePasscode"),
    ("email", "mobilePhone"),
    ("email", "microsoftAuthenticatorPush"),
    ("microsoftAuthenticatorPasswordless", "microsoftAuthenticatorPush", "mobilePhone"),
    ("fido2SecurityKey", "email", "mobilePhone"),
)


def iso(moment: datetime) -> str:
    """A Graph timestamp: UTC, whole seconds, `Z`."""
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
