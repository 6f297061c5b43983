"""Named validation rules.

A rule is a small function with a stable code that returns diagnostics and never raises.
File rules see one integration at a time; set rules see all of them (duplicates, overlaps).
Adding a rule is writing the function in one of the modules below and decorating it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provisioner.catalog import Catalog
from provisioner.diagnostics import Diagnostic
from provisioner.documents.edges import DocumentEdges
from provisioner.loading.paths import RepositoryFiles
from provisioner.source import Source


@dataclass
class RuleContext:
    catalog: Catalog
    # The run's reader of the repository's files: path checks answered once per run.
    files: RepositoryFiles
    # Caches and the form pool, lent by the edge (default: none, one form after another).
    edges: DocumentEdges = field(default_factory=DocumentEdges)
    # Shared, per-run memo for rules that parse the same artefact more than once.
    memo: dict[str, Any] = field(default_factory=dict)
    # The time of the run: what depends on the clock (expiry) is judged at it.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def repo_root(self) -> Path:
        return self.files.root


FileCheck = Callable[[Source, RuleContext], Iterable[Diagnostic]]
SetCheck = Callable[[Sequence[Source], RuleContext], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Rule:
    name: str
    codes: tuple[str, ...]
    doc: str
    check: Any  # FileCheck or SetCheck
    per_file: bool


FILE_RULES: list[Rule] = []
SET_RULES: list[Rule] = []
# Rules that see many files at once (to check their documents in parallel) but whose every
# diagnostic is about one file and depends on that file alone: kept and reused per file.
BATCHED_RULES: list[Rule] = []


def file_rule(*codes: str) -> Callable[[FileCheck], FileCheck]:
    def register(fn: FileCheck) -> FileCheck:
        FILE_RULES.append(Rule(fn.__name__, codes, (fn.__doc__ or "").strip(), fn, True))
        return fn

    return register


def set_rule(*codes: str, batched: bool = False) -> Callable[[SetCheck], SetCheck]:
    """A rule over every file; batched: one whose findings each concern one file alone."""

    def register(fn: SetCheck) -> SetCheck:
        rule = Rule(fn.__name__, codes, (fn.__doc__ or "").strip(), fn, False)
        (BATCHED_RULES if batched else SET_RULES).append(rule)
        return fn

    return register


def all_rules() -> list[Rule]:
    _load_rule_modules()
    return FILE_RULES + BATCHED_RULES + SET_RULES


_loaded = False


def _load_rule_modules() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    # Importing a module registers its rules.
    from provisioner.rules import (  # noqa: F401
        documents,
        entity,
        homologation,
        network,
        paths,
        sharepoint,
        uniqueness,
    )
