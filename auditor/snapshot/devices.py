"""Snapshot section for the devices of the directory: whether each is enabled, compliant or hybrid joined, and
who registered it. Read only when the policy asks Conditional Access to require a compliant or hybrid-joined
device to register security info: the plan's impact preview counts, per covered user, whether they own one.

Readable names; Graph's field names stay in `readers/devices*.py`. Source (Microsoft Graph v1.0):
device https://learn.microsoft.com/graph/api/resources/device (accountEnabled, isCompliant, trustType
"ServerAd" = "on-premises domain joined devices joined to Microsoft Entra ID", registeredOwners).
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

HYBRID_JOINED = "serverad"
"""device.trustType of a hybrid-joined device (lower case): "ServerAd (on-premises domain joined devices joined to
Microsoft Entra ID)", learn.microsoft.com/graph/api/resources/device."""


class DeviceRow(NamedTuple):
    """One `GET /devices` row with its `registeredOwners` expanded."""

    id: str
    name: str
    enabled: bool | None
    """accountEnabled; None: not sent (the device is unknown, `missing` says so)."""
    compliant: bool | None
    """isCompliant; None: not sent or null (null: not marked compliant by an MDM)."""
    trust_type: str | None
    """trustType as sent (Workplace, AzureAd, ServerAd); None: null or not sent."""
    owners: tuple[str, ...] | None
    """The object ids of its registered owners; None: `registeredOwners` was not sent (owners unknown)."""
    missing: tuple[str, ...] = ()
    """The fields the count needs that Graph did not send usably: `<Graph name> <what>` ("trustType absent")."""

    def lacks(self, field: str) -> bool:
        """Whether Graph did not send `field` (by its Graph name) usably."""
        return any(m.split(" ", 1)[0] == field for m in self.missing)

    @property
    def hybrid_joined(self) -> bool | None:
        if self.lacks("trustType"):
            return None
        return (self.trust_type or "").lower() == HYBRID_JOINED


class DevicesState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    devices: list[DeviceRow] = Field(default_factory=list)
