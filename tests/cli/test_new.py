"""`new`: start an integration from a ticket, with flags (scripts) or prompts (a terminal)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from provisioner.cli import cli
from provisioner.demo import pki as demo_pki
from provisioner.rules.run import validate
from tests.conftest import ROOT

SAMPLE_CDA = ROOT / "integrations/8100560009/certs/serveis-informatics-pirineu.pem"
SAMPLE_FORM = ROOT / "integrations/8100560009/forms/FP265594-formulari-integracio.pdf"
ALTA = "8100560009"


def run(repo: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["new", *args, "--repo", str(repo)], input=input, catch_exceptions=False
    )


def flags(*extra: str, entity: str = "vic") -> list[str]:
    return [
        "--fp",
        "270001",
        "--entity",
        entity,
        "--provider-name",
        "Altre Proveïdor SL",
        "--provider-nif",
        "B17234568",
        *extra,
    ]


def test_flags_write_a_complete_file_that_validates(empty_repo: Path) -> None:
    """The Alta Ribagorça sample's own documents, started again from its ticket."""
    result = run(
        empty_repo,
        "--fp",
        "FP#265594",
        "--entity",
        "alta ribagorça",
        "--provider-name",
        "Serveis Informàtics del Pirineu SL",
        "--provider-nif",
        "B65432106",
        "--cda",
        str(SAMPLE_CDA),
        "--form",
        str(SAMPLE_FORM),
        "--ip",
        "203.0.113.10",
        "--ip",
        "198.51.100.0/29",
    )
    assert result.exit_code == 0, result.output
    rel = f"integrations/{ALTA}/serveis-informatics-pirineu.yaml"
    assert f"wrote {rel}" in result.output
    assert "copied certs/serveis-informatics-pirineu.pem" in result.output
    assert "copied forms/FP265594-formulari-integracio.pdf" in result.output
    assert "0 error(s)" in result.output and "head-of-service" in result.output
    text = (empty_repo / rel).read_text(encoding="utf-8")
    assert text.startswith(
        "# yaml-language-server: $schema=../../schemas/integration.schema.json\n"
    )
    data = yaml.safe_load(text)
    assert data["entity"] == {
        "ine10": ALTA,
        "name": "Consell Comarcal de l'Alta Ribagorça",
        "nif": "P7500001H",
    }
    assert data["fp"] == "265594" and data["modalities"] == "all"
    assert data["environment"] == "PRE"
    copied = empty_repo / "integrations" / ALTA / data["form"]
    assert copied.read_bytes() == SAMPLE_FORM.read_bytes()
    assert validate(empty_repo).ok


def test_what_is_missing_and_the_message_to_send(empty_repo: Path) -> None:
    result = run(empty_repo, *flags("--cda", str(SAMPLE_CDA)))
    assert result.exit_code == 1
    rel = "integrations/0829890005/altre-proveidor.yaml"
    assert f"wrote {rel}" in result.output
    assert "SCHEMA-MISSING" in result.output  # validate's own report
    assert "signat digitalment per l'Ajuntament de Vic: encara no l'hem rebut" in result.output
    assert "- les IPs públiques" in result.output
    assert f"message request-info {rel}" in result.output
    # The message itself works on the file as written.
    message = CliRunner().invoke(cli, ["message", "request-info", str(empty_repo / rel)])
    assert message.exit_code == 0 and "de l'Ajuntament de Vic" in message.output


def test_never_overwrites(empty_repo: Path) -> None:
    assert run(empty_repo, *flags()).exit_code == 1
    path = empty_repo / "integrations/0829890005/altre-proveidor.yaml"
    before = path.read_bytes()
    again = run(empty_repo, *flags("--ip", "203.0.113.9"))
    assert again.exit_code == 1 and "already exists" in again.output
    assert path.read_bytes() == before
    # A document with the same name and other content is not replaced either.
    path.unlink()
    (path.parent / "forms").mkdir()
    (path.parent / "forms/FP270001-formulari-integracio.pdf").write_bytes(b"%PDF other")
    clash = run(empty_repo, *flags("--form", str(SAMPLE_FORM)))
    assert clash.exit_code == 1 and "never replaced" in clash.output
    assert not path.exists()


def test_the_same_document_twice_is_kept(empty_repo: Path) -> None:
    folder = empty_repo / "integrations/0829890005/certs"
    folder.mkdir(parents=True)
    (folder / "altre-proveidor.pem").write_bytes(SAMPLE_CDA.read_bytes())
    result = run(empty_repo, *flags("--cda", str(SAMPLE_CDA)))
    assert "kept certs/altre-proveidor.pem (already there, same content)" in result.output


def test_a_private_key_is_never_copied(empty_repo: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key = demo_pki.new_key("ec", 256)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    leaked = tmp_path / "cda.pem"
    leaked.write_bytes(pem)
    result = run(empty_repo, *flags("--cda", str(leaked)))
    assert result.exit_code == 1 and "private key" in result.output
    assert not any((empty_repo / "integrations").rglob("*"))


def test_dependent_and_unlisted_entities_get_their_message_and_no_file(
    empty_repo: Path,
) -> None:
    dependent = run(empty_repo, *flags(entity="pont de suert"))
    assert dependent.exit_code == 1
    assert "Message to send (abss-redirect)" in dependent.output
    assert "el Consell Comarcal de l'Alta Ribagorça (INE10 8100560009)" in dependent.output
    unlisted = run(empty_repo, *flags(entity="1700000001"))
    assert unlisted.exit_code == 1
    assert "Message to send (not-eligible)" in unlisted.output and "FP#270001" in unlisted.output
    assert not any((empty_repo / "integrations").rglob("*"))


def test_prompts_on_a_terminal(empty_repo: Path) -> None:
    answers = "\n".join(
        [
            "270002",  # FP
            "ajuntament",  # several match: a numbered choice follows
            "3",  # Ajuntament de Vic (register order)
            "Proveïdor Interactiu SA",
            "a08123457",
            str(SAMPLE_CDA),
            "",  # the form has not arrived
            "203.0.113.7, 203.0.113.8",
            "pre",
        ]
    )
    result = run(empty_repo, "--interactive", input=answers + "\n")
    assert result.exit_code == 1, result.output
    assert "Which one" in result.output
    rel = "integrations/0829890005/proveidor-interactiu.yaml"
    data = yaml.safe_load((empty_repo / rel).read_text(encoding="utf-8"))
    assert data["provider"] == {"name": "Proveïdor Interactiu SA", "nif": "A08123457"}
    assert data["ips"] == ["203.0.113.7", "203.0.113.8"] and data["cda"].startswith("certs/")
    assert "form" not in data
    assert "message request-info" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--fp", "1"], "give --entity, --provider-name, --provider-nif"),
        ([*flags()[:1], "ABC", *flags()[2:]], "must be digits"),
        (flags(entity="ajuntament"), "give the INE10"),
        (
            ["--fp", "1", "--entity", "vic", "--provider-name", "X\u202eY", "--provider-nif", "B1"],
            "direction-changing",
        ),
    ],
)
def test_usage_errors(empty_repo: Path, args: list[str], expected: str) -> None:
    result = run(empty_repo, *args, "--no-interactive")
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert not any((empty_repo / "integrations").rglob("*"))
