"""`ci restore-cache`: main's validation cache for the pull-request check, from the artifacts of
a fake GitHub on 127.0.0.1. Only an artifact of a push to the default branch of this repository
is taken; a hostile zip restores nothing; whatever fails, the check goes on cold (exit 0)."""

from __future__ import annotations

import io
import json
import shutil
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.ci import cache_artifact
from provisioner.ci.cache_artifact import CACHE_DIR
from provisioner.cli import cli
from provisioner.rules.kept import FILES, MODELS, RUN, decode_files, encode_files
from provisioner.runtime import caches
from provisioner.runtime.results import RESULTS_CACHE, ValidationCache
from tests.ci import fake_github
from tests.ci.fake_github import TOKEN, State
from tests.conftest import copy_repo

REPO = "aoc/hestia-integrations"
PIRINEU = "integrations/8100560009/serveis-informatics-pirineu.yaml"
FORMS_LOG = CACHE_DIR / "form-verdicts.jsonl"


@pytest.fixture(autouse=True)
def _forms_cache_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a runner: form verdicts in the cache folder (the suite's default keeps them in
    each test's own folder)."""
    monkeypatch.setattr(caches, "FORMS_CACHE", FORMS_LOG.relative_to(CACHE_DIR))


@pytest.fixture
def github() -> Iterator[tuple[State, dict[str, str]]]:
    state = State(REPO)
    for url in fake_github.serve(state):
        yield state, {"GITHUB_API_URL": url, "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": TOKEN}


def run(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def restore(checkout: Path, env: dict[str, str], *extra: str) -> Result:
    return run(["ci", "restore-cache", "--repo", str(checkout), *extra], env)


def zip_folder(folder: Path) -> bytes:
    """The artifact upload-artifact makes of a folder: its files, named relative to it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return out.getvalue()


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def main_cache(tmp_path: Path) -> bytes:
    """What main's ci run uploads: the cache a whole validation of main leaves."""
    main = copy_repo(tmp_path / "main")
    assert run(["validate", "--repo", str(main)]).exit_code == 0
    assert (main / RESULTS_CACHE).is_file() and (main / FORMS_LOG).read_bytes()
    return zip_folder(main / CACHE_DIR)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The pull request's fresh checkout: no cache."""
    return copy_repo(tmp_path / "checkout")


def validated(repo: Path, *extra: str) -> dict[str, object]:
    res = run(["validate", "--repo", str(repo), "--format", "json", *extra])
    data: dict[str, object] = json.loads(res.output)
    return data


def test_main_cache_is_restored_without_sending_the_token_to_storage(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path
) -> None:
    state, env = github
    art = state.add_artifact(main_cache)
    res = restore(checkout, env)
    assert res.exit_code == 0, res.output
    count = len(zipfile.ZipFile(io.BytesIO(main_cache)).namelist())
    assert f"validation cache restored: {count} file(s)" in res.output
    assert f"from artifact {art} of run" in res.output
    assert state.blob_authorization == [None]  # the storage link gets no token
    restored = checkout / CACHE_DIR
    with zipfile.ZipFile(io.BytesIO(main_cache)) as archive:
        for name in archive.namelist():
            assert (restored / name).read_bytes() == archive.read(name)
    assert not [p for p in (checkout / ".provisioner").iterdir() if p.name != "cache"]


def test_the_restored_cache_is_what_the_check_reads(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path, tmp_path: Path
) -> None:
    """Same verdicts as a cold run, and proof that the results are reused: a result planted in
    main's cache is what the check reports (why only main's runs may provide it)."""
    cold = validated(copy_repo(tmp_path / "cold"), "--no-cache")
    state, env = github
    state.add_artifact(main_cache)
    assert restore(checkout, env).exit_code == 0
    assert validated(checkout) == cold
    # Another checkout, main's cache restored and a result planted in it: what its check reports.
    second = copy_repo(tmp_path / "second")
    assert restore(second, env).exit_code == 0
    memory = ValidationCache(second / RESULTS_CACHE)
    parts = {name: memory.load(name) or b"" for name in (RUN, FILES, MODELS)}
    files = decode_files(parts[FILES]) or {}
    files[PIRINEU]["diags"].append([1, 1, "PLANTED", "warning", "from main's cache"])
    memory.save({**parts, FILES: encode_files(files)})
    assert "PLANTED" in json.dumps(validated(second))


def test_a_damaged_cache_gives_the_cold_verdicts(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path, tmp_path: Path
) -> None:
    """Every file of main's cache damaged (a valid zip, the same names): each entry is a miss."""
    cold = validated(copy_repo(tmp_path / "cold"), "--no-cache")
    with zipfile.ZipFile(io.BytesIO(main_cache)) as archive:
        damaged = {
            name: archive.read(name)[: len(archive.read(name)) // 2] + b'{"x": ['
            for name in archive.namelist()
        }
    state, env = github
    state.add_artifact(zip_of(damaged))
    assert restore(checkout, env).exit_code == 0
    assert (checkout / RESULTS_CACHE).is_file()
    assert validated(checkout) == cold


def test_only_a_push_to_the_default_branch_of_this_repository_is_taken(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path
) -> None:
    state, env = github
    good = state.add_artifact(main_cache, created_at="2030-01-01T00:00:00Z", path_style="full")
    hostile = zip_of({"validation.json": b"from an untrusted run"})
    newer = [
        {"event": "pull_request", "branch": "feature"},
        {"event": "pull_request", "branch": "main"},  # a pull request from main elsewhere
        {"event": "pull_request_target", "branch": "main"},
        {"event": "push", "branch": "main", "fork": True},  # a fork's own main
        {"event": "push", "branch": "release"},
        {"event": "push", "branch": "main", "workflow": "other.yml"},
        {"event": "push", "branch": "main", "expired": True},
        {"event": "push", "branch": "main", "name": "hestia-validation-cache-other"},
    ]
    for i, props in enumerate(newer):
        state.add_artifact(hostile, created_at=f"2030-02-0{i + 1}T00:00:00Z", **props)  # type: ignore[arg-type]
    res = restore(checkout, env)
    assert res.exit_code == 0, res.output
    assert f"from artifact {good} of run" in res.output
    assert (checkout / RESULTS_CACHE).read_bytes() != b"from an untrusted run"
    passed = res.output
    assert passed.count("passed over") == 7  # the other name is not even listed
    for why in ("not a push", "pull_request_target", "another branch", "a fork", "expired"):
        assert why in passed
    assert "another workflow than ci.yml" in passed


def test_without_a_trusted_artifact_the_check_goes_on_cold(
    github: tuple[State, dict[str, str]], checkout: Path
) -> None:
    state, env = github
    state.add_artifact(zip_of({"validation.json": b"x"}), event="pull_request", branch="x")
    res = restore(checkout, env, "--format", "github")
    assert res.exit_code == 0
    assert res.output.startswith("::warning title=Validation cache::validation cache not restored")
    assert "no artifact hestia-validation-cache from a push to main by ci.yml" in res.output
    assert not (checkout / ".provisioner").exists()


def _symlink_entry() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("forms/link.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return out.getvalue()


def _duplicate() -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: that is the point
        archive.writestr("forms/a.json", b"1")
        archive.writestr("forms/a.json", b"2")
    return out.getvalue()


def _lying_size() -> bytes:
    """A member that declares 10 bytes and holds 1,000 (local and central headers patched)."""
    raw = bytearray(zip_of({"validation.json": b"A" * 1000}))
    local = raw.index(b"PK\x03\x04")
    struct.pack_into("<I", raw, local + 22, 10)
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 10)
    return bytes(raw)


HOSTILE: dict[str, Callable[[], bytes]] = {
    "traversal": lambda: zip_of({"../../escaped.json": b"x"}),
    "absolute": lambda: zip_of({"/tmp/escaped.json": b"x"}),
    "backslash": lambda: zip_of({"..\\escaped.json": b"x"}),
    "hidden": lambda: zip_of({".git/config": b"x"}),
    "dot part": lambda: zip_of({"forms/./x.json": b"x"}),
    "too deep": lambda: zip_of({"a/b/c/d/e.json": b"x"}),
    "symlink": _symlink_entry,
    "duplicate": _duplicate,
    "file and folder": lambda: zip_of({"forms": b"1", "forms/a.json": b"2"}),
    "lying size": _lying_size,
    "not a zip": lambda: b"PK\x03\x04 but nothing else",
    "empty name": lambda: zip_of({"forms//a.json": b"x"}),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_artifact_restores_nothing(
    github: tuple[State, dict[str, str]], checkout: Path, tmp_path: Path, kind: str
) -> None:
    state, env = github
    state.add_artifact(HOSTILE[kind]())
    before = sorted(p for p in tmp_path.rglob("*"))
    res = restore(checkout, env)
    assert res.exit_code == 0, res.output
    assert "validation cache not restored, this check runs cold" in res.output
    assert not (checkout / CACHE_DIR).exists()
    after = sorted(p for p in tmp_path.rglob("*"))
    assert [p for p in after if p not in before] in ([], [checkout / ".provisioner"])


@pytest.mark.parametrize("limit", ["MAX_MEMBERS", "MAX_UNPACKED_BYTES", "MAX_ZIP_BYTES"])
def test_limits_are_enforced(
    github: tuple[State, dict[str, str]],
    checkout: Path,
    monkeypatch: pytest.MonkeyPatch,
    limit: str,
) -> None:
    state, env = github
    state.add_artifact(zip_of({f"forms/{i}.json": b"0" * 100 for i in range(5)}))
    monkeypatch.setattr(cache_artifact, limit, 4 if limit == "MAX_MEMBERS" else 300)
    res = restore(checkout, env)
    assert res.exit_code == 0 and "not restored" in res.output
    assert not (checkout / CACHE_DIR).exists()


def test_a_linked_cache_folder_in_the_checkout_is_not_written_through(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path, tmp_path: Path
) -> None:
    """A pull request may commit .provisioner as a link elsewhere: nothing is written there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (checkout / ".provisioner").symlink_to(elsewhere)
    state, env = github
    state.add_artifact(main_cache)
    res = restore(checkout, env)
    assert res.exit_code == 0 and "is a link or a file, not a folder" in res.output
    assert list(elsewhere.iterdir()) == []
    (checkout / ".provisioner").unlink()
    (checkout / ".provisioner").mkdir()
    (checkout / CACHE_DIR).symlink_to(elsewhere)
    res = restore(checkout, env)
    assert res.exit_code == 0 and "already exists" in res.output
    assert list(elsewhere.iterdir()) == []


def test_a_cache_already_there_is_kept(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path
) -> None:
    (checkout / CACHE_DIR).mkdir(parents=True)
    (checkout / CACHE_DIR / "mine").write_text("kept", encoding="utf-8")
    state, env = github
    state.add_artifact(main_cache)
    res = restore(checkout, env)
    assert res.exit_code == 0 and "already exists: it is kept" in res.output
    assert [p.name for p in (checkout / CACHE_DIR).iterdir()] == ["mine"]
    assert state.requests == []  # not even asked


def test_api_failures_and_odd_answers_leave_a_cold_check(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path
) -> None:
    state, env = github
    state.add_artifact(main_cache)
    state.fail_with = 500
    assert "HTTP 500" in restore(checkout, env).output
    state.fail_with = None
    state.redirect_to = "file:///etc/passwd"
    assert "not https" in restore(checkout, env).output
    state.redirect_to = env["GITHUB_API_URL"] + "/blob/999999"
    assert "HTTP 404" in restore(checkout, env).output
    state.redirect_to = None
    state.blobs.clear()
    state.artifacts[0]["size_in_bytes"] = None
    assert "size is unknown" in restore(checkout, env).output
    res = restore(checkout, dict(env, GITHUB_TOKEN=""))
    assert res.exit_code == 0 and "GITHUB_TOKEN is not set" in res.output
    state.runs.clear()
    state.artifacts[0]["size_in_bytes"] = 10
    assert "HTTP 404" in restore(checkout, env).output
    assert not (checkout / ".provisioner").exists() or not (checkout / CACHE_DIR).exists()


def test_a_repository_description_without_a_default_branch(
    github: tuple[State, dict[str, str]], checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, env = github
    state.default_branch = None  # type: ignore[assignment]
    res = restore(checkout, env)
    assert res.exit_code == 0 and "default branch or id is unknown" in res.output


def test_the_artifact_of_a_real_upload_round_trips(tmp_path: Path) -> None:
    """unpack() alone on a folder zipped as upload-artifact does (folders as entries too)."""
    src = tmp_path / "src"
    (src / "forms").mkdir(parents=True)
    (src / "forms" / "a.json").write_text("{}", encoding="utf-8")
    (src / "cda-issuers").mkdir()
    (src / "cda-issuers" / "mark").write_bytes(b"")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.write(src / "forms", "forms")
        archive.write(src / "forms" / "a.json", "forms/a.json")
        archive.write(src / "cda-issuers" / "mark", "cda-issuers/mark")
    dest = tmp_path / "repo"
    dest.mkdir()
    assert cache_artifact.unpack(out.getvalue(), dest / CACHE_DIR) == (2, 2)
    assert (dest / CACHE_DIR / "cda-issuers" / "mark").read_bytes() == b""
    shutil.rmtree(dest / CACHE_DIR)
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr(zipfile.ZipInfo("../up/"), b"")
    with pytest.raises(cache_artifact.CacheRestoreError, match="not a plain path"):
        cache_artifact.unpack(bad.getvalue(), dest / CACHE_DIR)


def test_the_run_is_checked_too_not_only_the_artifact_listing(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path
) -> None:
    """The listing's summary of the run says main and this repository; the run itself is asked
    and must agree, or the artifact is passed over."""
    state, env = github
    changes: list[tuple[str, object, str]] = [
        ("head_branch", "feature", "its run is on another branch than main"),
        ("head_repository", {"full_name": "someone/fork"}, "belongs to another repository"),
        ("repository", None, "belongs to another repository"),
        ("path", None, "another workflow than ci.yml"),
        ("path", "someone/else/.github/workflows/ci.yml@main", "another workflow than ci.yml"),
    ]
    for field, value, why in changes:
        state.artifacts.clear()
        state.add_artifact(main_cache)
        run_id = state.artifacts[0]["workflow_run"]["id"]
        state.runs[run_id][field] = value
        res = restore(checkout, env)
        assert res.exit_code == 0 and why in res.output, (field, res.output)
        assert not (checkout / CACHE_DIR).exists()
    state.artifacts[0]["workflow_run"]["id"] = None
    assert "made by no known run" in restore(checkout, env).output


def test_an_encrypted_member_is_refused(tmp_path: Path) -> None:
    raw = bytearray(zip_of({"validation.json": b"x"}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.index(signature)
        struct.pack_into("<H", raw, at + offset, 0x1)  # the "encrypted" flag
    with pytest.raises(cache_artifact.CacheRestoreError, match="encrypted"):
        cache_artifact.unpack(bytes(raw), tmp_path / "cache")


@pytest.mark.parametrize("results", ["kept", "foreign"])
def test_a_pull_request_that_adds_an_integration_checks_only_its_form(
    github: tuple[State, dict[str, str]], checkout: Path, tmp_path: Path, results: str
) -> None:
    """main lacks one integration; the pull request adds it: with main's cache restored, the
    only form verdict computed (and so written) is the new integration's. "foreign": main's
    validation results were made by other code (a pull request that changes the provisioner):
    every file is checked again, but the form verdicts are still reused."""
    main = copy_repo(tmp_path / "main")
    added = "integrations/8100560009"
    shutil.rmtree(main / added)
    assert run(["validate", "--repo", str(main)]).exit_code == 0
    if results == "foreign":
        raw = (main / RESULTS_CACHE).read_bytes()
        head, _, body = raw.partition(b"\n")
        header = json.loads(head)
        header["tool"] = "0" * 64
        (main / RESULTS_CACHE).write_bytes(json.dumps(header).encode() + b"\n" + body)
    state, env = github
    state.add_artifact(zip_folder(main / CACHE_DIR))
    assert restore(checkout, env).exit_code == 0
    log = checkout / FORMS_LOG
    before = log.read_bytes().splitlines()  # a verdict computed is a line appended
    assert validated(checkout) == validated(copy_repo(tmp_path / "cold"), "--no-cache")
    after = log.read_bytes().splitlines()
    assert after[: len(before)] == before
    new = [line for line in after[len(before) :] if not line.startswith(b'{"tool":')]
    assert len(new) == len(list((checkout / added / "forms").glob("*.pdf"))) == 1


def test_in_ci_the_cache_is_restored_into_the_named_folder_only(
    github: tuple[State, dict[str, str]], main_cache: bytes, checkout: Path, tmp_path: Path
) -> None:
    """A cache the pull request committed stays unread; main's goes to the runner's folder,
    which the check then reads; without that folder named, CI restores nothing."""
    state, env = github
    state.add_artifact(main_cache)
    (checkout / CACHE_DIR).mkdir(parents=True)
    (checkout / CACHE_DIR / "validation.json").write_text("forged", encoding="utf-8")
    res = restore(checkout, {**env, "GITHUB_ACTIONS": "true"})
    assert res.exit_code == 0 and "caches are off" in res.output
    assert "HESTIA_PROVISIONER_CACHE_DIR" in res.output
    folder = tmp_path / "runner-temp" / "hestia-cache"
    ci = {**env, "GITHUB_ACTIONS": "true", "HESTIA_PROVISIONER_CACHE_DIR": str(folder)}
    res = restore(checkout, ci)
    assert res.exit_code == 0 and "validation cache restored" in res.output, res.output
    with zipfile.ZipFile(io.BytesIO(main_cache)) as archive:
        assert sorted(archive.namelist()) == sorted(p.name for p in folder.iterdir())
    assert [p.name for p in (checkout / CACHE_DIR).iterdir()] == ["validation.json"]
    log = folder / "form-verdicts.jsonl"
    before = log.read_bytes()
    res = run(["validate", "--repo", str(checkout), "--format", "json"], ci)
    assert json.loads(res.output) == validated(copy_repo(tmp_path / "cold"), "--no-cache")
    assert log.read_bytes() == before  # every verdict from the restored cache
    assert "already exists" in restore(checkout, ci).output  # never into a folder that exists
    inside = {**ci, "HESTIA_PROVISIONER_CACHE_DIR": str(checkout / "elsewhere")}
    assert "caches are off" in restore(checkout, inside).output
    assert not (checkout / "elsewhere").exists()
