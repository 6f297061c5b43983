"""Who integrates: INE10, NIFs, the register of eligible entities, and the modalities."""

from __future__ import annotations

from collections.abc import Iterator

from provisioner.diagnostics import Diagnostic, error, warning
from provisioner.identifiers import ine10_problem, nif_problem
from provisioner.rules import RuleContext, file_rule
from provisioner.source import Source


@file_rule("INE10-FORMAT", "INE10-LEADING-ZERO")
def ine10_format(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """The entity's INE10 is exactly ten digits."""
    ine10 = src.integration.entity.ine10
    if problem := ine10_problem(ine10):
        code = "INE10-LEADING-ZERO" if len(ine10) == 9 and ine10.isdigit() else "INE10-FORMAT"
        yield error(src.rel, *src.at("entity", "ine10"), code, f"entity.ine10 {ine10!r} {problem}")


@file_rule("NIF-CHECK")
def nif_check(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """Entity and provider NIFs have the right check character."""
    for owner in ("entity", "provider"):
        nif = getattr(src.integration, owner).nif
        if problem := nif_problem(nif):
            yield error(
                src.rel, *src.at(owner, "nif"), "NIF-CHECK", f"{owner}.nif {nif!r} {problem}"
            )


@file_rule(
    "ENTITY-NOT-ELIGIBLE", "ENTITY-DEPENDS-ON-ABSS", "ENTITY-NIF-MISMATCH", "ENTITY-NAME-MISMATCH"
)
def entity_in_register(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """The entity is in the register with this INE10 and NIF; dependents go through their ABSS."""
    entity = src.integration.entity
    if ine10_problem(entity.ine10):
        return  # reported by ine10_format; a lookup would only add noise
    where = src.at("entity", "ine10")
    registered = ctx.catalog.eligible_by_ine10.get(entity.ine10)
    if registered is None:
        dependent = ctx.catalog.dependent_by_ine10.get(entity.ine10)
        if dependent is not None:
            abss = ctx.catalog.eligible_by_ine10.get(dependent.abss)
            abss_name = abss.name if abss else dependent.abss
            yield error(
                src.rel,
                *where,
                "ENTITY-DEPENDS-ON-ABSS",
                f"{dependent.name} depends on the ABSS {abss_name} ({dependent.abss}) and cannot "
                f"integrate directly: it must integrate through {abss_name}. Close the request "
                f"with `hestia-provisioner message abss-redirect {src.rel}` and remove this file",
            )
            return
        yield error(
            src.rel,
            *where,
            "ENTITY-NOT-ELIGIBLE",
            f"INE10 {entity.ine10} ({entity.name}) is not in the register of entities that may "
            "integrate (catalog/entities.yaml): escalate to the head of service with "
            f"`hestia-provisioner message not-eligible {src.rel}`; if approved, add it to the "
            "register",
        )
        return
    if registered.nif != entity.nif:
        yield error(
            src.rel,
            *src.at("entity", "nif"),
            "ENTITY-NIF-MISMATCH",
            f"entity.nif {entity.nif} does not match the register's {registered.nif} for "
            f"INE10 {entity.ine10}; check both the INE10 and the NIF against the signed form",
        )
    if registered.name != entity.name:
        yield warning(
            src.rel,
            *src.at("entity", "name"),
            "ENTITY-NAME-MISMATCH",
            f"entity.name {entity.name!r} differs from the register's {registered.name!r}; "
            "use the register's name: entity.name also names the SharePoint folder",
        )


@file_rule("MODALITY-UNKNOWN", "MODALITY-DUPLICATE", "MODALITY-UNUSED-UNKNOWN")
def modalities_known(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """Modalities are codes of the catalog, each listed once."""
    known = ctx.catalog.modality_codes
    integration = src.integration
    granted = set(known) if integration.modalities == "all" else set()
    if integration.modalities != "all":
        seen: set[str] = set()
        for i, code in enumerate(integration.modalities):
            if code in seen:
                yield error(
                    src.rel,
                    *src.at("modalities", i),
                    "MODALITY-DUPLICATE",
                    f"modality {code} is listed twice; remove one",
                )
            seen.add(code)
            if code not in known:
                yield error(
                    src.rel,
                    *src.at("modalities", i),
                    "MODALITY-UNKNOWN",
                    f"unknown modality {code!r}; use 'all' or codes from catalog/service.yaml: "
                    + ", ".join(known),
                )
        granted = seen & set(known)
    for i, code in enumerate(integration.unused_modalities):
        if code not in granted:
            yield error(
                src.rel,
                *src.at("unused_modalities", i),
                "MODALITY-UNUSED-UNKNOWN",
                f"unused_modalities lists {code!r}, which this integration is not granted; "
                "list only granted modalities",
            )
