"""Documents the file points to: inside the repository, present, and regular files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from provisioner.diagnostics import Diagnostic, error
from provisioner.rules import RuleContext, file_rule
from provisioner.source import Source


def path_problem(src: Source, written: str) -> tuple[str, str] | None:
    """(code, message) when a path written in an integration file is unusable."""
    if not written.strip():
        return "PATH-EMPTY", "is empty; give the path of the file, relative to this YAML file"
    if PurePosixPath(written).is_absolute() or PureWindowsPath(written).is_absolute():
        return (
            "PATH-ABSOLUTE",
            "is absolute; write it relative to this YAML file (e.g. certs/provider.pem)",
        )
    if "\\" in written:
        return "PATH-BACKSLASH", "uses '\\'; separate folders with '/'"
    root = src.repo_root
    target = Path(os.path.normpath(src.folder / written))
    if not target.is_relative_to(root):
        return "PATH-ESCAPES", "points outside the repository; keep documents next to the YAML file"
    try:
        real = target.resolve(strict=False)
    except (OSError, RuntimeError):  # symlink loops
        return "PATH-ESCAPES", "cannot be resolved (symbolic link loop)"
    if not real.is_relative_to(root.resolve()):
        return (
            "PATH-ESCAPES",
            "is a symbolic link that leaves the repository; commit the file itself",
        )
    if not real.exists():
        return "PATH-MISSING", "does not exist; add the file to the pull request or fix the path"
    if not real.is_file():
        return "PATH-NOT-FILE", "is not a regular file"
    return None


def _checked_paths(src: Source) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    yield ("cda",), src.integration.cda, "cda"
    yield ("form",), src.integration.form, "form"
    for i, evidence in enumerate(src.integration.homologation):
        yield ("homologation", i), evidence, "homologation"


@file_rule(
    "PATH-EMPTY", "PATH-ABSOLUTE", "PATH-BACKSLASH", "PATH-ESCAPES", "PATH-MISSING", "PATH-NOT-FILE"
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
                    "`hestia-provisioner message request-info`)"
                )
            yield error(src.rel, *src.at(*where), code, f"{label}: {written!r} {message}{hint}")


def usable_path(src: Source, written: str) -> Path | None:
    """The resolved file behind a path written in the file, or None when a rule refuses it."""
    if path_problem(src, written) is not None:
        return None
    return Path(os.path.normpath(src.folder / written)).resolve()
