"""The fast reader of PDF hex strings returns exactly what pyHanko's own reader returns."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic

from provisioner.documents import pdf_hex
from provisioner.documents.form import load_pyhanko

load_pyhanko()  # installs the fast reader; the original stays reachable through its closure


def _original() -> Any:
    fast = generic.read_hex_string_from_stream
    cell = fast.__closure__[0].cell_contents if fast.__closure__ else None
    assert cell is not None and cell is not fast, "the fast reader is installed over pyHanko's"
    return cell


def _outcome(reader: Any, data: bytes) -> tuple[Any, ...]:
    stream = io.BytesIO(data)
    try:
        value = reader(stream)
    except Exception as exc:  # compare the kind of failure, as callers see it
        return ("raised", type(exc).__name__, stream.tell())
    return ("value", type(value).__name__, bytes(value.original_bytes), stream.tell())


HEXISH = st.lists(
    st.sampled_from([*b"0123456789abcdefABCDEF", *b" \n\r\t\f\x00", *b">%<gZ/("]), max_size=80
).map(bytes)


@settings(max_examples=400, deadline=None)
@given(body=HEXISH, tail=st.binary(max_size=12))
def test_same_result_and_position_as_pyhanko(body: bytes, tail: bytes) -> None:
    data = b"<" + body + tail
    original = _original()
    assert _outcome(lambda s: pdf_hex.read_hex_string(s, original), data) == _outcome(
        original, data
    )


def test_a_signature_sized_string_is_read_whole_and_the_stream_left_after_it() -> None:
    digits = bytes(range(256)).hex().encode() * 16
    data = b"<" + digits[:1001] + b"\n" + digits[1001:] + b"> /M (D:2025)"
    stream = io.BytesIO(data)
    value = generic.read_hex_string_from_stream(stream)
    assert bytes(value.original_bytes) == bytes(range(256)) * 16
    assert data[stream.tell() :] == b" /M (D:2025)"


def test_odd_digit_count_is_padded_as_pyhanko_pads_it() -> None:
    stream = io.BytesIO(b"<abc>")
    assert bytes(generic.read_hex_string_from_stream(stream).original_bytes) == b"\xab\xc0"
