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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioner.loading.tree import SETTLE_MARGIN_NS
from provisioner.runtime.files import write_atomically

RESULTS_CACHE = Path(".provisioner") / "cache" / "validation.json"
CATALOG_CACHE = Path(".provisioner") / "cache" / "catalog.json"  # the last catalog read
FORMAT = 2
JSON_FORMAT = 1  # ResultFile's
MAX_CACHE_BYTES = 512 * 1024 * 1024  # far above 10,000 integrations (~15 MB)
MAX_HEADER_BYTES = 64 * 1024


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
        self._loaded: dict[str, bytes] = {}
        self._damaged = False  # a part was not as its header says: the next save writes

    def _read_header(self) -> dict[str, tuple[int, int, str]]:
        if self._header is not None:
            return self._header
        self._header = {}
        try:
            with self.path.open("rb") as fh:
                head = fh.readline(MAX_HEADER_BYTES)
                size = os.fstat(fh.fileno()).st_size
        except OSError:
            return self._header
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
        return parts

    def load(self, part: str) -> bytes | None:
        """The bytes of one part as the last run wrote them; None if absent or not intact."""
        if part in self._loaded:
            return self._loaded[part]
        where = self._read_header().get(part)
        if where is None:
            return None
        offset, length, sha256 = where
        try:
            with self.path.open("rb") as fh:
                fh.seek(offset)
                data = fh.read(length)
        except OSError:
            return None
        # Checked against the header read first: a file replaced meanwhile by another run
        # fails here and is ignored.
        if len(data) != length or hashlib.sha256(data).hexdigest() != sha256:
            self._damaged = True
            return None
        self._loaded[part] = data
        return data

    def save(self, parts: Mapping[str, bytes]) -> None:
        """Keep these parts (the whole state: parts not given are dropped)."""
        listed = [
            [name, len(data), hashlib.sha256(data).hexdigest()] for name, data in parts.items()
        ]
        kept = [[name, size, sha256] for name, (_, size, sha256) in self._read_header().items()]
        if listed == kept and not self._damaged:
            return  # nothing changed since the last run: no write
        header = {"format": FORMAT, "tool": self.tool, "parts": listed}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(
                self.path, json.dumps(header).encode() + b"\n" + b"".join(parts.values())
            )
        except OSError:
            return
        self._header = None
        self._loaded = dict(parts)
        self._damaged = False


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
