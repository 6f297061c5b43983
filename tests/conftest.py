"""Shared fixtures: a copy of the repository's catalog and samples in a temporary folder.

Every test runs at a pinned moment, NOW, never at today's date: the shipped demo certificates
are made relative to the day `make samples` ran and expire five years later, so NOW is derived
from their own validity (one day after the latest was issued). Certificates made at test time
are issued relative to NOW too (pki_times).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypedDict

import git
import pytest
from click.testing import CliRunner, Result
from cryptography import x509

from provisioner.cli import cli
from provisioner.cli.common import NOW_ENV
from provisioner.runtime import caches

ROOT = Path(__file__).resolve().parents[1]


def shipped_certificates(root: Path = ROOT) -> list[x509.Certificate]:
    """The demo CAs of the catalog and the samples' CDAs, as committed."""
    paths = [*root.glob("catalog/trust/*.pem"), *root.glob("integrations/*/certs/*.pem")]
    return [x509.load_pem_x509_certificate(p.read_bytes()) for p in sorted(paths)]


def samples_clock(root: Path = ROOT) -> datetime:
    """A moment when every shipped demo certificate is current: a day after the latest issue."""
    return max(c.not_valid_before_utc for c in shipped_certificates(root)) + timedelta(days=1)


NOW = samples_clock()


class Validity(TypedDict):
    not_before: datetime
    not_after: datetime


def pki_times(now: datetime = NOW, days: int = 5 * 365) -> Validity:
    """not_before/not_after for a demo certificate current at now (demo_pki would use the clock)."""
    return {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=days)}


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The command line (in-process or a child process) reads NOW, not the clock."""
    monkeypatch.setenv(NOW_ENV, NOW.isoformat())
    return NOW


@pytest.fixture(autouse=True)
def isolated_form_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Form verdicts cached in this test's own folder: no test sees another's verdicts.

    local_edges joins FORMS_CACHE to the repository root; an absolute path wins that join.
    """
    folder = tmp_path / "form-cache"
    monkeypatch.setattr(caches, "FORMS_CACHE", folder)
    return folder


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


def first_apply(repo: Path, env: str) -> bool:
    """True when the ledger branch of env does not exist yet (the first apply needs --init)."""
    done = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "rev-parse",
            "--verify",
            "--quiet",
            f"refs/heads/provisioned/{env}",
        ],
        capture_output=True,
        check=False,
    )
    return done.returncode != 0


def without_form_fields(repo: Path) -> None:
    """Drop catalog/service.yaml form_fields: for tests that change a sample's IPs or CDA without
    re-signing its form (the fields are tested in tests/documents/test_form_binding.py)."""
    service = repo / "catalog" / "service.yaml"
    text = service.read_text(encoding="utf-8")
    start = text.index("form_fields:\n")
    end = text.index("\n", text.index("cda_serial:", start)) + 1
    service.write_text(text[:start] + text[end:], encoding="utf-8")


def commit_as(repo: git.Repo, who: tuple[str, str], when: str, message: str) -> str:
    """Commit everything in repo as who (name, email) at when (ISO 8601); the new commit's id."""
    repo.git.add("-A")
    actor = git.Actor(*who)
    date = datetime.fromisoformat(when)
    made = repo.index.commit(
        message, author=actor, committer=actor, author_date=date, commit_date=date
    )
    return str(made.hexsha)


def apply_as_ci(repo_dir: Path, env: str, when: datetime, run: str | None = None) -> str:
    """Plan and apply env to the local store at when, as the CI run `run` (or by hand when None);
    the ledger commit's id."""
    from provisioner.apply import pipeline
    from provisioner.apply.store import LocalStore

    prepared = pipeline.prepare(
        repo_dir,
        env,  # type: ignore[arg-type]
        now=when,
        init=first_apply(repo_dir, env),
    )
    assert not prepared.problems, prepared.problems
    environ = {}
    if run is not None:
        environ = {
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_REPOSITORY": "aoc/hestia-integrations",
            "GITHUB_RUN_ID": run,
            "GITHUB_ACTOR": "bernat-cap",
        }
    result = pipeline.apply(
        prepared,
        LocalStore(repo_dir / ".provisioner" / "sharepoint"),
        repo_dir / "build" / "app",
        now=when,
        environ=environ,
    )
    assert result.status == "applied", result
    assert result.commit is not None
    return result.commit
