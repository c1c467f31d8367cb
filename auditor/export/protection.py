"""The `password_protection` and `client` sections of an export.

Password protection comes from the Password Rule Settings group setting as read; a tenant with no such
object runs on the template's defaults, whose on-premises mode Microsoft documents inconsistently, so the
section is left for the team to declare (the check could only say `unknown` or `fail`). Smart lockout's
bounds are the live values: `at_most` the live threshold, `at_least` the live duration.

Whether the sign-in screen offers the reset link is decided the way `client.sign_in_reset` decides it
(Intune's profiles and the Group Policy that wins for every member computer): the export asks that check
which of `true` and `false` the live state satisfies, so the two never disagree.
"""

from __future__ import annotations

from auditor.export.blocks import Block, Leaf, readable
from auditor.export.seams import agent_leaf
from auditor.graph_fields import PASSWORD_RULE_FIELDS
from auditor.snapshot.models import Snapshot
from auditor.snapshot.tenant import PasswordRulesState

SIGN_IN_CHECK = "client.sign_in_reset"


def password_protection_block(snapshot: Snapshot) -> Block:
    rules, source, why = readable(snapshot, "password_rules")
    if why:
        return Block("password_protection", unreadable=why)
    assert isinstance(rules, PasswordRulesState)
    if rules.setting_id is None or rules.banned_on_premises_enabled is None:
        return Block("password_protection", unreadable=(
            f"{source}: no Password Rule Settings object sets {PASSWORD_RULE_FIELDS['banned_on_premises_enabled']}, "
            "so the tenant runs on defaults whose on-premises mode Microsoft documents inconsistently: declare "
            "on_premises (enforce, audit or off) and the smart lockout bounds by hand"))
    enabled_field = PASSWORD_RULE_FIELDS["banned_on_premises_enabled"]
    mode_field = PASSWORD_RULE_FIELDS["banned_on_premises_mode"]
    if not rules.banned_on_premises_enabled:
        on_premises = Leaf("on_premises", "off", f"{source} {enabled_field} = false", required=True)
    else:
        mode = (rules.banned_on_premises_mode or "Audit").lower()
        on_premises = Leaf("on_premises", mode, f"{source} {enabled_field} = true, {mode_field} = "
                           f"{rules.banned_on_premises_mode or 'not set (Audit)'}", required=True)
    custom_field = PASSWORD_RULE_FIELDS["custom_list_enabled"]
    custom = _custom_leaf(rules, source, custom_field)
    threshold_field = PASSWORD_RULE_FIELDS["lockout_threshold"]
    duration_field = PASSWORD_RULE_FIELDS["lockout_duration_seconds"]
    return Block("password_protection", [
        on_premises,
        custom,
        Leaf("lockout_threshold_at_most", rules.lockout_threshold, f"{source} {threshold_field} (the live value)")
        if rules.lockout_threshold is not None else
        Leaf("lockout_threshold_at_most", absent=f"{source} {threshold_field} was not in the setting"),
        Leaf("lockout_duration_seconds_at_least", rules.lockout_duration_seconds,
             f"{source} {duration_field} (the live value)")
        if rules.lockout_duration_seconds is not None else
        Leaf("lockout_duration_seconds_at_least", absent=f"{source} {duration_field} was not in the setting"),
        agent_leaf(snapshot),
    ])


def client_block(snapshot: Snapshot) -> Block:
    from auditor.checks.base import Status
    from auditor.checks.registry import check_by_id, run_check
    from auditor.policy.models import Client, Policy

    check = check_by_id(SIGN_IN_CHECK)
    said: dict[bool, str] = {}
    for value in (True, False):
        (finding, *_) = run_check(check, Policy(client=Client(sign_in_reset=value)), snapshot)
        if finding.status == Status.passed:
            sources = sorted({e.source for e in finding.evidence})[:4]
            return Block("client", [Leaf("sign_in_reset", value,
                                         f"as {SIGN_IN_CHECK} judges {', '.join(sources) or 'the live state'}")])
        said[value] = finding.reason or finding.status.value
    return Block("client", unreadable=f"neither true nor false holds for every computer ({said[True]})")


def _custom_leaf(rules: PasswordRulesState, source: str, field: str) -> Leaf:
    """`custom_banned_list` as the check judges it: true asks for the list on and holding words, so a list that is
    on but empty (or whose words were not read) satisfies neither value and is left for the team to declare."""
    if rules.custom_list_enabled is None:
        return Leaf("custom_banned_list", absent=f"{source} {field} was not in the setting")
    if rules.custom_list_enabled and not rules.custom_list_size:
        return Leaf("custom_banned_list", absent=(
            f"{source} {field} = true but BannedPasswordList holds "
            f"{'no word' if rules.custom_list_size == 0 else 'words that were not read'}: neither true (on, with "
            "words) nor false (off) describes it; add the organisation's words, then export again"))
    return Leaf("custom_banned_list", rules.custom_list_enabled,
                f"{source} {field} ({rules.custom_list_size or 0} custom words)")
