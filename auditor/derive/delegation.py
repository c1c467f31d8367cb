"""Who holds a power over one object: every account a descriptor lets act, through which ACE, set where.

The one place the delegation checks (`ad.acl.delegates`, `ad.acl.tier0_reach`, `ad.service_account.control`)
turn a descriptor into people. A grant to a group reaches every account inside it (nested groups and primary
groups, as `auditor.readers.access_control` expanded them). Each account is then judged with its own token (its
SID, every group in the snapshot that holds it, Everyone and Authenticated Users) by the same access check the
sync account's rights use (`auditor.ad.sd.effective_right`: DACL order, so a deny for one of its groups that
comes first wins). Broader grants count through `covers` (GenericAll, all extended rights, write all
properties, the property set). The owner is implicitly granted WRITE_DAC ([MS-DTYP] 2.5.3.2), so ownership is a
power of its own. A SID that names no account (Everyone, SELF, an unresolved SID) is kept as it is.

Two inputs that hide people are never read as "nobody": a NULL DACL grants everyone full access ([MS-DTYP] 2.4.6,
SE_DACL_PRESENT clear: "the security descriptor grants full access to everyone"), so Everyone holds every power;
and a group whose members were read only in part (`members_truncated`) is a holder itself, beside the members read,
since the accounts past the cut are not known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from auditor.ad.dn import dn_key, parent
from auditor.ad.rights import USER_CLASS, Right
from auditor.ad.sd import AceFact, DaclFacts, covers, effective_right
from auditor.ad.wellknown import EVERYONE, IMPLICIT_TOKEN_SIDS, well_known_name
from auditor.snapshot.directory import AccessControl, Principal, SecuredObject

OWNER = "owner"


@dataclass(frozen=True)
class Holder:
    """One account (or well-known SID) holding one power over one object."""

    sid: str
    name: str
    kind: str
    power: str  # a Right's name, or OWNER
    label: str
    ace: AceFact | None  # None: the power comes from ownership
    trustee: str  # the name of the SID the ACE (or the owner field) names
    via: tuple[str, ...] = ()  # groups between the trustee and the account
    where: str = ""  # DN of the object whose DACL holds the ACE explicitly (or the owned object)
    null_dacl: bool = False  # the power comes from the object having no DACL at all

    def source(self) -> str:
        """Where the power comes from, in one phrase (the export's comment, a finding's evidence)."""
        path = " → ".join((self.trustee, *self.via)) if self.trustee != self.name else self.name
        if self.null_dacl:
            return f"{self.label} to {path}: {self.where} has no DACL (a NULL DACL grants everyone full access)"
        if self.ace is None:
            return f"owner of {self.where} ({path}): owners may rewrite the DACL"
        how = "inherited from" if self.ace.inherited else "set on"
        return f"{self.label} to {path} by {self.ace.sddl()} {how} {self.where}"


@dataclass
class Index:
    """The principals of a snapshot, with each account's groups (every group that holds it)."""

    control: AccessControl
    groups_of: dict[str, set[str]] = field(default_factory=dict)
    members: dict[str, tuple[str, str, tuple[str, ...], str]] = field(default_factory=dict)

    @classmethod
    def of(cls, control: AccessControl) -> Index:
        index = cls(control)
        for principal in control.principals.values():
            for member in principal.members or []:
                index.groups_of.setdefault(member.sid, set()).add(principal.sid)
                index.members.setdefault(member.sid, (member.name, member.kind, (), member.dn or ""))
        return index

    def token(self, sid: str) -> set[str]:
        principal = self.control.principals.get(sid)
        if principal is not None and principal.kind in ("well_known", "unresolved"):
            return {sid}
        return {sid, *self.groups_of.get(sid, ()), *IMPLICIT_TOKEN_SIDS}

    def name(self, sid: str) -> str:
        principal = self.control.principals.get(sid)
        if principal is not None:
            return principal.name
        return self.members.get(sid, (sid,))[0]

    def kind(self, sid: str) -> str:
        principal = self.control.principals.get(sid)
        if principal is not None:
            return principal.kind
        return self.members.get(sid, (sid, "user"))[1]

    def via(self, trustee: str, sid: str) -> tuple[str, ...]:
        principal = self.control.principals.get(trustee)
        for member in (principal.members or []) if principal is not None else []:
            if member.sid == sid:
                return tuple(member.via)
        return ()

    def is_admin(self, sid: str) -> bool:
        return sid in set(self.control.admin_sids)


