"""The delegated reader's login: a device-code sign-in once, then silent refreshes from an encrypted cache.

The portal's SSPR API takes only a delegated user token (`../shared/reference/graph.md`), so an unattended
pipeline that wants those verdicts live needs a user's refresh token. `sspr-audit login` runs the OAuth 2.0
device authorization grant with MSAL (the library azure-identity is built on) for a dedicated reader account
and writes MSAL's token cache, sealed, to one file:

* the key comes only from the environment (`SSPR_LOGIN_KEY`, read as bytes and judged by `auditor.keys`:
  at least 32 bytes that look random, e.g. `openssl rand -base64 32`; a CI secret);
* scrypt (n=2^14, r=8, p=1) turns it into an AES-256-GCM key; the file's header (format, version, KDF
  parameters) is the associated data, so nothing in the file can be changed without the key noticing;
* the file is written atomically with mode 0600, and again after each silent refresh (Entra rotates
  refresh tokens), never in clear, never into a log, snapshot or report;
* the file is read only when it is a regular file (not a link) that this user owns and nobody else may
  read or write, as ssh treats a private key; and only for the tenant it was signed in to.

azure-identity's own persistent cache is not used: on Linux it encrypts through the desktop keyring
(libsecret), which CI runners lack, or else stores the cache unencrypted; neither takes a key from the
environment. The cache format inside the seal is MSAL's, the same azure-identity keeps.

Why not silently everything: a refresh token that Entra refuses (expired after 90 days idle, `AADSTS700082`;
revoked, `AADSTS50173`) is one clear :class:`LoginCacheError`, raised once per run and cached, which the portal
reader turns into `unknown` sections. Authority: `AZURE_AUTHORITY_HOST` (azure-identity's variable for
sovereign clouds; default https://login.microsoftonline.com) plus the tenant id.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.files import read_descriptor
from auditor.readers.credentials import PORTAL_SCOPE

__all__ = [
    "LOGIN_CACHE_VARIABLE", "LOGIN_KEY_VARIABLE", "LoginCacheCredential", "LoginCacheError", "LoginRecord",
    "authority_for", "default_cache_path", "device_login", "load_login_cache", "seal", "unseal", "write_login_cache",
]

LOGIN_KEY_VARIABLE = "SSPR_LOGIN_KEY"
LOGIN_CACHE_VARIABLE = "SSPR_LOGIN_CACHE"
FORMAT: Final = "sspr-auditor-login-cache"
VERSION = 1
SCRYPT = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1}
MAX_CACHE_BYTES = 1 << 20
DEFAULT_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
"""Microsoft's public Azure CLI client, azure-identity's DEVELOPER_SIGN_ON_CLIENT_ID (azure/identity/_constants.py):
the client `az account get-access-token --resource 74658136-…` (the portal's resource) signs in with."""
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
REUSE_MARGIN_SECONDS = 10


class LoginCacheError(Exception):
    """The login cache cannot be read, or the identity platform refused to refresh it."""


class LoginRecord(BaseModel):
    """What the sealed file holds: where and as whom the reader signed in, and MSAL's token cache."""

    model_config = ConfigDict(extra="forbid")

    authority: str
    client_id: str
    tenant_id: str
    username: str
    home_account_id: str
    signed_in_at: datetime
    scopes: list[str] = Field(default_factory=lambda: [PORTAL_SCOPE])
    msal_cache: str = Field(repr=False)


# --- the key and the seal ---------------------------------------------------------------------


def login_key() -> bytes:
    """The key from the environment, as bytes (any byte string; judged by auditor.keys before any network)."""
    from auditor.keys import GOOD_KEY, KeyStrengthError, key_from_environment

    try:
        key = key_from_environment(LOGIN_KEY_VARIABLE)
    except KeyStrengthError as exc:
        raise LoginCacheError(str(exc)) from None
    if key is None:
        raise LoginCacheError(f"set {LOGIN_KEY_VARIABLE} (a CI secret of {GOOD_KEY}): the login cache is "
                              "encrypted with it")
    return key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _header(salt: bytes) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "kdf": {**SCRYPT, "salt": _b64(salt)}, "cipher": "AES-256-GCM"}


