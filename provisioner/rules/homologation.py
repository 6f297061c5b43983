"""The gate to PRO: successful PRE tests for this entity (see provisioner.documents.evidence)."""

from __future__ import annotations

from collections.abc import Iterator

from provisioner.diagnostics import Diagnostic, error, warning
from provisioner.documents.evidence import Expectations, check_evidence
from provisioner.identifiers import ine10_problem
from provisioner.rules import RuleContext, file_rule
from provisioner.source import Source


@file_rule(
    "HOMOLOGATION-MISSING",
    "HOMOLOGATION-XML",
    "HOMOLOGATION-NOT-REQUEST",
    "HOMOLOGATION-NOT-RESPONSE",
    "HOMOLOGATION-ENTITY",
    "HOMOLOGATION-INE10-LEADING-ZERO",
    "HOMOLOGATION-REQUESTER",
    "HOMOLOGATION-SPECIFIC-INE",
    "HOMOLOGATION-MODALITY",
    "HOMOLOGATION-PRODUCT",
    "HOMOLOGATION-RESULT",
    "HOMOLOGATION-NAME",
    "HOMOLOGATION-UNPAIRED",
    "HOMOLOGATION-DUPLICATE",
    "HOMOLOGATION-PLACEHOLDER",
    "HOMOLOGATION-EMPTY",
    "HOMOLOGATION-ENTITY-NAME",
)
def homologation_evidence(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """PRE tests carried the entity's data and succeeded; PRO needs one per used modality."""
    integration = src.integration
    required = integration.environment == "PRO"
    if not required and not integration.homologation:
        return
    if ine10_problem(integration.entity.ine10):
        return  # reported by ine10_format; every request would only look foreign
    service = ctx.catalog.service
    want = Expectations(
        entity_ine10=integration.entity.ine10,
        aoc_ine10=service.aoc_ine10,
        product=service.product,
        granted=ctx.catalog.granted_modalities(integration),
        unused=tuple(integration.unused_modalities),
        required=required,
        entity_name=integration.entity.name,
    )
    usable = ctx.files.usable
    evidence = [(written, usable(src.folder, written)) for written in integration.homologation]
    for finding in check_evidence(evidence, want, ctx.files.read):
        if finding.index is not None:
            where = src.at("homologation", finding.index)
        elif integration.homologation:
            where = src.doc.key_position(("homologation",))
        else:
            where = src.at("environment")
        make = error if finding.severity == "error" else warning
        yield make(src.rel, *where, finding.code, finding.message)
