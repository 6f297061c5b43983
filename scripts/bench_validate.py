"""`validate` as a user runs it (whole processes): start-up, 1,000 and 10,000 integrations.

Every integration has its own entity, provider, CDA and signed form (benchlib). The first run
on each repository fills the local caches (form verdicts, validation results) and is printed for
information; the timed runs are then:
- an empty repository (start-up: the catalog only);
- 1,000 integrations with nothing changed since the last run;
- 1,000 integrations with one file changed before each run;
- 10,000 integrations with nothing changed, and the peak memory of that run.

Targets (2 cores, best of several runs): --help <= 0.3 s; empty <= 0.12 s; 1,000 unchanged
<= 0.30 s; 1,000 one changed <= 0.35 s; 10,000 unchanged <= 1.5 s; peak memory <= 150 MB.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchlib import CLI, ROOT, best_of, load_note, make_bench_repo, measure, report

REPEAT = 5


def timed(command: list[str], repeat: int = REPEAT, before: object = None) -> tuple[float, float]:
    """(best wall seconds, peak MB) of repeat runs, each after calling before() if given."""
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        if callable(before):
            before()
        done = measure(command)
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
            raise SystemExit(f"{' '.join(command)} exited {done.returncode}")
        best, peak = min(best, done.seconds), max(peak, done.max_rss_mb)
    return best, peak


def first_run(repo: Path, count: int) -> None:
    done = measure([CLI, "validate", "--repo", str(repo)])
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:])
        raise SystemExit(f"the bench repository of {count} does not validate")
    print(
        f"{count:,} integrations: first run (cold caches, every form through pyHanko) "
        f"{done.seconds:.2f} s wall, {done.cpu:.2f} s CPU, peak {done.max_rss_mb:.0f} MB"
    )


def main() -> int:
    rows: list[tuple[str, float, float]] = []
    memory: list[tuple[str, float, float]] = []
    rows.append(("hestia-provisioner --help", best_of([CLI, "--help"], repeat=REPEAT)[0], 0.3))
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        empty = Path(tmp) / "empty"
        shutil.copytree(ROOT / "catalog", empty / "catalog")
        (empty / "integrations").mkdir()
        command = [CLI, "validate", "--repo", str(empty)]
        measure(command)
        rows.append(("validate an empty repository (start-up)", timed(command)[0], 0.12))

        repo = Path(tmp) / "r1000"
        started = time.perf_counter()
        make_bench_repo(repo, 1_000)
        print(f"1,000 integrations generated in {time.perf_counter() - started:.1f} s")
        first_run(repo, 1_000)
        command = [CLI, "validate", "--repo", str(repo)]
        rows.append(("validate 1,000, nothing changed", timed(command)[0], 0.30))
        edited = next((repo / "integrations").rglob("p500.yaml"))
        original = edited.read_text(encoding="utf-8")
        flips = iter(range(1_000_000))

        def change_one() -> None:  # a different note each time: one file differs per run
            edited.write_text(original + f"notes: edit {next(flips)}\n", encoding="utf-8")

        rows.append(
            ("validate 1,000, one file changed", timed(command, before=change_one)[0], 0.35)
        )
        shutil.rmtree(repo)

        repo = Path(tmp) / "r10000"
        started = time.perf_counter()
        make_bench_repo(repo, 10_000)
        print(f"10,000 integrations generated in {time.perf_counter() - started:.1f} s")
        first_run(repo, 10_000)
        best, peak = timed([CLI, "validate", "--repo", str(repo)], repeat=3)
        rows.append(("validate 10,000, nothing changed", best, 1.5))
        memory.append(("peak memory, validate 10,000 (nothing changed)", peak, 150.0))
    print(load_note())
    ok = report(rows)
    return 0 if report(memory, unit="MB") and ok else 1


if __name__ == "__main__":
    sys.exit(main())
