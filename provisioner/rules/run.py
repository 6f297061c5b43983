"""Load the catalog and every integration file, run every rule, collect every problem."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from provisioner.catalog import CATALOG_DIR, Catalog, load_catalog
from provisioner.diagnostics import Finding, error, sort_diagnostics
from provisioner.documents.edges import DocumentEdges
from provisioner.documents.identity import ReadDocuments
from provisioner.errors import FatalError
from provisioner.loading.paths import RepositoryFiles
from provisioner.loading.sources import (
    YAML_SUFFIXES,
    canonical_path,
    integration_files,
    relative_name,
)
from provisioner.rules import BATCHED_RULES, FILE_RULES, SET_RULES, RuleContext, all_rules
from provisioner.rules.documents import (
    FORM_SIGNERS_MEMO,
    FORM_VERIFIED_MEMO,
    READ_MEMO,
    trust_problems,
)
from provisioner.rules.incremental import check_files
from provisioner.source import Source


@dataclass
class ValidationReport:
    repo_root: Path
    catalog: Catalog | None
    sources: list[Source] = field(default_factory=list)  # every valid file, selected or not
    diagnostics: list[Finding] = field(default_factory=list)
    files: int = 0  # how many selected files were read
    form_signers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file -> signers
    # file -> what was verified about its form (signature, signer, fields)
    form_verified: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The run's reader of the repository's files, for the steps after validation (the plan).
    repository: RepositoryFiles = field(init=False)

    def __post_init__(self) -> None:
        self.repository = RepositoryFiles(self.repo_root)

    # file -> what the rules read of its CDA and form (identity, hashes): the plan reuses it.
    documents: dict[str, ReadDocuments] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if not d.is_error)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def errors_in(self, rel: str) -> bool:
        return any(d.is_error and d.file == rel for d in self.diagnostics)


def find_repo_root(start: Path) -> Path:
    """The nearest folder at or above start that holds a catalog."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CATALOG_DIR).is_dir():
            return folder
    raise FatalError(
        f"no '{CATALOG_DIR}/' folder at or above {start}; run inside the repository or pass --repo"
    )


def select(paths: Sequence[Path], repo_root: Path) -> set[Path] | None:
    """The files named on the command line (folders expanded), or None for all of them."""
    if not paths:
        return None
    chosen: set[Path] = set()
    for p in paths:
        p = canonical_path(p)
        if not p.exists():
            raise FatalError(f"{p}: no such file or folder")
        if not p.is_relative_to(repo_root):
            raise FatalError(f"{p} is outside the repository {repo_root}")
        if p.is_dir():
            chosen.update(
                q.absolute() for q in p.rglob("*") if q.suffix in YAML_SUFFIXES and q.is_file()
            )
        else:
            chosen.add(p)
    return chosen


def run_rules(sources: Sequence[Source], ctx: RuleContext) -> list[Finding]:
    """Every rule over sources (no results kept or reused)."""
    all_rules()  # make sure every rule module is registered
    diags: list[Finding] = []
    for src in sources:
        for rule in FILE_RULES:
            diags.extend(rule.check(src, ctx))
    for rule in BATCHED_RULES + SET_RULES:
        diags.extend(rule.check(sources, ctx))
    diags += trust_problems(ctx)
    return diags


def validate(
    repo_root: Path,
    paths: Sequence[Path] = (),
    edges: DocumentEdges | None = None,
    catalog_from: Path | None = None,
    now: datetime | None = None,
) -> ValidationReport:
    """Every problem in the catalog and the integration files (or in those named by paths).

    edges: the caches, the kept results and the form pool the caller lends
    (provisioner.runtime); none by default.
    catalog_from: a folder holding another catalog/ to judge the files with (a review judges
    a pull request with its base branch's catalog).
    now: the time the checks that depend on the clock (expiry) are made at; default the clock's.
    """
    # Loading builds many small containers and no reference cycles; the cyclic collector's
    # repeated passes over them cost about 15% on 10,000 files, so it waits until the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _validate(
            repo_root, paths, edges or DocumentEdges(), catalog_from, now or datetime.now(UTC)
        )
    finally:
        if collecting:
            gc.enable()


def _validate(
    repo_root: Path,
    paths: Sequence[Path],
    edges: DocumentEdges,
    catalog_from: Path | None,
    now: datetime,
) -> ValidationReport:
    repo_root = repo_root.resolve()
    if not (repo_root / CATALOG_DIR).is_dir():
        raise FatalError(f"{repo_root} has no '{CATALOG_DIR}/' folder; is --repo right?")
    chosen = select(paths, repo_root)
    catalog, diags = load_catalog(catalog_from or repo_root, edges.catalog)
    report = ValidationReport(repo_root, catalog)
    every = integration_files(repo_root)
    if chosen is not None:
        extra = sorted(chosen - {p.absolute() for p in every})
        every = every + extra
    if catalog is None:
        from provisioner.loading.sources import load_sources

        sources, problems = load_sources(repo_root, every)
        diags += problems
        report.sources = sources
        if not any(d.is_error for d in diags):
            diags.append(
                error(CATALOG_DIR, 1, 1, "CATALOG-INVALID", "the catalog could not be loaded")
            )
    else:
        ctx = RuleContext(catalog, report.repository, edges=edges, now=now)
        checked = check_files(every, ctx, edges.results)
        report.sources = checked.sources
        diags += checked.diagnostics
        report.form_signers = ctx.memo.get(FORM_SIGNERS_MEMO, {})
        report.documents = ctx.memo.get(READ_MEMO, {})
        report.form_verified = ctx.memo.get(FORM_VERIFIED_MEMO, {})
    if chosen is not None:
        wanted = {relative_name(p, repo_root) for p in chosen}
        diags = [d for d in diags if d.file in wanted or d.file.startswith(CATALOG_DIR + "/")]
        report.files = len(wanted)
    else:
        report.files = len(every)
    report.diagnostics = sort_diagnostics(diags)
    return report
