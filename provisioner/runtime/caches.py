"""Local caches of document checks, as files in the cache folder (runtime.settings: on a laptop
.provisioner/cache/, git-ignored).

Local only: a cache committed to git could be forged by anyone with a pull request (CI never
reads one from the checkout). A cache that cannot be read is a miss; one that cannot be written
is simply not used.

Entries are kept by the code that made them: each append starts with a header line naming the
tool's identity (runtime.results.tool_version), and only the entries after a header of the
running tool's identity are read. A pull request that changes the checks thus never reuses
main's verdicts; a log holding another identity's entries is written back without them.

Each cache is one append-only log (one entry a line), not a file per entry: creating a thousand
small files cost a cold run of 1,000 forms more than checking their signatures. A run reads a
log once, and adds its new entries with O_APPEND writes, which runs on the same repository at the
same time cannot interleave within a line; a line that does not parse (a run killed halfway) is
ignored like any damaged entry. When a log holds far more lines than entries (entries made again
after their certificates' bounds), the next run that reads it writes it back compacted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.runtime.files import write_atomically

if TYPE_CHECKING:  # the document checks are imported when a verdict is read or written
    from provisioner.documents.cda import CdaVerdict
    from provisioner.documents.form import FormVerdict

# In the cache folder (an absolute path wins the join: the tests keep verdicts apart so).
FORMS_CACHE = Path("form-verdicts.jsonl")
ISSUERS_CACHE = Path("cda-issuers.txt")
CDA_CACHE = Path("cda-verdicts.jsonl")
#: CDA verdicts and issuer marks are appended this many at a time (a cold run of 10,000 files:
#: a few writes), and the rest when the run ends (DocumentEdges.save).
PENDING_LIMIT = 2000
#: A bigger log is not read (damaged, or not ours): it is started again.
MAX_LOG_BYTES = 256 * 1024 * 1024
#: Compact a log holding more than this many times as many lines as entries (and > MIN lines).
COMPACT_RATIO, COMPACT_MIN_LINES = 2, 1000
_KEY = re.compile(r"[0-9a-f]{64}")


def _read_lines(path: Path) -> list[bytes] | None:
    """The log's non-empty lines; [] when there is none; None when it is too big to be ours."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as log:
            data = log.read(MAX_LOG_BYTES + 1)
    except OSError:
        return []
    if len(data) > MAX_LOG_BYTES:
        return None
    return [line for line in data.splitlines() if line]


