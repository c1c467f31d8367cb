"""`sspr-audit collect`: read the live state (or the lab) into a snapshot file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.commands.common import UsageError, check_outputs
from auditor.commands.endpoint_options import add_read_options
from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    collect = commands.add_parser("collect", help="read the live state (or the lab) into a snapshot file")
    add_read_options(collect, allow_snapshot=False)
    collect.add_argument("--out", type=Path, required=True, help="snapshot JSON file to write")
    collect.add_argument("--policy", type=Path, metavar="POLICY",
                         help="policy whose `directory` section names the OUs and sync account to read from AD")
    collect.add_argument("--portal-only", action="store_true",
                         help="write only the portal's SSPR sections, with when and by whom they were read (run by "
                              "an admin with --portal; a pipeline then takes them with check --portal-snapshot)")
    collect.add_argument("--discover", action="store_true",
                         help="with --ad-host and no --policy (with --lab, the default): find the synced OUs and "
                              "the sync account as export does, and read them (then `export --snapshot` writes the "
                              "`directory` section)")
    collect.set_defaults(handler=run, command="collect")


def run(args: argparse.Namespace) -> int:
    from auditor.commands.present import print_snapshot
    from auditor.commands.reading import discovered_snapshot, snapshot_of
    from auditor.policy.loader import load_policy
    from auditor.snapshot.store import save_snapshot

    check_outputs((args.out, "snapshot"), inputs=(args.policy,))
    if args.portal_only and not (args.portal or args.lab):
        raise UsageError("--portal-only reads the portal: give --portal (and a delegated --portal-auth), or --lab")
    if args.discover:
        if args.policy or args.portal_only:
            raise UsageError("--discover finds what a policy's `directory` section would name: give it without "
                             "--policy and --portal-only")
        if not (args.lab or args.ad_host):
            raise UsageError("--discover reads a domain: give --lab SCENARIO or --ad-host (and --ad-user)")
        snapshot = discovered_snapshot(args)
    elif args.lab and not args.policy and not args.portal_only:  # the lab's domain, found as --discover finds it:
        snapshot = discovered_snapshot(args)  # `check --snapshot` then reads what `check --lab` reads
    else:
        snapshot = snapshot_of(args, load_policy(args.policy) if args.policy else None)
    if args.portal_only:
        import getpass
        import socket

        from auditor.app.portal_snapshot import PortalSnapshotError, portal_only

        who = getpass.getuser()
        if args.portal_auth == "login-cache" and not args.lab:
            from auditor.readers.reach import login_cache_credential

            path = str(args.login_cache) if args.login_cache else None
            who = str(login_cache_credential(path, tenant_id=args.tenant_id).username)
        try:
            snapshot = portal_only(snapshot, f"{who}@{socket.gethostname()}")
        except PortalSnapshotError as exc:  # an input this run could not read: incomplete, not a usage error
            print(f"error: {exc}", file=sys.stderr)
            return Exit.incomplete
    if not args.portal_only:  # bound to its tenant and sealed as a portal snapshot is (auditor.app.snapshot_trust)
        from auditor.app.snapshot_trust import sealed_snapshot

        snapshot = sealed_snapshot(snapshot)
    print_snapshot(snapshot, save_snapshot(snapshot, args.out), portal_only=args.portal_only)
    return Exit.ok
