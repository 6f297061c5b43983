"""Kept results: what the last validation found, what each finding depended on, and whether it
still holds; and the replay of a whole run in which nothing changed.

The edge (provisioner.runtime.results) keeps three parts as bytes between runs; this module
says what they hold (JSON, read with json: nothing in them is ever executed):
- "run": the run as a whole: the repository, the key of the catalog and trusted roots, every
  integration file in order, every finding that does not depend on the clock (none when some
  file's result was not kept), the CDAs' dates and the forms' validity windows, and the tree
  (every folder, file and document by its signature) for a replay that lists no folder;
- "files": one JSON line [file, entry] per integration file: what its result depends on (its
  bytes, and for every path it names, where that path leads and the bytes there) and what it
  found: the findings that do not depend on the clock, the dates those that do are computed
  from, and its facts for the checks across files;
- "models": per loaded file, one JSON line: its model and positions, and what the form and CDA
  checks noted for the plan (only the steps that need every file loaded read it).

"As it was" is asked of each file by its stat signature first and by its bytes only when the
signature differs or was not kept (provisioner.loading.tree). What depends on the clock (a CDA
that expires, a form whose signer's certificate expires) is computed again from the kept dates,
or the file is checked again. Anything of an unexpected shape is treated as not kept.

Imports nothing heavy (no model, no catalog, no cryptography): the validate command replays an
unchanged run with this module alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from provisioner.diagnostics import Finding
from provisioner.documents.window import window_holds
from provisioner.layout import CATALOG_FILES
from provisioner.loading.paths import RepositoryFiles
from provisioner.loading.tree import (
    Listing,
    Observed,
    Signature,
    Stat,
    StatLike,
    Tree,
    joined,
    packed,
    settled,
    settled_signature,
    signature,
    unpacked_times,
)

#: Changes whenever what the parts hold or mean changes (older parts are then not reused).
SHAPE = 4
#: Codes a CDA gets from the clock alone: never kept, computed again on every run.
CLOCK_CODES = frozenset({"CDA-NOT-YET-VALID", "CDA-EXPIRED", "CDA-EXPIRING"})
#: Documents are hashed whole; a path naming something bigger is checked again each run.
MAX_DEPENDENCY_BYTES = 32 * 1024 * 1024
RUN, FILES, MODELS = "run", "files", "models"


@dataclass(frozen=True, slots=True)
class Span:
    """The bytes of a part as the last run wrote it, from start to stop: the edge copies them
    from where it keeps them when it writes the next parts (they are not held in memory)."""

    part: str
    start: int
    stop: int


class ResultMemory(Protocol):
    """Where the parts are kept between runs (the edge decides)."""

    #: File changes at or after this (nanoseconds since the epoch) are too recent to be told
    #: apart by their stat signature: such a file is read again by the next run.
    settled_before: int

    def load(self, part: str) -> bytes | None: ...

    def lines(self, part: str) -> list[int] | None:
        """Where each line of a part starts and, last, its length plus one (none for an empty
        part): found without holding the part; None when it is missing or not intact."""

    def save(self, parts: Mapping[str, bytes | Sequence[Piece] | None]) -> None:
        """Keep these parts, and only these: bytes, or pieces written one after the other;
        None: the part as the last run wrote it."""


class Parts:
    """The kept parts of a run's memory, each read and decoded once, and what this run learnt
    about them (shared by a replay that was tried and the run that follows it)."""

    def __init__(self, memory: ResultMemory) -> None:
        self.memory = memory
        self._decoded: dict[str, Any] = {}
        self._rows: Rows | None = None
        #: Files whose bytes and documents were found with their kept signatures this run.
        self.clean: set[str] = set()
        #: The catalog's digests (catalog_digests), when this run took them.
        self.catalog: list[str] | None = None

    def get(self, name: str) -> Any:
        """The decoded part, or None when it is missing or damaged."""
        if name not in self._decoded:
            self._decoded[name] = decode(self.memory.load(name))
        return self._decoded[name]

    def saved(self, parts: Mapping[str, bytes | Sequence[Piece] | None]) -> None:
        """Keep these parts; what was read of the last ones is read again when next needed
        (the rows and lines found in them lie elsewhere in the new file)."""
        self.memory.save(parts)
        self._decoded.clear()
        self._rows = None

    def forget_run(self) -> None:
        """Keep of the run part only what a run that checks files again reads (the replay
        failed): the lists of every file, date and document are let go."""
        run = self._decoded.get(RUN)
        if isinstance(run, dict):
            self._decoded[RUN] = {k: run[k] for k in ("shape", "context", "trust") if k in run}

    def rows(self) -> Rows | None:
        """The "files" part, each file's entry decoded when asked; None when it is missing."""
        if self._rows is None:
            data = self.memory.load(FILES)
            if data is None:
                return None
            self._rows = Rows(data)
        return self._rows


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


