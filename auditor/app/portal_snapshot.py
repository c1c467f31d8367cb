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
- a snapshot older than the audit window this run read cannot be checked against the log: unknown too;
- binds it to its tenant and seals it: the file names the tenant it was read from (the id Graph reports for
  /directory/onPremisesSynchronization, which Microsoft documents as the tenant id) and is sealed with
  `auditor.remediation.seal` (a SHA-256 digest, and an HMAC-SHA256 with SSPR_PLAN_KEY when that is set), over
  its tenant, time, reader and values. A snapshot whose seal does not hold, that names no tenant, or that
  names another tenant than the one this run reads makes the portal sections unknown, naming both tenants.
  Unknown rather than a refusal (exit 2): the rest of the audit still runs and reports, and the run still
  fails (unknown fails by default) with the reason on exactly the checks that needed the snapshot, as a
  stale snapshot does; in a fleet, one tenant's wrong file does not stop the other tenants. Without the
  key, the digest only catches an accidental edit (anyone can recompute it): the label says "unsealed".
"""

from __future__ import annotations

from datetime import UTC, datetime

from auditor.remediation.seal import seal
from auditor.snapshot.models import OnPremisesWritebackState, Section, Snapshot, SsprPolicyState

PORTAL_SECTIONS = ("sspr_policy", "onprem_writeback")
PortalSection = Section[SsprPolicyState] | Section[OnPremisesWritebackState]
_TYPES: dict[str, type[PortalSection]] = {"sspr_policy": Section[SsprPolicyState],
                                          "onprem_writeback": Section[OnPremisesWritebackState]}


class PortalSnapshotError(Exception):
    """A file given as --portal-snapshot that holds no portal sections (exit 2)."""


def portal_only(snapshot: Snapshot, collected_by: str) -> Snapshot:
    """`snapshot` with only the portal sections (the rest left out), who read them and the tenant they were read
    from, sealed; a read whose tenant Graph did not report cannot make one."""
    if not snapshot.tenant_id:
        sync = snapshot.sync_features
        why = sync.error if sync is not None and sync.error else "it did not name one"
        raise PortalSnapshotError("a portal snapshot must name its tenant, and Graph did not report it "
                                  f"(GET /directory/onPremisesSynchronization: {why}); nothing was written")
    kept = {name: getattr(snapshot, name) for name in PORTAL_SECTIONS}
    return seal(Snapshot(tool_version=snapshot.tool_version, created_at=snapshot.created_at, origin=snapshot.origin,
                         collected_by=collected_by, tenant_id=snapshot.tenant_id, **kept))


def seal_problem(portal: Snapshot, name: str = "portal snapshot") -> str | None:
    """Why the snapshot's seal does not hold (None when it does): nothing in it can be trusted then. The rule every
    snapshot file follows (`auditor.app.snapshot_trust`); a portal snapshot without a seal is never read."""
    from auditor.app.snapshot_trust import seal_problem as snapshot_seal_problem

    return snapshot_seal_problem(portal, name, "sspr-audit collect --portal-only")


def _tenant_problem(live: Snapshot, portal: Snapshot, label: str) -> str | None:
    """Why the snapshot cannot stand for the tenant this run reads (None when it names the same tenant)."""
    from auditor.text import one_line

    if not portal.tenant_id:
        return f"the {label} names no tenant: collect it again with `sspr-audit collect --portal-only`"
    theirs = one_line(portal.tenant_id)
    if not live.tenant_id:
        sync = live.sync_features
        why = sync.error if sync is not None and sync.error else "it did not name one"
        return (f"the {label} is of tenant {theirs}, and this run could not learn its own tenant id from Graph "
                f"(GET /directory/onPremisesSynchronization: {one_line(why)}), so it cannot be matched")
    if live.tenant_id.casefold() != portal.tenant_id.casefold():
        return (f"the {label} was read from tenant {theirs}, but this run reads tenant {one_line(live.tenant_id)}: "
                "another tenant's settings are not used; give the snapshot collected from this tenant")
    return None


def _age_text(days: float) -> str:
    return f"{days:.1f} day(s)" if days < 10 else f"{days:.0f} days"


def with_portal_snapshot(live: Snapshot, portal: Snapshot, max_age_days: int, now: datetime | None = None,
                         name: str = "portal snapshot") -> Snapshot:
    """`live` with its portal sections taken from `portal`, or failed with the reason it cannot be trusted."""
    if all(getattr(portal, section) is None for section in PORTAL_SECTIONS):
        raise PortalSnapshotError(f"{name} holds no portal sections: make it with `sspr-audit collect --portal-only`")
    now = now or datetime.now(UTC)
    naive = portal.created_at.tzinfo is None  # never written so by sspr-audit (it writes UTC with its offset)
    taken = portal.created_at.replace(tzinfo=UTC) if naive else portal.created_at
    age = (now - taken).total_seconds() / 86400
    who = f" by {portal.collected_by}" if portal.collected_by else ""
    sealed = "sealed" if portal.mac else "unsealed"
    label = f"{name} of {taken:%Y-%m-%d %H:%M}Z{who}, {_age_text(max(age, 0))} old, {sealed}"
    reason = seal_problem(portal, name) or _tenant_problem(live, portal, label)
    if reason is None and naive:
        reason = f"the {name}'s time ({portal.created_at.isoformat()}) has no time zone, so its age is unknown"
    if reason is not None:
        pass  # the seal, the tenant or the time: nothing else in the file is looked at
    elif age > max_age_days:
        reason = (f"the {label}: older than the {max_age_days} day(s) the policy allows "
                  "(sources.portal.max_age_days); collect it again with `sspr-audit collect --portal-only`")
    elif age < -1 / 24:
        reason = f"the {label}: taken in the future (clock skew or an edited file)"
    else:
        reason = _changed_since(live, taken, label)
    sections: dict[str, PortalSection] = {}
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
