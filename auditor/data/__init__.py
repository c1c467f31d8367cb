"""Files shipped inside the package, so an installed wheel is the whole product.

In a clone these are links to the repository's own copies (policies/baseline.yaml, policies/schema.json,
report-schema.json, fleet-report-schema.json): one file each, which the wheel build copies in.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

BASELINE = "baseline.yaml"
POLICY_SCHEMA = "policy.schema.json"
REPORT_SCHEMA = "report.schema.json"
FLEET_REPORT_SCHEMA = "fleet-report.schema.json"
SHIPPED = (BASELINE, POLICY_SCHEMA, REPORT_SCHEMA, FLEET_REPORT_SCHEMA)


def shipped(name: str) -> Traversable:
    """One shipped file (a name from SHIPPED)."""
    if name not in SHIPPED:
        raise KeyError(f"{name} is not shipped with sspr-auditor")
    return files(__package__) / name


def shipped_text(name: str) -> str:
    return shipped(name).read_text(encoding="utf-8")
