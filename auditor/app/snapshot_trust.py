"""Which tenant a snapshot is of, and whether its file can be believed: one set of rules for every snapshot.

A snapshot names the tenant it was read from (`tenant_id`: the id Graph reports for
/directory/onPremisesSynchronization, which Microsoft documents as the tenant id) and is sealed with
`auditor.remediation.seal` (a SHA-256 digest, and an HMAC-SHA256 with SSPR_PLAN_KEY when that is set) over
its tenant, its time and its values. The same seal and the same rules hold for the two kinds of file:

- a portal snapshot (`collect --portal-only`, `check --portal-snapshot`): see `auditor.app.portal_snapshot`;
  a problem makes the portal sections unknown, so the rest of the audit still runs;
- a full snapshot (`collect`, then `check/plan/export --snapshot`): the whole audit stands on it, so a problem
  is a refusal (exit 2), before any check: a digest that does not match (an edited date or value), a MAC that
  does not match SSPR_PLAN_KEY, a file without a MAC while the key is set, a signed file read without the key.
  A file with no seal at all (written by an older sspr-audit, or a test's own) is read only without the key,
  with a note that it is taken on trust: without the key anyone can recompute a digest anyway.

And the tenant: a policy that names its tenant (`tenant.tenant_id`) is audited only against that tenant
(`auditor.policy.tenant_binding`): a snapshot file of another tenant is refused here. A login cache (the
portal's delegated reader) is of the tenant it signed in to: it must be the tenant Graph reports, whether or
not `--tenant-id` was given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.policy.tenant_binding import refuse_other_tenant
from auditor.remediation.seal import check_seal, plan_key, seal
from auditor.text import one_line

if TYPE_CHECKING:
    from auditor.policy.models import Policy
    from auditor.snapshot.models import Snapshot

def seal_problem(snapshot: Snapshot, name: str, remake: str) -> str | None:
    """Why the file's seal does not hold (None when it does); `remake` is the command that writes it again.
    A file with no seal at all is a problem here; `unsealed_is_trusted` says when a full snapshot may be one."""
    if snapshot.digest is None:
        tenant = "" if snapshot.tenant_id else " and names no tenant"
        keyed = ", and SSPR_PLAN_KEY is set" if plan_key() is not None else ""
        return (f"the {name} has no seal{tenant} (made by an older sspr-audit, or by hand){keyed}: make it again "
                f"with `{remake}`")
    return check_seal(snapshot, name)


def unsealed_is_trusted(snapshot: Snapshot) -> bool:
    """A full snapshot with no seal at all is read only while SSPR_PLAN_KEY is unset."""
    return snapshot.digest is None and snapshot.mac is None and plan_key() is None


def sealed_snapshot(snapshot: Snapshot) -> Snapshot:
    """`snapshot` as `collect` writes it: sealed over its tenant, time and values."""
    return seal(snapshot)


def load_trusted_snapshot(path: str | Path, policy: Policy | None,
                          warn: Callable[[str], None] | None = None) -> Snapshot:
    """The snapshot file given as --snapshot when its seal holds and it is of the policy's tenant; else
    SnapshotError or PolicyError (exit 2). `warn` is told when a file without a seal is believed (no key)."""
    from auditor.snapshot.store import SnapshotError, load_snapshot

    path = Path(path)
    snapshot = load_snapshot(path)
    if unsealed_is_trusted(snapshot):
        if warn is not None:
            warn(f"{path} has no seal (written by an older sspr-audit, or by hand): its tenant, date and values "
                 "are taken on trust; `sspr-audit collect` seals what it writes (a signature with SSPR_PLAN_KEY)")
    else:
        problem = seal_problem(snapshot, f"snapshot {path.name}", "sspr-audit collect")
        if problem is not None:
            raise SnapshotError(f"{path}: refused: {problem}")
    if policy is not None:
        refuse_other_tenant(policy, snapshot.tenant_id, f"the snapshot {path} was read from")
    return snapshot


def login_cache_tenant_problem(snapshot: Snapshot, cache_tenant: str, cache: str) -> str | None:
    """Why the portal sections read with the login cache at `cache` (signed in to `cache_tenant`) cannot stand for
    the tenant Graph reports (None when they can): another tenant, or a Graph that did not say which."""
    if not snapshot.tenant_id:
        sync = snapshot.sync_features
        why = sync.error if sync is not None and sync.error else "it did not name one"
        return (f"the login cache {cache} is of tenant {one_line(cache_tenant)}, and Graph did not report the "
                f"tenant it reads (GET /directory/onPremisesSynchronization: {one_line(why)}), so the portal "
                "settings read with it cannot be matched to this tenant")
    if snapshot.tenant_id.strip().casefold() != cache_tenant.strip().casefold():
        return (f"the login cache {cache} is signed in to tenant {one_line(cache_tenant)}, but Graph reads tenant "
                f"{one_line(snapshot.tenant_id)}: another tenant's portal settings are never used; sign in to "
                "this tenant into another file (`sspr-audit login --tenant-id … --cache …`)")
    return None