#: Between two entries of the "files" part: one entry a line (JSON text holds no raw newline).
_ROW = b",\n"
#: A piece of a part: bytes written as they are, or bytes of the last run's parts (Span).
Piece = bytes | memoryview | Span


def encode_files(entries: Mapping[str, Any]) -> bytes:
    """The "files" part: a JSON list of [file, entry], one a line."""
    return b"[" + _ROW.join(encode([rel, entry]) for rel, entry in entries.items()) + b"]"


def decode_files(data: bytes | None) -> dict[str, Any] | None:
    """The entries of a "files" part (in one decode); None when it is damaged."""
    items = decode(data)
    if not isinstance(items, list):
        return None
    entries: dict[str, Any] = {}
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            return None
        entries[item[0]] = item[1]
    return entries


def files_part(rows: Rows | None, lines: Iterable[tuple[str, bytes | None]]) -> list[Piece] | None:
    """The "files" part, as pieces: for each file in order, its row as kept (None: copied from
    the last run's part, rows that followed each other there in one span) or its new row.
    None when a row to keep is not known."""
    out: list[Piece] = [b"["]
    for rel, line in lines:
        piece: Piece | None = line
        if piece is None:
            span = rows.spans.get(rel) if rows is not None else None
            if span is None:
                return None
            piece = Span(FILES, span[0], span[2])
            last = out[-1]
            if isinstance(last, Span) and last.stop + len(_ROW) == piece.start:
                out[-1] = Span(FILES, last.start, piece.stop)  # with the separator between
                continue
        if len(out) > 1:
            out.append(_ROW)
        out.append(piece)
    out.append(b"]")
    return out


class Rows:
    """The "files" part as kept: where each file's row lies, found without decoding any, and
    each entry decoded only when asked (10,000 entries decoded at once hold about 50 MB, the
    bytes they come from 12 MB). An unchanged row is written again as it is (line)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        #: file -> (start of its row, start of its entry or -1 when unknown, end of its row)
        self.spans: dict[str, tuple[int, int, int]] = {}
        if len(data) < 2 or data[:1] != b"[" or data[-1:] != b"]":
            return
        start, end = 1, len(data) - 1
        while start < end:
            stop = data.find(_ROW, start, end)
            stop = end if stop < 0 else stop
            self._index(start, stop)
            start = stop + len(_ROW)

    def _index(self, start: int, stop: int) -> None:
        # A row is ["file",{...}]: a JSON string without a backslash ends at its next quote.
        data = self.data
        if data.startswith(b'["', start):
            quote = data.find(b'"', start + 2, stop)
            if quote > 0 and data.find(b"\\", start + 2, quote) < 0:
                try:
                    rel = data[start + 2 : quote].decode()
                except UnicodeDecodeError:
                    return
                if data.startswith(b'",', quote):
                    self.spans[rel] = (start, quote + 2, stop)
                return
        item = decode(data[start:stop])  # an escaped name: rare
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            self.spans[item[0]] = (start, -1, stop)

    def entry(self, rel: str) -> Any:
        """rel's kept entry, decoded now (not kept); None when there is none or it is damaged."""
        span = self.spans.get(rel)
        if span is None or not self.data:
            return None
        item = decode(self.data[span[0] : span[2]])
        if not (isinstance(item, list) and len(item) == 2 and item[0] == rel):
            return None
        return item[1]

    def release(self) -> None:
        """Let the bytes go (the rows are then copied from the last run's part, not decoded)."""
        self.data = b""

    def same_signature(self, rel: str, sig: Signature) -> bool:
        """rel's kept entry has this signature, told from the text of its row without decoding
        it: entries are written with "sig" first, and JSON writes a list of integers one way
        only. False when unsure (the entry is then decoded and compared)."""
        span = self.spans.get(rel)
        if span is None or span[1] < 0:
            return False
        text = b'{"sig":[%d,%d,%d,%d,%d,%d],' % tuple(sig)
        return self.data.startswith(text, span[1], span[2])


