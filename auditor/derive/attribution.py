"""Since when, and from where: the last change behind a failing finding, added to its evidence as `last_change`.

On-premises, a check declares the LDAP attributes behind its verdict (`CheckSpec.changed_attributes`); the objects
are the ones the finding names (its target and its evidence sources, by DN) and, for a GPO named by its {GUID},
the GPO object and every container whose gPLink links it. The change itself (time, originating DC, version) is
what the DC's replication metadata says (`auditor.readers.change_metadata`); an object whose metadata could not
be read says so, never nothing.

In the cloud, a check names the audit events that change what it judges (`CheckSpec.audit_log`): a failing finding
on the SSPR service's settings carries the latest settings event of the SSPR audit log
(`SsprActivityState.settings_events`, the writeback toggles left out: who, when, which activity), and a writeback
finding the latest writeback toggle; where the log holds none (it keeps a limited window), nothing is added, and
where it was asked for but could not be read, `last_change` says so (as on-premises).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from auditor.ad.dn import dn_key
from auditor.findings import Evidence, Finding, Status
from auditor.graph_fields import WRITEBACK_OFF, WRITEBACK_ON

if TYPE_CHECKING:
    from auditor.snapshot.directory import ChangeMetadata, DirectoryState
    from auditor.snapshot.models import Snapshot

FIELD = "last_change"
MAX_CHANGES = 6  # the newest ones: a group holding a right on many OUs would otherwise flood the finding
_GUID = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")
_TOGGLES = frozenset({WRITEBACK_ON, WRITEBACK_OFF})


def attribute(finding: Finding, changed_attributes: tuple[str, ...], audit_log: str | None,
              snapshot: Snapshot) -> Finding:
    """`finding` with its `last_change` evidence when it fails (unchanged otherwise)."""
    if finding.status != Status.failed:
        return finding
    added: list[Evidence] = []
    if changed_attributes:
        added += on_premises(finding, changed_attributes, snapshot)
    if audit_log is not None:
        added += in_the_cloud(audit_log, snapshot)
    if not added:
        return finding
    return finding.model_copy(update={"evidence": [*finding.evidence, *added]})


def on_premises(finding: Finding, attributes: tuple[str, ...], snapshot: Snapshot) -> list[Evidence]:
    section = snapshot.directory
    directory = section.value if section is not None else None
    if directory is None:
        return []  # the finding rests on the directory: it is unknown, never failed, without it
    metadata = directory.change_metadata
    if metadata is None:
        why = (f"could not be read: {directory.change_metadata_error}" if directory.change_metadata_error
               else "not recorded: this snapshot holds no replication metadata")
        return [Evidence(source=directory.base_dn, field=FIELD, value={"error": why})]
    found: list[tuple[str, str, dict[str, object]]] = []
    unreadable: list[Evidence] = []
    for dn, wanted in _objects(finding, directory, metadata, attributes):
        changes = metadata.of(dn)
        if changes is None:
            continue
        if changes.error is not None:
            unreadable.append(Evidence(source=changes.dn, field=FIELD,
                                       value={"error": f"could not be read: {changes.error}"}))
            continue
        for name in wanted:
            change = changes.attributes.get(name)
            if change is not None:
                found.append((change.changed_at.isoformat(), changes.dn,
                              {"attribute": name, "changed_at": change.changed_at.isoformat(),
                               "originating_dc": change.originating_dc, "version": change.version}))
    found.sort(key=lambda row: row[0], reverse=True)
    out = unreadable + [Evidence(source=dn, field=FIELD, value=value) for _, dn, value in found[:MAX_CHANGES]]
    if not out:
        named = ", ".join(attributes)
        out.append(Evidence(source=directory.base_dn, field=FIELD,
                            value={"error": f"not recorded: no object this finding names holds {named} in the "
                                            f"replication metadata ({metadata.source})"}))
    return out


def _objects(finding: Finding, directory: DirectoryState, metadata: ChangeMetadata,
             attributes: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """(DN, the attributes to report on it) for every object the finding names."""
    texts = [finding.target, *(e.source for e in finding.evidence)]
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for text in texts:
        if metadata.of(text) is not None:
            out.setdefault(dn_key(text), (text, attributes))
    guids = {g.upper() for text in texts for g in _GUID.findall(text)}
    link_attributes = tuple(a for a in attributes if a == "gPLink")
    for gpo in directory.gpos:
        if "{" + gpo.guid.strip("{}").upper() + "}" not in guids:
            continue
        out.setdefault(dn_key(gpo.dn), (gpo.dn, tuple(a for a in attributes if a != "gPLink")))
        for link in gpo.links if link_attributes else []:
            key = dn_key(link.container)
            if key not in out:
                out[key] = (link.container, link_attributes)
    return list(out.values())


def in_the_cloud(kind: str, snapshot: Snapshot) -> list[Evidence]:
    """The latest SSPR settings event (`sspr_settings`, the writeback toggles left out) or writeback toggle
    (`writeback`) of the audit log read; nothing when the log was not read or holds none."""
    section = snapshot.sspr_activity
    activity = section.value if section is not None else None
    if section is None:
        return []  # the log was not asked for: nothing is claimed
    if activity is None:  # asked for and refused (AuditLog.Read.All missing, a 403): say so, as on-premises
        return [Evidence(source=section.source, field=FIELD,
                         value={"error": f"could not be read: {section.error or 'the audit log was not read'}"})]
    if kind == "writeback":
        events = [(e.at, e.initiated_by, "writeback " + ("enabled" if e.enabled else "disabled"))
                  for e in activity.writeback_events]
    else:
        events = [(e.at, e.initiated_by, e.activity) for e in activity.settings_events
                  if e.activity.strip().lower() not in _TOGGLES]
    if not events:
        return []
    at, by, what = max(events, key=lambda e: e[0])
    return [Evidence(source=section.source, field=FIELD,
                     value={"changed_at": at.isoformat(), "by": by or "not named in the event", "activity": what})]


@dataclass(frozen=True)
class LastChange:
    """A `last_change` evidence item read back for a report: since when, by whom (a DC or an actor), what."""

    source: str
    when: datetime | None
    by: str | None
    what: str
    error: str | None = None


def last_changes(finding: Finding) -> list[LastChange]:
    """The finding's `last_change` evidence, newest first (those that could not be read last)."""
    out: list[LastChange] = []
    for item in finding.evidence:
        value = item.value if isinstance(item.value, dict) else {}
        if item.field != FIELD or not value:
            continue
        if "error" in value:
            out.append(LastChange(item.source, None, None, "", error=str(value["error"])))
            continue
        try:
            when: datetime | None = datetime.fromisoformat(str(value.get("changed_at")))
        except ValueError:
            when = None
        if "attribute" in value:
            what = f"{value['attribute']} (version {value.get('version')})"
            by = f"on {value.get('originating_dc')}"
        else:
            what, by = str(value.get("activity") or "a change"), f"by {value.get('by')}"
        out.append(LastChange(item.source, when, by, what))
    dated = sorted((c for c in out if c.when is not None), key=lambda c: c.when or datetime.min, reverse=True)
    return dated + [c for c in out if c.when is None]
