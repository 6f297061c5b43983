"""Every JSON document the tool writes has one serialisation: json.dumps's, sorted and indented."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.plan.desired import canonical_json

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),  # left to json.dumps
    st.text(st.characters(codec="utf-8"), max_size=6),
    st.sampled_from(["Hèstia", "a\u2028b", "\x00\x1f\x7f", '"\\', "\U0001f600"]),
)
_DOCUMENTS = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
    ),
    max_leaves=25,
)


def by_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


@settings(deadline=None, max_examples=500)
@given(_DOCUMENTS)
def test_the_fast_writer_writes_what_json_writes(data: Any) -> None:
    assert canonical_json(data) == by_json(data)


def test_what_json_refuses_is_refused_the_same_way() -> None:
    with pytest.raises(TypeError):
        canonical_json({"a": {1: "x", "b": "y"}})  # keys json cannot sort
    with pytest.raises(TypeError):
        canonical_json({"a": [object()]})
    assert canonical_json({"n": {2: "x"}}) == by_json({"n": {2: "x"}})  # a number as a key
