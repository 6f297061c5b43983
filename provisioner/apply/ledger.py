"""The ledger's git edge: one commit per successful apply on the branch `provisioned/<ENV>`.

Its format (branch names, files, message) is provisioner.plan.ledger_format.

Each commit's tree holds the applied APP configuration, the manifest of SharePoint folders and
files (with SHA-256), and the per-integration records; its message names the source commit, the
time and the CI run. Auditors read it with `git log -p provisioned/PRE`.

Commits are written with git's object database and `update-ref <new> <old>` only: the checkout's
working tree, index and HEAD are never touched, and a concurrent writer cannot be clobbered
(the update fails when the branch moved since it was read).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from provisioner.errors import FatalError
from provisioner.plan.ledger_format import (
    MANIFEST_FILE,
    RECORDS_FILE,
    CiRun,
    LedgerView,
    app_file,
    branch,
    ref,
    well_formed,
)

ZERO_SHA = "0" * 40
BOT_NAME = "hestia-provisioner"
BOT_EMAIL = "hestia-provisioner@localhost"


class LedgerMoved(FatalError):
    """The branch changed since the plan read it: another apply ran concurrently (exit 1)."""

    exit_code = 1


def open_repo(repo_root: Path) -> Any:
    import git

    try:
        return git.Repo(repo_root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise FatalError(
            f"{repo_root} is not a git repository: the ledger lives in its branches "
            "(run `git init` and commit the files, or pass --repo)"
        ) from None


def _tip(repo: Any, env: str) -> Any:
    import git

    try:
        return repo.commit(ref(env))
    except (git.BadName, ValueError):
        return None


def _json(data: bytes, name: str, tip: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise FatalError(f"{name} in ledger commit {tip[:12]} is not JSON") from None


def read_ledger(repo: Any, env: str) -> LedgerView:
    commit = _tip(repo, env)
    if commit is None:
        return LedgerView()
    files: dict[str, bytes] = {}
    for blob in commit.tree.blobs:
        files[blob.name] = blob.data_stream.read()
    tip = commit.hexsha
    app = files.get(app_file(env))
    view = LedgerView(
        tip=tip,
        files=files,
        app_config=_json(app, app_file(env), tip) if app is not None else None,
        manifest=_json(files[MANIFEST_FILE], MANIFEST_FILE, tip) if MANIFEST_FILE in files else {},
        records=_json(files[RECORDS_FILE], RECORDS_FILE, tip) if RECORDS_FILE in files else {},
    )
    if not well_formed(view):
        raise FatalError(
            f"the last commit of {branch(env)} ({tip[:12]}) is not a ledger commit this tool "
            "wrote; restore the branch from the remote or from its reflog"
        )
    return view


@dataclass(frozen=True)
class SourceInfo:
    commit: str | None  # HEAD of the checkout, None before the first commit
    dirty: bool  # uncommitted changes under integrations/ or catalog/


def source_info(repo: Any) -> SourceInfo:
    try:
        head = repo.head.commit.hexsha
    except ValueError:
        return SourceInfo(None, True)
    dirty = repo.is_dirty(untracked_files=True, path="integrations") or repo.is_dirty(
        untracked_files=True, path="catalog"
    )
    return SourceInfo(head, bool(dirty))


def ci_run(environ: Mapping[str, str]) -> CiRun:
    """The CI run (URL and actor) from GitHub Actions' variables, when present."""
    server, repo, run = (
        environ.get("GITHUB_SERVER_URL"),
        environ.get("GITHUB_REPOSITORY"),
        environ.get("GITHUB_RUN_ID"),
    )
    url = f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None
    return CiRun(url, environ.get("GITHUB_ACTOR") or None)


def record(
    repo: Any,
    env: str,
    expected_tip: str | None,
    files: Mapping[str, bytes],
    message: str,
    when: datetime,
) -> str:
    """Append one commit holding files to the ledger; the new commit's SHA.

    expected_tip is the tip the plan was made against; LedgerMoved when the branch moved.
    """
    import git
    from git.objects.fun import tree_to_stream
    from gitdb import IStream  # type: ignore[import-untyped]

    odb = repo.odb

    def store(kind: bytes, data: bytes) -> bytes:
        return bytes(odb.store(IStream(kind, len(data), io.BytesIO(data))).binsha)

    try:
        entries = sorted(
            ((store(b"blob", data), 0o100644, name) for name, data in files.items()),
            key=lambda e: e[2],
        )
        buf = io.BytesIO()
        tree_to_stream(entries, buf.write)
        tree = git.Tree(repo, store(b"tree", buf.getvalue()))
        parents = [repo.commit(expected_tip)] if expected_tip else []
        bot = git.Actor(BOT_NAME, BOT_EMAIL)
        new = git.Commit.create_from_tree(
            repo,
            tree,
            message,
            parent_commits=parents,
            head=False,
            author=bot,
            committer=bot,
            author_date=when,
            commit_date=when,
        )
    except OSError as exc:
        raise FatalError(f"cannot write the ledger commit: {exc}") from exc
    try:
        # update-ref with the old value: a concurrent writer makes this fail, never clobbered.
        repo.git.update_ref(
            "-m", f"hestia-provisioner apply {env}", ref(env), new.hexsha, expected_tip or ZERO_SHA
        )
    except git.GitCommandError as exc:
        raise LedgerMoved(
            f"branch {branch(env)} changed while this apply ran (another apply?); nothing was "
            f"recorded. Re-run the apply: it will plan against the new tip. ({exc.stderr.strip()})"
        ) from None
    return str(new.hexsha)
