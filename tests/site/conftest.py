"""A repository with a real history for the site: pull requests, applies to PRE and PRO, an
access change, and pending work; built once per test session (applies are slow)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git
import pytest

from provisioner.documents.identity import identity_from_bytes
from provisioner.site.build import collect, write_site
from provisioner.site.model import Site, build_site
from provisioner.site.render import render_site
from tests.conftest import apply_as_ci, commit_as, copy_repo, without_form_fields

CASTELLDEFELS, PIRINEU_INE10 = "0805690004", "8100560009"
GESTIO = f"integrations/{CASTELLDEFELS}/gestio-municipal-oberta.yaml"
PIRINEU = f"integrations/{PIRINEU_INE10}/serveis-informatics-pirineu.yaml"
SOLUCIONS_CDA = f"integrations/{CASTELLDEFELS}/certs/solucions-socials-digitals.pem"
# Every name is hostile: the access change's author and subject are (git refuses < > in names).
HOSTILE_AUTHOR = "Anna & \"Q\" 'S'"
HOSTILE_SUBJECT = "IP <script>alert(1)</script> & \"Q\" 'S' <!-- x"
APPROVER = ("Bernat Cap", "bernat@example.invalid")


@dataclass
class Story:
    dir: Path
    pre_1: str
    pre_2: str
    pro_1: str
    merge: str
    now: datetime  # 30 days before the sample CDAs expire: they are all in the warning window
    site: Site
    out: Path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def make_story(root: Path) -> Story:
    repo_dir = copy_repo(root / "repo")
    without_form_fields(repo_dir)  # the story changes IPs without re-signing the forms
    (repo_dir / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    repo = git.Repo.init(repo_dir)
    repo.git.checkout("-b", "main")
    commit_as(repo, ("Setup Bot", "setup@example.invalid"), "2027-01-04T08:00:00+01:00", "Samples")
    pre_1 = apply_as_ci(repo_dir, "PRE", datetime(2027, 1, 11, 9, 0, tzinfo=UTC), "1001")

    # Pull request #7: a new IP for Gestió, by a hostile-named author, merged by the approver.
    repo.git.checkout("-b", "gestio-ip")
    _edit(repo_dir / GESTIO, "  - 198.51.100.40\n", "  - 198.51.100.40\n  - 198.51.100.41\n")
    commit_as(
        repo, (HOSTILE_AUTHOR, "anna@example.invalid"), "2027-01-20T10:00:00+01:00", HOSTILE_SUBJECT
    )
    repo.git.checkout("main")
    when = "2027-01-21T17:00:00+01:00"
    name, email = APPROVER
    repo.git.merge(
        "--no-ff",
        "-m",
        "Merge pull request #7 from anna/gestio-ip",
        "gestio-ip",
        env={
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
        },
    )
    merge = str(repo.head.commit.hexsha)
    pre_2 = apply_as_ci(repo_dir, "PRE", datetime(2027, 2, 1, 9, 0, tzinfo=UTC), "1002")
    pro_1 = apply_as_ci(repo_dir, "PRO", datetime(2027, 2, 3, 12, 30, tzinfo=UTC), "1003")

    # Pending work, not yet committed: one more IP for Pirineu (PRE only).
    _edit(repo_dir / PIRINEU, "  - 203.0.113.10\n", "  - 203.0.113.10\n  - 203.0.113.11\n")

    identity = identity_from_bytes((repo_dir / SOLUCIONS_CDA).read_bytes())
    assert identity is not None
    now = identity.not_after - timedelta(days=30)
    site = build_site(collect(repo_dir, now))
    out = root / "site"
    write_site(render_site(site), out)
    return Story(repo_dir, pre_1, pre_2, pro_1, merge, now, site, out)


@pytest.fixture(scope="session")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return make_story(tmp_path_factory.mktemp("site-story"))
