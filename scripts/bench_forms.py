"""`validate` on 1,000 integrations, each with its own real signed form: cold and warm cache.

Cold: the local caches (.provisioner/cache: form verdicts, validation results) are deleted
before each run, so every form's signature is verified (in a process pool: proven with
cryptography where it can be, documents.signature_proof, else by pyHanko). Warm: the caches
hold every verdict, so pyHanko is not even imported. Whole processes, as a user runs them.

Targets (2 cores): cold <= 4 s, warm <= 0.5 s. The machine is often shared: each run's CPU
seconds (user + system, the process and its workers) are printed too, with the load average,
since other work on the cores stretches wall time but hardly CPU time.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import CLI, load_note, make_bench_repo, measure, report

COUNT = 1_000
COLD_TARGET, WARM_TARGET = 4.0, 0.5


def main() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        started = time.perf_counter()
        make_bench_repo(repo, COUNT)
        made = time.perf_counter() - started
        print(f"{COUNT} integrations with signed forms generated in {made:.1f} s")
        command = [CLI, "validate", "--repo", str(repo)]
        cache = repo / ".provisioner" / "cache"
        cold, warm = [], []
        for _ in range(2):
            shutil.rmtree(cache, ignore_errors=True)
            done = measure(command)
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:])
                return 1
            cold.append(done.seconds)
            print(f"cold: {done.seconds:.2f} s wall, {done.cpu:.2f} s CPU; {load_note()}")
        for _ in range(3):
            done = measure(command)
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:])
                return 1
            warm.append(done.seconds)
            print(f"warm: {done.seconds:.2f} s wall, {done.cpu:.2f} s CPU")
        print(f"cores available: {cores}")
    print(load_note())
    rows = [
        (f"validate {COUNT:,} signed forms, cold cache (worst of 2)", max(cold), COLD_TARGET),
        (
            f"validate {COUNT:,} signed forms, warm cache (median of 3)",
            statistics.median(warm),
            WARM_TARGET,
        ),
    ]
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
