"""Issue 29: tenant text is never a link in a SARIF message or in GitHub's Markdown.

SARIF: a plain-text message may embed links (`[text](N)`, `[text](uri)`, SARIF 2.1.0 §3.11.6); a viewer links
them and unescapes `\\[`, `\\]` and `\\\\`. The parser below is the one GitHub's CodeQL extension uses
(github/vscode-codeql extensions/ql-vscode/src/common/sarif-utils.ts, `parseSarifPlainTextMessage`), in Python.

Markdown: GitHub renders with cmark-gfm, whose extended autolinks (`www.`, `http://`, email addresses,
`mailto:`/`xmpp:`) link plain text; `cmarkgfm` is that library, so the test renders exactly what GitHub parses.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from auditor.checks.base import Severity, Status
from auditor.render.markdown import escape
from auditor.render.sarif import message_text, sarif_log
from auditor.text import reveal_hidden
from tests.helpers.report_factory import build_report, finding

# vscode-codeql's link pattern: an unescaped `[` (an even number of backslashes before it; Python has no
# variable-width look-behind, so that is counted by hand), link text with `\\[`, `\\]`, `\\\\` escaped, then `(N)`;
# a viewer that also takes `(uri)` targets is matched by allowing any target without a `)`
SARIF_LINK = re.compile(r"\[(?P<text>(?:[^\\\][]|\\\\|\\\]|\\\[)*)\]\((?P<target>[^)]*)\)")


def sarif_links(message: str) -> list[str]:
    links = []
    for start, char in enumerate(message):
        backslashes = len(message[:start]) - len(message[:start].rstrip("\\"))
        if char == "[" and backslashes % 2 == 0 and (match := SARIF_LINK.match(message, start)):
            links.append(match.group("target"))
    return links


def sarif_unescape(message: str) -> str:
    return re.sub(r"\\([\\\[\]])", r"\1", message)


SARIF_HOSTILE = [
    "[sign in](https://evil.example/login)",
    "see [the results](3) here",
    "\\[already\\](1) escaped",
    "a \\\\[two](2) backslashes",
    "[nested [x](1)](https://evil.example)",
    "RLO \u202egnp.exe [x](0)",
]


@pytest.mark.parametrize("text", SARIF_HOSTILE)
def test_a_sarif_message_never_embeds_a_link_and_shows_the_text(text: str) -> None:
    message = message_text(text)
    assert sarif_links(message) == [], message
    assert sarif_unescape(message) == reveal_hidden(text)


def test_every_message_of_a_sarif_log_escapes_tenant_text() -> None:
    name = "Contoso [sign in](https://evil.example)"
    report = build_report([finding("sspr.helpdesk", Status.failed, Severity.high, target=name, reason=name),
                           finding("sspr.scope", Status.unknown, Severity.high, target=name, reason=name)],
                          warnings=[name])
    run = sarif_log(report, base_dir=Path.cwd())["runs"][0]
    messages = [r["message"]["text"] for r in run["results"]]
    messages += [n["message"]["text"] for n in run["invocations"][0].get("toolExecutionNotifications", [])]
    carrying = [m for m in messages if "evil" in m]
    assert len(carrying) >= 3, messages  # the failure, the unknown and the warning all name it
    for message in carrying:
        assert sarif_links(message) == [], message
        assert "Contoso [sign in](https://evil.example)" in sarif_unescape(message)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "img", "script", "iframe"):
            self.links.append(f"{tag} {dict(attrs)}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def github_renders(markdown: str) -> _Links:
    """The HTML GitHub's cmark-gfm makes of `markdown` (every GFM extension, autolinks included), parsed."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    parsed = _Links()
    parsed.feed(html)
    return parsed


GFM_AUTOLINKS = [
    "www.evil.example/login",
    "visit WWW.EVIL.EXAMPLE now",
    "http://evil.example/x?y=1",
    "https://evil.example",
    "mail a.b+c@evil.example now",
    "mailto:x@evil.example",
    "xmpp:foo@evil.example/home",
    "user_1@sub-domain.evil.example.",
    "(contact:x-y@evil.example)",
    "@octocat and foo@",
    "ends with @",
    "[x](www.evil.example) <a@evil.example>",
]


@pytest.mark.parametrize("text", GFM_AUTOLINKS)
def test_github_shows_tenant_text_with_an_autolink_shape_as_text(text: str) -> None:
    rendered = escape(text, limit=10_000)
    shown = github_renders(rendered)
    assert shown.links == [], rendered
    assert " ".join("".join(shown.text).split()) == " ".join(reveal_hidden(text).split())


def test_a_table_cell_keeps_its_address_inside_the_cell() -> None:
    row = f"| {escape('a|b@evil.example')} | {escape('x@y.example|z')} |"
    html = cmarkgfm.github_flavored_markdown_to_html(f"| one | two |\n|---|---|\n{row}\n")
    assert html.count("<td>") == 2 and "<a " not in html, html
