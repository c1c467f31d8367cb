"""The portal's SSPR settings for unattended runs: a snapshot taken by an admin, and the rules that keep it honest.

The portal's SSPR API accepts only a delegated user token, so a pipeline that runs app-only cannot read it.
`collect --portal-only` (an admin, interactively) writes just the two portal sections, with when and by whom
they were read. `check --portal-snapshot FILE` takes them from there, and:

- labels every verdict that depends on them with the snapshot's age (the sections' `source`);
- refuses a snapshot older than the policy allows (`sources.portal.max_age_days`): the sections become
  unreadable, so the dependent checks are `unknown` with the age, never a stale `pass`;
- searches the directory audit log (readable app-only with AuditLog.Read.All) for changes to the SSPR and
  writeback settings made after the snapshot: any such event makes the sections unreadable, naming it.
  Which events count: every event of the Self-service Password Management service whose category is not
  `UserManagement` (user resets, registrations and unlocks are UserManagement). Microsoft documents
  "Enable/Disable password writeback for directory" in category DirectoryManagement (Microsoft Learn,
  "Microsoft Entra audit log categories and activities", Self-service password management); the SSPR policy
  changes Microsoft added in 2025 ("General Availability - Expansion of SSPR Policy Audit Logging", Entra
  what's new) are matched by service and category, not by a name no public source here spells out.
- a snapshot older than the audit window this run read cannot be checked against the log: unknown too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from auditor.snapshot.models import OnPremisesWritebackState, Section, Snapshot, SsprPolicyState

PORTAL_SECTIONS = ("sspr_policy", "onprem_writeback")
_TYPES = {"sspr_policy": Section[SsprPolicyState], "onprem_writeback": Section[OnPremisesWritebackState]}


class PortalSnapshotError(Exception):
    """A file given as --portal-snapshot that holds no portal sections (exit 2)."""


def portal_only(snapshot: Snapshot, collected_by: str) -> Snapshot:
    """`snapshot` with only the portal sections (the rest left out), and who read them."""
    kept = {name: getattr(snapshot, name) for name in PORTAL_SECTIONS}
    return Snapshot(tool_version=snapshot.tool_version, created_at=snapshot.created_at, origin=snapshot.origin,
                    collected_by=collected_by, **kept)


def _age_text(days: float) -> str:
    return f"{days:.1f} day(s)" if days < 10 else f"{days:.0f} days"


def with_portal_snapshot(live: Snapshot, portal: Snapshot, max_age_days: int, now: datetime | None = None,
                         name: str = "portal snapshot") -> Snapshot:
    """`live` with its portal sections taken from `portal`, or failed with the reason it cannot be trusted."""
    if all(getattr(portal, section) is None for section in PORTAL_SECTIONS):
        raise PortalSnapshotError(f"{name} holds no portal sections: make it with `sspr-audit collect --portal-only`")
    now = now or datetime.now(UTC)
    taken = portal.created_at
    age = (now - taken).total_seconds() / 86400
    who = f" by {portal.collected_by}" if portal.collected_by else ""
    label = f"{name} of {taken:%Y-%m-%d %H:%M}Z{who}, {_age_text(max(age, 0))} old"
    reason = None
    if age > max_age_days:
        reason = (f"the {label}: older than the {max_age_days} day(s) the policy allows "
                  "(sources.portal.max_age_days); collect it again with `sspr-audit collect --portal-only`")
    elif age < -1 / 24:
        reason = f"the {label}: taken in the future (clock skew or an edited file)"
    else:
        reason = _changed_since(live, taken, label)
    sections = {}
    for section in PORTAL_SECTIONS:
        kept = getattr(portal, section)
        if kept is None:
            sections[section] = _TYPES[section].failed(name, f"the {label} does not hold {section}")
        elif reason is not None:
            sections[section] = _TYPES[section].failed(f"{kept.source} ({label})", reason)
        else:
            sections[section] = kept.model_copy(update={"source": f"{kept.source} ({label})"})
    return live.model_copy(update=sections)


def _changed_since(live: Snapshot, taken: datetime, label: str) -> str | None:
    """Why the audit log says the settings may have changed since `taken` (None when it says they did not)."""
    activity = live.sspr_activity
    if activity is None or not activity.readable or activity.value is None:
        why = activity.error if activity is not None and activity.error else "it was not read"
        return (f"the {label} cannot be checked against the audit log for later changes to the SSPR settings: "
                f"{why}")
    state = activity.value
    if taken < state.window_start:
        return (f"the {label} is older than the audit log window this run read (from "
                f"{state.window_start:%Y-%m-%d}): later changes could not be ruled out")
    later = [event for event in state.settings_events if event.at > taken]
    if not later:
        return None
    first = later[0]
    more = f" (and {len(later) - 1} more)" if len(later) > 1 else ""
    from auditor.text import one_line

    return (f"changed by {one_line(first.initiated_by or 'an unknown actor')} at {first.at:%Y-%m-%d %H:%M}Z "
            f"(\"{one_line(first.activity)}\", {one_line(first.category)}){more}, after the {label}")
