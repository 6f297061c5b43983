"""JSON output keeps accents readable and escapes every character a name may not hold."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner import text
from provisioner.text import json_text, problem

_TEXT = st.text(
    st.one_of(
        st.characters(max_codepoint=0x7F),
        st.sampled_from("èàçÀ·€\u00a0\u0085\u200b\u200e\u202e\u2028\u2029\u2066\ufeff"),
        st.characters(min_codepoint=0x80, codec="utf-8"),
    ),
    max_size=12,
)


@settings(deadline=None, max_examples=300)
@given(st.dictionaries(_TEXT, st.one_of(_TEXT, st.lists(_TEXT, max_size=3)), max_size=4))
def test_json_output_reads_back_and_shows_no_refused_character(data: object) -> None:
    out = json_text(data)
    assert json.loads(out) == data
    # Whatever stays raw is something a name may hold (astral characters are left to the
    # terminal: \\u escapes only name the BMP).
    assert all(problem(c) is None or ord(c) > 0xFFFF for c in out if c not in "\n")


def test_accents_stay_readable() -> None:
    assert json_text({"folder": "Hèstia\u202e"}) == '{\n  "folder": "Hèstia\\u202e"\n}'


def test_the_characters_json_output_looks_at_are_del_and_the_bmp_beyond_ascii() -> None:
    every = "".join(map(chr, range(0x110000)))
    direct = re.compile("[\x7f-\uffff]")  # the definition; slow to compile, so not used
    assert text._BEYOND_ASCII.findall(every) == direct.findall(every)
