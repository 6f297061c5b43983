"""Load the catalog and every integration file, run every rule, collect every problem."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from provisioner.diagnostics import Finding, error, sort_diagnostics
from provisioner.documents.edges import DocumentEdges
from provisioner.documents.identity import ReadDocuments
from provisioner.errors import FatalError
from provisioner.layout import CATALOG_DIR, YAML_SUFFIXES
from provisioner.loading.paths import RepositoryFiles
from provisioner.loading.tree import Listing, canonical_path, relative_name

if TYPE_CHECKING:  # the replay of an unchanged run loads no model, catalog or rule
    from provisioner.catalog import Catalog
    from provisioner.rules import RuleContext
    from provisioner.rules.kept import Parts
    from provisioner.source import Source

_T = TypeVar("_T")


class _Counted:
    """How many of a validation's findings are errors and warnings."""

    diagnostics: list[Finding]

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if not d.is_error)

    @property
    def ok(self) -> bool:
        return self.errors == 0


@dataclass
class ValidationReport(_Counted):
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
    # What every file's result was made from (rules.kept.content_key), when all were kept.
    content: str | None = None

    def errors_in(self, rel: str) -> bool:
        return any(d.is_error and d.file == rel for d in self.diagnostics)


@dataclass
class Findings(_Counted):
    """What a validation found, without the files it loaded (the validate command's answer)."""

    diagnostics: list[Finding]
    files: int  # how many selected files were checked
    replayed: bool = False  # nothing had changed: the last run's findings, the clock's redone
    content: str | None = None  # replayed: the kept run's content key (rules.kept.content_key)


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
    from provisioner.rules import BATCHED_RULES, FILE_RULES, SET_RULES, all_rules
    from provisioner.rules.documents import trust_problems
    from provisioner.rules.facts import facts_of

    all_rules()  # make sure every rule module is registered
    diags: list[Finding] = []
    for src in sources:
        for rule in FILE_RULES:
            diags.extend(rule.check(src, ctx))
    for rule in BATCHED_RULES:
        diags.extend(rule.check(sources, ctx))
    facts = [facts_of(src, ctx) for src in sources]
    for rule in SET_RULES:
        diags.extend(rule.check(facts, ctx))
    diags += trust_problems(ctx)
    return diags


class _Files:
    """The files a run checks (listed when first needed), and what the walk that found them saw."""

    def __init__(self, repo_root: Path, paths: Sequence[Path]) -> None:
        repo_root = repo_root.resolve()
        if not (repo_root / CATALOG_DIR).is_dir():
            raise FatalError(f"{repo_root} has no '{CATALOG_DIR}/' folder; is --repo right?")
        self.repo_root = repo_root
        self.chosen = select(paths, repo_root)
        self.listing = Listing(str(repo_root))
        self.parts: Parts | None = None  # the kept parts, decoded once (a replay was tried)
        self._every: list[str] | None = None

    @property
    def every(self) -> list[str]:
        """Every file the run checks, absolute, in order (those found, then those named)."""
        if self._every is None:
            every = list(self.listing.tree().files)
            if self.chosen is not None:
                found = {Path(p) for p in every}
                every += [str(p) for p in sorted(self.chosen - found)]
            self._every = every
        return self._every


def _without_collector(run: Callable[[], _T]) -> _T:
    # Loading (and decoding the kept results) builds many small containers and no reference
    # cycles; the cyclic collector's repeated passes over them cost about 15% on 10,000 files,
    # so it waits until the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return run()
    finally:
        if collecting:
            gc.enable()


class Validation:
    """One validation of a repository (or of the files paths names): the replay of its last
    run when nothing it depends on changed (replayed), else, or when the files must be loaded
    (report), a run that reuses what the replay tried read.

    edges: the caches, the kept results and the form pool the caller lends
    (provisioner.runtime); none by default.
    catalog_from: a folder holding another catalog/ to judge the files with (a review judges
    a pull request with its base branch's catalog).
    now: the time the checks that depend on the clock (expiry) are made at; default the clock's.
    """

    def __init__(
        self,
        repo_root: Path,
        paths: Sequence[Path] = (),
        edges: DocumentEdges | None = None,
        catalog_from: Path | None = None,
        now: datetime | None = None,
    ) -> None:
        self.now = now or datetime.now(UTC)
        self.edges = edges or DocumentEdges()
        self.catalog_from = catalog_from
        self.found = _Files(repo_root, paths)

    @property
    def repo_root(self) -> Path:
        return self.found.repo_root

    def replayed(self) -> Findings | None:
        """The last run's findings (the clock's made again) when nothing they depend on changed
        (see provisioner.rules.kept); None otherwise, or when no results are kept. No file is
        parsed and no model, catalog or rule module is even imported."""
        found = self.found
        if self.edges.results is None or found.parts is not None:
            return None
        from provisioner.rules.kept import Parts, replay

        catalog_folder = (self.catalog_from or found.repo_root) / CATALOG_DIR
        found.parts = parts = Parts(self.edges.results)
        done = _without_collector(
            lambda: replay(
                parts, found.repo_root, catalog_folder, found.chosen, self.now, found.listing
            )
        )
        if done is None:
            return None
        diagnostics, count = _selected(found, done.diagnostics, done.count)
        return Findings(diagnostics, count, True, done.content)

    def report(self) -> ValidationReport:
        """Every file loaded and checked (kept results reused where they hold)."""
        return _without_collector(
            lambda: _validate(self.found, self.edges, self.catalog_from, self.now, True)
        )

    def findings(self) -> Findings:
        """The replay, or what a run finds (without keeping the files loaded)."""
        replayed = self.replayed()
        if replayed is not None:
            return replayed
        report = _without_collector(
            lambda: _validate(self.found, self.edges, self.catalog_from, self.now, False)
        )
        return Findings(report.diagnostics, report.files)


