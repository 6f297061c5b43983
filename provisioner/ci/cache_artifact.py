"""main's validation cache for the pull-request check: found among the repository's artifacts,
downloaded and unpacked into the cache folder (HESTIA_PROVISIONER_CACHE_DIR in CI, outside the
checkout; .provisioner/cache/ elsewhere).

The check trusts what it restores (a form verdict says "this signature was verified"), so only
an artifact made by a push to the default branch of this repository, by the named workflow, is
taken: never one from a pull request's run, a fork's, or another event's. The zip is hostile
input all the same: names are checked part by part, no link or special file, sizes bounded,
everything lands in the cache folder or nothing does; a folder that exists already (one a pull
request committed, say) is never used. Any failure is a CacheRestoreError:
the caller warns and the check runs cold, which is slower but gives the same verdicts (the
caches are keyed by content and a damaged entry is a miss).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import tempfile
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.ci.github import GitHub, GitHubError

CACHE_ARTIFACT = "hestia-validation-cache"
CACHE_WORKFLOW = "ci.yml"
CACHE_DIR = Path(".provisioner") / "cache"  # the default folder, under the repository
MAX_ZIP_BYTES = 256 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024  # the validation file alone may reach 512 MB
MAX_MEMBERS = 200_000  # 10,000 integrations hold about 20,000 cache files
MAX_DEPTH = 4
MAX_CANDIDATES = 10  # artifacts looked at before giving up (each costs one request)
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
_CHUNK = 1024 * 1024


class CacheRestoreError(Exception):
    """Nothing was restored; the message says why (the run goes on cold)."""


@dataclass(frozen=True)
class CacheArtifact:
    id: int
    run_id: int
    head_sha: str
    created_at: str
    size: int


@dataclass(frozen=True)
class Restored:
    artifact: CacheArtifact
    files: int
    size: int


def _workflow_path_matches(path: Any, repository: str, workflow: str) -> bool:
    """A run's `path`: ".github/workflows/ci.yml", or with the repository before it and
    "@ref" after it, as the API writes it in some answers."""
    if not isinstance(path, str):
        return False
    file = path.partition("@")[0]
    own = f".github/workflows/{workflow}"
    return file == own or file.casefold() == f"{repository}/{own}".casefold()


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.casefold() == b.casefold()


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def find_artifact(gh: GitHub, name: str, workflow: str) -> tuple[CacheArtifact, list[str]]:
    """The newest unexpired artifact called name made by a push run of workflow on the default
    branch of this repository; and why each newer one was passed over."""
    repo, _ = gh.request("GET", gh.repo_url())
    if not isinstance(repo, dict):
        raise CacheRestoreError("the repository's description is not a JSON object")
    default, repo_id = repo.get("default_branch"), _int(repo.get("id"))
    if not isinstance(default, str) or repo_id is None:
        raise CacheRestoreError("the repository's default branch or id is unknown")
    skipped: list[str] = []
    listed = gh.pages(
        f"actions/artifacts?name={urllib.parse.quote(name)}", key="artifacts", max_pages=1
    )
    # Newest first whatever order the answer has; only exact names (the filter is the API's).
    candidates = sorted(
        (a for a in listed if a.get("name") == name and _int(a.get("id")) is not None),
        key=lambda a: (str(a.get("created_at") or ""), a["id"]),
        reverse=True,
    )
    for art in candidates[:MAX_CANDIDATES]:
        label = f"artifact {art['id']}"
        run = _obj(art.get("workflow_run"))
        run_id = _int(run.get("id"))
        size = _int(art.get("size_in_bytes"))
        if art.get("expired") is not False:
            skipped.append(f"{label}: expired")
        elif size is None or size > MAX_ZIP_BYTES:
            skipped.append(f"{label}: its size is unknown or above {MAX_ZIP_BYTES} bytes")
        elif run_id is None:
            skipped.append(f"{label}: made by no known run")
        elif run.get("head_branch") != default:
            skipped.append(f"{label}: made on another branch than {default}")
        elif not (
            _int(run.get("repository_id")) == repo_id
            and _int(run.get("head_repository_id")) == repo_id
        ):
            skipped.append(f"{label}: made from another repository (a fork)")
        else:
            found, _ = gh.request("GET", gh.repo_url(f"actions/runs/{run_id}"))
            why = _run_problem(found, gh.repository, default, workflow)
            if why:
                skipped.append(f"{label}: {why}")
                continue
            head = found.get("head_sha")
            return (
                CacheArtifact(
                    art["id"],
                    run_id,
                    head if isinstance(head, str) else "",
                    str(art.get("created_at") or ""),
                    size,
                ),
                skipped,
            )
    raise CacheRestoreError(
        f"no artifact {name} from a push to {default} by {workflow}"
        + (f" ({'; '.join(skipped)})" if skipped else "")
    )


def _run_problem(run: Any, repository: str, default: str, workflow: str) -> str | None:
    if not isinstance(run, dict):
        return "its run is not a JSON object"
    if run.get("event") != "push":
        return f"made by a {run.get('event')!s:.40} run, not a push"
    if run.get("head_branch") != default:
        return f"its run is on another branch than {default}"
    repo, head = _obj(run.get("repository")), _obj(run.get("head_repository"))
    if not (_same(repo.get("full_name"), repository) and _same(head.get("full_name"), repository)):
        return "its run belongs to another repository (a fork)"
    if not _workflow_path_matches(run.get("path"), repository, workflow):
        return f"made by another workflow than {workflow}"
    return None


# ----------------------------------------------------------------------------- unpacking


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = name.split("/")
    if "\\" in name or len(parts) > MAX_DEPTH or not all(_PART.fullmatch(p) for p in parts):
        return f"the name {name!r:.200} is not a plain relative path"
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: the zip names no kind (a file)
    if kind and kind != stat.S_IFREG:
        return f"{name} is not a regular file (a link or a special file)"
    if info.flag_bits & 0x1:
        return f"{name} is encrypted"
    return None


def check_zip(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The files to unpack, or CacheRestoreError for the whole archive at its first problem."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise CacheRestoreError(f"the artifact holds more than {MAX_MEMBERS} entries")
    files = []
    total = 0
    for info in infos:
        if info.is_dir():  # folders come from the files' names
            if not all(_PART.fullmatch(p) for p in info.filename.rstrip("/").split("/")):
                raise CacheRestoreError(f"the folder {info.filename!r:.200} is not a plain path")
            continue
        why = _member_problem(info)
        if why:
            raise CacheRestoreError(why)
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise CacheRestoreError(f"the artifact unpacks to more than {MAX_UNPACKED_BYTES} bytes")
        files.append(info)
    return files


def _real_folder(path: Path) -> None:
    """path is a folder of its own (made when missing), never a link to somewhere else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        path.mkdir()
        return
    if not stat.S_ISDIR(mode):
        raise CacheRestoreError(f"{path} is a link or a file, not a folder: nothing restored")


