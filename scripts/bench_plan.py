"""plan and apply on 1,000 integrations: whole processes, as CI runs them.

Builds a git repository of 1,000 valid PRE integrations in a temporary folder (benchlib), then:
- first apply to the local store (2,000 files, 1,000 folders), form-verdict cache warm (both the
  first plan and the first apply say --init: the ledger branch does not exist yet);
- plan with no changes (warm cache, the usual case in CI after the first run);
- the repeat apply, which must write nothing to the store and record nothing;
- for information: plan with no changes on a cold form cache (every signature verified).

Targets (2 cores): first apply <= 10 s, plan with no changes <= 0.6 s, repeat apply: 0 writes.
Wall times are printed with the CPU time of the process and the machine's load: on shared cores
the wall time of a run also measures the other work.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib import CLI, git, load_note, make_bench_repo, measure, report, run

COUNT = 1_000
PLAN_TARGET, APPLY_TARGET = 0.6, 10.0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        repo = make_bench_repo(Path(tmp) / "repo", COUNT)
        (repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "bench integrations")
        plan = [CLI, "plan", "--env", "PRE", "--repo", str(repo), "--detailed-exitcode"]
        apply = [CLI, "apply", "--env", "PRE", "--repo", str(repo), "--format", "json"]

        cold_changes, done = run([*plan, "--init"])  # warms the form-verdict cache
        if done.returncode != 2:
            print(done.stdout[-2000:], done.stderr[-2000:])
            print("the bench repository does not plan cleanly")
            return 1
        first, done = run([*apply, "--init"])
        if done.returncode != 0 or json.loads(done.stdout)["result"]["status"] != "applied":
            print(done.stdout[-2000:], done.stderr[-2000:])
            return 1
        first_writes = json.loads(done.stdout)["result"]["store_writes"]
        runs = [measure(plan) for _ in range(5)]
        if any(r.returncode != 0 for r in runs):
            print("plan after apply still has changes:", runs[0].stdout[-2000:])
            return 1
        fastest = min(runs, key=lambda r: r.seconds)
        median = statistics.median(r.seconds for r in runs)
        repeat_run = measure(apply)
        repeated = json.loads(repeat_run.stdout)["result"]
        shutil.rmtree(repo / ".provisioner" / "cache")
        cold_plan, _ = run(plan)

    print(f"plan/apply on {COUNT} integrations, whole processes, {os.cpu_count()} cores")
    print(
        f"first apply: {first_writes['folders']} folders and {first_writes['files']} files "
        f"written; repeat apply: status {repeated['status']}, writes {repeated['store_writes']}, "
        f"ledger commit {repeated['ledger_commit']}"
    )
    print(f"(plan, cold form cache, before the first apply: {cold_changes:.3f} s)")
    print(f"(plan with no changes, cold form cache: {cold_plan:.3f} s; no target)")
    print(
        f"(plan with no changes, warm cache: median of 5 {median:.3f} s; the fastest run took "
        f"{fastest.cpu:.3f} s of CPU, {fastest.max_rss_mb:.0f} MB)"
    )
    print(f"(repeat apply: {repeat_run.cpu:.3f} s of CPU)")
    print(load_note())
    ok = report(
        [
            ("first apply, 1,000 integrations to the local store", first, APPLY_TARGET),
            ("plan with no changes, warm form cache (best of 5)", fastest.seconds, PLAN_TARGET),
            ("repeat apply (nothing to do)", repeat_run.seconds, APPLY_TARGET),
        ]
    )
    writes_ok = repeated["status"] == "unchanged" and repeated["store_writes"] == {
        "folders": 0,
        "files": 0,
    }
    print(f"repeat apply does no store writes: {'ok' if writes_ok else 'MISSED'}")
    return 0 if ok and writes_ok else 1


if __name__ == "__main__":
    sys.exit(main())
