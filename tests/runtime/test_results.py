"""The validation cache's file: parts read on demand, checked against their SHA-256, and parts
carried over from the last run without being held in memory."""

from __future__ import annotations

import itertools
from pathlib import Path

from provisioner.rules.kept import Span
from provisioner.runtime.results import ValidationCache


def test_parts_are_kept_and_read_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    ValidationCache(path, tool="t").save({"a": b"first", "b": b"second" * 1000})
    again = ValidationCache(path, tool="t")
    assert again.load("b") == b"second" * 1000
    assert again.load("a") == b"first"
    assert again.load("c") is None
    assert ValidationCache(path, tool="other").load("a") is None


def test_a_part_carried_over_is_copied_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    big = bytes(range(256)) * 20_000  # several copy chunks
    ValidationCache(path, tool="t").save({"a": b"first", "big": big})
    ValidationCache(path, tool="t").save({"a": b"changed", "big": None})
    again = ValidationCache(path, tool="t")
    assert (again.load("a"), again.load("big")) == (b"changed", big)


def test_a_part_that_changed_meanwhile_is_not_carried_over(tmp_path: Path) -> None:
    """Another run replaced the file between reading its header and copying a part: the copy
    fails its SHA-256 and nothing is written (the other run's file stays)."""
    path = tmp_path / "cache"
    ValidationCache(path, tool="t").save({"a": b"first", "big": b"x" * 100})
    late = ValidationCache(path, tool="t")
    assert late.load("a") == b"first"  # the header is read
    ValidationCache(path, tool="t").save({"a": b"other", "big": b"y" * 100})
    written = path.read_bytes()
    late.save({"a": b"mine", "big": None})
    assert path.read_bytes() == written
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    ValidationCache(path, tool="t").save({"a": b"first", "b": b"second"})
    before = path.stat().st_mtime_ns, path.stat().st_ino
    ValidationCache(path, tool="t").save({"a": b"first", "b": None})
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


def test_a_part_given_in_pieces_is_kept_whole(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    ValidationCache(path, tool="t").save({"a": [b"fi", b"", b"rst"], "b": b"second"})
    again = ValidationCache(path, tool="t")
    assert (again.load("a"), again.load("b")) == (b"first", b"second")


def test_spans_of_the_last_parts_are_copied_not_held(tmp_path: Path) -> None:
    """Pieces of a new part may be spans of the last run's parts (copied from the file) and
    bytes; lines() says where each line of a part starts, reading it in chunks."""
    path = tmp_path / "cache"
    lines = b"\n".join(b"line %d " % i + b"x" * 300_000 for i in range(8))  # several chunks
    ValidationCache(path, tool="t").save({"models": lines, "run": b"first"})
    memory = ValidationCache(path, tool="t")
    starts = memory.lines("models")
    assert starts is not None
    assert [lines[a : b - 1] for a, b in itertools.pairwise(starts)] == lines.split(b"\n")
    third, fifth = (Span("models", starts[i], starts[i + 1] - 1) for i in (3, 5))
    memory.save({"models": [third, b"\n", b"new", b"\n", fifth], "run": None})
    again = ValidationCache(path, tool="t")
    parts = lines.split(b"\n")
    assert again.load("models") == b"\n".join([parts[3], b"new", parts[5]])
    assert again.load("run") == b"first"


def test_an_empty_part_has_no_lines(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    ValidationCache(path, tool="t").save({"models": b""})
    assert ValidationCache(path, tool="t").lines("models") == []
    assert ValidationCache(path, tool="t").lines("other") is None


def test_a_span_outside_its_part_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    ValidationCache(path, tool="t").save({"a": b"first"})
    written = path.read_bytes()
    memory = ValidationCache(path, tool="t")
    memory.save({"a": [Span("a", 2, 99)]})
    memory.save({"a": [Span("missing", 0, 1)]})
    assert path.read_bytes() == written


def test_spans_are_not_copied_from_a_replaced_or_damaged_file(tmp_path: Path) -> None:
    """Another run replaced the file after this one read its header, or its bytes were damaged:
    nothing is copied from it (and this run's parts are not written)."""
    path = tmp_path / "cache"
    ValidationCache(path, tool="t").save({"a": b"first line\nsecond"})
    late = ValidationCache(path, tool="t")
    assert late.lines("a") == [0, 11, 18]
    ValidationCache(path, tool="t").save({"a": b"other line\nsecond"})
    written = path.read_bytes()
    late.save({"a": [Span("a", 0, 10)], "b": b"mine"})
    assert path.read_bytes() == written
    damaged = ValidationCache(path, tool="t")
    damaged.lines("missing")  # reads the header
    path.write_bytes(written.replace(b"other", b"OTHER"))  # in place: the same file
    damaged.save({"a": [Span("a", 0, 10)], "b": b"mine"})
    assert path.read_bytes() == written.replace(b"other", b"OTHER")
    assert ValidationCache(path, tool="t").load("a") is None


def test_spans_read_before_a_save_are_not_copied_after_it(tmp_path: Path) -> None:
    """Offsets found in the parts as they were refer to those bytes: once this object wrote
    the file again, they are not copied from the new one."""
    path = tmp_path / "cache"
    ValidationCache(path, tool="t").save({"a": b"first line\nsecond", "b": b"x"})
    memory = ValidationCache(path, tool="t")
    assert memory.lines("a") == [0, 11, 18]
    memory.save({"a": b"a longer first line\nsecond", "b": b"y"})
    written = path.read_bytes()
    memory.save({"a": [Span("a", 11, 17)], "b": b"z"})
    assert path.read_bytes() == written
    assert memory.lines("a") == [0, 20, 27]
    memory.save({"a": [Span("a", 20, 26)], "b": b"z"})
    assert ValidationCache(path, tool="t").load("a") == b"second"
