"""`validate` on 1,000 and 10,000 generated integrations, and `--help`, as whole processes.

Targets (2 cores): --help <= 0.3 s; 1,000 files <= 1.0 s; 10,000 files <= 6 s. Form signature
verdicts are cached per form (a separate benchmark times the cold cache), so the cache is warmed
once before timing: these figures are the loader, the models and the rules.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

from benchlib import CLI, best_of, make_bench_repo, report, run


def main() -> int:
    rows = []
    best, _ = best_of([CLI, "--help"], repeat=5)
    rows.append(("hestia-provisioner --help", best, 0.3))
    with tempfile.TemporaryDirectory() as tmp:
        for count, target in ((1_000, 1.0), (10_000, 6.0)):
            repo = Path(tmp) / f"r{count}"
            started = time.perf_counter()
            make_bench_repo(repo, count)
            made = time.perf_counter() - started
            warm, done = run([CLI, "validate", "--repo", str(repo)])
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:])
                return 1
            best, median = best_of([CLI, "validate", "--repo", str(repo)], repeat=3)
            print(
                f"{count} files: generated in {made:.1f} s, first run (fills the form cache) "
                f"{warm:.2f} s, median {median:.3f} s"
            )
            rows.append((f"validate {count:,} integrations (warm form cache)", best, target))
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
