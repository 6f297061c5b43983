"""Who integrates: INE10, NIFs, the register of eligible entities, and the modalities."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from provisioner.catalog import Catalog
from provisioner.diagnostics import Code, Finding, error, warning
from provisioner.identifiers import ine10_problem, nif_problem
from provisioner.rules import RuleContext, file_rule
from provisioner.source import Source

if TYPE_CHECKING:
    from provisioner.loading.strict_yaml import Document
    from provisioner.model import Entity

Where = Callable[..., tuple[int, int]]


def _ine10(rel: str, at: Where, entity: Entity) -> Iterator[Finding]:
    if problem := ine10_problem(entity.ine10):
        ine10 = entity.ine10
        code = "INE10-LEADING-ZERO" if len(ine10) == 9 and ine10.isdigit() else "INE10-FORMAT"
        yield error(rel, *at("entity", "ine10"), code, f"entity.ine10 {ine10!r} {problem}")


def _nif(rel: str, at: Where, owner: str, nif: str) -> Iterator[Finding]:
    if problem := nif_problem(nif):
        yield error(rel, *at(owner, "nif"), "NIF-CHECK", f"{owner}.nif {nif!r} {problem}")


def _register(rel: str, at: Where, entity: Entity, catalog: Catalog) -> Iterator[Finding]:
    if ine10_problem(entity.ine10):
        return  # reported by ine10_format; a lookup would only add noise
    where = at("entity", "ine10")
    registered = catalog.eligible_by_ine10.get(entity.ine10)
    if registered is None:
        dependent = catalog.dependent_by_ine10.get(entity.ine10)
        if dependent is not None:
            abss = catalog.eligible_by_ine10.get(dependent.abss)
            abss_name = abss.name if abss else dependent.abss
            yield error(
                rel,
                *where,
                "ENTITY-DEPENDS-ON-ABSS",
                f"{dependent.name} depends on the ABSS {abss_name} ({dependent.abss}) and cannot "
                f"integrate directly: it must integrate through {abss_name}. Close the request "
                f"with `hestia-provisioner message abss-redirect {rel}` and remove this file",
            )
            return
        yield error(
            rel,
            *where,
            "ENTITY-NOT-ELIGIBLE",
            f"INE10 {entity.ine10} ({entity.name}) is not in the register of entities that may "
            "integrate (catalog/entities.yaml): escalate to the head of service with "
            f"`hestia-provisioner message not-eligible {rel}`; if approved, add it to the "
            "register",
        )
        return
    if registered.nif != entity.nif:
        yield error(
            rel,
            *at("entity", "nif"),
            "ENTITY-NIF-MISMATCH",
            f"entity.nif {entity.nif} does not match the register's {registered.nif} for "
            f"INE10 {entity.ine10}; check both the INE10 and the NIF against the signed form",
        )
    if registered.name != entity.name:
        yield warning(
            rel,
            *at("entity", "name"),
            "ENTITY-NAME-MISMATCH",
            f"entity.name {entity.name!r} differs from the register's {registered.name!r}; "
            "use the register's name: entity.name also names the SharePoint folder",
        )


@file_rule(
    Code(
        "INE10-FORMAT",
        "error",
        "entity.ine10 is not 10 digits",
        "write the INE10 as text of 10 digits",
    ),
    Code(
        "INE10-LEADING-ZERO",
        "error",
        "entity.ine10 has 9 digits: its leading zero was lost",
        'write it in quotes with the zero, e.g. "0805690004"',
    ),
)
def ine10_format(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """The entity's INE10 is exactly ten digits."""
    yield from _ine10(src.rel, src.at, src.integration.entity)


@file_rule(
    Code(
        "NIF-CHECK",
        "error",
        "a NIF has a wrong check character",
        "copy the NIF again from the request",
    ),
)
def nif_check(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """Entity and provider NIFs have the right check character."""
    yield from _nif(src.rel, src.at, "entity", src.integration.entity.nif)
    yield from _nif(src.rel, src.at, "provider", src.integration.provider.nif)


@file_rule(
    Code(
        "ENTITY-NOT-ELIGIBLE",
        "error",
        "the entity is not in the register of eligible entities",
        "close the request with the not-eligible message, or correct ine10",
    ),
    Code(
        "ENTITY-DEPENDS-ON-ABSS",
        "error",
        "the entity depends on an ABSS and cannot integrate directly",
        "close the request with the abss-redirect message and remove the file",
    ),
    Code(
        "ENTITY-NIF-MISMATCH",
        "error",
        "entity.nif differs from the register",
        "copy the NIF from the register or check the request",
    ),
    Code(
        "ENTITY-NAME-MISMATCH",
        "warning",
        "entity.name differs from the register",
        "use the register's name unless the request says otherwise",
    ),
)
def entity_in_register(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """The entity is in the register with this INE10 and NIF; dependents go through their ABSS."""
    yield from _register(src.rel, src.at, src.integration.entity, ctx.catalog)


def partial_entity_diagnostics(doc: Document, catalog: Catalog) -> list[Finding]:
    """The entity rules on a file that is not a complete integration yet.

    The procedure asks about eligibility first: a request from an entity that is not on the
    list, or that depends on an ABSS, gets that verdict even before its documents arrive.
    """
    from pydantic import ValidationError

    from provisioner.model import Entity

    data = doc.data
    if not isinstance(data, dict):
        return []
    try:
        entity = Entity.model_validate(data.get("entity"))
    except ValidationError:
        return []

    def at(*path: str | int) -> tuple[int, int]:
        return doc.position(path)

    out = [*_ine10(doc.file, at, entity), *_nif(doc.file, at, "entity", entity.nif)]
    return out + list(_register(doc.file, at, entity, catalog))


@file_rule(
    Code(
        "MODALITY-UNKNOWN",
        "error",
        "a modality is not in the catalog",
        "use codes from catalog/modalities.yaml",
    ),
    Code("MODALITY-DUPLICATE", "error", "a modality is listed twice", "remove one"),
    Code(
        "MODALITY-UNUSED-UNKNOWN",
        "error",
        "unused_modalities names a modality that is not granted",
        "list only granted modalities",
    ),
    Code(
        "MODALITY-SUBSET",
        "warning",
        "modalities lists fewer than all the catalog's modalities",
        "write `modalities: all` unless the integrator asked for fewer",
    ),
)
def modalities_known(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """Modalities are codes of the catalog, each listed once; fewer than all is worth a word."""
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
        left_out = [code for code in known if code not in seen]
        if left_out:
            # The procedure authorises every modality; a subset is a choice a reviewer confirms.
            yield warning(
                src.rel,
                *src.at("modalities"),
                "MODALITY-SUBSET",
                "modalities leaves out " + ", ".join(left_out) + ": the procedure authorises "
                "all of them (write `modalities: all` or remove the field); keep the list only "
                "if the integrator asked for fewer",
            )
    for i, code in enumerate(integration.unused_modalities):
        if code not in granted:
            yield error(
                src.rel,
                *src.at("unused_modalities", i),
                "MODALITY-UNUSED-UNKNOWN",
                f"unused_modalities lists {code!r}, which this integration is not granted; "
                "list only granted modalities",
            )
