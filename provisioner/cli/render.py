"""Render diagnostics for people (text), for pull requests (GitHub annotations) and for tools."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provisioner.diagnostics import Finding
from provisioner.formats import Formats
from provisioner.text import (
    json_text,
    md_code,
    md_text,
    visible,
    workflow_data,
    workflow_property,
)

FORMATS: Formats[Callable[[Sequence[Finding], int], str]] = Formats("diagnostics")

_escape_data = workflow_data
_escape_property = workflow_property


@FORMATS.register("text")
def diagnostics_text(diags: Sequence[Finding], files: int) -> str:
    lines = [
        visible(f"{d.file}:{d.line}:{d.column}: {d.code} {d.severity}: {d.message}") for d in diags
    ]
    errors = sum(1 for d in diags if d.is_error)
    lines.append(f"{files} file(s) checked: {errors} error(s), {len(diags) - errors} warning(s)")
    return "\n".join(lines)


@FORMATS.register("github")
def diagnostics_github(diags: Sequence[Finding], files: int) -> str:
    """Workflow commands: GitHub shows each one on the line of the pull request's diff."""
    lines = []
    for d in diags:
        props = ",".join(
            [
                f"file={_escape_property(d.file)}",
                f"line={d.line}",
                f"col={d.column}",
                f"title={_escape_property(d.code)}",
            ]
        )
        lines.append(f"::{d.severity} {props}::{_escape_data(d.message)}")
    errors = sum(1 for d in diags if d.is_error)
    lines.append(f"{files} file(s) checked: {errors} error(s), {len(diags) - errors} warning(s)")
    return "\n".join(lines)


@FORMATS.register("json")
def diagnostics_json(diags: Sequence[Finding], files: int) -> str:
    errors = sum(1 for d in diags if d.is_error)
    return json_text(
        {
            "files": files,
            "errors": errors,
            "warnings": len(diags) - errors,
            "diagnostics": [d.as_dict() for d in diags],
        }
    )


@FORMATS.register("markdown")
def diagnostics_markdown(diags: Sequence[Finding], files: int) -> str:
    errors = sum(1 for d in diags if d.is_error)
    out = [f"**{files} file(s) checked: {errors} error(s), {len(diags) - errors} warning(s)**", ""]
    if diags:
        out += ["| | where | code | problem |", "|---|---|---|---|"]
        for d in diags:
            icon = "❌" if d.is_error else "⚠️"
            where = md_code(f"{d.file}:{d.line}:{d.column}", table=True)
            code = md_code(d.code, table=True)
            out.append(f"| {icon} | {where} | {code} | {md_text(d.message)} |")
    return "\n".join(out)
