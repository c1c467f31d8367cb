"""Find, without a policy, which OUs are synced and which account writes passwords back (for `export`).

Target OUs come from the synced users themselves: the parent containers of their
`onPremisesDistinguishedName` in Graph (Microsoft Graph v1.0 user resource: "populated only for
customers who are synchronizing their on-premises directory to Microsoft Entra ID via Microsoft
Entra Connect"), reduced to the outermost ones, since rights granted on an OU are inherited below it.
When Graph names no DN in this naming context, the OUs whose DACL passes Reset Password down to
the account are used instead, and the export says so.

The sync account is looked for two ways, and every candidate carries its evidence:
- by name: an Express install of Entra Connect creates the AD DS connector account `MSOL_nnnnnnnnnn`
  "with all the required permissions" (learn.microsoft.com/entra/identity/hybrid/connect/
  how-to-connect-configure-ad-ds-connector-account); the cloud sync agent's wizard creates the group
  managed service account `provAgentgMSA$` (learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-install);
- by rights: the trustees of the ACEs on the target OUs that pass Reset Password
  (00299570-246d-11d0-a768-00aa006e0529) down to user objects, and for a group, the accounts in it
  (nested). Built-in and well-known principals (RID below 1000, BUILTIN, SYSTEM…) are not candidates.
Candidates are ranked by how many target OUs pass them Reset Password, then by the naming convention.
A helpdesk delegation looks like a sync account from its ACEs alone: the export names every candidate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.ad.dn import dn_key, is_within, same_dn
from auditor.ad.rights import RESET_PASSWORD, USER_CLASS
from auditor.ad.sd import covers, inherited_right
from auditor.ad.sid import rid
from auditor.readers.directory import AdSettings, guarded_read
from auditor.snapshot.directory import DirectoryDiscovery, SecuredObject, ServiceAccount, SyncAccountCandidate
from auditor.snapshot.models import Section

if TYPE_CHECKING:
    from auditor.readers.directory import _Reader

NAMED = {"MSOL_": "Entra Connect's AD DS connector account (an Express install creates MSOL_nnnnnnnnnn)",
         "provAgentgMSA": "the gMSA the Entra cloud sync agent creates (provAgentgMSA$)"}
ACCOUNT_CLASSES = {"user", "computer", "msds-groupmanagedserviceaccount", "msds-managedserviceaccount"}
GROUP_MEMBERS_LIMIT = 25  # accounts taken from one group that holds the right (a helpdesk group can be large)


def discover(settings: AdSettings, synced_containers: dict[str, int]) -> Section[DirectoryDiscovery]:
    """Target OUs and sync account candidates, or a failed section saying why the DC could not be read."""
    source, found, error = guarded_read(settings, None, lambda reader: _Discovery(reader).run(synced_containers))
    if found is None:
        return Section[DirectoryDiscovery].failed(source, error or "nothing read")
    return Section[DirectoryDiscovery].ok(f"{source}/{found.base_dn}", found)


def outermost(containers: dict[str, int], base_dn: str) -> tuple[dict[str, int], dict[str, int]]:
    """(the outermost containers within `base_dn` → synced users at or below each, those outside `base_dn`)."""
    inside = {dn: n for dn, n in containers.items() if is_within(dn, base_dn)}
    elsewhere = {dn: n for dn, n in containers.items() if dn not in inside}
    tops = [dn for dn in inside if not any(other != dn and not same_dn(other, dn) and is_within(dn, other)
                                           for other in inside)]
    merged: dict[str, str] = {}
    for dn in sorted(tops, key=dn_key):  # the same OU spelt twice (case, spaces) counts once
        merged.setdefault(dn_key(dn), dn)
    out = {dn: sum(n for other, n in inside.items() if is_within(other, dn)) for dn in merged.values()}
    return out, elsewhere


class _Discovery:
    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    def run(self, synced_containers: dict[str, int]) -> DirectoryDiscovery:
        _, base_dn, _, domain_sid = self.reader.naming_context([])
        targets, elsewhere = outermost(synced_containers, base_dn)
        secured = {dn: self.reader.secured(dn) for dn in targets}
        candidates = self.named(base_dn) + self.trustees(base_dn, domain_sid, secured)
        accounts = self.merge(base_dn, domain_sid, candidates)
        target_ous_from = (f"the containers of {sum(targets.values())} synced users' onPremisesDistinguishedName "
                           "(Graph), outermost only: rights granted on an OU reach the OUs below it")
        if not targets:
            secured = self.granting_ous(base_dn, accounts)
            target_ous_from = ("Graph named no synced user's onPremisesDistinguishedName in this domain: the OUs "
                               "whose DACL passes Reset Password down to the sync account's user objects")
        ranked = self.rank(accounts, secured)
        return DirectoryDiscovery(base_dn=base_dn, target_ous=list(secured), target_ous_from=target_ous_from,
                                  synced_users=targets, elsewhere=elsewhere, candidates=ranked)

    def named(self, base_dn: str) -> list[tuple[str, str | None]]:
        """(DN, no grant) of the accounts named as Entra Connect and cloud sync name theirs."""
        terms = "".join(f"(sAMAccountName={prefix}*)" for prefix in NAMED)  # a prefix match, not user input
        return [(dn, None) for dn, _ in self.reader.paged(base_dn, f"(&(objectClass=user)(|{terms}))", ["1.1"])]

    def trustees(self, base_dn: str, domain_sid: str,
                 secured: dict[str, SecuredObject]) -> list[tuple[str, str | None]]:
        """(DN, grant) of the accounts an ACE on a target OU passes Reset Password down to."""
        out: list[tuple[str, str | None]] = []
        accounts_of: dict[str, list[tuple[str, str]]] = {}  # trustee SID → (account DN, how), looked up once
        for ou, obj in secured.items():
            for ace in obj.dacl.aces if obj.dacl is not None else ():
                if not (ace.allow and ace.container_inherit and covers(ace, RESET_PASSWORD)
                        and ace.inherited_object_type in (None, USER_CLASS)) or not _may_be_delegated(ace.sid,
                                                                                                     domain_sid):
                    continue
                if ace.sid not in accounts_of:
                    accounts_of[ace.sid] = self.accounts_behind(base_dn, ace.sid)
                out += [(dn, f"{ou}: {ace.sddl()}{how}") for dn, how in accounts_of[ace.sid]]
        return out

    def accounts_behind(self, base_dn: str, sid: str) -> list[tuple[str, str]]:
        """(DN, how) of the account with `sid`, or of the accounts in the group with it (nested, capped)."""
        from ldap3.utils.conv import escape_filter_chars

        out: list[tuple[str, str]] = []
        for dn, raw in self.reader.paged(base_dn, f"(objectSid={escape_filter_chars(sid)})", ["objectClass"]):
            classes = {bytes(v).decode().lower() for v in raw.get("objectClass", [])}
            if classes & ACCOUNT_CLASSES:
                out.append((dn, ""))
            elif "group" in classes:
                search = f"(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:={escape_filter_chars(dn)}))"
                members = [m for m, _ in self.reader.paged(base_dn, search, ["1.1"])]
                out += [(m, f" (through group {dn})") for m in members[:GROUP_MEMBERS_LIMIT]]
        return out

    def merge(self, base_dn: str, domain_sid: str, found: list[tuple[str, str | None]]
              ) -> list[tuple[ServiceAccount, str | None, list[str]]]:
        """One entry per account: (the account with its token, naming convention, grants seen)."""
        by_key: dict[str, tuple[ServiceAccount, str | None, list[str]]] = {}
        for dn, grant in found:
            key = dn_key(dn)
            if key not in by_key:
                account = self.reader.account(base_dn, domain_sid, dn)
                if account is None:
                    continue
                by_key[key] = (account, _convention(account.sam_account_name), [])
            if grant:
                by_key[key][2].append(grant)
        return list(by_key.values())

    def granting_ous(self, base_dn: str, accounts: list[tuple[ServiceAccount, str | None, list[str]]]
                     ) -> dict[str, SecuredObject]:
        """The outermost OUs (and the domain head) whose DACL passes Reset Password down to a named candidate."""
        named = [account for account, convention, _ in accounts if convention]
        if not named:
            return {}
        places = [base_dn] + [dn for dn, _ in self.reader.paged(base_dn, "(objectClass=organizationalUnit)",
                                                                ["1.1"])]
        granting: dict[str, SecuredObject] = {}
        for dn in places:
            obj = self.reader.secured(dn)
            if obj.dacl is not None and any(inherited_right(obj.dacl, a.token_sids, RESET_PASSWORD).granted
                                            for a in named):
                granting[dn] = obj
        tops, _ = outermost(dict.fromkeys(granting, 0), base_dn)
        return {dn: granting[dn] for dn in granting if dn in tops}

    @staticmethod
    def rank(accounts: list[tuple[ServiceAccount, str | None, list[str]]],
             secured: dict[str, SecuredObject]) -> list[SyncAccountCandidate]:
        out = []
        for account, convention, grants in accounts:
            reset_on = [dn for dn, obj in secured.items() if obj.dacl is not None
                        and inherited_right(obj.dacl, account.token_sids, RESET_PASSWORD).granted]
            out.append(SyncAccountCandidate(dn=account.dn, sam_account_name=account.sam_account_name,
                                            sid=account.sid, object_classes=account.object_classes,
                                            named_as=convention, grants=sorted(set(grants)), reset_on=reset_on))
        out.sort(key=lambda c: (-len(c.reset_on), c.named_as is None, c.sam_account_name.lower()))
        return out


def _convention(sam_account_name: str) -> str | None:
    """The naming convention the account follows (Entra Connect's, cloud sync's), if any."""
    return next((why for prefix, why in NAMED.items() if sam_account_name.lower().startswith(prefix.lower())), None)


def _may_be_delegated(sid: str, domain_sid: str) -> bool:
    """False for built-in and well-known principals (BUILTIN, SYSTEM, SELF, Everyone, the domain's own groups
    and accounts below RID 1000): the rights they hold come with Windows, not from a sync tool's setup."""
    if not sid.startswith(domain_sid + "-"):
        return False
    return rid(sid) >= 1000
