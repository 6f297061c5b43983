"""Which caches a run may trust: in CI never one found in the checkout (a pull request can
commit one past .gitignore), only the folder HESTIA_PROVISIONER_CACHE_DIR names; and never
entries written by other code than the running tool."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli
from provisioner.documents.form import FormVerdict
from provisioner.runtime import caches
from provisioner.runtime.caches import FileCache, IssuerMarkFiles
from provisioner.runtime.settings import CACHE_DIR_ENV, DEFAULT_CACHE_DIR, Settings

FORM = "integrations/8100560009/forms/FP265594-formulari-integracio.pdf"
BROKEN = "FORM-SIGNATURE-BROKEN"


@pytest.fixture(autouse=True)
def _verdicts_in_the_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """As outside the tests: the form verdicts beside the other caches."""
    monkeypatch.setattr(caches, "FORMS_CACHE", Path("form-verdicts.jsonl"))


def validate(repo: Path, env: dict[str, str] | None = None) -> tuple[Result, set[str]]:
    res = CliRunner().invoke(
        cli, ["validate", "--repo", str(repo), "--format", "json"], env=env or {}
    )
    assert res.exit_code in (0, 1), res.output
    return res, {d["code"] for d in json.loads(res.output)["diagnostics"]}


def _without(value: Any, code: str) -> Any:
    """value with every finding of code (a list naming it) taken out, wherever it is."""
    if isinstance(value, dict):
        return {k: _without(v, code) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, code) for v in value if not (isinstance(v, list) and code in v)]
    return value


def forge(cache: Path) -> None:
    """What a pull request could commit: every form verdict without findings, and validation
    results without the broken signature (hashes made again, as anyone can)."""
    log = cache / "form-verdicts.jsonl"
    lines = []
    for line in log.read_bytes().splitlines():
        item = json.loads(line)
        if "verdict" in item:
            item["verdict"]["findings"] = []
        lines.append(json.dumps(item, separators=(",", ":")))
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = cache / "validation.json"
    head, _, body = results.read_bytes().partition(b"\n")
    header = json.loads(head)
    parts, listed = [], []
    for name, length, _sha in header["parts"]:
        part, body = body[:length], body[length:]
        try:  # a part is one JSON value, or JSON lines
            data = json.dumps(_without(json.loads(part), BROKEN), separators=(",", ":")).encode()
        except ValueError:
            data = b"\n".join(
                json.dumps(_without(json.loads(line), BROKEN), separators=(",", ":")).encode()
                if line.strip()
                else line
                for line in part.split(b"\n")
            )
        parts.append(data)
        listed.append([name, len(data), hashlib.sha256(data).hexdigest()])
    header["parts"] = listed
    results.write_bytes(json.dumps(header).encode() + b"\n" + b"".join(parts))


def tamper(repo: Path) -> None:
    form = repo / FORM
    data = form.read_bytes()
    form.write_bytes(data.replace(b"B65432106", b"B65432107", 1))


@pytest.mark.parametrize("ci", [{"GITHUB_ACTIONS": "true"}, {"CI": "true"}])
def test_ci_never_trusts_a_cache_committed_in_the_checkout(
    sample_repo: Path, ci: dict[str, str]
) -> None:
    tamper(sample_repo)
    assert BROKEN in validate(sample_repo)[1]  # on a laptop: the cache is written
    forge(sample_repo / DEFAULT_CACHE_DIR)
    assert BROKEN not in validate(sample_repo)[1]  # the forgery would fool a trusting run
    committed = {p: p.read_bytes() for p in (sample_repo / DEFAULT_CACHE_DIR).iterdir()}
    assert BROKEN in validate(sample_repo, ci)[1]
    assert BROKEN in validate(sample_repo, {**ci, CACHE_DIR_ENV: str(sample_repo / ".x")})[1]
    assert {p: p.read_bytes() for p in (sample_repo / DEFAULT_CACHE_DIR).iterdir()} == committed
    assert not (sample_repo / ".x").exists()  # a folder in the checkout is not used in CI


def test_caches_live_in_the_named_folder_only(sample_repo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "runner-temp" / "cache"
    env = {"GITHUB_ACTIONS": "true", CACHE_DIR_ENV: str(folder)}
    cold = validate(sample_repo, env)
    assert not (sample_repo / ".provisioner").exists()
    names = {
        "validation.json",
        "catalog.json",
        "form-verdicts.jsonl",
        "cda-issuers.txt",
        "cda-verdicts.jsonl",
    }
    assert {p.name for p in folder.iterdir()} == names
    kept = {p: p.read_bytes() for p in folder.iterdir()}
    warm = validate(sample_repo, env)
    assert warm[0].output == cold[0].output
    assert {p: p.read_bytes() for p in folder.iterdir()} == kept  # all read, nothing added
    # Not in CI, the setting is honoured too (a relative path from the current folder).
    laptop = validate(sample_repo, {CACHE_DIR_ENV: str(tmp_path / "mine")})
    assert laptop[0].output == cold[0].output and (tmp_path / "mine" / "validation.json").exists()
    assert not (sample_repo / ".provisioner").exists()


def test_the_cache_folder_a_run_uses(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    assert Settings.read({}).cache_folder(repo) == repo / DEFAULT_CACHE_DIR
    assert Settings.read({"GITHUB_ACTIONS": "true"}).cache_folder(repo) is None
    assert Settings.read({"CI": "true"}).cache_folder(repo) is None
    named = {CACHE_DIR_ENV: str(tmp_path / "c")}
    assert Settings.read({**named, "CI": "true"}).cache_folder(repo) == tmp_path / "c"
    off = {**named, "HESTIA_PROVISIONER_NO_CACHE": "1"}
    assert Settings.read(off).cache_folder(repo) is None
    inside = {CACHE_DIR_ENV: str(repo / "c")}
    assert Settings.read(inside).cache_folder(repo) == repo / "c"
    assert Settings.read({**inside, "GITHUB_ACTIONS": "true"}).cache_folder(repo) is None


A, B = "a" * 64, "b" * 64


def test_verdicts_of_another_tool_are_not_reused(tmp_path: Path) -> None:
    log = tmp_path / "form-verdicts.jsonl"
    mine, theirs = FormVerdict((), checked_at=1.0), FormVerdict((), checked_at=2.0)
    FileCache(log, A).put("k", mine)
    assert FileCache(log, A).get("k", 0.0) == mine
    assert FileCache(log, B).get("k", 0.0) is None
    assert b'"key"' not in log.read_bytes()  # another identity's log: written back without it
    assert FileCache(log, A).get("k", 0.0) is None
    # Two tools appending to one log at the same time: each reads only its own lines.
    first, second = FileCache(log, A), FileCache(log, B)
    first.get("x", 0.0), second.get("x", 0.0)
    first.put_many([("k", mine)])
    second.put_many([("k", theirs)])
    first.put_many([("j", mine)])
    both = log.read_bytes()
    assert FileCache(log, B).get("k", 0.0) == theirs and FileCache(log, B).get("j", 0.0) is None
    log.write_bytes(both)
    assert FileCache(log, A).get("k", 0.0) == mine and FileCache(log, A).get("j", 0.0) == mine
    assert FileCache(log, B).get("k", 0.0) is None  # A's read kept A's lines alone
    # An entry before any header (a log of an older format) is not ours either.
    log.write_text(json.dumps({"key": "k", "verdict": {}}) + "\n", encoding="utf-8")
    assert FileCache(log, A).get("k", 0.0) is None and log.read_bytes() == b""


def test_issuer_marks_of_another_tool_are_not_reused(tmp_path: Path) -> None:
    path = tmp_path / "cda-issuers.txt"
    mark = "c" * 64
    for _ in range(2):
        marks = IssuerMarkFiles(path, A)
        marks.remember(mark)
        marks.save()
    assert path.read_text(encoding="ascii").count(mark) == 1  # known: not written twice
    unsaved = IssuerMarkFiles(path, A)
    unsaved.remember("d" * 64)  # held back until saved
    assert not IssuerMarkFiles(path, A).known("d" * 64)
    assert IssuerMarkFiles(path, A).known(mark)
    assert not IssuerMarkFiles(path, B).known(mark)
    assert mark not in path.read_text(encoding="ascii")
    path.write_text(mark + "\n", encoding="ascii")  # an older format: no header
    assert not IssuerMarkFiles(path, A).known(mark)
