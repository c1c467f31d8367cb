"""apply and rollback as the CLI runs them: the changes re-derived from the policy and the targets' live state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.app.remediate import apply_plan, endpoints_of, plan_policy, rollback_backup
from auditor.policy.models import Policy
from auditor.remediation.apply import ApplyResult, Backup, RollbackResult
from auditor.remediation.changes import Plan
from auditor.remediation.session import Targets


def apply(plan: Plan, targets: Targets, *, policy: Policy | None = None, yes: bool = False,
          backup_path: Path | None = None) -> ApplyResult:
    """Apply `plan`; `policy` for a policy built in memory, else the plan's own file (sha256 checked)."""
    return apply_plan(plan, targets, policy=policy or plan_policy(plan), yes=yes, backup_path=backup_path,
                      endpoints=endpoints_of(targets))


def rollback(backup: Backup, targets: Targets, *, yes: bool = False, force: bool = False) -> RollbackResult:
    return rollback_backup(backup, targets, yes=yes, force=force, endpoints=endpoints_of(targets))


__all__: list[Any] = ["apply", "rollback"]
