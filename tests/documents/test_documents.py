"""The CDA and the signed form, checked as the head of service would, through `validate`.

Every certificate, key and signed PDF is made here, at test time, with demo_pki (cryptography and
pyHanko). The sample repository's demo CA is replaced by a CA whose keys the tests hold.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from cryptography.hazmat.primitives import serialization

from provisioner.demo import pki as demo_pki
from provisioner.documents import form as forms
from provisioner.documents.cda import cda_verdict, load_single_certificate
from provisioner.documents.identity import identity_from_bytes
from provisioner.loading.paths import RepositoryFiles, TooLarge
from provisioner.rules.run import ValidationReport
from provisioner.rules.run import validate as validate_core
from provisioner.runtime import caches, local_edges
from provisioner.runtime.caches import FileCache
from provisioner.runtime.pool import PooledFormChecker
from provisioner.runtime.results import RESULTS_CACHE
from provisioner.runtime.settings import DEFAULT_CACHE_DIR, NO_CACHE_ENV, WORKERS_ENV, Settings
from tests.conftest import NOW, ROOT, pki_times

ALTA = "integrations/8100560009/serveis-informatics-pirineu.yaml"
ALTA_CDA = "integrations/8100560009/certs/serveis-informatics-pirineu.pem"
ALTA_FORM = "integrations/8100560009/forms/FP265594-formulari-integracio.pdf"
ENTITY_NAME, ENTITY_NIF = "Consell Comarcal de l'Alta Ribagorça", "P7500001H"
PROVIDER_NAME, PROVIDER_NIF = "Serveis Informàtics del Pirineu SL", "B65432106"


@dataclass(frozen=True)
class Pki:
    root: demo_pki.Issued
    intermediate: demo_pki.Issued
    stranger: demo_pki.Issued  # a CA that the catalog does not trust

    def cda(self, **kwargs: Any) -> demo_pki.Issued:
        kwargs.setdefault("key_type", "ec")
        kwargs.setdefault("key_size", 256)
        for key, value in pki_times().items():
            kwargs.setdefault(key, value)
        issuer = kwargs.pop("issuer", self.intermediate)
        assert isinstance(issuer, demo_pki.Issued)
        return demo_pki.make_cda(issuer, "app DEMO", f"{PROVIDER_NAME} (DEMO)", **kwargs)

    def signer(
        self, organization: str, nif: str, issuer: demo_pki.Issued | None = None
    ) -> demo_pki.Issued:
        return demo_pki.make_signer(
            issuer or self.intermediate,
            organization,
            nif,
            key_type="ec",
            key_size=256,
            **pki_times(),
        )


@pytest.fixture(scope="module")
def pki() -> Pki:
    # RSA, so it can also sign with MD5
    root = demo_pki.make_root_ca("Test DEMO Root", **pki_times())
    return Pki(
        root,
        demo_pki.make_intermediate_ca(
            root, "Test DEMO Intermediate", key_type="ec", key_size=256, **pki_times()
        ),
        demo_pki.make_root_ca("Stranger DEMO Root", key_type="ec", key_size=256, **pki_times()),
    )


@pytest.fixture(scope="module")
def form_pdf() -> bytes:
    return demo_pki.make_form_pdf(
        demo_pki.form_fields(
            fp="265594",
            entity_name=ENTITY_NAME,
            entity_ine10="8100560009",
            entity_nif=ENTITY_NIF,
            provider_name=PROVIDER_NAME,
            provider_nif=PROVIDER_NIF,
            environment="PRE",
            ips=["203.0.113.10", "198.51.100.0/29"],
        ),
        form_values=demo_pki.form_values(
            provider_nif=PROVIDER_NIF, ips=["203.0.113.10", "198.51.100.0/29"]
        ),
    )


@pytest.fixture(scope="module")
def entity_signed(pki: Pki, form_pdf: bytes) -> bytes:
    return demo_pki.sign_pdf(form_pdf, pki.signer(ENTITY_NAME, ENTITY_NIF), [pki.intermediate.cert])


@pytest.fixture
def repo(sample_repo: Path, pki: Pki) -> Path:
    """The sample repository re-issued by the test CA: every CDA and form is valid."""
    trust = sample_repo / "catalog" / "trust"
    # These tests swap CDAs and forms one at a time: the forms' CDA fields are compared in
    # test_form_binding, not here.
    service = sample_repo / "catalog" / "service.yaml"
    text = service.read_text(encoding="utf-8")
    service.write_text(
        text.replace("  cda_sha256: cda_sha256\n  cda_serial: cda_serie\n", ""), encoding="utf-8"
    )
    (trust / "demo-root-ca.pem").write_bytes(pki.root.pem())
    (trust / "demo-intermediate-ca.pem").write_bytes(pki.intermediate.pem())
    for path in sorted((sample_repo / "integrations").glob("*/*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entity, provider = data["entity"], data["provider"]
        cda = demo_pki.make_cda(
            pki.intermediate,
            "app DEMO",
            provider["name"],
            nif=provider["nif"],
            key_type="ec",
            key_size=256,
            **pki_times(),
        )
        (path.parent / data["cda"]).write_bytes(cda.pem())
        values = demo_pki.form_values(provider_nif=provider["nif"], ips=data["ips"], cda=cda.cert)
        pdf = demo_pki.make_form_pdf(
            [("Ens", entity["name"]), ("FP", data["fp"])], form_values=values
        )
        signer = pki.signer(entity["name"], entity["nif"])
        (path.parent / data["form"]).write_bytes(
            demo_pki.sign_pdf(pdf, signer, [pki.intermediate.cert])
        )
    return sample_repo


def validate(repo: Path, now: datetime = NOW) -> ValidationReport:
    """Validation as the command line runs it: with the local caches and the form pool."""
    return validate_core(repo, edges=local_edges(repo), now=now)


def codes(repo: Path, rel: str = ALTA) -> dict[str, list[str]]:
    """Finding code -> messages, for one file."""
    found: dict[str, list[str]] = {}
    for d in validate(repo, now=NOW).diagnostics:
        if d.file == rel:
            found.setdefault(d.code, []).append(d.message)
    return found


def cli_exit(run_cli: Callable[..., Result], repo: Path) -> Result:
    return run_cli(["validate", "--repo", str(repo)])


def test_the_reissued_samples_are_clean(repo: Path, run_cli: Callable[..., Result]) -> None:
    result = cli_exit(run_cli, repo)
    assert result.exit_code == 0, result.output
    assert "CDA-" not in result.output and "FORM-" not in result.output


def test_shipped_demo_samples_pass_these_checks() -> None:
    report = validate(ROOT, now=NOW)
    mine = [d for d in report.diagnostics if d.code.startswith(("CDA-", "FORM-", "CATALOG-"))]
    assert mine == []


# --- CDA ------------------------------------------------------------------------------------


def test_a_der_certificate_is_accepted(
    repo: Path, pki: Pki, run_cli: Callable[..., Result]
) -> None:
    (repo / ALTA_CDA).write_bytes(pki.cda().der())
    assert cli_exit(run_cli, repo).exit_code == 0


def _past(days: int) -> datetime:
    return NOW - timedelta(days=days)


BAD_CERTIFICATES: list[tuple[str, Callable[[Pki], bytes], str]] = [
    ("ca", lambda p: p.intermediate.pem(), "CDA-CA"),
    (
        "ca-flag",
        lambda p: p.cda(ca=True, key_usage=("digital_signature", "key_cert_sign")).pem(),
        "CDA-CA",
    ),
    (
        "not-yet-valid",
        lambda p: p.cda(not_before=NOW + timedelta(days=3)).pem(),
        "CDA-NOT-YET-VALID",
    ),
    (
        "expired",
        lambda p: p.cda(not_before=_past(400), not_after=_past(2)).pem(),
        "CDA-EXPIRED",
    ),
    ("rsa-1024", lambda p: p.cda(key_type="rsa", key_size=1024).pem(), "CDA-WEAK-KEY"),
    ("ec-p224", lambda p: p.cda(key_type="ec", key_size=224).pem(), "CDA-WEAK-KEY"),
    ("sha1", lambda p: p.cda(hash_name="sha1").pem(), "CDA-WEAK-HASH"),
    ("md5", lambda p: p.cda(issuer=p.root, hash_name="md5").pem(), "CDA-WEAK-HASH"),
    ("no-signature-usage", lambda p: p.cda(key_usage=("key_agreement",)).pem(), "CDA-KEY-USAGE"),
    ("untrusted", lambda p: p.cda(issuer=p.stranger).pem(), "CDA-UNTRUSTED-ISSUER"),
    ("chain", lambda p: p.cda().pem() + p.intermediate.pem(), "CDA-MULTIPLE"),
    ("text", lambda p: b"this is not a certificate\n", "CDA-NOT-CERTIFICATE"),
    ("empty", lambda p: b"", "CDA-NOT-CERTIFICATE"),
    (
        "damaged-pem",
        lambda p: b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "CDA-NOT-CERTIFICATE",
    ),
    (
        "public-key-only",
        lambda p: (
            p.cda()
            .cert.public_key()
            .public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
        ),
        "CDA-NOT-CERTIFICATE",
    ),
]


@pytest.mark.parametrize(
    ("builder", "code"),
    [pytest.param(b, c, id=name) for name, b, c in BAD_CERTIFICATES],
)
def test_each_bad_certificate_is_refused(
    repo: Path,
    pki: Pki,
    run_cli: Callable[..., Result],
    builder: Callable[[Pki], bytes],
    code: str,
) -> None:
    (repo / ALTA_CDA).write_bytes(builder(pki))
    found = codes(repo)
    assert code in found, found
    result = cli_exit(run_cli, repo)
    assert result.exit_code == 1
    assert code in result.output


LEAKED_KEYS: list[tuple[str, Callable[[demo_pki.Issued], bytes]]] = [
    ("pkcs8-pem", lambda c: c.key_pem()),
    ("traditional-pem", lambda c: c.key_pem("traditional")),
    (
        "encrypted-pem",
        lambda c: c.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        ),
    ),
    ("der", lambda c: c.key_der()),
    (
        "encrypted-der",
        lambda c: c.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        ),
    ),
    ("pkcs12", lambda c: c.pkcs12()),
    ("pkcs12-password", lambda c: c.pkcs12(b"secret")),
    ("certificate-and-key", lambda c: c.pem() + c.key_pem()),
]


@pytest.mark.parametrize("builder", [pytest.param(b, id=name) for name, b in LEAKED_KEYS])
@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_a_private_key_is_refused_and_called_exposed(
    repo: Path,
    pki: Pki,
    run_cli: Callable[..., Result],
    builder: Callable[[demo_pki.Issued], bytes],
    key_type: str,
) -> None:
    cda = pki.cda(key_type=key_type, key_size=2048 if key_type == "rsa" else 256)
    (repo / ALTA_CDA).write_bytes(builder(cda))
    found = codes(repo)
    assert list(found) == ["CDA-PRIVATE-KEY"], found
    message = found["CDA-PRIVATE-KEY"][0]
    assert "only the public certificate" in message and "exposed" in message
    assert cli_exit(run_cli, repo).exit_code == 1


def test_expiring_soon_is_a_warning_within_the_catalog_window(
    repo: Path, pki: Pki, run_cli: Callable[..., Result]
) -> None:
    (repo / ALTA_CDA).write_bytes(pki.cda(not_after=NOW + timedelta(days=20)).pem())
    found = codes(repo)
    assert "day(s)" in found["CDA-EXPIRING"][0]
    result = cli_exit(run_cli, repo)
    assert result.exit_code == 0 and "CDA-EXPIRING warning" in result.output
    service = repo / "catalog" / "service.yaml"
    text = service.read_text(encoding="utf-8")
    service.write_text(
        text.replace("certificate_expiry_warning_days: 60", "certificate_expiry_warning_days: 10"),
        encoding="utf-8",
    )
    assert "CDA-EXPIRING" not in codes(repo)


def test_one_certificate_for_two_providers_is_an_error(
    repo: Path, run_cli: Callable[..., Result]
) -> None:
    other = repo / "integrations/0805690004/gestio-municipal-oberta.yaml"
    shared = (repo / ALTA_CDA).read_bytes()
    (other.parent / "certs/gestio-municipal-oberta.pem").write_bytes(shared)
    report = validate(repo, now=NOW)
    dups = [d for d in report.diagnostics if d.code == "CDA-DUPLICATE"]
    assert len(dups) == 1
    assert "Serveis Informàtics del Pirineu SL" in dups[0].message or "Gestió" in dups[0].message
    assert cli_exit(run_cli, repo).exit_code == 1


def test_the_same_provider_may_reuse_its_certificate(repo: Path) -> None:
    """Same provider NIF for two entities: one CDA, no CDA-DUPLICATE."""
    other = repo / "integrations/0805690004/gestio-municipal-oberta.yaml"
    text = other.read_text(encoding="utf-8")
    other.write_text(text.replace("nif: B17234568", f"nif: {PROVIDER_NIF}"), encoding="utf-8")
    (other.parent / "certs/gestio-municipal-oberta.pem").write_bytes((repo / ALTA_CDA).read_bytes())
    assert not [d for d in validate(repo, now=NOW).diagnostics if d.code == "CDA-DUPLICATE"]


def test_a_huge_file_is_not_read(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / ALTA_CDA).write_bytes(b"0" * (300 * 1024))
    monkeypatch.setattr(forms, "MAX_FORM_BYTES", 1000)
    found = codes(repo)
    assert "CDA-NOT-CERTIFICATE" in found
    assert "larger than" in found["FORM-UNREADABLE"][0]


def test_trusted_roots_problems_are_reported_on_the_catalog(repo: Path, pki: Pki) -> None:
    service = repo / "catalog" / "service.yaml"
    text = service.read_text(encoding="utf-8")
    service.write_text(
        text + "  - trust/missing.pem\n  - trust/key.pem\n  - trust/junk.pem\n  - trust/leaf.der\n"
    )
    (repo / "catalog/trust/key.pem").write_bytes(pki.root.key_pem())
    (repo / "catalog/trust/junk.pem").write_bytes(b"junk")
    (repo / "catalog/trust/leaf.der").write_bytes(pki.cda().der())
    trust = [d for d in validate(repo, now=NOW).diagnostics if d.code == "CATALOG-TRUST-ROOT"]
    assert len(trust) == 4
    assert any("not a CA" in d.message for d in trust)
    assert {d.file for d in trust} == {"catalog/service.yaml"}
    assert all(d.line > 1 for d in trust)


def test_no_trusted_roots_means_no_certificate_is_trusted(repo: Path) -> None:
    service = repo / "catalog" / "service.yaml"
    text = service.read_text(encoding="utf-8")
    text = text.replace("  - trust/demo-root-ca.pem\n  - trust/demo-intermediate-ca.pem\n", "")
    service.write_text(text.replace("trusted_roots:", "trusted_roots: []"), encoding="utf-8")
    found = codes(repo)
    assert "no trusted_roots" in found["CDA-UNTRUSTED-ISSUER"][0]
    assert "FORM-SIGNER-UNTRUSTED" in found


def _entries(log: Path) -> list[bytes]:
    """A cache log's lines but the headers naming the tool that wrote what follows."""
    return [line for line in log.read_bytes().splitlines() if not line.startswith(b'{"tool":')]


