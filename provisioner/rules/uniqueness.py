"""One file per (entity, provider), one file per FP ticket, files where the layout says."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from provisioner.diagnostics import Code, Finding, error, warning
from provisioner.rules import RuleContext, file_rule, set_rule
from provisioner.source import Facts, Source


@set_rule(
    Code(
        "DUPLICATE-INTEGRATION",
        "error",
        "the same entity and provider are described twice",
        "edit the existing file instead of adding another",
    ),
)
def one_file_per_pair(files: Sequence[Facts], ctx: RuleContext) -> Iterator[Finding]:
    """The same entity and provider are described once."""
    first: dict[tuple[str, str], Facts] = {}
    for src in files:
        key = (src.ine10, src.provider_nif)
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


@set_rule(
    Code("DUPLICATE-FP", "error", "two files use the same FP number", "check the ticket number"),
)
def one_file_per_ticket(files: Sequence[Facts], ctx: RuleContext) -> Iterator[Finding]:
    """An FP ticket number identifies one request."""
    first: dict[str, Facts] = {}
    for src in files:
        fp = src.fp
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


@file_rule(
    Code(
        "FP-FORMAT",
        "error",
        "fp is not a ticket number",
        "write the FP ticket number as text of digits",
    ),
)
def fp_format(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """The FP number is digits only (no 'FP#' prefix)."""
    fp = src.integration.fp
    if not (fp.isascii() and fp.isdigit() and 0 < len(fp) <= 10):
        digits = "".join(c for c in fp if c.isdigit())
        hint = f'; write fp: "{digits}"' if digits else ""
        yield error(
            src.rel, *src.at("fp"), "FP-FORMAT", f"fp {fp!r} must be the ticket's digits only{hint}"
        )


@file_rule(
    Code(
        "LAYOUT-FOLDER",
        "warning",
        "the file is not in the folder of its entity's INE10",
        "move it to integrations/<INE10>/",
    ),
)
def file_in_entity_folder(src: Source, ctx: RuleContext) -> Iterator[Finding]:
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
