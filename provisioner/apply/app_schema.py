"""The APP configuration checked against its published schema before it is written.

APP's team reads `schemas/app-config.schema.json`; apply refuses to write a document that does
not conform, so a bug in the desired state never reaches APP. The schema is generated from the
`AppConfig` model, the same text as the published file (a test keeps that file current), so a
schema file edited in an integrations repository cannot weaken the check.

jsonschema takes a quarter of a second over 1,000 integrations, on every apply. The schema uses
a handful of keywords, so it is first turned into plain Python checks of exactly those keywords
as JSON Schema defines them (as jsonschema applies them); a document they accept is accepted.
Only a document they refuse goes through jsonschema, which names every problem. A schema with
any other keyword is checked by jsonschema alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

APP_CONFIG_SCHEMA = "app-config"

Check = Callable[[Any], bool]

#: Words that only describe: they change no verdict.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description"})
#: The keywords the plain checks apply; a schema with any other is left to jsonschema.
_KEYWORDS = _ANNOTATIONS | {
    "$ref",
    "type",
    "enum",
    "pattern",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
}
_TYPES: Mapping[str, type] = {"object": dict, "array": list, "string": str}


class _Unsupported(Exception):
    """The schema uses what the plain checks do not apply."""


def _unsupported(value: Any) -> bool:
    raise _Unsupported


def _compile(node: Any, defs: Mapping[str, Any], done: dict[str, Check]) -> Check:
    """One schema node as a predicate, each keyword applied as JSON Schema 2020-12 says."""
    if not isinstance(node, dict) or not node.keys() <= _KEYWORDS:
        raise _Unsupported
    if "$ref" in node:
        ref = node["$ref"]
        if node.keys() - _ANNOTATIONS != {"$ref"} or not isinstance(ref, str):
            raise _Unsupported  # a reference beside other keywords
        name = ref.removeprefix("#/$defs/")
        if name == ref or name not in defs:
            raise _Unsupported
        if name not in done:
            done[name] = _unsupported  # a definition that refers to itself is left to jsonschema
            done[name] = _compile(defs[name], defs, done)
        if done[name] is _unsupported:
            raise _Unsupported
        return done[name]
    checks: list[Check] = []
    if "type" in node:
        wanted = _TYPES.get(node["type"]) if isinstance(node["type"], str) else None
        if wanted is None:
            raise _Unsupported
        checks.append(lambda value: isinstance(value, wanted))
    if "enum" in node:
        allowed = node["enum"]
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise _Unsupported
        # A string equals only a string: anything else is in no list of strings.
        choices = frozenset(allowed)
        checks.append(lambda value: isinstance(value, str) and value in choices)
    if "pattern" in node:
        search = re.compile(node["pattern"]).search  # jsonschema: re.search, strings only
        checks.append(lambda value: not isinstance(value, str) or search(value) is not None)
    checks += _object_checks(node, defs, done)
    if "items" in node:
        item = _compile(node["items"], defs, done)
        checks.append(lambda value: not isinstance(value, list) or all(map(item, value)))
    if "minItems" in node:
        least = node["minItems"]
        if not isinstance(least, int):
            raise _Unsupported
        checks.append(lambda value: not isinstance(value, list) or len(value) >= least)
    return _all_of(checks)


def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:
        for check in checks:  # noqa: SIM110 (a loop: no generator made per value)
            if not check(value):
                return False
        return True

    return every


def _object_checks(
    node: dict[str, Any], defs: Mapping[str, Any], done: dict[str, Check]
) -> list[Check]:
    checks: list[Check] = []
    properties = node.get("properties", {})
    if not isinstance(properties, dict):
        raise _Unsupported
    fields = {name: _compile(sub, defs, done) for name, sub in properties.items()}
    if fields:

        def each_field(value: Any) -> bool:
            if isinstance(value, dict):
                for name, check in fields.items():
                    if name in value and not check(value[name]):
                        return False
            return True

        checks.append(each_field)
    if "required" in node:
        required = node["required"]
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise _Unsupported
        needed = frozenset(required)
        checks.append(lambda value: not isinstance(value, dict) or needed <= value.keys())
    if "additionalProperties" in node:
        extra = node["additionalProperties"]
        if extra is not False and extra is not True:
            raise _Unsupported  # a schema for the other properties
        if extra is False:
            known = frozenset(properties)
            checks.append(lambda value: not isinstance(value, dict) or value.keys() <= known)
    return checks


@cache
def _schema() -> dict[str, Any]:
    from provisioner.loading.schemas import schema_for

    return schema_for(APP_CONFIG_SCHEMA)


@cache
def _plain_check() -> Check | None:
    """The schema as plain checks, or None when it uses a keyword they do not apply."""
    schema = _schema()
    defs = schema.get("$defs", {})
    try:
        return _compile(schema, defs if isinstance(defs, dict) else {}, {})
    except (_Unsupported, re.error):
        return None


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = _schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def app_config_problems(data: bytes) -> list[str]:
    """Why the document does not conform to schemas/app-config.schema.json ([] when it does)."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        return [f"not JSON ({exc})"]
    plain = _plain_check()
    if plain is not None and plain(document):
        return []
    problems = []
    for err in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in err.absolute_path) or "(the document)"
        problems.append(f"{where}: {err.message}")
    return problems
