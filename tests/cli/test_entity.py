"""`entity QUERY`: the procedure's first action as one command."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from provisioner.cli import cli
from tests.conftest import edit


def run(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["entity", *args, "--repo", str(repo)], catch_exceptions=False)


def test_an_eligible_entity_by_ine10_nif_or_name(sample_repo: Path) -> None:
    for query in ("0829890005", "829890005", "P0830100D", "p0830100d", "ajuntament de vic", "VIC"):
        result = run(sample_repo, query)
        assert result.exit_code == 0, (query, result.output)
        assert result.output.startswith("Ajuntament de Vic (INE10 0829890005, NIF P0830100D)")
        assert "eligible" in result.output and "new --entity 0829890005" in result.output


def test_search_ignores_accents_case_and_apostrophes(sample_repo: Path) -> None:
    for query in ("ribagorca", "l’alta RIBAGORÇA", "Hospitalet"):
        result = run(sample_repo, query)
        assert result.exit_code == 0, (query, result.output)


def test_a_dependent_entity_gets_the_redirect_from_the_register(sample_repo: Path) -> None:
    result = run(sample_repo, "pont de suert")
    assert result.exit_code == 1
    assert "depends on the ABSS Consell Comarcal de l'Alta Ribagorça (INE10 8100560009)" in (
        result.output
    )
    assert "Message to send (abss-redirect)" in result.output
    assert "l'Ajuntament del Pont de Suert (INE10 2506130005)" in result.output
    assert "en el vostre cas el Consell Comarcal de l'Alta Ribagorça (INE10 8100560009)" in (
        result.output
    )


def test_an_unlisted_entity_is_escalated(sample_repo: Path) -> None:
    bare = run(sample_repo, "1700000001")
    assert bare.exit_code == 1
    assert "not on the list" in bare.output and "give --fp" in bare.output
    full = run(
        sample_repo,
        "Ajuntament Inventat",
        "--fp",
        "270010",
        "--provider-name",
        "Altre SL",
        "--provider-nif",
        "B17234568",
    )
    assert full.exit_code == 1
    assert "Message to send (not-eligible)" in full.output
    assert "FP#270010" in full.output
    assert "l'Ajuntament Inventat a través del proveïdor Altre SL (NIF B17234568)" in full.output
    by_nif = run(sample_repo, "P9999999X", "--fp", "1", "--format", "json")
    data = json.loads(by_nif.stdout)
    assert data["status"] == "not-listed" and data["nif"] == "P9999999X"
    assert "l'ens amb NIF P9999999X" in data["message_text"]


def test_several_matches_are_listed_and_refused(sample_repo: Path) -> None:
    result = run(sample_repo, "ajuntament")
    assert result.exit_code == 2
    assert "6 entities match" in result.output and "Ajuntament de Barruera" in result.output
    as_json = run(sample_repo, "ajuntament", "--format", "json")
    assert len(json.loads(as_json.stdout)) == 6


def test_the_register_article_override_is_used(sample_repo: Path) -> None:
    edit(
        sample_repo,
        "catalog/entities.yaml",
        'name: "Ajuntament del Pont de Suert", abss: "8100560009"',
        'name: "Ajuntament del Pont de Suert", abss: "8100560009", article: ""',
    )
    result = run(sample_repo, "2506130005")
    assert "Hèstia: Ajuntament del Pont de Suert (INE10" in result.output


def test_a_broken_catalog_is_an_environment_error(sample_repo: Path) -> None:
    (sample_repo / "catalog/entities.yaml").write_text("eligible: [\n", encoding="utf-8")
    result = run(sample_repo, "vic")
    assert result.exit_code == 2 and "catalog cannot be loaded" in result.output
