"""`register import FILE`: the head of service's list replaces the register in one reviewed PR."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.catalog import load_catalog
from provisioner.cli import cli

REGISTER = "catalog/entities.yaml"
HEADING: list[object] = ["INE10", "Nom", "NIF", "Tipus", "ABSS"]
ROWS: list[list[object]] = [
    ["0829890005", "Ajuntament de Vic", "P0830100D", "ajuntament", ""],
    ["8100560009", "Consell Comarcal de l'Alta Ribagorça", "P7500001H", "", ""],
    ["2506130005", "Ajuntament del Pont de Suert", "", "", "8100560009"],
    ["0805690004", "Ajuntament de Castelldefels", "P0805500F", "Ajuntament", ""],
]


def run(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["register", "import", *args, "--repo", str(repo)], catch_exceptions=False
    )


def write_csv(path: Path, rows: Sequence[Sequence[object]], sep: str = ";") -> Path:
    lines = [sep.join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def test_csv_replaces_the_register_sorted_and_reports_changes(
    sample_repo: Path, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "llista.csv", [HEADING, *ROWS])
    result = run(sample_repo, str(source))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "- 0801930008 Ajuntament de Barcelona" in out
    assert "- 0810130006 Ajuntament de l'Hospitalet de Llobregat" in out
    assert "- 2500870003 Ajuntament de Barruera" in out
    assert "+ " not in out  # nothing new: every row was already there
    assert "wrote catalog/entities.yaml: 3 may integrate, 1 depend on an ABSS" in out
    text = (sample_repo / REGISTER).read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/catalog-entities.schema")
    order = [text.index(i) for i in ("0805690004", "0829890005", "8100560009")]
    assert order == sorted(order)
    catalog, problems = load_catalog(sample_repo)
    assert catalog is not None, problems
    assert catalog.eligible_by_ine10["8100560009"].kind == "consell_comarcal"
    # Importing the same list again changes nothing: stable output.
    again = run(sample_repo, str(source))
    assert again.exit_code == 0 and "unchanged catalog/entities.yaml" in again.output
    assert (sample_repo / REGISTER).read_text(encoding="utf-8") == text


def test_xlsx_with_numbers_that_lost_their_leading_zero(sample_repo: Path, tmp_path: Path) -> None:
    rows: list[list[object]] = [
        [*HEADING, "article"],
        [829890005, "Ajuntament de Vic", "P0830100D", "ajuntament", None, None],
        [8100560009, "Consell Comarcal de l'Alta Ribagorça", "P7500001H", None, None, None],
        [2506130005, "Ajuntament del Pont de Suert", None, None, 8100560009, None],
        [1700000001, "Mancomunitat Inventada", "P0805500F", "mancomunitat", None, "la"],
        [None, None, None, None, None, None],
    ]
    source = write_xlsx(tmp_path / "llista.xlsx", rows)
    result = run(sample_repo, str(source))
    assert result.exit_code == 0, result.output
    assert "+ 1700000001 Mancomunitat Inventada" in result.output
    catalog, _ = load_catalog(sample_repo)
    assert catalog is not None
    assert "0829890005" in catalog.eligible_by_ine10  # the zero a number cell lost is back
    assert catalog.eligible_by_ine10["1700000001"].article == "la"


def test_refused_rows_are_all_reported_and_nothing_is_written(
    sample_repo: Path, tmp_path: Path
) -> None:
    before = (sample_repo / REGISTER).read_bytes()
    rows: list[list[object]] = [
        HEADING,
        *ROWS,
        ["829890005", "Text sense zero", "P0830100D", "", ""],
        ["0829890005", "Ajuntament de Vic (bis)", "P0830100D", "", ""],
        ["0801930008", "Ajuntament de Barcelona", "P0801900X", "", ""],
        ["0801930009", "", "P0801900B", "", ""],
        ["0801930007", "Sense NIF", "", "", ""],
        ["2500870003", "Ajuntament de Barruera", "", "", "0000000000"],
        ["0801930006", "Tipus estrany", "P0801900B", "ciutat", ""],
        ["0801930005", "Nom\u202eamagat", "P0801900B", "", ""],
    ]
    result = run(sample_repo, str(write_csv(tmp_path / "l.csv", rows, ",")))
    assert result.exit_code == 1
    out = result.output
    for line, reason in [
        (6, "leading zero was probably lost"),
        (7, "already on row 2"),
        (8, "check character"),
        (9, "the name is empty"),
        (10, "needs its NIF"),
        (11, "abss 0000000000 is not an entity of this list"),
        (12, "kind 'ciutat'"),
        (13, "direction-changing"),
    ]:
        assert f"l.csv:{line}: refused: " in out and reason in out, (line, reason, out)
    assert "8 row(s) refused: nothing written" in out
    assert (sample_repo / REGISTER).read_bytes() == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"\xff\xfe broken", "CSV UTF-8"),
        (b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
    ],
)
def test_unreadable_lists_are_usage_errors(
    sample_repo: Path, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "llista.csv"
    path.write_bytes(content)
    result = run(sample_repo, str(path))
    assert result.exit_code == 2 and expected in result.output


def test_a_bad_heading_and_dry_run(sample_repo: Path, tmp_path: Path) -> None:
    bad = run(sample_repo, str(write_csv(tmp_path / "a.csv", [["codi", "Nom", "Nom"], ["1"]])))
    assert bad.exit_code == 1
    assert "unknown column 'codi'" in bad.output and "no ine10 column" in bad.output
    assert "column name appears twice" in bad.output
    before = (sample_repo / REGISTER).read_bytes()
    rows: list[list[object]] = [
        HEADING,
        *ROWS,
        ["1700000001", "Consorci Nou", "P0805500F", "consorci", ""],
    ]
    dry = run(sample_repo, str(write_csv(tmp_path / "b.csv", rows)), "--dry-run")
    assert dry.exit_code == 0 and "+ 1700000001 Consorci Nou" in dry.output
    assert "nothing written" in dry.output
    assert (sample_repo / REGISTER).read_bytes() == before
    other = tmp_path / "llista.ods"
    other.write_text("x", encoding="utf-8")
    assert run(sample_repo, str(other)).exit_code == 2


def test_changes_and_kept_article_overrides(sample_repo: Path, tmp_path: Path) -> None:
    rows = [HEADING, *ROWS]
    run(sample_repo, str(write_csv(tmp_path / "a.csv", rows)))
    text = (sample_repo / REGISTER).read_text(encoding="utf-8")
    (sample_repo / REGISTER).write_text(
        text.replace(
            '"Ajuntament de Vic", nif: "P0830100D", kind: ajuntament}',
            '"Ajuntament de Vic", nif: "P0830100D", kind: ajuntament, article: ""}',
        ),
        encoding="utf-8",
    )
    rows[1] = ["0829890005", "Ajuntament de Vic", "P0830100D", "altres", ""]
    rows[3] = ["2506130005", "Ajuntament del Pont de Suert", "P2500000A", "", ""]
    result = run(sample_repo, str(write_csv(tmp_path / "b.csv", rows)))
    assert result.exit_code == 0, result.output
    assert "~ 0829890005 Ajuntament de Vic: kind" in result.output
    assert "~ 2506130005 Ajuntament del Pont de Suert: may integrate" in result.output
    catalog, _ = load_catalog(sample_repo)
    assert catalog is not None
    assert catalog.eligible_by_ine10["0829890005"].article == ""  # the override is kept
