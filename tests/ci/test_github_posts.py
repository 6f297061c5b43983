"""The sticky review comment and the scheduled issues, posted to a fake GitHub on 127.0.0.1."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import git
import pytest
from click.testing import CliRunner, Result

from provisioner.ci.github import GitHub, GitHubError, upsert_comment
from provisioner.ci.report import (
    PLAN_MARKER,
    EnvPlan,
    IssueSpec,
    code,
    review_comment,
    truncate,
)
from provisioner.cli import cli
from provisioner.documents.identity import identity_from_bytes
from tests.ci import fake_github
from tests.ci.fake_github import BOT, TOKEN, State
from tests.conftest import copy_repo

REPO = "aoc/hestia-integrations"
SAMPLE_CDAS = sorted(Path(__file__).resolve().parents[2].glob("integrations/*/certs/*.pem"))
TRUST = sorted(Path(__file__).resolve().parents[2].glob("catalog/trust/*.pem"))


@pytest.fixture(autouse=True)
def _first_apply_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """As CI runs the first apply: HESTIA_LEDGER_INIT names both environments (ignored once a
    ledger exists; the refusal of a missing ledger is tested in tests/apply/test_ledger_trust.py)."""
    monkeypatch.setenv("HESTIA_LEDGER_INIT", "PRE PRO")


@pytest.fixture
def github() -> Iterator[tuple[State, dict[str, str]]]:
    state = State(REPO)
    for url in fake_github.serve(state):
        yield state, {"GITHUB_API_URL": url, "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": TOKEN}


def run(args: Sequence[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env, input=stdin)


@pytest.fixture
def repo(sample_repo: Path) -> Path:
    (sample_repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    r = git.Repo.init(sample_repo)
    r.git.add("-A")
    bot = git.Actor("Test", "test@example.invalid")
    r.index.commit("samples", author=bot, committer=bot)
    return sample_repo


# ----------------------------------------------------------------------------- review comment


def test_review_comment_plans_both_environments_with_pro_as_if_pre_applied(
    repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "github-output"
    head = git.Repo(repo).head.commit.hexsha
    env = {
        "GITHUB_OUTPUT": str(out),
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": "7",
    }
    res = run(
        ["ci", "review-comment", "--head", head, "--repo", str(repo), "--github-output", "comment"],
        env,
    )
    # Nothing applied yet; the PRO sample would be refused if PRO were planned against the
    # empty PRE ledger, but the review plans it as if the PRE plan were applied.
    assert res.exit_code == 0, res.output
    body = res.output
    assert body.startswith(PLAN_MARKER)
    assert f"head commit `{head}`" in body and "can be applied" in body
    assert "| PRE | none (never applied) | ok |" in body
    assert "| PRO | none (never applied) | ok |" in body
    assert "planned as if the PRE plan above were applied" in body
    assert "Hèstia provisioning plan: PRE" in body and "Hèstia provisioning plan: PRO" in body
    assert "https://github.example/aoc/hestia-integrations/actions/runs/7" in body
    written = out.read_text(encoding="utf-8")
    delimiter = re.match(r"comment<<(EOF_[0-9a-f]{32})\n", written)
    assert delimiter and written.endswith(f"\n{delimiter.group(1)}\n")
    assert body.rstrip("\n") in written


def test_review_comment_states_the_ledger_tips_and_refusals(repo: Path, tmp_path: Path) -> None:
    assert run(["apply", "--env", "PRE", "--repo", str(repo)]).exit_code == 0
    tip = git.Repo(repo).commit("provisioned/PRE").hexsha
    head = git.Repo(repo).head.commit.hexsha
    target = tmp_path / "comment.md"
    # A document stored in PRE changed under the same name: PRE refuses.
    cda = repo / "integrations" / "0805690004" / "certs" / "solucions-socials-digitals.pem"
    cda.write_bytes(cda.read_bytes() + b"\n")
    res = run(["ci", "review-comment", "--head", head, "--repo", str(repo), "--out", str(target)])
    assert res.exit_code == 1
    body = target.read_text(encoding="utf-8")
    assert f"| PRE | `{tip}` | refused |" in body and "refused**" in body
    assert "planned against the PRE ledger as it is" in body


def test_review_comment_in_catalan_for_the_head_of_service(repo: Path) -> None:
    head = git.Repo(repo).head.commit.hexsha
    res = run(["ci", "review-comment", "--head", head, "--repo", str(repo), "--lang", "ca"])
    assert res.exit_code == 0, res.output
    assert "### Pla d'aprovisionament d'Hèstia: PRE" in res.output
    assert "### Pla d'aprovisionament d'Hèstia: PRO" in res.output
    assert "Hèstia provisioning plan" not in res.output
    assert "## Pla d'aprovisionament d'Hèstia\n" in res.output and "es pot aplicar" in res.output


def test_review_comment_shows_validation_problems(repo: Path) -> None:
    head = git.Repo(repo).head.commit.hexsha
    path = repo / "integrations" / "8100560009" / "serveis-informatics-pirineu.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("fp:", "fpx:"), encoding="utf-8")
    res = run(["ci", "review-comment", "--head", head, "--repo", str(repo)])
    assert res.exit_code == 1
    assert "Validation failed: no plan." in res.output
    assert "serveis-informatics-pirineu.yaml" in res.output


def test_review_comment_usage_errors(repo: Path) -> None:
    assert run(["ci", "review-comment", "--head", "HEAD", "--repo", str(repo)]).exit_code == 2
    head = git.Repo(repo).head.commit.hexsha
    res = run(
        ["ci", "review-comment", "--head", head, "--repo", str(repo), "--github-output", "x"],
        env={"GITHUB_OUTPUT": ""},
    )
    assert res.exit_code == 2 and "GITHUB_OUTPUT" in res.output


def test_review_comment_outside_git_is_an_environment_error(sample_repo: Path) -> None:
    res = run(["ci", "review-comment", "--head", "a" * 40, "--repo", str(sample_repo)])
    assert res.exit_code == 2


def test_a_long_plan_is_cut_to_what_github_accepts() -> None:
    huge = "\n".join(f"- line {i} " + "x" * 80 for i in range(3000))
    plans = [EnvPlan(env, huge, False, None) for env in ("PRE", "PRO")]
    body = review_comment(plans, "a" * 40, None, limit=60_000)
    assert len(body) < 65_536
    assert body.count("cut here: the full text is in the review run's job summary") == 2
    assert truncate("short", 100, "x") == "short"


def test_code_spans_survive_backticks_and_line_breaks() -> None:
    assert code("plain") == "`plain`"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code("two\nlines") == "`two lines`"


# ----------------------------------------------------------------------------- posting the comment


def test_the_comment_is_added_once_then_updated_in_place(
    github: tuple[State, dict[str, str]], tmp_path: Path
) -> None:
    state, env = github
    # Others' comments, one of them quoting the marker: never edited.
    for i in range(4):
        cid = state.new_id()
        body = f"review note {i}" + (f" {PLAN_MARKER}" if i == 1 else "")
        state.comments[cid] = {"id": cid, "issue": 12, "body": body, "user": {"login": "someone"}}
    first = f"{PLAN_MARKER}\nplan one\n"
    res = run(["ci", "post-comment", "--pull", "12", "--body-file", "-"], env, stdin=first)
    assert res.exit_code == 0 and "plan comment created" in res.output
    mine = [c for c in state.comments.values() if c["user"]["login"] == BOT]
    assert len(mine) == 1 and mine[0]["body"] == first
    second = f"{PLAN_MARKER}\nplan two\n"
    res = run(["ci", "post-comment", "--pull", "12", "--body-file", "-"], env, stdin=second)
    assert res.exit_code == 0 and "plan comment updated" in res.output
    mine = [c for c in state.comments.values() if c["user"]["login"] == BOT]
    assert len(mine) == 1 and mine[0]["body"] == second
    res = run(["ci", "post-comment", "--pull", "12", "--body-file", "-"], env, stdin=second)
    assert "unchanged" in res.output
    assert all(
        "marker" not in c["body"] for c in state.comments.values() if c["user"]["login"] != BOT
    )
    assert state.comments[102]["body"].endswith(PLAN_MARKER)  # the quoting one is untouched


def test_post_comment_refuses_a_body_without_the_marker(
    github: tuple[State, dict[str, str]],
) -> None:
    _, env = github
    res = run(["ci", "post-comment", "--pull", "3", "--body-file", "-"], env, stdin="hello")
    assert res.exit_code == 2 and "marker" in res.output
    with pytest.raises(ValueError, match="marker"):
        upsert_comment(GitHub.from_environ(env), 3, "no marker", PLAN_MARKER)


def test_api_errors_and_missing_credentials_exit_2(github: tuple[State, dict[str, str]]) -> None:
    state, env = github
    body = f"{PLAN_MARKER}\nx\n"
    state.fail_with = 502
    res = run(["ci", "post-comment", "--pull", "3", "--body-file", "-"], env, stdin=body)
    assert res.exit_code == 2 and "HTTP 502" in res.output
    state.fail_with = None
    bad = dict(env, GITHUB_TOKEN="wrong")
    res = run(["ci", "post-comment", "--pull", "3", "--body-file", "-"], bad, stdin=body)
    assert res.exit_code == 2 and "HTTP 401" in res.output
    res = run(
        ["ci", "post-comment", "--pull", "3", "--body-file", "-"],
        dict(env, GITHUB_TOKEN=""),
        stdin=body,
    )
    assert res.exit_code == 2 and "GITHUB_TOKEN is not set" in res.output
    res = run(
        ["ci", "post-comment", "--pull", "3", "--body-file", "-"],
        dict(env, GITHUB_REPOSITORY="x"),
        stdin=body,
    )
    assert res.exit_code == 2 and "owner/name" in res.output
    res = run(
        ["ci", "post-comment", "--pull", "3", "--body-file", "-"],
        dict(env, GITHUB_API_URL="file:///etc"),
        stdin=body,
    )
    assert res.exit_code == 2 and "not an http(s) URL" in res.output
    res = run(
        ["ci", "post-comment", "--pull", "3", "--body-file", "-"],
        dict(env, GITHUB_API_URL="http://127.0.0.1:9"),
        stdin=body,
    )
    assert res.exit_code == 2


def test_pagination_never_leaves_the_api(github: tuple[State, dict[str, str]]) -> None:
    state, env = github
    for _ in range(3):
        cid = state.new_id()
        state.comments[cid] = {"id": cid, "issue": 1, "body": "x", "user": {"login": "a"}}
    state.link_host = "http://elsewhere.invalid"
    with pytest.raises(GitHubError, match="outside"):
        list(GitHub.from_environ(env).pages("issues/1/comments"))
    other = GitHub(env["GITHUB_API_URL"] + "/elsewhere", REPO, TOKEN)
    with pytest.raises(GitHubError, match="HTTP 404"):
        list(other.pages("issues/1/comments"))


# ----------------------------------------------------------------------------- issues


def _not_after(path: Path) -> datetime:
    ident = identity_from_bytes(path.read_bytes())
    assert ident is not None
    return ident.not_after


def test_one_issue_per_expiring_cda_opened_then_updated(
    github: tuple[State, dict[str, str]], repo: Path
) -> None:
    state, env = github
    first = min(SAMPLE_CDAS, key=_not_after)
    # Ten days before the first sample CDA expires: it (and whatever expires with it) is due.
    when = (_not_after(first) - timedelta(days=10)).replace(hour=0, minute=0, second=0)
    day = when.strftime("%Y-%m-%d")
    args = [
        "ci",
        "certificate-issues",
        "--expiring-within",
        "60",
        "--now",
        day,
        "--repo",
        str(repo),
    ]
    due = [p for p in SAMPLE_CDAS + TRUST if (_not_after(p) - when).days <= 60]
    res = run([*args, "--post"], env)
    assert res.exit_code == 0, res.output
    assert len(state.issues) == len(due) >= 1
    titles = [i["title"] for i in state.issues.values()]
    assert any(t.startswith("CDA of") and t.endswith("(in 10 days)") for t in titles)
    issue = next(iter(state.issues.values()))
    assert issue["labels"] == ["hestia-provisioner"]
    assert issue["body"].startswith("<!-- hestia-provisioner:issue:")
    # Next week: the same issues, updated (the days left changed), none added.
    later = (_not_after(first) - timedelta(days=3)).strftime("%Y-%m-%d")
    res = run(["ci", "certificate-issues", "--now", later, "--repo", str(repo), "--post"], env)
    assert res.exit_code == 0 and "updated" in res.output
    assert len(state.issues) == len(due)
    # Closed by a person: a new one is opened next time (the old one stays closed).
    number = next(iter(state.issues))
    state.issues[number]["state"] = "closed"
    run(["ci", "certificate-issues", "--now", later, "--repo", str(repo), "--post"], env)
    assert len(state.issues) == len(due) + 1
    # Renewed, or no longer due: each open issue gets a comment and is closed.
    quiet = (when - timedelta(days=400)).strftime("%Y-%m-%d")
    res = run(["ci", "certificate-issues", "--now", quiet, "--repo", str(repo), "--post"], env)
    assert res.exit_code == 0 and res.output.count("closed") == len(due)
    assert all(i["state"] == "closed" for i in state.issues.values())
    assert sum("no longer finds this" in c["body"] for c in state.comments.values()) == len(due)


def test_trust_root_issues_stay_open_while_the_catalog_does_not_load(
    github: tuple[State, dict[str, str]], repo: Path
) -> None:
    state, env = github
    latest = max(_not_after(p) for p in SAMPLE_CDAS + TRUST)
    expired = (latest + timedelta(days=1)).strftime("%Y-%m-%d")
    args = ["ci", "certificate-issues", "--now", expired, "--repo", str(repo), "--post"]
    assert run(args, env).exit_code == 0
    roots = {n for n, i in state.issues.items() if i["title"].startswith("Trust root")}
    assert roots
    (repo / "catalog" / "service.yaml").write_text("broken: [\n", encoding="utf-8")
    res = run(args, env)
    assert res.exit_code == 0 and "closed" not in res.output
    assert all(state.issues[n]["state"] == "open" for n in roots)


def test_certificate_issues_without_post_print_and_exit_1(repo: Path) -> None:
    latest = max(_not_after(p) for p in SAMPLE_CDAS + TRUST)
    earliest = min(_not_after(p) for p in SAMPLE_CDAS + TRUST)
    quiet = (earliest - timedelta(days=400)).strftime("%Y-%m-%d")
    res = run(["ci", "certificate-issues", "--now", quiet, "--repo", str(repo)])
    assert res.exit_code == 0 and "nothing found" in res.output
    expired = (latest + timedelta(days=1)).strftime("%Y-%m-%d")
    res = run(
        ["ci", "certificate-issues", "--now", expired, "--repo", str(repo), "--format", "json"]
    )
    assert res.exit_code == 1
    specs = json.loads(res.output)
    kinds = {s["key"].split(":")[0] for s in specs}
    assert kinds == {"cda", "trust-root"}
    assert all("expired on" in s["title"] for s in specs)


def test_unreadable_certificates_are_reported(repo: Path) -> None:
    (
        repo / "integrations" / "8100560009" / "certs" / "serveis-informatics-pirineu.pem"
    ).write_bytes(b"junk")
    (repo / "catalog" / "trust" / "demo-root-ca.pem").write_bytes(b"junk")
    res = run(
        ["ci", "certificate-issues", "--now", "2000-01-01", "--repo", str(repo), "--format", "json"]
    )
    specs = json.loads(res.output)
    unreadable = [s for s in specs if "cannot be read" in s["title"]]
    assert {s["key"].split(":")[0] for s in unreadable} == {"cda", "trust-root"}


def _drift(repo: Path, tmp_path: Path) -> tuple[Path, int]:
    """`drift --env PRE --format json` of the local store, as the weekly job writes it."""
    res = run(["drift", "--env", "PRE", "--repo", str(repo), "--format", "json"])
    report = tmp_path / "drift.json"
    report.write_text(res.output, encoding="utf-8")
    return report, res.exit_code


def _drift_issue(report: Path, code: int, env: dict[str, str], *extra: str) -> Result:
    args = ["ci", "drift-issue", "--env", "PRE", "--report", str(report)]
    return run([*args, "--drift-exit", str(code), *extra], env)


def _open(state: State) -> dict[str, dict[str, Any]]:
    return {i["title"]: i for i in state.issues.values() if i["state"] == "open"}


def test_one_issue_per_drifting_folder_closed_once_it_matches_again(
    github: tuple[State, dict[str, str]], repo: Path, tmp_path: Path
) -> None:
    state, env = github
    env = dict(env, GITHUB_SERVER_URL="https://github.example", GITHUB_RUN_ID="9")
    assert run(["apply", "--env", "PRE", "--repo", str(repo)]).exit_code == 0
    report, code = _drift(repo, tmp_path)
    assert code == 0
    res = _drift_issue(report, code, env, "--post")
    assert res.exit_code == 0 and "nothing found" in res.output and state.issues == {}

    store = next(repo.joinpath(".provisioner", "sharepoint").rglob("*.pem")).parent.parent
    folders = sorted(p for p in store.iterdir() if p.is_dir())
    assert len(folders) >= 3
    pems = sorted(folders[0].glob("*.pem"))
    pems[0].unlink()  # a missing file
    form = next(folders[1].glob("*.pdf"))
    original = form.read_bytes()
    form.write_bytes(original + b"tail")  # a file with other content
    shutil.rmtree(folders[2])  # a missing folder
    report, code = _drift(repo, tmp_path)
    assert code == 1
    summary = tmp_path / "summary.md"
    res = _drift_issue(report, code, env, "--post", "--summary", str(summary))
    assert res.exit_code == 0, res.output
    assert res.output.count("created") == 3
    titles = sorted(_open(state))
    assert titles == sorted(
        f"Folder {f.name} of the PRE document store differs from its ledger" for f in folders[:3]
    )
    first = _open(state)[
        f"Folder {folders[0].name} of the PRE document store differs from its ledger"
    ]
    assert first["body"].startswith("<!-- hestia-provisioner:issue:drift:pre:")
    assert f"| missing file | `{pems[0].name}` | `not in the store` |" in first["body"]
    assert "| missing file |" in summary.read_text(encoding="utf-8")
    gone = _open(state)[
        f"Folder {folders[2].name} of the PRE document store differs from its ledger"
    ]
    assert "| missing folder | (the whole folder) |" in gone["body"]

    # The same drift next week: nothing new, nothing changed.
    res = _drift_issue(report, code, env, "--post")
    assert res.output.count("unchanged") == 3 and len(state.issues) == 3

    # Repaired (the missing file and folder are back): their issues are closed with a comment;
    # the folder whose file differs keeps its issue.
    form.write_bytes(original)
    assert run(["apply", "--env", "PRE", "--repo", str(repo), "--repair"]).exit_code == 0
    form.write_bytes(original + b"tail")
    report, code = _drift(repo, tmp_path)
    res = _drift_issue(report, code, env, "--post")
    assert res.exit_code == 0 and res.output.count("closed") == 2, res.output
    assert list(_open(state)) == [
        f"Folder {folders[1].name} of the PRE document store differs from its ledger"
    ]
    closed = [i for i in state.issues.values() if i["state"] == "closed"]
    assert {i["state_reason"] for i in closed} == {"completed"}
    notes = [c for c in state.comments.values() if c["issue"] in {i["number"] for i in closed}]
    assert len(notes) == 2
    assert all("no longer finds this" in c["body"] for c in notes)
    assert all(
        "https://github.example/aoc/hestia-integrations/actions/runs/9" in c["body"] for c in notes
    )

    # PRO's check never touches PRE's issues; once PRE is clean, its last issue is closed.
    pro = tmp_path / "pro.json"
    pro.write_text(report.read_text(encoding="utf-8").replace('"PRE"', '"PRO"'), encoding="utf-8")
    res = run(
        ["ci", "drift-issue", "--env", "PRO", "--report", str(pro), "--drift-exit", "1", "--post"],
        env,
    )
    assert res.exit_code == 0 and "closed" not in res.output
    form.write_bytes(original)
    report, code = _drift(repo, tmp_path)
    res = _drift_issue(report, code, env, "--post")
    assert code == 0 and res.output.count("closed") == 1
    assert all("PRE" not in t for t in _open(state))


def test_drift_issue_refuses_reports_it_cannot_trust(tmp_path: Path) -> None:
    report = tmp_path / "drift.json"
    good = {
        "environment": "PRE",
        "store": "local",
        "folders_checked": 2,
        "files_checked": 4,
        "drift": [{"kind": "missing-file", "path": "L/F1 X/a.pem", "detail": "not in the store"}],
    }
    cases: list[tuple[object, int, str]] = [
        ("not json", 1, "not JSON"),
        ([], 1, "not a JSON object"),
        ({**good, "store": 3}, 1, "lacks environment"),
        ({**good, "drift": ["x"]}, 1, "not an object"),
        ({**good, "drift": [{"kind": "odd", "path": "p", "detail": "d"}]}, 1, "no known kind"),
        (
            {**good, "drift": [{"kind": "missing-file", "path": "/", "detail": "d"}]},
            1,
            "empty path",
        ),
        ({**good, "environment": "PRO"}, 1, "about 'PRO', not PRE"),
        (good, 0, "drift exited 0 but its report lists 1"),
        ({**good, "drift": []}, 1, "drift exited 1 but its report lists 0"),
    ]
    for data, drift_exit, message in cases:
        text = data if isinstance(data, str) else json.dumps(data)
        report.write_text(text, encoding="utf-8")
        res = _drift_issue(report, drift_exit, {})
        assert res.exit_code == 2 and message in res.output, (data, res.output)
    res = _drift_issue(report, 2, {})
    assert res.exit_code == 2 and "drift check itself failed" in res.output
    report.write_text(json.dumps(good), encoding="utf-8")
    res = _drift_issue(report, 1, {}, "--format", "json")
    assert res.exit_code == 1
    [spec] = json.loads(res.output)
    assert spec["title"] == "Folder F1 X of the PRE document store differs from its ledger"
    assert spec["key"].startswith("drift:pre:")


def test_the_issue_of_earlier_versions_is_closed_by_the_per_folder_check(
    github: tuple[State, dict[str, str]], tmp_path: Path
) -> None:
    """Earlier versions opened one drift issue per environment: the first run closes it."""
    state, env = github
    state.issues[7] = {
        "number": 7,
        "title": "The PRE document store differs from its ledger",
        "body": "<!-- hestia-provisioner:issue:drift:pre -->\nold",
        "labels": ["hestia-provisioner"],
        "state": "open",
        "user": {"login": BOT},
    }
    report = tmp_path / "drift.json"
    report.write_text(
        json.dumps(
            {
                "environment": "PRE",
                "store": "s",
                "folders_checked": 1,
                "files_checked": 1,
                "drift": [{"kind": "missing-folder", "path": "L/F1 X", "detail": "d"}],
            }
        ),
        encoding="utf-8",
    )
    res = _drift_issue(report, 1, env, "--post")
    assert res.exit_code == 0 and "issue #7 closed" in res.output
    assert state.issues[7]["state"] == "closed" and len(_open(state)) == 1


def test_issue_keys_are_checked() -> None:
    with pytest.raises(ValueError, match="issue key"):
        IssueSpec("Bad Key!", "t", "b")


def test_issues_from_others_or_pull_requests_are_not_taken_over(
    github: tuple[State, dict[str, str]], tmp_path: Path
) -> None:
    state, env = github
    marker = "<!-- hestia-provisioner:issue:drift:pre -->"
    state.issues[1] = {
        "number": 1,
        "title": "t",
        "body": marker,
        "labels": ["hestia-provisioner"],
        "state": "open",
        "user": {"login": "someone"},
    }
    state.issues[2] = {
        "number": 2,
        "title": "t",
        "body": marker,
        "labels": ["hestia-provisioner"],
        "state": "open",
        "user": {"login": BOT},
        "pull_request": {},
    }
    report = tmp_path / "drift.json"
    report.write_text("", encoding="utf-8")
    res = _drift_issue(report, 0, env, "--post")
    assert res.exit_code == 2  # not a report: nothing is closed
    report.write_text(
        json.dumps(
            {
                "environment": "PRE",
                "store": "s",
                "folders_checked": 0,
                "files_checked": 0,
                "drift": [],
            }
        ),
        encoding="utf-8",
    )
    res = _drift_issue(report, 0, env, "--post")
    assert res.exit_code == 0 and "closed" not in res.output
    assert state.issues[1]["state"] == "open" and state.issues[2]["state"] == "open"
    assert state.issues[1]["body"] == marker and state.issues[2]["body"] == marker


def test_empty_repo_copy_has_no_certificates(tmp_path: Path) -> None:
    empty = copy_repo(tmp_path / "empty", with_samples=False)
    res = run(["ci", "certificate-issues", "--now", "2000-01-01", "--repo", str(empty)])
    assert res.exit_code == 0 and "nothing found" in res.output


def test_summaries_are_appended_for_the_job_summary(repo: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    res = run(["validate", "--repo", str(repo), "--format", "github", "--summary", str(summary)])
    assert res.exit_code == 0
    head = git.Repo(repo).head.commit.hexsha
    run(["ci", "review-comment", "--head", head, "--repo", str(repo), "--summary", str(summary)])
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n**")
    assert "file(s) checked" in text and PLAN_MARKER in text
