"""history on real git repositories: who asked, who approved, when it reached PRE and PRO.

The story test builds, with gitpython, the history a pull-request workflow leaves: a setup commit
pushed directly, an integration written by one person on a feature branch and merged with
--no-ff by another (the head of service), applies to PRE, a second pull request that moves it to
PRO, applies to PRE and PRO, and a removal. Then it reads what `history` says about it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git
import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli
from provisioner.diagnostics import Finding
from provisioner.history.git_reader import parse_changes, parse_commits, read_ref
from provisioner.history.timeline import (
    Commit,
    FileChange,
    History,
    IntegrationRef,
    LedgerCommit,
    Provisioning,
    Timeline,
    build_history,
    changes_of,
    index_changes,
    introduced_by,
    ledger_events,
    parse_records,
    render_markdown,
    render_text,
    select_refs,
)
from provisioner.plan.ledger_format import parse_trailers
from tests.conftest import apply_as_ci, commit_as, copy_repo

CASTELLDEFELS = "0805690004"
SOLUCIONS = f"integrations/{CASTELLDEFELS}/solucions-socials-digitals.yaml"
GESTIO = f"integrations/{CASTELLDEFELS}/gestio-municipal-oberta.yaml"
SOLUCIONS_FILES = (
    SOLUCIONS,
    f"integrations/{CASTELLDEFELS}/certs/solucions-socials-digitals.pem",
    f"integrations/{CASTELLDEFELS}/forms/FP265610-formulari-integracio.pdf",
)
PIRINEU = "integrations/8100560009/serveis-informatics-pirineu.yaml"

SETUP = ("Setup Bot", "setup@example.invalid")
AUTHOR = ("Anna Autora", "anna@example.invalid")
APPROVER = ("Bernat Cap", "bernat@example.invalid")

PRE_1 = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
PRE_2 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
PRO_1 = datetime(2027, 2, 3, 12, 30, tzinfo=UTC)
PRE_3 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


# ----------------------------------------------------------------------------- helpers


def history(*args: str) -> Result:
    return CliRunner().invoke(cli, ["history", *args], catch_exceptions=False)


def history_json(repo: Path, *args: str) -> dict[str, Any]:
    res = history("--repo", str(repo), "--format", "json", *args)
    assert res.exit_code == 0, res.output
    data: dict[str, Any] = json.loads(res.output)
    return data


def one(data: dict[str, Any], file: str) -> dict[str, Any]:
    found = [i for i in data["integrations"] if i["file"] == file]
    assert len(found) == 1, [i["file"] for i in data["integrations"]]
    result: dict[str, Any] = found[0]
    return result


def identity_env(who: tuple[str, str], when: str) -> dict[str, str]:
    name, email = who
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
    }


def merge(repo: git.Repo, branch: str, when: str, message: str) -> str:
    """Merge branch into main with --no-ff, as the approver."""
    repo.git.checkout("main")
    repo.git.merge("--no-ff", "-m", message, branch, env=identity_env(APPROVER, when))
    return str(repo.head.commit.hexsha)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def new_repo(dest: Path) -> tuple[Path, git.Repo]:
    """The catalog and the samples, minus Solucions (the story's pull request adds it)."""
    repo_dir = copy_repo(dest)
    (repo_dir / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    repo = git.Repo.init(repo_dir)
    repo.git.checkout("-b", "main")
    return repo_dir, repo


# ----------------------------------------------------------------------------- the story


class Story:
    def __init__(self, root: Path) -> None:
        self.dir, repo = new_repo(root)
        # Solucions's file and documents arrive with the pull request.
        pending = root / "pending"
        pending.mkdir()
        for rel in SOLUCIONS_FILES:
            shutil.move(self.dir / rel, pending / Path(rel).name)
        self.setup = commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples and catalog")

        # Pull request #12: Anna asks for Solucions in PRE; Bernat merges it.
        repo.git.checkout("-b", "fp265610")
        for rel in SOLUCIONS_FILES:
            shutil.move(pending / Path(rel).name, self.dir / rel)
        edit(self.dir / SOLUCIONS, "environment: PRO", "environment: PRE")
        self.request = commit_as(repo, AUTHOR, "2027-01-05T10:15:00+01:00", "FP265610: Solucions")
        self.merge_1 = merge(
            repo, "fp265610", "2027-01-08T17:00:00+01:00", "Merge pull request #12 from anna/fp"
        )
        self.pre_1 = apply_as_ci(self.dir, "PRE", PRE_1, run="1001")

        # Pull request #15: move to PRO, then PRE and PRO applies.
        repo.git.checkout("-b", "fp265610-pro")
        edit(self.dir / SOLUCIONS, "environment: PRE", "environment: PRO")
        self.to_pro = commit_as(repo, AUTHOR, "2027-01-28T11:00:00+01:00", "FP265610: to PRO")
        self.merge_2 = merge(
            repo, "fp265610-pro", "2027-01-30T09:30:00+01:00", "Merge pull request #15 from x"
        )
        self.pre_2 = apply_as_ci(self.dir, "PRE", PRE_2, run="1002")
        self.pro_1 = apply_as_ci(self.dir, "PRO", PRO_1, run="1003")

        # Gestió Municipal Oberta is removed by a direct push, and PRE applied.
        (self.dir / GESTIO).unlink()
        self.removal = commit_as(repo, SETUP, "2027-02-20T10:00:00+01:00", "Remove Gestio")
        self.pre_3 = apply_as_ci(self.dir, "PRE", PRE_3)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return Story(tmp_path_factory.mktemp("story"))


def test_pull_requests_show_author_approver_and_both_environments(story: Story) -> None:
    item = one(history_json(story.dir, SOLUCIONS), SOLUCIONS)
    assert item["fp"] == "265610"
    assert item["key"] == f"{CASTELLDEFELS}/A08123457"
    requested = item["requested"]
    assert [r["commit"] for r in requested] == [story.to_pro, story.request]
    first = requested[-1]
    assert (first["author"], first["author_date"]) == ("Anna Autora", "2027-01-05T10:15:00+01:00")
    assert first["subject"] == "FP265610: Solucions"
    # The YAML file and its documents came in the same commit.
    assert SOLUCIONS in first["paths"]
    assert f"integrations/{CASTELLDEFELS}/certs/solucions-socials-digitals.pem" in first["paths"]
    approval = first["approval"]
    assert approval["kind"] == "merge"
    assert approval["pull_request"] == "12"
    assert approval["merge"]["commit"] == story.merge_1
    assert approval["merge"]["author"] == "Bernat Cap"
    assert approval["merge"]["committer_date"] == "2027-01-08T17:00:00+01:00"
    assert requested[0]["approval"]["merge"]["commit"] == story.merge_2

    pre, pro = item["provisioned"]["PRE"], item["provisioned"]["PRO"]
    assert pre["first"]["ledger_commit"] == story.pre_1
    assert pre["first"]["applied_at"] == "2027-01-11T09:00:00+00:00"
    assert pre["first"]["trailers"]["Source-Commit"] == story.merge_1
    assert pre["first"]["trailers"]["CI-Run"].endswith("/actions/runs/1001")
    # The move to PRO changed the PRE record (its environment); the removal of another
    # integration did not.
    assert pre["last_change"]["ledger_commit"] == story.pre_2
    assert pre["present"] and pre["removed"] is None
    assert pro["first"]["ledger_commit"] == story.pro_1
    assert pro["first"]["applied_at"] == "2027-02-03T12:30:00+00:00"
    assert pro["first"]["trailers"]["CI-Actor"] == "bernat-cap"
    assert pro["last_change"] is None


def test_text_tells_the_story_in_words(story: Story) -> None:
    res = history(str(story.dir / SOLUCIONS), "--repo", str(story.dir))
    assert res.exit_code == 0, res.output
    out = res.output
    assert "FP 265610" in out
    assert "Anna Autora <anna@example.invalid>: FP265610: Solucions" in out
    assert "approved: merged 2027-01-08T17:00:00+01:00 by Bernat Cap" in out
    assert f"{story.merge_1[:12]}: Merge pull request #12 from anna/fp" in out
    pre_1 = f"PRE: first provisioned 2027-01-11T09:00:00+00:00 in ledger commit {story.pre_1[:12]}"
    assert pre_1 in out
    assert "/actions/runs/1001, CI actor bernat-cap, source commit " + story.merge_1 in out
    assert "(with certs/solucions-socials-digitals.pem, forms/FP265610-formulari" in out
    assert "record last changed 2027-02-01T09:00:00+00:00" in out
    assert "PRO: first provisioned 2027-02-03T12:30:00+00:00" in out
    assert "not yet" not in out


def test_direct_push_is_said_plainly(story: Story) -> None:
    item = one(history_json(story.dir, PIRINEU), PIRINEU)
    (only,) = item["requested"]
    assert only["commit"] == story.setup
    assert only["author"] == "Setup Bot"
    assert only["approval"] == {"kind": "direct", "pull_request": None, "merge": None}
    assert item["provisioned"]["PRE"]["first"]["ledger_commit"] == story.pre_1
    assert item["provisioned"]["PRO"]["first"] is None
    text = history("--repo", str(story.dir), PIRINEU).output
    assert "pushed directly to the main line, so git records no approval" in text
    assert "PRO: not yet in PRO" in text
    assert "the file asks for PRE" in text


def test_removed_integration_is_found_from_the_ledger(story: Story) -> None:
    data = history_json(story.dir)  # all: the deleted file is listed from the ledger
    item = one(data, GESTIO)
    assert item["in_checkout"] is False
    assert item["fp"] == "265702"
    pre = item["provisioned"]["PRE"]
    assert pre["first"]["ledger_commit"] == story.pre_1
    assert pre["removed"]["ledger_commit"] == story.pre_3
    assert not pre["present"]
    assert [e["event"] for e in pre["events"]] == ["added", "removed"]
    # Its history still shows who added it and who removed it.
    assert [r["commit"] for r in item["requested"]] == [story.removal, story.setup]
    text = history("--repo", str(story.dir), GESTIO)
    assert text.exit_code == 0
    assert "removed 2027-03-01T08:00:00+00:00" in text.output
    assert "no longer in the checkout" in text.output


def test_entity_filter_and_markdown(story: Story) -> None:
    data = history_json(story.dir, "--ine10", CASTELLDEFELS)
    assert sorted(i["file"] for i in data["integrations"]) == [GESTIO, SOLUCIONS]
    res = history("--repo", str(story.dir), "--ine10", CASTELLDEFELS, "--format", "markdown")
    assert res.exit_code == 0
    assert f"#### `{SOLUCIONS}`" in res.output
    # Names and e-mails are escaped: no HTML tag, no @mention.
    assert (
        "| approved | 2027-01-08T17:00:00+01:00 | Bernat Cap \\<bernat\\@&#8203;example.invalid\\> |"
        in res.output
    )
    assert "| provisioned PRO | 2027-02-03T12:30:00+00:00 | bernat-cap |" in res.output
    assert "| approved | | | | no merge commit: pushed directly |" in res.output


def test_whole_repository_lists_every_integration(story: Story) -> None:
    data = history_json(story.dir)
    assert [i["file"] for i in data["integrations"]] == sorted([GESTIO, SOLUCIONS, PIRINEU])
    assert data["head"] == story.removal
    assert data["warnings"] == []


# ----------------------------------------------------------------------------- other histories


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, git.Repo]:
    return new_repo(tmp_path / "repo")


def test_committed_but_never_applied(fresh: tuple[Path, git.Repo]) -> None:
    repo_dir, repo = fresh
    commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    res = history("--repo", str(repo_dir), PIRINEU)
    assert res.exit_code == 0
    assert "PRE: not yet in PRE" in res.output
    assert "PRO: not yet in PRO" in res.output


def test_uncommitted_repository(fresh: tuple[Path, git.Repo]) -> None:
    repo_dir, _repo = fresh
    res = history("--repo", str(repo_dir), "--format", "markdown", PIRINEU)
    assert res.exit_code == 0
    assert "| requested | | | | no commit changed this file |" in res.output
    assert "not yet in PRE" in res.output
    text = history("--repo", str(repo_dir), PIRINEU).output
    assert "requested: no commit on the checked-out branch changed this file" in text


def test_renamed_file_keeps_its_history(fresh: tuple[Path, git.Repo]) -> None:
    repo_dir, repo = fresh
    first = commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    renamed = "integrations/8100560009/pirineu.yaml"
    repo.git.mv(PIRINEU, renamed)
    second = commit_as(repo, AUTHOR, "2027-01-05T08:00:00+01:00", "Shorter name")
    item = one(history_json(repo_dir, renamed), renamed)
    assert [r["commit"] for r in item["requested"]] == [second, first]
    assert item["requested"][1]["file_as"] == PIRINEU
    text = history("--repo", str(repo_dir), renamed).output
    assert "Shorter name\n" in text
    assert f"(as {PIRINEU}; with certs/serveis-informatics-pirineu.pem" in text


def test_unreadable_file_is_matched_by_its_ledger_record(fresh: tuple[Path, git.Repo]) -> None:
    repo_dir, repo = fresh
    commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    pre = apply_as_ci(repo_dir, "PRE", PRE_1)
    (repo_dir / PIRINEU).write_text("fp: [unclosed\n", encoding="utf-8")
    item = one(history_json(repo_dir, PIRINEU), PIRINEU)
    assert "YAML syntax error" in item["problem"]
    assert item["provisioned"]["PRE"]["first"]["ledger_commit"] == pre
    text = history("--repo", str(repo_dir), PIRINEU).output
    assert "the file cannot be read" in text


def test_deleted_file_never_applied_is_found_in_git(fresh: tuple[Path, git.Repo]) -> None:
    repo_dir, repo = fresh
    added = commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    (repo_dir / PIRINEU).unlink()
    removed = commit_as(repo, SETUP, "2027-01-05T08:00:00+01:00", "Drop it")
    item = one(history_json(repo_dir, PIRINEU), PIRINEU)
    assert [r["commit"] for r in item["requested"]] == [removed, added]
    assert item["key"] is None


# ----------------------------------------------------------------------------- usage errors


def test_usage_errors_exit_2(fresh: tuple[Path, git.Repo], tmp_path: Path) -> None:
    repo_dir, repo = fresh
    commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    cases: list[Sequence[str]] = [
        ["--repo", str(repo_dir), "integrations/nowhere.yaml"],
        ["--repo", str(repo_dir), "--ine10", "12345"],
        ["--repo", str(repo_dir), "--ine10", "0801930008"],
        ["--repo", str(repo_dir), "--ine10", CASTELLDEFELS, PIRINEU],
        ["--repo", str(repo_dir), str(tmp_path / "elsewhere.yaml")],
        ["--format", "pdf"],
    ]
    for args in cases:
        res = history(*args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output
    no_git = copy_repo(tmp_path / "plain")
    res = history("--repo", str(no_git))
    assert res.exit_code == 2
    assert "is not a git repository" in res.output


def test_file_argument_finds_the_repository(
    fresh: tuple[Path, git.Repo], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo_dir, repo = fresh
    commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    res = history(str(repo_dir / PIRINEU))
    assert res.exit_code == 0, res.output
    assert res.output.startswith(PIRINEU)
    monkeypatch.chdir(repo_dir / "integrations")
    res = history("8100560009/serveis-informatics-pirineu.yaml")
    assert res.exit_code == 0, res.output
    assert res.output.startswith(PIRINEU)
    monkeypatch.chdir(repo_dir)
    assert history().exit_code == 0


# ----------------------------------------------------------------------------- the pure core


def _commit(sha: str, *parents: str, subject: str = "s") -> Commit:
    date = "2027-01-01T00:00:00+00:00"
    return Commit(sha, parents, "A", "a@x", date, "C", "c@x", date, subject)


def test_introduced_by_follows_the_first_parent_line() -> None:
    # main: a - m1 - m2 ; feature b1-b2 merged by m1 ; nested: c merged into b2's branch
    commits = {
        c.sha: c
        for c in [
            _commit("a"),
            _commit("b1", "a"),
            _commit("c", "a"),
            _commit("b2", "b1", "c"),
            _commit("m1", "a", "b2"),
            _commit("d", "m1"),
            _commit("m2", "m1", "d"),
        ]
    }
    brought = introduced_by(commits, "m2")
    assert brought == {
        "a": "a",
        "m1": "m1",
        "b1": "m1",
        "b2": "m1",
        "c": "m1",
        "m2": "m2",
        "d": "m2",
    }
    assert introduced_by(commits, None) == {}


def test_ledger_events_and_unreadable_records() -> None:
    def lc(sha: str, records: dict[str, Any] | None) -> LedgerCommit:
        return LedgerCommit(sha, "2027-01-01T00:00:00+00:00", {}, records)

    ledger = [
        lc("1", {"k": {"v": 1}}),
        lc("2", None),
        lc("3", {"k": {"v": 2}}),
        lc("4", {}),
        lc("5", {"k": {"v": 2}}),
    ]
    events, warnings = ledger_events(ledger)
    assert [(e.kind, e.commit.sha) for e in events["k"]] == [
        ("added", "1"),
        ("changed", "3"),
        ("removed", "4"),
        ("added again", "5"),
    ]
    assert warnings and "unreadable" in warnings[0].message
    assert warnings[0].code == "LEDGER-RECORDS-UNREADABLE"
    p = Provisioning("PRE", tuple(events["k"]))
    assert p.removed is None
    assert p.last_change is not None and p.last_change.commit.sha == "5"
    history = build_history(
        [IntegrationRef("f.yaml", key="k")],
        {},
        None,
        [],
        {"PRE": ledger},
        [Finding("warning", "NOTE", "note")],
    )
    text = render_text(history)
    assert "warning: note" in text and "warning: provisioned/PRE:" in text
    assert "> warning: note" in render_markdown(history)
    # Applied-At missing: the commit date stands in.
    assert "first provisioned 2027-01-01T00:00:00+00:00" in text
    assert "CI run not recorded" in text


def test_parsers_are_defensive() -> None:
    assert parse_trailers("Provision PRE: x\n\ndetails\n\nSource-Commit: abc\nOther: y\n") == {
        "Source-Commit": "abc"
    }
    assert parse_trailers("") == {}
    assert parse_commits("junk\n") == {}
    assert parse_records(b"not json") is None
    assert parse_records(b"[1]") is None
    assert parse_records(b'{"k": 1}') is None
    assert parse_records(b'{"k": {}}') == {"k": {}}
    a, b = "a" * 40, "b" * 40
    log = parse_changes(
        f"\0{a}\0\nR100\0integrations/old.yaml\0integrations/new.yaml\0"
        "C090\0integrations/a.yaml\0integrations/b.yaml\0M\0integrations/tab\there\nà.yaml\0"
        f"garbage\0\0{b}\0\nD\0integrations/x\x1e\x1f.yaml"
    )
    assert log == [
        (
            a,
            [
                FileChange("R", "integrations/new.yaml", "integrations/old.yaml"),
                FileChange("C", "integrations/b.yaml"),
                FileChange("M", "integrations/tab\there\nà.yaml"),
            ],
        ),
        (b, [FileChange("D", "integrations/x\x1e\x1f.yaml")]),
    ]
    # Separator characters in names cannot shift the fields: only NUL separates them.
    fields = [a, b, "Ann\x1fe", "a@x\x1e", "2027-01-01", "C", "c@x", "2027-01-02", "s\x1e\x1fj"]
    commits = parse_commits("\0".join(fields))
    assert commits[a].author == "Ann\x1fe" and commits[a].subject == "s\x1e\x1fj"
    assert commits[a].parents == (b,)


def test_read_ref_is_lenient(tmp_path: Path) -> None:
    folder = tmp_path / "integrations" / "x"
    folder.mkdir(parents=True)
    path = folder / "p.yaml"
    path.write_text(
        'fp: 12\nentity: "no mapping"\nprovider: {nif: B1}\ncda: ../../../out.pem\nform: f.pdf\n',
        encoding="utf-8",
    )
    ref = read_ref(path, "integrations/x/p.yaml")
    assert ref.fp == "12"
    assert ref.key is None and ref.problem is not None
    assert ref.documents == ("integrations/x/f.pdf",)
    path.write_text("- a list\n", encoding="utf-8")
    assert read_ref(path, "p.yaml").problem == "it does not hold a mapping"
    assert read_ref(tmp_path / "missing.yaml", "missing.yaml").problem is not None
    path.write_text("fp: '1'\ncda: /abs.pem\nform: ''\n", encoding="utf-8")
    assert read_ref(path, "integrations/x/p.yaml").documents == ()


def test_select_refs_prefers_the_checkout() -> None:
    ledger = [
        LedgerCommit("1", "d", {}, {"k": {"file": "a.yaml", "ine10": "1"}, "j": {"ine10": "2"}})
    ]
    refs = select_refs([IntegrationRef("a.yaml", key="other")], {"PRE": ledger}, file="a.yaml")
    assert refs == [IntegrationRef("a.yaml", key="other")]
    every = select_refs([], {"PRE": ledger})
    assert [r.file for r in every] == ["(no file) j", "a.yaml"]
    assert select_refs([], {"PRE": ledger}, file="zzz.yaml") == []


def test_changes_of_ignores_other_paths() -> None:
    log: list[tuple[str, Sequence[FileChange]]] = [
        ("2", [FileChange("M", "b.yaml")]),
        ("1", [FileChange("A", "a.yaml"), FileChange("A", "a.pem")]),
    ]
    ref = IntegrationRef("a.yaml", documents=("a.pem",))
    assert changes_of(ref, log, index_changes(log)) == [("1", ("a.pem", "a.yaml"), "a.yaml")]
    empty = History((Timeline(ref, (), ()),), None)
    assert "no commit on the checked-out branch" in render_text(empty)
    assert render_text(History((), None)) == "no integrations"
    assert render_markdown(History((), None)) == "no integrations"


def test_changes_of_follows_a_rename_only_into_the_past() -> None:
    # old.yaml was renamed to new.yaml in "2"; a different old.yaml appeared later in "3".
    log: list[tuple[str, Sequence[FileChange]]] = [
        ("3", [FileChange("A", "old.yaml")]),
        ("2", [FileChange("R", "new.yaml", "old.yaml")]),
        ("1", [FileChange("A", "old.yaml"), FileChange("A", "doc.pem")]),
    ]
    ref = IntegrationRef("new.yaml", documents=("new.yaml",))
    assert changes_of(ref, log, index_changes(log)) == [
        ("2", ("new.yaml",), "new.yaml"),
        ("1", ("old.yaml",), "old.yaml"),
    ]
    only_doc = IntegrationRef("new.yaml", documents=("doc.pem", "doc.pem"))
    log[2] = ("1", [FileChange("A", "doc.pem")])
    log.insert(0, ("4", [FileChange("M", "new.yaml")]))
    history = build_history(
        [only_doc],
        {"1": _commit("1"), "2": _commit("2", "1"), "4": _commit("4", "2")},
        "4",
        log,
        {},
    )
    text = render_text(history)
    assert "(documents only: doc.pem)" in text


def test_broken_ledger_branch_exits_2(fresh: tuple[Path, git.Repo]) -> None:
    repo_dir, repo = fresh
    commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    ref = repo_dir / ".git" / "refs" / "heads" / "provisioned" / "PRE"
    ref.parent.mkdir(parents=True)
    ref.write_text("1" * 40 + "\n", encoding="ascii")
    res = history("--repo", str(repo_dir))
    assert res.exit_code == 2
    assert "missing object" in res.output and "provisioned/PRE" in res.output


def test_hand_edited_ledger_is_reported_not_fatal(fresh: tuple[Path, git.Repo]) -> None:
    from provisioner.apply.ledger import record

    repo_dir, repo = fresh
    commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    pre = apply_as_ci(repo_dir, "PRE", PRE_1)
    bad = record(repo, "PRE", pre, {"integrations.json": b"not json"}, "Hand edit\n", PRE_2)
    gone = record(repo, "PRE", bad, {"app-PRE.json": b"{}"}, "Hand edit 2\n", PRO_1)
    data = history_json(repo_dir, PIRINEU)
    assert data["warnings"] == [
        f"provisioned/PRE: ledger commit {bad[:12]} has an unreadable integrations.json; "
        "its records were skipped"
    ]
    pre_env = one(data, PIRINEU)["provisioned"]["PRE"]
    assert pre_env["first"]["ledger_commit"] == pre
    assert pre_env["removed"]["ledger_commit"] == gone
    assert pre_env["removed"]["applied_at"] == "2027-02-03T12:30:00+00:00"  # the commit date


def test_no_bad_file_makes_history_fail(tmp_path: Path) -> None:
    from tests.cli import test_no_traceback as hostile

    repo_dir, repo = new_repo(tmp_path / "repo")
    commit_as(repo, SETUP, "2027-01-04T08:00:00+01:00", "Samples")
    target = repo_dir / PIRINEU
    contents = [f.read_bytes() for f in hostile.FIXTURES] + list(hostile.HOSTILE.values())
    for content in contents:
        target.write_bytes(content)
        for args in (["--repo", str(repo_dir)], ["--repo", str(repo_dir), str(target)]):
            res = CliRunner().invoke(cli, ["history", *args], catch_exceptions=True)
            assert res.exit_code == 0, (content[:60], res.output)
            assert res.exception is None or isinstance(res.exception, SystemExit)
            assert res.output.count(PIRINEU) >= 1


# ----------------------------------------------------------------------------- controls


def test_each_ledger_event_says_what_access_changed(story: Story) -> None:
    item = one(history_json(story.dir, GESTIO), GESTIO)
    events = item["provisioned"]["PRE"]["events"]
    assert events[0]["event"] == "added"
    assert "+ IP 198.51.100.40/32" in events[0]["access"]
    assert any(a.startswith("+ modality HESTIA_CITES") for a in events[0]["access"])
    assert events[-1]["event"] == "removed"
    assert "- IP 198.51.100.40/32" in events[-1]["access"]
    text = history("--repo", str(story.dir), str(story.dir / GESTIO)).output
    assert f"removed 2027-03-01T08:00:00+00:00 ({story.pre_3[:12]}): - IP" in text


def test_controls_list_the_exceptions_an_auditor_looks_for(story: Story) -> None:
    res = history("--repo", str(story.dir), "--controls", "--format", "json")
    assert res.exit_code == 1
    found = json.loads(res.output)["exceptions"]
    kinds = {(e["kind"], e["commit"]) for e in found}
    assert ("direct-push", story.removal) in kinds  # Gestió removed without a pull request
    assert ("ledger-not-ci", story.pre_3) in kinds  # applied outside CI
    assert ("catalog-change", story.setup) in kinds
    assert ("direct-push", story.setup) not in kinds  # the first commit has nothing to merge into
    assert not any(k == "pro-without-pre" for k, _ in kinds)
    assert all(c not in {story.pre_1, story.pre_2, story.pro_1} for _k, c in kinds)
    text = history("--repo", str(story.dir), "--controls").output
    assert text.rstrip().endswith(f"{len(found)} exception(s)")
    markdown = history("--repo", str(story.dir), "--controls", "--format", "markdown").output
    assert "| direct-push |" in markdown
    assert history("--repo", str(story.dir), "--controls", str(story.dir / GESTIO)).exit_code == 2


def test_pro_without_pre_is_an_exception() -> None:
    from provisioner.history.timeline import control_exceptions

    def ledger(sha: str, when: str, ips: list[str]) -> LedgerCommit:
        record = {"certificate": "c", "ips": ips, "modalities": ["M"]}
        trailers = {"Applied-At": when, "CI-Run": "https://ci/1"}
        return LedgerCommit(sha, when, trailers, {"k": record}, author="bot")

    pre = [ledger("a" * 40, "2027-01-01T00:00:00+00:00", ["192.0.2.1/32"])]
    pro = [ledger("b" * 40, "2027-01-02T00:00:00+00:00", ["192.0.2.9/32"])]
    found = control_exceptions({}, None, [], {"PRE": pre, "PRO": pro}, "bot")
    assert [(e.kind, e.commit) for e in found] == [("pro-without-pre", "b" * 40)]
    assert "ips" in found[0].what
    later_pre = [*pre, ledger("c" * 40, "2027-01-03T00:00:00+00:00", ["192.0.2.9/32"])]
    found = control_exceptions({}, None, [], {"PRE": later_pre, "PRO": pro}, "bot")
    assert [e.kind for e in found] == ["pro-without-pre"]  # PRE got it only afterwards
    pro_ok = [ledger("d" * 40, "2027-01-04T00:00:00+00:00", ["192.0.2.9/32"])]
    assert control_exceptions({}, None, [], {"PRE": later_pre, "PRO": pro_ok}, "bot") == []
