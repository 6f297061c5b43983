"""Named validation rules, registered by the codes they emit.

A rule is a small function that returns findings and never raises. It declares every code it can
emit (severity, one-line summary, how to fix) in its decorator; a code declared twice is refused
when the module is imported. File rules see one integration at a time; set rules see the facts
of all of them (duplicates, overlaps: provisioner.source.Facts, kept between runs); batched
rules see many loaded files at once but judge each alone (forms checked in parallel). Adding a
rule is writing the function in one of the modules below and decorating it. Codes emitted
outside rules (loader, catalog, plan, history) are declared with `register_codes` in their own
modules; `all_codes()` lists them all (`hestia-provisioner rules`).

Imports no model or catalog at run time: the replay of an unchanged run (rules.kept) loads none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.diagnostics import CODES, Code, Finding, register_codes
from provisioner.documents.edges import DocumentEdges
from provisioner.loading.paths import RepositoryFiles

if TYPE_CHECKING:  # not imported at run time: replaying an unchanged run loads no model
    from provisioner.catalog import Catalog
    from provisioner.source import Facts, Source


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
    # path -> SHA-256 of the bytes the rules read there (None: they read two different ones).
    read_digests: dict[str, str | None] = field(default_factory=dict)

    @property
    def repo_root(self) -> Path:
        return self.files.root

    def read(self, path: Path, limit: int) -> bytes:
        """A document's bytes (RepositoryFiles.read), noting their SHA-256: a file's kept result
        is keyed by the bytes its rules saw, not by what a later read finds."""
        data = self.files.read(path, limit)
        sha256 = hashlib.sha256(data).hexdigest()
        if self.read_digests.setdefault(str(path), sha256) != sha256:
            self.read_digests[str(path)] = None
        return data


FileCheck = Callable[["Source", RuleContext], Iterable[Finding]]
SetCheck = Callable[[Sequence["Facts"], RuleContext], Iterable[Finding]]
BatchCheck = Callable[[Sequence["Source"], RuleContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    codes: tuple[Code, ...]
    doc: str
    check: Any  # FileCheck, SetCheck or BatchCheck
    per_file: bool


FILE_RULES: list[Rule] = []
SET_RULES: list[Rule] = []
# Rules that see many files at once (to check their documents in parallel) but whose every
# diagnostic is about one file and depends on that file alone: kept and reused per file.
BATCHED_RULES: list[Rule] = []


def _register(rules: list[Rule], fn: Any, codes: tuple[Code, ...], per_file: bool) -> None:
    if not codes:
        raise ValueError(f"rule {fn.__name__} declares no code; declare every code it emits")
    if any(rule.name == fn.__name__ for rule in FILE_RULES + BATCHED_RULES + SET_RULES):
        raise ValueError(f"two rules are named {fn.__name__}; rename one")
    declared = register_codes(fn.__name__, *codes)
    rules.append(Rule(fn.__name__, declared, (fn.__doc__ or "").strip(), fn, per_file))


def file_rule(*codes: Code) -> Callable[[FileCheck], FileCheck]:
    """Register a rule over one integration file; codes: every code it can emit."""

    def register(fn: FileCheck) -> FileCheck:
        _register(FILE_RULES, fn, codes, True)
        return fn

    return register


def set_rule(*codes: Code) -> Callable[[SetCheck], SetCheck]:
    """Register a rule over the facts of every loaded file; codes: every code it can emit."""

    def register(fn: SetCheck) -> SetCheck:
        _register(SET_RULES, fn, codes, False)
        return fn

    return register


def batched_rule(*codes: Code) -> Callable[[BatchCheck], BatchCheck]:
    """Register a rule over many loaded files at once whose findings each concern one file and
    depend on it alone (kept and reused per file); codes: every code it can emit."""

    def register(fn: BatchCheck) -> BatchCheck:
        _register(BATCHED_RULES, fn, codes, False)
        return fn

    return register


def all_rules() -> list[Rule]:
    _load_rule_modules()
    return FILE_RULES + BATCHED_RULES + SET_RULES


def all_codes() -> list[Code]:
    """Every code the provisioner can emit, sorted by code."""
    _load_rule_modules()
    # Importing a module declares the codes it emits outside rules.
    from provisioner import catalog  # noqa: F401
    from provisioner.history import timeline  # noqa: F401
    from provisioner.loading import loader, strict_yaml  # noqa: F401
    from provisioner.plan import desired, diff  # noqa: F401

    return sorted(CODES.values(), key=lambda c: c.code)


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