def decode(data: bytes | None) -> Any:
    """The JSON value in data; None when there is none or it is damaged."""
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


# --- findings ----------------------------------------------------------------------------------


def finding_to_json(d: Finding) -> list[Any]:
    """A finding of a known file: line, column, code, severity, message."""
    return [d.line, d.column, d.code, d.severity, d.message]


def finding_from_json(rel: str, raw: Any) -> Finding:
    line, column, code, severity, message = raw
    if (
        severity not in ("error", "warning")
        or not isinstance(code, str)
        or not isinstance(message, str)
        or type(line) is not int
        or type(column) is not int
    ):
        raise ValueError("not a finding")
    return Finding(severity, code, message, rel, line, column)


def placed_to_json(d: Finding) -> list[Any]:
    return [d.file, *finding_to_json(d)]


def placed_from_json(raw: Any) -> Finding:
    rel, *rest = raw
    if not isinstance(rel, str):
        raise ValueError("not a finding")
    return finding_from_json(rel, rest)


def clock_findings(rel: str, clock: Any, warning_days: int, now: datetime) -> list[Finding]:
    """What the clock says of a file's CDA, from kept [not before, not after, line, column]."""
    if clock is None:
        return []
    not_before, not_after, line, column = clock
    moment = now.timestamp()
    # Well inside the validity and before the warning (a second's margin for rounding): the
    # clock says nothing, as validity_findings would find.
    if not_before + 1 < moment and moment + warning_days * 86400 + 1 < not_after:
        return []
    from provisioner.documents.cda import validity_findings  # the CDA checks: only when needed

    return [
        Finding(f.severity, f.code, f"cda: {f.message}", rel, int(line), int(column))
        for f in validity_findings(
            datetime.fromtimestamp(not_before, UTC),
            datetime.fromtimestamp(not_after, UTC),
            now,
            warning_days,
        )
    ]


def form_window_holds(form: Any, now: datetime) -> bool:
    """A kept form verdict [bounds, checked at] still holds at now (None: no form verdict)."""
    if form is None:
        return True
    bounds, checked_at = form
    return window_holds(bounds, checked_at, now.astimezone(UTC).timestamp())


# --- the context: the catalog and the trusted roots ---------------------------------------------


def _digests(paths: Iterable[tuple[str, Path]], files: RepositoryFiles) -> list[str]:
    out = []
    for name, path in paths:
        try:
            data: str = digest(files.read(path, MAX_DEPENDENCY_BYTES))
        except (OSError, ValueError):  # ValueError: a NUL character in the path
            data = "-"
        out.append(f"{name}\0{data}")
    return out


def catalog_digests(catalog_folder: Path, files: RepositoryFiles) -> list[str]:
    """The SHA-256 of the catalog's files: taken before the catalog is loaded, so that a change
    while it loads shows as a different key next time, never as the same one."""
    return _digests(((name, catalog_folder / name) for name in CATALOG_FILES), files)


def context_key(
    catalog: Sequence[str], catalog_folder: Path, trust_roots: Iterable[str], files: RepositoryFiles
) -> str:
    """The key of what every file's result depends on: the catalog's files (catalog_digests)
    and the trusted roots, read now (before any rule reads them).

    trust_roots: the paths catalog/service.yaml names (relative to the catalog folder). The
    tool's version is the edge's to check (a cache of other code is ignored as a whole).
    """
    trusted = _digests(((f"trust:{w}", catalog_folder / w) for w in trust_roots), files)
    return digest("\0\0".join([str(SHAPE), *catalog, *trusted]).encode())


def plain_catalog(catalog_folder: Path) -> bool:
    """The catalog's folder and files are what they seem: no link whose target could move."""
    try:
        if not stat.S_ISDIR(os.lstat(catalog_folder).st_mode):
            return False
        return all(stat.S_ISREG(os.lstat(catalog_folder / n).st_mode) for n in CATALOG_FILES)
    except (OSError, ValueError):
        return False


