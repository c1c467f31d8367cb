"""docs/semantics.md covers every reader (issue 30, "`docs/semantics.md` covers every reader").

Every module of auditor/readers/ reads an input whose meaning the inventory must state, so each is named there as
`readers/<module>.py`, except the plumbing below: modules that move bytes, hold credentials or assemble other
readers' output and give no input a meaning of their own. A new reader that is not in the inventory fails here.
"""

from __future__ import annotations

from pathlib import Path

import auditor.readers

READERS = Path(auditor.readers.__file__).parent
INVENTORY = Path(__file__).resolve().parents[2] / "docs" / "semantics.md"

PLUMBING: dict[str, str] = {
    "__init__": "the package marker",
    "access": "a table of the permission or right each section needs; reads nothing",
    "collect": "runs every reader once and assembles the snapshot; its inputs are the other readers'",
    "reach": "opens the endpoints (URLs, credentials, LDAP bind settings) the readers use; reads no tenant state",
    "credentials": "resolves the reader's own credentials; no tenant or directory input",
    "login_cache": "the sealed portal login cache; the reader's own session, not tenant state",
    "ldap_tls": "LDAP transport security (TLS, certificate checks); no attribute semantics",
    "ldap_values": "decodes raw LDAP values (text, integer) for the readers that give them meaning",
}


def _modules() -> list[str]:
    return sorted(p.stem for p in READERS.glob("*.py"))


def test_every_reader_is_named_in_the_semantics_inventory() -> None:
    text = INVENTORY.read_text(encoding="utf-8")
    missing = [name for name in _modules() if name not in PLUMBING and f"readers/{name}.py" not in text]
    assert not missing, (f"{INVENTORY.name} does not cover these readers (name each as readers/<module>.py with its "
                         f"semantics, or list it in PLUMBING with a reason): {', '.join(missing)}")


def test_plumbing_list_names_only_modules_that_exist() -> None:
    stale = sorted(set(PLUMBING) - set(_modules()))
    assert not stale, f"PLUMBING names modules that are gone: {', '.join(stale)}"
