"""Security descriptors: parse a DACL into facts and decide who holds a right.

The decision follows the access check of [MS-DTYP] 2.5.3.2 for one right: walk the DACL in
order, skip ACEs that do not apply to the object, and let the first ACE that covers the
right for one of the caller's SIDs decide (deny or allow). Canonical order puts explicit
denies first, so "deny before allow" falls out of honouring the order the DC stored.

An ACE covers a right when its mask holds a bit that grants it (the specific bit, or a
broader one: GenericAll, GenericWrite, all extended rights, write all properties) and it
names no object type, the right's own GUID, or the property set that holds the attribute.

Parsing and building use winacl (imported inside the functions that need it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntFlag
from typing import Any

from pydantic import BaseModel, ConfigDict

from auditor.ad.rights import FULL_CONTROL, USER_CLASS, Right

SE_DACL_PROTECTED = 0x1000
_HEADER = 20  # revision, sbz1, control, then the owner, group, SACL and DACL offsets
_ACL_HEADER = 8
_SMALLEST_ACE = 16  # header, mask, and a SID with no sub-authority


class DescriptorError(ValueError):
    """Bytes that are not a self-relative security descriptor this parser can trust (the only error
    `parse_dacl` raises): a reader reports the object's rights as unknown, never as granted."""


class AceFlag(IntFlag):
    OBJECT_INHERIT = 0x01
    CONTAINER_INHERIT = 0x02
    NO_PROPAGATE_INHERIT = 0x04
    INHERIT_ONLY = 0x08
    INHERITED = 0x10


# plain ints for the hot paths: IntFlag arithmetic costs microseconds per ACE
_CONTAINER_INHERIT, _NO_PROPAGATE, _INHERIT_ONLY, _INHERITED = 0x02, 0x04, 0x08, 0x10


_ALLOW_TYPES = {0x00: False, 0x05: True}  # ACCESS_ALLOWED(_OBJECT)_ACE_TYPE → is object ACE
_DENY_TYPES = {0x01: False, 0x06: True, 0x0A: False, 0x0C: True}  # incl. conditional (callback) denies
_SDDL_RIGHTS = {
    0x100: "CR", 0x20: "WP", 0x30: "RPWP", 0x10: "RP", FULL_CONTROL: "GA",
    0x10000000: "GA", 0x40000000: "GW", 0x8: "SW",
}


class AceFact(BaseModel):
    """One access-control entry as plain data (GUIDs lower-case, SID as a string)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: bool
    sid: str
    mask: int
    flags: int = 0
    object_type: str | None = None
    inherited_object_type: str | None = None

    @property
    def inherited(self) -> bool:
        return bool(self.flags & _INHERITED)

    @property
    def inherit_only(self) -> bool:
        return bool(self.flags & _INHERIT_ONLY)

    @property
    def container_inherit(self) -> bool:
        return bool(self.flags & _CONTAINER_INHERIT)

    @property
    def no_propagate(self) -> bool:
        return bool(self.flags & _NO_PROPAGATE)

    def sddl(self) -> str:
        """The ACE in SDDL form, for evidence (`(OA;CIIO;CR;<guid>;<guid>;S-1-…)`)."""
        object_ace = self.object_type is not None or self.inherited_object_type is not None
        kind = ("O" if object_ace else "") + ("A" if self.allow else "D")
        flags = "".join(
            code for bit, code in ((AceFlag.OBJECT_INHERIT, "OI"), (AceFlag.CONTAINER_INHERIT, "CI"),
                                   (AceFlag.NO_PROPAGATE_INHERIT, "NP"), (AceFlag.INHERIT_ONLY, "IO"),
                                   (AceFlag.INHERITED, "ID"))
            if self.flags & bit
        )
        rights = _SDDL_RIGHTS.get(self.mask, f"0x{self.mask:x}")
        return f"({kind};{flags};{rights};{self.object_type or ''};{self.inherited_object_type or ''};{self.sid})"


class DaclFacts(BaseModel):
    """A DACL as facts: whether it is protected from inheritance and its ACEs in order.

    `complete` is False when the reader kept only the ACEs for the SIDs that matter (the
    sync account and its groups), which is all a decision about that account needs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    protected: bool
    aces: tuple[AceFact, ...] = ()
    null_dacl: bool = False
    complete: bool = True
    owner: str | None = None
    """The owner SID when the descriptor was read with it (SD flags OWNER): implicitly granted READ_CONTROL and
    WRITE_DAC ([MS-DTYP] 2.5.3.2)."""

    def key(self) -> str:
        """A short content hash, so identical DACLs of many users are stored once."""
        blob = self.model_dump_json().encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def only_for(self, sids: Iterable[str]) -> DaclFacts:
        wanted = set(sids)
        return self.model_copy(update={"aces": tuple(a for a in self.aces if a.sid in wanted),
                                       "complete": False})


@dataclass(frozen=True)
class Decision:
    """Whether a right is held, and the ACE that decided it (None: no ACE covered it)."""

    granted: bool
    ace: AceFact | None = None
    note: str | None = None

    @property
    def denied(self) -> bool:
        return self.ace is not None and not self.ace.allow


def covers(ace: AceFact, right: Right, object_class: str = USER_CLASS) -> bool:
    """Does this ACE's mask and object type reach `right` on an object of `object_class`?

    An object type narrows the ACE to one node of the object-type tree ([MS-DTYP] 2.5.3.2):
    the right itself, the property set holding the attribute, or the object's class (the
    root, which covers everything).
    """
    if not ace.mask & right.granting_bits:
        return False
    kind = ace.object_type
    return kind is None or kind == right.guid or kind == right.property_set or kind == object_class


def effective_right(
    dacl: DaclFacts, sids: Iterable[str], right: Right, object_class: str = USER_CLASS
) -> Decision:
    """Does a caller holding `sids` have `right` on the object (of `object_class`) this DACL protects?"""
    if dacl.null_dacl:
        return Decision(True, note="the object has no DACL (everyone has full access)")
    wanted = set(sids)
    for ace in dacl.aces:
        if ace.inherit_only or ace.sid not in wanted or not covers(ace, right, object_class):
            continue
        return Decision(ace.allow, ace)
    return Decision(False)


def inherited_right(
    dacl: DaclFacts, sids: Iterable[str], right: Right, object_class: str = USER_CLASS
) -> Decision:
    """Would descendant objects of `object_class` below this container receive `right`?

    Only container-inherit ACEs flow down; an inherited object type limits them to that
    class. They reach the children in this DACL's order, so the first one decides.
    """
    wanted = set(sids)
    for ace in dacl.aces:
        if not ace.container_inherit or ace.sid not in wanted or not covers(ace, right, object_class):
            continue
        if ace.inherited_object_type not in (None, object_class):
            continue
        note = "NO_PROPAGATE_INHERIT: reaches direct children only" if ace.no_propagate and ace.allow else None
        return Decision(ace.allow, ace, note)
    return Decision(False)


def parse_dacl(raw: bytes) -> DaclFacts:
    """DACL facts of a binary self-relative security descriptor (read with SD flags DACL).

    Raises DescriptorError, and nothing else, for bytes that are not one: truncated, a wrong revision, an
    ACL that claims more than it holds. Garbage must never read as a NULL DACL (everyone has full access).
    """
    from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

    _check_layout(raw)
    try:
        sd = SECURITY_DESCRIPTOR.from_bytes(raw)
        control = int(sd.Control or 0)
        protected = bool(control & SE_DACL_PROTECTED)
        owner = str(sd.Owner) if sd.Owner is not None else None
        if sd.Dacl is None:
            return DaclFacts(protected=protected, null_dacl=True, owner=owner)
        return DaclFacts(protected=protected, aces=tuple(f for f in map(_fact, sd.Dacl.aces) if f is not None),
                         owner=owner)
    except DescriptorError:
        raise
    except Exception as exc:  # winacl raises whatever its struct reads hit: one documented error instead
        raise DescriptorError(f"not a valid security descriptor: {type(exc).__name__}: {exc}"[:300]) from None


def _check_layout(raw: bytes) -> None:
    """The header and the DACL's bounds, checked before winacl reads them (it trusts the counts it finds)."""
    if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) < _HEADER:
        raise DescriptorError(f"a security descriptor has at least {_HEADER} bytes, not {len(raw)}")
    if raw[0] != 1:
        raise DescriptorError(f"security descriptor revision {raw[0]}, not 1")
    for name, start in (("SACL", 12), ("DACL", 16)):  # winacl reads each ACL whose offset is set
        offset = int.from_bytes(raw[start:start + 4], "little")
        if offset == 0:
            continue
        if offset < _HEADER or offset + _ACL_HEADER > len(raw):
            raise DescriptorError(f"the {name} offset {offset} lies outside the {len(raw)}-byte descriptor")
        size = int.from_bytes(raw[offset + 2:offset + 4], "little")
        count = int.from_bytes(raw[offset + 4:offset + 6], "little")
        if size < _ACL_HEADER or offset + size > len(raw) or count * _SMALLEST_ACE > size - _ACL_HEADER:
            raise DescriptorError(f"the {name} claims {size} bytes and {count} ACEs, more than the descriptor holds")


