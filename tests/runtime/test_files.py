"""write_atomically: a file appears whole or not at all, and nothing is left beside it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from provisioner.runtime.files import LEFTOVER_GLOB, write_atomically


def test_a_file_is_written_whole_private_and_without_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    write_atomically(target, b"first")
    write_atomically(target, b"second", durable=True)
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # caches may name private paths
    assert not list(tmp_path.glob(LEFTOVER_GLOB))


def test_an_existing_file_is_kept_when_replacing_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "form.pdf"
    write_atomically(target, b"stored", replace=False)
    with pytest.raises(FileExistsError):
        write_atomically(target, b"other", replace=False)
    assert target.read_bytes() == b"stored"
    assert not list(tmp_path.glob(LEFTOVER_GLOB))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            write_atomically(folder / "x", b"data")
    finally:
        folder.chmod(0o700)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "missing" / "x", b"data")
