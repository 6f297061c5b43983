"""From a strict YAML document to a validated model, with every problem positioned."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from provisioner.diagnostics import Code, Finding, error, register_codes
from provisioner.loading.raw import read_raw
from provisioner.loading.strict_yaml import Document, TypedScalar, load_bytes

register_codes(
    "loader",
    Code(
        "FILE-OUTSIDE",
        "error",
        "the YAML file is a symbolic link that leaves the repository",
        "commit the file itself",
    ),
    Code(
        "TEXT-CONTROL",
        "error",
        "a value or key holds a control character (C0, C1, U+2028/2029)",
        "retype the value with visible characters only",
    ),
    Code(
        "TEXT-BIDI",
        "error",
        "a value or key holds a bidirectional-text control",
        "retype the value with visible characters only",
    ),
    Code(
        "TEXT-INVISIBLE",
        "error",
        "a value or key holds an invisible (zero-width, format) character or an unusual space",
        "retype the value with visible characters only",
    ),
    Code(
        "TEXT-MIXED-SCRIPT",
        "error",
        "an entity or provider name mixes scripts (a look-alike spelling)",
        "retype the name in one script",
    ),
    Code(
        "FILE-UNREADABLE",
        "error",
        "the file cannot be read (not a regular file, permissions, broken link)",
        "commit a readable regular file",
    ),
    Code(
        "YAML-AMBIGUOUS",
        "error",
        "YAML 1.1 and YAML 1.2 tools read a value differently",
        "write the value in quotes",
    ),
    Code(
        "YAML-IMPLICIT-TYPE",
        "error",
        "a text field holds a number, date or boolean",
        'write the value in quotes, e.g. ine10: "0805690004"',
    ),
    Code("SCHEMA-MISSING", "error", "a required field is missing", "add the field"),
    Code(
        "SCHEMA-UNKNOWN-FIELD",
        "error",
        "a field is not part of the format",
        "check the spelling against the documented layout",
    ),
    Code(
        "SCHEMA-TYPE",
        "error",
        "a field has the wrong type (text, list, mapping)",
        "write the value with the expected type",
    ),
    Code(
        "SCHEMA-VALUE",
        "error",
        "a field holds a value that is not allowed",
        "use one of the values the message lists",
    ),
    Code(
        "SCHEMA-INVALID",
        "error",
        "a field does not have the expected form",
        "correct the value as the message says",
    ),
)

M = TypeVar("M", bound=BaseModel)

_TYPE_WORDS = {
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "int_type": "a whole number",
    "bool_type": "true or false",
}


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names accepted at the mapping that holds loc[-1]."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
        args = getattr(current, "__args__", None)
        while args and not hasattr(current, "model_fields"):
            current = next((a for a in args if hasattr(a, "model_fields")), args[0])
            args = getattr(current, "__args__", None)
    return list(getattr(current, "model_fields", {}))


def _typed_message(field: str, typed: TypedScalar, wanted: str) -> str:
    return (
        f"{field}: {typed.describe()}, not {wanted}; "
        f"write it in quotes so every tool reads the same text: {field}: {typed.quoted()}"
    )


def _clean_loc(doc: Document, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop the union-branch labels pydantic adds (they are not keys in the file)."""
    out: list[str | int] = []
    for part in loc:
        candidate = (*out, part)
        known = candidate in doc.positions or candidate in doc.key_positions
        label = isinstance(part, str) and any(c in part for c in "[]'(),")
        if isinstance(part, int) or known or not label:
            out.append(part)
    return tuple(out)