# --- what a written path leads to ---------------------------------------------------------------


def portable(path: str, root: str) -> str:
    """Relative to the repository when inside it: a restored cache works in another checkout."""
    prefix = root.rstrip(os.sep) + os.sep
    return path[len(prefix) :] if path.startswith(prefix) else path


def resolution(
    files: RepositoryFiles,
    seen: Observed,
    folder: str,
    written: str,
    settled_before: int,
    noted: Mapping[str, str | None] | None = None,
) -> list[Any]:
    """Where a written path leads now: ["problem", code] or ["file", where, signature, sha256].

    noted: the SHA-256 of the bytes the rules read (RuleContext.read_digests), which the
    result was made from; a file they did not read is read here. The signature must have been
    taken (seen.lstat) before those reads: a change after it shows as a signature that differs
    next time. sha256 None: unreadable, too large, or changed while read (never reused).
    """
    found = files.check(folder, written)
    if isinstance(found, tuple):
        return ["problem", found[0]]
    where = str(found)
    st = seen.lstat(where)
    sig = settled_signature(st, settled_before) if st is not None else None
    sha256: str | None
    if noted is not None and where in noted:
        sha256 = noted[where]
    else:
        try:
            sha256 = digest(files.read(found, MAX_DEPENDENCY_BYTES))
        except (OSError, ValueError):
            sha256 = None
    return ["file", portable(where, str(files.root)), sig, sha256]


def resolution_holds(
    files: RepositoryFiles,
    seen: Observed,
    folder: str,
    written: str,
    kept: Any,
    settled_before: int,
) -> tuple[bool, list[Any] | None]:
    """Whether a written path still leads where it led, to the same bytes; and the resolution
    to keep instead when only its signature changed (None: keep it as it is)."""
    kind = kept[0]
    if kind == "problem":
        found = files.check(folder, written)
        return isinstance(found, tuple) and found[0] == kept[1], None
    if kind != "file":
        return False, None
    _, where, sig, sha256 = kept
    if not isinstance(where, str) or not isinstance(sha256, str) or os.path.isabs(where):
        return False, None
    target = seen.prefix + where
    if joined(folder, written) == target and seen.plain_folder(target[: target.rfind(os.sep)]):
        # Reached through real folders: the path checks would lead to target again if it is
        # still a regular file (not a link); no need to ask them.
        st = seen.lstat(target)
        if st is None or not stat.S_ISREG(st.st_mode):
            return False, None
    else:  # through links: the path checks again, in full
        found = files.check(folder, written)
        if isinstance(found, tuple) or str(found) != target:
            return False, None
        st = seen.lstat(target)
        if st is None:
            return False, None
    if sig is not None and signature(st) == sig:
        return True, None
    now = resolution(files, seen, folder, written, settled_before)
    return now[0] == "file" and now[1] == where and now[3] == sha256, now


def dependencies_hold(
    files: RepositoryFiles, seen: Observed, folder: str, kept: Any, settled_before: int
) -> tuple[bool, list[Any] | None]:
    """Whether every kept resolution still holds; the resolutions to keep when some were
    refreshed (None: keep them as they are)."""
    refreshed: list[Any] | None = None
    for i, (written, was) in enumerate(kept):
        holds, now = resolution_holds(files, seen, folder, written, was, settled_before)
        if not holds:
            return False, None
        if now is not None:
            refreshed = refreshed if refreshed is not None else [list(d) for d in kept]
            refreshed[i] = [written, now]
    return True, refreshed


# --- a file's bytes ------------------------------------------------------------------------------


@dataclass
class FileState:
    """How an integration file looks now, compared with its kept result."""

    sig: Signature | None  # the signature to keep (None: not settled, or not a regular file)
    same: bool  # the same bytes as when its result was kept
    regular: bool  # a regular file (not a link): what replay requires


def file_state(seen: Observed, path: str, kept: Any, settled_before: int) -> FileState:
    """Whether the integration file at path has the bytes its kept entry was made from.

    Read (and hashed) only when its signature differs from the kept one.
    """
    st = seen.lstat(path)
    if st is None or not stat.S_ISREG(st.st_mode):
        return FileState(None, False, False)
    now = signature(st)
    sig = now if settled(st, settled_before) else None
    if not isinstance(kept, Mapping):
        return FileState(sig, False, True)
    if kept.get("sig") == now:
        return FileState(sig, True, True)
    try:
        data = RepositoryFiles.read(Path(path), MAX_DEPENDENCY_BYTES)
    except OSError:
        return FileState(sig, False, True)
    return FileState(sig, kept.get("sha") == digest(data), True)


