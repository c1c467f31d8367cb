"""Distinguished names: split, compare, relate, and build them (RFC 4514 escaping)."""

from __future__ import annotations

_SPECIAL = set(',+"\\<>;=')


def split_rdns(dn: str) -> list[str]:
    """The RDNs of `dn` in order, unescaped commas kept inside their RDN."""
    parts, current, escaped = [], [], False
    for char in dn:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            parts.append(_strip("".join(current)))
            current = []
        else:
            current.append(char)
    tail = _strip("".join(current))
    if tail or parts:
        parts.append(tail)
    return parts


def _strip(text: str) -> str:
    """Strip surrounding spaces, keeping an escaped trailing space (`\\ `)."""
    text = text.lstrip()
    while text.endswith(" ") and not _escaped(text, len(text) - 1):
        text = text[:-1]
    return text


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _normal_rdn(rdn: str) -> str:
    attr, _, value = rdn.partition("=")
    value = value.strip()
    if "\\" in value:  # one spelling per value: `\3D`, `\=` and `\3d` are the same character
        value = escape_value(unescape_value(value))
    return f"{attr.strip().lower()}={value.lower()}"


def dn_key(dn: str) -> str:
    """A comparison key: attribute types and values lower-cased, spaces around separators gone."""
    return ",".join(_normal_rdn(r) for r in split_rdns(dn))


def same_dn(a: str, b: str) -> bool:
    return dn_key(a) == dn_key(b)


def is_within(dn: str, base: str) -> bool:
    """True when `dn` is `base` or lies below it."""
    key, base_key = dn_key(dn), dn_key(base)
    return key == base_key or key.endswith("," + base_key)


def parent(dn: str) -> str:
    return ",".join(split_rdns(dn)[1:])


def rdn_value(dn: str) -> str:
    """The value of the first RDN, unescaped: `CN=Ann Lee,OU=Staff,…` → `Ann Lee`."""
    rdns = split_rdns(dn)
    if not rdns:
        return ""
    return unescape_value(_strip(rdns[0].partition("=")[2]))


def dns_domain(base_dn: str) -> str:
    """`DC=corp,DC=example,DC=test` → `corp.example.test`."""
    labels = [r.partition("=")[2].strip() for r in split_rdns(base_dn) if r.lower().startswith("dc=")]
    return ".".join(labels).lower()


def base_dn_of(realm: str) -> str:
    """`CORP.EXAMPLE.TEST` → `DC=corp,DC=example,DC=test`."""
    return ",".join(f"DC={label.lower()}" for label in realm.split(".") if label)


def escape_value(value: str) -> str:
    """Escape an attribute value for use inside an RDN (RFC 4514 section 2.4)."""
    out = []
    for i, char in enumerate(value):
        leading_or_trailing_space = char == " " and i in (0, len(value) - 1)
        if char in _SPECIAL or leading_or_trailing_space or (char == "#" and i == 0):
            out.append("\\" + char)
        elif char == "\x00":
            out.append("\\00")
        else:
            out.append(char)
    return "".join(out)


def unescape_value(value: str) -> str:
    """The value an escaped RDN value stands for; `\\XX` pairs in a row are UTF-8 bytes (`\\C3\\A9` is é)."""
    out: list[str] = []
    pending = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        pair = value[i + 1 : i + 3] if char == "\\" else ""
        if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
            pending.append(int(pair, 16))
            i += 3
            continue
        if pending:
            out.append(pending.decode("utf-8", "replace"))
            pending.clear()
        if char == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    if pending:
        out.append(pending.decode("utf-8", "replace"))
    return "".join(out)
