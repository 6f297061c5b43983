"""The git edge of `history`: read commits, file changes and ledger commits in a few passes.

Four git processes whatever the number of integrations: one `git log` of the checked-out
branch's commits and parents, one `git log --name-status` over the integration files, and one
`git log --raw` per ledger branch; the integrations.json blobs that changed are read through
gitpython's object database (one `git cat-file --batch` process).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from provisioner.errors import FatalError
from provisioner.history.timeline import (
    Commit,
    ControlException,
    FileChange,
    History,
    IntegrationRef,
    LedgerCommit,
    build_history,
    control_exceptions,
    parse_records,
    select_refs,
)
from provisioner.plan.ledger_format import RECORDS_FILE, parse_trailers
from provisioner.source import INTEGRATIONS_DIR
from provisioner.vocabulary import ENVIRONMENT_NAMES

_COMMIT_FORMAT = "%x00".join(["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%s"])
_INE10 = re.compile(r"\d{10}")


# ----------------------------------------------------------------------------- integration files


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


def _document_path(rel: str, written: Any) -> str | None:
    """The repository-relative path a cda/form entry names, when it stays inside the repo."""
    if not isinstance(written, str) or not written.strip() or written.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(rel), written))
    return None if path == ".." or path.startswith("../") else path


def read_ref(path: Path, rel: str) -> IntegrationRef:
    """What identifies the integration in one file, read leniently (any YAML the loader takes)."""
    from provisioner.loading.strict_yaml import MAX_BYTES, load_bytes
    from provisioner.plan.desired import record_key

    try:
        with path.open("rb") as fh:  # bounded: the loader refuses anything over MAX_BYTES
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return IntegrationRef(file=rel, problem=f"cannot read it: {exc.strerror}")
    doc, diags = load_bytes(raw, rel)
    if doc is None or not isinstance(doc.data, dict):
        reason = diags[0].message if diags else "it does not hold a mapping"
        return IntegrationRef(file=rel, problem=reason)
    data = doc.data
    entity, provider = data.get("entity"), data.get("provider")
    entity = entity if isinstance(entity, dict) else {}
    provider = provider if isinstance(provider, dict) else {}
    ine10, nif = _scalar(entity.get("ine10")), _scalar(provider.get("nif"))
    documents = (_document_path(rel, data.get("cda")), _document_path(rel, data.get("form")))
    return IntegrationRef(
        file=rel,
        key=record_key(ine10, nif) if ine10 and nif else None,
        fp=_scalar(data.get("fp")),
        ine10=ine10,
        provider=nif,
        entity_name=_scalar(entity.get("name")),
        provider_name=_scalar(provider.get("name")),
        environment=_scalar(data.get("environment")),
        documents=tuple(d for d in documents if d is not None),
        problem=None if ine10 and nif else "entity.ine10 or provider.nif is missing",
    )


# ----------------------------------------------------------------------------- git


_STATUS = re.compile(r"[ACDMRTUXB][0-9]*")
_HEX40 = re.compile(r"[0-9a-f]{40}")


def parse_commits(text: str) -> dict[str, Commit]:
    """`git log -z --format=<9 fields joined by NUL>`: NUL separates fields and commits, and
    no name or subject can hold one, so none can shift the fields."""
    tokens = text.split("\0")
    commits: dict[str, Commit] = {}
    size = 9
    for i in range(0, len(tokens) - size + 1, size):
        f = tokens[i : i + size]
        sha = f[0].strip()
        if _HEX40.fullmatch(sha):
            commits[sha] = Commit(sha, tuple(f[1].split()), *f[2:])
    return commits


def parse_changes(text: str) -> list[tuple[str, list[FileChange]]]:
    """`git log -z --name-status --format=%x00%H` output, newest first.

    Each commit is an empty token then its SHA; then status and path tokens (two paths for a
    rename or copy). Paths are raw bytes between NULs: nothing in a file name can forge one.
    """
    tokens = text.split("\0")
    log: list[tuple[str, list[FileChange]]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i].strip()
        if token == "" and i + 1 < len(tokens) and _HEX40.fullmatch(tokens[i + 1].strip()):
            log.append((tokens[i + 1].strip(), []))
            i += 2
            continue
        if log and _STATUS.fullmatch(token):
            kind = token[:1]
            if kind in "RC" and i + 2 < len(tokens):
                old = tokens[i + 1] if kind == "R" else None
                log[-1][1].append(FileChange(kind, tokens[i + 2], old))
                i += 3
                continue
            if i + 1 < len(tokens):
                log[-1][1].append(FileChange(kind, tokens[i + 1]))
                i += 2
                continue
        i += 1
    return log


def _head(repo: Any) -> str | None:
    try:
        return str(repo.head.commit.hexsha)
    except ValueError:  # no commit yet
        return None


def _blob_records(repo: Any, blob: str) -> Any:
    try:
        data = repo.odb.stream(bytes.fromhex(blob)).read()
    except Exception:  # any failure to read this one blob leaves its records unreadable
        return None
    return parse_records(data)


def _records_blob(repo: Any, tree: str) -> str | None:
    from provisioner.apply.ledger import tree_of

    try:
        return str(tree_of(repo, tree)[RECORDS_FILE].hexsha)
    except Exception:  # no such file, or a damaged tree: the commit holds no readable records
        return None


def _ledger(repo: Any, env: str) -> list[LedgerCommit]:
    """Every commit of a ledger branch, oldest first, as it is (history shows, never refuses)."""
    from provisioner.apply.ledger import log_chain

    chain = log_chain(repo, env) or []
    commits: list[LedgerCommit] = []
    records: Any = {}
    blob_before: str | None = None
    for c in chain:
        blob = _records_blob(repo, c.tree)
        if blob != blob_before:
            # No integrations.json: the commit holds no integration (as if it removed them all).
            records = _blob_records(repo, blob) if blob is not None else {}
            blob_before = blob
        commits.append(
            LedgerCommit(
                c.sha,
                c.committer_date,
                parse_trailers(c.message),
                records,
                author=f"{c.author} <{c.author_email}>",
                parents=c.parents,
            )
        )
    return commits


def _pathspecs(refs: Iterable[IntegrationRef], extra: str | None) -> list[str]:
    """integrations/ (renames inside it are followed), plus any path of ours outside it."""
    inside = (INTEGRATIONS_DIR + "/",)
    paths = {p for r in refs for p in (r.file, *r.documents)}
    if extra is not None:
        paths.add(extra)
    return [INTEGRATIONS_DIR, *sorted(p for p in paths if not p.startswith(inside))]


def _read_git(
    repo: Any, head: str | None, pathspecs: Sequence[str]
) -> tuple[dict[str, Commit], list[tuple[str, list[FileChange]]]]:
    if head is None:
        return {}, []
    commits = parse_commits(repo.git.log("-z", f"--format={_COMMIT_FORMAT}", head))
    changes = parse_changes(
        repo.git.log(
            "-z", "--no-merges", "-M", "--name-status", "--format=%x00%H", head, "--", *pathspecs
        )
    )
    return commits, changes


# ----------------------------------------------------------------------------- the whole


def _inside(path: Path, repo_root: Path) -> str | None:
    # The folder resolved (repo_root is), the name kept: a symlinked file is still that file.
    path = Path(posixpath.normpath(path.as_posix()))
    try:
        return (path.parent.resolve() / path.name).relative_to(repo_root).as_posix()
    except ValueError:
        return None


def _relative(file: Path, repo_root: Path) -> str:
    """FILE relative to the repository: from the current folder, else from the repository."""
    candidates = [file] if file.is_absolute() else [Path.cwd() / file, repo_root / file]
    inside = [r for r in (_inside(c, repo_root) for c in candidates) if r is not None]
    existing = [r for r in inside if (repo_root / r).exists()]
    if existing or inside:
        return (existing or inside)[0]
    raise FatalError(f"{file} is outside the repository {repo_root}")


def read_controls(repo_root: Path) -> list[ControlException]:
    """The control exceptions of the repository's history and ledgers (see control_exceptions)."""
    import git

    from provisioner.apply.ledger import BOT_EMAIL, BOT_NAME, open_repo
    from provisioner.catalog import CATALOG_DIR

    repo = open_repo(repo_root)  # FatalError when there is no git repository
    ledgers = {env: _ledger(repo, env) for env in ENVIRONMENT_NAMES}  # FatalError: no branch
    head = _head(repo)
    try:
        commits, log = _read_git(repo, head, [INTEGRATIONS_DIR, CATALOG_DIR])
    except (git.GitCommandError, ValueError) as exc:
        raise FatalError(f"cannot read the git history: {exc}") from None
    return control_exceptions(commits, head, log, ledgers, f"{BOT_NAME} <{BOT_EMAIL}>")