def validate(
    repo_root: Path,
    paths: Sequence[Path] = (),
    edges: DocumentEdges | None = None,
    catalog_from: Path | None = None,
    now: datetime | None = None,
) -> ValidationReport:
    """Every problem in the catalog and the integration files (or in those named by paths),
    with every file loaded (the plan and the commands that follow validation need them).

    The arguments are Validation's.
    """
    return Validation(repo_root, paths, edges, catalog_from, now).report()


def findings(
    repo_root: Path,
    paths: Sequence[Path] = (),
    edges: DocumentEdges | None = None,
    catalog_from: Path | None = None,
    now: datetime | None = None,
) -> Findings:
    """What validate() reports (same arguments), without keeping the files loaded.

    When nothing the last run's findings depended on changed (edges.results; see
    provisioner.rules.kept), they are replayed: no file is parsed and no model, catalog or
    rule module is even imported; what depends on the clock is computed again.
    """
    return Validation(repo_root, paths, edges, catalog_from, now).findings()


def _selected(
    found: _Files, diags: list[Finding], count: int | None = None
) -> tuple[list[Finding], int]:
    """The findings about the selected files (and the catalog), sorted; how many files (count:
    of every file, when known without listing them)."""
    if found.chosen is not None:
        wanted = {relative_name(p, found.repo_root) for p in found.chosen}
        diags = [d for d in diags if d.file in wanted or d.file.startswith(CATALOG_DIR + "/")]
        return sort_diagnostics(diags), len(wanted)
    return sort_diagnostics(diags), len(found.every) if count is None else count


def _validate(
    found: _Files,
    edges: DocumentEdges,
    catalog_from: Path | None,
    now: datetime,
    sources: bool,
) -> ValidationReport:
    from provisioner.catalog import load_catalog
    from provisioner.rules import RuleContext
    from provisioner.rules.documents import FORM_SIGNERS_MEMO, FORM_VERIFIED_MEMO, READ_MEMO
    from provisioner.rules.incremental import check_files
    from provisioner.rules.kept import catalog_digests

    repo_root = found.repo_root
    catalog_root = catalog_from or repo_root
    report = ValidationReport(repo_root, None)
    # Taken before the catalog is loaded: a change meanwhile makes the next key differ.
    digests: list[str] = []
    if found.parts is not None and found.parts.catalog is not None:
        digests = found.parts.catalog  # taken by the replay that was tried
    elif edges.results is not None:
        digests = catalog_digests(catalog_root / CATALOG_DIR, report.repository)
    catalog, diags = load_catalog(catalog_root, edges.catalog)
    report.catalog = catalog
    every = found.every
    if catalog is None:
        from provisioner.loading.sources import load_sources

        loaded, problems = load_sources(repo_root, [Path(p) for p in every])
        diags += problems
        report.sources = loaded
        if not any(d.is_error for d in diags):
            diags.append(
                error(CATALOG_DIR, 1, 1, "CATALOG-INVALID", "the catalog could not be loaded")
            )
    else:
        ctx = RuleContext(catalog, report.repository, edges=edges, now=now)
        checked = check_files(
            every,
            ctx,
            edges.results,
            sources=sources,
            catalog=digests,
            catalog_findings=diags,
            tree=found.listing.tree(),
            seen=found.listing.seen(),
            parts=found.parts,
        )
        edges.save()
        report.sources = checked.sources
        diags = diags + checked.diagnostics
        report.form_signers = ctx.memo.get(FORM_SIGNERS_MEMO, {})
        report.documents = ctx.memo.get(READ_MEMO, {})
        report.form_verified = ctx.memo.get(FORM_VERIFIED_MEMO, {})
        report.content = checked.content if found.chosen is None else None
    report.diagnostics, report.files = _selected(found, diags)
    return report
