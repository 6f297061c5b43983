"""The integration files of a repository, found and loaded into Sources."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from provisioner.diagnostics import Finding
from provisioner.source import INTEGRATIONS_DIR, Source

YAML_SUFFIXES = (".yaml", ".yml")


def integration_files(repo_root: Path) -> list[Path]:
    """Every YAML file under integrations/, sorted (os.walk: rglob is several times slower)."""
    found: list[Path] = []
    for folder, dirs, names in os.walk(repo_root / INTEGRATIONS_DIR):
        dirs.sort()
        found.extend(Path(folder, n) for n in names if n.endswith(YAML_SUFFIXES))
    return sorted(found)  # broken links stay in: reading them reports FILE-UNREADABLE


def relative_name(path: Path, repo_root: Path) -> str:
    """How diagnostics name a file: relative to the repository root, '/'-separated."""
    return path.absolute().relative_to(repo_root).as_posix()


def canonical_path(path: Path) -> Path:
    """path made absolute, with '..' and linked folders resolved as repo roots are.

    The last part is kept: an integration file may itself be a link, and is named by its link.
    """
    absolute = path.absolute()
    if absolute.name in ("", ".", ".."):
        return absolute.resolve()
    return absolute.parent.resolve() / absolute.name


def load_sources(repo_root: Path, files: Iterable[Path]) -> tuple[list[Source], list[Finding]]:
    from provisioner.loading.loader import load_model
    from provisioner.model import Integration

    sources: list[Source] = []
    diags: list[Finding] = []
    for path in files:
        rel = relative_name(path, repo_root)
        integration, doc, problems = load_model(path, rel, Integration, repo_root)
        diags += problems
        if integration is not None and doc is not None:
            sources.append(Source(rel, path.absolute(), repo_root, integration, doc))
    return sources, diags
