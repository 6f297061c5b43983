"""Reading an integration file's bytes, refusing what is not a regular file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from provisioner.diagnostics import Finding, error

#: The strict loader's limit: a YAML file is at most this long (bytes).
MAX_BYTES = 1024 * 1024
#: Enough to know that a file is over the strict loader's limit.
READ_LIMIT = 2 * 1024 * 1024


def outside(path: Path, root: Path) -> bool:
    """path, its links followed, is not inside root (also resolved)."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, top]) != top


def read_raw(path: Path, rel: str, root: Path | None = None) -> tuple[bytes | None, list[Finding]]:
    """The file's bytes (at most READ_LIMIT), or why it cannot be read.

    root: the repository the file must resolve inside (a link leaving it is FILE-OUTSIDE, as
    documents are resolved inside the repository too).
    """
    if root is not None and outside(path, root):
        message = "is a symbolic link that leaves the repository; commit the file itself"
        return None, [error(rel, 1, 1, "FILE-OUTSIDE", message)]
    try:
        # Non-blocking open, then fstat: a FIFO or device named *.yaml must not hang the run.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None, [
                    error(rel, 1, 1, "FILE-UNREADABLE", "is not a regular file; commit a file")
                ]
            return fh.read(READ_LIMIT), []
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        reason = getattr(exc, "strerror", None) or str(exc)
        return None, [error(rel, 1, 1, "FILE-UNREADABLE", f"cannot read the file: {reason}")]