def ref_of_source(src: Any) -> IntegrationRef:
    """What identifies a validated integration (a Source): no need to read its file again."""
    from provisioner.plan.desired import record_key

    it = src.integration
    documents = (_document_path(src.rel, it.cda), _document_path(src.rel, it.form))
    return IntegrationRef(
        file=src.rel,
        key=record_key(it.entity.ine10, it.provider.nif),
        fp=it.fp,
        ine10=it.entity.ine10,
        provider=it.provider.nif,
        entity_name=it.entity.name,
        provider_name=it.provider.name,
        environment=it.environment,
        documents=tuple(d for d in documents if d is not None),
    )


def read_history(
    repo_root: Path,
    file: Path | None = None,
    ine10: str | None = None,
    read: Mapping[str, IntegrationRef] | None = None,
) -> History:
    """The timelines of one file, of one entity's integrations, or of every integration.

    read: refs of files the caller already loaded (repository-relative path -> ref, see
    `ref_of_source`); only the other files are read here.
    """
    import git

    from provisioner.apply.ledger import open_repo
    from provisioner.loading.sources import integration_files

    if file is not None and ine10 is not None:
        raise FatalError("give a FILE or --ine10, not both")
    if ine10 is not None and not _INE10.fullmatch(ine10):
        raise FatalError(f"--ine10 {ine10!r}: an INE10 is 10 digits, e.g. 0805690004")
    rel = _relative(file, repo_root) if file is not None else None
    repo = open_repo(repo_root)  # FatalError when there is no git repository
    if rel is not None:
        path = repo_root / rel
        paths = [path] if path.is_file() else []
    else:
        paths = integration_files(repo_root)
    read = read or {}
    file_refs = []
    for p in paths:
        name = p.relative_to(repo_root).as_posix()
        file_refs.append(read[name] if name in read else read_ref(p, name))
    head = _head(repo)
    ledgers = {env: _ledger(repo, env) for env in ENVIRONMENT_NAMES}  # FatalError: not a branch
    try:
        commits, log = _read_git(repo, head, _pathspecs(file_refs, rel))
    except (git.GitCommandError, ValueError) as exc:
        raise FatalError(f"cannot read the git history: {exc}") from None
    known = frozenset(c.path for _sha, changes in log for c in changes)
    refs = select_refs(file_refs, ledgers, ine10=ine10, file=rel, history_paths=known)
    if not refs and rel is not None:
        raise FatalError(
            f"{rel}: no such file in the checkout, in git's history or in the ledgers; "
            "give the path of an integration file (e.g. integrations/<INE10>/<provider>.yaml)"
        )
    if not refs and ine10 is not None:
        raise FatalError(
            f"no integration of entity {ine10} in {INTEGRATIONS_DIR}/ or in the ledgers"
        )
    return build_history(refs, commits, head, log, ledgers)
