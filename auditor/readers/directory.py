"""Read the on-premises directory over LDAP (ldap3) into a `DirectoryState` section.

TLS by default: LDAPS (636) or StartTLS (389), always verifying the DC's certificate against
the system store or `ca_file`; plain LDAP only with `tls="none"`, an explicit insecure choice.
Simple bind with a password from the caller (the CLI takes it from `SSPR_AD_PASSWORD`).
Every descriptor is read with the SD flags control (DACL only, so a non-admin account gets
it too), every search is paged, and every value put into a filter is escaped.

`read_directory` never raises for network, TLS or LDAP errors: they become a failed section
with the reason, so the checks that need it report `unknown`.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from auditor import progress
from auditor.ad.dn import dn_key, dns_domain, is_within, parent, rdn_value
from auditor.ad.sd import DaclFacts, parse_dacl
from auditor.ad.sid import rid, sid_from_bytes
from auditor.ad.wellknown import (
    DEFAULT_DOMAIN_POLICY_GUID,
    IMPLICIT_TOKEN_SIDS,
    PROTECTED_DOMAIN_GROUP_RIDS,
    protected_group_sids,
)
from auditor.endpoints import AdEndpoint, TlsMode
from auditor.readers import gpo_filtering
from auditor.readers.access_control import SD_FLAGS_OWNER_DACL, read_access_control
from auditor.readers.change_metadata import read_change_metadata
from auditor.readers.ldap_values import USERS
from auditor.readers.ldap_values import chunks as _chunks
from auditor.readers.ldap_values import integer as _int
from auditor.readers.ldap_values import text as _text
from auditor.readers.ldap_values import texts as _texts
from auditor.readers.ldap_wire import LdapWireError, required_binary, required_int, required_text
from auditor.snapshot.directory import (
    AccountLockout,
    ChangeMetadata,
    CloudSyncAccounts,
    DirectoryState,
    DirectoryUser,
    GpoLink,
    GroupPolicy,
    GroupRef,
    PasswordProtectionAgents,
    PasswordSettings,
    ReachBeyond,
    SecuredObject,
    ServiceAccount,
)
from auditor.snapshot.models import Section

if TYPE_CHECKING:
    from auditor.policy.models import Directory

log = logging.getLogger(__name__)

T = TypeVar("T")
SD_FLAGS_DACL = 0x04
_NO_SUCH_OBJECT = 32
# computer accounts other than domain controllers (SERVER_TRUST_ACCOUNT 0x2000)
_MEMBER_COMPUTERS = "(&(objectCategory=computer)(!(userAccountControl:1.2.840.113556.1.4.803:=8192)))"
_USERS = USERS
_RESULTANT = "msDS-ResultantPSO"
_USER_ATTRIBUTES = [
    "sAMAccountName", "userPrincipalName", "objectSid", "userAccountControl", "pwdLastSet", "adminCount",
    "isCriticalSystemObject", "mobile", "telephoneNumber", "memberOf", "primaryGroupID", "msDS-ResultantPSO",
    "nTSecurityDescriptor", "replPropertyMetaData",  # the last change of each (auditor.readers.change_metadata)
]


@dataclass(frozen=True)
class AdSettings:
    """The DC's endpoint (auditor/endpoints.py: host, bind account, TLS, CA, TLS name, base DN, SMB host) opened
    with the bind password. Use an IP or the name on its certificate for the host."""

    endpoint: AdEndpoint
    password: str = field(repr=False)
    port: int | None = None
    timeout: float = 15.0
    page_size: int = 1000

    @property
    def host(self) -> str:
        return self.endpoint.host

    @property
    def user(self) -> str:
        return self.endpoint.user or ""

    @property
    def tls(self) -> TlsMode:
        return self.endpoint.tls

    @property
    def ca_file(self) -> str | None:
        return self.endpoint.ca_file

    @property
    def tls_name(self) -> str | None:
        return self.endpoint.tls_name

    @property
    def base_dn(self) -> str | None:
        return self.endpoint.base_dn

    @property
    def smb_host(self) -> str | None:
        return self.endpoint.smb_host

    @property
    def url(self) -> str:
        scheme = "ldaps" if self.tls == "ldaps" else "ldap"
        return f"{scheme}://{self.host}:{self.port or (636 if self.tls == 'ldaps' else 389)}"


class DirectoryReadError(Exception):
    """A reason the directory could not be read, worded for the report."""


def read_directory(settings: AdSettings, policy: Directory) -> Section[DirectoryState]:
    """Everything the AD checks need, or a failed section saying why it could not be read."""
    started = time.perf_counter()
    source, state, error = guarded_read(settings, policy, lambda reader: reader.read())
    if state is None:
        return Section[DirectoryState].failed(source, error or "nothing read")
    log.info("read %d users from %s in %.2f s", len(state.users), settings.url, time.perf_counter() - started)
    return Section[DirectoryState].ok(f"{source}/{state.base_dn}", state)


def guarded_read(settings: AdSettings, policy: Directory | None,
                 work: Callable[[_Reader], T]) -> tuple[str, T | None, str | None]:
    """(source, what `work` read, None), or (source, None, why not): network, TLS and LDAP errors, and shapes this
    reader does not know, become a reason for an unknown, never a crash."""
    from ldap3.core.exceptions import LDAPException

    source = settings.url + (f" ({settings.tls})" if settings.tls == "starttls" else "")
    try:
        conn = connect(settings)
    except DirectoryReadError as exc:
        return source, None, str(exc)
    try:
        return source, work(_Reader(conn, settings, policy)), None
    except (DirectoryReadError, LdapWireError) as exc:  # an attribute a verdict needs, named with its object
        return source, None, str(exc)
    except LDAPException as exc:
        return source, None, f"LDAP error while reading: {_describe(exc)}"
    except OSError as exc:
        return source, None, f"connection to {settings.url} lost: {exc}"
    except (KeyError, IndexError, ValueError) as exc:  # a shape this reader does not know: unknown, not a crash
        log.debug("unexpected directory data", exc_info=True)
        return source, None, f"unexpected data from the DC: {exc!r}"
    finally:
        try:
            conn.unbind()
        except Exception:  # unbinding a dead connection: nothing more to learn
            log.debug("unbind failed", exc_info=True)


# -- connection --------------------------------------------------------------------------------

def connect(settings: AdSettings) -> Any:
    """An open, bound ldap3 Connection, or DirectoryReadError with a clear reason."""
    from ldap3 import NONE, Connection, Server
    from ldap3.core.exceptions import LDAPException, LDAPSocketOpenError, LDAPStartTLSError

    from auditor.readers.ldap_tls import verified_tls

    tls = None
    if settings.tls != "none":
        tls = verified_tls(settings.host, ca_file=settings.ca_file, tls_name=settings.tls_name)
    port = settings.port or (636 if settings.tls == "ldaps" else 389)
    server = Server(settings.host, port=port, use_ssl=settings.tls == "ldaps", tls=tls, get_info=NONE,
                    connect_timeout=settings.timeout)
    conn = Connection(server, user=settings.user, password=settings.password,
                      receive_timeout=max(1, round(settings.timeout)),  # ldap3 packs it as an integer
                      raise_exceptions=False, auto_referrals=False, read_only=True,
                      # only raw_attributes are read: without this ldap3 also formats every value it receives
                      # through its (absent) schema, a third of the client's time over 10,000 users
                      check_names=False)
    try:
        conn.open()
        if settings.tls == "starttls" and not conn.start_tls():
            raise DirectoryReadError(f"StartTLS refused by {settings.url}: {conn.result.get('message')}")
        if not conn.bind():
            raise DirectoryReadError(_bind_failure(settings, conn.result))
    except LDAPStartTLSError as exc:
        raise DirectoryReadError(_tls_failure(settings, exc)) from None
    except LDAPSocketOpenError as exc:
        text = _describe(exc)
        if "timed out" in text.lower():  # a DC that accepts the connection but never answers (hung, overloaded)
            raise DirectoryReadError(f"{settings.url} did not answer within {settings.timeout:g} s ({text})") from None
        if "certificate" in text.lower() or "ssl" in text.lower():
            raise DirectoryReadError(_tls_failure(settings, exc)) from None
        raise DirectoryReadError(f"cannot reach {settings.url}: {text}") from None
    except LDAPException as exc:
        raise DirectoryReadError(f"cannot connect to {settings.url}: {_describe(exc)}") from None
    return conn


def _describe(exc: BaseException) -> str:
    text = str(exc.args[0] if len(exc.args) == 1 else exc)
    return text.strip("()'\",")


def _tls_failure(settings: AdSettings, exc: BaseException) -> str:
    text = _describe(exc)
    # OpenSSL's name check (readers/ldap_tls.py): "Hostname mismatch" / "IP address mismatch"
    if "mismatch" in text or "doesn't match" in text:
        expected = settings.tls_name or settings.host
        return (f"the TLS certificate of {settings.url} does not name {expected!r}: connect by the name on "
                "the certificate or give that name as the expected TLS name")
    hint = "trust the DC's CA with --ad-ca-file" if not settings.ca_file else f"is {settings.ca_file} its CA?"
    return f"TLS certificate of {settings.url} not trusted ({text}): {hint}"


def _bind_failure(settings: AdSettings, result: dict[str, Any]) -> str:
    code, message = result.get("result"), (result.get("message") or "").strip()
    if code == 49:
        detail = ""
        for data, meaning in (("52e", "wrong password"), ("525", "no such user"), ("533", "account disabled"),
                              ("701", "account expired"), ("773", "password must be changed"),
                              ("775", "account locked out"), ("532", "password expired")):
            if f"data {data}" in message:
                detail = f": {meaning}"
        return (f"bind as {settings.user!r} to {settings.url} refused: invalid credentials{detail} (LDAP 49). "
                "Check --ad-user and the password in SSPR_AD_PASSWORD")
    if code in (8, 13):
        return (f"bind as {settings.user!r} to {settings.url} refused: the DC requires an encrypted connection "
                f"({result.get('description')}); use LDAPS or StartTLS")
    return f"bind as {settings.user!r} to {settings.url} failed: {result.get('description')} {message}".strip()


# -- reading ---------------------------------------------------------------------------------

class _Reader:
    """The primitives (base, paged, groups, descriptors) and the policy-driven read (`read`)."""

    def __init__(self, conn: Any, settings: AdSettings, policy: Directory | None) -> None:
        from ldap3.protocol.microsoft import security_descriptor_control

        self.conn, self.settings, self._policy = conn, settings, policy
        self.user_metadata: dict[str, bytes | None] = {}  # DN → the user's replPropertyMetaData (users())
        self.sd_control = security_descriptor_control(sdflags=SD_FLAGS_DACL)

    # primitives

    def base(self, dn: str, attributes: list[str], *, sd: bool = False) -> dict[str, list[bytes]] | None:
        """Raw attributes of one object; None when it does not exist."""
        from ldap3 import BASE

        ok = self.conn.search(dn, "(objectClass=*)", BASE, attributes=attributes,
                              controls=self.sd_control if sd else None)
        if not ok:
            if self.conn.result.get("result") == _NO_SUCH_OBJECT:
                return None
            raise DirectoryReadError(_search_failure(dn, self.conn.result))
        entries = [r for r in self.conn.response if r.get("type") == "searchResEntry"]
        if entries and sd:
            progress.advance("LDAP", "descriptors", 1, "descriptors")
        return entries[0]["raw_attributes"] if entries else None

    def paged(self, base: str, search_filter: str, attributes: list[str], *, scope: str = "SUBTREE",
              sd: bool = False, sd_flags: int = SD_FLAGS_DACL) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
        """(dn, raw attributes) of every match, one page at a time (descriptors with `sd_flags` when `sd`)."""
        import ldap3
        from ldap3.protocol.microsoft import security_descriptor_control

        cookie: bytes | None = None
        control = (self.sd_control if sd_flags == SD_FLAGS_DACL else security_descriptor_control(sdflags=sd_flags)
                   ) if sd else None
        while True:
            ok = self.conn.search(base, search_filter, getattr(ldap3, scope), attributes=attributes,
                                  controls=control, paged_size=self.settings.page_size,
                                  paged_cookie=cookie)
            if not ok and self.conn.result.get("result") not in (0, None):
                if self.conn.result.get("result") == _NO_SUCH_OBJECT:
                    return
                raise DirectoryReadError(_search_failure(base, self.conn.result))
            found = [e for e in self.conn.response or [] if e.get("type") == "searchResEntry"]
            if sd and found:
                progress.advance("LDAP", "descriptors", len(found), "descriptors")
            for entry in found:
                yield entry["dn"], entry["raw_attributes"]
            controls = self.conn.result.get("controls") or {}
            cookie = controls.get("1.2.840.113556.1.4.319", {}).get("value", {}).get("cookie")
            if not cookie:
                return

    @property
    def policy(self) -> Directory:
        assert self._policy is not None, "a policy-driven read needs the policy's directory section"
        return self._policy

    # the state

    def naming_context(self, head_attributes: list[str]) -> tuple[dict[str, list[bytes]], str,
                                                                  dict[str, list[bytes]], str]:
        """(rootDSE, base DN, the domain head's attributes, the domain SID)."""
        root = self.base("", ["defaultNamingContext", "dnsHostName", "vendorName", "vendorVersion"])
        if root is None:
            raise DirectoryReadError("the rootDSE could not be read")
        base_dn = self.settings.base_dn or _text(root, "defaultNamingContext")
        if not base_dn:
            raise DirectoryReadError("the rootDSE names no defaultNamingContext; give --ad-base-dn")
        head = self.base(base_dn, ["objectSid", *head_attributes], sd="nTSecurityDescriptor" in head_attributes)
        if head is None:
            raise DirectoryReadError(f"the base DN {base_dn} does not exist on this DC")
        return root, base_dn, head, sid_from_bytes(head["objectSid"][0])

    def read(self) -> DirectoryState:
        root, base_dn, head, domain_sid = self.naming_context(["minPwdAge", "maxPwdAge", "gPLink",
                                                               "nTSecurityDescriptor", *DOMAIN_LOCKOUT])
        account = self.service_account(base_dn, domain_sid)
        token = set(account.token_sids) if account else set()
        psos, psos_readable = self.password_settings(base_dn)
        users, dacls = self.users(base_dn, domain_sid, token, psos if psos_readable else None)
        computers = self.member_computers(base_dn)
        holder = self.secured(f"CN=AdminSDHolder,CN=System,{base_dn}")
        target_ous = [self.secured(ou) for ou in self.policy.target_ous]
        control = read_access_control(self, base_dn, domain_sid, account, users, dacls,
                                      [o.dacl for o in (holder, *target_ous) if o.dacl is not None])
        try:  # the domain's own minimum age: one finding needs it, the rest of the directory stands without it
            min_pwd_age, min_pwd_age_error = required_int(head, base_dn, "minPwdAge"), None
        except LdapWireError as exc:
            min_pwd_age, min_pwd_age_error = None, str(exc)
        max_pwd_age, max_pwd_age_error = optional_age(head, base_dn, "maxPwdAge")
        gpos = gpo_filtering.with_wmi_filters(self, base_dn, self.gpos(base_dn, _text(head, "gPLink") or "", computers))
        member_tokens, dc_tokens = gpo_filtering.computer_tokens(self, base_dn, domain_sid, gpos)
        server = " ".join(filter(None, (_text(root, "dnsHostName"), _text(root, "vendorName"),
                                        _text(root, "vendorVersion"))))
        objects = [base_dn, holder.dn, *(o.dn for o in target_ous), *(p.dn for p in psos),
                   *(g.dn for g in gpos), *(link.container for g in gpos for link in g.links)]
        if account is not None:
            objects += [account.dn, *(g.dn for g in account.groups if g.dn)]
        if control is not None:
            objects += [*(c.dn for c in control.containers), *(p.dn for p in control.protected_accounts)]
        changes, changes_error = self.change_metadata(base_dn, objects)
        return DirectoryState(
            server=server or self.settings.host, base_dn=base_dn, dns_domain=dns_domain(base_dn),
            domain_sid=domain_sid, min_pwd_age=min_pwd_age, min_pwd_age_error=min_pwd_age_error,
            max_pwd_age=max_pwd_age, max_pwd_age_error=max_pwd_age_error,
            lockout=account_lockout(head, base_dn, DOMAIN_LOCKOUT), domain=_secured(base_dn, head),
            admin_sd_holder=holder,
            service_account_query=self.policy.service_account, service_account=account,
            target_ous=target_ous, access_control=control,
            users=users, dacls=dacls, password_settings=psos, password_settings_readable=psos_readable,
            gpos=gpos, blocks_inheritance=self.blocking_ous(base_dn), member_computers=computers,
            computer_tokens=member_tokens, dc_tokens=dc_tokens,
            reach_beyond=self.reach_beyond(base_dn, domain_sid, account, head),
            password_protection_agents=self.dc_agents(base_dn),
            cloud_sync_accounts=self.cloud_sync_accounts(base_dn),
            change_metadata=changes, change_metadata_error=changes_error,
        )

    def dc_agents(self, base_dn: str) -> PasswordProtectionAgents:
        """The DCs and their Entra Password Protection DC agents (its own finding: an error stays in it)."""
        from auditor.readers.dc_agents import read_dc_agents

        try:
            return read_dc_agents(self, base_dn)
        except DirectoryReadError as exc:
            return PasswordProtectionAgents(error=str(exc))

    def cloud_sync_accounts(self, base_dn: str) -> CloudSyncAccounts:
        """Cloud Sync's gMSA, by its documented name (its own finding: an error stays in it)."""
        from ldap3.core.exceptions import LDAPException

        from auditor.readers.cloud_sync import read_cloud_sync_accounts

        try:
            return read_cloud_sync_accounts(self, base_dn)
        except (DirectoryReadError, LDAPException) as exc:
            return CloudSyncAccounts(error=str(exc))

    def reach_beyond(self, base_dn: str, domain_sid: str, account: ServiceAccount | None,
                     head: dict[str, list[bytes]]) -> ReachBeyond:
        """The sync account's Reset Password beyond the target OUs (its own finding: an error stays in it)."""
        from auditor.readers.sync_reach import read_reach_beyond

        try:
            return read_reach_beyond(self, base_dn, domain_sid, account, self.policy.target_ous,
                                     _secured(base_dn, head).dacl)
        except (DirectoryReadError, LdapWireError, ValueError) as exc:
            return ReachBeyond(error=str(exc))

    def change_metadata(self, base_dn: str, objects: list[str]) -> tuple[ChangeMetadata | None, str | None]:
        """When the attributes behind the verdicts last changed (attribution only: a failure here is named, and the
        rest of the directory stands)."""
        from ldap3.core.exceptions import LDAPException

        try:
            return read_change_metadata(self, base_dn, objects, self.user_metadata), None
        except (DirectoryReadError, LDAPException, OSError) as exc:
            log.debug("replication metadata not read", exc_info=True)
            return None, f"replication metadata not read: {exc}"

    def secured(self, dn: str) -> SecuredObject:
        raw = self.base(dn, ["nTSecurityDescriptor"], sd=True)
        if raw is None:
            return SecuredObject(dn=dn, exists=False, error="no such object")
        return _secured(dn, raw)

    def service_account(self, base_dn: str, domain_sid: str) -> ServiceAccount | None:
        return self.account(base_dn, domain_sid, self.policy.service_account)

    def account(self, base_dn: str, domain_sid: str, wanted: str) -> ServiceAccount | None:
        """The account named by sAMAccountName or DN, with its groups (nested) and token SIDs."""
        from ldap3.utils.conv import escape_filter_chars

        attributes = ["sAMAccountName", "objectSid", "userAccountControl", "objectClass", "primaryGroupID"]
        if re.match(r"^\s*(CN|OU|DC)=", wanted, re.IGNORECASE):  # a DN, not a sAMAccountName
            found = self.base(wanted, attributes)
            matches = [(wanted, found)] if found is not None else []
        else:
            matches = list(self.paged(base_dn, f"(&(objectClass=user)(sAMAccountName={escape_filter_chars(wanted)}))",
                                      attributes))
        if not matches:
            return None
        dn, raw = matches[0]
        sid = sid_from_bytes(required_binary(raw, dn, "objectSid"))
        token_raw = self.base(dn, ["tokenGroups"]) or {}
        group_sids = [sid_from_bytes(v) for v in token_raw.get("tokenGroups", [])]
        if not group_sids:  # tokenGroups not readable for this bind account: walk memberships instead
            group_sids = self.nested_group_sids(base_dn, dn, domain_sid, _int(raw, "primaryGroupID"))
        groups = self.resolve_groups(base_dn, group_sids)
        return ServiceAccount(
            dn=dn, sam_account_name=_text(raw, "sAMAccountName") or wanted, sid=sid,
            user_account_control=required_int(raw, dn, "userAccountControl"),  # absent is not "enabled"
            object_classes=[v.decode() for v in raw.get("objectClass", [])],
            groups=groups, token_sids=sorted({sid, *group_sids, *IMPLICIT_TOKEN_SIDS}),
        )

    def nested_group_sids(self, base_dn: str, dn: str, domain_sid: str, primary_rid: int | None) -> list[str]:
        """SIDs of every group `dn` belongs to, nested included (LDAP_MATCHING_RULE_IN_CHAIN), and its primary group."""
        from ldap3.utils.conv import escape_filter_chars

        members = [dn]
        if primary_rid is not None:  # primary group membership is not in `member`: add it and what holds it
            primary = f"{domain_sid}-{primary_rid}"
            members += [g for g, _ in self.paged(base_dn, f"(objectSid={escape_filter_chars(primary)})", ["cn"])]
        sids: list[str] = []
        for member in members:
            search = f"(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={escape_filter_chars(member)}))"
            sids += [sid_from_bytes(raw["objectSid"][0]) for _, raw in self.paged(base_dn, search, ["objectSid"])]
        if primary_rid is not None:
            sids.append(f"{domain_sid}-{primary_rid}")
        return sorted(set(sids))

    def resolve_groups(self, base_dn: str, sids: list[str]) -> list[GroupRef]:
        from ldap3.utils.conv import escape_filter_chars

        names: dict[str, tuple[str | None, str]] = {}
        for chunk in _chunks(sids, 50):
            terms = "".join(f"(objectSid={escape_filter_chars(s)})" for s in chunk)
            for dn, raw in self.paged(base_dn, f"(|{terms})", ["objectSid", "sAMAccountName"]):
                names[sid_from_bytes(raw["objectSid"][0])] = (dn, _text(raw, "sAMAccountName") or rdn_value(dn))
        builtin = f"CN=Builtin,{base_dn}"
        for chunk in _chunks([s for s in sids if s not in names], 50):
            terms = "".join(f"(objectSid={escape_filter_chars(s)})" for s in chunk)
            for dn, raw in self.paged(builtin, f"(|{terms})", ["objectSid", "sAMAccountName"]):
                names[sid_from_bytes(raw["objectSid"][0])] = (dn, _text(raw, "sAMAccountName") or rdn_value(dn))
        return [GroupRef(dn=names.get(s, (None, s))[0], sid=s, name=names.get(s, (None, s))[1]) for s in sids]

    def privileged_groups(self, base_dn: str, domain_sid: str) -> dict[str, str]:
        """dn_key → protected group name, for the protected groups and every group nested in them."""
        from ldap3.utils.conv import escape_filter_chars

        protected = protected_group_sids(domain_sid)
        closure: dict[str, str] = {}
        terms = "".join(f"(objectSid={escape_filter_chars(s)})" for s in protected)
        frontier: list[tuple[str, str]] = []
        for dn, raw in self.paged(base_dn, f"(&(objectClass=group)(|{terms}))", ["objectSid"]):
            name = protected[sid_from_bytes(raw["objectSid"][0])]
            closure[dn_key(dn)] = name
            frontier.append((dn, name))
        while frontier:
            next_frontier = []
            for chunk in _chunks(frontier, 25):
                by_parent = {dn_key(dn): name for dn, name in chunk}
                terms = "".join(f"(memberOf={escape_filter_chars(dn)})" for dn, _ in chunk)
                for dn, raw in self.paged(base_dn, f"(&(objectClass=group)(|{terms}))", ["memberOf"]):
                    if dn_key(dn) in closure:
                        continue
                    parents = [by_parent[k] for k in map(dn_key, _texts(raw, "memberOf")) if k in by_parent]
                    closure[dn_key(dn)] = parents[0] if parents else "a protected group"
                    next_frontier.append((dn, closure[dn_key(dn)]))
            frontier = next_frontier
        return closure

    def users(self, base_dn: str, domain_sid: str, token: set[str],
              psos: list[PasswordSettings] | None) -> tuple[list[DirectoryUser], dict[str, DaclFacts]]:
        """In-scope users with their filtered DACLs; `psos` None when the PSOs could not be listed."""
        privileged = self.privileged_groups(base_dn, domain_sid)
        # msDS-ResultantPSO is computed per user by the DC (half the cost of this search on Samba): ask for
        # it here only when the PSOs are unknown; else only for the users a PSO can apply to, below.
        attributes = _USER_ATTRIBUTES if psos is None else [a for a in _USER_ATTRIBUTES if a != _RESULTANT]
        users: dict[str, DirectoryUser] = {}
        dacls: dict[str, DaclFacts] = {}
        # Read with the DACL flag only, users of one OU mostly return the very same bytes: parse each once.
        parsed: dict[bytes, str] = {}
        targets = sorted(((dn_key(t), t) for t in self.policy.target_ous), key=lambda t: -len(t[0]))
        # a target below another target: the outer subtree search finds its users
        outermost = [t for k, t in targets if not any(o != k and k.endswith("," + o) for o, _ in targets)]
        for ou in outermost:
            # owner and DACL: who else can reset these users (auditor.readers.access_control) needs every ACE
            for dn, raw in self.paged(ou, _USERS, attributes, sd=True, sd_flags=SD_FLAGS_OWNER_DACL):
                key = dn_key(dn)
                if key in users:
                    continue
                progress.advance("LDAP", "users", 1, "users")
                dacl_key = None
                if raw.get("nTSecurityDescriptor"):
                    blob = bytes(raw["nTSecurityDescriptor"][0])
                    dacl_key = parsed.get(blob)
                    if dacl_key is None:
                        facts = parse_dacl(blob)
                        dacl_key = parsed[blob] = facts.key()
                        dacls.setdefault(dacl_key, facts)
                owner = next((t for k, t in targets if key == k or key.endswith("," + k)), ou)
                users[key] = _user(dn, raw, owner, privileged, domain_sid, dacl_key)
                blobs = raw.get("replPropertyMetaData") or []
                self.user_metadata[dn] = bytes(blobs[0]) if blobs else None
        if psos:
            self.resultant_psos(users, psos, outermost)
        return list(users.values()), dacls

    def resultant_psos(self, users: dict[str, DirectoryUser], psos: list[PasswordSettings],
                       targets: list[str]) -> None:
        """Read msDS-ResultantPSO of the users some PSO names: directly, through nested groups or as
        their primary group. Every other user has none.

        Who a PSO reaches is worked out from the PSO's side: its targets, the `member` lists of the
        groups among them (nested groups followed), and the users whose primary group a target group is.
        Asking the DC instead for every user that is a member in chain of a target
        (LDAP_MATCHING_RULE_IN_CHAIN) makes it expand the memberships of every user under the target OUs:
        a third of the whole read at 10,000 users on Samba."""
        from ldap3.utils.conv import escape_filter_chars

        direct = sorted({t for p in psos for t in p.applies_to})
        reached: set[str] = set()  # dn_key of the non-group objects a PSO reaches
        primary_terms: list[str] = []
        expanded: set[str] = set()
        pending = [(target, True) for target in direct]
        while pending:
            target, is_direct = pending.pop()
            key = dn_key(target)
            if key in expanded:
                continue
            expanded.add(key)
            raw = self.base(target, ["objectSid", "objectClass"])
            if raw is None:
                continue
            if b"group" not in [bytes(v).lower() for v in raw.get("objectClass", [])]:
                reached.add(key)
                continue
            if is_direct and raw.get("objectSid"):
                primary_terms.append(f"(primaryGroupID={rid(sid_from_bytes(raw['objectSid'][0]))})")
            pending += [(member, False) for member in self.members(target)]
        searches = [f"(&{_USERS}(|{''.join(chunk)}))" for chunk in _chunks(primary_terms, 60)]
        names = sorted(users[k].dn for k in reached if k in users)
        searches += [f"(&{_USERS}(|{''.join(f'(distinguishedName={escape_filter_chars(dn)})' for dn in chunk)}))"
                     for chunk in _chunks(names, 60)]
        seen: set[str] = set()
        for ou in targets:
            for search in searches:
                for dn, raw in self.paged(ou, search, [_RESULTANT]):
                    key = dn_key(dn)
                    if key in users and key not in seen:
                        seen.add(key)
                        users[key] = users[key].model_copy(update={"resultant_pso": _text(raw, _RESULTANT)})

    def members(self, group: str) -> list[str]:
        """DNs of the direct members of `group`, asked for in ranges as a DC hands out long `member` lists."""
        out: list[str] = []
        start = 0
        while True:
            raw = self.base(group, [f"member;range={start}-*"]) or {}
            name = next((k for k in raw if k.lower() == "member" or k.lower().startswith("member;range=")), None)
            if name is None:
                return out
            out += _texts(raw, name)
            high = name.partition("=")[2].partition("-")[2] if "=" in name else "*"
            if high in ("*", "") or not high.isdigit():
                return out
            start = int(high) + 1

    def password_settings(self, base_dn: str) -> tuple[list[PasswordSettings], bool]:
        container = f"CN=Password Settings Container,CN=System,{base_dn}"
        if self.base(container, ["cn"]) is None:
            return [], False
        out = []
        attributes = ["cn", "msDS-PasswordSettingsPrecedence", "msDS-MinimumPasswordAge", "msDS-PSOAppliesTo",
                      "msDS-MaximumPasswordAge", *PSO_LOCKOUT]
        for dn, raw in self.paged(container, "(objectClass=msDS-PasswordSettings)", attributes, scope="LEVEL"):
            max_age, max_age_error = optional_age(raw, dn, "msDS-MaximumPasswordAge")
            # both are in msDS-PasswordSettings' mustContain: absent means not readable, never "no minimum"
            out.append(PasswordSettings(dn=dn, name=_text(raw, "cn") or rdn_value(dn),
                                        precedence=required_int(raw, dn, "msDS-PasswordSettingsPrecedence"),
                                        min_pwd_age=required_int(raw, dn, "msDS-MinimumPasswordAge"),
                                        applies_to=_texts(raw, "msDS-PSOAppliesTo"),
                                        lockout=account_lockout(raw, dn, PSO_LOCKOUT),
                                        max_pwd_age=max_age, max_pwd_age_error=max_age_error))
        return out, True

    def gpos(self, base_dn: str, gp_link: str, computers: dict[str, int]) -> list[GroupPolicy]:
        """The domain's GPOs, each with its links on the domain head and on OUs (gPLink) and its WMI filter."""
        linked = {key for key, _, _ in parse_gp_link(gp_link)}
        links = self.gpo_links(base_dn, gp_link, computers)
        out = []
        attributes = ["cn", "displayName", "gPCFileSysPath", "versionNumber", "flags", "gPCWQLFilter",
                      "nTSecurityDescriptor"]
        for dn, raw in self.paged(f"CN=Policies,CN=System,{base_dn}", "(objectClass=groupPolicyContainer)",
                                  attributes, scope="LEVEL", sd=True):
            flags, version, path, error = _gpo_wire(dn, raw)
            dacl, dacl_error = gpo_filtering.gpo_dacl(dn, raw)
            out.append(GroupPolicy(dn=dn, guid=(_text(raw, "cn") or rdn_value(dn)).upper(),
                                   display_name=_text(raw, "displayName"),
                                   file_sys_path=path, version_number=version,
                                   linked_to_domain=dn_key(dn) in linked, flags=flags, error=error,
                                   links=links.get(dn_key(dn), []),
                                   wmi_filter=(_text(raw, "gPCWQLFilter") or "").strip() or None,
                                   dacl=dacl, dacl_error=dacl_error))
        out.sort(key=lambda g: (g.guid != DEFAULT_DOMAIN_POLICY_GUID, g.display_name or ""))
        return out

    def gpo_links(self, base_dn: str, head_gp_link: str, computers: dict[str, int]) -> dict[str, list[GpoLink]]:
        """dn_key of a GPO → its links on the domain head and on every OU with a gPLink (with link order),
        and whether member computers (not domain controllers) lie below each linked container."""
        containers = [(base_dn, head_gp_link)]
        containers += [(dn, _text(raw, "gPLink") or "") for dn, raw in
                       self.paged(base_dn, "(&(objectClass=organizationalUnit)(gPLink=*))", ["gPLink"])]
        out: dict[str, list[GpoLink]] = {}
        for container, gp_link in containers:
            holds = any(count and is_within(where, container) for where, count in computers.items())
            for gpo_key, options, order in parse_gp_link(gp_link):
                out.setdefault(gpo_key, []).append(GpoLink(container=container, enabled=not options & 1,
                                                           enforced=bool(options & 2), order=order,
                                                           holds_computers=holds))
        return out

    def member_computers(self, base_dn: str) -> dict[str, int]:
        """Container DN → member computers (domain controllers excluded) directly in it."""
        out: dict[str, int] = {}
        for dn, _ in self.paged(base_dn, _MEMBER_COMPUTERS, ["1.1"]):
            where = parent(dn)
            out[where] = out.get(where, 0) + 1
        return out

    def blocking_ous(self, base_dn: str) -> list[str]:
        """OUs whose gPOptions has the block-inheritance bit (1) set ([MS-GPOL] 2.2.2)."""
        return [dn for dn, _ in self.paged(
            base_dn, "(&(objectClass=organizationalUnit)(gPOptions:1.2.840.113556.1.4.803:=1))", ["1.1"])]


def parse_gp_link(gp_link: str) -> list[tuple[str, int, int]]:
    """(dn_key of the GPO, link options, link order) of each `[LDAP://cn={GUID},cn=policies,…;options]`.

    The last entry of a gPLink is link order 1, the one that wins in its container ([MS-GPOL] 3.2.5.1.5;
    `auditor.derive.gpo_precedence` has the sources).
    """
    entries = []
    for part in re.findall(r"\[([^\]]*)\]", gp_link):
        path, separator, options = part.rpartition(";")
        if not separator:  # no options given
            path, options = options, "0"
        path = re.sub(r"^ldap://", "", path.strip(), flags=re.IGNORECASE)
        if path:
            entries.append((dn_key(path), int(options) if options.strip().isdigit() else 0))
    return [(key, options, len(entries) - index) for index, (key, options) in enumerate(entries)]


def _gpo_wire(dn: str, raw: dict[str, list[bytes]]) -> tuple[int | None, int | None, str | None, str | None]:
    """(flags, versionNumber, gPCFileSysPath, why not all three): a GPO whose `flags` are not read may have its
    computer settings off, so whether it applies is unknown (`GroupPolicy.error`), never "enabled"."""
    problems = []
    values: list[Any] = []
    for attribute, read in (("flags", required_int), ("versionNumber", required_int),
                            ("gPCFileSysPath", required_text)):
        try:
            values.append(read(raw, dn, attribute))
        except LdapWireError as exc:
            values.append(None)
            problems.append(str(exc))
    return values[0], values[1], values[2], "; ".join(problems) or None


# The domain head's lockout attributes (threshold, observation window, duration) and a PSO's, in that order
# (learn.microsoft.com/windows/win32/adschema/a-lockoutthreshold, a-lockoutobservationwindow, a-lockoutduration;
# a-msds-lockoutthreshold etc.: all three in msDS-PasswordSettings' mustContain, c-msds-passwordsettings).
DOMAIN_LOCKOUT = ("lockoutThreshold", "lockOutObservationWindow", "lockoutDuration")
PSO_LOCKOUT = ("msDS-LockoutThreshold", "msDS-LockoutObservationWindow", "msDS-LockoutDuration")


def optional_age(raw: dict[str, list[bytes]], dn: str, name: str) -> tuple[int | None, str | None]:
    """maxPwdAge / msDS-MaximumPasswordAge (a-maxpwdage, a-msds-maximumpasswordage): the interval, or None and why
    (only the Unexpire Password judgement needs it; the rest of the object stands)."""
    try:
        return required_int(raw, dn, name), None
    except LdapWireError as exc:
        return None, str(exc)


def account_lockout(raw: dict[str, list[bytes]], dn: str, names: tuple[str, str, str]) -> AccountLockout:
    """The three lockout values; one absent or not an integer is named in `error` (the rest of the object stands:
    only the lockout finding needs them)."""
    values: list[int | None] = []
    problems = []
    for name in names:
        key = next((k for k in raw if k.lower() == name.lower()), name)  # lockOutObservationWindow's odd case
        try:
            values.append(required_int(raw, dn, key))
        except LdapWireError as exc:
            values.append(None)
            problems.append(str(exc).replace(f"`{key}`", f"`{name}`"))
    return AccountLockout(threshold=values[0], observation_window=values[1], duration=values[2],
                          error="; ".join(problems) or None)


def _search_failure(dn: str, result: dict[str, Any]) -> str:
    return f"search of {dn} failed: {result.get('description')} {(result.get('message') or '').strip()}".strip()


def _secured(dn: str, raw: dict[str, list[bytes]]) -> SecuredObject:
    values = raw.get("nTSecurityDescriptor") or []
    if not values:
        return SecuredObject(dn=dn, error="the DC returned no nTSecurityDescriptor (no right to read it)")
    blob = bytes(values[0])
    return SecuredObject(dn=dn, dacl=parse_dacl(blob), descriptor_b64=base64.b64encode(blob).decode())


def _user(dn: str, raw: dict[str, list[bytes]], target: str, privileged: dict[str, str], domain_sid: str,
          dacl_key: str | None) -> DirectoryUser:
    via = sorted({privileged[k] for k in map(dn_key, _texts(raw, "memberOf")) if k in privileged})
    primary = _int(raw, "primaryGroupID")
    if primary in PROTECTED_DOMAIN_GROUP_RIDS:
        via = sorted({*via, PROTECTED_DOMAIN_GROUP_RIDS[primary]})
    sid = sid_from_bytes(required_binary(raw, dn, "objectSid"))
    if sid.startswith(domain_sid + "-") and rid(sid) == 500:
        via = sorted({*via, "Administrator (built-in account)"})
    return DirectoryUser(
        dn=dn, sam_account_name=_text(raw, "sAMAccountName"), user_principal_name=_text(raw, "userPrincipalName"),
        # absent was read as 0, an enabled account: a user whose state is not read is never counted in scope
        sid=sid, target_ou=target, user_account_control=required_int(raw, dn, "userAccountControl"),
        pwd_last_set=_int(raw, "pwdLastSet"), admin_count=_int(raw, "adminCount"),
        critical=_text(raw, "isCriticalSystemObject") == "TRUE", mobile=_text(raw, "mobile"),
        telephone_number=_text(raw, "telephoneNumber"), resultant_pso=_text(raw, "msDS-ResultantPSO"),
        privileged_via=via, dacl_key=dacl_key,
    )
