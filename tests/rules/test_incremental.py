"""Incremental validation: a run that reuses kept results says exactly what a full run says.

The property test drives a repository (the shipped samples) through random sequences of edits
to integration files, documents, folders and the catalog (among them a file touched without a
change, a change that keeps the size and forges the modification time back, files added and
removed), and moves the clock back and forth across the certificates' validity; after every
step it validates with the caches (the plan's way, every file loaded, and the validate
command's way, which may replay the last run) and with none, and compares everything a user or
the plan would see. It runs both with every file's signature trusted (settled) and with none
trusted (every change too recent: the racy case, where bytes are compared).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.documents.edges import DocumentEdges
from provisioner.loading import tree
from provisioner.rules.kept import FILES, MODELS, RUN, decode_files, encode_files
from provisioner.rules.run import Findings, Validation, ValidationReport, findings, validate
from provisioner.runtime.caches import FORMS_CACHE, FileCache
from provisioner.runtime.results import RESULTS_CACHE, ResultFile, ValidationCache
from tests.conftest import copy_repo

GESTIO = "integrations/0805690004/gestio-municipal-oberta.yaml"
SOLUCIONS = "integrations/0805690004/solucions-socials-digitals.yaml"
PIRINEU = "integrations/8100560009/serveis-informatics-pirineu.yaml"
PIRINEU_COPY = "integrations/8100560009/serveis-informatics-pirineu-copy.yaml"
PIRINEU_CDA = "integrations/8100560009/certs/serveis-informatics-pirineu.pem"
GESTIO_CDA = "integrations/0805690004/certs/gestio-municipal-oberta.pem"
PIRINEU_FORM = "integrations/8100560009/forms/FP265594-formulari-integracio.pdf"
EVIDENCE = "integrations/0805690004/evidence/HESTIA_CITES.response.xml"
SERVICE = "catalog/service.yaml"
REGISTER = "catalog/entities.yaml"
TRUST_ROOT = "catalog/trust/demo-root-ca.pem"
# The demo certificates are valid from 2026-11-25 for five years: the clock crosses both ends.
T0 = datetime(2026, 11, 20, tzinfo=UTC)
#: settled_before for a run that trusts every file's signature (all changes count as old).
ALL_SETTLED = 2**62


def cached(repo: Path, settled: bool = True) -> DocumentEdges:
    """The caches a command lends; settled: every signature trusted, else none (racy)."""
    return DocumentEdges(
        form_verdicts=FileCache(repo / FORMS_CACHE),
        results=ValidationCache(
            repo / RESULTS_CACHE, tool="test", settled_before=ALL_SETTLED if settled else 0
        ),
    )


def seen(report: ValidationReport) -> dict[str, Any]:
    """Everything a command shows or passes on from a validation."""
    return {
        "diagnostics": [d.as_dict() for d in report.diagnostics],
        "files": report.files,
        "sources": [(s.rel, s.integration.model_dump(), s.doc.positions) for s in report.sources],
        "form_signers": report.form_signers,
        "documents": report.documents,
    }


def shown(found: Findings | ValidationReport) -> dict[str, Any]:
    """What the validate command prints."""
    return {"diagnostics": [d.as_dict() for d in found.diagnostics], "files": found.files}


def kept_parts(repo: Path) -> dict[str, Any]:
    memory = ValidationCache(repo / RESULTS_CACHE, tool="test")
    return {RUN: json.loads(memory.load(RUN) or b"null"), FILES: decode_files(memory.load(FILES))}


def change_kept(repo: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the kept run and files parts as a test needs (the models part is kept as it is)."""
    memory = ValidationCache(repo / RESULTS_CACHE, tool="test")
    models = memory.load(MODELS) or b""
    parts = kept_parts(repo)
    change(parts)
    memory.save(
        {
            RUN: json.dumps(parts[RUN]).encode(),
            FILES: encode_files(parts[FILES]),
            MODELS: models,
        }
    )


# --- the steps ---------------------------------------------------------------------------------


def replace_text(repo: Path, rel: str, old: str, new: str) -> None:
    path = repo / rel
    if not path.exists():  # deleted by an earlier step
        return
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def step_edit_ip(repo: Path, n: int) -> None:
    replace_text(repo, PIRINEU, "203.0.113.10", f"203.0.113.{10 + n % 200}")


def step_duplicate_ip(repo: Path, n: int) -> None:
    replace_text(repo, GESTIO, "198.51.100.40", "198.51.100.2")


def step_break_yaml(repo: Path, n: int) -> None:
    replace_text(repo, SOLUCIONS, "environment:", "environment: [")


