"""The state a reading command works on: a saved snapshot, or the endpoints its options name, read."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from auditor.commands.endpoint_options import endpoints_of, refuse_mixed_sources


def snapshot_of(args: argparse.Namespace, policy: Any = None) -> Any:
    """The snapshot the options name: a saved file, or the lab or live tenant read as `policy` asks."""
    refuse_mixed_sources(args)
    if getattr(args, "snapshot", None):
        from auditor.app.snapshot_trust import load_trusted_snapshot

        return load_trusted_snapshot(args.snapshot, policy, warn=lambda note: print(f"note: {note}", file=sys.stderr))
    from auditor.app.sources import snapshot_with_portal_file
    from auditor.progress_display import shown

    portal_snapshot = getattr(args, "portal_snapshot", None)
    # the progress display on stderr only: stdout and the reports never see it
    snapshot = snapshot_with_portal_file(endpoints_of(args), policy, portal_snapshot,
                                         around_collect=lambda: shown(args.progress, sys.stderr))
    if portal_snapshot is not None:
        from auditor.remediation.seal import signed

        if not signed():
            print(f"note: {portal_snapshot} is checked without SSPR_PLAN_KEY, so its seal is only a digest anyone "
                  "can recompute: its tenant, date and values are taken on trust (set SSPR_PLAN_KEY when it is "
                  "collected and when it is checked)", file=sys.stderr)
    return snapshot


def discovered_snapshot(args: argparse.Namespace) -> Any:
    """No policy to say which OUs and sync account: the domain is read after the cloud names its synced users."""
    from auditor.app.sources import export_snapshot
    from auditor.progress_display import shown

    refuse_mixed_sources(args)
    endpoints = endpoints_of(args)
    with shown(args.progress, sys.stderr):
        return export_snapshot(endpoints)