def test_issuer_verification_is_remembered_locally(repo: Path) -> None:
    validate(repo, now=NOW)
    marks = repo / DEFAULT_CACHE_DIR / caches.ISSUERS_CACHE
    assert len(_entries(marks)) == 3  # one line per CDA
    (repo / RESULTS_CACHE).unlink()  # so that the CDAs are checked again
    (repo / DEFAULT_CACHE_DIR / caches.CDA_CACHE).unlink()
    header = marks.read_bytes().splitlines()[0]
    marks.write_bytes(header + b"\ngarbage\n\xff\n" + b"0" * 64)  # damaged lines are ignored
    assert not [d for d in validate(repo, now=NOW).diagnostics if d.code.startswith("CDA-")]
    assert len(_entries(marks)) == 3 + 3


def _cda_findings(report: ValidationReport) -> list[tuple[str, str, str]]:
    return [(d.file, d.code, d.message) for d in report.diagnostics if d.code.startswith("CDA-")]


def test_a_cda_verdict_is_kept_and_the_clock_applied_at_each_run(repo: Path, pki: Pki) -> None:
    """What a CDA says apart from the clock is kept (a file edited around an unchanged CDA does
    not parse it again); expiry is judged at every run's own time."""
    first = validate(repo, now=NOW)
    verdicts = repo / DEFAULT_CACHE_DIR / caches.CDA_CACHE
    assert len(_entries(verdicts)) == 3  # one per CDA
    assert not _cda_findings(first)
    (repo / RESULTS_CACHE).unlink()  # every file is checked again
    later = NOW + timedelta(days=5 * 365 + 2)  # past the CDAs' not_after
    expired = _cda_findings(validate(repo, now=later))
    assert [code for _, code, _ in expired] == ["CDA-EXPIRED"] * 3
    assert len(_entries(verdicts)) == 3  # the kept verdicts, not new ones
    (repo / RESULTS_CACHE).unlink(missing_ok=True)
    uncached = validate_core(repo, now=later)  # no cache at all: the same findings
    assert _cda_findings(uncached) == expired
    # A damaged verdict is a miss: checked again, with the same findings.
    lines = verdicts.read_bytes().splitlines()
    verdicts.write_bytes(b"\n".join([*lines[:-1], lines[-1][:40]]) + b"\n")
    (repo / RESULTS_CACHE).unlink(missing_ok=True)
    assert _cda_findings(validate(repo, now=later)) == expired
    assert len(_entries(verdicts)) == 3 + 1
    # Other trusted roots: other keys, verdicts made again.
    (repo / "catalog/trust/demo-intermediate-ca.pem").write_bytes(pki.stranger.pem())
    untrusted = _cda_findings(validate(repo, now=NOW))
    assert [code for _, code, _ in untrusted] == ["CDA-UNTRUSTED-ISSUER"] * 3
    assert len(_entries(verdicts)) == 3 + 1 + 3


