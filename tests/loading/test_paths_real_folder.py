"""The per-run folder resolution gives what os.path.realpath gives, links and all."""

from __future__ import annotations

import os
from pathlib import Path

from provisioner.loading.paths import RepositoryFiles


def test_real_folder_is_realpath(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "elsewhere" / "c").mkdir(parents=True)
    (tmp_path / "a" / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a" / "loop")
    (tmp_path / "a" / "up").symlink_to("..")
    files = RepositoryFiles(tmp_path)
    for rel in ("a/b", "a/link", "a/link/c", "a/missing/x", "a/loop", "a/up/a/b", "a/b/../link"):
        folder = os.path.normpath(tmp_path / rel)
        assert files._real_folder(folder) == os.path.realpath(folder), rel
