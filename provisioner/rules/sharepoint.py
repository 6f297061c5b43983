"""What goes to SharePoint: each integration's folder and its documents need names it can hold."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath

from provisioner.diagnostics import Code, Finding, error
from provisioner.rules import RuleContext, file_rule, set_rule
from provisioner.sharepoint_names import name_problem, path_too_long
from provisioner.source import Facts, Source, folder_name


def folder_name_problem(name: str, base_path: str) -> str | None:
    return name_problem(name) or path_too_long(base_path, name)


def _registered_name(ine10: str, ctx: RuleContext) -> str | None:
    registered = ctx.catalog.eligible_by_ine10.get(ine10)
    return registered.name if registered else None


@file_rule(
    Code(
        "FOLDER-NAME",
        "error",
        "the SharePoint folder name has characters SharePoint refuses",
        "fix entity.name or fp",
    ),
)
def folder_name_legal(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """The folder name built from the catalog's pattern is legal in SharePoint."""
    sp = ctx.catalog.service.sharepoint
    ine10 = src.integration.entity.ine10
    name = folder_name(sp.folder_pattern, src.integration, _registered_name(ine10, ctx))
    if problem := folder_name_problem(name, f"{sp.library}/{sp.base_folder}"):
        yield error(
            src.rel,
            *src.at("entity", "name"),
            "FOLDER-NAME",
            f"the SharePoint folder name {name!r} {problem}; fix entity.name or fp",
        )


@file_rule(
    Code(
        "DOCUMENT-NAME",
        "error",
        "the CDA's or the form's file name cannot be held by SharePoint",
        "rename the file (letters, digits, spaces, '-', '_' and '.' are safe)",
    ),
)
def document_names_legal(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """The CDA and the form keep their file names in SharePoint: names it can hold."""
    sp = ctx.catalog.service.sharepoint
    folder = folder_name(sp.folder_pattern, src.integration)
    for key, written in (("cda", src.integration.cda), ("form", src.integration.form)):
        name = PurePosixPath(written).name
        problem = name_problem(name) or path_too_long(sp.library, sp.base_folder, folder, name)
        if problem:
            yield error(
                src.rel,
                *src.at(key),
                "DOCUMENT-NAME",
                f"{key}: the file name {name!r} {problem}, so SharePoint cannot store it; "
                "rename the file (letters, digits, spaces, '-', '_' and '.' are safe)",
            )


@set_rule(
    Code(
        "FOLDER-DUPLICATE",
        "error",
        "two integrations would share one SharePoint folder",
        "give each integration its own FP number",
    ),
)
def folder_names_unique(files: Sequence[Facts], ctx: RuleContext) -> Iterator[Finding]:
    """Two integrations never share a folder (SharePoint compares names without case)."""
    pattern = ctx.catalog.service.sharepoint.folder_pattern
    first: dict[str, Facts] = {}
    for src in files:
        name = pattern.format(
            fp=src.fp,
            entity_name=_registered_name(src.ine10, ctx) or src.entity_name,
            ine10=src.ine10,
        )
        key = name.casefold()
        if key in first:
            yield error(
                src.rel,
                *src.at("fp"),
                "FOLDER-DUPLICATE",
                f"the SharePoint folder {name!r} is also the folder of {first[key].rel}; "
                "each integration needs its own FP number",
            )
        else:
            first[key] = src