# --- identity -------------------------------------------------------------------------------


def test_identity_of_a_cda(tmp_path: Path, pki: Pki) -> None:
    cda = pki.cda(nif=PROVIDER_NIF)
    path = tmp_path / "c.der"
    path.write_bytes(cda.der())
    identity = identity_from_bytes(path.read_bytes())
    assert identity is not None
    assert f"organizationIdentifier=VATES-{PROVIDER_NIF}" in identity.subject
    assert identity.issuer == pki.intermediate.cert.subject.rfc4514_string()
    assert identity.serial == format(cda.cert.serial_number, "X")
    assert len(identity.sha256) == 64
    assert identity.days_left(NOW) >= 5 * 365 - 2
    assert identity.as_dict()["not_after"].startswith(str(identity.not_after.year))
    verdict = cda_verdict(cda.pem(), [pki.intermediate.cert])
    assert not [f for f in verdict.at(NOW, 60) if f.severity == "error"]
    assert verdict.identity == identity
    assert load_single_certificate(b"\x00\x01")[0] is None


# --- forms ----------------------------------------------------------------------------------


def _modified_after_signing(signed: bytes) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    writer.update_container(page)
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 11 Tf 56 500 Td (altered IPs) Tj ET\n")
    )
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]  # pyHanko leaves it unannotated
    return out.getvalue()


