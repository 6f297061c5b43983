"""The pure core is enforced by `make lint`: these tests prove the contract bites.

Each copies the package and pyproject.toml to a temporary folder, breaks the rule in one rule
module, and runs the same linter `make lint` runs on the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def _copy(dest: Path) -> Path:
    shutil.copytree(
        ROOT / "provisioner", dest / "provisioner", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest / "provisioner" / "rules" / "network.py"


def _add_line(module: Path, line: str) -> None:
    text = module.read_text(encoding="utf-8")
    head = "from __future__ import annotations\n"
    module.write_text(text.replace(head, f"{head}\n{line}\n", 1), encoding="utf-8")


def test_a_rule_module_that_starts_a_process_breaks_the_import_contract(tmp_path: Path) -> None:
    module = _copy(tmp_path)
    _add_line(module, "import subprocess  # noqa: F401")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # the copy, not the installed package
    out = subprocess.run(
        [BIN / "lint-imports", "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "provisioner.rules.network -> subprocess" in out.stdout
    assert "1 broken" in out.stdout


def test_a_rule_module_that_reads_the_environment_breaks_the_lint(tmp_path: Path) -> None:
    module = _copy(tmp_path)
    _add_line(module, 'import os\n\nDEBUG = os.environ.get("DEBUG")')
    out = subprocess.run(
        [BIN / "ruff", "check", "--no-cache", "--select", "TID251", "provisioner"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "provisioner/rules/network.py" in out.stdout
    assert "`os.environ` is banned" in out.stdout
    assert out.stdout.count("TID251") == 1  # the edges may read it: only the rule is reported
