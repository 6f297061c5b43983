"""The signed form is bound to its integration: one form, one integration, the register's
entity, and (when the catalog names them) the same provider NIF, IPs and CDA as the file.

The attacks of issue 11 run first on the shipped samples (whose demo forms carry the fields),
then with forms made here with the demo PKI.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from provisioner.demo import pki as demo_pki
from provisioner.documents.form import MAX_FORM_REVISIONS, check_form
from provisioner.rules.run import ValidationReport
from provisioner.rules.run import validate as validate_core
from provisioner.runtime import local_edges
from tests.conftest import edit

CASTELLDEFELS = "integrations/0805690004"
GESTIO = f"{CASTELLDEFELS}/gestio-municipal-oberta.yaml"
SOLUCIONS = f"{CASTELLDEFELS}/solucions-socials-digitals.yaml"
ALTA = "integrations/8100560009/serveis-informatics-pirineu.yaml"
ALTA_FORM = "integrations/8100560009/forms/FP265594-formulari-integracio.pdf"


def validate(repo: Path) -> ValidationReport:
    return validate_core(repo, edges=local_edges(repo))


def errors(repo: Path, rel: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in validate(repo).diagnostics:
        if d.file == rel and d.is_error:
            out.setdefault(d.code, []).append(d.message)
    return out


@pytest.fixture(scope="module")
def pki() -> tuple[demo_pki.Issued, demo_pki.Issued]:
    root = demo_pki.make_root_ca("Binding DEMO Root", key_type="ec", key_size=256)
    return root, demo_pki.make_intermediate_ca(root, key_type="ec", key_size=256)


@pytest.fixture
def repo(sample_repo: Path, pki: tuple[demo_pki.Issued, demo_pki.Issued]) -> Path:
    root, intermediate = pki
    (sample_repo / "catalog/trust/demo-root-ca.pem").write_bytes(root.pem())
    (sample_repo / "catalog/trust/demo-intermediate-ca.pem").write_bytes(intermediate.pem())
    return sample_repo


def alta_form(
    intermediate: demo_pki.Issued,
    signer: demo_pki.Issued | None = None,
    values: list[tuple[str, str]] | None = None,
    cda_pem: bytes | None = None,
) -> bytes:
    from cryptography import x509

    cda = x509.load_pem_x509_certificate(cda_pem) if cda_pem else None
    if values is None:
        values = demo_pki.form_values(
            provider_nif="B65432106", ips=["203.0.113.10", "198.51.100.0/29"], cda=cda
        )
    pdf = demo_pki.make_form_pdf([("Ens", "Alta Ribagorça")], form_values=values)
    signer = signer or demo_pki.make_signer(
        intermediate,
        "Consell Comarcal de l'Alta Ribagorça",
        "P7500001H",
        key_type="ec",
        key_size=256,
    )
    return demo_pki.sign_pdf(pdf, signer, [intermediate.cert])


def alta_cda(repo: Path, intermediate: demo_pki.Issued) -> bytes:
    cda = demo_pki.make_cda(
        intermediate, "app", "Serveis (DEMO)", nif="B65432106", key_type="ec", key_size=256
    )
    pem = cda.pem()
    (repo / "integrations/8100560009/certs/serveis-informatics-pirineu.pem").write_bytes(pem)
    return pem


# ----------------------------------------------------------------------------- the attacks


def test_the_samples_pass_with_every_field_compared(sample_repo: Path) -> None:
    report = validate(sample_repo)
    assert report.ok, report.diagnostics
    for rel, verified in report.form_verified.items():
        assert any("provider NIF, IPs, CDA SHA-256, CDA serial" in v for v in verified), rel


def test_one_form_for_two_integrations_is_refused(sample_repo: Path) -> None:
    """The attack: point one provider's form: at another provider's form of the same entity."""
    edit(
        sample_repo,
        GESTIO,
        "forms/FP265702-formulari-integracio.pdf",
        "forms/FP265610-formulari-integracio.pdf",
    )
    gestio, solucions = errors(sample_repo, GESTIO), errors(sample_repo, SOLUCIONS)
    assert "FORM-REUSED" in gestio and SOLUCIONS in gestio["FORM-REUSED"][0]
    assert "FORM-REUSED" in solucions and GESTIO in solucions["FORM-REUSED"][0]
    # The form's own fields say it was signed for the other provider.
    mismatches = " ".join(gestio["FORM-FIELD-MISMATCH"])
    assert "provider NIF 'A08123457'" in mismatches and "IPs" in mismatches


def test_a_provider_naming_itself_as_the_entity_is_refused(
    repo: Path, pki: tuple[demo_pki.Issued, demo_pki.Issued]
) -> None:
    """The attack: the provider signs with its own certificate (no organizationIdentifier) and
    the pull request writes the provider's name as the entity's name."""
    _root, intermediate = pki
    alta_cda(repo, intermediate)
    provider_cert = demo_pki.issue(
        demo_pki.name("Signatura DEMO", "Serveis Informàtics del Pirineu SL"),
        intermediate,
        key_type="ec",
        key_size=256,
        key_usage=("digital_signature", "content_commitment"),
    )
    (repo / ALTA_FORM).write_bytes(alta_form(intermediate, provider_cert))
    edit(
        repo,
        ALTA,
        'name: "Consell Comarcal de l\'Alta Ribagorça"',
        'name: "Serveis Informàtics del Pirineu SL"',
    )
    found = errors(repo, ALTA)
    assert "FORM-SIGNER-NOT-ENTITY" in found, found
    assert "Consell Comarcal de l'Alta Ribagorça" in found["FORM-SIGNER-NOT-ENTITY"][0]


def test_fields_of_the_signed_form_must_match_the_file(
    repo: Path, pki: tuple[demo_pki.Issued, demo_pki.Issued]
) -> None:
    _root, intermediate = pki
    pem = alta_cda(repo, intermediate)
    (repo / ALTA_FORM).write_bytes(alta_form(intermediate, cda_pem=pem))
    assert errors(repo, ALTA) == {}
    # A new IP in the file that the entity did not sign for.
    edit(repo, ALTA, "  - 203.0.113.10\n", "  - 203.0.113.10\n  - 203.0.113.99\n")
    found = errors(repo, ALTA)
    assert list(found) == ["FORM-FIELD-MISMATCH"]
    assert "203.0.113.99" in found["FORM-FIELD-MISMATCH"][0]


def test_a_form_without_the_declared_fields_is_refused(
    repo: Path, pki: tuple[demo_pki.Issued, demo_pki.Issued]
) -> None:
    _root, intermediate = pki
    alta_cda(repo, intermediate)
    (repo / ALTA_FORM).write_bytes(alta_form(intermediate, values=[]))
    found = errors(repo, ALTA)
    assert len(found["FORM-FIELD-MISSING"]) == 4


def test_field_values_are_read_from_the_revision_the_entity_signed(
    pki: tuple[demo_pki.Issued, demo_pki.Issued],
) -> None:
    """A later incremental update that fills in another value does not change what was signed."""
    _root, intermediate = pki
    signed = alta_form(intermediate, values=[("adreces_ip", "203.0.113.10")])
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader

    from provisioner.documents.form import Parties, signed_fields

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    ref = next(iter(writer.root["/AcroForm"]["/Fields"]))
    ref.get_object()[generic.NameObject("/V")] = generic.TextStringObject("0.0.0.0/0")
    writer.mark_update(ref)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    later = out.getvalue()
    reader = PdfFileReader(io.BytesIO(later), strict=False)
    # The file as a whole now says 0.0.0.0/0 ...
    assert next(f.get_object()["/V"] for f in reader.root["/AcroForm"]["/Fields"]) == "0.0.0.0/0"
    # ... but the entity signed 203.0.113.10, and that is what is compared.
    sig = next(iter(reader.embedded_regular_signatures))
    assert dict(signed_fields(later, sig)) == {"adreces_ip": "203.0.113.10"}
    parties = Parties("P7500001H", "Consell Comarcal de l'Alta Ribagorça", "B65432106", "S")
    verdict = check_form(signed, [intermediate.der()], parties)
    assert dict(verdict.fields) == {"adreces_ip": "203.0.113.10"}


def test_a_form_with_too_many_revisions_is_refused_quickly(
    pki: tuple[demo_pki.Issued, demo_pki.Issued],
) -> None:
    _root, intermediate = pki
    signed = alta_form(intermediate)
    updates = b"".join(
        b"\nxref\n0 0\ntrailer\n<< /Size 1 >>\nstartxref\n0\n%%EOF\n"
        for _ in range(MAX_FORM_REVISIONS)
    )
    verdict = check_form(
        signed + updates,
        [intermediate.der()],
        __import__("provisioner.documents.form", fromlist=["Parties"]).Parties("P", "E", "B", "P"),
    )
    assert [f.code for f in verdict.findings] == ["FORM-TOO-MANY-REVISIONS"]


def test_the_plan_says_exactly_what_was_verified(sample_repo: Path, run_cli: object) -> None:
    import git

    from tests.apply.test_plan_apply import commit_all, plan_cli

    (sample_repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    git.Repo.init(sample_repo)
    commit_all(sample_repo, "samples")
    out = plan_cli(sample_repo, "PRE", "--format", "markdown").output
    assert (
        "signed by the entity of the register: organizationIdentifier VATES\\-P7500001H" in out
        or ("organizationIdentifier VATES-P7500001H" in out)
    )
    assert (
        "fields of the signed revision match the file: provider NIF, IPs, CDA SHA\\-256" in out
        or ("provider NIF, IPs, CDA SHA-256, CDA serial" in out)
    )
    assert "(the entity, verified)" not in out
