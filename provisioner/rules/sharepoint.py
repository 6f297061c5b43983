"""The SharePoint folder that each integration gets: a legal, unique name."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from provisioner.diagnostics import Diagnostic, error
from provisioner.rules import RuleContext, file_rule, set_rule
from provisioner.source import Source, folder_name

ILLEGAL_CHARACTERS = '"*:<>?/\\|'
MAX_SEGMENT = 128  # generous for a name; keeps the whole decoded path under SharePoint's 400
MAX_PATH = 400
_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com[0-9]|lpt[0-9]|desktop\.ini|_vti_.*|forms)$", re.I)


def folder_name_problem(name: str, base_path: str) -> str | None:
    bad = sorted({c for c in name if c in ILLEGAL_CHARACTERS or ord(c) < 32})
    if bad:
        return "contains characters SharePoint refuses: " + " ".join(repr(c) for c in bad)
    if name != name.strip() or name.endswith("."):
        return "starts or ends with a space or ends with a dot"
    if name.startswith("~$") or "_vti_" in name or _RESERVED.match(name):
        return "is a name SharePoint reserves"
    if len(name) > MAX_SEGMENT:
        return f"is {len(name)} characters long; at most {MAX_SEGMENT}"
    if len(base_path) + 1 + len(name) > MAX_PATH:
        return f"makes the folder path longer than {MAX_PATH} characters"
    return None


@file_rule("FOLDER-NAME")
def folder_name_legal(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """The folder name built from the catalog's pattern is legal in SharePoint."""
    sp = ctx.catalog.service.sharepoint
    name = folder_name(sp.folder_pattern, src.integration)
    if problem := folder_name_problem(name, f"{sp.library}/{sp.base_folder}"):
        yield error(
            src.rel,
            *src.at("entity", "name"),
            "FOLDER-NAME",
            f"the SharePoint folder name {name!r} {problem}; fix entity.name or fp",
        )


@set_rule("FOLDER-DUPLICATE")
def folder_names_unique(sources: Sequence[Source], ctx: RuleContext) -> Iterator[Diagnostic]:
    """Two integrations never share a folder (SharePoint compares names without case)."""
    pattern = ctx.catalog.service.sharepoint.folder_pattern
    first: dict[str, Source] = {}
    for src in sources:
        name = folder_name(pattern, src.integration)
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
