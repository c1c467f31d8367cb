"""The layers are a contract (issue 12): `.importlinter` at the repository root, checked on the real import
graph (grimp reads every import, lazy and TYPE_CHECKING ones included). A broken contract fails here with
import-linter's report naming the import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_layer_points_down_and_only_the_app_imports_the_lab() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout
