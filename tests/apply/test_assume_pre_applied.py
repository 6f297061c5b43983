"""plan --env PRO --assume-pre-applied: what a review shows for a change not yet applied in PRE."""

from __future__ import annotations

from pathlib import Path

from tests.apply.test_plan_apply import (
    SOLUCIONS,
    apply_cli,
    commit_all,
    edit,
    ledger_log,
    plan_cli,
    repo,  # noqa: F401  (fixture)
)


def test_a_change_valid_once_pre_is_applied_is_not_refused(repo: Path) -> None:  # noqa: F811
    apply_cli(repo, "PRE")
    apply_cli(repo, "PRO")
    edit(repo, SOLUCIONS, "- 192.0.2.21", "- 192.0.2.22")
    commit_all(repo)
    # Planned against the PRE ledger as it is, PRO refuses; as the review plans it, it does not.
    assert plan_cli(repo, "PRO").exit_code == 1
    res = plan_cli(repo, "PRO", "--assume-pre-applied")
    assert res.exit_code == 0, res.output
    assert "192.0.2.22" in res.output and "PRO-PRE-OUTDATED" not in res.output
    # Planning changes nothing: the PRE ledger was not written.
    assert len(ledger_log(repo, "PRE")) == 1


def test_first_review_shows_pro_integrations_as_planned(repo: Path) -> None:  # noqa: F811
    # Nothing applied yet: the PRO sample would be refused without the assumption.
    assert plan_cli(repo, "PRO").exit_code == 1
    res = plan_cli(repo, "PRO", "--assume-pre-applied", "--format", "markdown")
    assert res.exit_code == 0, res.output
    assert "Solucions Socials Digitals" in res.output


def test_a_refused_pre_plan_is_not_assumed(repo: Path) -> None:  # noqa: F811
    apply_cli(repo, "PRE")
    apply_cli(repo, "PRO")
    # A document stored under the same name with other content: PRE refuses, so PRO is
    # judged against the PRE ledger as it is and the outdated change stays refused.
    edit(repo, SOLUCIONS, "- 192.0.2.21", "- 192.0.2.22")
    cda = next((repo / "integrations" / "0805690004" / "certs").iterdir())
    cda.write_bytes(cda.read_bytes() + b"\n")
    commit_all(repo)
    assert plan_cli(repo, "PRE").exit_code == 1
    res = plan_cli(repo, "PRO", "--assume-pre-applied")
    assert res.exit_code == 1


def test_assume_pre_applied_is_for_pro_only(repo: Path) -> None:  # noqa: F811
    res = plan_cli(repo, "PRE", "--assume-pre-applied")
    assert res.exit_code == 2 and "--env PRO" in res.output
