"""Documents the file points to: inside the repository, present, and regular files.

The answer itself comes from the run's RepositoryFiles (provisioner.loading.paths), which every
check that opens a document asks too; this module only reports it at the right line.
"""

from __future__ import annotations

from collections.abc import Iterator

from provisioner.diagnostics import Code, Finding, error
from provisioner.rules import RuleContext, file_rule
from provisioner.source import Source


def _checked_paths(src: Source) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    yield ("cda",), src.integration.cda, "cda"
    yield ("form",), src.integration.form, "form"
    for i, evidence in enumerate(src.integration.homologation):
        yield ("homologation", i), evidence, "homologation"


@file_rule(
    Code(
        "PATH-EMPTY",
        "error",
        "a document path is empty",
        "write the path of the file, relative to the integration file",
    ),
    Code(
        "PATH-ABSOLUTE",
        "error",
        "a document path is absolute",
        "write it relative to the integration file's folder",
    ),
    Code("PATH-BACKSLASH", "error", "a document path uses backslashes", "use forward slashes (/)"),
    Code(
        "PATH-ESCAPES",
        "error",
        "a document path leads outside the repository",
        "keep documents beside the integration file",
    ),
    Code(
        "PATH-MISSING",
        "error",
        "a document path names no file",
        "commit the file or correct the path",
    ),
    Code(
        "PATH-NOT-FILE",
        "error",
        "a document path names a folder or special file",
        "point at the document itself",
    ),
    Code("PATH-UNREADABLE", "error", "a document cannot be read", "commit a readable regular file"),
)
def documents_present(src: Source, ctx: RuleContext) -> Iterator[Finding]:
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
