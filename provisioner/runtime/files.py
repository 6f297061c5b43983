"""Writing a file so that it appears complete or not at all: the one way the tool writes files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(
    path: Path, data: bytes, *, replace: bool = True, durable: bool = False
) -> None:
    """Write data to path through a temporary file in the same folder.

    replace=False never replaces an existing file (FileExistsError): the temporary file is
    linked under the final name. durable: flushed to disk before it gets its name.
    OSError when the folder cannot be written.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
