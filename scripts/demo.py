"""`make demo`: validate, plan and apply the samples, PRE then PRO, with the embedded store.

Runs the command line exactly as a user would (a subprocess of .venv/bin/hestia-provisioner)
and prints what it prints. Everything it writes is git-ignored (.provisioner/, build/) except the
ledger branches provisioned/PRE and provisioned/PRO, which are local branches of this repository
(never pushed by the demo). Run it twice: the second run changes nothing.

    .venv/bin/python scripts/demo.py [--repo DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / ".venv" / "bin" / "hestia-provisioner"


def step(title: str, args: list[str], repo: Path, ok: tuple[int, ...] = (0,)) -> int:
    print(f"\n$ hestia-provisioner {' '.join(args)}", flush=True)
    print(f"  ({title})", flush=True)
    done = subprocess.run([str(CLI), *args, "--repo", str(repo)], check=False)
    if done.returncode not in ok:
        print(f"\ndemo stopped: `{' '.join(args)}` exited with {done.returncode}", file=sys.stderr)
        sys.exit(1)
    return done.returncode


def git_output(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository (default: this one)")
    repo = parser.parse_args().repo.resolve()
    if not CLI.exists():
        print(f"{CLI} is missing: run `make demo` (it installs the virtual environment)")
        return 2

    step("every file and the catalog, every problem at once", ["validate"], repo)
    for env in ("PRE", "PRO"):
        # A missing ledger is refused unless --init says this is the environment's first apply.
        # A clone of a repository that has ledgers starts from them (as `ci fetch-ledger` does).
        first = not git_output(repo, "rev-parse", "--verify", "--quiet", f"provisioned/{env}")
        remote = f"refs/remotes/origin/provisioned/{env}"
        if first and git_output(repo, "rev-parse", "--verify", "--quiet", remote):
            git_output(repo, "branch", f"provisioned/{env}", remote)
            print(f"\n(provisioned/{env} starts from origin/provisioned/{env})", flush=True)
            first = False
        init = ["--init"] if first else []
        step(
            f"what apply would change in {env} (exit 2: changes, 0: none)",
            ["plan", "--env", env, "--detailed-exitcode", *init],
            repo,
            ok=(0, 2),
        )
        step(
            f"store the documents, write the APP configuration, record {env}"
            + (" (first apply: --init)" if first else ""),
            ["apply", "--env", env, "--store", "local", *init],
            repo,
        )

    store = repo / ".provisioner" / "sharepoint"
    print("\nWhere things are:")
    print(f"  SharePoint mirror (embedded store): {store}")
    for folder in sorted(p for p in store.rglob("FP*") if p.is_dir()):
        files = ", ".join(sorted(f.name for f in folder.iterdir()))
        print(f"    {folder.relative_to(store)}: {files}")
    for env in ("PRE", "PRO"):
        print(f"  APP configuration {env}: {repo / 'build' / 'app' / f'app-{env}.json'}")
    for env in ("PRE", "PRO"):
        log = git_output(repo, "log", "--format=%h %ad %s", "--date=iso", f"provisioned/{env}")
        print(f"  ledger branch provisioned/{env} (git log provisioned/{env}):")
        for line in log.splitlines():
            print(f"    {line}")
    print("\nRun `make demo` again: the plans say 'no changes' and nothing is written.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
