"""apply's schema check: plain checks first, jsonschema for what they refuse; same verdicts."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from provisioner.apply import app_schema
from provisioner.apply.app_schema import app_config_problems

CERT = {
    "sha256": "a" * 64,
    "subject": "CN=cda.example.invalid",
    "serial": "1A2B",
    "not_after": "2030-01-01T00:00:00+00:00",
    "provider": "B12345678",
    "provider_name": "Proveidor SL",
    "fp": "265702",
}
GOOD: dict[str, Any] = {
    "environment": "PRE",
    "product": "HESTIA",
    "front_end": "https://pre.example.invalid",
    "ip_allowlist": [
        {
            "cidr": "203.0.113.0/24",
            "ine10": "0805690004",
            "provider": "B12345678",
            "provider_name": "Proveidor SL",
            "fp": "265702",
        }
    ],
    "permissions": [
        {
            "ine10": "0805690004",
            "name": "Ajuntament de Castelldefels",
            "product": "HESTIA",
            "modalities": ["HESTIA_EXPEDIENT"],
            "certificates": [CERT],
        }
    ],
}

_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(
        ["", "PRO", "DEV", "0805690004\n", "080569000", "b12345678", "A" * 64, "a" * 64, "1a2b"]
    ),
    st.text(max_size=4),
    # builds: a new list or dict at each draw; st.just would share one object, and a change
    # placed inside it could then make the document contain itself.
    st.builds(list),
    st.builds(dict),
)


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*at, i))
    return out


_PLACES = _paths(GOOD)


@st.composite
def _documents(draw: st.DrawFn) -> Any:
    """GOOD with a few changes: a value replaced, a key removed or added, a list emptied."""
    doc = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(0, 3))):
        place = draw(st.sampled_from(_PLACES))
        if not place:
            return draw(_ODD)
        parent: Any = doc
        try:
            for step in place[:-1]:
                parent = parent[step]
            action = draw(st.sampled_from(["replace", "remove", "add"]))
            if action == "replace":
                parent[place[-1]] = draw(_ODD)
            elif action == "remove" and isinstance(parent, dict):
                parent.pop(place[-1], None)
            elif action == "add" and isinstance(parent, dict):
                parent[draw(st.sampled_from(["note", "cidr", "fp"]))] = draw(_ODD)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the way there
    return doc


def _jsonschema_accepts(document: Any) -> bool:
    validator = Draft202012Validator(app_schema._schema())
    return not list(validator.iter_errors(document))


@settings(max_examples=400, deadline=None)
@given(_documents())
def test_the_plain_checks_give_jsonschemas_verdict(document: Any) -> None:
    plain = app_schema._plain_check()
    assert plain is not None  # the published schema uses only keywords they apply
    assert plain(document) == _jsonschema_accepts(document)
    # and what apply says is what jsonschema alone says
    problems = app_config_problems(json.dumps(document).encode())
    assert (problems == []) == _jsonschema_accepts(document)


def test_a_good_document_is_accepted_without_jsonschema() -> None:
    assert app_config_problems(json.dumps(GOOD).encode()) == []


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "minProperties": 1},  # a keyword the plain checks do not apply
        {"type": ["string", "null"]},
        {"$ref": "#/$defs/A", "type": "object", "$defs": {"A": {}}},  # a reference with more
        {"$ref": "#/$defs/A", "$defs": {"A": {"items": {"$ref": "#/$defs/A"}}}},  # recursive
        {"$ref": "https://elsewhere.invalid/schema.json"},
        {"additionalProperties": {"type": "string"}},
        {"enum": [1, 2]},
        {"items": [{"type": "string"}]},
        {"pattern": "("},
    ],
)
def test_a_schema_beyond_the_plain_checks_is_left_to_jsonschema(
    schema: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app_schema._plain_check.cache_clear()
    monkeypatch.setattr(app_schema, "_schema", lambda: schema)
    try:
        assert app_schema._plain_check() is None
    finally:
        app_schema._plain_check.cache_clear()
