"""The SSPR policy checks. A setting that maps one to one from a policy key to a portal field is judged by
`portal_setting`, which takes the pair from `auditor.portal_fields` (POLICY_KEYS, SSPR_FIELDS), and fixed by
`portal_fixer`, which writes the value the policy asks for to the same field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.checks.base import Context, Evidence, Finding
from auditor.fixes.changes import PortalSsprChange, SettingChange
from auditor.fixes.fixer import FixContext, Fixer
from auditor.policy.models import Sspr
from auditor.portal_fields import POLICY_KEYS, SSPR_FIELDS
from auditor.snapshot.models import SsprPolicyState


def portal_setting(ctx: Context, key: str, *, target: str = "tenant", what: str | None = None) -> Finding:
    """pass/fail/unknown for the policy's `key` against the portal's SSPR policy, the wire field as evidence."""
    field = POLICY_KEYS[key]
    actual = getattr(ctx.section("sspr_policy"), field)
    evidence = [Evidence(source=ctx.source("sspr_policy"), field=SSPR_FIELDS[field], value=actual)]
    return ctx.compare(ctx.policy.value_at(key), actual, evidence, target=target, key=key, what=what)


def portal_change(fx: FixContext, findings: list[Finding], summary: Callable[[SsprPolicyState], str],
                  keys: tuple[str, ...] = (), pairs: dict[str, Any] | None = None) -> None:
    """One change of the portal's SSPR policy fixing `findings`: the portal fields of policy `keys` (the pair from
    `auditor.portal_fields.POLICY_KEYS`, the value the policy asks for, defaulted or written) and `pairs`, those
    that differ from what the portal showed. Nothing when the portal policy or the policy's section was not read,
    or when nothing differs."""
    live: SsprPolicyState | None = fx.value("sspr_policy")
    if live is None or fx.policy.sspr is None or not findings:
        return
    wanted = {POLICY_KEYS[key]: fx.policy.value_at(key) for key in keys} | (pairs or {})
    settings = [SettingChange(name=k, old=getattr(live, k), new=v) for k, v in wanted.items() if getattr(live, k) != v]
    if settings:
        fx.add(PortalSsprChange, findings, target="portal PasswordResetPolicies", summary=summary(live),
               settings=settings, depends_on=fx.depends("sspr_policy"))


def portal_fixer(*keys: str, summary: Callable[[SsprPolicyState, Sspr], str], after: tuple[str, ...] = ()) -> Fixer:
    """The fixer of a check judged by `portal_setting` on `keys`: one portal change to what the policy asks."""
    def plan(fx: FixContext, failing: list[Finding]) -> None:
        sspr = fx.policy.sspr
        if sspr is not None:
            portal_change(fx, failing, lambda live: summary(live, sspr), keys)

    return Fixer(plan=plan, after=after)
