"""`hestia-provisioner validate` as a user runs it: formats, exit codes, checks across files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from provisioner.loading.schemas import stale_schemas
from provisioner.rules.run import validate
from tests.conftest import NOW, ROOT, edit

ALTA = "integrations/8100560009/serveis-informatics-pirineu.yaml"


def clone_sample(repo: Path, new_rel: str, replacements: list[tuple[str, str]]) -> None:
    """A second integration file next to the Alta Ribagorça sample, sharing its documents."""
    text = (repo / ALTA).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    (repo / new_rel).write_text(text, encoding="utf-8")


def test_json_format_counts_files_errors_and_warnings(
    sample_repo: Path, run_cli: Callable[..., Result]
) -> None:
    edit(sample_repo, ALTA, 'ine10: "8100560009"', 'ine10: "810056000"')
    edit(sample_repo, ALTA, "  - 203.0.113.10", "  - 10.0.0.1")
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["files"] == 3
    assert report["errors"] == sum(d["severity"] == "error" for d in report["diagnostics"])
    mine = {(d["code"], d["line"]) for d in report["diagnostics"] if d["file"] == ALTA}
    assert ("INE10-LEADING-ZERO", 5) in mine
    assert ("IP-POLICY", 14) in mine
    assert set(report["diagnostics"][0]) == {
        "file",
        "line",
        "column",
        "code",
        "severity",
        "message",
    }


def test_text_format_is_path_line_col_code(
    sample_repo: Path, run_cli: Callable[..., Result]
) -> None:
    edit(sample_repo, ALTA, "  - 198.51.100.0/29", "  - 198.51.100.5/29")
    result = run_cli(["validate", "--repo", str(sample_repo)])
    assert result.exit_code == 1
    assert f"{ALTA}:15:5: IP-HOST-BITS error:" in result.output
    assert "'198.51.100.0/29'" in result.output  # the fix is in the message


def test_github_format_annotates_the_diff(
    sample_repo: Path, run_cli: Callable[..., Result]
) -> None:
    edit(sample_repo, ALTA, "environment: PRE", "environment: PRE\nenviroment: PRO")
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "github"])
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if ALTA in x)
    assert line.startswith(f"::error file={ALTA},line=12,col=1,title=SCHEMA-UNKNOWN-FIELD::")


def test_markdown_format_is_a_table(sample_repo: Path, run_cli: Callable[..., Result]) -> None:
    edit(sample_repo, ALTA, '  name: "Consell Comarcal de l\'Alta Ribagorça"', '  name: "CC"')
    result = run_cli(["validate", "--repo", str(sample_repo), "--format", "markdown"])
    assert "| ⚠️ |" in result.output and "ENTITY-NAME-MISMATCH" in result.output


def test_warnings_alone_exit_zero(sample_repo: Path, run_cli: Callable[..., Result]) -> None:
    if not validate(sample_repo, now=NOW).ok:  # the samples must be clean for this to mean anything
        return
    edit(sample_repo, ALTA, '  name: "Consell Comarcal de l\'Alta Ribagorça"', '  name: "CC"')
    result = run_cli(["validate", "--repo", str(sample_repo)])
    assert result.exit_code == 0
    assert "ENTITY-NAME-MISMATCH warning" in result.output


def test_all_problems_in_all_files_at_once(sample_repo: Path) -> None:
    edit(sample_repo, ALTA, 'fp: "265594"', "fp: 265594")
    other = "integrations/0805690004/gestio-municipal-oberta.yaml"
    edit(sample_repo, other, "  nif: B17234568", "  nif: B17234569")
    edit(sample_repo, other, "  - 198.51.100.40", "  - 169.254.1.1")
    report = validate(sample_repo, now=NOW)
    codes = {(d.file, d.code) for d in report.diagnostics}
    assert (ALTA, "YAML-IMPLICIT-TYPE") in codes
    assert (other, "NIF-CHECK") in codes
    assert (other, "IP-POLICY") in codes


def test_same_entity_and_provider_twice(sample_repo: Path) -> None:
    clone_sample(sample_repo, "integrations/8100560009/copy.yaml", [('fp: "265594"', 'fp: "1"')])
    report = validate(sample_repo, now=NOW)
    dup = [d for d in report.diagnostics if d.code == "DUPLICATE-INTEGRATION"]
    assert len(dup) == 1  # reported once, on one file, naming the other
    assert {dup[0].file.rsplit("/", 1)[1], dup[0].message.rsplit("/", 1)[1].split(";")[0]} == {
        "copy.yaml",
        "serveis-informatics-pirineu.yaml",
    }


def test_same_fp_twice_and_same_folder(sample_repo: Path) -> None:
    clone_sample(
        sample_repo,
        "integrations/8100560009/other.yaml",
        [
            ("  nif: B65432106", "  nif: B17234568"),
            ("  - 203.0.113.10\n  - 198.51.100.0/29", "  - 192.0.2.99"),
        ],
    )
    report = validate(sample_repo, now=NOW)
    found = {d.code for d in report.diagnostics if "other.yaml" in d.file + d.message}
    assert {"DUPLICATE-FP", "FOLDER-DUPLICATE"} <= found


def test_same_ip_claimed_by_two_providers(sample_repo: Path) -> None:
    clone_sample(
        sample_repo,
        "integrations/8100560009/other.yaml",
        [
            ("  nif: B65432106", "  nif: B17234568"),
            ('fp: "265594"', 'fp: "999"'),
            ("  - 203.0.113.10\n", "  - 198.51.100.4\n"),
            ("  - 198.51.100.0/29\n", "  - 192.0.2.77\n"),
        ],
    )
    report = validate(sample_repo, now=NOW)
    claims = [d for d in report.diagnostics if d.code == "IP-CLAIMED-TWICE"]
    assert len(claims) == 1
    assert "198.51.100.0/29" in claims[0].message or "198.51.100.4" in claims[0].message


def test_same_provider_may_reuse_its_ips_for_another_entity(sample_repo: Path) -> None:
    (sample_repo / "integrations/0801930008").mkdir()
    shutil.copytree(
        sample_repo / "integrations/8100560009/certs", sample_repo / "integrations/0801930008/certs"
    )
    shutil.copytree(
        sample_repo / "integrations/8100560009/forms", sample_repo / "integrations/0801930008/forms"
    )
    clone_sample(
        sample_repo,
        "integrations/0801930008/serveis.yaml",
        [
            ('fp: "265594"', 'fp: "777"'),
            ('ine10: "8100560009"', 'ine10: "0801930008"'),
            (
                '  name: "Consell Comarcal de l\'Alta Ribagorça"',
                '  name: "Ajuntament de Barcelona"',
            ),
            ("  nif: P7500001H", "  nif: P0801900B"),
        ],
    )
    report = validate(sample_repo, now=NOW)
    assert not [d for d in report.diagnostics if d.code == "IP-CLAIMED-TWICE"]
    assert not [d for d in report.diagnostics if d.code == "LAYOUT-FOLDER"]


def test_file_in_the_wrong_folder_is_a_warning(sample_repo: Path) -> None:
    (sample_repo / "integrations/misc").mkdir()
    shutil.move(sample_repo / ALTA, sample_repo / "integrations/misc/alta.yaml")
    report = validate(sample_repo, now=NOW)
    layout = [d for d in report.diagnostics if d.code == "LAYOUT-FOLDER"]
    assert layout and layout[0].severity == "warning"


def test_symlink_leaving_the_repository_is_refused(sample_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.pem"
    outside.write_text("not here")
    (sample_repo / "integrations/8100560009/certs/link.pem").symlink_to(outside)
    edit(sample_repo, ALTA, "cda: certs/serveis-informatics-pirineu.pem", "cda: certs/link.pem")
    report = validate(sample_repo, now=NOW)
    assert any(
        d.code == "PATH-ESCAPES" and "symbolic link" in d.message for d in report.diagnostics
    )


def test_named_paths_report_only_those_files(
    sample_repo: Path, run_cli: Callable[..., Result]
) -> None:
    other = "integrations/0805690004/gestio-municipal-oberta.yaml"
    edit(sample_repo, other, "  nif: B17234568", "  nif: B17234569")
    result = run_cli(
        ["validate", "--repo", str(sample_repo), "--format", "json", str(sample_repo / ALTA)]
    )
    report = json.loads(result.output)
    assert report["files"] == 1
    assert all(d["file"] == ALTA for d in report["diagnostics"])


def test_usage_problems_exit_2(
    sample_repo: Path, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    assert run_cli(["validate", "--repo", str(tmp_path)]).exit_code == 2
    assert (
        run_cli(["validate", "--repo", str(sample_repo), str(sample_repo / "nope.yaml")]).exit_code
        == 2
    )
    assert run_cli(["validate", "--repo", str(sample_repo), str(tmp_path)]).exit_code == 2
    assert run_cli(["validate", "--format", "xml"]).exit_code == 2


def test_broken_catalog_is_reported_with_positions(sample_repo: Path) -> None:
    edit(sample_repo, "catalog/ip-policy.yaml", "max_prefix_v4: 24", "max_prefix_v4: '24'")
    edit(sample_repo, "catalog/entities.yaml", 'abss: "8100560009"}', 'abss: "1111111111"}')
    edit(sample_repo, "catalog/entities.yaml", "nif: P0801900B", "nif: P0801900C")
    report = validate(sample_repo, now=NOW)
    found = {(d.file, d.code) for d in report.diagnostics}
    assert ("catalog/ip-policy.yaml", "SCHEMA-TYPE") in found
    assert ("catalog/entities.yaml", "CATALOG-ABSS-UNKNOWN") in found
    assert ("catalog/entities.yaml", "CATALOG-NIF") in found
    assert not report.ok


def test_committed_schemas_are_current() -> None:
    assert stale_schemas(ROOT) == [], "run `make schemas` and commit schemas/"


def test_schema_command_writes_and_checks(
    sample_repo: Path, run_cli: Callable[..., Result]
) -> None:
    (sample_repo / "schemas/integration.schema.json").write_text("{}")
    assert run_cli(["schema", "--repo", str(sample_repo)]).exit_code == 1
    assert run_cli(["schema", "--repo", str(sample_repo), "--write"]).exit_code == 0
    assert run_cli(["schema", "--repo", str(sample_repo), "--check"]).exit_code == 0


def test_module_entry_point_runs(sample_repo: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "provisioner",
            "validate",
            "--repo",
            str(sample_repo),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1)
    assert json.loads(done.stdout)["files"] == 3
    assert "Traceback" not in done.stderr
