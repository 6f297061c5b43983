"""A strict YAML loader that keeps where every value came from.

It reads the event stream of PyYAML's C parser (pure-Python fallback) and builds plain
Python data itself, so nothing YAML can express beyond plain mappings, sequences and scalars
(anchors, aliases, tags, merge keys, several documents) ever becomes data. Plain scalars are
typed the way YAML 1.1 does (what PyYAML and most tools read) and also checked against YAML 1.2,
so a value that two tools would read differently is reported rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from provisioner.diagnostics import Code, Finding, error, register_codes
from provisioner.loading.raw import MAX_BYTES as MAX_BYTES  # defined where it is light to import

register_codes(
    "loader (strict YAML)",
    Code(
        "YAML-SYNTAX",
        "error",
        "the file is not valid YAML",
        "fix the syntax at the line shown (indentation, quotes, colons)",
    ),
    Code("YAML-ENCODING", "error", "the file is not UTF-8 text", "save the file as UTF-8"),
    Code(
        "YAML-EMPTY",
        "error",
        "the file is empty",
        "write the integration's fields, or remove the file",
    ),
    Code(
        "YAML-TOO-LARGE",
        "error",
        "the file is over 1 MiB or holds too many values",
        "keep one integration per file; it needs a few dozen lines",
    ),
    Code(
        "YAML-TOO-DEEP",
        "error",
        "values are nested more than 32 levels deep",
        "write the fields as the documented layout shows",
    ),
    Code(
        "YAML-MULTIPLE-DOCUMENTS",
        "error",
        "the file holds more than one YAML document (---)",
        "keep one integration per file",
    ),
    Code(
        "YAML-DUPLICATE-KEY",
        "error",
        "a key appears twice in the same mapping",
        "remove or merge the duplicate key",
    ),
    Code("YAML-ANCHOR", "error", "an anchor (&name) is used", "write every value out in full"),
    Code("YAML-ALIAS", "error", "an alias (*name) is used", "write the value out in full"),
    Code(
        "YAML-TAG",
        "error",
        "an explicit tag (!!str, !custom...) is used",
        "write plain values; quote text",
    ),
    Code("YAML-MERGE-KEY", "error", "a merge key (<<) is used", "write the fields out in full"),
    Code("YAML-COMPLEX-KEY", "error", "a key is a list or a mapping", "use plain names as keys"),
    Code(
        "YAML-KEY-TYPE",
        "error",
        "a key is read as a number, date or boolean",
        "rename the key or quote it",
    ),
)

MAX_DEPTH = 32
MAX_NODES = 100_000

try:  # the C parser is about ten times faster; fall back when libyaml is absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]

_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SHORT_TAG = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "timestamp",
    "tag:yaml.org,2002:merge": "merge",
    "tag:yaml.org,2002:value": "value",
}
_KIND_WORDS = {
    "int": "a number",
    "float": "a number",
    "bool": "a boolean",
    "null": "null (no value)",
    "timestamp": "a date",
    "merge": "a merge key",
    "value": "a value key",
}

# YAML 1.2 core schema, the reading of most tools that are not PyYAML.
_YAML12 = [
    ("null", re.compile(r"^(?:~|null|Null|NULL|)$")),
    ("bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")),
    ("int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")),
    (
        "float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
    ),
]


def _resolve(text: str) -> str:
    """The tag YAML 1.1 gives a plain scalar."""
    return str(_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]


def yaml12_kind(text: str) -> str:
    for kind, pattern in _YAML12:
        if pattern.match(text):
            return kind
    return "str"


@lru_cache(maxsize=8192)
def plain_kinds(text: str) -> tuple[str, str, str]:
    """(YAML 1.1 tag, its short kind, the YAML 1.2 kind) of a plain scalar.

    Cached: keys and many values ('PRE', 'all', field names) repeat in every file.
    """
    tag = _resolve(text)
    return tag, _SHORT_TAG.get(tag, "str"), yaml12_kind(text)


@dataclass(frozen=True, slots=True)
class TypedScalar:
    """A plain (unquoted) scalar that YAML 1.1 or 1.2 reads as something other than text."""

    raw: str
    kind11: str
    kind12: str
    value11: Any

    @property
    def ambiguous(self) -> bool:
        """Two common readers would disagree on its value."""
        return self.kind11 != self.kind12 and not {self.kind11, self.kind12} <= {"int", "float"}

    def describe(self) -> str:
        if self.kind11 != "str":
            shown = self.value11
            if self.kind11 == "int" and str(shown) != self.raw:
                return f"YAML 1.1 reads {self.raw} as the number {shown}"
            return (
                f"YAML reads {self.raw} as {_KIND_WORDS.get(self.kind11, self.kind11)} ({shown!r})"
            )
        return f"YAML 1.2 tools read {self.raw} as {_KIND_WORDS.get(self.kind12, self.kind12)}"

    def quoted(self) -> str:
        return '"' + self.raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True)
class Document:
    """Plain data from one YAML file plus the position of every value and key (1-based)."""

    file: str
    data: Any = None
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    typed: dict[Path, TypedScalar] = field(default_factory=dict)

    def position(self, path: Path) -> tuple[int, int]:
        """Where the value at path starts, or its nearest ancestor that exists."""
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), (1, 1))

    def key_position(self, path: Path) -> tuple[int, int]:
        return self.key_positions.get(tuple(path)) or self.position(path)


class _Refused(Exception):
    def __init__(self, line: int, column: int, code: str, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.code, self.message = line, column, code, message


def _mark(event: Any) -> tuple[int, int]:
    m = event.start_mark
    return (m.line + 1, m.column + 1) if m is not None else (1, 1)


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _Refused(
            line,
            column,
            "YAML-ENCODING",
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "save it as UTF-8 (most editors have an 'encoding' option)",
        ) from None


def _scalar(event: Any, path: Path, doc: Document) -> Any:
    if event.style:  # quoted or block scalar: always text (plain is None or "")
        return event.value
    tag, kind11, kind12 = plain_kinds(event.value)
    if kind11 in ("merge", "value"):
        line, col = _mark(event)
        raise _Refused(
            line,
            col,
            "YAML-MERGE-KEY",
            f"'{event.value}' is a YAML merge key; write the fields out in full instead",
        )
    if kind11 == "str" and kind12 == "str":
        return event.value
    try:
        value = _CONSTRUCTOR.construct_object(yaml.ScalarNode(tag, event.value))
    except (ValueError, yaml.YAMLError):  # e.g. 2024-13-45 looks like a date but is none
        kind11, value = "str", event.value
    doc.typed[path] = TypedScalar(event.value, kind11, kind12, value)
    return value


def _check_node(event: Any) -> None:
    """Refuse what would make the data depend on more than plain YAML values."""
    line, col = _mark(event)
    if isinstance(event, yaml.AliasEvent):
        raise _Refused(
            line,
            col,
            "YAML-ALIAS",
            f"aliases (*{event.anchor}) are not allowed; write the value out in full",
        )
    if event.anchor is not None:
        raise _Refused(
            line,
            col,
            "YAML-ANCHOR",
            f"anchors (&{event.anchor}) are not allowed; write every value out in full",
        )
    implicit = event.implicit[0] if isinstance(event, yaml.ScalarEvent) else event.implicit
    if event.tag is not None and not implicit and event.tag != "!":
        raise _Refused(
            line,
            col,
            "YAML-TAG",
            f"explicit tags ({event.tag}) are not allowed; write plain values and quote text",
        )


def _key(event: Any) -> str:
    """A mapping key: plain text only."""
    line, col = _mark(event)
    if not isinstance(event, yaml.ScalarEvent):
        raise _Refused(
            line, col, "YAML-COMPLEX-KEY", "a key must be a plain name, not a list or mapping"
        )
    if event.style:
        return str(event.value)
    kind = plain_kinds(event.value)[1]
    if kind in ("merge", "value"):
        raise _Refused(
            line,
            col,
            "YAML-MERGE-KEY",
            f"'{event.value}' is a YAML merge key; write the fields out in full",
        )
    if kind != "str":
        raise _Refused(
            line,
            col,
            "YAML-KEY-TYPE",
            f"the key {event.value!r} is read by YAML as {_KIND_WORDS[kind]}, not a name; "
            "rename it or quote it",
        )
    return str(event.value)


_SKIPPED = frozenset({yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent})
_CLOSING = frozenset({yaml.MappingEndEvent, yaml.SequenceEndEvent})


def _build(events: Any, doc: Document) -> None:
    """Turn the event stream into plain data with an explicit stack (no recursion limit)."""
    # Each frame: the container being filled, its path, and (for mappings) the pending key.
    stack: list[tuple[Any, Path, str | None]] = []
    root: Any = None
    documents = nodes = 0
    for event in events:
        cls = event.__class__  # exact classes: cheaper than isinstance in this hot loop
        if cls in _SKIPPED:
            continue
        if cls in _CLOSING:
            stack.pop()
            continue
        mark = event.start_mark
        line, col = mark.line + 1, mark.column + 1
        if cls is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Refused(
                    line,
                    col,
                    "YAML-MULTIPLE-DOCUMENTS",
                    "the file holds more than one YAML document ('---'); keep one per file",
                )
            continue
        if cls is yaml.AliasEvent or event.anchor is not None or event.tag is not None:
            _check_node(event)
        nodes += 1
        if nodes > MAX_NODES:
            raise _Refused(line, col, "YAML-TOO-LARGE", f"the file has over {MAX_NODES} values")
        path: Path = ()
        if stack:
            container, cpath, key = stack[-1]
            if isinstance(container, dict):
                if key is None:  # this event is a key
                    name = _key(event)
                    if name in container:
                        first = doc.key_positions[(*cpath, name)]
                        raise _Refused(
                            line,
                            col,
                            "YAML-DUPLICATE-KEY",
                            f"the key '{name}' appears twice (first at line {first[0]}); YAML "
                            "would silently keep only the last one: remove or merge the duplicate",
                        )
                    doc.key_positions[(*cpath, name)] = (line, col)
                    stack[-1] = (container, cpath, name)
                    continue
                path = (*cpath, key)
                stack[-1] = (container, cpath, None)
            else:
                path = (*cpath, len(container))
        doc.positions[path] = (line, col)
        if cls is yaml.ScalarEvent:
            value: Any = _scalar(event, path, doc)
        else:
            if len(stack) >= MAX_DEPTH:
                raise _Refused(
                    line,
                    col,
                    "YAML-TOO-DEEP",
                    f"values are nested more than {MAX_DEPTH} levels deep; flatten the file",
                )
            value = {} if cls is yaml.MappingStartEvent else []
        if stack:
            container = stack[-1][0]
            if isinstance(container, dict):
                container[path[-1]] = value
            else:
                container.append(value)
        else:
            root = value
        if cls is not yaml.ScalarEvent:
            stack.append((value, path, None))
    if documents == 0 or root is None:
        raise _Refused(1, 1, "YAML-EMPTY", "the file is empty; it must hold one YAML mapping")
    doc.data = root


def load_bytes(raw: bytes, file: str) -> tuple[Document | None, list[Finding]]:
    """Parse raw bytes strictly. Returns the document, or None with the reasons it was refused."""
    doc = Document(file)
    try:
        if len(raw) > MAX_BYTES:
            raise _Refused(
                1,
                1,
                "YAML-TOO-LARGE",
                f"the file is {len(raw)} bytes; at most {MAX_BYTES} are read: split it",
            )
        if not raw.strip():
            raise _Refused(1, 1, "YAML-EMPTY", "the file is empty; it must hold one YAML mapping")
        text = _decode(raw)
        _build(yaml.parse(text, Loader=_Loader), doc)
    except _Refused as refused:
        return None, [error(file, refused.line, refused.column, refused.code, refused.message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "malformed YAML"
        return None, [
            error(
                file,
                line,
                col,
                "YAML-SYNTAX",
                f"YAML syntax error: {problem}; check indentation, quotes and colons here",
            )
        ]
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError) as exc:
        return None, [error(file, 1, 1, "YAML-SYNTAX", f"the file cannot be read as YAML: {exc}")]
    return doc, []
