"""Incremental validation: a run that reuses kept results says exactly what a full run says.

The property test drives a repository (the shipped samples) through random sequences of edits
to integration files, documents and the catalog, and moves the clock back and forth across the
certificates' validity; after every step it validates twice, once with the validation and
form caches and once with none, and compares everything a user or the plan would see.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.documents.edges import DocumentEdges
from provisioner.rules.run import ValidationReport, validate
from provisioner.runtime.caches import FORMS_CACHE, FileCache
from provisioner.runtime.results import RESULTS_CACHE, ResultFile
from tests.conftest import copy_repo

GESTIO = "integrations/0805690004/gestio-municipal-oberta.yaml"
SOLUCIONS = "integrations/0805690004/solucions-socials-digitals.yaml"
PIRINEU = "integrations/8100560009/serveis-informatics-pirineu.yaml"
PIRINEU_CDA = "integrations/8100560009/certs/serveis-informatics-pirineu.pem"
GESTIO_CDA = "integrations/0805690004/certs/gestio-municipal-oberta.pem"
PIRINEU_FORM = "integrations/8100560009/forms/FP265594-formulari-integracio.pdf"
SERVICE = "catalog/service.yaml"
REGISTER = "catalog/entities.yaml"
# The demo certificates are valid from 2026-11-25 for five years: the clock crosses both ends.
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def cached(repo: Path) -> DocumentEdges:
    return DocumentEdges(
        form_verdicts=FileCache(repo / FORMS_CACHE),
        results=ResultFile(repo / RESULTS_CACHE, tool="test"),
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


def step_delete_file(repo: Path, n: int) -> None:
    (repo / SOLUCIONS).unlink(missing_ok=True)


def step_restore(repo: Path, n: int) -> None:
    """Back to the samples: kept results from before the edits become valid again."""
    for folder in ("integrations", "catalog"):
        shutil.rmtree(repo / folder)
    fresh = copy_repo(repo.parent / f"fresh-{n}")
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
    step_delete_file,
    step_restore,
]

# A step, with a number it may use, and the clock: days from T0 (before, inside and after the
# certificates' validity, and near its start).
PLAN = st.lists(
    st.tuples(
        st.sampled_from(STEPS),
        st.integers(0, 1000),
        st.sampled_from([0, 3, 4, 6, 30, 1700, 1820, 1830, 1900, 4000]),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=PLAN)
def test_cached_and_uncached_runs_say_the_same(
    tmp_path_factory: pytest.TempPathFactory, plan: list[Any]
) -> None:
    repo = copy_repo(tmp_path_factory.mktemp("incremental") / "repo")
    now = T0
    validate(repo, edges=cached(repo), now=now)  # every result kept
    for step, n, days in plan:
        step(repo, n)
        now = T0 + timedelta(days=days, hours=n % 24)
        with_cache = validate(repo, edges=cached(repo), now=now)
        without = validate(repo, edges=DocumentEdges(), now=now)
        assert seen(with_cache) == seen(without), step.__name__


def test_nothing_changed_reuses_every_result_and_writes_nothing(sample_repo: Path) -> None:
    first = validate(sample_repo, edges=cached(sample_repo), now=T0)
    cache = sample_repo / RESULTS_CACHE
    written = cache.stat().st_mtime_ns, cache.read_bytes()
    again = validate(sample_repo, edges=cached(sample_repo), now=T0)
    assert seen(again) == seen(first)
    assert (cache.stat().st_mtime_ns, cache.read_bytes()) == written


def test_a_kept_result_is_used_not_recomputed(sample_repo: Path) -> None:
    """Proof that results are reused: a result planted in the cache is what validate reports."""
    validate(sample_repo, edges=cached(sample_repo), now=T0)
    cache = sample_repo / RESULTS_CACHE
    memory = ResultFile(cache, tool="test")
    state = json.loads(json.dumps(memory.load()))
    state["files"][PIRINEU]["diags"].append([1, 1, "PLANTED", "warning", "from the cache"])
    memory.save(state)
    report = validate(sample_repo, edges=cached(sample_repo), now=T0)
    assert "PLANTED" in {d.code for d in report.diagnostics}
    (sample_repo / PIRINEU).write_text((sample_repo / PIRINEU).read_text() + "\n")
    report = validate(sample_repo, edges=cached(sample_repo), now=T0)  # changed: checked again
    assert "PLANTED" not in {d.code for d in report.diagnostics}


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: raw.replace(b'"yaml"', b'"yamm"', 1),  # body changed: checksum fails
        lambda raw: b"not json at all",
        lambda raw: b"",
        lambda raw: raw.replace(b'"tool": "test"', b'"tool": "other"', 1),  # foreign
    ],
)
def test_a_damaged_or_foreign_cache_is_ignored(sample_repo: Path, damage: Any) -> None:
    expected = seen(validate(sample_repo, edges=DocumentEdges(), now=T0))
    validate(sample_repo, edges=cached(sample_repo), now=T0)
    cache = sample_repo / RESULTS_CACHE
    cache.write_bytes(damage(cache.read_bytes()))
    assert seen(validate(sample_repo, edges=cached(sample_repo), now=T0)) == expected


def test_results_of_another_shape_are_checked_again(sample_repo: Path) -> None:
    """A well-formed cache whose entries are not what this version writes: no traceback."""
    expected = seen(validate(sample_repo, edges=DocumentEdges(), now=T0))
    validate(sample_repo, edges=cached(sample_repo), now=T0)
    memory = ResultFile(sample_repo / RESULTS_CACHE, tool="test")
    state = json.loads(json.dumps(memory.load()))
    for rel, entry in state["files"].items():
        state["files"][rel] = {**entry, "positions": "nonsense", "model": {"fp": 1}}
    memory.save(state)
    assert seen(validate(sample_repo, edges=cached(sample_repo), now=T0)) == expected


def test_no_cache_option_reads_and_writes_no_cache(sample_repo: Path, run_cli: Any) -> None:
    result = run_cli(["validate", "--repo", str(sample_repo), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert not (sample_repo / ".provisioner").exists()
    result = run_cli(["validate", "--repo", str(sample_repo)])
    assert result.exit_code == 0
    assert (sample_repo / RESULTS_CACHE).is_file()
