"""The validation cache: per-file results of the last run, in one file under .provisioner/cache/.

Local only (git-ignored): a cache committed to git could be forged by anyone with a pull request;
CI may restore it from runs on main only. The file holds a header line (format, the tool's
identity and the SHA-256 of the body) and the body (JSON). A file that is damaged, truncated, of
another format or written by other code is ignored, as if there were none; one that cannot be
written is simply not used.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioner.runtime.files import write_atomically

RESULTS_CACHE = Path(".provisioner") / "cache" / "validation.json"
CATALOG_CACHE = Path(".provisioner") / "cache" / "catalog.json"  # the last catalog read
FORMAT = 1
MAX_CACHE_BYTES = 512 * 1024 * 1024  # far above 10,000 integrations (~15 MB)


def tool_version() -> str:
    """What identifies the running tool: the SHA-256 of every module of the package.

    Not the package's version number: in a checkout (the pull-request check runs the pull
    request's code) the rules can change while the number does not, and results kept by other
    code must not be reused. Hashing ~80 small files costs a few milliseconds.
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


class ResultFile:
    """provisioner.rules.incremental.ResultMemory kept in one file."""

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
                and header.get("format") == FORMAT
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
        header = {"format": FORMAT, "tool": self.tool, "sha256": hashlib.sha256(body).hexdigest()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(header).encode() + b"\n" + body)
        except OSError:
            return
