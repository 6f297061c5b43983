"""plan from the plan kept by the last run says exactly what a plan without any cache says.

A real git repository of the shipped samples is planned and applied through the command line;
then, at each step of a sequence of changes (nothing, the catalog, an integration's IPs, a file
removed, a CDA replaced, an error, and back), every plan format is compared between a run with
the caches (twice: the first may make the kept plan, the second reuses it) and a run with
--no-cache. A damaged or forged kept plan, or one kept for other files, is not used.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import git
import pytest
from click.testing import Result

from provisioner.apply import pipeline
from provisioner.plan.kept import DOCUMENTS, SUMMARY
from provisioner.runtime import local_edges, plan_memories
from provisioner.runtime.results import ValidationCache
from tests.conftest import NOW, edit, first_apply, without_form_fields

Run = Callable[[Sequence[str]], Result]

CASTELLDEFELS = "0805690004"
GESTIO = f"integrations/{CASTELLDEFELS}/gestio-municipal-oberta.yaml"
SOLUCIONS = f"integrations/{CASTELLDEFELS}/solucions-socials-digitals.yaml"
PIRINEU = "integrations/8100560009/serveis-informatics-pirineu.yaml"
PIRINEU_CDA = "integrations/8100560009/certs/serveis-informatics-pirineu.pem"
GESTIO_CDA = f"integrations/{CASTELLDEFELS}/certs/gestio-municipal-oberta.pem"
BOT = git.Actor("Test", "test@example.invalid")
FORMATS = ("text", "markdown", "json")


def commit_all(repo_dir: Path) -> None:
    repo = git.Repo(repo_dir)
    repo.git.add("-A")
    repo.index.commit("change", author=BOT, committer=BOT)


def kept_file(repo: Path, env: str) -> Path:
    return repo / ".provisioner" / "cache" / f"plan-{env}.json"


def plan_args(repo: Path, env: str, fmt: str, *extra: str) -> list[str]:
    init = ["--init"] if first_apply(repo, env) else []
    return ["plan", "--env", env, "--format", fmt, "--detailed-exitcode", *init, *extra]


def outputs(run: Run, repo: Path, env: str, fmt: str, *extra: str) -> list[tuple[int, str]]:
    """A plan with the caches (twice) and one with none: (exit code, output) of each."""
    args = [*plan_args(repo, env, fmt, *extra), "--repo", str(repo)]
    return [(r.exit_code, r.output) for r in (run(args), run(args), run([*args, "--no-cache"]))]


def assert_same(
    run: Run, repo: Path, formats: Sequence[str] = ("text", "json"), *, plans: bool = True
) -> None:
    """Each plan format says the same with the caches as without; plans: each is a plan (not
    a validation's errors)."""
    for fmt in formats:
        for env, extra in (("PRE", ()), ("PRO", ()), ("PRO", ("--assume-pre-applied",))):
            cached, again, uncached = outputs(run, repo, env, fmt, *extra)
            # A plan: with or without changes, or refused (not a validation's errors).
            refused = "REFUSED" in uncached[1] or '"refused": true' in uncached[1]
            assert not plans or uncached[0] in (0, 2) or (uncached[0] == 1 and refused), uncached
            assert cached == uncached, (env, fmt, extra)
            assert again == uncached, (env, fmt, extra)


def from_kept(repo: Path, env: str = "PRE") -> bool:
    """The next plan of env is made from a kept plan (it then holds no catalog or file)."""
    edges = local_edges(repo)
    prepared = pipeline.prepare(
        repo,
        env,  # type: ignore[arg-type]
        now=NOW,
        edges=edges,
        kept=plan_memories(edges),
        init=first_apply(repo, env),
    )
    return prepared.report.catalog is None and not prepared.report.sources


def apply(run: Run, repo: Path, env: str) -> None:
    init = ["--init"] if first_apply(repo, env) else []
    done = run(["apply", "--env", env, *init, "--repo", str(repo)])
    assert done.exit_code == 0, done.output


@pytest.fixture
def applied(sample_repo: Path, run_cli: Run) -> Path:
    """The samples in git, applied in PRE."""
    git.Repo.init(sample_repo)
    commit_all(sample_repo)
    apply(run_cli, sample_repo, "PRE")
    return sample_repo


def test_kept_plan_says_what_a_plan_without_cache_says_through_changes(
    applied: Path, run_cli: Run
) -> None:
    repo = applied
    assert_same(run_cli, repo, FORMATS)
    assert from_kept(repo, "PRE") and from_kept(repo, "PRO")

    apply(run_cli, repo, "PRO")  # the ledger changed, not the files: the kept plan holds
    assert from_kept(repo, "PRE")
    assert_same(run_cli, repo)

    (repo / GESTIO).write_bytes((repo / GESTIO).read_bytes())  # written again, the same bytes
    (repo / PIRINEU_CDA).touch()
    assert from_kept(repo, "PRE")

    without_form_fields(repo)  # the catalog changed
    assert not from_kept(repo)
    assert_same(run_cli, repo)
    assert from_kept(repo)

    edit(repo, PIRINEU, "  - 198.51.100.0/29\n", "")  # an integration's IPs
    assert_same(run_cli, repo, FORMATS)

    (repo / SOLUCIONS).unlink()  # an integration removed
    assert_same(run_cli, repo)

    edit(repo, GESTIO, 'fp: "', 'fp: "x')  # an error: no plan
    assert not from_kept(repo)
    cached, again, uncached = outputs(run_cli, repo, "PRE", "text")
    assert cached[0] == 1 and cached == again == uncached
    edit(repo, GESTIO, 'fp: "x', 'fp: "')  # and back
    assert_same(run_cli, repo)
    assert from_kept(repo, "PRE")

    shutil.copyfile(repo / GESTIO_CDA, repo / PIRINEU_CDA)  # a CDA replaced by another's
    cached, again, uncached = outputs(run_cli, repo, "PRE", "json")
    assert cached[0] == 1 and "CDA-DUPLICATE" in cached[1]
    assert_same(run_cli, repo, plans=False)


def test_the_clock_is_read_again_with_a_kept_plan(
    applied: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Certificates near their end: the expiry warnings come from the clock of this run."""
    assert_same(run_cli, applied)
    later = NOW + timedelta(days=5 * 365 - 20)
    monkeypatch.setenv("HESTIA_PROVISIONER_NOW", later.isoformat())
    cached, again, uncached = outputs(run_cli, applied, "PRE", "text")
    assert "expires" in uncached[1]
    assert cached == again == uncached


def rewrite_kept(repo: Path, env: str, part: str, change: Callable[[Any], None]) -> None:
    """Change a part of the kept plan of env, with a good header and digest (a forgery); the
    summary then names no ledger files, so that the documents part is read."""
    memory = plan_memories(local_edges(repo))[env]
    assert isinstance(memory, ValidationCache)
    parts = {name: memory.load(name) for name in (SUMMARY, DOCUMENTS)}
    state = {name: json.loads(data) for name, data in parts.items() if data is not None}
    state[SUMMARY]["ledger"] = {}
    change(state[part])
    ValidationCache(memory.path, memory.tool).save(
        {name: json.dumps(value).encode() for name, value in state.items()}
    )


def learnt(repo: Path) -> bool:
    """Both plans made from a kept one; the second reads no kept documents."""
    return from_kept(repo) and from_kept(repo)


@pytest.mark.parametrize(
    ("part", "change"),
    [
        (DOCUMENTS, lambda s: s["records"].update({"x": "not a record"})),
        (DOCUMENTS, lambda s: s["app_config"].pop("front_end")),
        (DOCUMENTS, lambda s: s["app_config"]["ip_allowlist"][0].pop("provider_name")),
        (DOCUMENTS, lambda s: s["app_config"]["permissions"][0].pop("product")),
        (DOCUMENTS, lambda s: s["app_config"]["permissions"][0]["certificates"][0].pop("fp")),
        (DOCUMENTS, lambda s: next(iter(s["records"].values())).pop("form_verified")),
        (DOCUMENTS, lambda s: next(iter(s["records"].values())).update({"form_sha256": 1})),
        (DOCUMENTS, lambda s: s.pop("records")),
        (DOCUMENTS, lambda s: s.clear()),
        (SUMMARY, lambda s: s["folders"][0][1][0].__setitem__(3, "12")),
        (SUMMARY, lambda s: s["folders"][0].__setitem__(0, "a/b")),
        (SUMMARY, lambda s: s["folders"][0].__setitem__(1, {})),
        (SUMMARY, lambda s: s["folders"][0][1].append(["only", "three", "fields"])),
        (SUMMARY, lambda s: s.update(signers=[["one"]])),
        (SUMMARY, lambda s: s.update(expiry_days="30")),
        (SUMMARY, lambda s: s.update(ledger=["not", "names"])),
        (SUMMARY, lambda s: s.pop("folders")),
        (SUMMARY, lambda s: s.update(content="another")),
        (SUMMARY, lambda s: s.update(shape=0)),
    ],
)
def test_a_forged_or_foreign_kept_plan_is_not_used(
    applied: Path, run_cli: Run, part: str, change: Callable[[Any], None]
) -> None:
    assert not from_kept(applied)  # apply keeps no plan: this one makes it
    assert learnt(applied)
    rewrite_kept(applied, "PRE", part, change)
    assert not from_kept(applied)  # made again, and kept again
    assert learnt(applied)
    cached, again, uncached = outputs(run_cli, applied, "PRE", "json")
    assert cached == again == uncached


def damage(path: Path, at: int) -> None:
    """Flip one byte of path, at from its end."""
    data = bytearray(path.read_bytes())
    data[-at] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_damaged_kept_plan_is_made_again(applied: Path, run_cli: Run) -> None:
    assert not from_kept(applied)
    assert learnt(applied)
    path = kept_file(applied, "PRE")
    path.write_bytes(path.read_bytes()[:-10])
    cached, again, uncached = outputs(run_cli, applied, "PRE", "json")
    assert cached == again == uncached
    assert from_kept(applied)


def test_the_ledger_holding_the_kept_documents_is_learnt(
    applied: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a plan finds the ledger's documents equal to the kept ones, the next plans take
    the ledger's and read no kept documents (damaged here, and not missed) until the ledger
    changes."""
    assert not from_kept(applied)
    assert learnt(applied)
    damage(kept_file(applied, "PRE"), 3)  # in the documents part, the last one
    assert from_kept(applied)
    assert_same(run_cli, applied, FORMATS)

    without_form_fields(applied)  # the records' form_verified change: PRE plans changes
    monkeypatch.chdir(applied)
    commit_all(applied)
    assert not from_kept(applied)
    assert from_kept(applied)  # the kept documents read, the ledger's differ: nothing learnt
    damage(kept_file(applied, "PRE"), 3)
    assert not from_kept(applied)
    assert_same(run_cli, applied)
    apply(run_cli, applied, "PRE")
    assert from_kept(applied)  # learnt: the ledger holds the kept documents now
    damage(kept_file(applied, "PRE"), 3)
    assert from_kept(applied)
    assert_same(run_cli, applied)


def test_no_cache_keeps_no_plan(sample_repo: Path, run_cli: Run) -> None:
    git.Repo.init(sample_repo)
    commit_all(sample_repo)
    done = run_cli(["plan", "--env", "PRE", "--init", "--no-cache", "--repo", str(sample_repo)])
    assert done.exit_code == 0, done.output
    assert not (sample_repo / ".provisioner" / "cache").exists()


def test_messages_are_made_from_the_files(applied: Path, run_cli: Run) -> None:
    """--with-messages needs the files and the catalog: the kept plan is not enough."""
    args = ["plan", "--env", "PRO", "--format", "markdown", "--with-messages"]
    args += ["--init", "--repo", str(applied)]
    cached, uncached = run_cli(args), run_cli([*args, "--no-cache"])
    assert cached.exit_code == uncached.exit_code == 0
    assert cached.output == uncached.output