# --- the whole run -----------------------------------------------------------------------------


def stat_digest(stats: Iterable[StatLike | bytes]) -> str:
    """One SHA-256 of many files' signatures (in order; packed ones as they are)."""
    h = hashlib.sha256()
    for st in stats:
        h.update(packed(st) if isinstance(st, Stat) or not isinstance(st, bytes) else st)
    return h.hexdigest()


def vouched_targets(folder: str, resolutions: Any, seen: Observed) -> list[str] | None:
    """The documents a file names (relative to the repository), when their signatures vouch
    for its kept resolutions: each reached through real folders, with a signature kept. None
    otherwise."""
    targets: list[str] = []
    for written, was in resolutions:
        if was[0] != "file" or was[2] is None or os.path.isabs(was[1]):
            return None
        target = seen.prefix + was[1]
        if joined(folder, written) != target or not seen.plain_folder(os.path.dirname(target)):
            return None
        targets.append(was[1])
    return targets


def tree_record(
    tree: Tree,
    root: str,
    files: Sequence[str],
    targets: Sequence[str] | None,
    seen: Observed,
    settled_before: int,
) -> dict[str, Any] | None:
    """What lets the next run know that nothing changed without listing a folder or opening a
    file: every folder by its signature (the listing), every document by its signature (the
    documents), and every integration file and document by theirs (the digest).

    files: every integration file (absolute, in order), all found by the walk; targets: the
    documents of the loaded files (vouched_targets: relative), None when some file's are not
    vouched for.
    None when the folders' signatures cannot vouch for the listing (a link or an unreadable
    folder in the tree); the listing is None while some folder changed too recently to be told
    from the next change (the folders are then listed again); the documents' digest is None
    when their signatures do not vouch for the files' resolutions (a document reached through
    a link, with a path problem, or changed too recently), and the digest is None then or when
    an integration file or the listing changed too recently.
    """
    if tree.surprises or not tree.folders or len(files) != len(tree.files):
        return None
    record: dict[str, Any]
    if tree.kept is not None:  # the listing kept by the last run, found unchanged
        record = {**tree.kept}
    else:
        folders = sorted(tree.folders)
        listed = [tree.folders[f] for f in folders]
        times = (unpacked_times(sig) for sig in listed)
        vouched = all(m < settled_before and c < settled_before for m, c in times)
        record = {
            # The folders: no file added, removed or renamed.
            "listing": stat_digest(listed) if vouched else None,
            "folders": [portable(f, root) for f in folders],
            "files": [portable(f, root) for f in files],
        }
    record.update(digest=None, documents=None, targets=[])
    if targets is None:
        return record
    documents = _settled_stats((seen.prefix + t for t in targets), seen, settled_before)
    if documents is None:
        return record
    record["documents"] = stat_digest(documents)  # the documents: none changed
    record["targets"] = list(targets)
    found = _settled_stats(files, seen, settled_before)
    if found is not None and record["listing"] is not None:
        record["digest"] = stat_digest([*found, *documents])  # and the files: none changed
    return record


def _settled_stats(paths: Iterable[str], seen: Observed, settled_before: int) -> list[Stat] | None:
    """The lstats of paths, all regular files changed long enough ago; None otherwise."""
    stats: list[Stat] = []
    for path in paths:
        st = seen.lstat(path)
        if st is None or not stat.S_ISREG(st.st_mode) or not settled(st, settled_before):
            return None
        stats.append(st)
    return stats


def content_of(rel: str, entry: Any) -> bytes | None:
    """One file's share of content_key: the SHA-256 of its bytes' digest and of where each
    path it names led and the bytes there (no stat signature). None when some document's
    bytes are unknown."""
    deps: list[Any] = []
    for written, was in entry["deps"]:
        if was[0] == "file":
            if was[3] is None:
                return None
            was = ["file", was[1], was[3]]
        deps.append([written, was])
    return hashlib.sha256(encode([rel, entry["sha"], deps])).digest()


