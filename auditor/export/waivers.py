"""Waivers for what no policy value can say: drift on single objects found when the policy was exported.

A policy says what every target OU must pass down; it has no value for "except the users whose own DACL
keeps the rights out" (inheritance disabled, AdminSDHolder). Leaving them would make the exported policy
fail on day one, and dropping the rights would stop checking everyone else. So each such finding becomes a
waiver that names the object and the reason as found, has no owner yet, and expires after `DAYS`: the
check fails again on the day it lapses unless someone fixes the object or takes the waiver on.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from auditor.policy.models import Policy
from auditor.snapshot.models import Snapshot

DAYS = 30
# ad.acl.tier0_reach: a principal whose writeback rights reach protected accounts (the sync account on an admin
# SDProp has not stamped yet has no policy value to accept it but admin_sd_holder, which asks for more) is a
# finding to review, not a value to export silently; so are who can take over the sync account and a
# RestrictRemoteSAM that shuts it out (no policy value accepts them)
PER_OBJECT_CHECKS = ("ad.acl.coverage", "ad.acl.tier0_reach", "ad.service_account.control",
                     "ad.gpo.restrict_remote_sam")
OWNER = "unassigned (sspr-audit export)"


def residual_waivers(policy: Policy, snapshot: Snapshot, today: date) -> list[dict[str, Any]]:
    """One waiver per failing finding of the per-object checks, for the exported `policy` on `snapshot`."""
    from auditor.checks.base import Status
    from auditor.checks.registry import check_by_id, run_check

    out: list[dict[str, Any]] = []
    for check_id in PER_OBJECT_CHECKS:
        for finding in run_check(check_by_id(check_id), policy, snapshot):
            if finding.status == Status.failed and finding.target:
                out.append({"check": finding.check, "target": finding.target,
                            "reason": f"found at export on {today.isoformat()}: {finding.reason or 'failed'}",
                            "owner": OWNER, "expires": today + timedelta(days=DAYS)})
    return sorted(out, key=lambda w: (w["check"], w["target"].casefold()))  # the same file for the same domain