def _append(path: Path, data: bytes) -> None:
    """data at the end of path, in one write (O_APPEND), on a line of its own even after a
    line a killed run left unfinished; OSError when it cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _header(tool: str) -> bytes:
    return json.dumps({"tool": tool}, separators=(",", ":")).encode()


def _append_entries(path: Path, tool: str, lines: Sequence[bytes]) -> None:
    """lines, after a header naming tool, in one append: no other run's lines can come between.
    Nothing when there is none; a log that cannot be written is simply not used."""
    if not lines:
        return
    try:
        _append(path, b"".join(line + b"\n" for line in [_header(tool), *lines]))
    except OSError:
        return


def _ours(lines: Sequence[bytes], tool: str) -> tuple[list[bytes], int]:
    """The lines written by the tool whose identity is tool (after a header of it), and how
    many other lines there are (another identity's, or before any header: an older format)."""
    ours: list[bytes] = []
    foreign = 0
    current: object = None
    for line in lines:
        if line.startswith(b'{"tool":'):
            try:
                header = json.loads(line)
            except (ValueError, RecursionError):
                header = None
            if isinstance(header, dict) and set(header) == {"tool"}:
                current = header["tool"]
                continue
        if current == tool:
            ours.append(line)
        else:
            foreign += 1
    return ours, foreign


def _rewrite(path: Path, lines: Iterable[bytes]) -> None:
    try:
        write_atomically(path, b"".join(line + b"\n" for line in lines))
    except OSError:
        return


#: How put_many writes a line: {"key":"...","verdict":...}; its key is read without decoding
#: the rest (a run that checks one form then decodes one verdict, not all of them).
_LINE_HEAD, _KEY_TAIL = b'{"key":"', b'","verdict":'


def _line_key(line: bytes) -> str | None:
    """The key of a verdict line; None when the line holds none (damaged, or not a verdict)."""
    end = line.find(_KEY_TAIL, len(_LINE_HEAD))
    if line.startswith(_LINE_HEAD) and end > 0:
        raw = line[len(_LINE_HEAD) : end]
        if b"\\" not in raw and b'"' not in raw:  # no escape: the bytes are the key
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return None
    try:  # any other shape: decoded whole
        item = json.loads(line)
    except (ValueError, RecursionError):
        return None
    key = item.get("key") if isinstance(item, dict) else None
    return key if isinstance(key, str) else None


class _KeyedLog:
    """Values by key, as JSON lines {"key": ..., "verdict": ...} after a header {"tool": ...};
    the last line of a key is its value. A line is decoded only when its value is asked for."""

    def __init__(self, path: Path, tool: str | None = None) -> None:
        from provisioner.runtime.results import tool_version

        self.path = path
        self.tool = tool or tool_version()
        self._lines: dict[str, bytes] | None = None  # each key's last line, as read
        self._decoded: dict[str, Any] = {}

    def _load(self) -> dict[str, bytes]:
        if self._lines is None:
            lines = _read_lines(self.path)
            ours, foreign = _ours(lines or (), self.tool)
            kept: dict[str, bytes] = {}
            for line in ours:
                key = _line_key(line)
                if key is not None:
                    kept.pop(key, None)  # the last line of a key wins, and is written last
                    kept[key] = line
            self._lines = kept
            if lines is None:
                _rewrite(self.path, ())
            elif foreign or len(lines) > max(COMPACT_MIN_LINES, COMPACT_RATIO * (len(kept) + 1)):
                _rewrite(self.path, [_header(self.tool), *kept.values()] if kept else ())
        return self._lines

    def raw(self, key: str) -> Any:
        """The value kept for key as JSON data; None when there is none or it is damaged."""
        if key not in self._decoded:
            line = self._load().get(key)
            try:
                item = json.loads(line) if line is not None else None
            except (ValueError, RecursionError):
                item = None  # damaged: a miss
            found = item.get("verdict") if isinstance(item, dict) else None
            self._decoded[key] = (
                found if isinstance(item, dict) and item.get("key") == key else None
            )
        return self._decoded[key]

    def put_raw(self, items: Sequence[tuple[str, Any]]) -> None:
        """Every (key, value as JSON data) in one append."""
        kept = self._load()
        lines = []
        for key, raw in items:
            line = {"key": key, "verdict": raw}
            encoded = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode()
            kept.pop(key, None)
            kept[key] = encoded
            self._decoded[key] = raw
            lines.append(encoded)
        _append_entries(self.path, self.tool, lines)


class FileCache(_KeyedLog):
    """Form verdicts by cache key (provisioner.documents.form.VerdictCache)."""

    def get(self, key: str, now: float) -> FormVerdict | None:
        from provisioner.documents.form import verdict_from_json

        return verdict_from_json(self.raw(key), now)

    def put(self, key: str, verdict: FormVerdict) -> None:
        self.put_many([(key, verdict)])

    def put_many(self, items: Sequence[tuple[str, FormVerdict]]) -> None:
        """Every verdict in one append."""
        from provisioner.documents.form import verdict_to_json

        self.put_raw([(key, verdict_to_json(verdict)) for key, verdict in items])


class CdaVerdictFiles(_KeyedLog):
    """CDA verdicts by key (provisioner.documents.cda.CdaVerdicts): what a CDA file says, the
    clock aside. The verdicts a run makes are appended together when it ends (save)."""

    def __init__(self, path: Path, tool: str | None = None) -> None:
        super().__init__(path, tool)
        self._pending: list[tuple[str, Any]] = []

    def get(self, key: str) -> CdaVerdict | None:
        from provisioner.documents.cda import cda_verdict_from_json

        return cda_verdict_from_json(self.raw(key))

    def put(self, key: str, verdict: CdaVerdict) -> None:
        from provisioner.documents.cda import cda_verdict_to_json

        self._pending.append((key, cda_verdict_to_json(verdict)))
        if len(self._pending) >= PENDING_LIMIT:
            self.save()

    def save(self) -> None:
        pending, self._pending = self._pending, []
        self.put_raw(pending)


class IssuerMarkFiles:
    """CDA signatures already verified (documents.cda.IssuerMarks): one mark (a SHA-256 in hex)
    a line, after a header {"tool": ...} (a mark says what the running code verified)."""

    def __init__(self, path: Path, tool: str | None = None) -> None:
        from provisioner.runtime.results import tool_version

        self.path = path
        self.tool = tool or tool_version()
        self._marks: set[str] | None = None
        self._pending: list[bytes] = []  # remembered, not yet written

    def _load(self) -> set[str]:
        if self._marks is None:
            lines = _read_lines(self.path)
            ours, foreign = _ours(lines or (), self.tool)
            found = (line.decode("ascii", "replace") for line in ours)
            self._marks = {mark for mark in found if _KEY.fullmatch(mark)}
            if lines is None:
                _rewrite(self.path, ())
            elif foreign or len(lines) > max(COMPACT_MIN_LINES, 3 * len(self._marks)):
                marks = [mark.encode("ascii") for mark in sorted(self._marks)]
                _rewrite(self.path, [_header(self.tool), *marks] if marks else ())
        return self._marks

    def known(self, key: str) -> bool:
        return key in self._load()

    def remember(self, key: str) -> None:
        """Keep a mark (written with the others at save, or when many are waiting)."""
        marks = self._load()
        if key in marks or not _KEY.fullmatch(key):
            return
        marks.add(key)
        self._pending.append(key.encode("ascii"))
        if len(self._pending) >= PENDING_LIMIT:
            self.save()

    def save(self) -> None:
        """Append the marks remembered since the last save, in one write."""
        pending, self._pending = self._pending, []
        _append_entries(self.path, self.tool, pending)