def content_key(context: str, shares: Iterable[bytes | None]) -> str | None:
    """What a complete run's results were made from, without the stat signatures: the context,
    and every file's content_of, in file order. Runs with the same key loaded the same files and
    documents, so what the plan made from one holds for the other (a replay keeps it:
    refreshing signatures does not change it). None when some document's bytes are unknown."""
    h = hashlib.sha256(context.encode())
    for share in shares:
        if share is None:
            return None
        h.update(share)
    return h.hexdigest()


def run_summary(
    *,
    context: str,
    root: str,
    trust_roots: Sequence[str],
    warning_days: int,
    every: Sequence[str],
    findings: Sequence[Finding] | None,
    clock: Sequence[Any],
    windows: Sequence[Any],
    trust: Any,
    tree: dict[str, Any] | None,
    content: str | None = None,
) -> dict[str, Any]:
    """The "run" part. findings: every finding of the run that does not depend on the clock
    (None when some file's result was not kept: no replay then); clock: [rel, not before, not
    after, line, column] of every CDA; windows: the [bounds, checked at] of every form verdict;
    content: the run's content_key (what a kept plan is keyed by)."""
    bounds = sorted({b for window, _ in windows for b in window})
    times = [checked_at for _, checked_at in windows]
    return {
        "shape": SHAPE,
        "context": context,
        "root": root,
        "trust_roots": list(trust_roots),
        "warning_days": warning_days,
        "every": list(every),
        "findings": None if findings is None else [placed_to_json(d) for d in findings],
        "clock": list(clock),
        # One window for all forms: it holds if each form's does (a bound between the oldest
        # check and now, or between now and the latest check, sends the replay to each form's).
        "windows": [bounds, min(times), max(times)] if times else None,
        "trust": trust,
        "tree": tree,
        "content": content,
    }


@dataclass
class Replayed:
    """The findings of a run in which nothing they depend on changed."""

    diagnostics: list[Finding] = field(default_factory=list)
    count: int = 0  # how many integration files the run checked
    listed: bool = False  # the folders had to be listed (something's signature had changed)
    content: str | None = None  # the kept run's content_key


def replay(
    parts: Parts,
    root: Path,
    catalog_folder: Path,
    chosen: set[Path] | None,
    now: datetime,
    listing: Listing,
) -> Replayed | None:
    """The findings of the last run, if nothing they depend on changed since; else None.

    chosen: the files named on the command line (None: none). listing: the walk of
    integrations/ and the run's lstats (made once, when needed; a run that goes on after a
    failed replay uses them too). Nothing is loaded or parsed, no rule runs: the catalog's
    files and the trusted roots are hashed, and every folder, integration file and document is
    known unchanged by its signature. When some signature changed (a file touched, checked out
    again, or changed too recently when the last run looked), the folders are listed and each
    file is compared with its kept result, by its bytes where needed; the new signatures are
    kept.
    """
    try:
        found = _replay(parts, root, catalog_folder, chosen, now, listing)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, struct.error):
        found = None  # not the shape this version writes
    if found is None:
        parts.forget_run()
    return found


def _replay(
    parts: Parts,
    root: Path,
    catalog_folder: Path,
    chosen: set[Path] | None,
    now: datetime,
    listing: Listing,
) -> Replayed | None:
    run = parts.get(RUN)
    if not isinstance(run, dict) or run["shape"] != SHAPE or run["root"] != str(root):
        return None
    if run["findings"] is None or not plain_catalog(catalog_folder):
        return None
    files = RepositoryFiles(root)
    parts.catalog = catalog = catalog_digests(catalog_folder, files)
    if context_key(catalog, catalog_folder, run["trust_roots"], files) != run["context"]:
        return None
    content = run.get("content")
    out = Replayed(
        [placed_from_json(d) for d in run["findings"]],
        len(run["every"]),
        content=content if isinstance(content, str) else None,
    )
    warning_days = int(run["warning_days"])
    for rel, *clock in run["clock"]:
        out.diagnostics += clock_findings(str(rel), clock, warning_days, now)
    windows = run["windows"]
    if windows is not None:
        bounds, first, last = windows
        if not (form_window_holds([bounds, first], now) and form_window_holds([bounds, last], now)):
            # Some form's window: each file's is looked at.
            out.listed = True
            return out if _each_file_holds(parts, run, root, chosen, now, listing) else None
    found = _unchanged(parts, run, root, chosen, listing)
    if found is None:
        out.listed = True
        return out if _each_file_holds(parts, run, root, chosen, now, listing) else None
    out.listed = not found
    return out if found or _touched_hold(parts, run, root, listing) else None


