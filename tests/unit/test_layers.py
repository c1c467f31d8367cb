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
    assert "3 kept, 0 broken" in result.stdout


def test_no_folder_holds_more_than_a_fifth_of_the_code() -> None:
    """Issue 12: one package growing into the whole program is the first sign the layers stopped meaning anything."""
    package = ROOT / "auditor"

    def lines(paths: list[Path]) -> int:
        return sum(1 for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip())

    total = lines(list(package.rglob("*.py")))
    sizes = {folder.name: lines(list(folder.rglob("*.py"))) for folder in package.iterdir() if folder.is_dir()
             and (folder / "__init__.py").exists()}
    too_big = {name: f"{size / total:.1%}" for name, size in sizes.items() if size * 5 > total}
    assert not too_big, f"folders over a fifth of {total} non-blank lines: {too_big}"