def _fact(ace: Any) -> AceFact | None:
    type_code = ace.AceType.value
    if type_code in _ALLOW_TYPES:
        allow = True
    elif type_code in _DENY_TYPES:
        # A conditional deny we cannot evaluate is kept as a deny: unsure must not look granted.
        allow = False
    else:
        return None  # audit, alarm, label and conditional-allow ACEs never grant
    return AceFact(
        allow=allow,
        sid=str(ace.Sid),
        mask=int(ace.Mask),
        flags=int(ace.AceFlags or 0),
        object_type=_guid(getattr(ace, "ObjectType", None)),
        inherited_object_type=_guid(getattr(ace, "InheritedObjectType", None)),
    )


def _guid(value: Any) -> str | None:
    return str(value).lower() if value is not None else None


def canonical_ace(sid: str, right: Right, inherit_to: str | None = USER_CLASS) -> AceFact:
    """The ACE Microsoft's tooling writes for `right`: an object ACE for `sid`.

    With `inherit_to` (an object class GUID) it is container-inherit + inherit-only, so it
    lands on descendant objects of that class; without, it applies to the object itself
    (Unexpire Password on the domain head).
    """
    if inherit_to is None:
        return AceFact(allow=True, sid=sid, mask=right.ace_mask, object_type=right.guid)
    return AceFact(
        allow=True, sid=sid, mask=right.ace_mask,
        flags=AceFlag.CONTAINER_INHERIT | AceFlag.INHERIT_ONLY,
        object_type=right.guid, inherited_object_type=inherit_to,
    )


def with_aces(raw: bytes, new_aces: Sequence[AceFact]) -> bytes:
    """The descriptor `raw` with `new_aces` added as explicit allow ACEs in canonical order.

    Canonical order is explicit deny, explicit allow, inherited; new allows go after the
    last explicit ACE. ACEs already present (same type, flags, mask, GUIDs, SID) are skipped.
    """
    from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

    _check_layout(raw)
    sd = SECURITY_DESCRIPTOR.from_bytes(raw)
    if sd.Dacl is None:
        raise ValueError("the descriptor has no DACL to add to (read it with SD flags DACL)")
    present = {f for f in map(_fact, sd.Dacl.aces) if f is not None}
    insert_at = next((i for i, a in enumerate(sd.Dacl.aces) if int(a.AceFlags or 0) & AceFlag.INHERITED),
                     len(sd.Dacl.aces))
    added = [_to_winacl(f) for f in new_aces if f not in present]
    sd.Dacl.aces[insert_at:insert_at] = added
    written: bytes = sd.to_bytes()  # winacl is untyped (pyproject.toml): its answer is bytes
    return written


def _to_winacl(fact: AceFact) -> Any:
    from winacl.dtyp.ace import (
        ACCESS_ALLOWED_ACE,
        ACCESS_ALLOWED_OBJECT_ACE,
        ACE_OBJECT_PRESENCE,
        AceFlags,
    )
    from winacl.dtyp.guid import GUID
    from winacl.dtyp.sid import SID

    if not fact.allow:
        raise ValueError("only allow ACEs are built here")
    if fact.object_type is None and fact.inherited_object_type is None:
        plain = ACCESS_ALLOWED_ACE()
        plain.AceFlags = AceFlags(fact.flags)
        plain.Mask = fact.mask
        plain.Sid = SID.from_string(fact.sid)
        return plain
    ace = ACCESS_ALLOWED_OBJECT_ACE()
    ace.AceFlags = AceFlags(fact.flags)
    ace.Mask = fact.mask
    ace.Flags = ACE_OBJECT_PRESENCE.NONE
    if fact.object_type:
        ace.ObjectType = GUID.from_string(fact.object_type)
    if fact.inherited_object_type:
        ace.InheritedObjectType = GUID.from_string(fact.inherited_object_type)
    ace.Sid = SID.from_string(fact.sid)
    return ace
