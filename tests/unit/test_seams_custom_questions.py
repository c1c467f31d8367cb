"""sspr.custom_security_questions (issue #35): the portal's chosen questions judged, not only their number.

Microsoft: predefined questions are localized, custom ones are not
(https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks#security-questions).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check
from auditor.readers.portal import PasswordResetPoliciesWire, sspr_state_from_wire
from auditor.snapshot.models import Section, SecurityQuestionItem, SsprPolicyState

from .cases_cloud import baseline_policy, compliant_snapshot, compliant_sspr

CHECK = check_by_id("sspr.custom_security_questions")
PET = SecurityQuestionItem(id="SSPR_KBA_Q_FirstPetName", text="What was the name of your first pet?", custom=False)
BADGE = SecurityQuestionItem(id="Custom_1", text="What is your employee number?", custom=True)


def judged(questions: list[SecurityQuestionItem] | None, problem: str | None = None, *, on: bool = False) -> Any:
    sspr = compliant_sspr().model_copy(update={"chosen_questions": questions, "chosen_questions_problem": problem,
                                               "security_questions": on})
    (finding,) = run_check(CHECK, baseline_policy(), compliant_snapshot(
        sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr)))
    return finding


def test_the_baseline_forbids_custom_questions() -> None:
    assert baseline_policy().sspr.custom_security_questions is False  # type: ignore[union-attr]


def test_predefined_only_or_none_passes() -> None:
    assert judged([PET]).status == Status.passed
    assert judged([]).status == Status.passed


@pytest.mark.parametrize(("on", "words"), [(True, "offered to users now"), (False, "as soon as the method is on")])
def test_a_custom_question_fails_naming_it(on: bool, words: str) -> None:
    finding = judged([PET, BADGE], on=on)
    assert finding.status == Status.failed and words in (finding.reason or "")
    assert "What is your employee number?" in (finding.reason or "")
    assert finding.actual == {"custom": 1, "predefined": 1}


def test_unread_questions_are_unknown() -> None:
    finding = judged(None, "securityQuestions was not in the response")
    assert finding.status == Status.unknown and "not in the response" in (finding.reason or "")
    unread = compliant_snapshot(sspr_policy=Section[SsprPolicyState].failed("portal:test", "HTTP 403"))
    assert [f.status for f in run_check(CHECK, baseline_policy(), unread)] == [Status.unknown]


def test_not_asked_is_not_applicable() -> None:
    policy = baseline_policy()
    assert policy.sspr is not None
    policy = policy.model_copy(update={"sspr": policy.sspr.model_copy(update={"custom_security_questions": None})})
    assert [f.status for f in run_check(CHECK, policy, compliant_snapshot())] == [Status.not_applicable]


def wire(questions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objectId": "default", "enablementType": 2, "numberOfAuthenticationMethodsRequired": 2,
        "mobileAppNotificationEnabled": True, "mobileAppCodeEnabled": True, "emailOptionEnabled": True,
        "mobilePhoneOptionEnabled": True, "officePhoneOptionEnabled": False, "securityQuestionsOptionEnabled": True,
        "registrationRequiredOnSignIn": True, "registrationReconfirmIntevalInDays": 180,
        "notifyUsersOnPasswordReset": True, "notifyOnAdminPasswordReset": True, "customizeHelpdeskLink": False}
    if questions is not None:
        body["securityQuestions"] = questions
    return body


def read(body: dict[str, Any]) -> SsprPolicyState:
    return sspr_state_from_wire(PasswordResetPoliciesWire.model_validate(body))


def test_the_reader_types_each_item_and_says_why_not() -> None:
    state = read(wire([{"id": "Custom_1", "question": "What is your employee number?", "language": "en-US",
                        "isCustom": True}]))
    assert state.chosen_questions == [BADGE] and state.chosen_questions_problem is None
    absent = read(wire(None))
    assert absent.chosen_questions is None and absent.chosen_questions_problem == \
        "securityQuestions was not in the response"
    odd = read(wire([{"id": "Custom_1", "question": "What is your employee number?", "isCustom": "true"}]))
    assert odd.chosen_questions is None and (odd.chosen_questions_problem or "").startswith(
        "securityQuestions[0]: unexpected response shape")
