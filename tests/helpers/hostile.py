"""Assertions that an HTML report is inert: what tenant and domain strings can never do to it.

`assert_inert_html` reads the file as written: the Content-Security-Policy allows no script, no
`<script` appears anywhere (every payload is escaped), no element that runs or loads anything, no
event-handler attribute, and links only to http(s), mailto, in-page anchors and the report's own CSV
downloads (`data:text/csv`). `assert_nothing_ran` reads the DOM a browser produced: every payload in the
hostile lab tenant and lab domain writes `PWNED` into the page title if it ever runs, and a navigation
would replace the page.
"""

from __future__ import annotations

import re

from auditor.render.html import CONTENT_SECURITY_POLICY, reveal_hidden
from tests.helpers.report_factory import ParsedPage, parse_html

CANARY = "PWNED"
REPORT_MARK = "Self-service password reset audit"
ACTIVE_ELEMENTS = {"script", "iframe", "frame", "object", "embed", "base", "form", "input", "button", "link",
                   "applet", "portal", "template", "noscript", "audio", "video", "source", "foreignobject"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "data", "background"}
SAFE_LINK = re.compile(r"^(https?://|mailto:|#|data:text/csv;)", re.IGNORECASE)
_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


def shown(text: str) -> str:
    """How the report shows a tenant string: hidden characters as [U+XXXX], whitespace runs as one space."""
    return " ".join(reveal_hidden(text).split())


def assert_inert_html(html: str) -> ParsedPage:
    policies = _CSP.findall(html)
    assert len(policies) == 1, "exactly one Content-Security-Policy"
    csp = policies[0].replace("&#39;", "'")
    assert csp == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in csp and "script-src" not in csp  # no script from anywhere, inline or not
    assert "<script" not in html.lower()
    page = parse_html(html)
    tags = {tag for tag, _ in page.elements}
    assert not tags & ACTIVE_ELEMENTS, tags & ACTIVE_ELEMENTS
    for tag, attributes in page.elements:
        assert not [name for name in attributes if name.startswith("on")], (tag, attributes)
        if tag == "meta":
            assert attributes.get("http-equiv", "").lower() != "refresh", attributes
        for name, value in attributes.items():
            if name in URL_ATTRIBUTES:
                assert SAFE_LINK.match(value.strip()), (tag, name, value[:120])
    return page


def head_title(html: str) -> str:
    """The document's own <title> (the first one: SVG <title> elements come later, in the body)."""
    found = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    return found.group(1) if found else ""


def assert_nothing_ran(dumped: str, original: str) -> ParsedPage:
    """`dumped` is the DOM a browser made of the report file `original`: still the report (no navigation),
    its own title, no element a payload would have added, and no payload's mark anywhere in the title."""
    dom = parse_html(dumped)
    assert REPORT_MARK in dom.text, "the page shown is still the report: nothing navigated away"
    assert head_title(dumped) == head_title(original) and CANARY not in head_title(dumped), head_title(dumped)
    tags = {tag for tag, _ in dom.elements}
    assert not tags & ACTIVE_ELEMENTS, tags & ACTIVE_ELEMENTS
    assert not [name for _, attributes in dom.elements for name in attributes
                if name.startswith("on") or name.startswith("data-pwned")]
    return dom
