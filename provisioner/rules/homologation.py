"""The gate to PRO: successful PRE tests for this entity (see provisioner.documents.evidence)."""

from __future__ import annotations

from collections.abc import Iterator

from provisioner.diagnostics import Code, Finding
from provisioner.identifiers import ine10_problem
from provisioner.rules import RuleContext, file_rule
from provisioner.source import Source


@file_rule(
    Code(
        "HOMOLOGATION-MISSING",
        "error",
        "a granted modality has no passing PRE test (PRO)",
        "add its request and response, or list it in unused_modalities",
    ),
    Code(
        "HOMOLOGATION-XML",
        "error",
        "an evidence file is not safe, well-formed XML",
        "attach the XML exactly as exchanged, without a DOCTYPE",
    ),
    Code(
        "HOMOLOGATION-NOT-REQUEST",
        "error",
        "a .request.xml file is not an SCSP request",
        "attach the Peticion as sent",
    ),
    Code(
        "HOMOLOGATION-NOT-RESPONSE",
        "error",
        "a .response.xml file is not an SCSP response",
        "attach Hèstia's answer as received",
    ),
    Code(
        "HOMOLOGATION-ENTITY",
        "error",
        "a request was not made for this entity",
        "repeat the test with the entity's INE10 in DatosAutorizacion",
    ),
    Code(
        "HOMOLOGATION-INE10-LEADING-ZERO",
        "warning",
        "a request carries the entity's INE10 without its leading zero",
        "accepted; tell the integrator to send all 10 digits",
    ),
    Code(
        "HOMOLOGATION-REQUESTER",
        "error",
        "the requester is not AOC's INE10",
        "repeat the test with AOC as requester",
    ),
    Code(
        "HOMOLOGATION-SPECIFIC-INE",
        "error",
        "the specific data's INE code is not AOC's",
        "repeat the test with AOC's INE10 in the specific data",
    ),
    Code(
        "HOMOLOGATION-MODALITY",
        "error",
        "a request tests a modality that is missing or not granted",
        "test a granted modality",
    ),
    Code(
        "HOMOLOGATION-PRODUCT",
        "error",
        "a request is not for the product HESTIA",
        "repeat the test for HESTIA",
    ),
    Code(
        "HOMOLOGATION-RESULT",
        "error",
        "a response reports a failed test",
        "repeat the test in PRE until Hèstia answers 0",
    ),
    Code(
        "HOMOLOGATION-NAME",
        "error",
        "an evidence file is not named X.request.xml or X.response.xml",
        "rename it so request and response pair",
    ),
    Code(
        "HOMOLOGATION-UNPAIRED",
        "error",
        "a request has no response, or a response no request",
        "list both files of the pair",
    ),
    Code("HOMOLOGATION-DUPLICATE", "error", "an evidence file is listed twice", "remove one"),
    Code(
        "HOMOLOGATION-PLACEHOLDER",
        "error",
        "a request still holds '?' placeholders",
        "attach the request exactly as sent in PRE",
    ),
    Code(
        "HOMOLOGATION-EMPTY",
        "error",
        "a request has an empty field",
        "attach the complete request, exactly as sent in PRE",
    ),
    Code(
        "HOMOLOGATION-ENTITY-NAME",
        "error",
        "a request names another entity as NombreSolicitante",
        "repeat the test with the entity's own data",
    ),
)
def homologation_evidence(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """PRE tests carried the entity's data and succeeded; PRO needs one per used modality."""
    integration = src.integration
    required = integration.environment == "PRO"
    if not required and not integration.homologation:
        return
    if ine10_problem(integration.entity.ine10):
        return  # reported by ine10_format; every request would only look foreign
    # Imported here: the XML checks are needed only by files that name evidence (or go to PRO).
    from provisioner.documents.evidence import Expectations, check_evidence

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
    for finding in check_evidence(evidence, want, ctx.read):
        if finding.where:
            where = src.at(*finding.where)
        elif integration.homologation:
            where = src.doc.key_position(("homologation",))
        else:
            where = src.at("environment")
        yield finding.placed(src.rel, *where)
