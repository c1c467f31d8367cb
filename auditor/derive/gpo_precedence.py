"""Which GPO's setting a computer (or the domain's account policy) ends up with: Group Policy precedence.

The one place the audit knows how Windows orders GPOs. Sources:

- Within one container (a scope of management, SOM), link order 1 wins over 2 ("Order. The order
  specifies the precedence that the settings of the GPO take over conflicting settings in other GPOs
  that are linked, and enabled, to the same site, domain, or OU": learn.microsoft.com/powershell/
  module/grouppolicy/set-gplink). In the gPLink string the *last* entry is link order 1: Get-GPLink by
  Ashley McGlone (Microsoft Premier Field Engineer, GPFunctions.psm1, May 2015; a copy is in
  github.com/prboyer/PSVault GroupPolicy/External/GPFunctions.psm1 at 0bd6e8d6) computes
  `Precedence = $links.count - $i`; BaseALT's ADMC (gplink.cpp) reads the string the same way
  (`gpo_list.prepend`); [MS-GPOL] 3.2.5.1.5 "GPO Search" prepends each entry of a gPLink in string order.
  No Microsoft document says it in one sentence. `samba-tool gpo setlink` appends, so a link it adds
  becomes link order 1.
- Across containers (Get-GPInheritance, learn.microsoft.com/powershell/module/grouppolicy/
  get-gpinheritance): first the enforced links of higher levels, then the links of the container
  itself, then, unless the container blocks inheritance, the non-enforced links of higher levels.
  An OU that blocks inheritance (gPOptions bit 1) stops non-enforced links from above it; enforced
  links are never blocked (learn.microsoft.com/powershell/module/grouppolicy/set-gpinheritance).
- A disabled link (gPLink option bit 1) is ignored; a GPO whose computer settings are disabled
  (`flags` bit 2) applies no computer setting ([MS-GPOL] 2.2.2 and 2.3).
- Processing runs site, domain, then OUs "from parent to child"; block inheritance and No Override
  (enforced) change which GPOs are in the list, not their order (learn.microsoft.com/previous-versions/
  windows/it-pro/windows-2000-server/cc978241, "Group Policy Processing").
- The domain's account policy (minimum password age) comes only from GPOs linked to the domain head;
  a password policy in a GPO linked to an OU changes the local accounts of the computers in it, not
  domain accounts (Microsoft's account-policy guidance, learn.microsoft.com/windows/security/
  threat-protection/security-policy-settings/password-policy; we found no sentence stating it word
  for word, so the finding lists OU-linked GPOs that set the value instead of hiding them).

- Security filtering ([MS-GPOL] 3.2.5.1.6 "GPO Filter Evaluation", learn.microsoft.com/openspecs/
  windows_protocols/ms-gpol/5ead679e-5ec1-4f43-b927-1a339da316c7): a GPO applies to a computer only if its DACL
  grants the computer's token the Apply Group Policy extended right (edacfd8f-ffb3-11d1-b41d-00a0c968f939,
  learn.microsoft.com/windows/win32/adschema/r-apply-group-policy); a deny ACE for one of its SIDs makes it
  "denied". The access check is `auditor.ad.sd.effective_right` ([MS-DTYP] 2.5.3.2, ACEs in stored order). A GPO
  whose Apply right does not reach the computers drops out of their precedence list (`Outcome.filtered`, named in
  the finding); one it reaches for some of them only, or whose DACL was not read, might or might not apply.
  The domain's account policy is applied by the domain controllers, so it is their tokens that count
  (`DirectoryState.dc_tokens`); a computer setting is decided per group of member computers sharing a token
  (`DirectoryState.computer_tokens`). Snapshots older than this reading carry neither: security filtering is then
  not evaluated, and said so.
- WMI filters ([MS-GPOL] 3.2.5.1.9): evaluated on each computer by running the filter's WQL. The tool cannot run
  it, so a WMI-filtered GPO that sets the value might or might not win; the finding names the filter (msWMI-Name)
  and its query (msWMI-Parm2), and a verdict that depends on it is unknown.

Not evaluated, and said so in every finding that uses this module: site-linked GPOs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.ad.dn import dn_key, split_rdns
from auditor.ad.rights import APPLY_GROUP_POLICY, GROUP_POLICY_CONTAINER_CLASS
from auditor.ad.sd import effective_right
from auditor.snapshot.directory import ComputerToken, DirectoryState, GpoLink, GroupPolicy, SysvolState

NOT_EVALUATED = ("security filtering (which computers hold Apply Group Policy on each GPO) and GPOs linked to "
                 "AD sites are not evaluated")
SITES_NOT_EVALUATED = ("GPOs linked to AD sites are not evaluated; WMI filters cannot be run by the tool (a "
                       "WMI-filtered GPO might or might not apply)")

Applies = Callable[[GroupPolicy], tuple[bool | None, str | None]]
"""Whether a GPO applies to the computers at hand: (True | False | None when not known, why not)."""


def not_evaluated(state: DirectoryState) -> str:
    """What precedence leaves out for this snapshot: security filtering only when its inputs were not read."""
    return SITES_NOT_EVALUATED if state.dc_tokens is not None else NOT_EVALUATED


def apply_decision(gpo: GroupPolicy, tokens: list[ComputerToken], whom: str) -> tuple[bool | None, str | None]:
    """Does the GPO's Apply Group Policy right reach every computer of `tokens` ([MS-GPOL] 3.2.5.1.6)?

    (True, None) for all of them; (False, why) for none; (None, why) for some only, or when the DACL is unknown.
    """
    if gpo.dacl is None:
        return None, f"its DACL was not read ({gpo.dacl_error or 'not in this snapshot'}), so whether it applies " \
                     f"to {whom} is not known"
    if not tokens:
        return True, None
    reached = 0
    deciding = []
    for token in tokens:
        decision = effective_right(gpo.dacl, token.sids, APPLY_GROUP_POLICY, GROUP_POLICY_CONTAINER_CLASS)
        if decision.granted:
            reached += token.computers
        elif decision.ace is not None:
            deciding.append(f"denied by {decision.ace.sddl()}")
    total = sum(t.computers for t in tokens)
    ace = f"; {'; '.join(dict.fromkeys(deciding))}" if deciding else ""
    if reached == total:
        return True, None
    if reached == 0:
        return False, f"Apply Group Policy does not reach {whom}{ace or ' (no ACE grants it to their tokens)'}"
    return None, f"Apply Group Policy reaches {reached} of {total} of {whom}{ace}"


def dc_applies(state: DirectoryState) -> Applies | None:
    """Security filtering for the domain's account policy: the domain controllers apply it; None when not read."""
    tokens = state.dc_tokens
    if tokens is None:
        return None
    return lambda gpo: apply_decision(gpo, tokens, "the domain controllers")