def step_unknown_modality(repo: Path, n: int) -> None:
    replace_text(repo, GESTIO, "HESTIA_CITES", "HESTIA_NOPE")


def step_swap_cda(repo: Path, n: int) -> None:
    (repo / PIRINEU_CDA).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(repo / GESTIO_CDA, repo / PIRINEU_CDA)


def step_missing_cda(repo: Path, n: int) -> None:
    (repo / PIRINEU_CDA).unlink(missing_ok=True)


def step_append_to_form(repo: Path, n: int) -> None:
    if not (repo / PIRINEU_FORM).exists():
        return
    with (repo / PIRINEU_FORM).open("ab") as out:
        out.write(b"\n%% appended after signing\n")


def step_warning_days(repo: Path, n: int) -> None:
    text = (repo / SERVICE).read_text(encoding="utf-8")
    start = text.index("certificate_expiry_warning_days:")
    end = text.index("\n", start)
    days = [0, 30, 400, 3000][n % 4]
    new = f"certificate_expiry_warning_days: {days}"
    (repo / SERVICE).write_text(text[:start] + new + text[end:], encoding="utf-8")


def step_unregister(repo: Path, n: int) -> None:
    lines = (repo / REGISTER).read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if "8100560009" not in line]
    (repo / REGISTER).write_text("".join(kept), encoding="utf-8")


def step_break_trust_root(repo: Path, n: int) -> None:
    (repo / TRUST_ROOT).write_text("not a certificate\n", encoding="utf-8")


def step_delete_file(repo: Path, n: int) -> None:
    (repo / SOLUCIONS).unlink(missing_ok=True)


def step_add_file(repo: Path, n: int) -> None:
    """A second file for the same entity and provider: found by the walk, a duplicate."""
    if (repo / PIRINEU).exists():
        shutil.copyfile(repo / PIRINEU, repo / PIRINEU_COPY)


def step_remove_added_file(repo: Path, n: int) -> None:
    (repo / PIRINEU_COPY).unlink(missing_ok=True)


def step_add_folder(repo: Path, n: int) -> None:
    """A new folder with no integration file: the tree changes, no result does."""
    (repo / "integrations" / f"9{n:09d}" / "forms").mkdir(parents=True, exist_ok=True)


def step_touch(repo: Path, n: int) -> None:
    """Files written again with the same bytes: new signatures, the same results."""
    for rel in (GESTIO, GESTIO_CDA, EVIDENCE)[: 1 + n % 3]:
        path = repo / rel
        if path.exists():
            path.write_bytes(path.read_bytes())


def step_same_size_forged_time(repo: Path, n: int) -> None:
    """A change that keeps the size, with the modification time set back to what it was: only
    the change time (which nobody can set) tells."""
    for rel, old, new in ((PIRINEU, "203.0.113.", "203.0.114."), (EVIDENCE, "<", "<")):
        path = repo / rel
        if not path.exists():
            continue
        before = path.stat()
        data = path.read_bytes()
        if rel == EVIDENCE:  # swap two bytes of the response: same size, other content
            at = data.find(b"0</")
            if at < 0:
                continue
            data = data[:at] + b"9" + data[at + 1 :]
        else:
            data = data.replace(old.encode(), new.encode())
        path.write_bytes(data)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


PIRINEU_CERTS = "integrations/8100560009/certs"


def step_certs_through_link(repo: Path, n: int) -> None:
    """The CDA's folder becomes a link to a folder beside it (inside the repository)."""
    certs = repo / PIRINEU_CERTS
    if certs.is_dir() and not certs.is_symlink():
        certs.rename(certs.with_name(f"certs-real-{n}"))
        certs.symlink_to(f"certs-real-{n}")


def step_repoint_link(repo: Path, n: int) -> None:
    """The link now leads to a folder holding another provider's certificate under the name."""
    certs = repo / PIRINEU_CERTS
    if certs.is_symlink() and (repo / GESTIO_CDA).exists():
        other = certs.with_name(f"certs-other-{n}")
        other.mkdir(exist_ok=True)
        shutil.copyfile(repo / GESTIO_CDA, other / Path(PIRINEU_CDA).name)
        certs.unlink()
        certs.symlink_to(other.name)


def step_link_outside(repo: Path, n: int) -> None:
    """The link leads outside the repository (to a copy of what it held)."""
    certs = repo / PIRINEU_CERTS
    if certs.is_symlink():
        outside = repo.parent / f"outside-{n}"
        if not outside.exists():
            shutil.copytree(certs, outside)
        certs.unlink()
        certs.symlink_to(outside)


