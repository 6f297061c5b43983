"""`message request-info` asks for exactly what is missing or wrong, and says why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from provisioner.demo import pki as demo_pki
from tests.conftest import edit

PRE = "integrations/8100560009/serveis-informatics-pirineu.yaml"
FORM = "integrations/8100560009/forms/FP265594-formulari-integracio.pdf"
CDA = "integrations/8100560009/certs/serveis-informatics-pirineu.pem"
Run = Callable[..., Result]


@pytest.fixture(scope="module")
def ca() -> demo_pki.Issued:
    return demo_pki.make_root_ca("Desk DEMO Root", key_type="ec", key_size=256)


def asked(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("- ")]


def test_an_unsigned_form_is_named_and_nothing_else_asked(sample_repo: Path, run_cli: Run) -> None:
    (sample_repo / FORM).write_bytes(demo_pki.make_form_pdf([("Ens", "Consell Comarcal")]))
    result = run_cli(["message", "request-info", str(sample_repo / PRE)])
    assert result.exit_code == 0, result.output
    (line,) = asked(result)
    assert "signat digitalment pel Consell Comarcal de l'Alta Ribagorça" in line
    assert "no porta cap signatura digital" in line


def test_a_form_signed_by_the_provider_names_the_signer(
    sample_repo: Path, run_cli: Run, ca: demo_pki.Issued
) -> None:
    signer = demo_pki.make_signer(
        ca, "Serveis Informàtics del Pirineu SL", "B65432106", key_type="ec", key_size=256
    )
    pdf = demo_pki.make_form_pdf([("Ens", "Consell Comarcal")])
    (sample_repo / FORM).write_bytes(demo_pki.sign_pdf(pdf, signer))
    result = run_cli(["message", "request-info", str(sample_repo / PRE)])
    assert result.exit_code == 0, result.output
    (line,) = asked(result)
    assert "està signat per" in line and "Serveis Informàtics del Pirineu SL" in line
    assert "l'ha de signar l'ens, no el proveïdor" in line


def test_a_refused_cda_says_why(sample_repo: Path, run_cli: Run, ca: demo_pki.Issued) -> None:
    (sample_repo / CDA).write_bytes(ca.pem())  # a CA certificate, not an application's
    result = run_cli(["message", "request-info", str(sample_repo / PRE)])
    assert result.exit_code == 0, result.output
    (line,) = asked(result)
    assert "un nou certificat d'aplicació (CDA)" in line
    assert "és d'una autoritat de certificació" in line


def test_refused_ips_are_named(sample_repo: Path, run_cli: Run) -> None:
    edit(sample_repo, PRE, "203.0.113.10", "10.1.2.3")
    result = run_cli(["message", "request-info", str(sample_repo / PRE)])
    assert result.exit_code == 0, result.output
    (line,) = asked(result)
    assert "no podem autoritzar 10.1.2.3" in line and "198.51.100.0/29" not in line


def test_nothing_received_asks_for_all_three(sample_repo: Path, run_cli: Run) -> None:
    path = sample_repo / "integrations/8100560009/nou.yaml"
    path.write_text(
        'fp: "270002"\n'
        'entity: {ine10: "8100560009", name: "Consell Comarcal de l\'Alta Ribagorça", '
        "nif: P7500001H}\n"
        'provider: {name: "Altre Proveïdor SL", nif: B17234568}\n'
        "environment: PRE\n",
        encoding="utf-8",
    )
    result = run_cli(["message", "request-info", str(path)])
    assert result.exit_code == 0, result.output
    lines = asked(result)
    assert len(lines) == 3
    assert "formulari" in lines[0] and "CDA" in lines[1] and "IPs" in lines[2]
    assert "a través del proveïdor Altre Proveïdor SL" in result.output
