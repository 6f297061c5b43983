"""Where the signed forms and CDAs go: a document store shaped like the SharePoint library.

The interface is the idempotent sequence SharePoint allows (see `apply/sharepoint.py`): make each
folder level (a no-op when it exists), look a file up (length first, content hash only when
needed, since SharePoint keeps no hash), and add a file refusing to overwrite. `ensure_file`
builds "never clobber" on top of those three calls, so every store gets it the same way.

`LocalStore` is the embedded store: a folder that mirrors the library, for the demo, tests and
teams without SharePoint access.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from provisioner.errors import FatalError
from provisioner.runtime.files import write_atomically


class StoreError(Exception):
    """The store failed; nothing after the failing step was done."""


class ConflictError(StoreError):
    """A file already exists with other content: it is left untouched."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"{path} already exists in the document store with other content ({reason}); it was "
            "left untouched. Documents are never replaced: compare the two, then either remove "
            "the stored one by hand or give the new file another name"
        )
        self.path = path


class AlreadyExistsError(StoreError):
    """add_file found the name taken (possibly by a concurrent writer)."""


class StoreUnavailable(StoreError, FatalError):
    """The store cannot be used at all (configuration, credentials, not implemented): exit 2."""


@dataclass
class StoredFile:
    """A file found in the store. The content hash is computed only when asked for."""

    path: str
    length: int
    hasher: Callable[[], str] = field(repr=False)
    _sha256: str | None = field(default=None, repr=False)

    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = self.hasher()
        return self._sha256


@dataclass
class StoreWrites:
    folders: int = 0
    files: int = 0

    @property
    def total(self) -> int:
        return self.folders + self.files


@runtime_checkable
class DocumentStore(Protocol):
    """What apply needs from a document library. Folder paths are segments from the library."""

    name: str
    writes: StoreWrites

    @property
    def target(self) -> str:
        """The real place, for the ledger's Store: trailer (kind and location)."""
        ...

    def describe(self, folder: Sequence[str], name: str | None = None) -> str:
        """Where a folder (or a file in it) is, for messages."""
        ...

    def ensure_folder(self, folder: Sequence[str]) -> None:
        """Create every missing level of folder; existing levels are left alone."""
        ...

    def folder_exists(self, folder: Sequence[str]) -> bool:
        """Whether the folder is there (drift reports the ones that are not)."""
        ...

    def lookup_file(self, folder: Sequence[str], name: str) -> StoredFile | None:
        """The file, or None when it does not exist."""
        ...

    def add_file(self, folder: Sequence[str], name: str, data: bytes) -> None:
        """Add a new file; raise AlreadyExistsError rather than overwrite."""
        ...


def _same(found: StoredFile, data: bytes, sha256: str) -> str | None:
    """None when found holds data; otherwise why not."""
    if found.length != len(data):
        return f"{found.length} bytes stored, {len(data)} bytes to add"
    if found.sha256() != sha256:
        return "same length, different SHA-256"
    return None


def ensure_file(
    store: DocumentStore, folder: Sequence[str], name: str, data: bytes, sha256: str
) -> bool:
    """Make sure folder/name holds data. True when it was added; ConflictError if it differs."""
    found = store.lookup_file(folder, name)
    if found is None:
        try:
            store.add_file(folder, name, data)
            return True
        except AlreadyExistsError:
            # Someone else added it between our lookup and our add: judge what they wrote.
            found = store.lookup_file(folder, name)
            if found is None:
                raise StoreError(
                    f"{store.describe(folder, name)} was reported to exist and then not found"
                ) from None
    if reason := _same(found, data, sha256):
        raise ConflictError(store.describe(folder, name), reason)
    return False


_BAD_SEGMENTS = {"", ".", ".."}


class LocalStore:
    """A folder that mirrors the SharePoint library: <root>/<library>/<base folder>/<folder>."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.writes = StoreWrites()

    def _path(self, folder: Sequence[str], name: str | None = None) -> Path:
        parts = [*folder, name] if name is not None else list(folder)
        for part in parts:
            if part in _BAD_SEGMENTS or "/" in part or "\\" in part or "\0" in part:
                raise StoreError(f"{part!r} cannot be a folder or file name in the store")
        return self.root.joinpath(*parts)

    @property
    def target(self) -> str:
        return f"local ({self.root})"

    def describe(self, folder: Sequence[str], name: str | None = None) -> str:
        return str(self._path(folder, name))

    def folder_exists(self, folder: Sequence[str]) -> bool:
        return self._path(folder).is_dir()

    def ensure_folder(self, folder: Sequence[str]) -> None:
        self._path(folder)  # refuse unusable names before creating anything
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {self.root}: {exc}") from exc
        path = self.root
        for part in folder:
            path = path / part
            if path.is_dir():
                continue
            try:
                path.mkdir(parents=False)
            except FileExistsError:
                if not path.is_dir():
                    raise StoreError(f"{path} exists and is not a folder") from None
                continue
            except OSError as exc:
                raise StoreError(f"cannot create folder {path}: {exc.strerror}") from exc
            self.writes.folders += 1

    def lookup_file(self, folder: Sequence[str], name: str) -> StoredFile | None:
        path = self._path(folder, name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
        if not path.is_file():
            raise StoreError(f"{path} exists and is not a file")
        return StoredFile(str(path), stat.st_size, lambda: _hash_file(path))

    def add_file(self, folder: Sequence[str], name: str, data: bytes) -> None:
        path = self._path(folder, name)
        # Write a temporary file next to the target, then link it under the final name: the
        # name appears complete or not at all, and link() never replaces an existing file.
        try:
            write_atomically(path, data, replace=False, durable=True)
        except FileExistsError:
            raise AlreadyExistsError(str(path)) from None
        except OSError as exc:
            raise StoreError(f"cannot add {path}: {exc.strerror}") from exc
        self.writes.files += 1


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
