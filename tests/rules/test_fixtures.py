"""Every rule has a fixture that breaks it and one that passes; the schema agrees with the loader.

Each file in tests/fixtures/integrations/ says in its header which codes it must produce
(`# expect: CODE ...` or `none`) and whether the generated JSON Schema accepts it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from provisioner.rules import all_codes
from provisioner.rules.run import validate
from tests.conftest import NOW, ROOT, without_form_fields

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "integrations").glob("*.yaml"))
SAMPLE = "integrations/8100560009/serveis-informatics-pirineu.yaml"


def header(path: Path, key: str) -> str | None:
    m = re.search(rf"^# {key}: (.*)$", path.read_text(encoding="utf-8"), re.M)
    return m.group(1).strip() if m else None


def place(repo: Path, fixture: Path) -> str:
    """Put the fixture where the Alta Ribagorça sample is, next to its certificate and form.

    The fixtures change IPs and modalities that the sample's signed form does not hold: the
    form's fields are compared in tests/documents/test_form_binding.py, not here.
    """
    without_form_fields(repo)
    (repo / SAMPLE).write_bytes(fixture.read_bytes())
    return SAMPLE


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_fixture_produces_expected_codes(sample_repo: Path, fixture: Path) -> None:
    rel = place(sample_repo, fixture)
    report = validate(sample_repo, now=NOW)
    mine = [d for d in report.diagnostics if d.file == rel]
    expected = (header(fixture, "expect") or "none").split()
    found = {d.code for d in mine}
    if expected == ["none"]:
        assert [d for d in mine if d.is_error] == [], mine
        assert report.ok, report.diagnostics
    else:
        assert set(expected) <= found, mine
    declared = {c.code: c.severity for c in all_codes()}
    for d in mine:
        assert d.line >= 1 and d.column >= 1
        assert d.message and declared.get(d.code) == d.severity, d


def integration_schema() -> dict[str, object]:
    loaded = json.loads((ROOT / "schemas" / "integration.schema.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(
    "fixture", [f for f in FIXTURES if header(f, "schema")], ids=lambda p: p.stem
)
def test_schema_agrees_with_loader_on_fixtures(sample_repo: Path, fixture: Path) -> None:
    claimed_valid = header(fixture, "schema") == "valid"
    data = yaml.safe_load(fixture.read_text(encoding="utf-8"))
    schema_ok = jsonschema.Draft202012Validator(integration_schema()).is_valid(data)
    assert schema_ok == claimed_valid
    if not schema_ok:  # whatever the schema refuses, the loader refuses too
        rel = place(sample_repo, fixture)
        assert validate(sample_repo, now=NOW).errors_in(rel)


def test_schema_accepts_every_shipped_sample() -> None:
    validator = jsonschema.Draft202012Validator(integration_schema())
    samples = sorted((ROOT / "integrations").rglob("*.yaml"))
    assert samples
    for sample in samples:
        errors = list(validator.iter_errors(yaml.safe_load(sample.read_text(encoding="utf-8"))))
        assert errors == [], (sample, errors)


def test_shipped_samples_validate_cleanly() -> None:
    report = validate(ROOT, now=NOW)
    assert report.files >= 3
    # One sample is a second provider that asked for two modalities: the subset is worth a word.
    (subset,) = report.diagnostics
    assert (subset.file, subset.code) == (
        "integrations/0805690004/gestio-municipal-oberta.yaml",
        "MODALITY-SUBSET",
    )
    assert "HESTIA_EXPEDIENT, HESTIA_RECURSOS, HESTIA_TRAMITS, HESTIA_RESOLUCIORECURS" in (
        subset.message
    )


def test_a_partial_file_still_gets_the_eligibility_verdict(sample_repo: Path) -> None:
    """The procedure's first question is answered before the documents arrive."""
    path = sample_repo / "integrations/2506130005/nou.yaml"
    path.parent.mkdir()
    path.write_text(
        'fp: "270003"\n'
        'entity: {ine10: "2506130005", name: "Ajuntament del Pont de Suert", nif: P2500000B}\n',
        encoding="utf-8",
    )
    report = validate(sample_repo, [path])
    found = {d.code for d in report.diagnostics}
    assert {"SCHEMA-MISSING", "ENTITY-DEPENDS-ON-ABSS"} <= found
    assert "NIF-CHECK" in found  # the entity's NIF is checked too
    path.write_text('fp: "270003"\nentity: {ine10: "1700000001"}\n', encoding="utf-8")
    assert "ENTITY-NOT-ELIGIBLE" not in {d.code for d in validate(sample_repo, [path]).diagnostics}
    path.write_text(
        'fp: "1"\nentity: {ine10: "1700000001", name: "Ajuntament Inventat", nif: P0805500F}\n',
        encoding="utf-8",
    )
    codes = {d.code for d in validate(sample_repo, [path]).diagnostics}
    assert "ENTITY-NOT-ELIGIBLE" in codes
    path.write_text("- a list\n", encoding="utf-8")
    assert "ENTITY-NOT-ELIGIBLE" not in {d.code for d in validate(sample_repo, [path]).diagnostics}
