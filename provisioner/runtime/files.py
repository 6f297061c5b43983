"""Writing a file so that it appears complete or not at all: the one way the tool writes files."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from pathlib import Path


def write_atomically(
    path: Path,
    data: bytes | Iterable[bytes | memoryview],
    *,
    replace: bool = True,
    durable: bool = False,
) -> None:
    """Write data (bytes, or chunks: a big file need not be held whole) to path through a
    temporary file in the same folder; an exception while the chunks are made writes nothing.

    replace=False never replaces an existing file (FileExistsError): the temporary file is
    linked under the final name. durable: flushed to disk before it gets its name.
    OSError when the folder cannot be written.
    """
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in [data] if isinstance(data, bytes) else data:
                out.write(chunk)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new file (mode 0600) named after path in its folder, open for writing; as
    tempfile.mkstemp makes it, without importing tempfile (and random, shutil...) at each run."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


#: write_atomically's temporary files: ".<final name>.<random>.tmp" in the target's folder.
LEFTOVER_GLOB = ".*.tmp"
#: A temporary file younger than this may belong to a writer still running.
LEFTOVER_MIN_AGE = 60.0


def sweep_leftovers(folder: Path, now: float, *, recursive: bool = False) -> list[Path]:
    """Remove the temporary files a killed writer left in folder; the paths removed.

    Only write_atomically's names, only regular files, only older than LEFTOVER_MIN_AGE
    seconds (a concurrent writer's file is younger). A file that cannot be removed is left.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    if recursive:  # os.walk lists a store of 1,000 folders in half the time rglob takes
        found: Iterable[Path] = (
            Path(where, name)
            for where, _folders, names in os.walk(folder)
            for name in fnmatch.filter(names, LEFTOVER_GLOB)
        )
    else:
        found = folder.glob(LEFTOVER_GLOB)
    for path in found:
        try:
            info = path.lstat()
            if path.is_symlink() or not path.is_file() or now - info.st_mtime < LEFTOVER_MIN_AGE:
                continue
            path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed
