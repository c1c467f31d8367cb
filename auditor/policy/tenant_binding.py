"""A policy that names its tenant (`tenant.tenant_id`) is audited only against that tenant.

The tenant a run reads (the id Graph reports, a snapshot's tenant) and the fleet inventory's id for the policy's
tenant must be the policy's own; another is an input error (exit 2) at `tenant.tenant_id`'s line, naming both
ids, never one tenant's settings reported under another's policy. Nothing to compare (the policy, or the other
side, names no tenant; a fleet tenant named by a domain rather than its GUID) is no error.
"""

from __future__ import annotations

from auditor.policy.loader import PolicyError, PolicyIssue
from auditor.policy.models import Policy
from auditor.text import one_line

POLICY_TENANT_KEY = "tenant.tenant_id"


def other_tenant_issue(policy: Policy, tenant_id: str | None, where: str) -> PolicyIssue | None:
    """The issue when `tenant_id` (whose, `where` says: "Graph reports", "the fleet inventory … names") is not the
    policy's tenant; None when it is, or when there is nothing to compare."""
    ours = policy.tenant.tenant_id
    if not ours or not tenant_id or ours.strip().casefold() == tenant_id.strip().casefold():
        return None
    location = policy.location(POLICY_TENANT_KEY)
    file, line, column = (location.file, location.line, location.column) if location else (
        policy.source_file or "policy", 1, 1)
    return PolicyIssue(file, line, column, POLICY_TENANT_KEY,
                       f"the policy is for tenant {one_line(ours)}, but {where} tenant {one_line(tenant_id)}: another "
                       "tenant's settings are never audited under this policy (fix `tenant.tenant_id`, or point the "
                       "run at the policy's tenant)")


def refuse_other_tenant(policy: Policy, tenant_id: str | None, where: str) -> None:
    """PolicyError (exit 2) when `tenant_id` is not the policy's tenant (`other_tenant_issue`)."""
    issue = other_tenant_issue(policy, tenant_id, where)
    if issue is not None:
        raise PolicyError([issue])