def candidates(dacl: DaclFacts, powers: Sequence[Right], index: Index, object_class: str) -> list[str]:
    """SIDs that may hold a power: every trustee of a covering allow ACE (groups expanded), and the owner's."""
    trustees: list[str] = []
    for ace in dacl.aces:
        if ace.allow and not ace.inherit_only and any(covers(ace, p, object_class) for p in powers):
            trustees.append(ace.sid)
    if dacl.owner:
        trustees.append(dacl.owner)
    out: dict[str, None] = {}
    for sid in trustees:
        principal: Principal | None = index.control.principals.get(sid)
        if principal is not None and principal.kind == "group":
            out.update((m.sid, None) for m in principal.members or [])
            if principal.members_truncated:  # the accounts past the cut are not known: the group stands for them
                out[sid] = None
        else:
            out[sid] = None
    return list(out)


def holders(dacl: DaclFacts, object_dn: str, powers: Sequence[Right], index: Index,
            containers: dict[str, SecuredObject], object_class: str = USER_CLASS) -> list[Holder]:
    """Every account holding one of `powers` (or ownership) over the object `dacl` protects."""
    out: list[Holder] = []
    if dacl.null_dacl:
        name = well_known_name(EVERYONE) or EVERYONE
        out += [Holder(EVERYONE, name, "well_known", power.name, power.label, None, name, where=object_dn,
                       null_dacl=True) for power in powers]
    for sid in candidates(dacl, powers, index, object_class):
        token = index.token(sid)
        for power in powers:
            decision = effective_right(dacl, token, power, object_class)
            if decision.granted and decision.ace is not None:
                ace = decision.ace
                out.append(Holder(sid, index.name(sid), index.kind(sid), power.name, power.label, ace,
                                  index.name(ace.sid), index.via(ace.sid, sid) if ace.sid != sid else (),
                                  where_set(ace, object_dn, containers)))
        if dacl.owner and dacl.owner in token:
            out.append(Holder(sid, index.name(sid), index.kind(sid), OWNER, "Owner", None, index.name(dacl.owner),
                              index.via(dacl.owner, sid) if dacl.owner != sid else (), object_dn))
    return out


def where_set(ace: AceFact, object_dn: str, containers: dict[str, SecuredObject]) -> str:
    """The DN whose DACL holds `ace` explicitly: the object itself, or the nearest ancestor passing it down."""
    if not ace.inherited:
        return object_dn
    current = parent(object_dn)
    while current:
        holder = containers.get(dn_key(current))
        if holder is None or holder.dacl is None:
            return f"an ancestor of {object_dn} that was not read"
        for own in holder.dacl.aces:
            if (own.container_inherit and own.sid == ace.sid and own.allow == ace.allow and own.mask == ace.mask
                    and own.object_type == ace.object_type
                    and own.inherited_object_type == ace.inherited_object_type):
                if not own.inherited:
                    return current
                break
        current = parent(current)
    return f"an ancestor of {object_dn}"


def containers_of(control: AccessControl) -> dict[str, SecuredObject]:
    return {dn_key(c.dn): c for c in control.containers}


def by_principal(found: Iterable[Holder]) -> dict[str, list[Holder]]:
    out: dict[str, list[Holder]] = {}
    for holder in found:
        out.setdefault(holder.sid, []).append(holder)
    return out
