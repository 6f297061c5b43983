"""history on 100 integrations with 20 ledger commits: whole processes.

Builds, in a temporary folder, a git repository where 100 valid integrations (benchlib) arrive
in 20 batches of 5; each integration is one commit on a feature branch merged with --no-ff, and
each batch ends with `apply --env PRE` (20 ledger commits). Then times `history` for every
integration (text and JSON) and for one file.

Targets: history of all 100 integrations <= 2 s; of one file <= 1 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import (
    CLI,
    apply_pre,
    best_of,
    git,
    report,
    run,
    stage_integration,
    start_history_repo,
)

COUNT, BATCHES = 100, 20
ALL_TARGET, ONE_TARGET = 2.0, 1.0


def build(tmp: Path) -> Path:
    repo, files = start_history_repo(tmp, COUNT)
    per_batch = COUNT // BATCHES
    for batch in range(BATCHES):
        for path in files[batch * per_batch : (batch + 1) * per_batch]:
            stage_integration(path, repo)
            git(repo, "checkout", "-q", "-b", path.stem)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", f"Add {path.stem}")
            git(repo, "checkout", "-q", "main")
            git(repo, "merge", "-q", "--no-ff", "-m", f"Merge {path.stem}", path.stem, who="cap")
        apply_pre(repo, first=batch == 0)
    return repo


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        repo = build(Path(tmp))
        every = [CLI, "history", "--repo", str(repo), "--format", "json"]
        _t, done = run(every)
        data = json.loads(done.stdout)
        shown = data["integrations"]
        complete = (
            done.returncode == 0
            and len(shown) == COUNT
            and all(
                i["requested"] and i["requested"][0]["approval"]["kind"] == "merge" for i in shown
            )
            and all(i["provisioned"]["PRE"]["first"] for i in shown)
        )
        ledger = subprocess.run(
            ["git", "rev-list", "--count", "provisioned/PRE"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"{COUNT} integrations, {ledger} ledger commits; every timeline complete: {complete}")
        one = str(next((repo / "integrations").rglob("p0.yaml")))
        rows = [
            (f"history, all {COUNT} integrations, json (best of 3)", best_of(every)[0], ALL_TARGET),
            (
                f"history, all {COUNT} integrations, text (best of 3)",
                best_of(every[:-2])[0],
                ALL_TARGET,
            ),
            ("history FILE (best of 3)", best_of([CLI, "history", one])[0], ONE_TARGET),
        ]
        return 0 if report(rows) and complete else 1


if __name__ == "__main__":
    sys.exit(main())
