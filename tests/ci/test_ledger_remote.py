"""The workflow steps on real git: a bare "origin" in a temporary folder and clones of it, as
actions/checkout with fetch-depth: 0 leaves them (every branch as refs/remotes/origin/*)."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Sequence
from pathlib import Path

import git
import pytest
from click.testing import CliRunner, Result

from provisioner.ci import gitops
from provisioner.cli import cli
from tests.conftest import copy_repo, edit, without_form_fields
from tests.conftest import first_apply as ledger_missing

BOT = git.Actor("Test", "test@example.invalid")
CASTELLDEFELS_ROW = (
    '  - {ine10: "0805690004", name: "Ajuntament de Castelldefels", nif: P0805500F, '
    "kind: ajuntament}\n"
)


def run(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def commit_all(repo_dir: Path, message: str = "change") -> str:
    repo = git.Repo(repo_dir)
    repo.git.add("-A")
    return str(repo.index.commit(message, author=BOT, committer=BOT).hexsha)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare origin whose main holds the samples."""
    bare = tmp_path / "origin.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    work = copy_repo(tmp_path / "seed")
    without_form_fields(work)  # the tests change IPs without re-signing the forms
    (work / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    repo = git.Repo.init(work, initial_branch="main")
    commit_all(work, "samples")
    repo.create_remote("origin", str(bare)).push("main:main")
    return bare


def clone(origin: Path, dest: Path) -> Path:
    git.Repo.clone_from(str(origin), dest)
    return dest


def ci(repo: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return run(["ci", *args, "--repo", str(repo)], env)


def head(repo: Path) -> str:
    return str(git.Repo(repo).head.commit.hexsha)


def remote_tip(origin: Path, env: str) -> str | None:
    try:
        return str(git.Repo(origin).commit(f"refs/heads/provisioned/{env}").hexsha)
    except (git.BadName, ValueError):
        return None


def apply(repo: Path, env: str, run_id: str = "1") -> Result:
    ci_run = {"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "o/r"}
    init = ["--init"] if ledger_missing(repo, env) else []
    args = ["apply", "--env", env, "--repo", str(repo), *init]
    res = run(args, dict(ci_run, GITHUB_RUN_ID=run_id))
    assert res.exit_code == 0, res.output
    return res


def first_apply(origin: Path, dest: Path, env: str = "PRE") -> Path:
    """A run that applies env for the first time and pushes its ledger."""
    repo = clone(origin, dest)
    assert ci(repo, "fetch-ledger", "--init", "PRE", "--init", "PRO").exit_code == 0
    assert ci(repo, "check-fresh", "--env", env, "--commit", head(repo)).exit_code == 0
    apply(repo, env)
    res = ci(repo, "push-ledger", "--env", env)
    assert res.exit_code == 0, res.output
    return repo


# ----------------------------------------------------------------------------- fetch


def test_a_missing_ledger_is_an_error_unless_never_applied(origin: Path, tmp_path: Path) -> None:
    repo = clone(origin, tmp_path / "ci")
    res = ci(repo, "fetch-ledger")
    assert res.exit_code == 2
    assert "no provisioned/PRE ledger branch" in res.output and "--init PRE" in res.output
    # Declared as never applied (the repository variable): planned against an empty ledger.
    res = ci(repo, "fetch-ledger", env={"HESTIA_LEDGER_INIT": "PRE PRO"})
    assert res.exit_code == 0, res.output
    assert "PRE: never applied" in res.output and "PRO: never applied" in res.output


def test_ledgers_become_local_branches_and_a_stale_init_warns(origin: Path, tmp_path: Path) -> None:
    first_apply(origin, tmp_path / "run1")
    repo = clone(origin, tmp_path / "run2")
    assert ci(repo, "fetch-ledger").exit_code == 2  # PRO is still missing
    res = ci(repo, "fetch-ledger", "--init", "PRE,PRO")
    assert res.exit_code == 0, res.output
    assert "remove it from HESTIA_LEDGER_INIT" in res.output
    local = git.Repo(repo).commit("provisioned/PRE").hexsha
    assert local == remote_tip(origin, "PRE")
    # The plan reads the fetched ledger: nothing left to do in PRE.
    plan = run(["plan", "--env", "PRE", "--repo", str(repo)])
    assert plan.exit_code == 0 and "no changes in PRE" in plan.output


def test_fetch_fails_loudly(origin: Path, tmp_path: Path) -> None:
    repo = clone(origin, tmp_path / "ci")
    git.Repo(repo).remotes.origin.set_url(str(tmp_path / "gone.git"))
    res = ci(repo, "fetch-ledger", "--fetch", "--init", "PRE PRO")
    assert res.exit_code == 2 and "cannot fetch from origin" in res.output


def test_a_checkout_without_the_remote_branches_is_an_error(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "lonely")
    git.Repo.init(repo)
    commit_all(repo)
    res = ci(repo, "fetch-ledger", "--init", "PRE PRO")
    assert res.exit_code == 2 and "fetch-depth: 0" in res.output


def test_unknown_init_environment_and_bad_remote(origin: Path, tmp_path: Path) -> None:
    repo = clone(origin, tmp_path / "ci")
    res = ci(repo, "fetch-ledger", "--init", "PROD")
    assert res.exit_code == 2 and "PROD" in res.output
    res = ci(repo, "fetch-ledger", "--remote", "--upload-pack=x")
    assert res.exit_code == 2 and "not a remote name" in res.output


def test_local_ledger_commits_the_remote_lacks_are_not_overwritten(
    origin: Path, tmp_path: Path
) -> None:
    repo = first_apply(origin, tmp_path / "run1")
    # A local ledger commit that was never pushed (the remote still has the older tip).
    edit(
        repo, "integrations/0805690004/solucions-socials-digitals.yaml", "192.0.2.21", "192.0.2.22"
    )
    commit_all(repo)
    apply(repo, "PRE")
    local = git.Repo(repo).commit("provisioned/PRE").hexsha
    res = ci(repo, "fetch-ledger", "--init", "PRO")
    assert res.exit_code == 1 and "has commits origin lacks" in res.output
    assert git.Repo(repo).commit("provisioned/PRE").hexsha == local
    # A local ledger the remote has never seen at all.
    other = clone(origin, tmp_path / "run2")
    git.Repo(other).git.update_ref("refs/heads/provisioned/PRO", head(other))
    res = ci(other, "fetch-ledger", "--init", "PRO")
    assert res.exit_code == 1 and "has none" in res.output


# ----------------------------------------------------------------------------- freshness


def test_an_older_commit_is_refused(origin: Path, tmp_path: Path) -> None:
    old_run = clone(origin, tmp_path / "old")
    old = head(old_run)
    newer = clone(origin, tmp_path / "dev")
    edit(
        newer, "integrations/0805690004/solucions-socials-digitals.yaml", "192.0.2.21", "192.0.2.23"
    )
    commit_all(newer)
    git.Repo(newer).remotes.origin.push("main:main")
    # Re-running the old run: its checkout fetches again and sees the newer main.
    res = ci(old_run, "check-fresh", "--env", "PRE", "--commit", old, "--fetch")
    assert res.exit_code == 1
    assert "is not the tip of main" in res.output and "would undo" in res.output


def test_a_ledger_applied_from_another_branch_is_refused(origin: Path, tmp_path: Path) -> None:
    # Someone applied a side branch (not merged) and pushed its ledger.
    side = clone(origin, tmp_path / "side")
    git.Repo(side).git.checkout("-b", "experiment")
    edit(
        side, "integrations/0805690004/solucions-socials-digitals.yaml", "192.0.2.21", "192.0.2.24"
    )
    commit_all(side)
    assert ci(side, "fetch-ledger", "--init", "PRE PRO").exit_code == 0
    apply(side, "PRE")
    git.Repo(side).remotes.origin.push("experiment:experiment")
    assert ci(side, "push-ledger", "--env", "PRE").exit_code == 0
    # The next run on main sees a ledger whose source is not an ancestor of main.
    run_main = clone(origin, tmp_path / "main-run")
    assert ci(run_main, "fetch-ledger", "--init", "PRO").exit_code == 0
    res = ci(run_main, "check-fresh", "--env", "PRE", "--commit", head(run_main))
    assert res.exit_code == 1 and "diverged" in res.output
    # PRO was never applied: nothing to diverge from.
    res = ci(run_main, "check-fresh", "--env", "PRO", "--commit", head(run_main))
    assert res.exit_code == 0 and "not applied yet" in res.output


def test_fresh_commit_with_its_ledger_passes(origin: Path, tmp_path: Path) -> None:
    first_apply(origin, tmp_path / "run1")
    repo = clone(origin, tmp_path / "run2")
    assert ci(repo, "fetch-ledger", "--init", "PRO").exit_code == 0
    res = ci(repo, "check-fresh", "--env", "PRE", "--commit", head(repo))
    assert res.exit_code == 0 and "is the tip of main" in res.output and "an ancestor" in res.output


def test_a_ledger_commit_without_source_is_refused(origin: Path, tmp_path: Path) -> None:
    repo = clone(origin, tmp_path / "ci")
    r = git.Repo(repo)
    odd = r.index.commit("not a ledger commit", head=False, author=BOT, committer=BOT)
    r.git.update_ref("refs/heads/provisioned/PRE", odd.hexsha)
    res = ci(repo, "check-fresh", "--env", "PRE", "--commit", head(repo))
    assert res.exit_code == 1 and "names no Source-Commit" in res.output


def test_check_fresh_needs_a_full_sha_of_this_repository(origin: Path, tmp_path: Path) -> None:
    repo = clone(origin, tmp_path / "ci")
    assert ci(repo, "check-fresh", "--env", "PRE", "--commit", "main").exit_code == 2
    res = ci(repo, "check-fresh", "--env", "PRE", "--commit", "a" * 40)
    assert res.exit_code == 2 and "is not a commit" in res.output
    # $GITHUB_SHA is the default.
    res = ci(repo, "check-fresh", "--env", "PRE", env={"GITHUB_SHA": head(repo)})
    assert res.exit_code == 0
    lonely = copy_repo(tmp_path / "lonely")
    git.Repo.init(lonely)
    sha = commit_all(lonely)
    res = ci(lonely, "check-fresh", "--env", "PRE", "--commit", sha)
    assert res.exit_code == 2 and "no origin/main" in res.output


# ----------------------------------------------------------------------------- push


def test_push_is_compare_and_swap(origin: Path, tmp_path: Path) -> None:
    first_apply(origin, tmp_path / "run0")
    dev = clone(origin, tmp_path / "dev")
    edit(dev, "integrations/0805690004/solucions-socials-digitals.yaml", "192.0.2.21", "192.0.2.25")
    commit_all(dev)
    git.Repo(dev).remotes.origin.push("main:main")
    # Two runs fetched the same ledger tip and both applied (their commits name their runs).
    a, b = clone(origin, tmp_path / "a"), clone(origin, tmp_path / "b")
    for run_id, repo in enumerate((a, b)):
        assert ci(repo, "fetch-ledger", "--init", "PRO").exit_code == 0
        apply(repo, "PRE", str(run_id))
    assert ci(a, "push-ledger", "--env", "PRE").exit_code == 0
    pushed = remote_tip(origin, "PRE")
    res = ci(b, "push-ledger", "--env", "PRE")
    assert res.exit_code == 1 and "moved since it was fetched" in res.output
    assert remote_tip(origin, "PRE") == pushed  # nothing overwritten
    # Pushing again what is already there changes nothing.
    res = ci(a, "push-ledger", "--env", "PRE")
    assert res.exit_code == 0 and "unchanged" in res.output


def test_push_never_rewrites_the_ledger(origin: Path, tmp_path: Path) -> None:
    repo = first_apply(origin, tmp_path / "run1")
    r = git.Repo(repo)
    fake = r.index.commit("rewritten", head=False, author=BOT, committer=BOT)
    r.git.update_ref("refs/heads/provisioned/PRE", fake.hexsha)
    res = ci(repo, "push-ledger", "--env", "PRE")
    assert res.exit_code == 1 and "never force-pushed" in res.output
    assert remote_tip(origin, "PRE") != fake.hexsha
    assert ci(repo, "push-ledger", "--env", "PRO").exit_code == 2  # nothing to push


def test_push_reports_the_ledger_commit_and_keeps_the_token_out_of_the_config(
    origin: Path, tmp_path: Path
) -> None:
    repo = clone(origin, tmp_path / "ci")
    assert ci(repo, "fetch-ledger", "--init", "PRE PRO").exit_code == 0
    apply(repo, "PRE")
    res = ci(repo, "push-ledger", "--env", "PRE", env={"GITHUB_TOKEN": "tok-test-123"})
    assert res.exit_code == 0, res.output
    tip = remote_tip(origin, "PRE")
    assert f"pushed `{tip}`" in res.output and "first apply" in res.output
    assert "tok-test-123" not in (repo / ".git" / "config").read_text(encoding="utf-8")


def test_push_to_an_unreachable_remote_is_an_environment_error(
    origin: Path, tmp_path: Path
) -> None:
    repo = clone(origin, tmp_path / "ci")
    assert ci(repo, "fetch-ledger", "--init", "PRE PRO").exit_code == 0
    apply(repo, "PRE")
    shutil.rmtree(origin)
    res = ci(repo, "push-ledger", "--env", "PRE")
    assert res.exit_code == 2 and "cannot push" in res.output


def test_auth_environment_sends_the_token_as_basic_credentials() -> None:
    assert gitops.auth_environment(None) == {}
    env = gitops.auth_environment("s3cret")
    assert env["GIT_CONFIG_KEY_0"] == "http.extraheader"
    scheme, value = env["GIT_CONFIG_VALUE_0"].split(": ", 1)[1].split(" ")
    assert scheme == "basic"
    assert base64.b64decode(value) == b"x-access-token:s3cret"


def test_not_a_git_repository(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "plain")
    res = ci(repo, "fetch-ledger")
    assert res.exit_code == 2 and "not a git repository" in res.output


# ----------------------------------------------------------------------------- base catalog


def test_validation_judges_with_the_base_branchs_catalog(origin: Path, tmp_path: Path) -> None:
    repo = clone(origin, tmp_path / "ci")
    # main: Castelldefels is not on the register and has no integration yet.
    shutil.rmtree(repo / "integrations" / "0805690004")
    edit(repo, "catalog/entities.yaml", CASTELLDEFELS_ROW, "")
    base = commit_all(repo, "base")
    # The pull request adds the entity to the register and its integrations in one go.
    git.Repo(repo).git.checkout(gitops_first_commit(repo), "--", "catalog", "integrations")
    commit_all(repo, "pull request")
    own = run(["validate", "--repo", str(repo)])
    assert own.exit_code == 0, own.output
    judged = run(["validate", "--repo", str(repo), "--catalog-from", base, "--format", "text"])
    assert judged.exit_code == 1
    assert "integrations/0805690004/" in judged.output
    bad = run(["validate", "--repo", str(repo), "--catalog-from", "no-such-ref"])
    assert bad.exit_code == 2 and "no catalog/" in bad.output


def gitops_first_commit(repo: Path) -> str:
    return str(list(git.Repo(repo).iter_commits("HEAD"))[-1].hexsha)
