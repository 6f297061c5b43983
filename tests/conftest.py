"""Shared fixtures: a copy of the repository's catalog and samples in a temporary folder."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def copy_repo(dest: Path, with_samples: bool = True) -> Path:
    """A repository laid out like this one: catalog/, schemas/, and (optionally) the samples."""
    shutil.copytree(ROOT / "catalog", dest / "catalog")
    shutil.copytree(ROOT / "schemas", dest / "schemas")
    if with_samples:
        shutil.copytree(ROOT / "integrations", dest / "integrations")
    else:
        (dest / "integrations").mkdir()
    return dest


# Variables the CI runner (or a developer's shell) may set that change what the CLI does: the
# tests say what they need explicitly instead.
_AMBIENT = (
    "GITHUB_ACTIONS",
    "CI",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
)


@pytest.fixture(autouse=True)
def _no_ambient_ci_or_sharepoint(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name in _AMBIENT or name.startswith("SHAREPOINT_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """A temporary repository holding the catalog and the shipped sample integrations."""
    return copy_repo(tmp_path / "repo")


@pytest.fixture
def empty_repo(tmp_path: Path) -> Path:
    """A temporary repository with the catalog and no integrations."""
    return copy_repo(tmp_path / "repo", with_samples=False)


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Run the command line in-process; returns click's Result (exit_code, output)."""

    def run(args: Sequence[str]) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


def edit(repo: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    """Replace old with new in a repository file (count=-1: every occurrence); old must be there."""
    path = repo / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, rel)
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def git_init(repo: Path) -> None:
    """Make repo a git repository (empty history)."""
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
