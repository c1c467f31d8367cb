"""Backups written by the previous release (formats 2 and 3), checked as they were sealed and read into today's model.

A user who applied with the previous version must still be able to roll back after upgrading. Those backups
recorded the endpoints field by field in `source` (`graph_url`, `auth`, `ad_host`, …), where format 4 has one
`endpoints` object (auditor/endpoints.py), so today's model cannot read them, and the seal of today's model is
not theirs. Their seal was the digest (and, with SSPR_PLAN_KEY, the HMAC-SHA256) over the backup's own data, every
field but `digest` and `mac`, as JSON with sorted keys, no spaces and ASCII escapes: `canonical` in
auditor/remediation/seal.py of that release (git show db8ef01:auditor/remediation/seal.py) dumped the model it had
just written, which is the file's data. So the seal is checked on the file's data as read, before anything is
converted: an edited old backup is refused as a new one would be. Only then is `source` rewritten into today's
shape; the changes, objects and journal are today's shapes already (tests/fixtures/old_backups, made by that
release, keep it so).

Format 2 keeps what apply wrote in its objects (`written`, `after`), format 3 in its write-ahead journal; the
caller treats each as its version says. Old *plans* are not converted: a plan lives minutes, and making it again
is the safe answer.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

LEGACY_VERSIONS = (2, 3)
# format 2/3 `source` fields → today's `Endpoints` fields (ad_* go into `Endpoints.ad`)
_ENDPOINT_FIELDS = ("graph_url", "portal_url", "auth", "portal_auth", "tenant_id", "client_id")
_AD_FIELDS = {"ad_host": "host", "ad_user": "user", "ad_tls": "tls", "ad_ca_file": "ca_file",
              "ad_tls_name": "tls_name", "ad_base_dn": "base_dn", "smb_host": "smb_host"}
_KEPT_FIELDS = ("origin", "ephemeral", "read_tenant_id")


class LegacyBackupError(ValueError):
    """An old backup whose seal does not hold, or whose source is not the shape that release wrote."""


def seal_problem(document: dict[str, Any]) -> str | None:
    """Why the old backup's seal does not hold over its data as read (None when it does)."""
    from auditor.remediation.seal import canonical_data, check_data_seal

    digest = "sha256:" + hashlib.sha256(canonical_data(document)).hexdigest()
    if document.get("digest") != digest:
        return "the backup was edited after it was written (its digest does not match)"
    return check_data_seal(document, "backup")


def converted(document: dict[str, Any]) -> dict[str, Any]:
    """The old backup's data in today's format (its seal still to be made by the caller)."""
    source = document.get("source")
    if not isinstance(source, dict):
        raise LegacyBackupError("its source is not an object")
    unknown = sorted(set(source) - set(_ENDPOINT_FIELDS) - set(_AD_FIELDS) - set(_KEPT_FIELDS))
    if unknown:
        raise LegacyBackupError(f"its source has fields that release never wrote ({', '.join(unknown)[:200]})")
    endpoints: dict[str, Any] = {name: source[name] for name in _ENDPOINT_FIELDS if source.get(name) is not None}
    # that release wrote with no portal auth as it does with none for Graph: the lab's token, on loopback URLs
    # only (db8ef01:auditor/remediation/endpoints.py `_credential`), which is today's `lab` for writing
    endpoints.setdefault("portal_auth", "lab")
    if endpoints.get("portal_url"):
        endpoints["portal"] = True
    if source.get("ad_host"):
        endpoints["ad"] = {new: source[old] for old, new in _AD_FIELDS.items() if source.get(old) is not None}
    new_source = {name: source[name] for name in _KEPT_FIELDS if name in source}
    return {**document, "format_version": 4, "source": {**new_source, "endpoints": endpoints},
            "digest": "", "mac": None}


def read_legacy(path: Path, document: dict[str, Any], text: str) -> dict[str, Any]:
    """The old backup at `path` (its parsed `document`, its `text`) as today's format's data, once its old seal
    held (today's seal is for the caller to make); a PlanError naming the file and line otherwise."""
    from auditor.remediation.changes import PlanError, json_position
    from auditor.remediation.seal import SealError

    version = document.get("format_version")
    try:
        problem = seal_problem(document)
    except SealError as exc:
        raise PlanError(str(exc)) from None
    if problem:
        line, column = json_position(text, ["mac" if "sign" in problem or "KEY" in problem else "digest"])
        raise PlanError(f"{path}:{line}:{column}: {problem}: it cannot be trusted to restore anything")
    try:
        return converted(document)
    except LegacyBackupError as exc:
        line, column = json_position(text, ["source"])
        raise PlanError(f"{path}:{line}:{column}: a format {version} backup, but {exc}: it cannot be trusted") \
            from None
