"""Documents the file points to: inside the repository, present, and regular files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath

from provisioner.diagnostics import Diagnostic, error
from provisioner.rules import RuleContext, file_rule
from provisioner.source import Source


@lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    # Integration files share a few folders: resolving each once saves most of the lstat calls.
    return os.path.realpath(folder)


@lru_cache(maxsize=65536)
def _check(root: str, folder: str, written: str) -> tuple[str, str] | str:
    """(code, message) when the path is unusable, else the resolved file. Pure per run."""
    if not written.strip():
        return "PATH-EMPTY", "is empty; give the path of the file, relative to this YAML file"
    if PurePosixPath(written).is_absolute() or PureWindowsPath(written).is_absolute():
        return (
            "PATH-ABSOLUTE",
            "is absolute; write it relative to this YAML file (e.g. certs/provider.pem)",
        )
    if "\\" in written:
        return "PATH-BACKSLASH", "uses '\\'; separate folders with '/'"
    if "\0" in written:  # no file system takes it; os calls would raise ValueError
        return "PATH-UNREADABLE", "contains a NUL character, which no file name can hold"
    target = os.path.normpath(os.path.join(folder, written))
    if os.path.commonpath([root, target]) != root:
        return "PATH-ESCAPES", "points outside the repository; keep documents next to the YAML file"
    real = os.path.join(_real_folder(os.path.dirname(target)), os.path.basename(target))
    if os.path.islink(real):
        real = os.path.realpath(real)
    real_root = _real_folder(root)
    if os.path.commonpath([real_root, real]) != real_root:
        return (
            "PATH-ESCAPES",
            "is a symbolic link that leaves the repository; commit the file itself",
        )
    try:
        mode = os.stat(real).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "PATH-MISSING", "does not exist; add the file to the pull request or fix the path"
    except OSError as exc:  # loops, permissions
        return "PATH-UNREADABLE", f"cannot be read ({exc.strerror})"
    if not stat.S_ISREG(mode):
        return "PATH-NOT-FILE", "is not a regular file"
    return real


def path_problem(src: Source, written: str) -> tuple[str, str] | None:
    """(code, message) when a path written in an integration file is unusable."""
    found = _check(str(src.repo_root), str(src.folder), written)
    return found if isinstance(found, tuple) else None


def _checked_paths(src: Source) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    yield ("cda",), src.integration.cda, "cda"
    yield ("form",), src.integration.form, "form"
    for i, evidence in enumerate(src.integration.homologation):
        yield ("homologation", i), evidence, "homologation"


@file_rule(
    "PATH-EMPTY",
    "PATH-ABSOLUTE",
    "PATH-BACKSLASH",
    "PATH-ESCAPES",
    "PATH-MISSING",
    "PATH-NOT-FILE",
    "PATH-UNREADABLE",
)
def documents_present(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """The CDA, the form and the evidence exist inside the repository."""
    for where, written, label in _checked_paths(src):
        found = path_problem(src, written)
        if found:
            code, message = found
            hint = ""
            if code == "PATH-MISSING" and label in ("cda", "form"):
                hint = (
                    " (if the entity has not sent it, use "
                    f"`hestia-provisioner message request-info {src.rel}`)"
                )
            yield error(src.rel, *src.at(*where), code, f"{label}: {written!r} {message}{hint}")


def usable_path(src: Source, written: str) -> Path | None:
    """The resolved file behind a path written in the file, or None when a rule refuses it."""
    found = _check(str(src.repo_root), str(src.folder), written)
    return Path(found) if isinstance(found, str) else None


def forget_paths() -> None:
    """Drop what the path cache knows: files may have changed since the last run."""
    _check.cache_clear()
    _real_folder.cache_clear()
