"""Issue 29: report data crossing into SARIF and Markdown is text, never markup, a link or a category.

A report read by `fleet merge` may describe a check this build does not know; its title, fix and references then
describe the SARIF rule. GitHub renders `help.markdown` as Markdown and opens `helpUri`: neither may carry a
`javascript:` link, an image or HTML from the report, and what the text says must still be shown (round trip:
parse the Markdown as CommonMark and read its text back).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from auditor.checks.base import Severity, Status
from auditor.render.fleet_sarif import category
from auditor.render.markdown import escape
from auditor.render.sarif import safe_uri, sarif_log
from auditor.text import reveal_hidden
from tests.helpers.report_factory import build_report, finding

HOSTILE_TEXTS = [
    "[click me](javascript:alert(document.cookie))",
    "![tracker](https://evil.example/pixel.png)",
    "<img src=x onerror=alert(1)> <script>alert(2)</script>",
    "```\n[escaped](javascript:alert(3))\n```",
    "<javascript:alert(4)> <https://evil.example/>",
    "[ref]: javascript:alert(5)\n[ref]",
    "**bold** _em_ `code` # heading | table |",
    "RLO \u202egnp.exe and ZWSP \u200b here",
]
UNSAFE_URIS = ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "JaVaScRiPt:alert(1)",
               "//evil.example/x", "https://evil.example/a b", "https://evil.example/>x<", "http://plain.example/"]


def tokens(markdown: str) -> list[Any]:
    out = []
    for token in MarkdownIt("commonmark").parse(markdown):
        out.append(token)
        out.extend(token.children or [])
    return out


def shown_text(markdown: str) -> str:
    """What a Markdown viewer shows as text (inline text, code spans), whitespace folded."""
    parts = [t.content for t in tokens(markdown) if t.type in ("text", "code_inline")]
    return " ".join("".join(parts).split())


def markup(markdown: str) -> list[str]:
    """Markup a viewer would act on: images, HTML, code blocks, and links but to a plain https URL."""
    return [t.type for t in tokens(markdown)
            if t.type in ("image", "html_inline", "html_block", "fence", "code_block")
            or (t.type == "link_open" and not safe_uri(str(t.attrs.get("href"))))]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_markdown_escape_round_trips_to_the_same_text_and_no_markup(text: str) -> None:
    rendered = escape(text, limit=10_000)
    assert markup(rendered) == [] and "link_open" not in [t.type for t in tokens(rendered)], rendered
    assert shown_text(rendered) == " ".join(reveal_hidden(text).split())


def unknown_check_report(text: str, references: list[str]) -> Any:
    """A report (as merge reads one) describing a check this build does not know, with `text` everywhere."""
    hostile = finding("vendor.future_check", Status.failed, Severity.high, title=f"Future check {text}",
                      fix={"portal": text, "graph": text, "powershell": text}, references=references,
                      reason=text)
    return build_report([hostile])


def rule_of(report: Any, check: str = "vendor.future_check") -> dict[str, Any]:
    log = sarif_log(report, base_dir=Path.cwd())
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    return rules[check]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_a_rule_described_by_report_data_has_inert_help(text: str) -> None:
    rule = rule_of(unknown_check_report(text, ["javascript:alert(1)", "https://learn.microsoft.com/entra/"]))
    assert "helpUri" not in rule  # the first reference is not an https URL
    help_markdown = rule["help"]["markdown"]
    assert markup(help_markdown) == [], help_markdown
    links = [t.attrs.get("href") for t in tokens(help_markdown) if t.type == "link_open"]
    assert all(str(href).startswith("https://") for href in links)
    assert " ".join(reveal_hidden(text).split()) in shown_text(help_markdown)  # the text is still there, as text
    assert "\u202e" not in json.dumps(rule, ensure_ascii=False)


def test_a_safe_https_reference_stays_the_help_uri_and_an_autolink() -> None:
    rule = rule_of(unknown_check_report("plain", ["https://learn.microsoft.com/entra/identity/x", "javascript:1"]))
    assert rule["helpUri"] == "https://learn.microsoft.com/entra/identity/x"
    links = [t.attrs["href"] for t in tokens(rule["help"]["markdown"]) if t.type == "link_open"]
    assert links == ["https://learn.microsoft.com/entra/identity/x"]


@pytest.mark.parametrize("uri", UNSAFE_URIS)
def test_unsafe_uris_are_never_a_help_uri(uri: str) -> None:
    assert not safe_uri(uri)
    rule = rule_of(unknown_check_report("plain", [uri]))
    assert "helpUri" not in rule


@pytest.mark.parametrize("name", ["demo\u202e", "demo\n", "a/b", "", "-x", "x" * 64, "demo\x00", "déjà"])
def test_a_category_is_never_built_from_an_unshaped_tenant_name(name: str) -> None:
    with pytest.raises(ValueError, match="not shaped"):
        category(name)
    assert category("contoso-eu.1") == "sspr-audit/contoso-eu.1/"
