"""Shared fixtures: a copy of the repository's catalog and samples in a temporary folder."""

from __future__ import annotations

import shutil
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
