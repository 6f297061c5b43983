"""The pull-request check's wall time on 1,000 integrations, as on a fresh runner.

What the review workflow's `plan` job does after checkout, each step a whole process:
1. install the runtime dependencies from the hash-locked requirements/runtime.txt into a new
   virtual environment (pip reaches the index; wheels come from pip's cache when warm);
2. the ledgers from the fetched branches (`ci fetch-ledger`);
3. `validate --format github --catalog-from <base>` (annotations);
4. `ci review-comment` (validation again, the PRE plan, the PRO plan as if PRE were applied).

Steps 2-4 run twice: with the form-verdict cache as main's last run leaves it (the workflow
restores it from main's cache scope), and cold (every signature verified).
Target: under 60 s with the cache restored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, make_bench_repo

COUNT = 1_000
TARGET = 60.0


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def install(venv: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(ROOT / "requirements" / "runtime.txt"),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def check(python: Path, repo: Path, base: str, head: str) -> list[tuple[str, float]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HESTIA_LEDGER_INIT="PRE PRO")
    steps = [
        ("ci fetch-ledger", ["ci", "fetch-ledger"]),
        (
            "validate --catalog-from base",
            ["validate", "--format", "github", "--catalog-from", base],
        ),
        ("ci review-comment (PRE, PRO)", ["ci", "review-comment", "--head", head]),
    ]
    out = []
    for label, args in steps:
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), "-m", "provisioner", *args, "--repo", str(repo)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0,):
            print(done.stdout[-2000:], done.stderr[-2000:])
            raise SystemExit(f"{label} exited {done.returncode}")
        out.append((label, time.perf_counter() - started))
    return out


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        root = Path(tmp)
        seed = make_bench_repo(root / "seed", COUNT)
        (seed / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
        git(seed, "init", "-q", "-b", "main")
        git(seed, "add", "-A")
        git(seed, "commit", "-q", "-m", "bench")
        base = git(seed, "rev-parse", "HEAD")
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(seed), str(root / "origin.git")], check=True
        )
        runner = root / "runner"
        subprocess.run(["git", "clone", "-q", str(root / "origin.git"), str(runner)], check=True)
        head = git(runner, "rev-parse", "HEAD")

        seconds_install = install(root / "venv")
        python = root / "venv" / "bin" / "python"
        # main's last run: leaves the form-verdict cache that the PR job restores.
        subprocess.run(
            [str(python), "-m", "provisioner", "validate", "--repo", str(seed)],
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            capture_output=True,
            check=False,
        )
        shutil.copytree(seed / ".provisioner" / "cache", runner / ".provisioner" / "cache")
        warm = check(python, runner, base, head)
        shutil.rmtree(runner / ".provisioner")
        cold = check(python, runner, base, head)

    print(f"pull-request check on {COUNT} integrations (2 shared cores), seconds")
    print(f"{'install from the lock (fresh venv)':44} {seconds_install:8.2f}")
    for (label, w), (_, c) in zip(warm, cold, strict=True):
        print(f"{label:44} {w:8.2f} (cold cache: {c:.2f})")
    total_warm = seconds_install + sum(s for _, s in warm)
    total_cold = seconds_install + sum(s for _, s in cold)
    met = total_warm <= TARGET
    verdict = "ok" if met else "MISSED"
    print(f"{'total, cache restored from main':44} {total_warm:8.2f} target {TARGET:.0f} {verdict}")
    print(f"{'total, cold cache':44} {total_cold:8.2f}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
