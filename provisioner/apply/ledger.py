"""The ledger: one commit per successful apply on the branch `provisioned/<ENV>`.

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
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from provisioner.plan.diff import MANIFEST_FILE, RECORDS_FILE, LedgerView, app_file

ZERO_SHA = "0" * 40
BOT_NAME = "hestia-provisioner"
BOT_EMAIL = "hestia-provisioner@localhost"


class LedgerError(Exception):
    """The ledger cannot be read or written (no git repository, broken branch...)."""


class LedgerMoved(LedgerError):
    """The branch changed since the plan read it: another apply ran concurrently."""


def branch(env: str) -> str:
    return f"provisioned/{env}"


def _ref(env: str) -> str:
    return f"refs/heads/{branch(env)}"


def open_repo(repo_root: Path) -> Any:
    import git

    try:
        return git.Repo(repo_root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise LedgerError(
            f"{repo_root} is not a git repository: the ledger lives in its branches "
            "(run `git init` and commit the files, or pass --repo)"
        ) from None


def _tip(repo: Any, env: str) -> Any:
    import git

    try:
        return repo.commit(_ref(env))
    except (git.BadName, ValueError):
        return None


def _json(data: bytes, name: str, tip: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise LedgerError(f"{name} in ledger commit {tip[:12]} is not JSON") from None


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
    if not _well_formed(view):
        raise LedgerError(
            f"the last commit of {branch(env)} ({tip[:12]}) is not a ledger commit this tool "
            "wrote; restore the branch from the remote or from its reflog"
        )
    return view


def _well_formed(view: LedgerView) -> bool:
    """The shapes the planner relies on (the ledger is ours, but a branch can be edited)."""
    cfg = view.app_config
    if cfg is not None and not (
        isinstance(cfg, dict)
        and isinstance(cfg.get("ip_allowlist"), list)
        and isinstance(cfg.get("permissions"), list)
        and all(isinstance(e, dict) for e in cfg["ip_allowlist"] + cfg["permissions"])
    ):
        return False
    if not isinstance(view.manifest, dict) or not isinstance(
        view.manifest.get("folders", {}), dict
    ):
        return False
    return isinstance(view.records, dict) and all(
        isinstance(r, dict) for r in view.records.values()
    )


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


def ci_run(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(URL of the CI run, actor) from GitHub Actions' variables, when present."""
    server, repo, run = (
        environ.get("GITHUB_SERVER_URL"),
        environ.get("GITHUB_REPOSITORY"),
        environ.get("GITHUB_RUN_ID"),
    )
    url = f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None
    return url, environ.get("GITHUB_ACTOR") or None


def commit_message(
    env: str,
    summary: str,
    details: list[str],
    source: SourceInfo,
    when: datetime,
    store: str,
    environ: Mapping[str, str] | None = None,
) -> str:
    environ = os.environ if environ is None else environ
    url, actor = ci_run(environ)
    commit = source.commit or "none (no commit yet)"
    if source.dirty and source.commit:
        commit += " (with uncommitted changes in integrations/ or catalog/)"
    lines = [f"Provision {env}: {summary}", ""]
    lines += details
    lines += [
        "",
        f"Source-Commit: {commit}",
        f"Applied-At: {when.isoformat(timespec='seconds')}",
        f"Environment: {env}",
        f"Store: {store}",
        f"CI-Run: {url or 'none (run outside CI)'}",
    ]
    if actor:
        lines.append(f"CI-Actor: {actor}")
    return "\n".join(lines) + "\n"


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
        raise LedgerError(f"cannot write the ledger commit: {exc}") from exc
    try:
        # update-ref with the old value: a concurrent writer makes this fail, never clobbered.
        repo.git.update_ref(
            "-m", f"hestia-provisioner apply {env}", _ref(env), new.hexsha, expected_tip or ZERO_SHA
        )
    except git.GitCommandError as exc:
        raise LedgerMoved(
            f"branch {branch(env)} changed while this apply ran (another apply?); nothing was "
            f"recorded. Re-run the apply: it will plan against the new tip. ({exc.stderr.strip()})"
        ) from None
    return str(new.hexsha)
