"""The pull-request check's wall time on 1,000 integrations, as on a fresh runner.

main holds 1,000 generated integrations; the pull request adds one more (its own entity, CDA and
signed form). The review workflow's `plan` job, after checkout, each step a whole process:
1. uv installed by pip from the hash-locked requirements/installer.txt (pip's download cache as
   setup-python's `cache: pip` restores it), a new virtual environment, and the hash-locked
   requirements/runtime.txt installed into it by uv (uv's own cache empty, as on a runner);
2. the ledgers from the fetched branches (`ci fetch-ledger`);
3. `ci restore-cache`: main's validation cache, from the newest artifact of a push to main
   (a fake GitHub API on 127.0.0.1 serves the zip that ci.yml's `warm-cache` job uploads);
4. `validate --format github --catalog-from <base>` (annotations);
5. `ci review-comment` (validation again, the PRE plan, the PRO plan as if PRE were applied).

Two runs, each on a fresh clone: warm (pip's cache filled by an earlier install, main's
validation cache restored) and cold (empty pip cache, no artifact to restore).
Target: the warm run under 60 s. The checkout itself and setup-python are not measured (GitHub's
side: a shallow-history clone and a cached interpreter take a few seconds on a hosted runner).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchlib import ROOT, load_note, make_bench_repo

from tests.ci import fake_github

COUNT = 1_000
TARGET = 60.0
REPO = "aoc/bench-integrations"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def timed(label: str, args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in ok:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit(f"{label} exited {done.returncode}")
    return seconds


LOCK = str(ROOT / "requirements" / "runtime.txt")


def install(venv: Path, pip_cache: Path) -> float:
    """uv, a new virtual environment and the locked runtime dependencies, as review.yml does."""
    uv = venv.with_name(venv.name + "-uv")
    env = dict(os.environ, PIP_CACHE_DIR=str(pip_cache), UV_CACHE_DIR=str(uv / "cache"))
    hashed = ["install", "--quiet", "--require-hashes", "--no-deps"]
    installer = str(ROOT / "requirements" / "installer.txt")
    pip = [sys.executable, "-m", "pip", *hashed, "--target", str(uv), "-r", installer]
    steps = [
        ("pip install uv", pip),
        ("venv", [sys.executable, "-m", "venv", "--without-pip", str(venv)]),
        (
            "uv pip install",
            [
                str(uv / "bin" / "uv"),
                "pip",
                *hashed,
                "--python",
                str(venv / "bin" / "python"),
                "-r",
                LOCK,
            ],
        ),
    ]
    return sum(timed(label, args, env) for label, args in steps)


def install_with_pip(venv: Path) -> float:
    """For comparison: pip alone, as the apply jobs install the same lock."""
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--require-hashes", "--no-deps"]
    return timed("venv", [sys.executable, "-m", "venv", str(venv)], dict(os.environ)) + timed(
        "pip install", [*pip, "-r", LOCK], dict(os.environ)
    )


def zip_folder(folder: Path) -> bytes:
    """What upload-artifact makes of a folder: its files, named relative to it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return out.getvalue()


@contextmanager
def github(artifact: bytes | None) -> Iterator[dict[str, str]]:
    state = fake_github.State(REPO)
    if artifact is not None:
        state.add_artifact(artifact)
    for url in fake_github.serve(state):
        yield {
            "GITHUB_API_URL": url,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_TOKEN": fake_github.TOKEN,
        }


def check(
    root: Path, name: str, base: str, head: str, pip_cache: Path, artifact: bytes | None
) -> list[tuple[str, float]]:
    """One run of the plan job on a fresh clone of the pull request's head."""
    runner = root / f"runner-{name}"
    subprocess.run(["git", "clone", "-q", str(root / "origin.git"), str(runner)], check=True)
    git(runner, "checkout", "-q", head)
    rows = [("install: uv, then the lock by uv", install(root / f"venv-{name}", pip_cache))]
    python = str(root / f"venv-{name}" / "bin" / "python")
    with github(artifact) as api:
        env = dict(os.environ, PYTHONPATH=str(ROOT), HESTIA_LEDGER_INIT="PRE PRO", **api)
        cli = [python, "-m", "provisioner"]
        repo = ["--repo", str(runner)]
        steps = [
            ("ci fetch-ledger", ["ci", "fetch-ledger"]),
            ("ci restore-cache", ["ci", "restore-cache", "--format", "github"]),
            (
                "validate --catalog-from base",
                ["validate", "--format", "github", "--catalog-from", base],
            ),
            ("ci review-comment (PRE, PRO)", ["ci", "review-comment", "--head", head]),
        ]
        for label, args in steps:
            rows.append((label, timed(label, [*cli, *args, *repo], env)))
    restored = (runner / ".provisioner" / "cache" / "validation.json").exists()
    if (artifact is not None) and not restored:
        raise SystemExit("the warm run restored no cache")
    return rows


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        root = Path(tmp)
        seed = make_bench_repo(root / "seed", COUNT + 1)
        (seed / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
        # main: every integration but the last; the pull request adds it.
        added = seed / "integrations" / f"{7000000000 + COUNT}"
        held = root / "held"
        shutil.move(added, held)
        git(seed, "init", "-q", "-b", "main")
        git(seed, "add", "-A")
        git(seed, "commit", "-q", "-m", "main")
        base = git(seed, "rev-parse", "HEAD")
        # main's ci run: a whole validation, its cache uploaded (ci.yml's warm-cache job).
        subprocess.run(
            [sys.executable, "-m", "provisioner", "validate", "--repo", str(seed)],
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            capture_output=True,
            check=False,
        )
        artifact = zip_folder(seed / ".provisioner" / "cache")
        shutil.move(held, added)
        git(seed, "checkout", "-q", "-b", "pr")
        git(seed, "add", "-A")
        git(seed, "commit", "-q", "-m", "one more integration")
        head = git(seed, "rev-parse", "HEAD")
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(seed), str(root / "origin.git")], check=True
        )
        warm_pip = root / "pip-warm"
        install(root / "venv-prime", warm_pip)  # an earlier run filled pip's cache
        warm = check(root, "warm", base, head, warm_pip, artifact)
        cold = check(root, "cold", base, head, root / "pip-cold", None)
        pip_only = install_with_pip(root / "venv-pip")

    print(f"pull-request check, {COUNT} integrations on main + 1 added, seconds; {load_note()}")
    print(f"{'step':40} {'warm':>8} {'cold':>8}")
    for (label, w), (_, c) in zip(warm, cold, strict=True):
        print(f"{label:40} {w:8.2f} {c:8.2f}")
    total_warm = sum(s for _, s in warm)
    total_cold = sum(s for _, s in cold)
    met = total_warm <= TARGET
    verdict = "ok" if met else "MISSED"
    print(f"{'total':40} {total_warm:8.2f} {total_cold:8.2f}")
    warm_what = "warm (pip cache, main's validation cache)"
    print(f"{warm_what}: {total_warm:.1f} s, target {TARGET:.0f} s {verdict}")
    print(f"cold (empty pip cache, no validation cache): {total_cold:.1f} s (no target)")
    print(
        f"for comparison, pip alone installing the same lock (as the apply jobs): {pip_only:.1f} s"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
