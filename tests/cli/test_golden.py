"""Golden tests: every command's exit code, stdout and stderr, pinned byte for byte.

The command line runs as a user runs it, `python -m provisioner ...` in a subprocess (so these
tests do not depend on how the modules are laid out), from an empty working folder, with `--repo`
pointing at temporary copies of catalog/, schemas/ and integrations/ made git repositories.

Each case has one file in tests/golden/ holding the exit code, stdout and stderr. With
UPDATE_GOLDEN=1 the files are rewritten; otherwise a mismatch fails with a unified diff.

Only what is truly volatile is normalised (see `normalise`):
- the temporary folder's path becomes <TMP>;
- git commit ids (full, or abbreviated to 7..39 characters) of the temporary repositories become
  <COMMIT-1>, <COMMIT-2>, ... numbered by first appearance in each output;
- timestamps and dates of the day the commands run at (UTC) become <TIMESTAMP>, <STAMP> (the
  compact yyyymmddHHMMSS form of SCSP request ids) and <DATE>; any other date (a certificate's
  validity, the fixed dates of the sample commit) is kept. That day is NOW (conftest), given to
  the commands as HESTIA_PROVISIONER_NOW, so the files hold in any year;
- "days left" counts, which the demo certificates' expiry and that moment derive, become <N>.
No command prints a run duration today; anything else that changes is a behaviour change.

All subprocesses are started concurrently (a thread pool) before the first comparison, and the
apply sequence runs in order in one thread, so the whole file takes a few seconds per core.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import NOW, ROOT, copy_repo

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
FIXTURES = ROOT / "tests" / "fixtures" / "integrations"

PIRINEU = "integrations/8100560009/serveis-informatics-pirineu.yaml"  # environment: PRE
SOLUCIONS = "integrations/0805690004/solucions-socials-digitals.yaml"  # environment: PRO
COMMANDS = (
    "new",
    "entity",
    "validate",
    "schema",
    "message",
    "sample-request",
    "plan",
    "apply",
    "drift",
    "certs",
    "history",
    "site",
    "register",
    "rules",
)
BROKEN = ("syntax", "ip-private", "missing-field", "nif-check-entity", "path-missing")
# Entities the procedure refuses, for the abss-redirect and not-eligible messages.
REFUSED = {"abss-redirect": "entity-depends-on-abss", "not-eligible": "entity-not-eligible"}


@dataclass(frozen=True)
class Case:
    """One golden file: run `args` ({repo}, {tmp} filled in) against the repository `repo`."""

    name: str
    args: tuple[str, ...]
    repo: str = "samples"


def case(name: str, *args: str, repo: str = "samples") -> Case:
    return Case(name, args, repo)


def independent_cases() -> list[Case]:
    """Cases that only read their repository: they run concurrently."""
    r = ("--repo", "{repo}")
    cases = [case("help", "--help"), case("version", "--version")]
    cases += [case(f"help-{c}", c, "--help") for c in COMMANDS]
    # validate
    for fmt in ("text", "github", "json", "markdown"):
        cases.append(case(f"validate-samples-{fmt}", "validate", *r, "--format", fmt))
    cases.append(case("validate-one-file", "validate", f"{{repo}}/{PIRINEU}", *r))
    for fixture in BROKEN:
        formats = ("text", "github", "json", "markdown") if fixture in BROKEN[:2] else ("text",)
        for fmt in formats:
            name = f"validate-broken-{fixture}-{fmt}"
            cases.append(case(name, "validate", *r, "--format", fmt, repo=f"broken-{fixture}"))
    cases.append(
        case("plan-broken-ip-private", "plan", "--env", "PRE", *r, repo="broken-ip-private")
    )
    # schema
    cases.append(case("schema-check", "schema", "--check", *r))
    # message
    kinds = ("request-info", "abss-redirect", "not-eligible", "head-of-service", "pre-ready")
    for kind in kinds:
        cases.append(case(f"message-{kind}", "message", kind, f"{{repo}}/{PIRINEU}", *r))
    cases.append(case("message-pro-ready", "message", "pro-ready", f"{{repo}}/{SOLUCIONS}", *r))
    for kind, fixture in REFUSED.items():
        name = f"message-{kind}-{fixture}"
        cases.append(case(name, "message", kind, f"{{repo}}/{PIRINEU}", *r, repo=fixture))
    cases.append(
        case("message-pro-ready-on-pre-file", "message", "pro-ready", f"{{repo}}/{PIRINEU}", *r)
    )
    # entity
    cases += [
        case("entity-eligible", "entity", "castelldefels", *r),
        case("entity-depends-on-abss", "entity", "2506130005", *r),
        case(
            "entity-not-listed",
            "entity",
            "1700000001",
            "--fp",
            "270001",
            "--provider-name",
            "Altre Proveïdor SL",
            *r,
        ),
    ]
    # sample-request
    request = ("sample-request", f"{{repo}}/{PIRINEU}")
    cases += [
        case("sample-request-cites", *request, "--modality", "HESTIA_CITES", *r),
        case("sample-request-soap", *request, "--modality", "HESTIA_EXPEDIENT", "--soap", *r),
        case("sample-request-all", *request, "--all", "--out", "{tmp}/requests", *r),
        case("sample-request-no-modality", *request, *r),
    ]
    # plan on the fresh repository (nothing applied yet: --init, the first apply)
    cases.append(case("plan-PRE-without-ledger", "plan", "--env", "PRE", *r))
    for env in ("PRE", "PRO"):
        for fmt in ("text", "markdown", "json"):
            base = ("plan", "--env", env, "--format", fmt, "--init", *r)
            cases.append(case(f"plan-{env}-{fmt}", *base))
            cases.append(case(f"plan-{env}-{fmt}-detailed", *base, "--detailed-exitcode"))
    cases.append(
        case(
            "plan-PRE-markdown-with-messages",
            "plan",
            "--env",
            "PRE",
            "--format",
            "markdown",
            "--with-messages",
            "--init",
            *r,
        )
    )
    # certs
    for fmt in ("text", "json", "markdown"):
        cases.append(case(f"certs-{fmt}", "certs", *r, "--format", fmt))
    cases.append(case("certs-expiring-within", "certs", *r, "--expiring-within", "100000"))
    # history on the fresh repository
    for fmt in ("text", "markdown", "json"):
        cases.append(case(f"history-{fmt}", "history", *r, "--format", fmt))
    # usage errors and environment problems: exit 2
    cases += [
        case("usage-unknown-option", "validate", "--bogus"),
        case("usage-unknown-command", "frobnicate"),
        case("usage-missing-repo", "validate", "--repo", "{tmp}/no-such-folder"),
        case("usage-no-repo-found", "validate"),
        case("usage-bad-format", "validate", *r, "--format", "xml"),
        case("usage-plan-without-env", "plan", *r),
        case(
            "usage-apply-sharepoint", "apply", "--env", "PRE", "--store", "sharepoint", "--init", *r
        ),
    ]
    return cases


def apply_sequence() -> list[Case]:
    """Cases that change their repository: they run in this order, in one repository."""
    r = ("--repo", "{repo}")
    a = "applied"
    return [
        case("apply-PRE", "apply", "--env", "PRE", "--init", *r, repo=a),
        case("apply-PRE-again", "apply", "--env", "PRE", *r, repo=a),
        case("apply-PRE-again-json", "apply", "--env", "PRE", "--format", "json", *r, repo=a),
        case(
            "plan-PRE-after-apply-detailed",
            "plan",
            "--env",
            "PRE",
            "--detailed-exitcode",
            *r,
            repo=a,
        ),
        case(
            "plan-PRO-after-apply-PRE-detailed",
            "plan",
            "--env",
            "PRO",
            "--detailed-exitcode",
            "--init",
            *r,
            repo=a,
        ),
        case("plan-PRO-after-apply-PRE-without-init", "plan", "--env", "PRO", *r, repo=a),
        case("apply-PRO", "apply", "--env", "PRO", "--init", *r, repo=a),
        case("apply-PRO-again-json", "apply", "--env", "PRO", "--format", "json", *r, repo=a),
        case("history-after-apply-text", "history", *r, repo=a),
        case("history-after-apply-markdown", "history", *r, "--format", "markdown", repo=a),
        case("history-after-apply-json", "history", *r, "--format", "json", repo=a),
        case("history-after-apply-ine10", "history", "--ine10", "0805690004", *r, repo=a),
        case("history-after-apply-file", "history", f"{{repo}}/{PIRINEU}", *r, repo=a),
    ]


CASES = independent_cases() + apply_sequence()
assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


# ----------------------------------------------------------------------------- environment


def child_env(home: Path) -> dict[str, str]:
    """The user's environment minus what would change the output (CI variables, git config)."""
    ambient = ("GITHUB_", "GIT_", "SHAREPOINT_", "ACTIONS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ambient)}
    env.update(
        TZ="UTC",
        COLUMNS="80",
        LC_ALL="C.UTF-8",
        PYTHONUTF8="1",
        PYTHONIOENCODING="utf-8",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        HESTIA_PROVISIONER_NOW=NOW.isoformat(),  # not today: the answers must not depend on it
    )
    return env


def make_repo(dest: Path, env: dict[str, str], fixture: str | None = None) -> Path:
    """catalog/, schemas/ and the samples (one replaced by a fixture) in a git repo, one commit.

    The commit has a fixed author, committer and date, so `history` shows the same lines.
    """
    copy_repo(dest)
    if fixture is not None:  # where the Alta Ribagorça sample is, next to its CDA and form
        shutil.copyfile(FIXTURES / f"{fixture}.yaml", dest / PIRINEU)
    (dest / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    when = "2026-01-05T09:30:00+01:00"
    git_env = dict(
        env,
        GIT_AUTHOR_NAME="Anna Sol",
        GIT_AUTHOR_EMAIL="anna@example.invalid",
        GIT_COMMITTER_NAME="Anna Sol",
        GIT_COMMITTER_EMAIL="anna@example.invalid",
        GIT_AUTHOR_DATE=when,
        GIT_COMMITTER_DATE=when,
    )
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "Samples"]):
        subprocess.run(["git", *cmd], cwd=dest, env=git_env, check=True)
    return dest


