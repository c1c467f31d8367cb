"""Where the sync account's Reset Password reaches beyond the policy's target OUs (`ReachBeyond`).

An Express install of Entra Connect grants its AD DS connector account the writeback rights at the domain head
(learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-accounts-permissions, "Express settings
installation"), so they reach every user object that inherits, synced or not. This finds the grant points
(containers whose own, not inherited, ACE passes Reset Password down to user objects: the domain head, every OU,
the containers right below the head) that lie outside the target OUs, then reads the users below each one that are
not under a target OU, with their DACL (DACL flag only), and keeps those whose DACL grants the sync account
Reset Password: the DC's own inheritance decides, and protected accounts whose DACL SDProp has stamped drop out.
Nothing is searched user by user when no grant point lies outside the target OUs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.ad.dn import dn_key, is_within
from auditor.ad.rights import RESET_PASSWORD, USER_CLASS
from auditor.ad.sd import DaclFacts, effective_right, inherited_right, parse_dacl
from auditor.ad.wellknown import PROTECTED_DOMAIN_GROUP_RIDS
from auditor.readers.ldap_values import USERS
from auditor.readers.ldap_values import integer as _int
from auditor.readers.ldap_values import text as _text
from auditor.readers.ldap_values import texts as _texts
from auditor.snapshot.directory import GrantPoint, ReachBeyond, ReachedUser, ServiceAccount

if TYPE_CHECKING:
    from auditor.readers.access_control import DirectoryReader

_UF_ACCOUNTDISABLE = 0x2


def read_reach_beyond(reader: DirectoryReader, base_dn: str, domain_sid: str, account: ServiceAccount | None,
                      target_ous: list[str], head_dacl: DaclFacts | None) -> ReachBeyond:
    if account is None:
        return ReachBeyond(error="the sync account does not exist")
    if head_dacl is None:
        return ReachBeyond(error=f"the DACL of {base_dn} was not read")
    token = set(account.token_sids)
    candidates: list[tuple[str, DaclFacts]] = [(base_dn, head_dacl)]
    unread: list[str] = []  # returned without a descriptor (no right to read it): never read as "no grant"
    for scope, search in (("SUBTREE", "(objectClass=organizationalUnit)"), ("LEVEL", "(objectClass=container)")):
        for dn, raw in reader.paged(base_dn, search, ["nTSecurityDescriptor"], scope=scope, sd=True):
            if raw.get("nTSecurityDescriptor"):
                candidates.append((dn, parse_dacl(bytes(raw["nTSecurityDescriptor"][0]))))
            elif not any(is_within(dn, t) for t in target_ous):
                unread.append(dn)
    points = []
    for dn, dacl in candidates:
        if any(is_within(dn, t) for t in target_ous):
            continue
        own = dacl.model_copy(update={"aces": tuple(a for a in dacl.aces if not a.inherited)})
        decision = inherited_right(own, token, RESET_PASSWORD, USER_CLASS)
        if decision.granted and decision.ace is not None:
            points.append(GrantPoint(dn=dn, ace=decision.ace.sddl()))
    users, read, unread_users = (_reached(reader, base_dn, domain_sid, points, target_ous, token) if points
                                 else ([], 0, []))
    return ReachBeyond(grant_points=points, users=users, containers_read=len(candidates), users_read=read,
                       unread_containers=unread, unread_users=unread_users)


def _reached(reader: DirectoryReader, base_dn: str, domain_sid: str, points: list[GrantPoint], target_ous: list[str],
             token: set[str]) -> tuple[list[ReachedUser], int, list[str]]:
    privileged = reader.privileged_groups(base_dn, domain_sid)
    found: dict[str, ReachedUser] = {}
    unread: dict[str, str] = {}
    read = 0
    decided: dict[bytes, str | None] = {}  # a descriptor's bytes → the granting ACE's SDDL (None: not granted)
    attributes = ["sAMAccountName", "userAccountControl", "adminCount", "memberOf", "primaryGroupID",
                  "nTSecurityDescriptor"]
    for point in points:
        for dn, raw in reader.paged(point.dn, USERS, attributes, sd=True):
            read += 1
            key = dn_key(dn)
            if key in found or any(is_within(dn, t) for t in target_ous):
                continue
            values = raw.get("nTSecurityDescriptor") or []
            if not values:
                unread[key] = dn
                continue
            blob = bytes(values[0])
            if blob not in decided:
                decision = effective_right(parse_dacl(blob), token, RESET_PASSWORD, USER_CLASS)
                decided[blob] = decision.ace.sddl() if decision.granted and decision.ace is not None else None
            ace = decided[blob]
            if ace is None:
                continue
            via = sorted({privileged[k] for k in map(dn_key, _texts(raw, "memberOf")) if k in privileged})
            primary = _int(raw, "primaryGroupID")
            if primary in PROTECTED_DOMAIN_GROUP_RIDS:
                via = sorted({*via, PROTECTED_DOMAIN_GROUP_RIDS[primary]})
            found[key] = ReachedUser(dn=dn, sam_account_name=_text(raw, "sAMAccountName"),
                                     enabled=not (_int(raw, "userAccountControl") or 0) & _UF_ACCOUNTDISABLE,
                                     admin_count=_int(raw, "adminCount"), privileged_via=via, ace=ace)
    return (sorted(found.values(), key=lambda u: (not u.protected, u.dn.lower())), read,
            sorted(unread.values(), key=str.lower))