def _unchanged(
    parts: Parts, run: dict[str, Any], root: Path, chosen: set[Path] | None, listing: Listing
) -> bool | None:
    """Nothing changed since the last run, by the signatures alone (no folder listed): True.

    When every folder has its kept signature the listing is known unchanged, and is adopted
    (no walk) even if a file or document changed; when some folder's changed, the folders are
    listed, and the files they hold must be those kept. False when these files and every
    document are as kept but some file's signature changed (or the folders' did: the new
    listing is then to be kept); None when the files or documents are not known unchanged
    (each file is then compared with its kept result).
    """
    tree = run["tree"]
    if tree is None:
        return None
    prefix = str(root).rstrip(os.sep) + os.sep
    files = [prefix + f for f in tree["files"]]
    if chosen is not None and not chosen <= {Path(f) for f in files}:
        return None  # a file outside integrations/ named: listed with the others then
    if [f[len(prefix) :] for f in files] != run["every"]:
        return None
    folders: dict[str, bytes] = {}  # the names only: a kept listing's signatures are not kept
    h = hashlib.sha256()  # stat_digest, as the folders are looked at
    try:
        for f in tree["folders"]:
            path = prefix + f
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):
                return None
            h.update(packed(st))
            folders[path] = b""
    except OSError:
        return None
    listed = tree["listing"] is not None and h.hexdigest() == tree["listing"]
    if listed:
        kept = {key: tree[key] for key in ("listing", "folders", "files")}
        listing.adopt(Tree(files, folders, kept=kept))
    else:  # a folder touched, or a file added or removed: the folders are listed again
        walked = listing.tree()
        if walked.surprises or walked.files != files:
            return None
    if tree["documents"] is None:
        return None  # some document changed too recently for its signature to tell
    seen = listing.seen()
    documents: list[Stat] = []
    for path in (prefix + t for t in tree["targets"]):
        found = seen.lstat(path)
        if found is None:
            return None
        documents.append(found)
    if stat_digest(documents) != tree["documents"]:
        return None
    if listed and tree["digest"] is not None:
        stats: list[Stat] = []
        for path in files:
            found = seen.lstat(path)
            if found is None:
                return None
            stats.append(found)
        if stat_digest([*stats, *documents]) == tree["digest"]:
            return True
    return False


def _touched_hold(parts: Parts, run: dict[str, Any], root: Path, listing: Listing) -> bool:
    """The files whose signature changed since the last run have the bytes it checked (their
    documents are known unchanged, _unchanged); keeps their new signatures and the listing.

    Found from the text of each file's kept row (Rows.same_signature): no entry is decoded but
    those of the files touched. Those not touched are clean; when a touched file changed, the
    run goes on with what was found (and checks only that file again).
    """
    rows = parts.rows()
    if rows is None:
        return False
    tree, seen = listing.tree(), listing.seen()
    prefix = seen.prefix
    settled_before = parts.memory.settled_before
    touched: list[tuple[str, str]] = []
    clean: list[str] = []
    for path in tree.files:
        rel = path[len(prefix) :].replace(os.sep, "/")
        st = seen.lstat(path)
        if st is None or not stat.S_ISREG(st.st_mode):
            return False
        if rows.same_signature(rel, signature(st)):
            clean.append(rel)
        else:
            touched.append((path, rel))
    parts.clean.update(clean)
    refreshed: dict[str, bytes] = {}
    for path, rel in touched:
        entry = rows.entry(rel)
        if entry is None:
            return False
        state = file_state(seen, path, entry, settled_before)
        if not state.same:
            return False  # changed: the run goes on and checks it again
        if state.sig != entry["sig"]:
            refreshed[rel] = encode([rel, {**entry, "sig": state.sig}])
        if state.sig is not None:
            parts.clean.add(rel)
    targets = run["tree"]["targets"]
    tree_now = tree_record(tree, str(root), tree.files, targets, seen, settled_before)
    if refreshed or tree_now != run["tree"]:
        # Keep what was learnt: the next run need not list the folders or read these files.
        lines = files_part(rows, ((rel, refreshed.get(rel)) for rel in run["every"]))
        if lines is not None:
            parts.saved(
                {
                    RUN: encode({**run, "tree": tree_now}),
                    FILES: lines if refreshed else None,  # None: as it was
                    MODELS: None,
                }
            )
    return True


