"""RestrictRemoteSAM's SDDL, as a GPO's GptTmpl.inf carries it, parsed into the DACL facts the access check reads."""

from __future__ import annotations

import pytest

from auditor.ad import gpttmpl
from auditor.ad.rights import REMOTE_SAM
from auditor.ad.sd import effective_right
from auditor.ad.sddl import SddlError, parse_sddl

DOMAIN = "S-1-5-21-1-2-3"
SYNC = f"{DOMAIN}-1105"
SYNC_GROUP = f"{DOMAIN}-1150"
TOKEN = [SYNC, SYNC_GROUP, "S-1-1-0", "S-1-5-11"]


def test_ba_is_builtin_administrators_not_a_domain_rid() -> None:
    dacl = parse_sddl("O:BAG:BAD:(A;;RC;;;BA)", DOMAIN)
    assert dacl.owner == "S-1-5-32-544" and [a.sid for a in dacl.aces] == ["S-1-5-32-544"]
    assert not effective_right(dacl, TOKEN, REMOTE_SAM).granted


def test_a_group_of_the_account_allowed_grants_it() -> None:
    dacl = parse_sddl(f"O:BAG:BAD:(A;;RC;;;BA)(A;;RC;;;{SYNC_GROUP})", DOMAIN)
    assert effective_right(dacl, TOKEN, REMOTE_SAM).granted


def test_a_deny_first_wins_and_domain_aliases_resolve() -> None:
    dacl = parse_sddl("O:BAG:BAD:(D;;RC;;;AU)(A;;RC;;;DU)", DOMAIN)
    assert dacl.aces[1].sid == f"{DOMAIN}-513"
    decision = effective_right(dacl, [*TOKEN, f"{DOMAIN}-513"], REMOTE_SAM)
    assert not decision.granted and decision.denied


@pytest.mark.parametrize("text", ["O:BAG:BA", "D:(A;;RC;;;XX)", "D:(A;;ZZ;;;BA)", "D:(A;;RC;;BA)", "nonsense",
                                  "D:(A;;RC;;;DA)"])
def test_unreadable_sddl_is_an_error_never_a_null_dacl(text: str) -> None:
    with pytest.raises(SddlError):
        parse_sddl(text)  # no domain SID: DA cannot be resolved either


def test_registry_value_from_a_windows_template() -> None:
    template = gpttmpl.windows_template(0).with_value(
        gpttmpl.REGISTRY_VALUES, gpttmpl.RESTRICT_REMOTE_SAM, '1,"O:BAG:BAD:(A;;RC;;;BA)"')
    parsed = gpttmpl.parse(template.to_bytes())
    assert gpttmpl.registry_value(parsed, gpttmpl.RESTRICT_REMOTE_SAM) == (1, "O:BAG:BAD:(A;;RC;;;BA)")
    assert gpttmpl.registry_value(gpttmpl.parse(gpttmpl.windows_template(0).to_bytes()),
                                  gpttmpl.RESTRICT_REMOTE_SAM) is None
