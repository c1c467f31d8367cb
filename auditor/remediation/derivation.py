"""What apply may write: the changes the planner derives at apply time, and the fence they must stay in.

A change in a plan file is applied only when it is *exactly* one of these: the same kind, object,
settings (old and new), ACEs, fingerprints of what it read, and findings. Only its position (`id`)
and the fingerprints of whole snapshot sections (`depends_on`, which move when anything else in a
section moves) may differ. So an edited `new` value, an injected ACE, a retargeted DN or a summary
that hides what a change does is never written, whatever the file's digest says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from auditor.fixes.changes import Change
from auditor.policy.models import Policy
from auditor.remediation.scope import outside_scope
from auditor.snapshot.models import Snapshot

VOLATILE = frozenset({"id", "depends_on"})


def change_identity(change: Change) -> str:
    """The canonical text of everything a change does (not where it sits in the plan)."""
    body = change.model_dump(mode="json", exclude=set(VOLATILE))
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Derivation:
    """The changes derived now, keyed by identity, and why any of them falls outside the policy's objects."""

    changes: dict[str, Any] = field(default_factory=dict)
    outside: dict[str, str] = field(default_factory=dict)
    basis: str = ""
    impact: list[Any] = field(default_factory=list)
    """Who the derived changes bring in or leave out (`ChangeImpact`), on the state read now."""

    @classmethod
    def of(cls, changes: list[Change], policy: Policy, snapshot: Snapshot, basis: str = "",
           impact: list[Any] | None = None) -> Derivation:
        keyed = {change_identity(c): c for c in changes}
        outside = {key: reason for key, change in keyed.items()
                   if (reason := outside_scope(change, policy, snapshot)) is not None}
        return cls(changes=keyed, outside=outside, basis=basis, impact=list(impact or []))

    def verdict(self, change: Change) -> tuple[Any | None, str | None]:
        """(the derived change equal to `change`, None) or (None, why it is refused)."""
        key = change_identity(change)
        derived = self.changes.get(key)
        if derived is None:
            return None, ("not what the policy asks for now: re-deriving the plan from the policy and the live "
                          f"state{' (' + self.basis + ')' if self.basis else ''} gives no such change")
        if key in self.outside:
            return None, f"outside the objects the policy governs: {self.outside[key]}"
        return derived.model_copy(update={"id": change.id}), None