def _encrypted(pdf: bytes) -> bytes:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(pdf)))
    writer.encrypt("owner", "user")  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _flip(signed: bytes) -> bytes:
    at = signed.index(b"(Ens: ")
    return signed[:at] + b"(Ens; " + signed[at + 6 :]


BAD_FORMS: list[tuple[str, Callable[[Pki, bytes, bytes], bytes], str, str]] = [
    (
        "signed-by-provider",
        lambda p, pdf, ok: demo_pki.sign_pdf(pdf, p.signer(PROVIDER_NAME, PROVIDER_NIF)),
        "FORM-SIGNER-NOT-ENTITY",
        "(the provider, Serveis Informàtics del Pirineu SL)",
    ),
    (
        "signed-by-someone-else",
        lambda p, pdf, ok: demo_pki.sign_pdf(pdf, p.signer("Gestoria Qualsevol SL", "B17234568")),
        "FORM-SIGNER-NOT-ENTITY",
        "O=Gestoria Qualsevol SL",
    ),
    (
        "modified-after-signing",
        lambda p, pdf, ok: _modified_after_signing(ok),
        "FORM-MODIFIED",
        "modified after",
    ),
    ("byte-changed", lambda p, pdf, ok: _flip(ok), "FORM-SIGNATURE-BROKEN", "changed after"),
    (
        "data-appended",
        lambda p, pdf, ok: ok + b"\n% appended\n",
        "FORM-DATA-APPENDED",
        "after the last signature",
    ),
    ("unsigned", lambda p, pdf, ok: pdf, "FORM-UNSIGNED", "digital signature"),
    ("not-a-pdf", lambda p, pdf, ok: b"PK\x03\x04 a zip file", "FORM-NOT-PDF", "not a PDF"),
    ("truncated", lambda p, pdf, ok: ok[:400], "FORM-UNREADABLE", "cannot be read"),
    ("encrypted", lambda p, pdf, ok: _encrypted(pdf), "FORM-ENCRYPTED", "password"),
    (
        "untrusted-ca",
        lambda p, pdf, ok: demo_pki.sign_pdf(
            pdf, p.signer(ENTITY_NAME, ENTITY_NIF, issuer=p.stranger)
        ),
        "FORM-SIGNER-UNTRUSTED",
        "does not chain to a CA in trusted_roots",
    ),
    (
        "expired-signer",
        lambda p, pdf, ok: demo_pki.sign_pdf(
            pdf,
            demo_pki.make_signer(
                p.intermediate,
                ENTITY_NAME,
                ENTITY_NIF,
                key_type="ec",
                key_size=256,
                not_before=_past(400),
                not_after=_past(1),
            ),
        ),
        "FORM-SIGNER-UNTRUSTED",
        "expired or not yet valid",
    ),
    (
        "signer-without-signature-usage",
        lambda p, pdf, ok: demo_pki.sign_pdf(
            pdf,
            demo_pki.make_signer(
                p.intermediate,
                ENTITY_NAME,
                ENTITY_NIF,
                key_type="ec",
                key_size=256,
                key_usage=("key_agreement",),
                **pki_times(),
            ),
        ),
        "FORM-SIGNER-UNTRUSTED",
        "key usage",
    ),
]


