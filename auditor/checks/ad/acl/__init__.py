"""Checks of the sync account's rights in the directory's access-control lists, and how both are fixed: allow
ACEs for the sync account (`grant`)."""

from __future__ import annotations

import base64
import hashlib

from auditor.ad.dn import dn_key
from auditor.ad.rights import RIGHTS_BY_NAME, USER_CLASS, Right
from auditor.ad.sd import canonical_ace
from auditor.findings import Finding
from auditor.fixes.changes import LdapDaclChange
from auditor.fixes.fixer import FixContext
from auditor.snapshot.directory import SecuredObject, ServiceAccount

HOLDER_NOTE = "AdminSDHolder's DACL is copied to every protected (adminCount=1) account within the hour"
_BY_LABEL = {r.label: r for r in RIGHTS_BY_NAME.values()}


def grant(fx: FixContext, account: ServiceAccount, obj: SecuredObject, wanted: list[tuple[Right, Finding]], *,
          object_only: bool, holder: bool = False) -> None:
    """Allow ACEs for `account` on `obj`, one per right of `wanted`, each pair's finding fixed by the change. Rights
    for an object another fixer already grants on join that change (one descriptor write per object), which keeps
    its inheritance."""
    existing = next((d for d in fx.drafts_of(LdapDaclChange) if dn_key(d.fields["dn"]) == dn_key(obj.dn)), None)
    rights = list(dict.fromkeys(r for r, _ in wanted))
    findings = [f for _, f in wanted]
    if existing is not None:
        object_only = existing.fields["add_aces"][0].inherited_object_type is None
        rights = list(dict.fromkeys([_BY_LABEL[label] for label in existing.fields["rights"]] + rights))
        fx.attach(existing, findings)
        existing.fields.update(_fields(account, obj, rights, object_only))
        return
    fx.add(LdapDaclChange, findings, target=obj.dn, dn=obj.dn, principal=account.sam_account_name,
           principal_sid=account.sid, depends_on=fx.depends("directory"), note=HOLDER_NOTE if holder else None,
           **_fields(account, obj, rights, object_only))


def _fields(account: ServiceAccount, obj: SecuredObject, rights: list[Right], object_only: bool) -> dict[str, object]:
    assert obj.descriptor_b64 is not None
    where = "this object" if object_only else "descendant user objects"
    return {"summary": f"grant {account.sam_account_name} {', '.join(r.label for r in rights)} on {obj.dn} "
                       f"(applies to {where})",
            "rights": [r.label for r in rights],
            "add_aces": [canonical_ace(account.sid, r, inherit_to=None if object_only else USER_CLASS) for r in rights],
            "old_descriptor_sha256": hashlib.sha256(base64.b64decode(obj.descriptor_b64)).hexdigest()}
