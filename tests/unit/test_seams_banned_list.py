"""password_protection.custom_banned_list (issue #35): the custom banned list switched on and holding words.

Microsoft: the custom list bans the organisation's own words only while "Enforce custom list" is on
(https://learn.microsoft.com/entra/identity/authentication/concept-password-ban-bad#custom-banned-password-list).
"""

from __future__ import annotations

from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check
from auditor.snapshot.models import Section
from auditor.snapshot.tenant import PasswordRulesState

from .cases_ad import baseline_policy
from .cases_seams import rules, seam_snapshot

CHECK = check_by_id("password_protection")
TARGET = "custom banned password list"


def custom_list(state: PasswordRulesState) -> tuple[Status, str | None]:
    snap = seam_snapshot(password_rules=state)
    (finding,) = [f for f in run_check(CHECK, baseline_policy(), snap) if f.target == TARGET]
    return finding.status, finding.reason


def test_the_baseline_asks_for_the_custom_list() -> None:
    policy = baseline_policy()
    assert policy.password_protection is not None and policy.password_protection.custom_banned_list is True


def test_on_with_words_passes() -> None:
    assert custom_list(rules())[0] == Status.passed


def test_on_but_empty_fails_naming_the_empty_list() -> None:
    status, reason = custom_list(rules().model_copy(update={"custom_list_size": 0}))
    assert status == Status.failed and "holds no word" in (reason or "")


def test_off_fails_and_unread_words_or_switch_are_unknown() -> None:
    assert custom_list(rules().model_copy(update={"custom_list_enabled": False}))[0] == Status.failed
    assert custom_list(rules().model_copy(update={"custom_list_size": None}))[0] == Status.unknown
    assert custom_list(rules().model_copy(update={"custom_list_enabled": None}))[0] == Status.unknown


def test_an_unreadable_setting_is_unknown() -> None:
    snap = seam_snapshot().model_copy(update={"password_rules": Section[PasswordRulesState].failed(
        "graph:/groupSettings", "403 Forbidden")})
    findings = run_check(CHECK, baseline_policy(), snap)
    assert findings and {f.status for f in findings} == {Status.unknown}
