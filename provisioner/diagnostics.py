"""Findings: what every check returns instead of raising.

One type for every result: validation of the files and the catalog, the checks of the CDA, the
signed form and the homologation evidence, the problems and warnings of a plan, the warnings of
the history. A document check does not know where its document is named, so its finding is
placed later (`placed`) at the line of the integration file that names it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

Severity = Literal["error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with a stable code, in a file at a line and column (1-based) once placed.

    `where` is a key path in the integration file (e.g. ("homologation", 2)) for checks that know
    which entry they mean but not its line; file, line and column stay empty (0) until placed.
    """

    severity: Severity
    code: str
    message: str
    file: str = ""
    line: int = 0
    column: int = 0
    where: tuple[str | int, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def placed(self, file: str, line: int, column: int, message: str | None = None) -> Finding:
        """This finding at file:line:column (with message instead of its own, if given)."""
        text = self.message if message is None else message
        return replace(self, file=file, line=line, column=column, message=text, where=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }

    def as_line(self) -> str:
        """`CODE: message (file:line)`, the one-line form of plans and ledger commits."""
        if not self.file:
            return f"{self.code}: {self.message}"
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.code}: {self.message} ({where})"


def error(file: str, line: int, column: int, code: str, message: str) -> Finding:
    return Finding("error", code, message, file, line, column)


def warning(file: str, line: int, column: int, code: str, message: str) -> Finding:
    return Finding("warning", code, message, file, line, column)


def count_errors(findings: Iterable[Finding]) -> int:
    return sum(1 for d in findings if d.is_error)


def sort_diagnostics(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda d: (d.file, d.line, d.column, d.code, d.message))


# ----------------------------------------------------------------------------- the codes


@dataclass(frozen=True, slots=True)
class Code:
    """A stable code as users look it up: how serious, what it means, how to fix it."""

    code: str
    severity: Severity
    summary: str
    fix: str
    origin: str = ""  # who emits it: a rule's name, or "loader", "catalog", "plan"...

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "summary": self.summary,
            "fix": self.fix,
            "origin": self.origin,
        }


class DuplicateCode(Exception):
    """Two places claim one code: a code must mean one thing, forever."""


#: Every code, by name, in the order registered. Filled when the emitting modules are imported.
CODES: dict[str, Code] = {}


def register_codes(origin: str, *codes: Code) -> tuple[Code, ...]:
    """Declare the codes origin emits; a code already declared elsewhere is refused."""
    for c in codes:
        known = CODES.get(c.code)
        if known is not None:
            raise DuplicateCode(
                f"code {c.code} is declared by {origin} and already by {known.origin}; "
                "reuse the declared code without declaring it again, or choose a new code"
            )
        CODES[c.code] = replace(c, origin=origin)
    return codes
