"""What the environment variables of a run say (read here, at the edge, and nowhere else)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

NO_CACHE_ENV = "HESTIA_PROVISIONER_NO_CACHE"
WORKERS_ENV = "HESTIA_PROVISIONER_WORKERS"


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    cache: bool  # remember form verdicts across runs (HESTIA_PROVISIONER_NO_CACHE=1: no)
    workers: int  # processes that check signed forms (HESTIA_PROVISIONER_WORKERS)

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Settings:
        wanted = environ.get(WORKERS_ENV, "")
        workers = int(wanted) if wanted.isdigit() and int(wanted) > 0 else available_cpus()
        return cls(cache=environ.get(NO_CACHE_ENV, "") in ("", "0"), workers=workers)