def step_yaml_through_link(repo: Path, n: int) -> None:
    """An integration file becomes a link to its text kept under another name."""
    path = repo / SOLUCIONS
    if path.is_file() and not path.is_symlink():
        path.rename(path.with_suffix(".txt"))
        path.symlink_to(path.with_suffix(".txt").name)


def step_edit_behind_links(repo: Path, n: int) -> None:
    """The files behind the links change, the links do not."""
    text = (repo / SOLUCIONS).with_suffix(".txt")
    if text.exists():
        text.write_text(text.read_text(encoding="utf-8").replace("environment:", "environment: ["))
    for cda in (repo / "integrations/8100560009").glob("certs-*/*.pem"):
        cda.write_bytes((repo / GESTIO_CDA).read_bytes())


def step_restore(repo: Path, n: int) -> None:
    """Back to the samples: kept results from before the edits become valid again."""
    for folder in ("integrations", "catalog"):
        shutil.rmtree(repo / folder)
    fresh = copy_repo(repo.parent / f"fresh-{n}-{time.monotonic_ns()}")
    for folder in ("integrations", "catalog"):
        shutil.copytree(fresh / folder, repo / folder)
    shutil.rmtree(fresh)


STEPS = [
    step_edit_ip,
    step_duplicate_ip,
    step_break_yaml,
    step_unknown_modality,
    step_swap_cda,
    step_missing_cda,
    step_append_to_form,
    step_warning_days,
    step_unregister,
    step_break_trust_root,
    step_delete_file,
    step_add_file,
    step_remove_added_file,
    step_add_folder,
    step_touch,
    step_same_size_forged_time,
    step_certs_through_link,
    step_repoint_link,
    step_link_outside,
    step_yaml_through_link,
    step_edit_behind_links,
    step_restore,
]

