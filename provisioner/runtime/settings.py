"""What the environment variables of a run say (read here, at the edge, and nowhere else)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

NO_CACHE_ENV = "HESTIA_PROVISIONER_NO_CACHE"
WORKERS_ENV = "HESTIA_PROVISIONER_WORKERS"
CACHE_DIR_ENV = "HESTIA_PROVISIONER_CACHE_DIR"
#: Where a laptop keeps its caches, under the repository (git-ignored).
DEFAULT_CACHE_DIR = Path(".provisioner") / "cache"


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def running_in_ci(environ: Mapping[str, str]) -> bool:
    """GitHub Actions (and most CI services) say so in GITHUB_ACTIONS or CI."""
    return environ.get("GITHUB_ACTIONS") == "true" or environ.get("CI") == "true"


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


@dataclass(frozen=True)
class Settings:
    cache: bool  # remember form verdicts across runs (HESTIA_PROVISIONER_NO_CACHE=1: no)
    workers: int  # processes that check signed forms (HESTIA_PROVISIONER_WORKERS)
    cache_dir: Path | None = None  # where the caches live (HESTIA_PROVISIONER_CACHE_DIR)
    ci: bool = False  # a CI run (GITHUB_ACTIONS=true or CI=true)

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Settings:
        wanted = environ.get(WORKERS_ENV, "")
        workers = int(wanted) if wanted.isdigit() and int(wanted) > 0 else available_cpus()
        folder = environ.get(CACHE_DIR_ENV, "")
        return cls(
            cache=environ.get(NO_CACHE_ENV, "") in ("", "0"),
            workers=workers,
            cache_dir=Path(folder).absolute() if folder else None,
            ci=running_in_ci(environ),
        )

    def cache_folder(self, repo_root: Path) -> Path | None:
        """The folder of the local caches; None: no cache at all.

        Whatever is in a checkout can come from a pull request (a forced `git add` passes
        .gitignore), and caches say "this signature was verified": so CI uses only the folder
        HESTIA_PROVISIONER_CACHE_DIR names, outside the checkout, and otherwise runs cold.
        """
        if not self.cache:
            return None
        if self.cache_dir is not None:
            if self.ci and _inside(self.cache_dir, repo_root):
                return None
            return self.cache_dir
        return None if self.ci else repo_root / DEFAULT_CACHE_DIR
