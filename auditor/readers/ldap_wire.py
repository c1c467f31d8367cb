"""What the DC must return for a verdict: the LDAP attributes the on-premises checks depend on, per object class.

An attribute a DC always holds on an object of its class (a schema `mustContain`, or one the DC writes when it
creates the object) comes back absent when the bind account may not read it: a DC leaves an attribute whose read
a DACL denies out of a search result, exactly as when it is not set (seen on Samba with a deny-read-property ACE in
tests/integration/test_samba_ldap_wire.py; [MS-ADTS] 5.1.3 describes the read-property access check). So for
these attributes absent is never a default: the object (or the
section) is unreadable with the attribute and the object's DN named. Attributes whose absence is a documented state
(gPLink: nothing linked; gPCWQLFilter: no WMI filter; mobile: no phone; msDS-ResultantPSO: no PSO applies) keep
that meaning, and docs/semantics.md lists the residual risk that a denied read looks the same.

Sources, each attribute's page in the Active Directory schema (https://learn.microsoft.com/windows/win32/adschema/):
* `minPwdAge` (a-minpwdage): Interval, a negative count of 100-ns units (0: no minimum);
* `msDS-MinimumPasswordAge`, `msDS-PasswordSettingsPrecedence` (a-msds-minimumpasswordage,
  a-msds-passwordsettingsprecedence): both in msDS-PasswordSettings' mustContain (c-msds-passwordsettings);
* `flags` (a-flags) on groupPolicyContainer: bit 1 user settings disabled, bit 2 computer settings disabled
  ([MS-GPOL] 2.2.2 "Group Policy: Core Protocol: GPO Properties");
* `versionNumber` (a-versionnumber): the GPO's version, computer part in the low 16 bits ([MS-GPOL] 2.2.2);
* `gPCFileSysPath` (a-gpcfilesyspath): where the GPO's files live ([MS-GPOL] 2.2.2);
* `userAccountControl` (a-useraccountcontrol): bit 0x2 ACCOUNTDISABLE;
* `objectSid` (a-objectsid): in securityPrincipal's mustContain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Raw = Mapping[str, Sequence[bytes]]


class LdapWireError(ValueError):
    """One attribute of one object that is absent or not of its syntax; its text names both."""

    def __init__(self, dn: str, attribute: str, problem: str) -> None:
        self.dn, self.attribute, self.problem = dn, attribute, problem
        super().__init__(f"`{attribute}` {problem} on {dn} (not readable by the bind account, or not set)"
                         if problem == "absent" else f"`{attribute}` {problem} on {dn}")



def _values(raw: Raw, dn: str, attribute: str) -> Sequence[bytes]:
    values = raw.get(attribute) or []
    if not values:
        raise LdapWireError(dn, attribute, "absent")
    return values


def required_text(raw: Raw, dn: str, attribute: str) -> str:
    """The attribute's first value as text; `LdapWireError` when absent or empty."""
    text = bytes(_values(raw, dn, attribute)[0]).decode("utf-8", "replace")
    if not text.strip():
        raise LdapWireError(dn, attribute, "empty")
    return text


def required_int(raw: Raw, dn: str, attribute: str) -> int:
    """The attribute's first value as an integer (Integer, LargeInteger, Interval syntaxes); `LdapWireError` when
    absent or not a decimal integer."""
    text = bytes(_values(raw, dn, attribute)[0]).decode("ascii", "replace").strip()
    try:
        return int(text)
    except ValueError:
        raise LdapWireError(dn, attribute, f"not an integer ({text[:40]!r})") from None


def required_binary(raw: Raw, dn: str, attribute: str) -> bytes:
    return bytes(_values(raw, dn, attribute)[0])