# A step, with a number it may use, the clock (days from T0: before, inside and after the
# certificates' validity, near its start and its end), and which cached run goes first.
PLAN = st.lists(
    st.tuples(
        st.sampled_from(STEPS),
        st.integers(0, 1000),
        st.sampled_from([0, 3, 4, 6, 30, 1700, 1820, 1830, 1900, 4000]),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=PLAN, settled=st.booleans())
def test_cached_and_uncached_runs_say_the_same(
    tmp_path_factory: pytest.TempPathFactory, plan: list[Any], settled: bool
) -> None:
    repo = copy_repo(tmp_path_factory.mktemp("incremental") / "repo")
    now = T0
    validate(repo, edges=cached(repo, settled), now=now)  # every result kept
    for step, n, days, findings_first in plan:
        step(repo, n)
        now = T0 + timedelta(days=days, hours=n % 24)
        without = validate(repo, edges=DocumentEdges(), now=now)
        if findings_first:
            found = findings(repo, edges=cached(repo, settled), now=now)
            with_cache = validate(repo, edges=cached(repo, settled), now=now)
        else:
            with_cache = validate(repo, edges=cached(repo, settled), now=now)
            found = findings(repo, edges=cached(repo, settled), now=now)
        assert seen(with_cache) == seen(without), step.__name__
        assert shown(found) == shown(without), step.__name__
        again = findings(repo, edges=cached(repo, settled), now=now)  # the replay, if any
        assert shown(again) == shown(without), step.__name__


# --- the replay ----------------------------------------------------------------------------------


def test_nothing_changed_replays_and_writes_nothing(sample_repo: Path) -> None:
    first = validate(sample_repo, edges=cached(sample_repo), now=T0)
    cache = sample_repo / RESULTS_CACHE
    written = cache.stat().st_mtime_ns, cache.read_bytes()
    again = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert again.replayed
    assert shown(again) == shown(first)
    assert seen(validate(sample_repo, edges=cached(sample_repo), now=T0)) == seen(first)
    assert (cache.stat().st_mtime_ns, cache.read_bytes()) == written


def test_a_replay_lists_no_folder_when_no_signature_changed(
    sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = shown(findings(sample_repo, edges=cached(sample_repo), now=T0))

    def no_walk(root: str) -> tree.Tree:
        raise AssertionError("the folders were listed")

    monkeypatch.setattr("provisioner.loading.tree.walk_integrations", no_walk)
    again = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert again.replayed
    assert shown(again) == expected


def test_a_replay_loads_no_model(sample_repo: Path) -> None:
    """The validate command on an unchanged repository imports neither pydantic nor the YAML
    parser nor cryptography: a whole process, as a user runs it."""
    code = (
        "import sys; from pathlib import Path; "
        "from provisioner.rules.run import findings; "
        "from provisioner.runtime import local_edges; "
        f"repo = Path({str(sample_repo)!r}); "
        "found = findings(repo, edges=local_edges(repo)); "
        "heavy = [m for m in ('pydantic', 'yaml', 'cryptography', 'pyhanko') if m in sys.modules]; "
        "print(found.replayed, heavy, found.files)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HESTIA_PROVISIONER")}
    run = [sys.executable, "-c", code]
    first = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    assert first.stdout.split()[0] == "False"  # the first run checks every file
    again = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    assert again.stdout.strip() == "True [] 3", again.stderr


def test_the_clock_is_read_again_on_a_replay(sample_repo: Path) -> None:
    """A replay computes again what depends on the clock: a CDA that expired since."""
    findings(sample_repo, edges=cached(sample_repo), now=T0 + timedelta(days=30))
    later = T0 + timedelta(days=5 * 365 + 30)
    again = findings(sample_repo, edges=cached(sample_repo), now=later)
    expected = validate(sample_repo, edges=DocumentEdges(), now=later)
    assert "CDA-EXPIRED" in {d.code for d in expected.diagnostics}
    assert shown(again) == shown(expected)


def test_a_kept_finding_is_replayed_until_a_file_changes(sample_repo: Path) -> None:
    """Proof that the last run's findings are what a replay shows: one planted in the cache is
    reported while nothing changed, also when a file is only touched, and no longer once a
    file really changed."""
    validate(sample_repo, edges=cached(sample_repo), now=T0)
    planted = [PIRINEU, 1, 1, "PLANTED", "warning", "from the cache"]
    change_kept(sample_repo, lambda parts: parts[RUN]["findings"].append(planted))

    def codes() -> set[str]:
        return {
            d.code for d in findings(sample_repo, edges=cached(sample_repo), now=T0).diagnostics
        }

    assert "PLANTED" in codes()
    (sample_repo / PIRINEU).write_bytes((sample_repo / PIRINEU).read_bytes())  # touched
    assert "PLANTED" in codes()
    (sample_repo / PIRINEU).write_text((sample_repo / PIRINEU).read_text() + "\n")
    assert "PLANTED" not in codes()


def test_a_kept_result_is_used_not_recomputed(sample_repo: Path) -> None:
    """Proof that per-file results are reused: a finding planted in a file's kept result is
    what validate reports, until that file changes."""
    validate(sample_repo, edges=cached(sample_repo), now=T0)
    change_kept(
        sample_repo,
        lambda parts: parts[FILES][PIRINEU]["diags"].append([1, 1, "PLANTED", "warning", "x"]),
    )
    report = validate(sample_repo, edges=cached(sample_repo), now=T0)
    assert "PLANTED" in {d.code for d in report.diagnostics}
    (sample_repo / PIRINEU).write_text((sample_repo / PIRINEU).read_text() + "\n")
    report = validate(sample_repo, edges=cached(sample_repo), now=T0)  # changed: checked again
    assert "PLANTED" not in {d.code for d in report.diagnostics}


def _plant_with_other_bytes(repo: Path, settled: bool) -> None:
    """Keep results whose signatures say "unchanged" but whose bytes say otherwise."""
    validate(repo, edges=cached(repo, settled), now=T0)

    def plant(parts: dict[str, Any]) -> None:
        entry = parts[FILES][PIRINEU]
        entry["sha"] = "0" * 64
        entry["diags"].append([1, 1, "PLANTED", "warning", "from the cache"])
        parts[RUN]["findings"].append([PIRINEU, 1, 1, "PLANTED", "warning", "from the cache"])
        parts[RUN]["tree"] = None  # no replay by signatures alone

    change_kept(repo, plant)


def test_a_settled_signature_is_trusted_without_reading(sample_repo: Path) -> None:
    _plant_with_other_bytes(sample_repo, settled=True)
    found = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert "PLANTED" in {d.code for d in found.diagnostics}


def test_a_change_too_recent_is_compared_by_its_bytes(sample_repo: Path) -> None:
    """Racy timestamps: a file changed too close to the run that looked at it gets no kept
    signature, so the next run reads it (and here finds other bytes than kept)."""
    _plant_with_other_bytes(sample_repo, settled=False)
    assert kept_parts(sample_repo)[FILES][PIRINEU]["sig"] is None
    found = findings(sample_repo, edges=cached(sample_repo, settled=False), now=T0)
    assert "PLANTED" not in {d.code for d in found.diagnostics}
    assert shown(found) == shown(validate(sample_repo, edges=DocumentEdges(), now=T0))


def test_signatures_are_kept_once_settled(sample_repo: Path) -> None:
    """Files changed just before a run are not trusted by their signatures; a later run that
    finds them old enough keeps their signatures (and can then replay without listing)."""
    findings(sample_repo, edges=cached(sample_repo, settled=False), now=T0)
    record = kept_parts(sample_repo)[RUN]["tree"]
    assert (record["listing"], record["documents"], record["digest"]) == (None, None, None)
    assert kept_parts(sample_repo)[FILES][GESTIO]["sig"] is None
    again = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert again.replayed
    assert kept_parts(sample_repo)[FILES][GESTIO]["sig"] is not None
    assert kept_parts(sample_repo)[RUN]["tree"]["digest"] is not None


def test_a_new_integration_file_is_seen(sample_repo: Path) -> None:
    findings(sample_repo, edges=cached(sample_repo), now=T0)
    shutil.copyfile(sample_repo / PIRINEU, sample_repo / PIRINEU_COPY)
    found = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert not found.replayed
    assert found.files == 4
    assert "DUPLICATE-INTEGRATION" in {d.code for d in found.diagnostics}
    (sample_repo / PIRINEU_COPY).unlink()
    assert shown(findings(sample_repo, edges=cached(sample_repo), now=T0)) == shown(
        validate(sample_repo, edges=DocumentEdges(), now=T0)
    )


def test_named_paths_are_replayed_and_filtered(sample_repo: Path) -> None:
    expected = validate(sample_repo, [sample_repo / PIRINEU], edges=DocumentEdges(), now=T0)
    findings(sample_repo, edges=cached(sample_repo), now=T0)
    found = findings(sample_repo, [sample_repo / PIRINEU], edges=cached(sample_repo), now=T0)
    assert found.replayed
    assert shown(found) == shown(expected)


def test_another_catalog_is_another_context(sample_repo: Path, tmp_path: Path) -> None:
    """--catalog-from: the results kept under one catalog are not replayed under another."""
    other = copy_repo(tmp_path / "base", with_samples=False)
    step_unregister(other, 0)
    findings(sample_repo, edges=cached(sample_repo), now=T0)
    found = findings(sample_repo, edges=cached(sample_repo), catalog_from=other, now=T0)
    expected = validate(sample_repo, edges=DocumentEdges(), catalog_from=other, now=T0)
    assert not found.replayed
    assert shown(found) == shown(expected)
    assert shown(found) != shown(validate(sample_repo, edges=DocumentEdges(), now=T0))


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: raw.replace(b'"loaded"', b'"loadex"', 1),  # body changed: checksum fails
        lambda raw: raw + b"more",  # something added
        lambda raw: b"not json at all",
        lambda raw: b"",
        lambda raw: raw.replace(b'"tool": "test"', b'"tool": "other"', 1),  # foreign
        lambda raw: raw.replace(b'"format": 2', b'"format": 1', 1),  # another format
    ],
)
def test_a_damaged_or_foreign_cache_is_ignored(sample_repo: Path, damage: Any) -> None:
    """Each part is checked against its SHA-256 in the header: a damaged one is not used (a
    replay needs only the run part, which may still be intact)."""
    uncached = validate(sample_repo, edges=DocumentEdges(), now=T0)
    validate(sample_repo, edges=cached(sample_repo), now=T0)
    cache = sample_repo / RESULTS_CACHE
    cache.write_bytes(damage(cache.read_bytes()))
    assert shown(findings(sample_repo, edges=cached(sample_repo), now=T0)) == shown(uncached)
    validate(sample_repo, edges=cached(sample_repo), now=T0)
    cache.write_bytes(damage(cache.read_bytes()))
    assert seen(validate(sample_repo, edges=cached(sample_repo), now=T0)) == seen(uncached)


