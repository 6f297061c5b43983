"""The validation cache: what the last run found and depended on, in one file under
.provisioner/cache/.

Local only (git-ignored): a cache committed to git could be forged by anyone with a pull request;
CI may restore it from runs on main only. The file holds a header line (format, the tool's
identity, and the length and SHA-256 of each part) and the parts, one after the other. The core
(provisioner.rules.incremental) decides what the parts hold; this edge only keeps them, and
reads each part only when asked (a run where nothing changed needs the small ones). A file that
is damaged, truncated, of another format or written by other code is ignored, as if there were
none; one that cannot be written is simply not used. Nothing in it is ever executed: the parts
are JSON, read by the core with json.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from provisioner.loading.tree import SETTLE_MARGIN_NS
from provisioner.rules.kept import Piece, Span
from provisioner.runtime.files import write_atomically

RESULTS_CACHE = Path(".provisioner") / "cache" / "validation.json"
CATALOG_CACHE = Path(".provisioner") / "cache" / "catalog.json"  # the last catalog read
FORMAT = 2
JSON_FORMAT = 1  # ResultFile's
MAX_CACHE_BYTES = 512 * 1024 * 1024  # far above 10,000 integrations (~15 MB)
MAX_HEADER_BYTES = 64 * 1024
COPY_CHUNK = 1024 * 1024


def tool_version() -> str:
    """What identifies the running tool: the SHA-256 of every module of the package.

    Not the package's version number: in a checkout (the pull-request check runs the pull
    request's code) the rules can change while the number does not, and results kept by other
    code must not be reused. Hashing ~90 small files costs a few milliseconds.
    """
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(n for n in names if n.endswith(".py")):
            path = os.path.join(folder, name)
            h.update(os.path.relpath(path, package).encode() + b"\0")
            with open(path, "rb") as source:
                h.update(hashlib.sha256(source.read()).digest())
    return h.hexdigest()


class ValidationCache:
    """provisioner.rules.kept.ResultMemory: the parts kept in one file.

    settled_before: file changes at or after this moment (nanoseconds since the epoch) are too
    recent to be told apart by their stat signature; default: the time this object is made (the
    start of the run) minus provisioner.loading.tree.SETTLE_MARGIN_NS.
    """

    def __init__(self, path: Path, tool: str | None = None, settled_before: int | None = None):
        self.path = path
        self.tool = tool or tool_version()
        self.settled_before = (
            time.time_ns() - SETTLE_MARGIN_NS if settled_before is None else settled_before
        )
        self._header: dict[str, tuple[int, int, str]] | None = None  # part -> offset, size, sha
        # The file the header was read from: the tool replaces it whole (never writes into it),
        # so the same file has the same bytes.
        self._identity: tuple[int, int, int, int] | None = None
        self._intact: set[str] = set()  # parts checked against their SHA-256
        # Parts read (load, lines) from the file the header was read from: spans given to save
        # refer to those bytes, and are copied only from that same file.
        self._read: set[str] = set()
        self._damaged = False  # a part was not as its header says: the next save writes

    def _read_header(self) -> dict[str, tuple[int, int, str]]:
        if self._header is not None:
            return self._header
        self._header = {}
        try:
            with self.path.open("rb") as fh:
                head = fh.readline(MAX_HEADER_BYTES)
                st = os.fstat(fh.fileno())
        except OSError:
            return self._header
        size = st.st_size
        try:
            header = json.loads(head)
            if not (
                head.endswith(b"\n")
                and isinstance(header, dict)
                and header.get("format") == FORMAT
                and header.get("tool") == self.tool
                and isinstance(header.get("parts"), list)
            ):
                return self._header
            offset = len(head)
            parts: dict[str, tuple[int, int, str]] = {}
            for name, length, sha256 in header["parts"]:
                if not (isinstance(name, str) and isinstance(sha256, str)):
                    return self._header
                if not isinstance(length, int) or length < 0:
                    return self._header
                parts[name] = (offset, length, sha256)
                offset += length
        except (ValueError, TypeError, RecursionError):  # damaged: ignored
            return self._header
        if offset != size or size > MAX_CACHE_BYTES:
            return self._header  # truncated, or something was added
        self._header = parts
        self._identity = _identity(st)
        return parts

    def _open(self) -> int | None:
        """The file the header was read from, opened (None: it was replaced or removed)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        if _identity(os.fstat(fd)) != self._identity:
            os.close(fd)
            return None
        return fd

    def _chunks(self, fd: int, part: str, start: int, stop: int) -> Iterator[bytes]:
        """The bytes of a part from start to stop, read in chunks (OSError when short)."""
        offset = self._read_header()[part][0]
        while start < stop:
            piece = os.pread(fd, min(stop - start, COPY_CHUNK), offset + start)
            if not piece:
                raise OSError(f"{self.path}: shorter than its header says")
            start += len(piece)
            yield piece

    def load(self, part: str) -> bytes | None:
        """The bytes of one part as the last run wrote them (read again at each call: the
        caller holds what it needs); None if absent or not intact."""
        where = self._read_header().get(part)
        if where is None:
            return None
        offset, length, sha256 = where
        fd = self._open()
        if fd is None:
            return None
        try:
            with os.fdopen(fd, "rb") as fh:
                fh.seek(offset)
                data = fh.read(length)
        except OSError:
            return None
        if len(data) != length or hashlib.sha256(data).hexdigest() != sha256:
            self._damaged = True
            return None
        self._intact.add(part)
        self._read.add(part)
        return data

    def lines(self, part: str) -> list[int] | None:
        """Where each line of a part starts and, last, its length plus one; read in chunks
        and checked against its SHA-256 on the way, not held. None if absent or not intact."""
        where = self._read_header().get(part)
        if where is None:
            return None
        length, sha256 = where[1], where[2]
        starts = [0] if length else []
        fd = self._open()
        if fd is None:
            return None
        check = hashlib.sha256()
        base = 0
        try:
            for chunk in self._chunks(fd, part, 0, length):
                check.update(chunk)
                found = chunk.find(b"\n")
                while found >= 0:
                    starts.append(base + found + 1)
                    found = chunk.find(b"\n", found + 1)
                base += len(chunk)
        except OSError:
            return None
        finally:
            os.close(fd)
        if check.hexdigest() != sha256:
            self._damaged = True
            return None
        self._intact.add(part)
        self._read.add(part)
        if length:
            starts.append(length + 1)
        return starts

    def save(self, parts: Mapping[str, bytes | Sequence[Piece] | None]) -> None:
        """Keep these parts (the whole state: parts not given are dropped). A part is bytes, or
        pieces written one after the other (never joined in memory): bytes, or a Span of a part
        as the last run wrote it, copied from its file; None: the whole part as the last run
        wrote it. What is copied is checked against its SHA-256: if the file changed meanwhile,
        nothing is written."""
        old = self._read_header()
        given: dict[str, Sequence[Piece]] = {}
        for name, data in parts.items():
            if data is None:
                if name in old:
                    given[name] = [Span(name, 0, old[name][1])]
            else:
                given[name] = [data] if isinstance(data, bytes) else data
                spans = {p.part for p in given[name] if isinstance(p, Span)}
                if not spans <= self._read:
                    return  # spans of bytes read from another file (written since): not these
        copied = {p.part for pieces in given.values() for p in pieces if isinstance(p, Span)}
        fd = self._open() if copied else None
        if copied and fd is None:
            return  # the last run's file is gone or was replaced: nothing to copy from
        try:
            listed = self._listed(fd, given, copied)
            if listed is None:
                return
            kept = [[name, size, sha256] for name, (_, size, sha256) in old.items()]
            if listed == kept and not self._damaged:
                return  # nothing changed since the last run: no write
            header = {"format": FORMAT, "tool": self.tool, "parts": listed}

            def chunks() -> Iterator[bytes | memoryview]:
                yield json.dumps(header).encode() + b"\n"
                for name, _, _ in listed:
                    for piece in given[name]:
                        if isinstance(piece, Span):
                            assert fd is not None
                            yield from self._chunks(fd, piece.part, piece.start, piece.stop)
                        else:
                            yield piece

            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, chunks())
        except OSError:
            return
        finally:
            if fd is not None:
                os.close(fd)
        self._header = None
        self._intact = set()
        self._read = set()
        self._damaged = False

    def _listed(
        self, fd: int | None, given: Mapping[str, Sequence[Piece]], copied: set[str]
    ) -> list[list[Any]] | None:
        """[name, length, SHA-256] of each part to write; None when a part to copy from is not
        intact or a span lies outside its part."""
        old = self._read_header()
        for name in copied - self._intact:  # checked once, before anything is copied from it
            if name not in old or fd is None:
                return None
            check = hashlib.sha256()
            for chunk in self._chunks(fd, name, 0, old[name][1]):
                check.update(chunk)
            if check.hexdigest() != old[name][2]:
                return None
            self._intact.add(name)
        listed: list[list[Any]] = []
        for name, pieces in given.items():
            if len(pieces) == 1 and pieces[0] == Span(name, 0, old.get(name, (0, -1))[1]):
                listed.append([name, old[name][1], old[name][2]])  # as it was
                continue
            check, size = hashlib.sha256(), 0
            for piece in pieces:
                if isinstance(piece, Span):
                    if not 0 <= piece.start <= piece.stop <= old[piece.part][1]:
                        return None
                    assert fd is not None
                    for chunk in self._chunks(fd, piece.part, piece.start, piece.stop):
                        check.update(chunk)
                    size += piece.stop - piece.start
                else:
                    check.update(piece)
                    size += len(piece)
            listed.append([name, size, check.hexdigest()])
        return listed


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class ResultFile:
    """One JSON state kept in one file: a header line (format, the tool's identity, the SHA-256 of
    the body) and the body. A damaged or foreign file reads as none."""

    def __init__(self, path: Path, tool: str | None = None) -> None:
        self.path = path
        self.tool = tool or tool_version()
        self._loaded: bytes | None = None

    def load(self) -> Mapping[str, Any] | None:
        try:
            with self.path.open("rb") as fh:
                raw = fh.read(MAX_CACHE_BYTES + 1)
        except OSError:
            return None
        head, newline, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
            if not (
                newline
                and isinstance(header, dict)
                and header.get("format") == JSON_FORMAT
                and header.get("tool") == self.tool
                and header.get("sha256") == hashlib.sha256(body).hexdigest()
            ):
                return None
            state = json.loads(body)
        except (ValueError, RecursionError):  # damaged: ignored
            return None
        if not isinstance(state, dict):
            return None
        self._loaded = body
        return state

    def save(self, state: Mapping[str, Any]) -> None:
        body = json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode()
        if body == self._loaded:
            return  # nothing changed since the last run: no write
        header = {
            "format": JSON_FORMAT,
            "tool": self.tool,
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(header).encode() + b"\n" + body)
        except OSError:
            return