def _associated(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _derive(key: bytes | str, salt: bytes, kdf: dict[str, Any]) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    material = key.encode("utf-8") if isinstance(key, str) else key  # a str key: as a UTF-8 environment holds it
    return Scrypt(salt=salt, length=32, n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"])).derive(material)


def seal(record: LoginRecord, key: bytes | str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(16), os.urandom(12)
    header = _header(salt)
    ciphertext = AESGCM(_derive(key, salt, header["kdf"])).encrypt(
        nonce, record.model_dump_json().encode(), _associated(header))
    return json.dumps({**header, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}, indent=1).encode() + b"\n"


def unseal(data: bytes, key: bytes | str, where: str) -> LoginRecord:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from auditor.files import InputFileError, decode_utf8, parse_json_bounded

    try:  # bounded: deep nesting or a huge integer is refused, never a RecursionError (issue 29)
        envelope = parse_json_bounded(decode_utf8(data, where, "login cache"), where, "login cache")
    except InputFileError as exc:
        raise LoginCacheError(f"{where}: not a readable login cache (at {str(exc).removeprefix(f'{where}:')})") \
            from None
    try:
        if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
            raise LoginCacheError(f"{where}: not an sspr-auditor login cache (write one with `sspr-audit login`)")
        if envelope.get("version") != VERSION:
            raise LoginCacheError(f"{where}: login cache version {envelope.get('version')!r}; this version reads "
                                  f"{VERSION}: run `sspr-audit login` again")
        kdf = envelope["kdf"]
        if {k: kdf.get(k) for k in SCRYPT} != SCRYPT or envelope.get("cipher") != "AES-256-GCM":
            raise LoginCacheError(f"{where}: unexpected key derivation or cipher parameters")
        salt = base64.b64decode(kdf["salt"], validate=True)
        header = _header(salt)
        nonce = base64.b64decode(envelope["nonce"], validate=True)
        ciphertext = base64.b64decode(envelope["ciphertext"], validate=True)
    except LoginCacheError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # AttributeError: `kdf` that is no mapping
        raise LoginCacheError(f"{where}: not a readable login cache ({type(exc).__name__})") from None
    try:
        plain = AESGCM(_derive(key, salt, kdf)).decrypt(nonce, ciphertext, _associated(header))
    except (InvalidTag, ValueError):
        raise LoginCacheError(f"{where}: cannot be decrypted with {LOGIN_KEY_VARIABLE}: a different key, or the "
                              "file was changed") from None
    try:
        return LoginRecord.model_validate_json(plain)
    except ValidationError:
        raise LoginCacheError(f"{where}: the decrypted login record has an unexpected shape") from None


def default_cache_path() -> Path:
    configured = os.environ.get(LOGIN_CACHE_VARIABLE)
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "sspr-auditor" / "login-cache.json"


def load_login_cache(path: Path, tenant_id: str | None = None, folder: int | None = None) -> LoginRecord:
    """The record sealed in `path`: a private file of this user's, for `tenant_id` when one is given; read relative
    to `folder` (a descriptor of `path`'s folder) when one is given."""
    key = login_key()
    record = unseal(read_private_file(path, folder), key, str(path))
    refuse_other_tenant(record, tenant_id, str(path))
    return record


def refuse_other_tenant(record: LoginRecord, tenant_id: str | None, where: str) -> None:
    """A cache signed in to one tenant never serves another: `tenant_id` must be its tenant id (the `tid` the
    identity platform returned) or the tenant name it signed in with (the authority's last segment)."""
    if not tenant_id:
        return
    names = {record.tenant_id.casefold(), record.authority.rstrip("/").rsplit("/", 1)[-1].casefold()}
    if tenant_id.strip().casefold() not in names:
        from auditor.text import one_line

        raise LoginCacheError(f"{where}: the login cache is for tenant {one_line(record.tenant_id)}, not for "
                              f"--tenant-id {one_line(tenant_id)}: sign in to that tenant into another file "
                              "(`sspr-audit login --tenant-id … --cache …`)")


def read_private_file(path: Path, folder: int | None = None) -> bytes:
    """The bytes of `path` when it is a regular file (not a link) owned by this user and private to it.

    As OpenSSH does for a private key (ssh(1), FILES: "ssh will simply ignore a private key file if it is
    accessible by others"; https://man.openbsd.org/ssh#FILES) and sshd for authorized_keys (sshd(8), FILES: a
    file others could modify or replace is not used unless StrictModes is off; https://man.openbsd.org/sshd#FILES),
    a cache that group or others may read or write, or that another user owns (and so can replace), is refused.
    A symbolic link is refused too: the cache is rewritten on each refresh, and a rename would put a regular
    file where the link was. The checks are made on the opened descriptor (O_NOFOLLOW), so a link swapped in
    meanwhile is not followed. With `folder` (a descriptor of the cache's folder), the name is opened relative to
    it: the folder the cache is read from is the one it is written back to (`write_login_cache`).
    """
    import errno
    import stat

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path.name, flags, dir_fd=folder) if folder is not None else os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (path.is_symlink() and exc.errno == errno.ENOENT):
            raise LoginCacheError(_is_a_link(path)) from None
        raise LoginCacheError(f"{path}: cannot read login cache: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LoginCacheError(f"{path}: the login cache must be a regular file")
        if info.st_uid != os.geteuid():
            raise LoginCacheError(f"{path}: the login cache is owned by uid {info.st_uid}, not by this user (uid "
                                  f"{os.geteuid()}): another user could replace it; refused, as ssh refuses such "
                                  "a private key")
        if info.st_mode & 0o077:
            raise LoginCacheError(f"{path}: the login cache has mode {stat.S_IMODE(info.st_mode):04o}, open to "
                                  f"group or others: `chmod 600 {path}` (ssh refuses a private key in that state)")
        content = read_descriptor(fd, MAX_CACHE_BYTES)
        if content is None:
            raise LoginCacheError(f"{path}: the login cache is larger than {MAX_CACHE_BYTES} bytes")
        return content
    except OSError as exc:
        raise LoginCacheError(f"{path}: cannot read login cache: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _is_a_link(path: Path) -> str:
    return (f"{path}: the login cache is a symbolic link: each refresh rewrites the cache, which would put a "
            "file where the link is; give the real path (--login-cache or SSPR_LOGIN_CACHE)")


def refuse_to_replace_other_files(path: Path) -> None:
    """`login --cache FILE` replaces FILE: only when it is absent or already a login cache (never a policy)."""
    if path.is_symlink():
        raise LoginCacheError(_is_a_link(path))
    if not path.exists():
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise LoginCacheError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if f'"format": "{FORMAT}"'.encode() not in head:
        raise LoginCacheError(f"{path} exists and is not a login cache: choose another --cache, or remove it first")


def write_login_cache(path: Path, record: LoginRecord, folder: int | None = None) -> Path:
    """`record` sealed into `path` (mode 0600). A refresh passes `folder`, the descriptor of the folder the cache was
    read from: the file is then made and renamed relative to it (`auditor.files.write_atomically`), so a link or
    another folder put in place of the cache's folder since it was read is never written through, and a link put
    in place of the cache itself is refused (looked up relative to the same descriptor, never followed)."""
    from auditor.files import OpenFolder, open_folder, write_atomically

    sealed = seal(record, login_key())
    if folder is None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = held = open_folder(path.parent, what="the login cache's folder", follow=True)
    else:
        held = None
    try:
        if OpenFolder(path.parent, folder).is_link(path.name):  # put there since the cache was read
            raise LoginCacheError(_is_a_link(path))
        return write_atomically(path, sealed, mode=0o600, folder=folder)
    finally:
        if held is not None:
            os.close(held)


# --- MSAL ------------------------------------------------------------------------------------


def authority_for(tenant_id: str) -> str:
    host = (os.environ.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY_HOST).rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    return f"{host}/{tenant_id}"


def _application(authority: str, client_id: str, cache: Any, timeout_seconds: float) -> Any:
    import msal

    try:
        # The authority is the user's own choice (tenant + AZURE_AUTHORITY_HOST), sealed in the cache after
        # login: instance discovery against login.microsoftonline.com adds nothing and fails off the Internet.
        return msal.PublicClientApplication(client_id, authority=authority, token_cache=cache,
                                            instance_discovery=False, timeout=timeout_seconds)
    except ValueError as exc:  # MSAL's authority validation (not https, unknown tenant, discovery failed)
        raise LoginCacheError(f"the authority {authority} is not usable: {_first_line(str(exc))}") from None
    except Exception as exc:  # requests' connection errors during OIDC discovery
        raise LoginCacheError(f"cannot reach the authority {authority}: {type(exc).__name__}") from None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "no detail"


def _refusal(result: dict[str, Any]) -> str:
    return f"{result.get('error', 'error')}: {_first_line(str(result.get('error_description', '')))}"


def device_login(tenant_id: str, client_id: str | None, show: Callable[[str], None], *,
                 scopes: Sequence[str] = (PORTAL_SCOPE,), timeout_seconds: float = 30.0) -> LoginRecord:
    """Run the device-code flow (blocking until the user signs in, declines, or the code expires)."""
    import msal

    authority = authority_for(tenant_id)
    client = client_id or DEFAULT_CLIENT_ID
    cache = msal.SerializableTokenCache()
    app = _application(authority, client, cache, timeout_seconds)
    try:
        flow = app.initiate_device_flow(scopes=list(scopes))
    except Exception as exc:
        raise LoginCacheError(f"cannot start the device-code sign-in at {authority}: {type(exc).__name__}") from None
    if "user_code" not in flow:
        raise LoginCacheError(f"the identity platform refused the device-code sign-in: {_refusal(flow)}")
    show(str(flow.get("message") or f"open {flow.get('verification_uri')} and enter {flow['user_code']}"))
    try:
        result = app.acquire_token_by_device_flow(flow)
    except Exception as exc:
        raise LoginCacheError(f"the device-code sign-in failed: {type(exc).__name__}") from None
    if "access_token" not in result:
        raise LoginCacheError(f"the sign-in did not complete: {_refusal(result)}")
    claims = result.get("id_token_claims") or {}
    username = str(claims.get("preferred_username") or "")
    accounts = [a for a in app.get_accounts() if not username or a.get("username") == username]
    if not accounts:
        raise LoginCacheError("the sign-in returned no account (no id_token): the cache could not refresh")
    signed_tenant = str(claims.get("tid") or accounts[0].get("realm") or tenant_id)
    if _is_guid(tenant_id) and signed_tenant.lower() != tenant_id.lower():
        raise LoginCacheError(f"the account signed in to tenant {signed_tenant}, not {tenant_id}")
    return LoginRecord(authority=authority, client_id=client, tenant_id=signed_tenant, username=username,
                       home_account_id=accounts[0]["home_account_id"], signed_in_at=datetime.now(UTC),
                       scopes=list(scopes), msal_cache=cache.serialize())


def _is_guid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class LoginCacheCredential:
    """An azure-core style credential (``get_token``) that refreshes silently from a sealed login cache.

    The cache is opened (and its key checked) when the credential is built, so a missing key or a wrong
    file is a usage error before any read. A refusal from the identity platform is raised once and then
    repeated without another request: one clear error per run, which the portal reader reports as unknown.
    """

    def __init__(self, path: Path, timeout_seconds: float = 30.0, tenant_id: str | None = None) -> None:
        import weakref

        from auditor.files import OutputPathError, open_folder

        self.path = path
        try:  # the folder is pinned: the cache is read from it and every refresh is written back into it
            self._folder = open_folder(path.parent, what="the login cache's folder", follow=True)
        except OutputPathError as exc:
            raise LoginCacheError(f"{path}: cannot read login cache: {exc}") from None
        weakref.finalize(self, os.close, self._folder)
        self.record = load_login_cache(path, tenant_id, self._folder)
        self._timeout = timeout_seconds
        self._failure: str | None = None
        self._tokens: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    @property
    def username(self) -> str:
        return self.record.username

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        with self._lock:
            if self._failure is not None:
                raise LoginCacheError(self._failure)
            kept = self._tokens.get(scopes)
            if kept is not None and kept.expires_on - time.time() > REUSE_MARGIN_SECONDS:
                return kept  # one run reuses its token (MSAL's own margin would refresh a short-lived one again)
            try:
                token = self._silent(list(scopes))
            except LoginCacheError as exc:
                self._failure = str(exc)
                raise
            self._tokens[scopes] = token
            return token

    def _silent(self, scopes: list[str]) -> Any:
        import msal
        from azure.core.credentials import AccessToken

        record = self.record
        cache = msal.SerializableTokenCache()
        cache.deserialize(record.msal_cache)
        app = _application(record.authority, record.client_id, cache, self._timeout)
        account = next((a for a in app.get_accounts() if a.get("home_account_id") == record.home_account_id), None)
        if account is None:
            raise LoginCacheError(f"{self.path}: holds no account for {record.username}: run `sspr-audit login` again")
        try:
            result = app.acquire_token_silent_with_error(scopes, account=account)
        except Exception as exc:
            raise LoginCacheError(f"cannot refresh the login of {record.username} at {record.authority}: "
                                  f"{type(exc).__name__}") from None
        if not result:
            raise LoginCacheError(f"{self.path}: no token for {' '.join(scopes)} for {record.username}: run "
                                  "`sspr-audit login` again")
        if "access_token" not in result:
            raise LoginCacheError(f"the identity platform refused to refresh the login of {record.username} "
                                  f"({_refusal(result)}): run `sspr-audit login` again")
        if cache.has_state_changed:  # a refresh rotated the refresh token: keep the new one, sealed
            self.record = record.model_copy(update={"msal_cache": cache.serialize()})
            write_login_cache(self.path, self.record, self._folder)
        return AccessToken(str(result["access_token"]), int(time.time()) + int(result.get("expires_in", 0)))