def _each_file_holds(
    parts: Parts,
    run: dict[str, Any],
    root: Path,
    chosen: set[Path] | None,
    now: datetime,
    listing: Listing,
) -> bool:
    """Every file, listed again, is as its kept result says (by its bytes where its signature
    changed); keeps the new signatures when some changed.

    The integration files' signatures are compared first, from the text of their rows: one
    that really changed (the usual reason) ends the replay before any entry is decoded. The
    kept entries are then decoded one at a time (10,000 at once would hold tens of MB), and
    the rows of those that did not change are written back as they were.
    """
    tree, seen = listing.tree(), listing.seen()
    paths = list(tree.files)
    if chosen is not None:
        paths += sorted(str(p) for p in chosen - {Path(f) for f in tree.files})
    prefix = seen.prefix
    rels = [p[len(prefix) :].replace(os.sep, "/") for p in paths]
    if rels != run["every"]:
        return False  # a file added, removed or renamed
    rows = parts.rows()
    if rows is None:
        return False
    memory = parts.memory
    files = RepositoryFiles(root)
    settled_before = memory.settled_before
    touched: set[str] = set()
    for path, rel in zip(paths, rels, strict=True):
        st = seen.lstat(path)
        if st is None or not stat.S_ISREG(st.st_mode):
            return False
        if not rows.same_signature(rel, signature(st)):
            touched.add(rel)
    for path, rel in zip(paths, rels, strict=True):
        if rel in touched and not file_state(seen, path, rows.entry(rel), settled_before).same:
            return False  # changed: the run goes on and checks it again
    lines: list[tuple[str, bytes | None]] = []  # None: the row as kept
    changed = False
    targets: list[str] | None = []
    for path, rel in zip(paths, rels, strict=True):
        entry = rows.entry(rel)
        line: bytes | None = None
        if entry is None:
            return False
        sig = entry["sig"]
        if rel in touched:
            sig = file_state(seen, path, entry, settled_before).sig
        folder = os.path.dirname(path)
        now_deps = None
        if _documents_clean(seen, path, entry):
            if rel not in touched:
                parts.clean.add(rel)
        else:
            holds, now_deps = dependencies_hold(files, seen, folder, entry["deps"], settled_before)
            if not holds:
                return False
        if not form_window_holds(entry["form"], now):
            return False
        if sig != entry["sig"] or now_deps is not None:
            entry = {**entry, "sig": sig, "deps": now_deps or entry["deps"]}
            line = encode([rel, entry])
            changed = True
        lines.append((rel, line))
        if targets is not None and entry["loaded"]:
            found = vouched_targets(folder, entry["deps"], seen)
            if found is None:
                targets = None
            else:
                targets += found
    tree_now = tree_record(tree, str(root), paths, targets, seen, settled_before)
    new_files = files_part(rows, lines)
    if new_files is not None and (changed or tree_now != run["tree"]):
        # Keep what was learnt: the next run need not list the folders or read these files.
        parts.saved(
            {
                RUN: encode({**run, "tree": tree_now}),
                FILES: new_files if changed else None,  # None: as it was
                MODELS: None,
            }
        )
    return True


def _documents_clean(seen: Observed, path: str, entry: Any) -> bool:
    """Every document the file names has its kept signature (nothing to read)."""
    folder = os.path.dirname(path)
    for written, kept in entry["deps"]:
        kind, *rest = kept
        if kind != "file":
            return False
        where, sig, _ = rest
        if sig is None or not isinstance(where, str) or where.startswith(os.sep):
            return False
        target = seen.prefix + where
        if joined(folder, written) != target or not seen.plain_folder(os.path.dirname(target)):
            return False
        st = seen.lstat(target)
        if st is None or not stat.S_ISREG(st.st_mode) or signature(st) != sig:
            return False
    return True
