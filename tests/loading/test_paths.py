"""RepositoryFiles.read: a bounded read of one file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provisioner.loading.paths import RepositoryFiles, TooLarge


def test_a_read_is_whole_up_to_the_limit_and_refused_beyond(tmp_path: Path) -> None:
    files = RepositoryFiles(tmp_path)
    exact = tmp_path / "exact.pem"
    exact.write_bytes(b"x" * 100)
    assert files.read(exact, 100) == b"x" * 100
    assert files.read(exact, 32 * 1024 * 1024) == b"x" * 100
    with pytest.raises(TooLarge):
        files.read(exact, 99)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert files.read(empty, 10) == b""


def test_a_pipe_does_not_hang_the_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert RepositoryFiles(tmp_path).read(fifo, 1000) == b""
