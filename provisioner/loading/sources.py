"""The integration files of a repository, found and loaded into Sources."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from provisioner.diagnostics import Finding
from provisioner.layout import YAML_SUFFIXES as YAML_SUFFIXES
from provisioner.loading.tree import canonical_path as canonical_path
from provisioner.loading.tree import relative_name as relative_name
from provisioner.loading.tree import walk_integrations
from provisioner.source import Source


def integration_files(repo_root: Path) -> list[Path]:
    """Every YAML file under integrations/, sorted (broken links stay in: reading them reports
    FILE-UNREADABLE)."""
    return [Path(p) for p in walk_integrations(str(repo_root)).files]


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
