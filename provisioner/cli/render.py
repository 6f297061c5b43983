"""Render diagnostics for people (text), for pull requests (GitHub annotations) and for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence

from provisioner.diagnostics import Diagnostic


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def diagnostics_text(diags: Sequence[Diagnostic], files: int) -> str:
    lines = [f"{d.file}:{d.line}:{d.column}: {d.code} {d.severity}: {d.message}" for d in diags]
    errors = sum(1 for d in diags if d.is_error)
    lines.append(f"{files} file(s) checked: {errors} error(s), {len(diags) - errors} warning(s)")
    return "\n".join(lines)


def diagnostics_github(diags: Sequence[Diagnostic], files: int) -> str:
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


def diagnostics_json(diags: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diags if d.is_error)
    return json.dumps(
        {
            "files": files,
            "errors": errors,
            "warnings": len(diags) - errors,
            "diagnostics": [d.as_dict() for d in diags],
        },
        indent=2,
        ensure_ascii=False,
    )


def diagnostics_markdown(diags: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diags if d.is_error)
    out = [f"**{files} file(s) checked: {errors} error(s), {len(diags) - errors} warning(s)**", ""]
    if diags:
        out += ["| | where | code | problem |", "|---|---|---|---|"]
        for d in diags:
            icon = "❌" if d.is_error else "⚠️"
            message = d.message.replace("|", "\\|")
            out.append(f"| {icon} | `{d.file}:{d.line}:{d.column}` | `{d.code}` | {message} |")
    return "\n".join(out)


RENDERERS = {
    "text": diagnostics_text,
    "github": diagnostics_github,
    "json": diagnostics_json,
    "markdown": diagnostics_markdown,
}
