"""apply to SharePoint: requests and time for 200 integrations, against the tests' fake SharePoint.

Builds a git repository of 200 valid PRE integrations (benchlib: 20 entities, 10 providers each,
so 200 folders and 400 files), starts tests/apply/fake_sharepoint.py on 127.0.0.1 and runs the
real command line, as CI does, with the real client library talking HTTP:

- first apply: the target for new integrations is one form digest per run, the two checks of
  the target (library, base folder), at most one request per folder level not yet known in the
  run, and two requests per file (look up, add);
- repeat apply: nothing planned, so no write (and, here, no request at all);
- for information: the same apply after the ledger was lost, which re-checks everything
  (look up and download each file) and must write nothing either.

Times are whole processes on a loopback server; they say what the tool costs, not SharePoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchlib import CLI, make_bench_repo, run

from tests.apply.fake_sharepoint import TOKEN, FakeSharePoint

COUNT = 200
FIRST_TIME_TARGET = 60.0  # seconds, whole process, validation included


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def apply(
    repo: Path, fake: FakeSharePoint, *, init: bool = False
) -> tuple[float, dict[str, object], Counter[str], int]:
    """(seconds, result, requests by kind, writes) of one apply (init: no ledger branch yet)."""
    fake.reset_log()
    env = {
        **os.environ,
        "SHAREPOINT_ACCESS_TOKEN": TOKEN,
        "SHAREPOINT_SITE_URL": fake.site_url,
    }
    env.pop("GITHUB_ACTIONS", None)
    args = [CLI, "apply", "--env", "PRE", "--repo", str(repo), "--store", "sharepoint"]
    args += ["--init"] if init else []
    started = time.perf_counter()
    done = subprocess.run(
        [*args, "--format", "json"], capture_output=True, text=True, env=env, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit(1)
    result = json.loads(done.stdout)["result"]
    return seconds, result, Counter(e.kind for e in fake.log), len(fake.writes())


def line(label: str, value: float, target: float, fmt: str = "{:.0f}") -> bool:
    ok = value <= target
    shown, goal = fmt.format(value), fmt.format(target)
    print(f"{label:62} {shown:>9} {goal:>9} {'ok' if ok else 'MISSED'}")
    return ok


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-sharepoint-") as tmp:
        repo = make_bench_repo(Path(tmp) / "repo", COUNT)
        (repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "bench integrations")
        # Warms the form-verdict cache (--init: the ledger branch does not exist yet).
        run([CLI, "plan", "--env", "PRE", "--repo", str(repo), "--init"])
        with FakeSharePoint() as fake:
            first_s, first, first_req, first_writes = apply(repo, fake, init=True)
            repeat_s, repeat, repeat_req, repeat_writes = apply(repo, fake)
            git(repo, "update-ref", "-d", "refs/heads/provisioned/PRE")
            # Started again from nothing, as --init allows: everything is in the store already.
            lost_s, lost, lost_req, lost_writes = apply(repo, fake, init=True)
            files = len(fake.stored_files())

    folders = COUNT  # one folder per integration under the (existing) base folder
    per_file = (first_req["file-get"] + first_req["file-add"]) / files
    print(f"apply --store sharepoint, {COUNT} integrations ({folders} folders, {files} files)")
    print(f"{'measure':62} {'measured':>9} {'target':>9}")
    ok = True
    ok &= line("first apply: form digests", first_req["digest"], 1)
    ok &= line(
        "first apply: target checks (library, base folder)",
        first_req["list-get"] + first_req["folder-get"],
        2,
    )
    ok &= line("first apply: folder requests (new levels)", first_req["folder-add"], folders)
    ok &= line("first apply: requests per file", per_file, 2, "{:.2f}")
    ok &= line("first apply: requests in all", sum(first_req.values()), 1 + 2 + folders + 2 * files)
    ok &= line("first apply: seconds (whole process)", first_s, FIRST_TIME_TARGET, "{:.2f}")
    ok &= line("repeat apply: writes", repeat_writes, 0)
    ok &= line("repeat apply: requests", sum(repeat_req.values()), 0)
    print(f"{'repeat apply: seconds (whole process)':62} {repeat_s:9.2f} {'-':>9}")
    ok &= line("apply after the ledger was lost: writes", lost_writes, 0)
    print(
        f"{'apply after the ledger was lost: requests (for information)':62} "
        f"{sum(lost_req.values()):9d} {'-':>9}  {dict(sorted(lost_req.items()))}"
    )
    print(f"{'apply after the ledger was lost: seconds':62} {lost_s:9.2f} {'-':>9}")
    statuses = (first["status"], repeat["status"], lost["status"])
    print(f"statuses: first {statuses[0]}, repeat {statuses[1]}, after lost ledger {statuses[2]}")
    print(f"first apply writes: {first_writes} ({first['store_writes']})")
    ok &= statuses == ("applied", "unchanged", "applied")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
