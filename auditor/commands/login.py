"""`sspr-audit login`: sign a dedicated reader in once (device code) and seal its token cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.commands.common import UsageError, check_outputs, seconds
from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    login = commands.add_parser(
        "login", help="sign a dedicated reader account in once (device code) and seal its token cache, so "
                      "unattended runs read the portal with --portal-auth login-cache",
        description="Runs the OAuth 2.0 device-code flow for the portal API and writes MSAL's token cache "
                    "encrypted (AES-256-GCM) with a key from SSPR_LOGIN_KEY. Later runs refresh it silently. "
                    "The authority is AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com) + --tenant-id.")
    login.add_argument("--tenant-id", required=True, help="directory (tenant) id")
    login.add_argument("--client-id", help="public client to sign in with (default: Microsoft's Azure CLI client)")
    login.add_argument("--cache", type=Path, metavar="FILE",
                       help="where to write the sealed cache (default: SSPR_LOGIN_CACHE, else "
                            "~/.config/sspr-auditor/login-cache.json)")
    login.add_argument("--timeout", type=seconds, default=30.0, help="seconds per request (default: 30)")
    login.set_defaults(handler=run, command="login")


def run(args: argparse.Namespace) -> int:
    """Sign the dedicated reader in once (device code) and seal its token cache for unattended runs."""
    from auditor.readers.login_cache import (
        LOGIN_KEY_VARIABLE,
        LoginCacheError,
        default_cache_path,
        device_login,
        login_key,
        refuse_to_replace_other_files,
        write_login_cache,
    )

    path = args.cache or default_cache_path()
    check_outputs((path, "login cache"))
    try:
        login_key()  # before any network: without the key nothing could be kept
        refuse_to_replace_other_files(path)
    except LoginCacheError as exc:
        raise UsageError(str(exc)) from None

    def show(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        record = device_login(args.tenant_id, args.client_id, show, timeout_seconds=args.timeout)
    except LoginCacheError as exc:
        print(f"login failed: {exc}", file=sys.stderr)
        return Exit.incomplete
    write_login_cache(path, record)
    import shlex

    from auditor.text import one_line

    print(f"signed in as {one_line(record.username)} (tenant {one_line(record.tenant_id)}) for the portal API")
    print(f"login cache written: {path} (AES-256-GCM, key from {LOGIN_KEY_VARIABLE}; mode 0600)")
    print("next: sspr-audit check POLICY --portal --portal-auth login-cache --login-cache "
          f"{shlex.quote(str(path))} …")
    return Exit.ok
