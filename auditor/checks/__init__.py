"""Checks: one module per check; the module path below this package is the check id."""