@pytest.mark.parametrize(
    ("builder", "code", "says"),
    [pytest.param(b, c, s, id=name) for name, b, c, s in BAD_FORMS],
)
def test_each_bad_form_is_refused(
    repo: Path,
    pki: Pki,
    form_pdf: bytes,
    entity_signed: bytes,
    run_cli: Callable[..., Result],
    capfd: pytest.CaptureFixture[str],
    builder: Callable[[Pki, bytes, bytes], bytes],
    code: str,
    says: str,
) -> None:
    (repo / ALTA_FORM).write_bytes(builder(pki, form_pdf, entity_signed))
    found = codes(repo)
    assert code in found, found
    assert says in found[code][0]
    result = cli_exit(run_cli, repo)
    assert result.exit_code == 1
    assert code in result.output
    captured = capfd.readouterr()
    assert "Traceback" not in result.output + captured.err + captured.out


def test_a_form_signed_by_the_entity_and_the_provider_is_accepted(
    repo: Path, pki: Pki, form_pdf: bytes, run_cli: Callable[..., Result]
) -> None:
    by_provider = demo_pki.sign_pdf(
        form_pdf, pki.signer(PROVIDER_NAME, PROVIDER_NIF), field_name="Proveidor"
    )
    both = demo_pki.sign_pdf(by_provider, pki.signer(ENTITY_NAME, ENTITY_NIF))
    (repo / ALTA_FORM).write_bytes(both)
    assert cli_exit(run_cli, repo).exit_code == 0


