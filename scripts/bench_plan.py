"""plan and apply on 1,000 integrations: whole processes, as CI runs them.

Builds a git repository of 1,000 valid PRE integrations in a temporary folder (benchlib), then:
- first apply to the local store (2,000 files, 1,000 folders), form-verdict cache warm;
- plan with no changes (warm cache, the usual case in CI after the first run);
- the repeat apply, which must write nothing to the store and record nothing;
- for information: plan with no changes on a cold form cache (every signature verified).

Targets (2 cores): first apply <= 10 s, plan with no changes <= 0.6 s, repeat apply: 0 writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import CLI, best_of, make_bench_repo, report, run

COUNT = 1_000
PLAN_TARGET, APPLY_TARGET = 0.6, 10.0


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        repo = make_bench_repo(Path(tmp) / "repo", COUNT)
        (repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "bench integrations")
        plan = [CLI, "plan", "--env", "PRE", "--repo", str(repo), "--detailed-exitcode"]
        apply = [CLI, "apply", "--env", "PRE", "--repo", str(repo), "--format", "json"]

        cold_changes, done = run(plan)  # warms the form-verdict cache
        if done.returncode != 2:
            print(done.stdout[-2000:], done.stderr[-2000:])
            print("the bench repository does not plan cleanly")
            return 1
        first, done = run(apply)
        result = json.loads(done.stdout)["result"]
        if done.returncode != 0 or result["status"] != "applied":
            print(done.stdout[-2000:], done.stderr[-2000:])
            return 1
        first_writes = result["store_writes"]
        best, median = best_of(plan, repeat=5)
        _again, done = run(plan)
        if done.returncode != 0:
            print("plan after apply still has changes:", done.stdout[-2000:])
            return 1
        repeat, done = run(apply)
        repeated = json.loads(done.stdout)["result"]
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
    print(f"(plan with no changes, warm cache, median of 5: {median:.3f} s)")
    ok = report(
        [
            ("first apply, 1,000 integrations to the local store", first, APPLY_TARGET),
            ("plan with no changes, warm form cache (best of 5)", best, PLAN_TARGET),
            ("repeat apply (nothing to do)", repeat, APPLY_TARGET),
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