def unpack(data: bytes, target: Path) -> tuple[int, int]:
    """Unpack the artifact's zip as the folder target: (files, bytes). Only into a folder that
    does not exist yet, all or nothing."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CacheRestoreError(f"the artifact is not a zip file: {exc}") from None
    with archive:
        members = check_zip(archive)
        try:
            target.parent.parent.mkdir(parents=True, exist_ok=True)
            _real_folder(target.parent)
        except OSError as exc:
            raise CacheRestoreError(f"{target.parent} cannot be made: {exc}") from None
        if os.path.lexists(target):
            raise CacheRestoreError(f"{target} already exists: it is kept as it is")
        staging = Path(tempfile.mkdtemp(prefix=".cache-restore-", dir=target.parent))
        try:
            size = _extract(archive, members, staging)
            os.rename(staging, target)
        except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError) as exc:
            raise CacheRestoreError(f"the artifact could not be unpacked: {exc}") from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return len(members), size


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], staging: Path) -> int:
    """Write each member under staging (a new, private folder): no name can leave it (checked
    part by part), no file is written twice, no member yields more than it declares."""
    total = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for info in members:
        parts = info.filename.split("/")
        folder = staging.joinpath(*parts[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / parts[-1], flags, 0o644)
        with os.fdopen(fd, "wb") as out, archive.open(info) as source:
            written = 0
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise ValueError(f"{info.filename} holds more than it declares")
                out.write(chunk)
        total += written
    return total


def restore(gh: GitHub, target: Path, name: str, workflow: str) -> tuple[Restored, list[str]]:
    """Find, download and unpack main's cache as the folder target; CacheRestoreError when
    nothing was restored."""
    if os.path.lexists(target):
        raise CacheRestoreError(f"{target} already exists: it is kept as it is")
    try:
        artifact, skipped = find_artifact(gh, name, workflow)
        data = gh.download(gh.repo_url(f"actions/artifacts/{artifact.id}/zip"), MAX_ZIP_BYTES)
    except GitHubError as exc:
        raise CacheRestoreError(str(exc)) from None
    files, size = unpack(data, target)
    return Restored(artifact, files, size), skipped
