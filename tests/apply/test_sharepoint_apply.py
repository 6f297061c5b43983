"""apply, apply --repair and drift with the SharePoint store, on real git repositories.

The shipped samples are applied through the command line (or the applying module, where a test
needs to inject waits) to the fake SharePoint of tests/apply/fake_sharepoint.py over HTTP.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import git
import pytest
from click.testing import CliRunner, Result

from provisioner.apply import pipeline as applying
from provisioner.apply.sharepoint import RetryPolicy
from provisioner.apply.store import LocalStore
from provisioner.cli import cli
from provisioner.cli.common import progress_reporter
from tests.apply.fake_sharepoint import BASE_FOLDER, LIBRARY, TOKEN, FakeSharePoint, Fault
from tests.apply.test_sharepoint_store import Waits, make_store
from tests.conftest import NOW, first_apply

BASE = (LIBRARY, *BASE_FOLDER.split("/"))
BOT = git.Actor("Test", "test@example.invalid")
ALTA = "FP265594 Consell Comarcal de l'Alta Ribagorça"


@pytest.fixture(autouse=True)
def _first_apply_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """As CI runs the first apply: HESTIA_LEDGER_INIT names both environments (ignored once a
    ledger exists; the refusal of a missing ledger is tested in tests/apply/test_ledger_trust.py)."""
    monkeypatch.setenv("HESTIA_LEDGER_INIT", "PRE PRO")


@pytest.fixture
def repo(sample_repo: Path) -> Path:
    (sample_repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    checkout = git.Repo.init(sample_repo)
    checkout.git.add("-A")
    checkout.index.commit("samples", author=BOT, committer=BOT)
    return sample_repo


@pytest.fixture
def fake() -> Iterator[FakeSharePoint]:
    with FakeSharePoint() as server:
        yield server


def env_for(fake: FakeSharePoint, **more: str) -> dict[str, str]:
    return {"SHAREPOINT_ACCESS_TOKEN": TOKEN, "SHAREPOINT_SITE_URL": fake.site_url, **more}


def run(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def apply_sp(repo: Path, fake: FakeSharePoint, *extra: str, **env: str) -> Result:
    return run(
        ["apply", "--env", "PRE", "--repo", str(repo), "--store", "sharepoint", *extra],
        env_for(fake, **env),
    )


def ledger(repo: Path) -> list[git.Commit]:
    try:
        return list(git.Repo(repo).iter_commits("provisioned/PRE"))
    except git.GitCommandError:
        return []


def expected_files(repo: Path) -> dict[str, bytes]:
    """What the PRE samples put in the store, by path from the library."""
    manifest = json.loads(
        (ledger(repo)[0].tree / "sharepoint-manifest.json").data_stream.read().decode()
    )
    sources = {
        p.name: p.read_bytes()
        for p in (repo / "integrations").rglob("*")
        if p.suffix in (".pem", ".pdf")
    }
    return {
        f"{folder}/{name}": sources[name]
        for folder, files in manifest["folders"].items()
        for name in files
    }


# ----------------------------------------------------------------------------- apply


def test_apply_to_sharepoint_then_repeat_makes_no_request(repo: Path, fake: FakeSharePoint) -> None:
    res = apply_sp(repo, fake, "--format", "json")
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)["result"]
    assert result["status"] == "applied"
    assert result["store_writes"] == {"folders": 3, "files": 6}
    assert fake.stored_files() == expected_files(repo)
    assert f"{'/'.join(BASE)}/{ALTA}/serveis-informatics-pirineu.pem" in fake.stored_files()
    message = str(ledger(repo)[0].message)
    assert (
        f"Store: sharepoint (site {fake.site_url}, library {LIBRARY}, folder {BASE_FOLDER}) "
        "(3 folders, 6 files written)\n" in message
    )
    assert TOKEN not in message and TOKEN not in res.output

    fake.reset_log()
    again = apply_sp(repo, fake, "--format", "json")
    assert again.exit_code == 0
    assert json.loads(again.output)["result"]["status"] == "unchanged"
    assert fake.log == []  # nothing planned: SharePoint is not even asked
    assert len(ledger(repo)) == 1


def test_missing_base_folder_is_an_environment_error_and_nothing_is_written(repo: Path) -> None:
    with FakeSharePoint(base_folder=None) as fake:
        res = apply_sp(repo, fake)
        assert res.exit_code == 2
        assert "base folder 'SERVEIS/Hèstia/01 Integració/99 Integracions' does not exist" in (
            res.output
        )
        assert fake.writes() == []
    assert ledger(repo) == []


def test_refused_login_is_one_line_and_exit_2(repo: Path, fake: FakeSharePoint) -> None:
    res = apply_sp(repo, fake, SHAREPOINT_ACCESS_TOKEN="expired")
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "refused the login" in res.output
    assert "expired" not in res.output
    assert ledger(repo) == []


def test_retries_running_out_stop_apply_and_record_nothing(
    repo: Path, fake: FakeSharePoint
) -> None:
    fake.inject(
        Fault("status", match=lambda m, k: k == "folder-add", status=429, retry_after="0", times=99)
    )
    res = apply_sp(repo, fake)
    assert res.exit_code == 1
    assert "apply stopped: SharePoint did not complete creating folder" in res.output
    assert "after 6 attempt(s)" in res.output and "nothing was recorded" in res.output
    assert ledger(repo) == []


def test_ci_refuses_the_local_store_unless_asked_for(repo: Path) -> None:
    base = ["apply", "--env", "PRE", "--repo", str(repo)]
    refused = run(base, {"GITHUB_ACTIONS": "true"})
    assert refused.exit_code == 2
    assert "must go to SharePoint" in refused.output
    assert ledger(repo) == []
    assert run([*base, "--dry-run"], {"GITHUB_ACTIONS": "true"}).exit_code == 0
    explicit = run([*base, "--store", "local"], {"GITHUB_ACTIONS": "true"})
    assert explicit.exit_code == 0, explicit.output
    local = repo / ".provisioner" / "sharepoint"
    assert f"Store: local ({local})" in str(ledger(repo)[0].message)


# ----------------------------------------------------------------------------- faults


def clean_run_requests(repo: Path, prepared: applying.Prepared) -> int:
    with FakeSharePoint() as fake:
        result = applying.apply(prepared, make_store(fake), repo / "build" / "app")
        assert result.status == "applied", result.error
        forget_ledger(repo)
        return len(fake.log)


def forget_ledger(repo: Path) -> None:
    git.Repo(repo).git.update_ref("-d", "refs/heads/provisioned/PRE")


@pytest.mark.parametrize("kind", ["status", "drop-after"])
def test_a_fault_at_any_request_then_a_rerun_converges(repo: Path, kind: str) -> None:
    prepared = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    assert not prepared.problems and prepared.plan is not None
    out = repo / "build" / "app"
    requests = clean_run_requests(repo, prepared)
    assert requests == 1 + 2 + 3 + 6 * 2
    # Position 0 is the form digest, which the client library retries by itself (real waits).
    for position in range(1, requests):
        with FakeSharePoint() as fake:
            fake.inject(Fault(kind, at=position, status=500))
            once = RetryPolicy(max_attempts=1)
            failed = applying.apply(prepared, make_store(fake, Waits(), once), out)
            assert failed.status == "store-failed", (position, failed)
            assert ledger(repo) == [], position
            again = applying.apply(prepared, make_store(fake), out)
            assert again.status == "applied", (position, again.error)
            assert set(fake.stored_files()) == {
                "/".join([*a.folder, a.name]) for a in prepared.plan.files_to_create
            }, position
            file_writes = [e for e in fake.writes() if e.kind == "file-add"]
            assert len(file_writes) == 6, position  # each file written once, never replaced
            assert all("overwrite=false" in e.path for e in file_writes)
            forget_ledger(repo)


def test_throttled_apply_waits_as_told_and_completes(repo: Path, fake: FakeSharePoint) -> None:
    prepared = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    waits = Waits()
    fake.inject(Fault("status", match=lambda m, k: k == "file-add", status=429, retry_after="12"))
    fake.inject(Fault("status", match=lambda m, k: k == "file-get", status=503, retry_after="2"))
    result = applying.apply(prepared, make_store(fake, waits), repo / "build" / "app")
    assert result.status == "applied"
    assert sorted(waits.slept) == [2.0, 12.0]
    assert len(fake.stored_files()) == 6


# ----------------------------------------------------------------------------- drift and repair


def drift(repo: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    return run(["drift", "--env", "PRE", "--repo", str(repo), *extra], env)


def test_drift_and_repair_with_the_local_store(repo: Path) -> None:
    assert run(["apply", "--env", "PRE", "--repo", str(repo)]).exit_code == 0
    assert drift(repo).exit_code == 0
    store = repo.joinpath(".provisioner", "sharepoint", *BASE)
    alta = store / ALTA
    pem = alta / "serveis-informatics-pirineu.pem"
    pem.unlink()
    castell = sorted(p for p in store.iterdir() if p.name != ALTA)
    for f in castell[0].iterdir():
        f.unlink()
    castell[0].rmdir()
    form = next(castell[1].glob("*.pdf"))
    original = form.read_bytes()
    form.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # same length, other bytes

    res = drift(repo)
    assert res.exit_code == 1
    assert f"missing file: {'/'.join(BASE)}/{ALTA}/serveis-informatics-pirineu.pem" in res.output
    assert f"missing folder: {'/'.join(BASE)}/{castell[0].name}" in res.output
    assert f"different content: {'/'.join(BASE)}/{castell[1].name}/{form.name}" in res.output
    assert "same length" in res.output
    data = json.loads(drift(repo, "--format", "json").output)
    assert sorted(i["kind"] for i in data["drift"]) == [
        "different-file",
        "missing-file",
        "missing-folder",
    ]
    markdown = drift(repo, "--format", "markdown").output
    assert "| missing file |" in markdown and "l'Alta Ribagorça" in markdown

    # Repair never replaces the file that differs...
    repair = run(["apply", "--env", "PRE", "--repo", str(repo), "--repair"])
    assert repair.exit_code == 1
    assert "other content" in repair.output
    assert form.read_bytes() != original
    # ...and puts back everything missing once that file is sorted out by hand.
    form.write_bytes(original)
    repair = run(["apply", "--env", "PRE", "--repo", str(repo), "--repair", "--format", "json"])
    assert repair.exit_code == 0, repair.output
    assert json.loads(repair.output)["result"]["status"] == "unchanged"
    assert drift(repo).exit_code == 0
    assert pem.is_file() and castell[0].is_dir()
    assert len(ledger(repo)) == 1  # repair records nothing new


def test_drift_and_repair_with_sharepoint(repo: Path, fake: FakeSharePoint) -> None:
    assert apply_sp(repo, fake).exit_code == 0
    env = env_for(fake)
    clean = drift(repo, "--store", "sharepoint", env=env)
    assert clean.exit_code == 0, clean.output
    assert "no drift" in clean.output
    path = f"{'/'.join(BASE)}/{ALTA}/serveis-informatics-pirineu.pem"
    other = next(p for p in fake.stored_files() if p.endswith(".pdf"))
    with fake.lock:
        fake.files.pop(f"{fake.site}/{path}".casefold())
        fake.files[f"{fake.site}/{other}".casefold()].data += b"tail"
    fake.reset_log()
    res = drift(repo, "--store", "sharepoint", "--format", "json", env=env)
    assert res.exit_code == 1
    found = {(i["kind"], i["path"]) for i in json.loads(res.output)["drift"]}
    assert found == {("missing-file", path), ("different-file", other)}
    assert fake.writes() == []
    assert fake.count("file-download") == 4  # same-length files are hashed, not the longer one

    repaired = apply_sp(repo, fake, "--repair")
    assert repaired.exit_code == 1  # the longer file is a conflict: left as it is
    assert fake.stored_files()[other].endswith(b"tail")
    assert path in fake.stored_files()


def test_drift_without_a_ledger_is_clean(repo: Path) -> None:
    res = drift(repo)
    assert res.exit_code == 0
    assert "0 folder(s), 0 file(s) checked" in res.output


def test_drift_needs_a_git_repository(sample_repo: Path) -> None:
    res = drift(sample_repo)
    assert res.exit_code == 2


# ----------------------------------------------------------------------------- progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_outside_ci_and_json() -> None:
    screen = Terminal()
    report = progress_reporter("text", {}, screen)
    assert report is not None
    for done in range(1, 41):
        report(done, 40)
    assert screen.getvalue().startswith("\rstoring documents: 1/40")
    assert screen.getvalue().endswith("\rstoring documents: 40/40\n")
    assert progress_reporter("json", {}, Terminal()) is None
    assert progress_reporter("text", {"CI": "true"}, Terminal()) is None
    assert progress_reporter("text", {"GITHUB_ACTIONS": "true"}, Terminal()) is None
    assert progress_reporter("text", {}, io.StringIO()) is None
    few = Terminal()
    small = progress_reporter("text", {}, few)
    assert small is not None
    small(1, 2)
    assert few.getvalue() == ""


def test_apply_reports_progress_per_file(repo: Path) -> None:
    prepared = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    seen: list[tuple[int, int]] = []
    result = applying.apply(
        prepared,
        LocalStore(repo / "store"),
        repo / "build" / "app",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.status == "applied"
    assert seen == [(n, 6) for n in range(1, 7)]