def test_a_signer_without_organization_identifier_is_matched_by_name(
    repo: Path, pki: Pki, form_pdf: bytes, run_cli: Callable[..., Result]
) -> None:
    signer = demo_pki.issue(
        demo_pki.name("Secretaria DEMO", "CONSELL COMARCAL DE L'ALTA  RIBAGORÇA"),
        pki.intermediate,
        key_type="ec",
        key_size=256,
        key_usage=("digital_signature", "content_commitment"),
        **pki_times(),
    )
    (repo / ALTA_FORM).write_bytes(demo_pki.sign_pdf(form_pdf, signer))
    assert cli_exit(run_cli, repo).exit_code == 0


def test_a_signature_that_cannot_be_parsed_is_broken(repo: Path, entity_signed: bytes) -> None:
    start = entity_signed.index(b"/Contents <") + len(b"/Contents <")
    damaged = entity_signed[:start] + b"00" * 64 + entity_signed[start + 128 :]
    (repo / ALTA_FORM).write_bytes(damaged)
    found = codes(repo)
    assert "FORM-SIGNATURE-BROKEN" in found or "FORM-UNREADABLE" in found, found


# --- the cache of form verdicts -------------------------------------------------------------


def _cache(repo: Path) -> Path:
    return repo / caches.FORMS_CACHE  # the fixture's log (conftest: isolated_form_cache)


def _form_codes(repo: Path) -> dict[str, list[str]]:
    """codes(repo) with the forms checked again: the per-file results are forgotten first."""
    (repo / RESULTS_CACHE).unlink(missing_ok=True)
    return codes(repo)


def test_verdicts_are_cached_and_a_corrupt_cache_is_a_miss(
    repo: Path, pki: Pki, form_pdf: bytes
) -> None:
    (repo / ALTA_FORM).write_bytes(
        demo_pki.sign_pdf(form_pdf, pki.signer(PROVIDER_NAME, PROVIDER_NIF))
    )
    first = _form_codes(repo)
    assert "FORM-SIGNER-NOT-ENTITY" in first
    log = _cache(repo).read_bytes()
    assert len(_entries(_cache(repo))) == 3  # one verdict per form
    assert _form_codes(repo) == first
    assert _cache(repo).read_bytes() == log  # every verdict from the cache: nothing added
    for garbage in (b"{not json", b"[]", b'{"key": "k", "verdict": {"version": 1}}', b"\xff"):
        header = log.splitlines()[0]
        _cache(repo).write_bytes(b"\n".join([header, *(garbage for _ in range(3))]))
        assert _form_codes(repo) == first
        assert len(_entries(_cache(repo))) == 3 + 3  # made again, appended


def test_the_cache_is_keyed_by_the_form_and_the_trust(
    repo: Path, pki: Pki, form_pdf: bytes
) -> None:
    assert "FORM-SIGNER-NOT-ENTITY" not in codes(repo)
    (repo / ALTA_FORM).write_bytes(
        demo_pki.sign_pdf(form_pdf, pki.signer(PROVIDER_NAME, PROVIDER_NIF))
    )
    assert "FORM-SIGNER-NOT-ENTITY" in codes(repo)  # a new form is a new key
    (repo / ALTA_FORM).write_bytes(demo_pki.sign_pdf(form_pdf, pki.signer(ENTITY_NAME, ENTITY_NIF)))
    assert "FORM-SIGNER-UNTRUSTED" not in codes(repo)
    (repo / "catalog/trust/demo-root-ca.pem").write_bytes(pki.stranger.pem())
    (repo / "catalog/trust/demo-intermediate-ca.pem").write_bytes(pki.stranger.pem())
    assert "FORM-SIGNER-UNTRUSTED" in codes(repo)  # new trust, new verdicts


