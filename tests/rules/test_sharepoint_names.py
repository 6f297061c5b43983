"""Names SharePoint cannot hold fail in review (DOCUMENT-NAME, FOLDER-NAME, CATALOG-SHAREPOINT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.rules.run import validate
from provisioner.sharepoint_names import name_problem
from tests.conftest import NOW, edit

PIRINEU = "integrations/8100560009/serveis-informatics-pirineu.yaml"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ('a"b.pdf', "characters SharePoint refuses"),
        ("a*b.pdf", "characters SharePoint refuses"),
        ("a:b.pdf", "characters SharePoint refuses"),
        ("a<b>.pdf", "characters SharePoint refuses"),
        ("a?.pdf", "characters SharePoint refuses"),
        ("a\\b.pdf", "characters SharePoint refuses"),
        ("a|b.pdf", "characters SharePoint refuses"),
        (" form.pdf", "starts or ends with a space or a dot"),
        ("form.pdf ", "starts or ends with a space or a dot"),
        (".form.pdf", "starts or ends with a space or a dot"),
        ("form.", "starts or ends with a space or a dot"),
        ("CON", "reserves"),
        ("con.pdf", "reserves"),
        ("LPT1.pem", "reserves"),
        ("desktop.ini", "reserves"),
        ("x_vti_y.pdf", "reserves"),
        ("~$form.pdf", "reserves"),
        ("form\u202egdp.pdf", "U+202E"),
        ("form\u2066.pdf", "U+2066"),
        ("tab\there.pdf", "U+0009"),
        ("zero\u200bwidth.pdf", "U+200B"),
        ("a" * 129 + ".pdf", "at most 128"),
        ("", "is empty"),
    ],
)
def test_names_sharepoint_cannot_hold(name: str, problem: str) -> None:
    found = name_problem(name)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "name",
    [
        "FP265594-formulari-integracio.pdf",
        "CDA l'Hospitalet #1 100% & Cia + Co.pem",
        "Àèéíïòóúüç·l.pdf",
        "console.pdf",  # only the exact device names are reserved
        "a" * 128,
    ],
)
def test_names_sharepoint_holds(name: str) -> None:
    assert name_problem(name) is None


def test_an_existing_document_with_an_unusable_name_fails_validation(sample_repo: Path) -> None:
    folder = sample_repo / "integrations" / "8100560009" / "forms"
    (folder / "FP265594-formulari-integracio.pdf").rename(folder / "formulari.")
    edit(sample_repo, PIRINEU, "forms/FP265594-formulari-integracio.pdf", "forms/formulari.")
    report = validate(sample_repo, now=NOW)
    mine = [d for d in report.diagnostics if d.file == PIRINEU and d.is_error]
    assert [d.code for d in mine] == ["DOCUMENT-NAME"]
    assert "'formulari.'" in mine[0].message and "rename the file" in mine[0].message
    assert (mine[0].line, mine[0].column) > (1, 0)


def test_a_long_document_name_can_overflow_the_whole_path(sample_repo: Path) -> None:
    edit(
        sample_repo,
        "catalog/service.yaml",
        "base_folder: SERVEIS/Hèstia/01 Integració/99 Integracions",
        "base_folder: " + "/".join(["carpeta" + "x" * 100] * 3),
    )
    name = "f" * 120 + ".pdf"
    folder = sample_repo / "integrations" / "8100560009" / "forms"
    (folder / "FP265594-formulari-integracio.pdf").rename(folder / name)
    edit(sample_repo, PIRINEU, "forms/FP265594-formulari-integracio.pdf", f"forms/{name}")
    report = validate(sample_repo, now=NOW)
    found = [d for d in report.diagnostics if d.code == "DOCUMENT-NAME"]
    assert found and "SharePoint allows 400" in found[0].message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "site_url: https://aoc.sharepoint.com/sites/Tecnologia",
            "site_url: http://aoc.sharepoint.com/sites/Tecnologia",
            "sharepoint.site_url",
        ),
        (
            "site_url: https://aoc.sharepoint.com/sites/Tecnologia",
            "site_url: https://aoc.sharepoint.com/sites/Tecnologia?x=1",
            "sharepoint.site_url",
        ),
        ("library: SUPORT_TECNIC", "library: 'SUPORT:TECNIC'", "sharepoint.library"),
        (
            "base_folder: SERVEIS/Hèstia/01 Integració/99 Integracions",
            "base_folder: SERVEIS/Hèstia /99 Integracions",
            "sharepoint.base_folder",
        ),
    ],
)
def test_an_unusable_sharepoint_target_is_a_catalog_problem(
    sample_repo: Path, old: str, new: str, key: str
) -> None:
    edit(sample_repo, "catalog/service.yaml", old, new)
    report = validate(sample_repo, now=NOW)
    found = [d for d in report.diagnostics if d.code == "CATALOG-SHAREPOINT"]
    assert len(found) == 1 and found[0].message.startswith(key)
    assert found[0].file == "catalog/service.yaml" and found[0].line > 1
    assert report.catalog is None
