"""The clock is an input: the suite gives the same answers in any year.

The shipped demo certificates expire five years after `make samples` ran. Every test runs at
NOW (conftest), a moment pinned to those certificates; here the key commands also run in 2032
against samples whose certificates are made at test time for that year, and the shipped ones
are shown to be judged at the injected moment, not at the machine's date.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git
import pytest
from click.testing import Result

from provisioner.cli.common import NOW_ENV
from provisioner.demo.samples import make_samples
from tests.conftest import NOW, copy_repo, shipped_certificates

FAR_FUTURE = datetime(2032, 1, 1, 9, 0, tzinfo=UTC)
PRO_FILE = "integrations/0805690004/solucions-socials-digitals.yaml"
Run = Callable[..., Result]


@pytest.fixture(scope="module")
def future_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples with demo CAs, CDAs and signed forms made for 2032 (made once)."""
    repo = copy_repo(tmp_path_factory.mktemp("future") / "repo")
    make_samples(repo, FAR_FUTURE)
    return repo


@pytest.fixture(params=["shipped samples at NOW", "samples made for 2032"])
def dated_repo(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    future_samples: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, datetime]:
    """A git repository of the samples and the moment the commands run at."""
    if request.param == "shipped samples at NOW":
        repo, moment = copy_repo(tmp_path / "repo"), NOW
    else:
        repo = tmp_path / "repo"
        shutil.copytree(future_samples, repo)
        moment = FAR_FUTURE
    monkeypatch.setenv(NOW_ENV, moment.isoformat())
    (repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    handle = git.Repo.init(repo)
    handle.git.add("-A")
    bot = git.Actor("Test", "test@example.invalid")
    handle.index.commit("samples", author=bot, committer=bot)
    return repo, moment


def test_the_key_commands_give_the_same_answers_in_any_year(
    dated_repo: tuple[Path, datetime], run_cli: Run
) -> None:
    repo, moment = dated_repo
    at = ["--repo", str(repo)]
    res = run_cli(["validate", "--format", "json", *at])
    assert res.exit_code == 0, res.output
    assert not [d for d in json.loads(res.output)["diagnostics"] if d["code"].startswith("CDA-")]

    res = run_cli(["certs", "--format", "json", "--expiring-within", "60", *at])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert datetime.fromisoformat(report["now"]) == moment
    assert {c["days_left"] for c in report["certificates"]} <= set(range(5 * 365 - 3, 5 * 365 + 1))

    for env in ("PRE", "PRO"):
        # The first apply of each environment: its ledger does not exist yet.
        res = run_cli(["plan", "--env", env, "--detailed-exitcode", "--init", *at])
        assert res.exit_code == 2, res.output
        res = run_cli(["apply", "--env", env, "--format", "json", "--init", *at])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["result"]["status"] == "applied"
        res = run_cli(["plan", "--env", env, "--detailed-exitcode", *at])
        assert res.exit_code == 0, res.output

    res = run_cli(["message", "pro-ready", str(repo / PRO_FILE), *at])
    assert res.exit_code == 0, res.output
    res = run_cli(["sample-request", str(repo / PRO_FILE), "--modality", "HESTIA_CITES", *at])
    assert res.exit_code == 0, res.output
    assert moment.astimezone().strftime("%Y-%m-%d") in res.output


def test_the_shipped_certificates_are_judged_at_the_injected_moment(
    sample_repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    after = max(c.not_valid_after_utc for c in shipped_certificates()) + timedelta(days=1)
    monkeypatch.setenv(NOW_ENV, after.isoformat())
    res = run_cli(["validate", "--format", "json", "--repo", str(sample_repo)])
    assert res.exit_code == 1
    codes = {d["code"] for d in json.loads(res.output)["diagnostics"]}
    assert {"CDA-EXPIRED", "FORM-SIGNER-UNTRUSTED"} <= codes
    monkeypatch.setenv(NOW_ENV, NOW.isoformat())
    assert run_cli(["validate", "--repo", str(sample_repo)]).exit_code == 0  # not a stale cache


def test_a_date_without_time_zone_is_utc(
    sample_repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NOW_ENV, NOW.strftime("%Y-%m-%d"))
    res = run_cli(["certs", "--format", "json", "--repo", str(sample_repo)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["now"] == NOW.strftime("%Y-%m-%dT00:00:00+00:00")


@pytest.mark.parametrize("value", ["tomorrow", "2032-13-01", "01/01/2032"])
def test_a_moment_that_is_not_iso_8601_is_a_usage_error(
    value: str, sample_repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NOW_ENV, value)
    res = run_cli(["validate", "--repo", str(sample_repo)])
    assert res.exit_code == 2
    assert f"error: {NOW_ENV}='{value}' is not an ISO 8601 date and time" in res.output
