"""Leftovers and limits: what a killed apply leaves is swept; YAML files stay in the repository."""

from __future__ import annotations

import os
import time
from pathlib import Path

import git

from provisioner.rules.run import validate
from provisioner.runtime.files import LEFTOVER_MIN_AGE, sweep_leftovers, write_atomically
from tests.apply.test_plan_apply import apply_cli, commit_all

PIRINEU = "integrations/8100560009/serveis-informatics-pirineu.yaml"


def aged(path: Path, seconds: float) -> Path:
    path.write_bytes(b"half written")
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_temporary_files_of_a_killed_apply_are_swept_on_the_next_run(sample_repo: Path) -> None:
    (sample_repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    git.Repo.init(sample_repo)
    commit_all(sample_repo, "samples")
    assert apply_cli(sample_repo, "PRE")[0].exit_code == 0
    out = sample_repo / "build" / "app"
    folder = next((sample_repo / ".provisioner" / "sharepoint").rglob("FP265594*"))
    # What SIGKILL leaves: the temporary files of write_atomically, in both places.
    stale = [aged(out / ".app-PRE.json.k1l2.tmp", 3600), aged(folder / ".x.pdf.ab12.tmp", 3600)]
    fresh = aged(out / ".app-PRE.json.run3.tmp", 0)  # a writer that may still be running
    keep = aged(out / "notes.tmp", 3600)  # not a name this tool writes
    res, data = apply_cli(sample_repo, "PRE")
    assert res.exit_code == 0
    assert data["result"]["leftovers_removed"] == 2
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and keep.exists()


def test_sweep_ignores_links_and_young_files(tmp_path: Path) -> None:
    write_atomically(tmp_path / "done.json", b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done.json"]
    target = aged(tmp_path / "elsewhere", 3600)
    (tmp_path / ".link.tmp").symlink_to(target)
    young = aged(tmp_path / ".young.tmp", LEFTOVER_MIN_AGE / 2)
    assert sweep_leftovers(tmp_path, time.time()) == []
    assert young.exists() and target.exists()
    assert sweep_leftovers(tmp_path / "missing", time.time()) == []


def test_the_store_is_swept_in_every_folder_but_not_through_links(tmp_path: Path) -> None:
    store, outside = tmp_path / "store", tmp_path / "outside"
    (store / "library" / "FP1 Ajuntament").mkdir(parents=True)
    outside.mkdir()
    deep = aged(store / "library" / "FP1 Ajuntament" / ".form.pdf.x1.tmp", 3600)
    theirs = aged(outside / ".other.pdf.x2.tmp", 3600)
    (store / "library" / "linked").symlink_to(outside, target_is_directory=True)
    folder_named_like_one = store / ".folder.tmp"
    folder_named_like_one.mkdir()
    assert sweep_leftovers(store, time.time(), recursive=True) == [deep]
    assert not deep.exists() and theirs.exists() and folder_named_like_one.is_dir()


def test_a_yaml_file_linked_outside_the_repository_is_refused(
    sample_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_bytes((sample_repo / PIRINEU).read_bytes())
    (sample_repo / PIRINEU).unlink()
    (sample_repo / PIRINEU).symlink_to(outside)
    found = [d for d in validate(sample_repo).diagnostics if d.file == PIRINEU]
    assert [d.code for d in found] == ["FILE-OUTSIDE"]
    service = sample_repo / "catalog" / "entities.yaml"
    moved = tmp_path / "entities.yaml"
    moved.write_bytes(service.read_bytes())
    service.unlink()
    service.symlink_to(moved)
    codes = {d.code for d in validate(sample_repo).diagnostics if d.file == "catalog/entities.yaml"}
    assert codes == {"FILE-OUTSIDE"}