def test_the_cache_can_be_turned_off(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NO_CACHE_ENV, "1")
    validate(repo)
    assert not _cache(repo).exists()


def test_a_stale_or_foreign_cache_entry_is_a_miss(tmp_path: Path) -> None:
    verdict = forms.FormVerdict((), recheck_after=1000.0)
    log = tmp_path / "verdicts.jsonl"
    FileCache(log).put("k", verdict)
    cache = FileCache(log)
    assert cache.get("k", now=999.0) == verdict
    assert cache.get("k", now=1000.0) is None  # a signer certificate expired
    header = log.read_text().splitlines()[0]
    for foreign in ({"version": 99, "findings": []}, {"version": 1}, {"recheck_after": "x"}):
        log.write_text(header + "\n" + json.dumps({"key": "k", "verdict": foreign}) + "\n")
        assert FileCache(log).get("k", now=0.0) is None
    blocked = tmp_path / "file"
    blocked.write_text("")
    FileCache(blocked / "sub.jsonl").put("k", verdict)  # cannot write: ignored, no exception
    assert FileCache(blocked / "sub.jsonl").get("k", now=0.0) is None


def test_a_damaged_verdict_line_is_a_miss_for_its_key_alone(tmp_path: Path) -> None:
    """A log is not decoded whole: a line cut short (a run killed while appending) or made
    unreadable costs its own key a miss, and the other keys' verdicts are still read."""
    log = tmp_path / "verdicts.jsonl"
    first, second = forms.FormVerdict((), checked_at=1.0), forms.FormVerdict((), checked_at=2.0)
    odd = 'k"\\é'  # a key JSON escapes, and one that is not ASCII
    FileCache(log).put_many([("k1", first), ("k2", second), (odd, first)])
    lines = log.read_bytes().splitlines()
    assert len(lines) == 4  # the header, then one line per verdict
    cut = lines[2][: len(lines[2]) // 2]  # k2's line, cut halfway
    log.write_bytes(b"\n".join([lines[0], lines[1], cut, lines[3], b"\xff\xfe not json"]) + b"\n")
    cache = FileCache(log)
    assert cache.get("k1", now=0.0) == first
    assert cache.get("k2", now=0.0) is None
    assert cache.get(odd, now=0.0) == first
    cache.put("k2", second)  # checked again, and kept
    assert FileCache(log).get("k2", now=0.0) == second


def test_runs_append_to_one_log_that_is_compacted_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "verdicts.jsonl"
    old, new = forms.FormVerdict((), checked_at=1.0), forms.FormVerdict((), checked_at=2.0)
    first, second = FileCache(log), FileCache(log)
    first.get("a", 0.0), second.get("b", 0.0)  # both read the log before either writes
    first.put_many([("a", old)])
    second.put_many([("b", old), ("a", new)])
    assert FileCache(log).get("a", 0.0) == new and FileCache(log).get("b", 0.0) == old
    with log.open("ab") as out:
        out.write(b'{"key": "c", "verdict": {"versi')  # a run killed halfway
    assert FileCache(log).get("c", 0.0) is None and FileCache(log).get("a", 0.0) == new
    for _ in range(2):  # made again: each run adds a line (after the broken one, not in it)
        FileCache(log).put_many([("a", new)])
    monkeypatch.setattr(caches, "COMPACT_MIN_LINES", 1)
    FileCache(log).get("a", 0.0)  # 10 lines (4 headers, 1 broken) for 2 entries: written back
    assert len(log.read_bytes().splitlines()) == 1 + 2
    assert FileCache(log).get("a", 0.0) == new and FileCache(log).get("b", 0.0) == old
    monkeypatch.setattr(caches, "MAX_LOG_BYTES", 10)
    assert FileCache(log).get("a", 0.0) is None  # too big to be ours: started again
    assert log.read_bytes() == b""


def test_a_warm_validate_does_not_import_pyhanko(repo: Path, isolated_form_cache: Path) -> None:
    validate(repo, now=NOW)  # fills the cache
    code = (
        "import sys; from datetime import datetime; from pathlib import Path; "
        "from provisioner.rules.run import validate; from provisioner.runtime import caches; "
        "from provisioner.runtime import local_edges; "
        f"caches.FORMS_CACHE = Path({str(isolated_form_cache)!r}); "
        f"r = validate(Path({str(repo)!r}), edges=local_edges(Path({str(repo)!r})), "
        f"now=datetime.fromisoformat({NOW.isoformat()!r})); "
        "print(r.ok, any(m.startswith('pyhanko') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["True", "False"]


def test_many_forms_are_checked_in_a_pool_with_the_same_verdicts(
    pki: Pki, form_pdf: bytes, entity_signed: bytes
) -> None:
    parties = forms.Parties(ENTITY_NIF, ENTITY_NAME, PROVIDER_NIF, PROVIDER_NAME)
    jobs = [
        forms.FormJob(entity_signed, parties),
        forms.FormJob(form_pdf, parties),
        forms.FormJob(b"nope", parties),
    ]
    anchors = [pki.root.der(), pki.intermediate.der()]
    at = NOW.timestamp()  # one time of check for both: verdicts say when they were made
    serial = forms.check_forms(jobs, anchors, now=at)
    pooled = forms.check_forms(jobs, anchors, checker=PooledFormChecker(2, min_jobs=1), now=at)
    assert pooled == serial
    assert [[f.code for f in v.findings] for v in pooled] == [
        [],
        ["FORM-UNSIGNED"],
        ["FORM-NOT-PDF"],
    ]


def test_worker_count_and_cache_come_from_the_environment() -> None:
    assert Settings.read({WORKERS_ENV: "3"}).workers == 3
    assert Settings.read({WORKERS_ENV: "zero"}).workers >= 1
    assert Settings.read({}).cache
    assert not Settings.read({NO_CACHE_ENV: "1"}).cache


def test_an_oversized_or_unreadable_form_is_refused(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forms, "MAX_FORM_BYTES", 10)
    assert "larger than" in codes(repo)["FORM-UNREADABLE"][0]
    files = RepositoryFiles(tmp_path)
    with pytest.raises(TooLarge):
        files.read(repo / ALTA_FORM, 10)
    with pytest.raises(OSError, match=r"gone\.pdf"):
        files.read(tmp_path / "gone.pdf", 10)


# --- certs command --------------------------------------------------------------------------


def test_certs_lists_every_cda(repo: Path, run_cli: Callable[..., Result]) -> None:
    result = run_cli(["certs", "--repo", str(repo)])
    assert result.exit_code == 0
    assert "Serveis Informàtics del Pirineu SL" in result.output
    assert "3 certificate(s)" in result.output
    data = json.loads(run_cli(["certs", "--repo", str(repo), "--format", "json"]).output)
    assert len(data["certificates"]) == 3
    first = data["certificates"][0]
    assert {"entity", "provider", "environment", "certificate", "days_left"} <= set(first)
    assert len(first["certificate"]["sha256"]) == 64


def test_certs_expiring_within_exits_1_for_a_scheduled_job(
    repo: Path, pki: Pki, run_cli: Callable[..., Result]
) -> None:
    (repo / ALTA_CDA).write_bytes(pki.cda(not_after=NOW + timedelta(days=10)).pem())
    calm = run_cli(["certs", "--repo", str(repo), "--expiring-within", "5"])
    assert calm.exit_code == 0
    result = run_cli(["certs", "--repo", str(repo), "--expiring-within", "30"])
    assert result.exit_code == 1
    flagged = [line for line in result.output.splitlines() if line.startswith("!")]
    assert len(flagged) == 1 and "Serveis Informàtics" in flagged[0]
    md = run_cli(["certs", "--repo", str(repo), "--expiring-within", "30", "--format", "markdown"])
    assert md.exit_code == 1 and "| ⚠️ |" in md.output and "|---|" in md.output


def test_certs_flags_an_unreadable_cda(repo: Path, run_cli: Callable[..., Result]) -> None:
    (repo / ALTA_CDA).write_bytes(b"junk")
    result = run_cli(["certs", "--repo", str(repo), "--expiring-within", "30", "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["flagged"] == [ALTA]
    assert "unreadable" in run_cli(["certs", "--repo", str(repo)]).output


def test_demo_samples_script_writes_only_public_material(tmp_path: Path) -> None:
    """The shipped samples hold certificates and signed PDFs, never a private key."""
    for path in [*(ROOT / "catalog" / "trust").iterdir(), *(ROOT / "integrations").rglob("*")]:
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    demo = (ROOT / "catalog" / "trust" / "demo-root-ca.pem").read_bytes()
    identity = identity_from_bytes(demo)
    assert demo and identity is not None and "DEMO" in identity.subject
    assert "demo" in (ROOT / "catalog" / "trust" / "README.md").read_text().lower()
