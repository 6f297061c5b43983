"""Edges of the local machine that commands lend the pure core.

Local caches (files in the folder runtime.settings names: .provisioner/cache/ on a laptop; in
CI the folder HESTIA_PROVISIONER_CACHE_DIR names, or none), the process pool that checks many
signed forms, the environment variables that tune them, and atomic file writes. The core never
imports this package (the import contract in pyproject.toml says so); the command line builds
what the core needs here and passes it in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.documents.edges import DocumentEdges

if TYPE_CHECKING:
    from provisioner.catalog import CatalogMemory
    from provisioner.plan.kept import PlanMemory


def local_edges(
    repo_root: Path,
    environ: Mapping[str, str] | None = None,
    *,
    cache: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> DocumentEdges:
    """The caches and the form pool of a run on this machine, as the environment sets them.

    cache=False (--no-cache) reads and writes no cache at all, as HESTIA_PROVISIONER_NO_CACHE=1.
    """
    import os

    from provisioner.runtime.caches import (
        CDA_CACHE,
        FORMS_CACHE,
        ISSUERS_CACHE,
        CdaVerdictFiles,
        FileCache,
        IssuerMarkFiles,
    )
    from provisioner.runtime.pool import PooledFormChecker
    from provisioner.runtime.results import (
        CATALOG_CACHE,
        RESULTS_CACHE,
        ResultFile,
        ValidationCache,
        tool_version,
    )
    from provisioner.runtime.settings import Settings

    settings = Settings.read(os.environ if environ is None else environ)
    folder = settings.cache_folder(repo_root) if cache else None
    if folder is None:
        return DocumentEdges(check_forms=PooledFormChecker(settings.workers, progress=progress))
    # Once for every file: what each cache is keyed by, so that other code's entries (main's,
    # restored for a pull request that changes the checks) are never reused.
    tool = tool_version()
    return DocumentEdges(
        form_verdicts=FileCache(folder / FORMS_CACHE, tool),
        issuer_marks=IssuerMarkFiles(folder / ISSUERS_CACHE, tool),
        cda_verdicts=CdaVerdictFiles(folder / CDA_CACHE, tool),
        check_forms=PooledFormChecker(settings.workers, progress=progress),
        results=ValidationCache(folder / RESULTS_CACHE.name, tool),
        catalog=ResultFile(folder / CATALOG_CACHE.name, tool),
    )


def catalog_memory(
    repo_root: Path, environ: Mapping[str, str] | None = None
) -> CatalogMemory | None:
    """Where the repository's catalog is kept between runs; None when caches are off
    (HESTIA_PROVISIONER_NO_CACHE=1, or CI without HESTIA_PROVISIONER_CACHE_DIR). For the
    commands that read the catalog alone."""
    import os

    from provisioner.runtime.results import CATALOG_CACHE, ResultFile
    from provisioner.runtime.settings import Settings

    folder = Settings.read(os.environ if environ is None else environ).cache_folder(repo_root)
    return None if folder is None else ResultFile(folder / CATALOG_CACHE.name)


def plan_memories(edges: DocumentEdges) -> dict[str, PlanMemory]:
    """Where each environment's kept plan lives (provisioner.plan.kept), in parts read when
    needed: beside the validation results edges keeps, under the same identity of the tool;
    none when it keeps none."""
    from provisioner.runtime.results import ValidationCache

    results = edges.results
    if not isinstance(results, ValidationCache):
        return {}
    folder = results.path.parent
    return {
        env: ValidationCache(folder / f"plan-{env}.json", results.tool) for env in ("PRE", "PRO")
    }
