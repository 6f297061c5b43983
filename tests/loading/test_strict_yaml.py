"""The strict loader: what it refuses, what it keeps, and that nothing makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.loading.loader import validate_document
from provisioner.loading.strict_yaml import MAX_BYTES, load_bytes
from provisioner.model import Integration


def codes(text: str | bytes) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    doc, diags = load_bytes(raw, "f.yaml")
    if doc is not None:
        _, diags = validate_document(doc, Integration)
    return [d.code for d in diags]


def test_positions_are_one_based_lines_and_columns() -> None:
    doc, diags = load_bytes(b"a: 1\nb:\n  - x\n  - {c: 'd'}\n", "f.yaml")
    assert diags == [] and doc is not None
    assert doc.data == {"a": 1, "b": ["x", {"c": "d"}]}
    assert doc.position(("a",)) == (1, 4)
    assert doc.position(("b", 0)) == (3, 5)
    assert doc.position(("b", 1, "c")) == (4, 9)
    assert doc.key_position(("b",)) == (2, 1)
    assert doc.position(("b", 7, "missing")) == (2, 3) or doc.position(("b", 7)) != (1, 1)


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("a: 1\nb: 2\na: 3\n", "YAML-DUPLICATE-KEY", 3),
        ("a: &x 1\nb: 2\n", "YAML-ANCHOR", 1),
        ("a: [1]\nb: *x\n", "YAML-ALIAS", 2),
        ("a: !!python/object:os.system ls\n", "YAML-TAG", 1),
        ("a: !!str 0101\n", "YAML-TAG", 1),
        ("? [a, b]\n: c\n", "YAML-COMPLEX-KEY", 1),
        ("1: a\n", "YAML-KEY-TYPE", 1),
        ("true: a\n", "YAML-KEY-TYPE", 1),
        ("<<: {a: b}\n", "YAML-MERGE-KEY", 1),
        ("a: 1\n---\nb: 2\n", "YAML-MULTIPLE-DOCUMENTS", 2),
        ("", "YAML-EMPTY", 1),
        ("   \n\n", "YAML-EMPTY", 1),
        ("# only a comment\n", "YAML-EMPTY", 1),
        ("---\n", "YAML-EMPTY", 1),
        ("a: [1, 2\n", "YAML-SYNTAX", 2),
        ("a: 'unclosed\n", "YAML-SYNTAX", 2),
        ("\tsteps: 1\n", "YAML-SYNTAX", 1),
    ],
)
def test_refusals(text: str, code: str, line: int) -> None:
    doc, diags = load_bytes(text.encode(), "f.yaml")
    assert doc is None
    assert [d.code for d in diags] == [code]
    assert diags[0].line == line
    assert diags[0].file == "f.yaml"


def test_alias_after_anchor_is_refused_at_the_anchor() -> None:
    doc, diags = load_bytes(b"a: &x [1, 2]\nb: *x\n", "f.yaml")
    assert doc is None and diags[0].code == "YAML-ANCHOR" and "&x" in diags[0].message


def test_non_utf8_names_the_line_of_the_bad_byte() -> None:
    doc, diags = load_bytes("a: b\nname: Alta Ribagor\xe7a\n".encode("latin-1"), "f.yaml")
    assert doc is None
    assert diags[0].code == "YAML-ENCODING"
    assert (diags[0].line, diags[0].column) == (2, 19)
    assert "0xe7" in diags[0].message


def test_utf8_byte_order_mark_is_accepted() -> None:
    doc, diags = load_bytes(b"\xef\xbb\xbfa: b\n", "f.yaml")
    assert diags == [] and doc is not None and doc.data == {"a": "b"}


def test_file_over_one_mebibyte_is_refused_without_parsing() -> None:
    raw = b"a: " + b"x" * MAX_BYTES + b"\n"
    doc, diags = load_bytes(raw, "f.yaml")
    assert doc is None and diags[0].code == "YAML-TOO-LARGE"


def test_billion_laughs_is_refused() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    doc, diags = load_bytes("\n".join(lines).encode(), "f.yaml")
    assert doc is None and diags[0].code == "YAML-ANCHOR"


@pytest.mark.parametrize("depth", [40, 5000, 100_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    doc, diags = load_bytes(b"a: " + b"[" * depth + b"]" * depth + b"\n", "f.yaml")
    assert doc is None and diags[0].code in {"YAML-TOO-DEEP", "YAML-SYNTAX"}


def test_many_values_are_refused() -> None:
    raw = ("a: [" + ",".join(["1"] * 120_000) + "]\n").encode()
    doc, diags = load_bytes(raw, "f.yaml")
    assert doc is None and diags[0].code == "YAML-TOO-LARGE"


@pytest.mark.parametrize(
    ("line", "shown", "quoted"),
    [
        ("ine10: 0101230004", "17117188", '"0101230004"'),
        ("fp: 265594", "265594", '"265594"'),
        ("nif: no", "False", '"no"'),
        ("name: 2024-01-31", "2024", '"2024-01-31"'),
        ("name: ~", "None", '"~"'),
    ],
)
def test_implicit_types_say_what_yaml_read_and_how_to_quote(
    line: str, shown: str, quoted: str
) -> None:
    doc, _ = load_bytes(f"{line}\n".encode(), "f.yaml")
    assert doc is not None
    found = [d for d in validate_document(doc, _Single)[1] if d.code == "YAML-IMPLICIT-TYPE"]
    assert len(found) == 1, found
    assert shown in found[0].message and quoted in found[0].message


def test_yaml12_numbers_are_ambiguous_even_when_yaml11_reads_text() -> None:
    doc, _ = load_bytes(b"ine10: 0805690004\n", "f.yaml")
    assert doc is not None and doc.data == {"ine10": "0805690004"}
    diags = validate_document(doc, _Single)[1]
    assert [d.code for d in diags] == ["YAML-AMBIGUOUS"]
    assert '"0805690004"' in diags[0].message


def test_quoted_values_are_plain_text() -> None:
    doc, diags = load_bytes(b'ine10: "0101230004"\nnif: "no"\n', "f.yaml")
    assert diags == [] and doc is not None
    assert doc.data == {"ine10": "0101230004", "nif": "no"}
    assert validate_document(doc, _Single)[1] == []


from pydantic import BaseModel, ConfigDict  # noqa: E402


class _Single(BaseModel):
    """A model with text fields only, to isolate the typing checks."""

    model_config = ConfigDict(extra="allow", strict=True)
    ine10: str = ""
    fp: str = ""
    nif: str = ""
    name: str = ""


SAMPLE = b"""fp: "265594"
entity: {ine10: "8100560009", name: "Consell", nif: P7500001H}
provider: {name: "Serveis", nif: B65432106}
environment: PRE
modalities: all
ips: [203.0.113.10]
cda: certs/a.pem
form: forms/a.pdf
"""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(raw: bytes) -> None:
    doc, diags = load_bytes(raw, "f.yaml")
    if doc is not None:
        _, diags = validate_document(doc, Integration)
    for d in diags:
        assert d.line >= 1 and d.column >= 1 and d.code and d.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(SAMPLE) - 1),
            st.sampled_from(list(b"\n :-[]{}&*!|>'\"#%@`,?\t0aZ\xc3\xa7")),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_integration_files_never_raise(edits: list[tuple[int, int]]) -> None:
    raw = bytearray(SAMPLE)
    for position, byte in edits:
        raw[position] = byte
    doc, diags = load_bytes(bytes(raw), "f.yaml")
    if doc is not None:
        _, diags = validate_document(doc, Integration)
    for d in diags:
        assert d.line >= 1 and d.column >= 1 and d.code and d.message
