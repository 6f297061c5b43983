"""Text is data: every key, name, path and free text of a file holds only visible characters.

A name reaches the Actions log, the markdown plan, the ledger's commit messages and SharePoint
folder names; a control character, a bidi override or a zero-width character in it could hide
or forge what reviewers and auditors read (see `provisioner.text`). Names of entities and
providers are also refused when they mix scripts, the mark of a look-alike spelling.

The loader runs it on every YAML file it reads (catalog and integrations), before the schema,
so a file refused for its structure still has its hostile text reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from provisioner.diagnostics import Finding, error
from provisioner.text import mixed_scripts, problem

if TYPE_CHECKING:
    from provisioner.loading.strict_yaml import Document

CODES = {
    "control": "TEXT-CONTROL",
    "bidi": "TEXT-BIDI",
    "invisible": "TEXT-INVISIBLE",
    "space": "TEXT-INVISIBLE",
}
MIXED = "TEXT-MIXED-SCRIPT"

#: Paths (with "*" for any list index) whose value is free text: line breaks allowed.
FREE_TEXT = frozenset({("notes",), ("modalities", "*", "description"), ("allow", "*", "reason")})
#: Names that people recognise by their look: one script only.
NAMES = frozenset(
    {
        ("entity", "name"),
        ("provider", "name"),
        ("eligible", "*", "name"),
        ("dependent", "*", "name"),
        ("aoc_name",),
    }
)


def _shape(path: tuple[str | int, ...]) -> tuple[str, ...]:
    return tuple("*" if isinstance(p, int) else p for p in path)


def _label(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "(file)"


Where = tuple[str | int, ...]


def _walk(data: Any, path: Where = ()) -> Iterator[tuple[Where, Any, bool]]:
    """(path, text, is_key) for every key and text value, without recursion limits."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = (*where, key)
                yield child, key, True
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend(((*where, i), item) for i, item in enumerate(value))
        elif isinstance(value, str):
            yield where, value, False


def document_text_diagnostics(doc: Document) -> list[Finding]:
    """Every key and text value of one YAML document, checked."""
    out: list[Finding] = []
    for path, text, is_key in _walk(doc.data):
        shape = _shape(path)
        found = problem(text, multiline=not is_key and shape in FREE_TEXT)
        line, col = doc.key_position(path) if is_key else doc.position(path)
        what = f"the key of {_label(path)}" if is_key else _label(path)
        if found is not None:
            kind, message = found
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    CODES[kind],
                    f"{what} {message}; retype the value with visible characters only "
                    "(it would reach logs, the plan, the ledger and SharePoint as is)",
                )
            )
        elif not is_key and shape in NAMES and (scripts := mixed_scripts(text)):
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    MIXED,
                    f"{what} {text!r} mixes letters of several scripts ("
                    + ", ".join(s.title() for s in scripts)
                    + "), the mark of a look-alike spelling; retype it in one script",
                )
            )
    return out
