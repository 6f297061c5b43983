"""The repository's own files, as the core reads them: one reader, owned by one run.

"Is this path, written in an integration file, a usable file inside the repository?" is
answered here and nowhere else: the path rules report the answer, and every check that opens a
document (CDA, form, evidence, the plan's documents, the desk's messages) asks the same object.
Answers are remembered for the life of the object (a run), never across runs: files may change
between two runs in one process.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

#: (code, message) saying why a written path is unusable.
PathProblem = tuple[str, str]


class TooLarge(OSError):
    """A file bigger than the reader was told to accept (it is not read into memory)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class RepositoryFiles:
    """Path checks and bounded reads of files under one repository root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.abspath(root))
        self._root = str(self.root)
        self._real: dict[str, str] = {}
        self._checked: dict[tuple[str, str], PathProblem | Path] = {}

    def _real_folder(self, folder: str) -> str:
        """os.path.realpath(folder) for a normalised absolute folder, remembered per run.

        Built on the parent's answer, so each folder costs one lstat rather than one per part
        of its path (10,000 integrations have 20,000 document folders under one root).
        """
        found = self._real.get(folder)
        if found is None:
            parent, name = os.path.split(folder)
            if not name or parent == folder:
                found = os.path.realpath(folder)
            else:
                joined = os.path.join(self._real_folder(parent), name)
                found = os.path.realpath(joined) if os.path.islink(joined) else joined
            self._real[folder] = found
        return found

    def check(self, folder: Path | str, written: str) -> PathProblem | Path:
        """The resolved file behind `written` (relative to folder), or why it is unusable."""
        key = (str(folder), written)
        found = self._checked.get(key)
        if found is None:
            checked = self._check(key[0], written)
            # One Path per file and run: every rule that opens a document asks again.
            found = self._checked[key] = checked if isinstance(checked, tuple) else Path(checked)
        return found

    def problem(self, folder: Path | str, written: str) -> PathProblem | None:
        found = self.check(folder, written)
        return found if isinstance(found, tuple) else None

    def usable(self, folder: Path | str, written: str) -> Path | None:
        found = self.check(folder, written)
        return None if isinstance(found, tuple) else found

    def _check(self, folder: str, written: str) -> PathProblem | str:
        root = self._root
        if not written.strip():
            return "PATH-EMPTY", "is empty; give the path of the file, relative to this YAML file"
        if PurePosixPath(written).is_absolute() or PureWindowsPath(written).is_absolute():
            return (
                "PATH-ABSOLUTE",
                "is absolute; write it relative to this YAML file (e.g. certs/provider.pem)",
            )
        if "\\" in written:
            return "PATH-BACKSLASH", "uses '\\'; separate folders with '/'"
        if "\0" in written:  # no file system takes it; os calls would raise ValueError
            return "PATH-UNREADABLE", "contains a NUL character, which no file name can hold"
        target = os.path.normpath(os.path.join(folder, written))
        if os.path.commonpath([root, target]) != root:
            return (
                "PATH-ESCAPES",
                "points outside the repository; keep documents next to the YAML file",
            )
        real = os.path.join(self._real_folder(os.path.dirname(target)), os.path.basename(target))
        if os.path.islink(real):
            real = os.path.realpath(real)
        real_root = self._real_folder(root)
        if os.path.commonpath([real_root, real]) != real_root:
            return (
                "PATH-ESCAPES",
                "is a symbolic link that leaves the repository; commit the file itself",
            )
        try:
            mode = os.stat(real).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return (
                "PATH-MISSING",
                "does not exist; add the file to the pull request or fix the path",
            )
        except OSError as exc:  # loops, permissions
            return "PATH-UNREADABLE", f"cannot be read ({exc.strerror})"
        if not stat.S_ISREG(mode):
            return "PATH-NOT-FILE", "is not a regular file"
        return real

    @staticmethod
    def read(path: Path, limit: int) -> bytes:
        """The bytes of a file, refusing (TooLarge) one bigger than limit before reading it all.

        OSError when the file cannot be read. O_NONBLOCK: a FIFO must not hang the run.
        """
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            # Asked for by its size (plus one byte, to see it grow), not by the limit: a read
            # of limit bytes makes Python reserve that much (32 MB for a form) at every read.
            want = min(limit, os.fstat(fd).st_size) + 1
            data = fh.read(want) or b""  # None: a pipe with nothing to read yet
            if data and len(data) == want and want <= limit:  # larger than its size said
                data += fh.read(limit + 1 - want) or b""
        if len(data) > limit:
            raise TooLarge(limit)
        return data
