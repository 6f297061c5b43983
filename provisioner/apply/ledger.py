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
from functools import cached_property
from pathlib import Path
from typing import Any

from provisioner.errors import FatalError
from provisioner.plan.ledger_format import (
    BRANCH_PREFIX,
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

    @cached_property
    def trailers(self) -> dict[str, str]:
        return parse_trailers(self.message)


# ----------------------------------------------------------------------------- reading
# Reading runs git itself, in a handful of processes: where the checkout is, its history and
# the ledger refs (started before validation, so git works on one core while Python validates
# on the other), one `git log` per ledger branch, and one `git cat-file --batch` for every tree
# of a chain and the files of its tip. gitpython would import for longer than that takes and
# start helper processes of its own.

_REF_FIELDS = "%(refname)%00%(objectname)%00%(objecttype)%00%(symref)"
#: The refs the ledger's checks look at: the ledger branches and every remote-tracking copy.
_REF_PATTERNS = ("refs/heads/" + BRANCH_PREFIX.rstrip("/"), "refs/remotes")


@dataclass(frozen=True)
class Checkout:
    """A git checkout as the ledger's readers need it: where to run git, where its refs are."""

    working_dir: str
    git_dir: str  # the common git directory: branches live there, also for a linked worktree


class _Started:
    """A git command started in the background; its output is collected when first needed."""

    def __init__(self, cwd: Path | str, args: Sequence[str]) -> None:
        self._done: subprocess.CompletedProcess[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = subprocess.Popen(  # noqa: S603 (a fixed program, our own arguments)
                [shutil.which("git") or "git", *args],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:  # no git, or no such folder: said when the result is asked for
            self._done = subprocess.CompletedProcess(list(args), 128, b"", str(exc).encode())

    def result(self) -> subprocess.CompletedProcess[bytes]:
        if self._done is None:
            assert self._proc is not None
            out, err = self._proc.communicate()
            self._done = subprocess.CompletedProcess(
                self._proc.args, self._proc.returncode, out, err
            )
        return self._done


def _not_a_repository(repo_root: Path, reason: str = "") -> LedgerError:
    why = f" ({visible(reason)})" if reason else ""
    return LedgerError(
        f"{repo_root} is not a git repository{why}: the ledger lives in its branches "
        "(run `git init` and commit the files, or pass --repo)"
    )


class LedgerReader:
    """Reads and checks the ledger branches of the checkout at repo_root.

    Constructing it starts what needs neither the catalog nor the validation (where the
    checkout is, its history, the refs); nothing is judged until a method asks. close() (or
    `with`) collects whatever was started and not needed.
    """

    def __init__(self, repo_root: Path, *, ancestors: frozenset[str] | None = None) -> None:
        self.repo_root = repo_root
        self._where = _Started(
            repo_root,
            ["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir"],
        )
        self._history = None if ancestors is not None else _Started(repo_root, ["rev-list", "HEAD"])
        self._listing = _Started(
            repo_root, ["for-each-ref", f"--format={_REF_FIELDS}", *_REF_PATTERNS]
        )
        self._checkout: Checkout | None = None
        self._ancestors = ancestors
        self._refs: dict[str, tuple[str, str, str]] | None = None
        self._trees: dict[str, list[tuple[int, str, str]] | None] = {}  # commit -> its tree
        self._tips: dict[str, dict[str, tuple[str, str, bytes] | None]] = {}  # tip -> its files

    def __enter__(self) -> LedgerReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        for started in (self._where, self._history, self._listing):
            if started is not None:
                started.result()

    def checkout(self) -> Checkout:
        """The checkout; LedgerError when repo_root is not the top of a git checkout."""
        if self._checkout is None:
            done = self._where.result()
            lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
            if done.returncode != 0 or len(lines) != 2:
                reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
                told = reason[0] if reason else ""
                raise _not_a_repository(
                    self.repo_root, "" if "not a git repository" in told else told
                )
            top, common = lines
            try:
                same = Path(top).resolve() == self.repo_root.resolve()
            except OSError:
                same = False
            if not same:  # inside another checkout: its ledger is not this folder's
                raise _not_a_repository(self.repo_root)
            self._checkout = Checkout(top, common)
        return self._checkout

    def ancestors(self) -> frozenset[str]:
        """Every commit of the checkout's history (empty before the first commit)."""
        if self._ancestors is None:
            self.checkout()
            assert self._history is not None
            out = self._history.result().stdout  # nothing before the first commit
            self._ancestors = frozenset(out.decode("ascii", "replace").split())
        return self._ancestors

    def refs(self) -> dict[str, tuple[str, str, str]]:
        """ref name -> (object, type, symbolic target) of the ledger branches and remote copies."""
        if self._refs is None:
            self.checkout()
            done = self._listing.result()
            if done.returncode != 0:
                reason = visible(done.stderr.decode("utf-8", "replace").strip())
                raise LedgerError(f"git for-each-ref failed: {reason}")
            self._refs = _parse_refs(done.stdout.decode("utf-8", "replace"))
        return self._refs

    def chain(
        self, env: str, signers: Sequence[tuple[str, str]] = (), *, files: bool = False
    ) -> list[ChainCommit] | None:
        """The ledger's commits, oldest first, each checked; None when the branch does not exist.

        LedgerError, naming the commit, for anything this tool would not have written: a merge,
        a commit not parented on the previous one, a commit by someone else, missing trailers,
        other files; with signers (principal, public key), a commit without a good signature by
        one. files: also read the tip's files, in the same git process as the trees.
        """
        repo = self.checkout()
        target = _ref_target(repo, _ref(env), self.refs())
        if target is None:
            return None
        chain = _log(repo, env, target, signers)
        unread = [c for c in chain if c.sha not in self._trees]
        names = sorted(ledger_files(env)) if files and chain else []
        objects = _cat_objects(
            repo, [c.tree for c in unread] + [f"{chain[-1].tree}:{name}" for name in names]
        )
        self._trees.update(_trees(unread, objects[: len(unread)]))
        if names:
            self._tips[chain[-1].sha] = dict(zip(names, objects[len(unread) :], strict=True))
        _check_chain(env, chain, self._trees, signers)
        if chain:
            _check_remote(repo, env, chain[-1].sha, self.refs())
        return chain

    def read(
        self,
        env: str,
        signers: Sequence[tuple[str, str]] = (),
        checked: Mapping[str, str] | None = None,
    ) -> LedgerView | None:
        """What the ledger's last commit holds, after checking the whole chain (see read_ledger).

        checked: file name -> git object id of documents already checked (a kept plan's): the
        tip's file with that id is not checked again (the same bytes).
        """
        chain = self.chain(env, signers, files=True)
        if chain is None:
            return None
        if not chain:
            return LedgerView()
        known = self.ancestors()
        for c in chain:
            source = c.trailers["Source-Commit"].split(" ", 1)[0]
            if source not in known:
                raise LedgerError(
                    f"{branch(env)}: commit {c.sha[:12]} was applied from {source[:12]}, which "
                    "is not in this checkout's history: the ledger belongs to other sources or "
                    "main was rewritten; check out the right branch or restore the ledger"
                )
        tip = chain[-1]
        files: dict[str, bytes] = {}
        blobs: dict[str, str] = {}
        for name, blob in self._tips[tip.sha].items():
            if blob is None or blob[1] != "blob":
                raise LedgerError(
                    f"{branch(env)}: commit {tip.sha[:12]} holds {visible(name)}, which git "
                    "cannot read; restore the branch from the remote or from its reflog"
                )
            files[name] = blob[2]
            blobs[name] = blob[0]
        view = LedgerView(
            tip=tip.sha,
            files=files,
            app_config=_json(files[app_file(env)], app_file(env), tip.sha),
            manifest=_json(files[MANIFEST_FILE], MANIFEST_FILE, tip.sha),
            records=_json(files[RECORDS_FILE], RECORDS_FILE, tip.sha),
            steps=tuple(LedgerStep(c.sha, c.trailers["Applied-At"]) for c in chain),
            blobs=blobs,
        )
        same = {name for name, oid in (checked or {}).items() if blobs.get(name) == oid}
        problem = shape_problem(
            view, app_config=app_file(env) not in same, records=RECORDS_FILE not in same
        )
        if problem is not None:
            raise LedgerError(
                f"{branch(env)}: commit {tip.sha[:12]} holds {visible(problem)}, which this "
                "tool never writes; restore the branch from the remote or from its reflog"
            )
        return view

    def app_configs(self, env: str, commits: Sequence[str]) -> list[Any]:
        """The APP configurations of (checked) ledger commits, each distinct file read once."""
        name = app_file(env)
        wanted: dict[str, str] = {}  # commit -> blob
        for commit in commits:
            for _mode, entry, oid in self._trees.get(commit) or []:
                if entry == name:
                    wanted[commit] = oid
        distinct = sorted(set(wanted.values()))
        read = dict(zip(distinct, _cat_objects(self.checkout(), distinct), strict=True))
        parsed: dict[str, Any] = {}
        out = []
        for commit in commits:
            blob = read.get(wanted.get(commit, ""))
            if blob is None:
                raise LedgerError(f"{name} in ledger commit {commit[:12]} cannot be read")
            if blob[0] not in parsed:
                parsed[blob[0]] = _json(blob[2], name, commit)
            out.append(parsed[blob[0]])
        return out


def _parse_refs(listing: str) -> dict[str, tuple[str, str, str]]:
    refs: dict[str, tuple[str, str, str]] = {}
    for line in listing.splitlines():
        name, obj, kind, symref = [*line.split("\0"), "", "", ""][:4]
        refs.setdefault(name, (obj, kind, symref))
    return refs


def _ref_target(
    repo: Any, ref: str, refs: Mapping[str, tuple[str, str, str]]
) -> tuple[str, str, str] | None:
    """(object, type, symbolic target) of a ref, or None when it does not exist."""
    if ref in refs:
        return refs[ref]
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


def _list_refs(repo: Any) -> dict[str, tuple[str, str, str]]:
    return _parse_refs(_git(repo, "for-each-ref", f"--format={_REF_FIELDS}", *_REF_PATTERNS))


def _log(
    repo: Any, env: str, target: tuple[str, str, str], signers: Sequence[tuple[str, str]]
) -> list[ChainCommit]:
    """The first-parent chain from target (a ref's), oldest first, unchecked.

    LedgerError when the ref is not a branch pointing to a commit.
    """
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
        # The object the ref was read at, not the ref: one consistent snapshot of the branch.
        out = _git(
            repo,
            "log",
            "-z",
            "--first-parent",
            "--reverse",
            "--format=" + "%x00".join(fields),
            obj,
            "--",
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


def log_chain(
    repo: Any, env: str, signers: Sequence[tuple[str, str]] = ()
) -> list[ChainCommit] | None:
    """The first-parent chain of the ledger branch, oldest first, unchecked; None when absent.

    LedgerError when the ref is not a branch pointing to a commit.
    """
    target = _ref_target(repo, _ref(env), _list_refs(repo))
    if target is None:
        return None
    return _log(repo, env, target, signers)


def _cat_objects(repo: Any, oids: Sequence[str]) -> list[tuple[str, str, bytes] | None]:
    """(object id, type, content) of each object, None for one git cannot give.

    One `git cat-file --batch` for them all. A damaged object stops git: it and those after it
    are None.
    """
    if not oids:
        return []
    done = _run(repo, ["cat-file", "--batch"], stdin=("\n".join(oids) + "\n").encode("ascii"))
    out, at = done.stdout, 0
    found: list[tuple[str, str, bytes] | None] = []
    for _oid in oids:
        end = out.find(b"\n", at)
        header = out[at:end].split(b" ") if end >= 0 else []
        if len(header) != 3 or not header[2].isdigit():  # "<oid> missing", or git stopped
            found.append(None)
            at = end + 1 if end >= 0 else len(out)
            continue
        start = end + 1
        size = int(header[2])
        if start + size > len(out):
            found.append(None)
            at = len(out)
            continue
        found.append(
            (header[0].decode("ascii"), header[1].decode("ascii"), out[start : start + size])
        )
        at = start + size + 1  # the content is followed by a newline
    return found


def _tree_entries(data: bytes, oid_size: int) -> list[tuple[int, str, str]] | None:
    """(mode, name, object id) of a raw git tree's entries; None when it is malformed."""
    entries: list[tuple[int, str, str]] = []
    at = 0
    while at < len(data):
        space = data.find(b" ", at)
        nul = data.find(b"\0", space + 1) if space >= 0 else -1
        if space < 0 or nul < 0 or nul + 1 + oid_size > len(data):
            return None
        try:
            mode = int(data[at:space], 8)
        except ValueError:
            return None
        name = data[space + 1 : nul].decode("utf-8", "replace")
        entries.append((mode, name, data[nul + 1 : nul + 1 + oid_size].hex()))
        at = nul + 1 + oid_size
    return entries


def _trees(
    chain: Sequence[ChainCommit], objects: Sequence[tuple[str, str, bytes] | None]
) -> dict[str, list[tuple[int, str, str]] | None]:
    """commit -> the entries of its tree, None when git could not read it as a tree."""
    trees: dict[str, list[tuple[int, str, str]] | None] = {}
    for c, obj in zip(chain, objects, strict=True):
        if obj is None or obj[1] != "tree" or _SHA_ANY.fullmatch(obj[0]) is None:
            trees[c.sha] = None
        else:
            trees[c.sha] = _tree_entries(obj[2], len(obj[0]) // 2)
    return trees


_SHA_ANY = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _tree_problem(entries: list[tuple[int, str, str]] | None, wanted: frozenset[str]) -> str | None:
    if entries is None:  # a missing or damaged tree object
        return "has a tree git cannot read"
    names = [name for _mode, name, _oid in entries]
    if (
        len(names) != len(wanted)
        or set(names) != wanted
        or any(mode != 0o100644 for mode, _name, _oid in entries)
    ):
        return "holds other files than " + ", ".join(sorted(wanted))
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


def _check_chain(
    env: str,
    chain: Sequence[ChainCommit],
    trees: Mapping[str, list[tuple[int, str, str]] | None],
    signers: Sequence[tuple[str, str]],
) -> None:
    """LedgerError, naming the first commit this tool would not have written (see chain)."""
    wanted = ledger_files(env)
    principals = {name for name, _key in signers}
    previous: str | None = None
    for c in chain:
        problem = commit_problem(env, c, previous) or _tree_problem(trees.get(c.sha), wanted)
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


def tree_of(repo: Any, sha: str) -> Any:
    """A git tree object by its SHA (gitpython needs a path for its entries: the root's)."""
    import git

    return git.Tree(repo, bytes.fromhex(sha), 0o040000, "")


def _check_remote(repo: Any, env: str, tip: str, refs: Mapping[str, tuple[str, str, str]]) -> None:
    """A remote-tracking copy of the ledger must be the local ledger or one of its ancestors."""
    suffix = "/" + branch(env)
    for name, (remote_tip, _kind, _symref) in refs.items():
        if not name.startswith("refs/remotes/") or not name.endswith(suffix):
            continue
        if remote_tip == tip:
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
    with LedgerReader(Path(repo.working_dir), ancestors=ancestors) as reader:
        return reader.read(env, signers)


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
