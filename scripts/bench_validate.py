"""`validate` as a user runs it (whole processes): start-up, 1,000 and 10,000 integrations.

Every integration has its own entity, provider, CDA and signed form (benchlib). A file changed
within provisioner.loading.tree.SETTLE_MARGIN_NS of a run cannot be vouched for by its stat
signature and is read again by the next run: the bench waits that long after generating a
repository, so that "nothing changed" is what a user sees the day after, not the re-check of
files just written. The first run on each repository fills the local caches (form verdicts,
validation results) and is printed for information; the timed runs are then:
- an empty repository (start-up: the catalog only);
- 1,000 integrations with nothing changed since the last run;
- 1,000 integrations with one file changed before each run;
- 10,000 integrations with nothing changed, and the peak memory of that run;
- 10,000 integrations, the other runs a user makes (time for information, peak memory against
  the target): the first run after one file was edited (it is checked again, the others'
  results reused), the run after that (the edited file still too recent to be vouched for by
  its signature: read and compared again), and the first and following runs after a folder
  was touched without any change (`touch integrations/`: the folders are listed again).

Targets (2 cores, best of several runs): --help <= 0.3 s; empty <= 0.12 s; 1,000 unchanged
<= 0.30 s; 1,000 one changed <= 0.35 s; 10,000 unchanged <= 1.5 s; peak memory of every
validate on 10,000 above (warm caches) <= 150 MB.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import CLI, ROOT, Run, best_of, load_note, make_bench_repo, measure, report

from provisioner.loading.tree import SETTLE_MARGIN_NS

REPEAT = 5
#: How long after a change a run vouches for the file by its signature (with some slack).
SETTLE_SECONDS = SETTLE_MARGIN_NS / 1e9 + 0.3


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


def settle() -> None:
    """Wait until what was just written is old enough to be vouched for by its signature."""
    time.sleep(SETTLE_SECONDS)


def checked(command: list[str]) -> Run:
    done = measure(command)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:])
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}")
    return done


def after_change(
    command: list[str], change: Callable[[], None], repeat: int = 2
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(best seconds, peak MB) of the first run after change(), made when everything had
    settled, and of the run right after it."""
    first: list[Run] = []
    then: list[Run] = []
    for _ in range(repeat):
        settle()
        change()
        first.append(checked(command))
        then.append(checked(command))
    return (
        (min(r.seconds for r in first), max(r.max_rss_mb for r in first)),
        (min(r.seconds for r in then), max(r.max_rss_mb for r in then)),
    )


def first_run(repo: Path, count: int) -> None:
    settle()  # the generated files: vouched for by their signatures from this run on
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
        command = [CLI, "validate", "--repo", str(repo)]
        best, peak = timed(command, repeat=3)
        rows.append(("validate 10,000, nothing changed", best, 1.5))
        memory.append(("peak memory, validate 10,000 (nothing changed)", peak, 150.0))
        edited = next((repo / "integrations").rglob("p5000.yaml"))
        original = edited.read_text(encoding="utf-8")

        def edit_one() -> None:  # in place, as change_one
            edited.write_text(original + f"notes: edit {next(flips)}\n", encoding="utf-8")

        def touch_folder() -> None:  # `touch integrations/`: nothing in it changes
            os.utime(repo / "integrations")

        changed, following = after_change(command, edit_one)
        touched, touched_again = after_change(command, touch_folder)
        warm = [
            ("one file changed, first run after it", changed),
            ("one file changed, the run after", following),
            ("integrations/ touched, first run after", touched),
            ("integrations/ touched, the run after", touched_again),
        ]
        memory += [(f"peak memory, 10,000, {what}", peak, 150.0) for what, (_, peak) in warm]
    print(load_note())
    ok = report(rows)
    print("for information (no time target):")
    for what, (seconds, _) in warm:
        print(f"{'validate 10,000, ' + what:58} {seconds:8.3f} s")
    return 0 if report(memory, unit="MB") and ok else 1


if __name__ == "__main__":
    sys.exit(main())
