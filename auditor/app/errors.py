"""The use cases' own error, below every use-case module so each can raise it without importing another."""

from __future__ import annotations


class SourceError(Exception):
    """The live-state source is misconfigured (bad option combination, missing credential)."""
