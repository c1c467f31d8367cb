"""The SSPR policy checks. A setting that maps one to one from a policy key to a portal field is judged by
`portal_setting`, which takes the pair from `auditor.portal_fields` (POLICY_KEYS, SSPR_FIELDS)."""

from __future__ import annotations

from auditor.checks.base import Context, Evidence, Finding
from auditor.portal_fields import POLICY_KEYS, SSPR_FIELDS


def portal_setting(ctx: Context, key: str, *, target: str = "tenant", what: str | None = None) -> Finding:
    """pass/fail/unknown for the policy's `key` against the portal's SSPR policy, the wire field as evidence."""
    field = POLICY_KEYS[key]
    actual = getattr(ctx.section("sspr_policy"), field)
    evidence = [Evidence(source=ctx.source("sspr_policy"), field=SSPR_FIELDS[field], value=actual)]
    return ctx.compare(ctx.policy.value_at(key), actual, evidence, target=target, key=key, what=what)
