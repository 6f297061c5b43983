"""The integration files as the file system shows them, and a cheap signature of a file's state.

Incremental validation asks, for every file a kept result depends on, "is it as it was?". Reading
and hashing every file and document to answer costs more than the rest of a run where nothing
changed; like git's index and ruff's cache, the answer comes first from the file's stat
signature (device, inode, size, modification and change times, in nanoseconds), and the bytes
are read only when it differs. A change always moves the change time (ctime), which no program
can set back, so a forged modification time does not hide one. A file changed within the same
clock tick as it was last looked at is the one case a signature can miss ("racy" timestamps):
a signature is kept only for a file whose times are older than the run that looked at it by a
margin (settled), and a file without a kept signature is read again.

Imports nothing heavy: the validate command replays an unchanged run with this module alone.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from provisioner.layout import INTEGRATIONS_DIR, YAML_SUFFIXES

#: A file whose modification or change time lies within this of the run that looked at it is
#: not trusted by its signature: coarse clocks (one tick), and file systems that keep times in
#: whole seconds or two (FAT), could give two changes the same times.
SETTLE_MARGIN_NS = 3_000_000_000


#: A signature: device, inode, size, mode, modification and change times (ns). A list, as kept
#: in JSON.
Signature = list[int]
#: A packed signature (digests, folders): inode, size, modification and change times, mode.
_PACKED = struct.Struct("<QQqqQ")
#: Stat: the same, and the device.
_STAT = struct.Struct("<QQqqQQ")


class StatLike(Protocol):
    """What a signature is made of: os.stat_result, or the smaller Stat."""

    @property
    def st_mode(self) -> int: ...
    @property
    def st_dev(self) -> int: ...
    @property
    def st_ino(self) -> int: ...
    @property
    def st_size(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...
    @property
    def st_ctime_ns(self) -> int: ...


class Stat(bytes):
    """The fields of an lstat a signature uses, packed (48 bytes): a run keeps tens of
    thousands of them, and an os.stat_result with its numbers takes over ten times more."""

    __slots__ = ()

    @classmethod
    def of(cls, st: os.stat_result) -> Stat:
        return cls(
            _STAT.pack(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_dev)
        )

    @property
    def st_ino(self) -> int:
        return int(_STAT.unpack_from(self)[0])

    @property
    def st_size(self) -> int:
        return int(_STAT.unpack_from(self)[1])

    @property
    def st_mtime_ns(self) -> int:
        return int(_STAT.unpack_from(self)[2])

    @property
    def st_ctime_ns(self) -> int:
        return int(_STAT.unpack_from(self)[3])

    @property
    def st_mode(self) -> int:
        return int(_STAT.unpack_from(self)[4])

    @property
    def st_dev(self) -> int:
        return int(_STAT.unpack_from(self)[5])


def signature(st: StatLike) -> Signature:
    """What identifies a file's state: equal signatures mean the same bytes (when settled)."""
    if isinstance(st, Stat):
        ino, size, mtime_ns, ctime_ns, mode, dev = _STAT.unpack(st)
        return [dev, ino, size, mode, mtime_ns, ctime_ns]
    return [st.st_dev, st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns]


def packed(st: StatLike) -> bytes:
    """A folder's or file's signature as bytes, for digests (stat_digest in rules.kept)."""
    if isinstance(st, Stat):
        return st[: _PACKED.size]
    return _PACKED.pack(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)


def unpacked_times(sig: bytes) -> tuple[int, int]:
    """The modification and change times of a packed signature."""
    _, _, mtime_ns, ctime_ns, _ = _PACKED.unpack(sig)
    return mtime_ns, ctime_ns


def settled(st: StatLike, settled_before: int) -> bool:
    """The file's last change is old enough to be told from a change to come by its signature.

    settled_before: nanoseconds since the epoch; a run takes its start minus SETTLE_MARGIN_NS.
    """
    if isinstance(st, Stat):
        mtime_ns, ctime_ns = _STAT.unpack(st)[2:4]
        return bool(mtime_ns < settled_before and ctime_ns < settled_before)
    return st.st_mtime_ns < settled_before and st.st_ctime_ns < settled_before


def settled_signature(st: StatLike, settled_before: int) -> Signature | None:
    """The signature to keep for a file seen as st, or None while its last change is too
    recent (settled) to tell it from a change to come: the next run then reads it again.

    st must be a regular file seen by lstat (a link says nothing about what it points to).
    """
    if not stat.S_ISREG(st.st_mode) or not settled(st, settled_before):
        return None
    return signature(st)


def joined(folder: str, written: str) -> str:
    """os.path.normpath(os.path.join(folder, written)) for a normalised absolute folder, without
    normpath's cost in the usual case (a plain relative path such as certs/provider.pem)."""
    simple = not (written.startswith("/") or written.endswith("/") or "//" in written)
    if simple and os.sep == "/" and "/." not in "/" + written:
        return folder + "/" + written
    return os.path.normpath(os.path.join(folder, written))