def test_results_of_another_shape_are_checked_again(sample_repo: Path) -> None:
    """A well-formed cache whose parts are not what this version writes: no traceback."""
    expected = seen(validate(sample_repo, edges=DocumentEdges(), now=T0))
    validate(sample_repo, edges=cached(sample_repo), now=T0)

    def nonsense(parts: dict[str, Any]) -> None:
        for rel, entry in parts[FILES].items():
            parts[FILES][rel] = {**entry, "deps": "nonsense", "facts": {"fp": 1}, "m": "x"}
        parts[RUN]["clock"] = [["x", "y"]]

    change_kept(sample_repo, nonsense)
    assert not findings(sample_repo, edges=cached(sample_repo), now=T0).replayed
    assert seen(validate(sample_repo, edges=cached(sample_repo), now=T0)) == expected


def test_no_cache_option_reads_and_writes_no_cache(sample_repo: Path, run_cli: Any) -> None:
    result = run_cli(["validate", "--repo", str(sample_repo), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert not (sample_repo / ".provisioner").exists()
    result = run_cli(["validate", "--repo", str(sample_repo)])
    assert result.exit_code == 0
    assert (sample_repo / RESULTS_CACHE).is_file()
    again = run_cli(["validate", "--repo", str(sample_repo)])
    assert again.output == result.output


def test_a_json_state_file_ignores_damage_and_foreign_tools(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    ResultFile(path, tool="a").save({"x": [1, 2]})
    assert ResultFile(path, tool="a").load() == {"x": [1, 2]}
    assert ResultFile(path, tool="b").load() is None
    path.write_bytes(path.read_bytes()[:-2])
    assert ResultFile(path, tool="a").load() is None


def test_a_same_size_change_with_a_forged_time_is_seen(sample_repo: Path) -> None:
    """A document changed to other bytes of the same size, its modification time set back:
    the replay by signatures sees the change time move and checks again."""
    findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert kept_parts(sample_repo)[RUN]["tree"] is not None  # a replay without listing
    step_same_size_forged_time(sample_repo, 0)
    found = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert not found.replayed
    assert "HOMOLOGATION-RESULT" in {d.code for d in found.diagnostics}
    assert shown(found) == shown(validate(sample_repo, edges=DocumentEdges(), now=T0))


def test_a_file_is_settled_only_when_both_its_times_are_old(tmp_path: Path) -> None:
    """The modification time can be set back by anyone; the change time cannot, and both must
    be older than the margin for the signature to be trusted."""
    path = tmp_path / "file"
    path.write_text("x")
    changed = path.stat().st_ctime_ns
    os.utime(path, ns=(0, 0))  # the modification time forged into the past
    st = os.lstat(path)
    assert st.st_mtime_ns == 0
    assert not tree.settled(st, changed)
    assert tree.settled_signature(st, changed) is None
    later = st.st_ctime_ns + 1
    assert tree.settled(st, later)
    assert tree.settled_signature(st, later) == tree.signature(st)


def assert_cached_runs_agree(repo: Path, settled: bool = True) -> set[str]:
    """The cached runs (validate command's way first, then the plan's) say what an uncached run
    says; the codes it reports."""
    without = validate(repo, edges=DocumentEdges(), now=T0)
    assert shown(findings(repo, edges=cached(repo, settled), now=T0)) == shown(without)
    assert seen(validate(repo, edges=cached(repo, settled), now=T0)) == seen(without)
    assert shown(findings(repo, edges=cached(repo, settled), now=T0)) == shown(without)
    return {d.code for d in without.diagnostics}


@pytest.mark.parametrize("settled", [True, False])
def test_links_are_followed_every_time(sample_repo: Path, settled: bool) -> None:
    """Documents and files reached through links: what a link leads to can change while the
    link and its folder do not, so those are checked again on every run."""
    codes = assert_cached_runs_agree(sample_repo, settled)
    step_certs_through_link(sample_repo, 0)
    assert assert_cached_runs_agree(sample_repo, settled) == codes
    assert kept_parts(sample_repo)[RUN]["tree"] is None  # no replay by signatures alone
    step_edit_behind_links(sample_repo, 0)
    assert "CDA-DUPLICATE" in assert_cached_runs_agree(sample_repo, settled)
    step_repoint_link(sample_repo, 1)
    assert_cached_runs_agree(sample_repo, settled)
    step_link_outside(sample_repo, 2)
    assert "PATH-ESCAPES" in assert_cached_runs_agree(sample_repo, settled)
    step_yaml_through_link(sample_repo, 0)
    assert_cached_runs_agree(sample_repo, settled)
    step_edit_behind_links(sample_repo, 1)
    assert "YAML-SYNTAX" in assert_cached_runs_agree(sample_repo, settled)


def test_paths_with_dots_lead_where_they_say(sample_repo: Path) -> None:
    """A document path written with ./ or ../ is normalised as the path checks do."""
    replace_text(sample_repo, PIRINEU, "cda: certs/", "cda: ./forms/../certs/")
    codes = assert_cached_runs_agree(sample_repo)
    assert kept_parts(sample_repo)[RUN]["tree"] is not None
    (sample_repo / PIRINEU_CDA).write_bytes((sample_repo / GESTIO_CDA).read_bytes())
    assert assert_cached_runs_agree(sample_repo) == codes | {"CDA-DUPLICATE"}


def test_one_changed_file_lists_no_folder(
    sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file changed in place leaves its folder's signature as it was: the listing is known
    unchanged and only the changed file is checked again."""
    findings(sample_repo, edges=cached(sample_repo), now=T0)
    step_edit_ip(sample_repo, 7)
    step_duplicate_ip(sample_repo, 0)

    def no_walk(root: str) -> tree.Tree:
        raise AssertionError("the folders were listed")

    with monkeypatch.context() as patched:
        patched.setattr("provisioner.loading.tree.walk_integrations", no_walk)
        found = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert not found.replayed
    assert shown(found) == shown(validate(sample_repo, edges=DocumentEdges(), now=T0))


@pytest.mark.parametrize("warning_days", [0, 30, 400])
def test_the_clock_findings_of_a_kept_cda_are_those_of_its_dates(warning_days: int) -> None:
    """Around each bound (not before, the warning, not after) to the second and below it."""
    from provisioner.documents.cda import validity_findings
    from provisioner.rules.kept import clock_findings

    not_before, not_after = 1_800_000_000.0, 1_900_000_000.0
    warn = not_after - warning_days * 86400
    for bound in (not_before, warn, not_after):
        for delta in (-86400, -2, -1, -0.5, -0.000001, 0, 0.000001, 0.5, 1, 2, 86400):
            now = datetime.fromtimestamp(bound + delta, UTC)
            expected = [
                (f.code, f"cda: {f.message}")
                for f in validity_findings(
                    datetime.fromtimestamp(not_before, UTC),
                    datetime.fromtimestamp(not_after, UTC),
                    now,
                    warning_days,
                )
            ]
            kept = [not_before, not_after, 7, 6]
            found = clock_findings("f.yaml", kept, warning_days, now)
            assert [(f.code, f.message) for f in found] == expected, (bound, delta)
            assert all((f.file, f.line, f.column) == ("f.yaml", 7, 6) for f in found)


# --- what is kept, and how little of it a run holds ---------------------------------------------


def test_kept_rows_are_found_without_decoding_and_decoded_one_by_one() -> None:
    """Rows of the files part: each file's row, escaped names too; a damaged row loses only
    its own entry; the signature is told from the row's text."""
    from provisioner.rules.kept import Rows, files_part

    entries = {
        "integrations/a.yaml": {"sig": [1, 2, 3, 4, 5, 6], "sha": "x"},
        'integrations/"quoted"\\b.yaml': {"sig": [7, 8, 9, 10, 11, 12], "sha": "y"},
        "integrations/ç.yaml": {"sig": None, "sha": "z"},
    }
    data = encode_files(entries)
    rows = Rows(data.replace(b'"sha":"z"', b'"sha":"z"]]]'))  # the last row damaged
    assert set(rows.spans) == set(entries)
    assert rows.entry("integrations/a.yaml") == entries["integrations/a.yaml"]
    assert rows.entry('integrations/"quoted"\\b.yaml') == entries['integrations/"quoted"\\b.yaml']
    assert rows.entry("integrations/ç.yaml") is None
    assert rows.entry("integrations/none.yaml") is None
    assert rows.same_signature("integrations/a.yaml", [1, 2, 3, 4, 5, 6])
    assert not rows.same_signature("integrations/a.yaml", [1, 2, 3, 4, 5, 7])
    # An escaped name is decoded to be found: its signature is then compared by decoding.
    assert not rows.same_signature('integrations/"quoted"\\b.yaml', [7, 8, 9, 10, 11, 12])
    assert Rows(b"not a part").spans == {}
    # Kept rows that followed each other are copied in one span; new rows written as given.
    good = Rows(data)
    pieces = files_part(
        good, [("integrations/a.yaml", None), ("x", b"[new]"), ("integrations/ç.yaml", None)]
    )
    assert pieces is not None and len(pieces) == 7
    kept = list(good.spans.values())
    both = files_part(
        good, [("integrations/a.yaml", None), ('integrations/"quoted"\\b.yaml', None)]
    )
    assert both is not None and len(both) == 3  # [, one span over both rows, ]
    assert both[1].start == kept[0][0] and both[1].stop == kept[1][2]  # type: ignore[union-attr]
    assert files_part(good, [("integrations/none.yaml", None)]) is None


def test_an_lstat_is_kept_packed_with_every_field_a_signature_uses(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    st = os.lstat(path)
    packed = tree.Stat.of(st)
    assert len(packed) == 48
    assert tree.signature(packed) == tree.signature(st)
    assert tree.packed(packed) == tree.packed(st)
    assert (packed.st_mode, packed.st_dev, packed.st_ino) == (st.st_mode, st.st_dev, st.st_ino)
    assert tree.settled(packed, st.st_ctime_ns + 1) and not tree.settled(packed, st.st_mtime_ns)
    # Inode numbers and devices use all 64 bits on some file systems.
    huge = os.stat_result(
        (0o100644, 2**64 - 1, 2**64 - 2, 1, 0, 0, 5, 0, 0, 0, 0.0, 0.0, 0.0, 0, 7, 9)
    )
    assert tree.signature(tree.Stat.of(huge)) == [2**64 - 2, 2**64 - 1, 5, 0o100644, 7, 9]


def test_a_touched_folder_is_listed_again_and_the_run_replayed(
    sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`touch integrations/`: nothing in it changed, so the run is replayed after listing the
    folders again; the next run replays without listing them."""
    first = findings(sample_repo, edges=cached(sample_repo), now=T0)
    folder = sample_repo / "integrations"
    later = folder.stat().st_mtime_ns + 5_000_000_000
    os.utime(folder, ns=(later, later))
    again = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert again.replayed and shown(again) == shown(first)

    def no_walk(root: str) -> tree.Tree:
        raise AssertionError("the folders were listed")

    monkeypatch.setattr("provisioner.loading.tree.walk_integrations", no_walk)
    third = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert third.replayed and shown(third) == shown(first)


def test_a_touched_file_is_compared_and_only_its_row_written_again(sample_repo: Path) -> None:
    """A file written again with the same bytes: the run is replayed (its bytes compared with
    the kept ones), and of the files part only its row changes (its new signature)."""
    first = findings(sample_repo, edges=cached(sample_repo), now=T0)

    def rows() -> list[bytes]:
        memory = ValidationCache(sample_repo / RESULTS_CACHE, tool="test")
        return (memory.load(FILES) or b"").split(b"\n")

    before = rows()
    (sample_repo / GESTIO).write_bytes((sample_repo / GESTIO).read_bytes())
    again = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert again.replayed and shown(again) == shown(first)
    after = rows()
    assert len(after) == len(before) == 3
    changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    assert len(changed) == 1 and GESTIO.encode() in after[changed[0]]
    assert kept_parts(sample_repo)[RUN]["tree"]["digest"] is not None


def test_one_changed_file_is_the_only_one_checked_again(sample_repo: Path) -> None:
    """The others' results are reused from their kept rows: a finding planted in another
    file's row is still reported; the changed file's own is not."""
    validate(sample_repo, edges=cached(sample_repo), now=T0)

    def plant(parts: dict[str, Any]) -> None:
        for rel in (PIRINEU, GESTIO):
            parts[FILES][rel]["diags"].append([1, 1, "PLANTED", "warning", rel])

    change_kept(sample_repo, plant)
    replace_text(sample_repo, GESTIO, "198.51.100.40", "198.51.100.41")
    found = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert not found.replayed
    assert [d.message for d in found.diagnostics if d.code == "PLANTED"] == [PIRINEU]


def test_a_replay_that_kept_new_signatures_then_a_run_that_loads_every_file(
    sample_repo: Path,
) -> None:
    """The plan's way: a replay that wrote the cache again (a touched file's new signature),
    then every file loaded in the same run from the cache as now written."""
    validate(sample_repo, edges=cached(sample_repo), now=T0)
    (sample_repo / GESTIO).write_bytes((sample_repo / GESTIO).read_bytes())
    validation = Validation(sample_repo, edges=cached(sample_repo), now=T0)
    assert validation.replayed() is not None
    report = validation.report()
    assert seen(report) == seen(validate(sample_repo, edges=DocumentEdges(), now=T0))
    assert report.content is not None
    assert set(kept_parts(sample_repo)[FILES]) == {GESTIO, SOLUCIONS, PIRINEU}
    again = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert again.replayed and shown(again) == shown(report)


def test_one_changed_file_rewrites_only_its_own_row(sample_repo: Path) -> None:
    """Each file keeps its model line's place: the rows of the files after a changed one are
    written again as they were (not decoded and encoded anew)."""
    validate(sample_repo, edges=cached(sample_repo), now=T0)

    def rows() -> list[bytes]:
        memory = ValidationCache(sample_repo / RESULTS_CACHE, tool="test")
        return (memory.load(FILES) or b"").split(b"\n")

    before = rows()
    replace_text(sample_repo, GESTIO, "198.51.100.40", "198.51.100.41")
    found = findings(sample_repo, edges=cached(sample_repo), now=T0)
    assert shown(found) == shown(validate(sample_repo, edges=DocumentEdges(), now=T0))
    after = rows()
    changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    assert len(changed) == 1 and GESTIO.encode() in after[changed[0]]
