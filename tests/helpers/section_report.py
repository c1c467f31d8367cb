"""A report holding both sections the HTML page draws, for the CI formats' tests: the coverage of
`cases_coverage.coverage_snapshot()` (Secure Score, activity, licences) and the drifted on-premises
domain of `onprem_factory`, audited against policies/baseline.yaml (so both sections have a policy line).
"""

from __future__ import annotations

from pathlib import Path

from auditor.report import AuditReport
from tests.helpers.onprem_factory import drifted_snapshot, report_for, waived
from tests.unit.cases_ad import BASELINE, SALES, STAFF, baseline_policy
from tests.unit.cases_coverage import coverage_snapshot


def sectioned_report(target_ou: str = SALES, **names: str) -> AuditReport:
    """`names`: `user_name`, `pso_name`, `gpo_name` of the drifted domain (hostile ones, say)."""
    domain = drifted_snapshot(target_ou=target_ou, **names)
    snapshot = coverage_snapshot(directory=domain.directory, sysvol=domain.sysvol,
                                 gpo_sign_in_reset=domain.gpo_sign_in_reset)
    return report_for(waived(baseline_policy(target_ous=[STAFF, target_ou])), snapshot)


def line_of_key(key: str, policy: Path = BASELINE) -> int:
    """The 1-based line of the top-level `key:` in the policy file, read from the file itself."""
    return policy.read_text(encoding="utf-8").splitlines().index(f"{key}:") + 1
