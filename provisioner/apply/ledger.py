"""The ledger's git edge: one commit per successful apply on the branch `provisioned/<ENV>`.

Its format (branch names, files, message, shapes) is provisioner.plan.ledger_format.

Each commit's tree holds the applied APP configuration, the manifest of SharePoint folders and
files (with SHA-256), and the per-integration records; its message names the source commit, the
time and the CI run. Auditors read it with `git log -p provisioned/PRE`.

Commits are written with git's object database, `git commit-tree` (signed with SSH when the
catalog lists ledger signers) and `update-ref <new> <old>` only: the checkout's working tree,
index and HEAD are never touched, and a concurrent writer cannot be clobbered.

The ledger is believed only after checking it: a first-parent chain of commits written by this
tool (three files, the trailers, each Source-Commit in the checkout's history, a good signature
when signers are listed). A missing branch is not "nothing applied yet" unless the caller says
so (`--init`): otherwise deleting the branch would re-provision everything as new.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from provisioner.errors import FatalError
from provisioner.plan.ledger_format import (
    MANIFEST_FILE,
    RECORDS_FILE,
    REQUIRED_TRAILERS,
    CiRun,
    LedgerStep,
    LedgerView,
    app_file,
    branch,
    parse_trailers,
    ref,
    shape_problem,
)
from provisioner.text import visible

ZERO_SHA = "0" * 40
BOT_NAME = "hestia-provisioner"
BOT_EMAIL = "hestia-provisioner@localhost"
SIGNING_KEY_ENV = "HESTIA_PROVISIONER_SIGNING_KEY"

_SHA = re.compile(r"[0-9a-f]{40}")
# %G? and %GS: signature status and signer; replaced by constants when nothing is verified.
_FIELDS = ("%H", "%P", "%T", "%an", "%ae", "%cn", "%ce", "%cI", "%G?", "%GS", "%B")


class LedgerError(FatalError):
    """The ledger cannot be read, trusted or written: one line and exit 2 (FatalError)."""


class LedgerMoved(LedgerError):
    """The branch changed since the plan read it: another apply ran concurrently (exit 1)."""

    exit_code = 1


class LedgerMissing(LedgerError):
    """The ledger branch does not exist (and the caller did not say this is the first apply)."""


_ref = ref


def ledger_files(env: str) -> frozenset[str]:
    return frozenset({app_file(env), MANIFEST_FILE, RECORDS_FILE})


def open_repo(repo_root: Path) -> Any:
    import git

    try:
        return git.Repo(repo_root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise LedgerError(
            f"{repo_root} is not a git repository: the ledger lives in its branches "
            "(run `git init` and commit the files, or pass --repo)"
        ) from None


def _run(
    repo: Any, args: Sequence[str], stdin: bytes | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """git with arguments this module builds (never a shell); output kept as bytes."""
    exe = shutil.which("git") or "git"
    return subprocess.run(  # noqa: S603 (a fixed program; SHAs and paths as plain arguments)
        [exe, *args],
        cwd=repo.working_dir,
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
    )


def _git(repo: Any, *args: str, config: Sequence[str] = (), check: bool = True) -> str:
    """Run git in repo; output decoded leniently (names in commits are not ours)."""
    options = [part for c in config for part in ("-c", c)]
    done = _run(repo, [*options, *args])
    if check and done.returncode != 0:
        reason = visible(done.stderr.decode("utf-8", "replace").strip())
        raise LedgerError(f"git {args[0]} failed: {reason}")
    return done.stdout.decode("utf-8", "replace")


# ----------------------------------------------------------------------------- the chain


@dataclass(frozen=True)
class ChainCommit:
    """One commit of a ledger branch as git stores it."""

    sha: str
    parents: tuple[str, ...]
    tree: str
    author: str
    author_email: str
    committer: str
    committer_email: str
    committer_date: str
    signature: str  # git's %G?: G good, N none, B bad, U/X/Y/R/E other problems
    signer: str  # the allowed-signers principal that signed, if any
    message: str

    @property
    def trailers(self) -> dict[str, str]:
        return parse_trailers(self.message)


def _ref_target(repo: Any, ref: str) -> tuple[str, str, str] | None:
    """(object, type, symbolic target) of a ref, or None when it does not exist."""
    out = _git(repo, "for-each-ref", "--format=%(objectname)%00%(objecttype)%00%(symref)", ref)
    for line in out.splitlines():
        obj, kind, symref = [*line.split("\0"), "", ""][:3]
        return obj, kind, symref
    # for-each-ref skips a ref whose object is missing: look for the ref itself.
    git_dir = Path(repo.git_dir)
    packed = git_dir / "packed-refs"
    try:
        listed = packed.is_file() and f" {ref}\n" in packed.read_text("utf-8", "replace")
    except OSError:
        listed = False
    if (git_dir / ref).is_file() or listed:
        return "?", "", ""
    return None


def commit_problem(env: str, c: ChainCommit, expected_parent: str | None) -> str | None:
    """Why one commit is not a ledger commit this tool wrote after expected_parent, or None."""
    if expected_parent is None and c.parents:
        return "is not the first commit of a ledger: it has a parent"
    if expected_parent is not None and c.parents != (expected_parent,):
        return "is a merge" if len(c.parents) > 1 else "does not follow the previous ledger commit"
    if (c.author, c.author_email, c.committer, c.committer_email) != (BOT_NAME, BOT_EMAIL) * 2:
        return f"was not written by {BOT_NAME} (author {c.author} <{c.author_email}>)"
    trailers = c.trailers
    missing = [name for name in REQUIRED_TRAILERS if name not in trailers]
    if missing:
        return "lacks the trailer(s) " + ", ".join(missing)
    if trailers["Environment"] != env:
        return f"records environment {trailers['Environment']}, not {env}"
    if not _SHA.fullmatch(trailers["Source-Commit"].split(" ", 1)[0]):
        return "names no source commit"
    try:
        datetime.fromisoformat(trailers["Applied-At"])
    except ValueError:
        return "has an unreadable Applied-At date"
    return None


def log_chain(
    repo: Any, env: str, signers: Sequence[tuple[str, str]] = ()
) -> list[ChainCommit] | None:
    """The first-parent chain of the ledger branch, oldest first, unchecked; None when absent.

    LedgerError when the ref is not a branch pointing to a commit.
    """
    ref = _ref(env)
    target = _ref_target(repo, ref)
    if target is None:
        return None
    obj, kind, symref = target
    if symref or kind != "commit":
        what = f"the ref {symref}" if symref else f"a {kind or 'missing object'}"
        raise LedgerError(
            f"{branch(env)} points to {what} ({obj[:12]}), not to a ledger commit; restore the "
            "branch from the remote or from its reflog"
        )
    fields = list(_FIELDS)
    config: list[str] = []
    allowed: Path | None = None
    if not signers:
        fields[8:10] = ["N", ""]  # nothing to verify: do not make git try
    try:
        if signers:
            allowed = _allowed_signers_file(signers)
            config = ["gpg.format=ssh", f"gpg.ssh.allowedSignersFile={allowed}"]
        out = _git(
            repo,
            "log",
            "-z",
            "--first-parent",
            "--reverse",
            "--format=" + "%x00".join(fields),
            ref,
            config=config,
        )
    finally:
        if allowed is not None:
            allowed.unlink(missing_ok=True)
    # NUL separates fields and commits: no name or message can shift them (git refuses NUL).
    tokens = out.split("\0")
    size = len(fields)
    return [
        ChainCommit(f[0].strip(), tuple(f[1].split()), *f[2:size])
        for f in (tokens[i : i + size] for i in range(0, len(tokens) - size + 1, size))
    ]


def read_chain(
    repo: Any, env: str, signers: Sequence[tuple[str, str]] = ()
) -> list[ChainCommit] | None:
    """The ledger's commits, oldest first, each checked; None when the branch does not exist.

    LedgerError, naming the commit, for anything this tool would not have written: a merge, a
    commit not parented on the previous one, a commit by someone else, missing trailers, other
    files; with signers (principal, public key), a commit without a good signature by one.
    """
    chain = log_chain(repo, env, signers)
    if chain is None:
        return None
    wanted = ledger_files(env)
    principals = {name for name, _key in signers}
    previous: str | None = None
    for c in chain:
        problem = commit_problem(env, c, previous) or _tree_problem(repo, c.tree, wanted)
        if problem is None and signers and not (c.signature == "G" and c.signer in principals):
            problem = (
                "is not signed (catalog/service.yaml lists ledger_signers)"
                if c.signature in ("N", "")
                else f"has no good signature by a listed ledger signer (git status {c.signature})"
            )
        if problem is not None:
            raise LedgerError(
                f"{branch(env)}: commit {c.sha[:12]} {visible(problem)}; it is not the ledger "
                "this tool wrote: restore the branch from the remote or from its reflog"
            )
        previous = c.sha
    if chain:
        _check_remote(repo, env, chain[-1].sha)
    return chain


def tree_of(repo: Any, sha: str) -> Any:
    """A git tree object by its SHA (gitpython needs a path for its entries: the root's)."""
    import git

    return git.Tree(repo, bytes.fromhex(sha), 0o040000, "")


def _tree_problem(repo: Any, tree: str, wanted: frozenset[str]) -> str | None:
    try:
        entries = [(e.name, e.mode, e.type) for e in tree_of(repo, tree)]
    except Exception:  # a missing or damaged tree object
        return "has a tree git cannot read"
    if {name for name, _m, _t in entries} != wanted or any(
        kind != "blob" or mode != 0o100644 for _n, mode, kind in entries
    ):
        return "holds other files than " + ", ".join(sorted(wanted))
    return None


def _check_remote(repo: Any, env: str, tip: str) -> None:
    """A remote-tracking copy of the ledger must be the local ledger or one of its ancestors."""
    out = _git(repo, "for-each-ref", "--format=%(refname)%00%(objectname)", "refs/remotes/")
    suffix = "/" + branch(env)
    for line in out.splitlines():
        name, _, remote_tip = line.partition("\0")
        if not name.endswith(suffix) or remote_tip == tip:
            continue
        done = _run(repo, ["merge-base", "--is-ancestor", remote_tip, tip])
        if done.returncode != 0:
            raise LedgerError(
                f"{branch(env)} ({tip[:12]}) does not contain {name.removeprefix('refs/remotes/')}"
                f" ({remote_tip[:12]}): the local ledger was moved or is behind; fetch the "
                "ledger branches again (git fetch origin '+provisioned/*:provisioned/*')"
            )


def _allowed_signers_file(signers: Sequence[tuple[str, str]]) -> Path:
    """git's allowed-signers file for SSH signatures, in a private temporary file."""
    fd, name = tempfile.mkstemp(prefix="hestia-allowed-signers-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for principal, key in signers:
            out.write(f'{principal} namespaces="git" {key}\n')
    return Path(name)


def head_ancestors(repo: Any) -> frozenset[str]:
    """Every commit of the checkout's history (empty before the first commit)."""
    return frozenset(_git(repo, "rev-list", "HEAD", check=False).split())


def _json(data: bytes, name: str, tip: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise LedgerError(f"{name} in ledger commit {tip[:12]} is not JSON") from None


def read_ledger(
    repo: Any,
    env: str,
    *,
    signers: Sequence[tuple[str, str]] = (),
    ancestors: frozenset[str] | None = None,
) -> LedgerView | None:
    """What the ledger's last commit holds, after checking the whole chain; None when absent.

    ancestors: the commits of the checkout's history; every Source-Commit must be one of them.
    """
    chain = read_chain(repo, env, signers)
    if chain is None:
        return None
    if not chain:
        return LedgerView()
    known = head_ancestors(repo) if ancestors is None else ancestors
    for c in chain:
        source = c.trailers["Source-Commit"].split(" ", 1)[0]
        if source not in known:
            raise LedgerError(
                f"{branch(env)}: commit {c.sha[:12]} was applied from {source[:12]}, which is "
                "not in this checkout's history: the ledger belongs to other sources or main was "
                "rewritten; check out the right branch or restore the ledger"
            )
    tip = chain[-1]
    files = {blob.name: blob.data_stream.read() for blob in tree_of(repo, tip.tree).blobs}
    view = LedgerView(
        tip=tip.sha,
        files=files,
        app_config=_json(files[app_file(env)], app_file(env), tip.sha),
        manifest=_json(files[MANIFEST_FILE], MANIFEST_FILE, tip.sha),
        records=_json(files[RECORDS_FILE], RECORDS_FILE, tip.sha),
        steps=tuple(LedgerStep(c.sha, c.trailers["Applied-At"]) for c in chain),
    )
    problem = shape_problem(view)
    if problem is not None:
        raise LedgerError(
            f"{branch(env)}: commit {tip.sha[:12]} holds {visible(problem)}, which this tool "
            "never writes; restore the branch from the remote or from its reflog"
        )
    return view


def app_config_at(repo: Any, env: str, commit: str) -> Any:
    """The APP configuration a (checked) ledger commit holds."""
    tree = repo.commit(commit).tree
    return _json(tree[app_file(env)].data_stream.read(), app_file(env), commit)


# ----------------------------------------------------------------------------- writing


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


def _lock_problem(repo: Any, env: str, stderr: str) -> str | None:
    """A ref lock left behind (a killed git or apply), told apart from a concurrent apply."""
    lock = Path(repo.git_dir) / (_ref(env) + ".lock")
    if ".lock" in stderr and lock.exists():
        return (
            f"the ledger branch is locked: {lock} exists. If no apply or git command is "
            "running, an interrupted one left it behind: delete that file and run apply again"
        )
    return None


def record(
    repo: Any,
    env: str,
    expected_tip: str | None,
    files: Mapping[str, bytes],
    message: str,
    when: datetime,
    signing_key: Path | None = None,
) -> str:
    """Append one commit holding files to the ledger; the new commit's SHA.

    expected_tip is the tip the plan was made against; LedgerMoved when the branch moved.
    signing_key: an SSH private key file; the commit is signed with it (git gpg.format=ssh).
    """
    from gitdb import IStream  # type: ignore[import-untyped]

    odb = repo.odb

    def store(kind: bytes, data: bytes) -> str:
        return str(odb.store(IStream(kind, len(data), io.BytesIO(data))).hexsha.decode())

    from git.objects.fun import tree_to_stream

    try:
        entries = sorted(
            ((bytes.fromhex(store(b"blob", data)), 0o100644, name) for name, data in files.items()),
            key=lambda e: e[2],
        )
        buf = io.BytesIO()
        tree_to_stream(entries, buf.write)
        tree = store(b"tree", buf.getvalue())
    except OSError as exc:
        raise LedgerError(f"cannot write the ledger commit: {exc}") from exc
    stamp = when.isoformat(timespec="seconds")
    environ = {
        **os.environ,
        "GIT_AUTHOR_NAME": BOT_NAME,
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": BOT_NAME,
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_DATE": stamp,
    }
    args: list[str] = []
    if signing_key is not None:
        args += ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signing_key}"]
    args += ["commit-tree", tree, "-F", "-"]
    args += ["-p", expected_tip] if expected_tip else []
    if signing_key is not None:
        args.append("-S")
    made = _run(repo, args, stdin=message.encode("utf-8"), env=environ)
    if made.returncode != 0:
        reason = visible(made.stderr.decode("utf-8", "replace").strip())
        raise LedgerError(f"cannot write the ledger commit: {reason}")
    new = made.stdout.decode().strip()
    # update-ref with the old value: a concurrent writer makes this fail, never clobbered.
    old = expected_tip or ZERO_SHA
    done = _run(repo, ["update-ref", "-m", f"hestia-provisioner apply {env}", _ref(env), new, old])
    if done.returncode != 0:
        stderr = visible(done.stderr.decode("utf-8", "replace").strip())
        locked = _lock_problem(repo, env, stderr)
        if locked is not None:
            raise LedgerError(locked + "; nothing was recorded")
        raise LedgerMoved(
            f"branch {branch(env)} changed while this apply ran (another apply?); nothing was "
            f"recorded. Re-run the apply: it will plan against the new tip. ({stderr})"
        )
    return new
