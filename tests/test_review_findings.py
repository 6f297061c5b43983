"""Bugs found in review: each test is an input a user could give and what they must see."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import edit, git_init

Run = Callable[..., Result]

ALTA = "integrations/8100560009/serveis-informatics-pirineu.yaml"
SERVICE = "catalog/service.yaml"


def codes(result: Result) -> set[str]:
    return {d["code"] for d in json.loads(result.output)["diagnostics"]}


# ----------------------------------------------------------------------------- paths in files


def test_a_nul_character_in_a_document_path_is_a_path_problem(
    sample_repo: Path, run_cli: Run
) -> None:
    edit(sample_repo, ALTA, "cda: certs/serveis-informatics-pirineu.pem", 'cda: "certs/a\\0b.pem"')
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert result.exit_code == 1
    assert "PATH-UNREADABLE" in codes(result)
    certs = ["certs", "--repo", str(sample_repo), "--expiring-within", "1"]
    assert run_cli(certs).exit_code == 1  # a CDA that cannot be read


@pytest.mark.parametrize("cda", ['"certs/a\\0b.pem"', "a" * 5000])
def test_request_info_survives_an_impossible_cda_path(
    sample_repo: Path, run_cli: Run, cda: str
) -> None:
    edit(sample_repo, ALTA, "cda: certs/serveis-informatics-pirineu.pem", f"cda: {cda}")
    result = run_cli(["message", "request-info", str(sample_repo / ALTA)])
    assert result.exit_code == 0
    assert "certificat" in result.output.lower()


# ----------------------------------------------------------------------------- IPs


def test_an_ipv6_zone_index_is_refused(sample_repo: Path, run_cli: Run) -> None:
    # A zone (%eth0) names an interface of the machine that reads the address: it means
    # nothing in APP's allowlist, and it must not reach the APP configuration.
    edit(sample_repo, ALTA, "  - 203.0.113.10", '  - "2001:db8::1%eth0"')
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert result.exit_code == 1
    assert "IP-INVALID" in codes(result)


# ----------------------------------------------------------------------------- the catalog


@pytest.mark.parametrize(
    "pattern",
    ['"FP{fp} {nom}"', '"FP{0}"', '"FP{fp"', '"FP{fp:>{ine10}}"', '"FP{fp.__class__}"'],
)
def test_an_unusable_folder_pattern_is_a_catalog_problem(
    sample_repo: Path, run_cli: Run, pattern: str
) -> None:
    edit(sample_repo, SERVICE, '"FP{fp} {entity_name}"', pattern)
    git_init(sample_repo)
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert result.exit_code == 1
    assert "CATALOG-FOLDER-PATTERN" in codes(result)
    assert run_cli(["plan", "--repo", str(sample_repo), "--env", "PRE"]).exit_code == 1
    message = run_cli(["message", "pre-ready", "--force", str(sample_repo / ALTA)])
    assert message.exit_code == 2


def test_a_huge_expiry_warning_is_a_schema_problem(sample_repo: Path, run_cli: Run) -> None:
    edit(
        sample_repo,
        SERVICE,
        "certificate_expiry_warning_days: 60",
        "certificate_expiry_warning_days: 999999999999",
    )
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert result.exit_code == 1
    assert "SCHEMA-VALUE" in codes(result) or "SCHEMA-INVALID" in codes(result)


def test_a_nul_character_in_a_trusted_root_is_a_catalog_problem(
    sample_repo: Path, run_cli: Run
) -> None:
    edit(sample_repo, SERVICE, "- trust/demo-root-ca.pem", '- "trust/a\\0b.pem"')
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert result.exit_code == 1
    # Refused as text before anything tries to open it.
    assert "TEXT-CONTROL" in codes(result)


# ----------------------------------------------------------------------------- command lines


def test_validate_a_file_named_through_dot_dot(
    sample_repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From inside an entity's folder, `../8100560009/x.yaml` is the same file, not a copy.
    monkeypatch.chdir(sample_repo / "integrations" / "8100560009")
    result = run_cli(["validate", "../8100560009/serveis-informatics-pirineu.yaml"])
    assert result.exit_code == 0, result.output
    assert "DUPLICATE" not in result.output


def test_validate_and_message_through_a_symlinked_folder(
    sample_repo: Path, run_cli: Run, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(sample_repo, target_is_directory=True)
    target = link / ALTA
    result = run_cli(["validate", "--repo", str(link), str(target)])
    assert result.exit_code == 0, result.output
    message = run_cli(["message", "head-of-service", str(target)])
    assert message.exit_code == 0, message.output
    assert "FP#265594" in message.output or "265594" in message.output


def test_message_for_a_file_outside_the_repository_is_a_usage_error(
    sample_repo: Path, run_cli: Run, tmp_path: Path
) -> None:
    outside = tmp_path / "draft.yaml"
    outside.write_bytes((sample_repo / ALTA).read_bytes())
    result = run_cli(["message", "head-of-service", str(outside), "--repo", str(sample_repo)])
    assert result.exit_code == 2


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_history_reads_a_bounded_amount_of_each_file(sample_repo: Path, run_cli: Run) -> None:
    git_init(sample_repo)
    os.symlink("/dev/zero", sample_repo / "integrations" / "8100560009" / "endless.yaml")
    result = run_cli(["history", "--repo", str(sample_repo)])
    assert result.exit_code == 0


# ----------------------------------------------------------------------------- found in the lead's pass


def test_carrier_grade_nat_is_refused(sample_repo: Path, run_cli: Run) -> None:
    edit(sample_repo, ALTA, "  - 203.0.113.10", "  - 100.64.0.1")
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert result.exit_code == 1
    found = json.loads(result.output)["diagnostics"]
    assert any(d["code"] == "IP-POLICY" and "non-global" in d["message"] for d in found)


def test_a_public_address_passes_the_policy(sample_repo: Path, run_cli: Run) -> None:
    edit(sample_repo, ALTA, "  - 203.0.113.10", "  - 8.8.8.8")
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert "IP-POLICY" not in codes(result)


def test_a_fifo_named_yaml_is_refused_without_hanging(sample_repo: Path, run_cli: Run) -> None:
    os.mkfifo(sample_repo / "integrations/8100560009/pipe.yaml")
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert result.exit_code == 1
    found = json.loads(result.output)["diagnostics"]
    assert any(d["code"] == "FILE-UNREADABLE" and d["file"].endswith("pipe.yaml") for d in found)


def test_fp_numbers_with_leading_zeros_are_the_same_ticket(sample_repo: Path, run_cli: Run) -> None:
    other = "integrations/0805690004/gestio-municipal-oberta.yaml"
    edit(sample_repo, other, 'fp: "265702"', 'fp: "0265594"')
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert "DUPLICATE-FP" in codes(result)