@dataclass(frozen=True)
class Applied:
    """One GPO in a precedence list, with the link that brought it there; rank 1 wins."""

    gpo: GroupPolicy
    link: GpoLink
    rank: int

    @property
    def name(self) -> str:
        return self.gpo.display_name or self.gpo.guid

    def describe(self) -> str:
        how = "enforced, " if self.link.enforced else ""
        return f"{self.name} ({how}link order {self.link.order} on {self.link.container})"


@dataclass(frozen=True)
class Said:
    """What one GPO in the chain says about a setting."""

    applied: Applied
    value: Any = None
    error: str | None = None
    doubt: str | None = None
    """Why it might or might not apply (security filtering reaches some computers only, or its DACL is unknown)."""


@dataclass(frozen=True)
class Outcome:
    """The winner of a precedence list for one setting, and what could still change it.

    `uncertain` are GPOs ranked above the winner whose say is not certain: their file could not be
    read (`error`), they are bound to a WMI filter (they win only where it matches), or security filtering
    lets them reach some of the computers only. `filtered` are GPOs whose Apply Group Policy right does not
    reach the computers: they dropped out of precedence, with why.
    """

    chain: list[Applied]
    winner: Said | None = None
    uncertain: list[Said] = field(default_factory=list)
    overridden: list[Said] = field(default_factory=list)
    filtered: list[tuple[Applied, str]] = field(default_factory=list)

    @property
    def value(self) -> Any:
        return None if self.winner is None else self.winner.value

    def possible_values(self) -> list[Any] | None:
        """Every value the setting may have (None: not set by any GPO); None when an unread GPO could say anything."""
        if any(s.error is not None for s in self.uncertain):
            return None
        values = [s.value for s in self.uncertain] + [self.value]
        return list(dict.fromkeys(values))


