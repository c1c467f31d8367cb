"""Use cases: where the live state comes from, one audit, one remediation. The CLI calls these only."""