def model_diagnostics(doc: Document, model: type[BaseModel], exc: ValidationError) -> list[Finding]:
    grouped: dict[tuple[str | int, ...], list[Any]] = {}
    for err in exc.errors(include_url=False):
        grouped.setdefault(_clean_loc(doc, tuple(err["loc"])), []).append(err)
    out: list[Finding] = []
    for loc, errs in grouped.items():
        name = ".".join(str(p) for p in loc) or "(file)"
        field = str(loc[-1]) if loc and isinstance(loc[-1], str) else name
        first = errs[0]
        kind = first["type"]
        if kind == "missing":
            line, col = doc.position(loc[:-1])
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    "SCHEMA-MISSING",
                    f"required field '{name}' is missing; add it",
                )
            )
            continue
        if kind == "extra_forbidden":
            line, col = doc.key_position(loc)
            allowed = ", ".join(_allowed_fields(model, loc))
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    "SCHEMA-UNKNOWN-FIELD",
                    f"unknown field '{field}'; check the spelling (allowed here: {allowed})",
                )
            )
            continue
        line, col = doc.position(loc)
        typed = doc.typed.get(loc)
        wanted = [_TYPE_WORDS[e["type"]] for e in errs if e["type"] in _TYPE_WORDS]
        if typed is not None and "text" in wanted:
            doc.typed.pop(loc)  # reported here; no second report as ambiguous
            out.append(
                error(
                    doc.file, line, col, "YAML-IMPLICIT-TYPE", _typed_message(field, typed, "text")
                )
            )
            continue
        literal = [e for e in errs if e["type"] == "literal_error"]
        if literal:
            expected = literal[0].get("ctx", {}).get("expected", "")
            got = first.get("input")
            extra = " or a list" if any(e["type"] == "list_type" for e in errs) else ""
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    "SCHEMA-VALUE",
                    f"{name}: {got!r} is not allowed; use {expected}{extra}",
                )
            )
            continue
        if wanted:
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    "SCHEMA-TYPE",
                    f"{name}: expected {' or '.join(dict.fromkeys(wanted))}, "
                    f"found {type(first.get('input')).__name__}",
                )
            )
            continue
        detail = "; ".join(dict.fromkeys(e["msg"] for e in errs))
        out.append(error(doc.file, line, col, "SCHEMA-INVALID", f"{name}: {detail}"))
    return out


def ambiguity_diagnostics(doc: Document) -> list[Finding]:
    """Plain scalars that YAML 1.1 and YAML 1.2 readers would turn into different values."""
    out = []
    for path, typed in doc.typed.items():
        if typed.ambiguous:
            line, col = doc.position(path)
            field = str(path[-1]) if path and isinstance(path[-1], str) else "value"
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    "YAML-AMBIGUOUS",
                    f"{field}: {typed.describe()} while other YAML tools read it differently; "
                    f"write it in quotes: {typed.quoted()}",
                )
            )
    return out


def validate_document(doc: Document, model: type[M]) -> tuple[M | None, list[Finding]]:
    try:
        value = model.model_validate(doc.data)
    except ValidationError as exc:
        diags = model_diagnostics(doc, model, exc)
        return None, diags + ambiguity_diagnostics(doc)
    return value, ambiguity_diagnostics(doc)


def read_file(path: Path, rel: str) -> tuple[Document | None, list[Finding]]:
    raw, problems = read_raw(path, rel)
    if raw is None:
        return None, problems
    return load_bytes(raw, rel)


def parse_model(
    raw: bytes, rel: str, model: type[M]
) -> tuple[M | None, Document | None, list[Finding]]:
    """The model in a file's bytes, its document (positions), and every problem.

    Every key and text value is checked as data (provisioner.rules.text) before the schema:
    a file refused for its structure still has its hostile characters reported.
    """
    # Imported here: the rules package imports the catalog, which imports this module.
    from provisioner.rules.text import document_text_diagnostics

    doc, diags = load_bytes(raw, rel)
    if doc is None:
        return None, None, diags
    value, more = validate_document(doc, model)
    return value, doc, diags + document_text_diagnostics(doc) + more


def load_model(
    path: Path, rel: str, model: type[M], root: Path | None = None
) -> tuple[M | None, Document | None, list[Finding]]:
    """Read, parse and validate one file; root: the repository the file must resolve inside."""
    raw, problems = read_raw(path, rel, root)
    if raw is None:
        return None, None, problems
    return parse_model(raw, rel, model)