def scopes_of(container: str, base_dn: str) -> list[str]:
    """The SOMs an object in `container` gets GPOs from, domain head first: the domain and each OU down to it."""
    rdns = split_rdns(container)
    base = split_rdns(base_dn)
    if len(rdns) < len(base) or dn_key(",".join(rdns[len(rdns) - len(base):])) != dn_key(base_dn):
        return []
    out = [base_dn]
    below = rdns[:len(rdns) - len(base)]
    for depth in range(len(below) - 1, -1, -1):
        if not below[depth].lower().startswith("ou="):
            break  # below a CN= container (CN=Computers, CN=Users) there is no further SOM
        out.append(",".join(rdns[depth:]))
    return out


def _links_by_scope(state: DirectoryState) -> dict[str, list[tuple[GroupPolicy, GpoLink]]]:
    out: dict[str, list[tuple[GroupPolicy, GpoLink]]] = {}
    for gpo in state.gpos:
        for link in gpo.links:
            out.setdefault(dn_key(link.container), []).append((gpo, link))
    for links in out.values():
        links.sort(key=lambda pair: pair[1].order)
    return out


def computer_chain(state: DirectoryState, container: str) -> list[Applied]:
    """The GPOs whose computer settings reach a computer in `container`, highest precedence first."""
    return _chain(state, scopes_of(container, state.base_dn), _links_by_scope(state))


def domain_account_chain(state: DirectoryState) -> list[Applied]:
    """The GPOs that can set the domain's account policy: those linked to the domain head, highest first."""
    return _chain(state, [state.base_dn], _links_by_scope(state))


def _chain(state: DirectoryState, scopes: list[str], by_scope: dict[str, list[tuple[GroupPolicy, GpoLink]]],
           ) -> list[Applied]:
    blocking = {dn_key(ou) for ou in state.blocks_inheritance or []}
    enforced: list[tuple[GroupPolicy, GpoLink]] = []
    for scope in scopes:  # higher levels' enforced links first
        enforced += [(g, link) for g, link in by_scope.get(dn_key(scope), []) if link.enabled and link.enforced]
    inherited: list[tuple[GroupPolicy, GpoLink]] = []
    for scope in reversed(scopes):  # the container itself, then upwards until an OU blocks inheritance
        inherited += [(g, link) for g, link in by_scope.get(dn_key(scope), []) if link.enabled and not link.enforced]
        if dn_key(scope) in blocking:
            break
    out: list[Applied] = []
    seen: set[str] = set()
    for gpo, link in enforced + inherited:
        if not gpo.computer_settings_enabled or gpo.guid.upper() in seen:
            continue
        seen.add(gpo.guid.upper())
        out.append(Applied(gpo, link, len(out) + 1))
    return out


def resolve(chain: list[Applied], read: Callable[[GroupPolicy], tuple[Any, str | None]],
            applies: Applies | None = None) -> Outcome:
    """Walk `chain` from the top: the first GPO that certainly sets the value wins.

    `read(gpo)` gives (value or None when the GPO does not set it, error or None); `applies(gpo)` says whether
    security filtering lets it reach the computers (None: not evaluated).
    """
    uncertain: list[Said] = []
    winner: Said | None = None
    overridden: list[Said] = []
    filtered: list[tuple[Applied, str]] = []
    for applied in chain:
        reaches, why = applies(applied.gpo) if applies is not None else (True, None)
        if reaches is False:
            filtered.append((applied, why or "Apply Group Policy does not reach the computers"))
            continue
        value, error = read(applied.gpo)
        # a GPO whose flags, version or file path were not read (ldap_wire) may not apply at all: never certain
        error = applied.gpo.error or error
        said = Said(applied, value, error, why if reaches is None else None)
        if winner is not None:
            if value is not None and error is None:
                overridden.append(said)
            continue
        if error is not None or (value is not None and (applied.gpo.wmi_filter or said.doubt)):
            uncertain.append(said)
        elif value is not None:
            winner = said
    return Outcome(chain=chain, winner=winner, uncertain=uncertain, overridden=overridden, filtered=filtered)


def describe_uncertain(outcome: Outcome) -> list[str]:
    """One phrase per GPO above the winner whose say is not certain."""
    out = []
    for said in outcome.uncertain:
        if said.error is not None:
            out.append(f"{said.applied.describe()} could not be read ({said.error}) and ranks above the winner")
        elif said.doubt is not None:
            out.append(f"{said.applied.describe()} sets {said.value} but {said.doubt}")
        if said.error is None and said.applied.gpo.wmi_filter:
            out.append(f"{said.applied.describe()} sets {said.value} but is bound to the WMI filter "
                       f"{describe_wmi_filter(said.applied.gpo)}, which the tool cannot evaluate: where the filter "
                       "matches, it wins")
    return out