def relative_name(path: Path, repo_root: Path) -> str:
    """How diagnostics name a file: relative to the repository root, '/'-separated."""
    return path.absolute().relative_to(repo_root).as_posix()


def canonical_path(path: Path) -> Path:
    """path made absolute, with '..' and linked folders resolved as repo roots are.

    The last part is kept: an integration file may itself be a link, and is named by its link.
    """
    absolute = path.absolute()
    if absolute.name in ("", ".", ".."):
        return absolute.resolve()
    return absolute.parent.resolve() / absolute.name


def path_order(rel: str) -> list[str]:
    """The sort key that orders '/'-separated paths as pathlib does (part by part)."""
    return rel.split("/")


@dataclass
class Tree:
    """What one walk of integrations/ found."""

    files: list[str] = field(default_factory=list)  # every YAML file, absolute, in path order
    # Every folder the walk entered through real folders only (no link on the way), absolute,
    # with its lstat taken before it was listed (packed; b"" in a listing known from a kept
    # record); empty when integrations/ is not a real folder.
    folders: dict[str, bytes] = field(default_factory=dict)
    # Whether the walk met anything a folder's own signature does not vouch for: a link (what
    # it points to can change while the folder does not), or a folder it could not list.
    surprises: bool = False
    # Not walked but known unchanged from a kept record of the listing: that record.
    kept: Any = None


def walk_integrations(repo_root: str) -> Tree:
    """Every YAML file under repo_root/integrations/, as os.walk would find them.

    Links to folders are not entered; links to files (broken ones too) are listed, as files
    (reading them reports what is wrong). A folder that cannot be read is skipped. os.scandir
    without os.walk's per-folder lists: 10,000 integrations have 30,000 folders.
    """
    top = os.path.join(repo_root, INTEGRATIONS_DIR)
    tree = Tree()
    try:
        top_stat = os.lstat(top)
    except OSError:
        return tree
    top_is_real = stat.S_ISDIR(top_stat.st_mode)
    found: list[str] = []
    pending = [top]
    folders: dict[str, bytes] = {}
    surprises = not top_is_real
    while pending:
        folder = pending.pop()
        try:
            # Before listing it: an entry added after the listing then changes the signature.
            folders[folder] = packed(top_stat if folder == top else os.lstat(folder))
            entries = os.scandir(folder)
        except OSError:
            surprises = True
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                        continue
                    if entry.is_symlink():
                        surprises = True
                        # os.walk lists a link to a folder among the folders: not a file.
                        if entry.is_dir():
                            continue
                except OSError:
                    surprises = True
                if entry.name.endswith(YAML_SUFFIXES):
                    found.append(entry.path)
    root_prefix = len(repo_root.rstrip(os.sep)) + 1
    found.sort(key=lambda p: path_order(p[root_prefix:].replace(os.sep, "/")))
    tree.files = found
    tree.surprises = surprises
    if top_is_real:
        tree.folders = folders
    return tree


class Observed:
    """The lstat of paths, asked at most once per run, and whether a folder is reached through
    real folders only from the repository root."""

    def __init__(self, root: str, real_folders: Collection[str]) -> None:
        self.root = root.rstrip(os.sep) or os.sep
        #: The root with its separator: a path inside the repository starts with it.
        self.prefix = self.root if self.root.endswith(os.sep) else self.root + os.sep
        self._real = real_folders
        self._stats: dict[str, Stat | None] = {}
        self._plain: dict[str, bool] = {}

    def lstat(self, path: str) -> Stat | None:
        if path in self._stats:
            return self._stats[path]
        try:
            found: Stat | None = Stat.of(os.lstat(path))
        except (OSError, ValueError):
            found = None
        self._stats[path] = found
        return found

    def plain_folder(self, folder: str) -> bool:
        """folder (absolute, normalised) is the root or lies under it through real folders."""
        if folder in self._real or folder == self.root:
            return True
        known = self._plain.get(folder)
        if known is None:
            parent = os.path.dirname(folder)
            if parent == folder or not folder.startswith(self.prefix):
                known = False
            else:
                st = self.lstat(folder)
                known = st is not None and stat.S_ISDIR(st.st_mode) and self.plain_folder(parent)
            self._plain[folder] = known
        return known


class Listing:
    """The integration files of one run: walked once, when first needed, unless a replay knew
    the listing unchanged (every folder with its kept signature) and adopted it instead."""

    def __init__(self, repo_root: str) -> None:
        self.root = repo_root
        self._tree: Tree | None = None
        self._seen: Observed | None = None

    def adopt(self, tree: Tree) -> None:
        if self._tree is None:
            self._tree = tree

    def tree(self) -> Tree:
        if self._tree is None:
            self._tree = walk_integrations(self.root)
        return self._tree

    def seen(self) -> Observed:
        """The run's lstats (shared by a replay and the run that follows a failed one)."""
        if self._seen is None:
            self._seen = Observed(self.root, self.tree().folders)
        return self._seen
