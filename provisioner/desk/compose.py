"""Gathering what a message states: the rules' findings for the file and the entity's other
integrations in the repository. The edge between the files and the pure message renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from provisioner.catalog import Catalog
from provisioner.desk.draft import DeskFile
from provisioner.desk.messages import Situation, needs_valid_file, render_message
from provisioner.diagnostics import Finding
from provisioner.source import Source

if TYPE_CHECKING:
    from provisioner.documents.edges import DocumentEdges


@dataclass(frozen=True)
class Composed:
    """A message, or the errors that keep it from being written."""

    text: str | None
    problems: list[Finding] = field(default_factory=list)
    files: int = 0


def file_findings(
    desk: DeskFile, edges: DocumentEdges | None = None
) -> tuple[list[Finding], tuple[str, ...]]:
    """Every rule's findings for this one file, even incomplete, and who signed its form."""
    from provisioner.documents.edges import DocumentEdges
    from provisioner.loading.paths import RepositoryFiles
    from provisioner.rules import RuleContext
    from provisioner.rules.documents import FORM_SIGNERS_MEMO
    from provisioner.rules.run import run_rules

    src = desk.source
    files = RepositoryFiles(src.repo_root.resolve())
    ctx = RuleContext(desk.catalog, files, edges=edges or DocumentEdges())
    found = [d for d in run_rules([src], ctx) if d.file == src.rel]
    signers: dict[str, tuple[str, ...]] = ctx.memo.get(FORM_SIGNERS_MEMO, {})
    return found, signers.get(src.rel, ())


def refused_ips(src: Source, diagnostics: Sequence[Finding]) -> tuple[str, ...]:
    """The IPs an IP-* error points at."""
    where = {(d.line, d.column) for d in diagnostics if d.is_error and d.code.startswith("IP-")}
    return tuple(ip for i, ip in enumerate(src.integration.ips) if src.at("ips", i) in where)


def entity_situation(
    src: Source, sources: Sequence[Source], catalog: Catalog
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(other providers of the entity, what APP grants the entity in src's environment).

    PRE holds every integration; PRO only the PRO ones. APP grants the entity the union.
    """
    entity = src.integration.entity.ine10
    siblings = [
        s
        for s in sources
        if s.integration.entity.ine10 == entity
        and s.integration.provider.nif != src.integration.provider.nif
    ]
    others = tuple(dict.fromkeys(s.integration.provider.name for s in siblings))
    in_env = [
        s
        for s in siblings
        if src.integration.environment == "PRE" or s.integration.environment == "PRO"
    ]
    union = set(catalog.granted_modalities(src.integration))
    for s in in_env:
        union |= set(catalog.granted_modalities(s.integration))
    return others, tuple(m for m in catalog.modality_codes if m in union)


def compose(
    kind: str,
    desk: DeskFile,
    *,
    force: bool,
    now: datetime,
    edges: DocumentEdges | None = None,
) -> Composed:
    """The message `kind` for the file, or why it cannot be written.

    `edges`: the caches and form pool the caller lends to validation. Raises MessageProblem
    when the message does not apply; FatalError when the file cannot be validated
    (outside the repository).
    """
    from provisioner.rules.run import validate

    src, catalog = desk.source, desk.catalog
    situation = Situation()
    if needs_valid_file(kind):
        report = validate(src.repo_root, [src.path], edges=edges, now=now)
        problems = [d for d in report.diagnostics if d.is_error]
        if problems and not force:
            return Composed(None, problems, report.files)
        others, granted = entity_situation(src, report.sources, catalog)
        situation = Situation(
            other_providers=others,
            entity_modalities=granted,
            form_signers=report.form_signers.get(src.rel, ()),
        )
    elif kind == "request-info":
        found, signers = file_findings(desk, edges)
        situation = Situation(
            diagnostics=tuple(found),
            form_signers=signers,
            refused_ips=refused_ips(src, found),
        )
    text = render_message(
        kind,
        src.integration,
        catalog,
        folder=src.folder,
        repo_root=src.repo_root,
        now=now,
        situation=situation,
        file=src.rel,
    )
    return Composed(text)