def describe_wmi_filter(gpo: GroupPolicy) -> str:
    """The filter by name and query (msWMI-Som), else its gPCWQLFilter and why the object was not read."""
    if gpo.wmi_filter_name or gpo.wmi_filter_query:
        return f"{gpo.wmi_filter_name or gpo.wmi_filter!r} ({gpo.wmi_filter_query or 'query not read'})"
    return f"{gpo.wmi_filter}" + (f" ({gpo.wmi_filter_error})" if gpo.wmi_filter_error else "")


def describe_filtered(outcome: Outcome) -> list[str]:
    """One phrase per GPO that security filtering took out of precedence ([MS-GPOL] 3.2.5.1.6)."""
    return [f"{applied.describe()} does not apply: {why} (security filtering, [MS-GPOL] 3.2.5.1.6)"
            for applied, why in outcome.filtered]


def if_filtered(outcome: Outcome, unit: str = "") -> str | None:
    """What security filtering would change: the value that applies if the winner does not apply."""
    if outcome.winner is None:
        return None
    runner_up = next((s for s in outcome.overridden if s.value != outcome.value), None)
    then = f"{runner_up.applied.name} ({runner_up.value}{unit}) would apply" if runner_up else (
        "no other GPO sets it" if not outcome.overridden else f"the next GPO says the same ({outcome.value}{unit})")
    return f"if security filtering kept {outcome.winner.applied.name} from applying, {then}"


def domain_password_age(state: DirectoryState, sysvol: SysvolState) -> Outcome:
    """Which GPO linked to the domain head sets the domain's MinimumPasswordAge, in days."""
    return domain_account_setting(state, sysvol, "minimum_password_age")


def domain_account_setting(state: DirectoryState, sysvol: SysvolState, field: str) -> Outcome:
    """Which GPO linked to the domain head sets one [System Access] value of the domain's account policy
    (`field`: a GpoTemplate field such as minimum_password_age or lockout_bad_count)."""
    templates = sysvol.all_templates()

    def read(gpo: GroupPolicy) -> tuple[Any, str | None]:
        template = templates.get(gpo.guid.upper())
        if template is None:
            return None, "its GptTmpl.inf was not read (this snapshot holds only the Default Domain Policy's)"
        return getattr(template, field), template.error

    return resolve(domain_account_chain(state), read, dc_applies(state))


def ou_only_password_ages(state: DirectoryState, sysvol: SysvolState) -> list[tuple[GroupPolicy, int]]:
    """GPOs that set MinimumPasswordAge but are linked to OUs only: they change local accounts, not domain ones."""
    templates = sysvol.all_templates()
    head = dn_key(state.base_dn)
    out = []
    for gpo in state.gpos:
        template = templates.get(gpo.guid.upper())
        if template is None or template.minimum_password_age is None or not gpo.links:
            continue
        if all(dn_key(link.container) != head for link in gpo.links):
            out.append((gpo, template.minimum_password_age))
    return out


@dataclass(frozen=True)
class ComputersOutcome:
    """The setting's outcome for the member computers of one container (sharing one token, when read)."""

    container: str
    computers: int
    outcome: Outcome
    token: ComputerToken | None = None


def computer_setting(state: DirectoryState, read: Callable[[GroupPolicy], tuple[Any, str | None]],
                     ) -> list[ComputersOutcome]:
    """For every container holding member computers (per group of them sharing a token, when security filtering
    was read), which GPO's value of a computer setting wins there."""
    if state.computer_tokens is None:
        return [ComputersOutcome(container, count, resolve(computer_chain(state, container), read))
                for container, count in sorted((state.member_computers or {}).items()) if count]
    out = []
    for token in state.computer_tokens:
        whom = f"the {token.computers} computer(s) in {token.container}"

        def applies(gpo: GroupPolicy, token: ComputerToken = token, whom: str = whom) -> tuple[bool | None, str | None]:
            return apply_decision(gpo, [token], whom)

        out.append(ComputersOutcome(token.container, token.computers,
                                    resolve(computer_chain(state, token.container), read, applies), token))
    return out
