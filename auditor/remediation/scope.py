"""Which objects a plan may write at all, from the policy and the live state: a second fence behind re-derivation.

`apply` writes only changes it re-derived itself, so a change outside this fence would be a planner
bug, not a tampered file. The fence is checked anyway, change by change, before any write:
- LDAP descriptors: the policy's target OUs and the domain's AdminSDHolder, granting rights only to the
  sync account the policy names (its SID as read now); the domain head only for Unexpire Password on the head
  itself (no inheritance), and only when the policy asks for it (`directory.rights.unexpire_password`);
- password ages: the domain head (`minPwdAge`) and the password settings objects in the domain's Password
  Settings Container;
- SYSVOL: the GptTmpl.inf of a GPO linked to the domain head, at the path that GPO's `gPCFileSysPath` names;
- Graph and the portal: the fixed objects the writers know (authorization policy, methods policy and its
  method configurations, the two portal SSPR objects), which the change kinds already pin; the Password Rule
  Settings only as the object read now (its id, or none when the change creates it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.ad.dn import dn_key
from auditor.ad.rights import UNEXPIRE_PASSWORD
from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.checks.ad import needs_unexpire
from auditor.fixes.changes import Change
from auditor.policy.models import Directory, Policy
from auditor.snapshot.directory import DirectoryState
from auditor.snapshot.models import Snapshot

GPTTMPL_SUFFIX = "\\machine\\microsoft\\windows nt\\secedit\\gpttmpl.inf"
# msDS-PasswordSettings objects live in CN=Password Settings Container,CN=System,<domain> (Microsoft Learn,
# "AD DS fine-grained password policies"; ../shared/reference/active-directory.md)
PSO_CONTAINER = "CN=Password Settings Container,CN=System,"


def outside_scope(change: Change, policy: Policy, snapshot: Snapshot) -> str | None:
    """Why `change` writes outside what the policy governs (None when it is inside)."""
    fence = _FENCES.get(change.kind)
    return fence(change, policy, snapshot) if fence is not None else None  # the portal and Graph kinds each name
    # one fixed object


def _password_rules(change: Any, policy: Policy, snapshot: Snapshot) -> str | None:
    rules = snapshot.password_rules
    if rules is None or not rules.readable or rules.value is None:
        return "the Password Rule Settings were not read, so they are not in scope"
    if policy.password_protection is None:
        return "the policy has no password_protection section"
    if change.setting_id != rules.value.setting_id:
        return (f"the change writes groupSetting {change.setting_id or '(a new one)'}, the tenant's Password Rule "
                f"Settings are {rules.value.setting_id or '(none)'}")
    return None


def _on_premises(fence: Callable[[Any, Directory, DirectoryState], str | None]) -> Fence:
    """`fence` run with the policy's directory section and the directory as read; outside when either is missing."""
    def check(change: Change, policy: Policy, snapshot: Snapshot) -> str | None:
        directory = snapshot.directory.value if snapshot.directory is not None and snapshot.directory.readable \
            else None
        if directory is None or policy.directory is None:
            return "the directory was not read, so no on-premises object is in scope"
        return fence(change, policy.directory, directory)

    return check


def _dacl(change: Any, wanted: Directory, directory: DirectoryState) -> str | None:
    allowed = {dn_key(ou) for ou in wanted.target_ous} | {dn_key(directory.admin_sd_holder.dn)}
    if dn_key(change.dn) not in allowed:
        if dn_key(change.dn) != dn_key(directory.base_dn):
            return f"{change.dn} is neither a target OU of the policy nor AdminSDHolder"
        why = _unexpire_only(change, wanted)
        if why is not None:
            return why
    account = directory.service_account
    if account is None or account.sid.upper() != change.principal_sid.upper():
        return f"the rights go to {change.principal_sid}, not to the sync account the policy names"
    if any(ace.sid.upper() != change.principal_sid.upper() for ace in change.add_aces):
        return "an ACE names a trustee other than the sync account"
    return None


