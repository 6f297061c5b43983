"""The ledger is read with a few git processes of its own: what they read is still checked.

Each test damages or forges git objects the way an attacker or a broken disk would, on a real
repository, and checks that plan refuses in one line naming the commit (exit 2); the last ones
check the fast paths of the plan and of the shape check against their slow definitions.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import git
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.apply import pipeline as applying
from provisioner.apply.ledger import (
    BOT_EMAIL,
    BOT_NAME,
    LedgerError,
    LedgerReader,
    _cat_objects,
    record,
)
from provisioner.plan.ledger_format import (
    _CERTIFICATE,
    _RECORD,
    _RECORD_OPTIONAL,
    _fields_ok,
    _fields_problem,
)
from tests.apply.test_ledger_trust import NOW, ledger_message, one_line_error, plan, tip
from tests.apply.test_plan_apply import CASTELLDEFELS, apply_cli, commit_all
from tests.conftest import without_form_fields


@pytest.fixture
def repo(sample_repo: Path) -> Path:
    (sample_repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    without_form_fields(sample_repo)
    git.Repo.init(sample_repo)
    commit_all(sample_repo, "samples")
    return sample_repo


def git_out(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, input=stdin, capture_output=True, check=True
    ).stdout.decode()


def loose_object(repo: Path, sha: str) -> Path:
    return repo / ".git" / "objects" / sha[:2] / sha[2:]


def commit_tree(repo: Path, tree: str, parent: str) -> str:
    """A commit as the tool writes them (its identity, its trailers) holding tree."""
    head = git_out(repo, "rev-parse", "HEAD").strip()
    return subprocess.run(
        ["git", "commit-tree", tree, "-p", parent, "-F", "-"],
        cwd=repo,
        input=ledger_message(head),
        text=True,
        capture_output=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": BOT_NAME,
            "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": BOT_NAME,
            "GIT_COMMITTER_EMAIL": BOT_EMAIL,
            "PATH": "/usr/bin:/bin",
        },
    ).stdout.strip()


def test_a_tree_naming_a_file_twice_is_refused(repo: Path) -> None:
    """git itself never writes such a tree; a forger can, and then which file counts?"""
    apply_cli(repo, "PRE")
    listing = git_out(repo, "ls-tree", "provisioned/PRE")
    entries = [line.split("\t") for line in listing.splitlines()]
    raw = b""
    for meta, name in [*entries, entries[0]]:  # app-PRE.json twice
        mode, _kind, sha = meta.split()
        raw += mode.encode() + b" " + name.encode() + b"\0" + bytes.fromhex(sha)
    tree = git_out(repo, "hash-object", "-t", "tree", "--literally", "-w", "--stdin", stdin=raw)
    forged = commit_tree(repo, tree.strip(), tip(repo))
    git.Repo(repo).git.branch("-f", "provisioned/PRE", forged)
    res = plan(repo)
    assert res.exit_code == 2
    line = one_line_error(res.output)
    assert f"commit {forged[:12]}" in line and "holds other files than" in line


def test_a_tree_that_is_no_tree_is_refused(repo: Path) -> None:
    apply_cli(repo, "PRE")
    tree = git_out(repo, "hash-object", "-t", "tree", "--literally", "-w", "--stdin", stdin=b"x")
    forged = commit_tree(repo, tree.strip(), tip(repo))
    git.Repo(repo).git.branch("-f", "provisioned/PRE", forged)
    res = plan(repo)
    assert res.exit_code == 2
    assert f"commit {forged[:12]} has a tree git cannot read" in one_line_error(res.output)


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_a_tree_git_cannot_read_is_refused(repo: Path, damage: str) -> None:
    apply_cli(repo, "PRE")
    tree = git_out(repo, "rev-parse", "provisioned/PRE^{tree}").strip()
    path = loose_object(repo, tree)
    path.chmod(0o644)
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"not a zlib stream")
    res = plan(repo)
    assert res.exit_code == 2
    line = one_line_error(res.output)
    assert tip(repo)[:12] in line and "has a tree git cannot read" in line


def test_a_ledger_file_git_cannot_read_is_one_line(repo: Path) -> None:
    apply_cli(repo, "PRE")
    blob = git_out(repo, "rev-parse", "provisioned/PRE:integrations.json").strip()
    loose_object(repo, blob).unlink()
    res = plan(repo)
    assert res.exit_code == 2
    line = one_line_error(res.output)
    assert tip(repo)[:12] in line and "integrations.json" in line


def test_a_folder_inside_a_checkout_is_not_a_repository_of_its_own(
    sample_repo: Path, tmp_path: Path
) -> None:
    """As before: the ledger is the branches of the repository the catalog is at the top of."""
    outer = tmp_path / "outer"
    outer.mkdir()
    git.Repo.init(outer)
    inner = outer / "hestia"
    sample_repo.rename(inner)
    commit_all(outer, "everything one level down")
    res = plan(inner, "PRE", "--init")
    assert res.exit_code == 2
    assert "is not a git repository" in one_line_error(res.output)


def test_a_missing_folder_is_not_a_repository(tmp_path: Path) -> None:
    with (
        LedgerReader(tmp_path / "nowhere") as reader,
        pytest.raises(LedgerError, match="is not a git repository"),
    ):
        reader.checkout()


def test_objects_git_does_not_have_are_none(repo: Path) -> None:
    head = git_out(repo, "rev-parse", "HEAD").strip()
    found = _cat_objects(git.Repo(repo), [head, "0" * 40, head])
    assert found[1] is None
    assert found[0] is not None and found[0][:2] == (head, "commit") and found[0] == found[2]


def test_earlier_states_sharing_a_configuration_are_read_once(repo: Path) -> None:
    """Several applies that left the APP configuration as it was: one file, one parse."""
    apply_cli(repo, "PRE")
    files = {
        name: git_out(repo, "cat-file", "blob", f"provisioned/PRE:{name}").encode()
        for name in ("app-PRE.json", "integrations.json", "sharepoint-manifest.json")
    }
    head = git_out(repo, "rev-parse", "HEAD").strip()
    for _ in range(2):
        record(git.Repo(repo), "PRE", tip(repo), files, ledger_message(head), NOW)
    with LedgerReader(repo) as reader:
        chain = reader.chain("PRE")
        assert chain is not None and len(chain) == 3
        configs = reader.app_configs("PRE", [c.sha for c in chain])
    assert configs[0] is configs[1] is configs[2]
    assert configs[0] == json.loads(files["app-PRE.json"])


def test_only_the_entity_whose_documents_are_missing_is_planned(repo: Path) -> None:
    """The same configuration and records as the ledger, one folder gone from its manifest."""
    apply_cli(repo, "PRE")
    prepared = applying.prepare(repo, "PRE", now=NOW)
    assert prepared.plan is not None and not prepared.plan.has_changes
    files = dict(prepared.plan.ledger_files)
    manifest = json.loads(files["sharepoint-manifest.json"])
    gone = next(f for f in manifest["folders"] if "Castelldefels" in f)
    del manifest["folders"][gone]
    files["sharepoint-manifest.json"] = json.dumps(manifest).encode()
    head = git_out(repo, "rev-parse", "HEAD").strip()
    record(git.Repo(repo), "PRE", tip(repo), files, ledger_message(head), NOW)
    the_plan = applying.prepare(repo, "PRE", now=NOW).plan
    assert the_plan is not None and the_plan.has_changes
    assert [(e.ine10, e.kind) for e in the_plan.entities] == [(CASTELLDEFELS, "integrated")]
    change = the_plan.entities[0]
    assert change.folders_to_create == [gone]
    assert len(change.files_to_create) == 2
    assert not (change.providers_added or change.certificates_added or change.ips_added)


# ----------------------------------------------------------------------------- the shape check

_VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=3),
    st.lists(st.one_of(st.text(max_size=2), st.integers()), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


def _entries(shape: dict[str, str]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from([*shape, "other"])
    return st.one_of(
        _VALUES,
        st.dictionaries(keys, _VALUES, max_size=len(shape) + 1),
        # Mostly right, one field perhaps wrong: the fast check must see the same field.
        st.fixed_dictionaries(
            {
                k: st.text(max_size=2) if kind == "text" else st.lists(st.text(max_size=2))
                for k, kind in shape.items()
            }
        ).flatmap(
            lambda good: st.tuples(st.sampled_from([*good, "other"]), _VALUES).map(
                lambda change: {**good, change[0]: change[1]}
            )
        ),
    )


@settings(deadline=None)
@given(_entries({**_RECORD, **_RECORD_OPTIONAL}))
def test_the_fast_record_check_agrees_with_the_named_one(value: Any) -> None:
    fast = _fields_ok(value, _RECORD, _RECORD_OPTIONAL)
    assert fast == (_fields_problem(value, _RECORD, "record k", _RECORD_OPTIONAL) is None)


@settings(deadline=None)
@given(_entries(_CERTIFICATE))
def test_the_fast_certificate_check_agrees_with_the_named_one(value: Any) -> None:
    assert _fields_ok(value, _CERTIFICATE, {}) == (
        _fields_problem(value, _CERTIFICATE, "certificate") is None
    )


def test_plan_and_apply_leave_the_cyclic_collector_as_they_found_it(repo: Path) -> None:
    """They freeze what they made while they render; the tests' own process gets it back."""
    import gc

    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert apply_cli(repo, "PRE")[0].exit_code == 0
    assert plan(repo).exit_code == 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        assert plan(repo).exit_code == 0
        assert not gc.isenabled() and gc.get_freeze_count() == 0  # nothing frozen, still off
    finally:
        gc.enable()


def _trailers_by_paragraphs(message: str) -> dict[str, str]:
    """The definition: the trailers of the last paragraph that is not blank."""
    from provisioner.plan.ledger_format import TRAILERS

    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    out: dict[str, str] = {}
    for line in paragraphs[-1].splitlines() if paragraphs else []:
        name, sep, value = line.partition(": ")
        if sep and name in TRAILERS and name not in out:
            out[name] = value.strip()
    return out


_PIECES = st.sampled_from(
    ["\n", "\n\n", "\n\n\n", " ", "\r\n", "x", "Source-Commit: abc", "Environment: PRE", ": "]
)


@settings(deadline=None, max_examples=400)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map("".join))
def test_trailers_are_read_from_the_last_paragraph(message: str) -> None:
    from provisioner.plan.ledger_format import parse_trailers

    assert parse_trailers(message) == _trailers_by_paragraphs(message)
