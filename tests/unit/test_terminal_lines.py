"""`check`'s terminal lines: each reason wrapped under its finding, never cut, at any width (a CI log too)."""

from __future__ import annotations

import pytest

from auditor.checks.base import Status
from auditor.render.terminal import finding_lines
from tests.helpers.report_factory import finding

LONG = ("PSO-Sales (precedence 10) wins for 14 in-scope user(s) and sets a minimum password age of 1 day(s), so AD "
        "refuses their written-back resets within that time: nia.weiss, kai.quist, hana.zeller and 4 more")
DN = "CN=PSO-Sales,CN=Password Settings Container,CN=System,DC=corp,DC=example,DC=test"


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_the_reason_and_target_are_whole_and_no_line_is_wider(width: int) -> None:
    lines = finding_lines([finding("ad.fgpp.min_password_age", Status.failed, target=DN, reason=LONG)], width)
    assert all(len(line) <= width for line in lines), lines
    joined = " ".join(line.strip() for line in lines)
    assert LONG in joined or LONG.replace(" ", "") in joined.replace(" ", "")
    assert DN.replace(" ", "") in joined.replace(" ", "")
    assert "…" not in joined


def test_hidden_characters_are_shown_not_obeyed() -> None:
    [head, reason] = finding_lines([finding("sspr.gates", Status.failed, reason="evil\x1b[2J\u202eok")], 80)
    assert "\x1b" not in reason and "[U+001B]" in reason and "[U+202E]" in reason
    assert head.split() == ["FAIL", "sspr.gates", "tenant"]


@pytest.mark.parametrize(("fail_on", "said"), [(None, "--fail-on (default low)"), ("critical", "--fail-on critical"),
                                               ("low", "--fail-on low (the default)")])
def test_the_summarys_exit_line_names_the_fail_on_the_run_used(fail_on: str | None, said: str) -> None:
    import io

    from auditor.commands.present import print_summary
    from tests.helpers.report_factory import build_report

    out = io.StringIO()
    print_summary(build_report(fail_on=fail_on), [], out)
    assert out.getvalue().splitlines()[-1] == f"exit code 1: drift: a fail at or above {said}"