def _unexpire_only(change: Any, wanted: Directory) -> str | None:
    """Why a change on the domain head (not a target OU) is not the Unexpire Password grant the policy asks for."""
    if not needs_unexpire(wanted):
        return f"{change.dn} is the domain head, and the policy does not ask for Unexpire Password"
    if any(not ace.allow or ace.object_type != UNEXPIRE_PASSWORD.guid or ace.mask != UNEXPIRE_PASSWORD.ace_mask
           or ace.flags or ace.inherited_object_type
           for ace in change.add_aces):
        return f"{change.dn} is the domain head: only Unexpire Password on the object itself may be granted there"
    return None


def _password_age(change: Any, wanted: Directory, directory: DirectoryState) -> str | None:
    if change.scope == "domain":
        return None if dn_key(change.dn) == dn_key(directory.base_dn) else f"{change.dn} is not the domain head"
    container = dn_key(PSO_CONTAINER + directory.base_dn)
    parent = dn_key(change.dn.split(",", 1)[1]) if "," in change.dn else ""
    return None if parent == container else f"{change.dn} is not in the domain's Password Settings Container"


def _gpttmpl(change: Any, wanted: Directory, directory: DirectoryState) -> str | None:
    guid = change.gpo_guid.upper()
    gpo = next((g for g in directory.gpos if g.guid.upper() == guid), None)
    if guid != DEFAULT_DOMAIN_POLICY_GUID and (gpo is None or not gpo.linked_to_domain):
        return f"GPO {change.gpo_guid} is not linked to the domain head"
    if gpo is not None and dn_key(gpo.dn) != dn_key(change.gpo_dn):
        return f"{change.gpo_dn} is not the GPO {change.gpo_guid}"
    default_dn = f"CN={change.gpo_guid},CN=Policies,CN=System,{directory.base_dn}"
    if gpo is None and dn_key(change.gpo_dn) != dn_key(default_dn):
        return f"{change.gpo_dn} is not the Default Domain Policy of {directory.base_dn}"
    path = change.path.casefold()
    if f"\\{guid.casefold()}\\" not in path or not path.endswith(GPTTMPL_SUFFIX):
        return f"{change.path} is not the GptTmpl.inf of GPO {change.gpo_guid}"
    return None


def _ca_outside(change: Any, policy: Policy, snapshot: Snapshot) -> str | None:
    """Only the policy the plan owns, on registering security info, created report-only or turned on when the
    policy file says enforce."""
    from auditor.graph_fields import REGISTRATION_POLICY_NAME, REPORT_ONLY

    wanted = policy.value_at("sspr.registration.conditional_access")
    if wanted is None:
        return "the policy has no sspr.registration.conditional_access section"
    if change.display_name.strip().casefold() != REGISTRATION_POLICY_NAME.casefold():
        return f"the change writes the policy {change.display_name!r}, not the one the plan owns"
    if change.policy_id is None and change.setting.new != REPORT_ONLY:
        return "a policy the plan creates starts report-only"
    if change.setting.new == "enabled" and not wanted.enforce:
        return "the policy file does not say enforce"
    section = snapshot.conditional_access
    if section is None or not section.readable or section.value is None:
        return "the Conditional Access policies were not read, so none is in scope"
    if change.policy_id is not None and not any(p.id == change.policy_id for p in section.value.policies):
        return f"the policy {change.policy_id} was not read"
    return None


Fence = Callable[[Any, Policy, Snapshot], "str | None"]
# change kind → its fence; the portal and Graph kinds other than the Password Rule Settings each name one fixed
# object, so they have none
_FENCES: dict[str, Fence] = {
    "graph.password_rules": _password_rules,
    "graph.ca_policy": _ca_outside,
    "ldap.dacl": _on_premises(_dacl),
    "ldap.password_age": _on_premises(_password_age),
    "sysvol.gpttmpl": _on_premises(_gpttmpl),
}
