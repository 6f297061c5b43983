"""One file per (entity, provider), one file per FP ticket, files where the layout says."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from provisioner.diagnostics import Diagnostic, error, warning
from provisioner.rules import RuleContext, file_rule, set_rule
from provisioner.source import Source


@set_rule("DUPLICATE-INTEGRATION")
def one_file_per_pair(sources: Sequence[Source], ctx: RuleContext) -> Iterator[Diagnostic]:
    """The same entity and provider are described once."""
    first: dict[tuple[str, str], Source] = {}
    for src in sources:
        key = (src.integration.entity.ine10, src.integration.provider.nif)
        if key in first:
            yield error(
                src.rel,
                *src.at("provider", "nif"),
                "DUPLICATE-INTEGRATION",
                f"entity {key[0]} through provider {key[1]} is already described in "
                f"{first[key].rel}; edit that file instead of adding another",
            )
        else:
            first[key] = src


@set_rule("DUPLICATE-FP")
def one_file_per_ticket(sources: Sequence[Source], ctx: RuleContext) -> Iterator[Diagnostic]:
    """An FP ticket number identifies one request."""
    first: dict[str, Source] = {}
    for src in sources:
        fp = src.integration.fp
        ticket = fp.lstrip("0") or "0"  # "0265594" and "265594" name the same ticket
        if ticket in first:
            yield error(
                src.rel,
                *src.at("fp"),
                "DUPLICATE-FP",
                f"FP {fp} is already used by {first[ticket].rel}; check the ticket number",
            )
        else:
            first[ticket] = src


@file_rule("FP-FORMAT")
def fp_format(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """The FP number is digits only (no 'FP#' prefix)."""
    fp = src.integration.fp
    if not (fp.isascii() and fp.isdigit() and 0 < len(fp) <= 10):
        digits = "".join(c for c in fp if c.isdigit())
        hint = f'; write fp: "{digits}"' if digits else ""
        yield error(
            src.rel, *src.at("fp"), "FP-FORMAT", f"fp {fp!r} must be the ticket's digits only{hint}"
        )


@file_rule("LAYOUT-FOLDER")
def file_in_entity_folder(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """Files live in integrations/<INE10>/, so one entity's integrations sit together."""
    parent = src.folder.name
    ine10 = src.integration.entity.ine10
    if parent != ine10:
        yield warning(
            src.rel,
            *src.at("entity", "ine10"),
            "LAYOUT-FOLDER",
            f"this file is in '{parent}/' but describes entity {ine10}; "
            f"move it to integrations/{ine10}/",
        )