# ----------------------------------------------------------------------------- normalising

ISO_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
COMPACT_STAMP = re.compile(r"(?<!\d)(\d{8})\d{6}(?!\d)")  # SCSP ids: PROVES-<INE10>-<stamp>-NN
ISO_DATE = re.compile(r"(?<![\d-])(\d{4}-\d{2}-\d{2})(?![\d-])")
DAYS_LEFT = re.compile(r"\(-?\d+ (days?|d)\)")  # "(1824 days)" in plan, "(1824 d)" in certs
DAYS_LEFT_JSON = re.compile(r'"days_left": -?\d+')
HEX = re.compile(r"\b[0-9a-f]{7,40}\b")


@dataclass
class Run:
    """What the cases ran against: the temporary root, the days they ran, the git commits."""

    tmp: Path
    days: set[str]
    commits: set[str]
    outputs: dict[str, str]


def normalise(text: str, run: Run) -> str:
    for path in sorted({str(run.tmp), str(run.tmp.resolve())}, key=len, reverse=True):
        text = text.replace(path, "<TMP>")

    labels: dict[str, str] = {}

    def commit(m: re.Match[str]) -> str:
        full = next((c for c in run.commits if c.startswith(m.group(0))), None)
        if full is None:
            return m.group(0)
        return labels.setdefault(full, f"<COMMIT-{len(labels) + 1}>")

    text = HEX.sub(commit, text)

    def today(placeholder: str, digits: bool = False) -> Callable[[re.Match[str]], str]:
        def sub(m: re.Match[str]) -> str:
            day = m.group(1)
            if digits:
                day = f"{day[:4]}-{day[4:6]}-{day[6:]}"
            return placeholder if day in run.days else m.group(0)

        return sub

    text = ISO_DATETIME.sub(today("<TIMESTAMP>"), text)
    text = COMPACT_STAMP.sub(today("<STAMP>", digits=True), text)
    text = ISO_DATE.sub(today("<DATE>"), text)
    text = DAYS_LEFT.sub(lambda m: f"(<N> {m.group(1)})", text)
    return DAYS_LEFT_JSON.sub('"days_left": <N>', text)


