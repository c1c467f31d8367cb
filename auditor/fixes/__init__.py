"""Fixes: the typed changes a check's fixer proposes, and what a fixer sees (auditor.fixes.fixer)."""
