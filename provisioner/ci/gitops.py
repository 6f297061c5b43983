"""Git at the edge of CI: the ledger from the fetched refs, the freshness check, the push.

The workflows call these through `hestia-provisioner ci ...` so that every decision that keeps an
apply safe is tested code: a run applies only the tip of main, never from a ledger that went
another way, and publishes its ledger commit by compare-and-swap, never by force.

Two kinds of failure: CiEnvironmentError (exit 2: the job cannot even judge, e.g. refs were not
fetched) and Refused (exit 1: judged, and the answer is no).
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.errors import FatalError
from provisioner.plan.ledger_format import branch
from provisioner.vocabulary import ENVIRONMENT_NAMES

DEFAULT_REMOTE = "origin"
DEFAULT_BRANCH = "main"
SOURCE_TRAILER = re.compile(r"^Source-Commit: ([0-9a-f]{40})\b", re.MULTILINE)
_SHA = re.compile(r"[0-9a-f]{40}")


class CiEnvironmentError(FatalError):
    """The check cannot be made (no repository, refs not fetched, git failed): exit 2."""


class Refused(Exception):
    """Checked, and refused (stale commit, diverged ledger, remote moved): exit 1."""


def open_repo(repo_root: Path) -> Any:
    import git

    try:
        return git.Repo(repo_root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise CiEnvironmentError(f"{repo_root} is not a git repository") from None


def _resolve(repo: Any, ref: str) -> str | None:
    """The commit a ref names, or None when it does not exist."""
    import git

    try:
        return str(repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}"))
    except git.GitCommandError:
        return None


def _is_ancestor(repo: Any, older: str, newer: str) -> bool:
    import git

    try:
        repo.git.merge_base("--is-ancestor", older, newer)
    except git.GitCommandError:
        return False
    return True


def remote_ledger_ref(env: str, remote: str = DEFAULT_REMOTE) -> str:
    return f"refs/remotes/{remote}/{branch(env)}"


def _local_ref(env: str) -> str:
    return f"refs/heads/{branch(env)}"


def fetch(repo: Any, remote: str = DEFAULT_REMOTE) -> None:
    """Fetch main and the ledger branches into the remote-tracking refs; fails loudly."""
    import git

    try:
        repo.git.fetch(
            "--no-tags",
            "--prune",
            remote,
            f"+refs/heads/{DEFAULT_BRANCH}:refs/remotes/{remote}/{DEFAULT_BRANCH}",
            f"+refs/heads/provisioned/*:refs/remotes/{remote}/provisioned/*",
        )
    except git.GitCommandError as exc:
        raise CiEnvironmentError(
            f"cannot fetch from {remote}: {exc.stderr.strip()}; nothing was planned or applied"
        ) from None


@dataclass(frozen=True)
class LedgerState:
    env: str
    tip: str | None  # the ledger commit, None when the environment was never applied
    note: str


def parse_init(values: Collection[str]) -> set[str]:
    """Environments named by --init options or HESTIA_LEDGER_INIT (space or comma separated)."""
    names = {n for v in values for n in re.split(r"[\s,]+", v) if n}
    unknown = sorted(names - set(ENVIRONMENT_NAMES))
    if unknown:
        raise CiEnvironmentError(
            f"--init names unknown environment(s) {', '.join(unknown)}: use "
            + " or ".join(ENVIRONMENT_NAMES)
        )
    return names


def local_ledgers(
    repo: Any, init: Collection[str] = (), remote: str = DEFAULT_REMOTE
) -> list[LedgerState]:
    """Make local provisioned/<ENV> branches from the refs fetched from remote.

    A ledger missing on the remote is an error, unless init names its environment (it was never
    applied: the first apply creates it). A local branch the remote lacks commits of is refused,
    never overwritten.
    """
    if _resolve(repo, f"refs/remotes/{remote}/{DEFAULT_BRANCH}") is None:
        raise CiEnvironmentError(
            f"no {remote}/{DEFAULT_BRANCH} in this checkout: the remote's branches were not "
            "fetched (check out with fetch-depth: 0, or pass --fetch)"
        )
    states = []
    for env in ENVIRONMENT_NAMES:
        remote_tip = _resolve(repo, remote_ledger_ref(env, remote))
        local_tip = _resolve(repo, _local_ref(env))
        if remote_tip is None:
            if env not in init:
                raise CiEnvironmentError(
                    f"{remote} has no {branch(env)} ledger branch. If {env} has never been "
                    f"applied, say so with --init {env} (HESTIA_LEDGER_INIT); otherwise restore "
                    "the branch: planning against an empty ledger would provision everything "
                    "again"
                )
            if local_tip is not None:
                raise Refused(
                    f"local {branch(env)} exists but {remote} has none: push or delete it first"
                )
            states.append(LedgerState(env, None, f"{env}: never applied (first apply, --init)"))
            continue
        if local_tip not in (None, remote_tip) and not _is_ancestor(
            repo, str(local_tip), remote_tip
        ):
            raise Refused(
                f"local {branch(env)} ({str(local_tip)[:12]}) has commits {remote} lacks; "
                "push them or reset the local branch to the remote's"
            )
        repo.git.update_ref(
            "-m", f"hestia-provisioner: ledger from {remote}", _local_ref(env), remote_tip
        )
        note = f"{env}: ledger {remote_tip}"
        if env in init:
            note += (
                f" (warning: --init {env} is no longer needed: {env} has been applied; "
                "remove it from HESTIA_LEDGER_INIT)"
            )
        states.append(LedgerState(env, remote_tip, note))
    return states


def source_commit(repo: Any, ledger_tip: str) -> str | None:
    """The Source-Commit trailer of a ledger commit."""
    match = SOURCE_TRAILER.search(repo.commit(ledger_tip).message)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Freshness:
    commit: str
    main_tip: str
    ledger_tip: str | None
    ledger_source: str | None

    def text(self, env: str) -> str:
        ledger = (
            f"ledger {branch(env)} at {self.ledger_tip[:12]}, applied from "
            f"{(self.ledger_source or '?')[:12]}"
            if self.ledger_tip
            else f"{branch(env)} not applied yet"
        )
        return f"fresh: {self.commit[:12]} is the tip of {DEFAULT_BRANCH}; {ledger} (an ancestor)"


def check_fresh(
    repo: Any,
    env: str,
    commit: str,
    remote: str = DEFAULT_REMOTE,
    main: str = DEFAULT_BRANCH,
) -> Freshness:
    """Refuse unless commit is the tip of remote's main and the ledger was applied from an
    ancestor of it: re-running an old run, or a run started from another branch, must not undo
    what a newer merge applied."""
    full = _resolve(repo, commit)
    if full is None:
        raise CiEnvironmentError(f"{commit} is not a commit of this repository")
    tip = _resolve(repo, f"refs/remotes/{remote}/{main}")
    if tip is None:
        raise CiEnvironmentError(
            f"no {remote}/{main} in this checkout: fetch the remote's branches first"
        )
    if full != tip:
        raise Refused(
            f"{full[:12]} is not the tip of {main} ({tip[:12]}): a newer commit was merged, "
            "and its own run applies it. Nothing was applied: applying older content would undo "
            "the newer change"
        )
    ledger_tip = _resolve(repo, _local_ref(env))
    if ledger_tip is None:
        return Freshness(full, tip, None, None)
    source = source_commit(repo, ledger_tip)
    if source is None or _resolve(repo, source) is None:
        raise Refused(
            f"the last commit of {branch(env)} ({ledger_tip[:12]}) names no Source-Commit of this "
            "repository; restore the ledger branch before applying"
        )
    if not _is_ancestor(repo, source, full):
        raise Refused(
            f"{branch(env)} was applied from {source[:12]}, which is not an ancestor of "
            f"{full[:12]}: the ledger and {main} diverged (an apply from another branch?). "
            "Nothing was applied; find out how before going on"
        )
    return Freshness(full, tip, ledger_tip, source)


def auth_environment(token: str | None) -> dict[str, str]:
    """Git configuration, through the environment of one git process, sending token as HTTP
    basic credentials: it never lands in .git/config nor on a command line."""
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }


@dataclass(frozen=True)
class Pushed:
    env: str
    commit: str
    previous: str | None
    pushed: bool  # False when the remote already had it

    def markdown(self) -> str:
        if not self.pushed:
            return f"Ledger `{branch(self.env)}`: unchanged at `{self.commit}`."
        before = f"`{self.previous}`" if self.previous else "nothing (first apply)"
        return f"Ledger `{branch(self.env)}`: pushed `{self.commit}` (it was {before})."


def push_ledger(
    repo: Any,
    env: str,
    remote: str = DEFAULT_REMOTE,
    environ: Mapping[str, str] | None = None,
) -> Pushed:
    """Push provisioned/<ENV> if the remote still holds what was fetched (compare-and-swap).

    Never forced: the new tip must descend from the fetched one, and git's lease makes the remote
    refuse the update when another apply pushed in between.
    """
    import git

    local = _resolve(repo, _local_ref(env))
    if local is None:
        raise CiEnvironmentError(f"no local {branch(env)}: nothing to push (did apply run?)")
    expected = _resolve(repo, remote_ledger_ref(env, remote))
    if expected == local:
        return Pushed(env, local, expected, pushed=False)
    if expected is not None and not _is_ancestor(repo, expected, local):
        raise Refused(
            f"local {branch(env)} ({local[:12]}) does not descend from {remote}'s "
            f"({expected[:12]}); the ledger is append-only and is never force-pushed"
        )
    ref = _local_ref(env)
    try:
        repo.git.push(
            "--atomic",
            "--porcelain",
            "--no-verify",
            f"--force-with-lease={ref}:{expected or ''}",
            remote,
            f"{local}:{ref}",
            env=dict(environ or {}),
        )
    except git.GitCommandError as exc:
        stderr = str(exc.stderr or "") + str(exc.stdout or "")
        if "stale info" in stderr or "rejected" in stderr or "fetch first" in stderr:
            raise Refused(
                f"{remote}'s {branch(env)} moved since it was fetched (another apply pushed); "
                f"nothing was overwritten. Re-run the workflow: it plans against the new tip"
            ) from None
        raise CiEnvironmentError(
            f"cannot push {branch(env)} to {remote}: {stderr.strip()}"
        ) from None
    repo.git.update_ref(remote_ledger_ref(env, remote), local)
    return Pushed(env, local, expected, pushed=True)


@contextmanager
def catalog_at(repo: Any, ref: str, folder: str = "catalog") -> Iterator[Path]:
    """A temporary folder holding folder/ as it is at ref (e.g. the base branch's catalog)."""
    import git

    try:
        tree = repo.commit(ref).tree / folder
    except (git.BadName, ValueError, KeyError, git.GitCommandError):
        raise CiEnvironmentError(f"{ref} has no {folder}/ (is the base branch fetched?)") from None
    dest = Path(tempfile.mkdtemp(prefix="hestia-catalog-"))
    try:
        for item in tree.traverse():
            if item.type != "blob" or item.mode == 0o120000:  # links: not followed
                continue
            target = dest / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.data_stream.read())
        yield dest
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def is_sha(text: str) -> bool:
    return bool(_SHA.fullmatch(text))