def golden_text(code: int, stdout: str, stderr: str) -> str:
    def block(label: str, text: str) -> str:
        if text and not text.endswith("\n"):
            text += "\n\\ no newline at end\n"
        return f"--- {label} ---\n{text}"

    return f"exit code: {code}\n{block('stdout', stdout)}{block('stderr', stderr)}"


# ----------------------------------------------------------------------------- running


def run_case(c: Case, tmp: Path, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    repo = tmp / c.repo
    args = [a.format(repo=repo, tmp=tmp) for a in c.args]
    proc = subprocess.run(
        [sys.executable, "-m", "provisioner", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("golden")
    cwd = tmp / "cwd"  # an empty working folder: no repository is found from it
    home = tmp / "home"
    cwd.mkdir()
    home.mkdir()
    env = child_env(home)
    repos = {"samples": None, "applied": None} | {f"broken-{f}": f for f in BROKEN}
    repos |= {f: f for f in REFUSED.values()}

    days = {NOW.date().isoformat()}  # the pinned moment every command runs at
    results: dict[str, tuple[int, str, str]] = {}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        for _ in pool.map(lambda kv: make_repo(tmp / kv[0], env, kv[1]), repos.items()):
            pass

        def sequence(cases: list[Case]) -> None:
            for c in cases:
                results[c.name] = run_case(c, tmp, cwd, env)

        # The apply sequence in order in one task; every other case in a task of its own.
        tasks = [apply_sequence()] + [[c] for c in independent_cases()]
        pending = [pool.submit(sequence, cases) for cases in tasks]
        for future in pending:
            future.result()

    commits: set[str] = set()
    for name in repos:
        log = subprocess.run(
            ["git", "rev-list", "--all"],
            cwd=tmp / name,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        commits.update(log.stdout.split())
    r = Run(tmp, days, commits, {})
    for c in CASES:
        code, out, err = results[c.name]
        r.outputs[c.name] = golden_text(code, normalise(out, r), normalise(err, r))
    return r


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_golden(run: Run, c: Case) -> None:
    actual = run.outputs[c.name]
    path = GOLDEN / f"{c.name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes().decode("utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            f"golden/{path.name}",
            "actual",
        )
        pytest.fail("output changed (UPDATE_GOLDEN=1 rewrites it):\n" + "".join(diff), False)


def test_no_stray_golden_files() -> None:
    """Every file in tests/golden/ belongs to a case (a renamed case leaves none behind)."""
    names = {f"{c.name}.txt" for c in CASES}
    stray = sorted(p.name for p in GOLDEN.glob("*.txt") if p.name not in names)
    if UPDATE:
        for name in stray:
            (GOLDEN / name).unlink()
        return
    assert stray == []
