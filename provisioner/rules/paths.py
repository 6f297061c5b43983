"""Documents the file points to: inside the repository, present, and regular files.

The answer itself comes from the run's RepositoryFiles (provisioner.loading.paths), which every
check that opens a document asks too; this module only reports it at the right line.
"""

from __future__ import annotations

from collections.abc import Iterator

from provisioner.diagnostics import Diagnostic, error
from provisioner.rules import RuleContext, file_rule
from provisioner.source import Source


def _checked_paths(src: Source) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    yield ("cda",), src.integration.cda, "cda"
    yield ("form",), src.integration.form, "form"
    for i, evidence in enumerate(src.integration.homologation):
        yield ("homologation", i), evidence, "homologation"


@file_rule(
    "PATH-EMPTY",
    "PATH-ABSOLUTE",
    "PATH-BACKSLASH",
    "PATH-ESCAPES",
    "PATH-MISSING",
    "PATH-NOT-FILE",
    "PATH-UNREADABLE",
)
def documents_present(src: Source, ctx: RuleContext) -> Iterator[Diagnostic]:
    """The CDA, the form and the evidence exist inside the repository."""
    for where, written, label in _checked_paths(src):
        found = ctx.files.problem(src.folder, written)
        if found:
            code, message = found
            hint = ""
            if code == "PATH-MISSING" and label in ("cda", "form"):
                hint = (
                    " (if the entity has not sent it, use "
                    f"`hestia-provisioner message request-info {src.rel}`)"
                )
            yield error(src.rel, *src.at(*where), code, f"{label}: {written!r} {message}{hint}")
