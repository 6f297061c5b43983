"""DEMO ONLY: a throw-away PKI and PDF factory for tests, samples and benchmarks.

Nothing here is fit for production. It makes demonstration certificate authorities, application
certificates (CDA), signer certificates shaped like Spanish qualified certificates, a one-page
"formulari d'integració" PDF with invented data, and signs PDFs with pyHanko.

Private keys live only in memory, inside the returned `Issued` objects. Callers that write files
must write public material only (certificates and signed PDFs); the one exception is tests that
deliberately build a leaked-key file in a temporary folder to check that it is refused.

Every parameter that a check looks at (validity window, key type and size, hash, CA flag, key
usage) can be set, so tests can build one certificate for each way a CDA can be wrong.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyType = Literal["rsa", "ec"]
HashName = Literal["sha256", "sha384", "sha512", "sha1", "md5"]

#: Key usage names accepted by `issue` (cryptography's KeyUsage argument names).
KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)

DEMO_VALIDITY = timedelta(days=5 * 365)

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha1": hashes.SHA1,
    "md5": hashes.MD5,
}

_STRONG_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

_CURVES: dict[int, type[ec.EllipticCurve]] = {
    192: ec.SECP192R1,
    224: ec.SECP224R1,
    256: ec.SECP256R1,
    384: ec.SECP384R1,
    521: ec.SECP521R1,
}


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key (kept in memory only)."""

    cert: x509.Certificate
    key: PrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def key_pem(self, fmt: Literal["pkcs8", "traditional"] = "pkcs8") -> bytes:
        """The private key as PEM: only for tests that check leaked keys are refused."""
        form = (
            serialization.PrivateFormat.PKCS8
            if fmt == "pkcs8"
            else serialization.PrivateFormat.TraditionalOpenSSL
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, form, serialization.NoEncryption()
        )

    def key_der(self) -> bytes:
        """The private key as DER PKCS#8: only for leaked-key tests."""
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def pkcs12(self, password: bytes | None = None) -> bytes:
        """A PKCS#12/PFX container with key and certificate: only for leaked-key tests."""
        from cryptography.hazmat.primitives.serialization import pkcs12

        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(b"demo", self.key, self.cert, None, encryption)


def new_key(key_type: KeyType = "rsa", key_size: int = 2048) -> PrivateKey:
    """An RSA key of key_size bits, or an EC key on the NIST curve of key_size bits."""
    if key_type == "ec":
        return ec.generate_private_key(_CURVES[key_size]())
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def name(
    common_name: str,
    organization: str | None = None,
    *,
    organization_identifier: str | None = None,
    country: str = "ES",
) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if organization_identifier:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organization_identifier))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def issue(
    subject: x509.Name,
    issuer: Issued | None = None,
    *,
    key: PrivateKey | None = None,
    key_type: KeyType = "rsa",
    key_size: int = 2048,
    hash_name: HashName = "sha256",
    ca: bool = False,
    path_length: int | None = None,
    key_usage: Iterable[str] | None = ("digital_signature",),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> Issued:
    """Issue a certificate for subject, signed by issuer (self-signed when issuer is None).

    key_usage=None leaves the KeyUsage extension out entirely.
    """
    key = key if key is not None else new_key(key_type, key_size)
    now = datetime.now(UTC)
    not_before = not_before if not_before is not None else now - timedelta(days=1)
    not_after = not_after if not_after is not None else now + DEMO_VALIDITY
    signing_key = issuer.key if issuer is not None else key
    issuer_name = issuer.cert.subject if issuer is not None else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    if key_usage is not None:
        wanted = set(key_usage)
        unknown = wanted - set(KEY_USAGE_NAMES)
        if unknown:
            raise ValueError(f"unknown key usage {sorted(unknown)}")
        flags = {n: n in wanted for n in KEY_USAGE_NAMES}
        builder = builder.add_extension(
            x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True
        )
    if hash_name in _WEAK_HASHES:
        # cryptography refuses to sign with weak hashes; sign with SHA-256 and re-sign the
        # to-be-signed part by hand, which is what a careless CA would have produced.
        cert = _resign_weak(builder.sign(signing_key, hashes.SHA256()), signing_key, hash_name)
    else:
        cert = builder.sign(signing_key, _STRONG_HASHES[hash_name]())
    return Issued(cert, key)


_WEAK_HASHES = ("sha1", "md5")


def _resign_weak(
    cert: x509.Certificate, signing_key: PrivateKey, hash_name: str
) -> x509.Certificate:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.asymmetric import padding

    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"]
    if isinstance(signing_key, rsa.RSAPrivateKey):
        algo = f"{hash_name}_rsa"
    elif hash_name == "sha1":
        algo = "sha1_ecdsa"
    else:
        raise ValueError("MD5 signatures exist only with RSA keys")
    tbs["signature"] = {"algorithm": algo}
    tbs_der = tbs.dump(force=True)
    digest = _HASHES[hash_name]()
    if isinstance(signing_key, rsa.RSAPrivateKey):
        value = signing_key.sign(tbs_der, padding.PKCS1v15(), digest)
    else:
        value = signing_key.sign(tbs_der, ec.ECDSA(digest))
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": algo},
            "signature_value": value,
        }
    )
    return x509.load_der_x509_certificate(rebuilt.dump(force=True))


def make_root_ca(
    common_name: str = "Hestia DEMO Root CA",
    organization: str = "DEMO - Entitat de certificacio de proves",
    **kwargs: object,
) -> Issued:
    """A self-signed demo root CA (the name says DEMO)."""
    return issue(
        name(common_name, organization),
        None,
        ca=True,
        key_usage=("digital_signature", "key_cert_sign", "crl_sign"),
        **kwargs,  # type: ignore[arg-type]
    )


def make_intermediate_ca(
    issuer: Issued,
    common_name: str = "Hestia DEMO Intermediate CA",
    organization: str = "DEMO - Entitat de certificacio de proves",
    **kwargs: object,
) -> Issued:
    """A demo intermediate CA under issuer."""
    return issue(
        name(common_name, organization),
        issuer,
        ca=True,
        path_length=0,
        key_usage=("digital_signature", "key_cert_sign", "crl_sign"),
        **kwargs,  # type: ignore[arg-type]
    )


def make_cda(
    issuer: Issued,
    common_name: str,
    organization: str,
    *,
    nif: str | None = None,
    **kwargs: object,
) -> Issued:
    """An application certificate (CDA) for a provider: digitalSignature by default.

    kwargs go to `issue` (key_type, key_size, hash_name, ca, key_usage, not_before, not_after),
    so tests can make each kind of bad certificate.
    """
    ident = f"VATES-{nif}" if nif else None
    return issue(
        name(common_name, organization, organization_identifier=ident),
        issuer,
        **kwargs,  # type: ignore[arg-type]
    )


def make_signer(
    issuer: Issued,
    organization: str,
    nif: str,
    common_name: str | None = None,
    **kwargs: object,
) -> Issued:
    """A signer certificate for an organisation, shaped like a Spanish qualified certificate.

    organizationIdentifier is `VATES-<NIF>` and O is the organisation's name.
    """
    kwargs.setdefault("key_usage", ("digital_signature", "content_commitment"))
    return issue(
        name(
            common_name or f"{organization} - segell DEMO",
            organization,
            organization_identifier=f"VATES-{nif}",
        ),
        issuer,
        **kwargs,  # type: ignore[arg-type]
    )


# --- the integration form ---------------------------------------------------------------


def _pdf_text(value: str) -> bytes:
    """A PDF literal string in WinAnsi (Latin-1 like) encoding, escaped."""
    raw = value.encode("cp1252", errors="replace")
    raw = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + raw + b")"


def make_form_pdf(
    fields: Sequence[tuple[str, str]],
    title: str = "Formulari d'integració amb Hèstia (DEMO)",
    *,
    form_values: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A minimal valid one-page PDF: the title, then one 'label: value' line per field.

    form_values: (name, value) of interactive text fields (AcroForm), the machine-readable
    values that `validate` compares with the integration file when the catalog names them.
    """
    lines = [b"BT", b"/F1 16 Tf", b"56 780 Td", _pdf_text(title) + b" Tj", b"/F1 11 Tf"]
    lines.append(b"0 -30 Td")
    for label, value in fields:
        lines.append(_pdf_text(f"{label}: {value}") + b" Tj")
        lines.append(b"0 -18 Td")
    lines.append(_pdf_text("Document de demostració: dades inventades, sense validesa.") + b" Tj")
    lines.append(b"ET")
    content = b"\n".join(lines) + b"\n"
    first_field = 7
    refs = b" ".join(b"%d 0 R" % (first_field + i) for i in range(len(form_values)))
    acroform = b" /AcroForm << /Fields [%s] /NeedAppearances true >>" % refs if form_values else b""
    annots = b" /Annots [%s]" % refs if form_values else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R" + acroform + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R" + annots + b" >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Title " + _pdf_text("Formulari d'integració Hèstia (DEMO)") + b" >>",
    ]
    for name_, value in form_values:
        # A hidden text field widget: the value is in /V, the visible text is the page's.
        objects.append(
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /F 2 /Rect [0 0 0 0] /P 3 0 R /T "
            + _pdf_text(name_)
            + b" /V "
            + _pdf_text(value)
            + b" >>"
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, xref)
    )
    return out.getvalue()


#: The names of the demo form's machine-readable fields (catalog/service.yaml form_fields).
FORM_FIELD_NAMES = {
    "provider_nif": "nif_proveidor",
    "ips": "adreces_ip",
    "cda_sha256": "cda_sha256",
    "cda_serial": "cda_serie",
}


def form_values(
    *, provider_nif: str, ips: Sequence[str], cda: x509.Certificate | None = None
) -> list[tuple[str, str]]:
    """The demo form's field values: provider NIF, IPs and (with cda) its SHA-256 and serial."""
    values = [
        (FORM_FIELD_NAMES["provider_nif"], provider_nif),
        (FORM_FIELD_NAMES["ips"], ", ".join(ips)),
    ]
    if cda is not None:
        values.append((FORM_FIELD_NAMES["cda_sha256"], cda.fingerprint(hashes.SHA256()).hex()))
        values.append((FORM_FIELD_NAMES["cda_serial"], format(cda.serial_number, "X")))
    return values


def form_fields(
    *,
    fp: str,
    entity_name: str,
    entity_ine10: str,
    entity_nif: str,
    provider_name: str,
    provider_nif: str,
    environment: str,
    ips: Sequence[str],
) -> list[tuple[str, str]]:
    """The fields of a demo integration form, labelled in Catalan."""
    return [
        ("Número de sol·licitud", f"FP#{fp}"),
        ("Ens", entity_name),
        ("Codi INE10", entity_ine10),
        ("NIF de l'ens", entity_nif),
        ("Proveïdor", provider_name),
        ("NIF del proveïdor", provider_nif),
        ("Entorn", environment),
        ("Adreces IP d'origen", ", ".join(ips)),
        ("Contacte tècnic", "suport@exemple.invalid"),
    ]


def sign_pdf(
    pdf: bytes,
    signer: Issued,
    chain: Sequence[x509.Certificate] = (),
    *,
    field_name: str = "SignaturaEns",
    reason: str = "Conformitat de l'ens amb la integració (DEMO)",
) -> bytes:
    """Sign pdf with signer's key (pyHanko, incremental update); chain is embedded too."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    key_info = asn1_keys.PrivateKeyInfo.load(signer.key_der())
    simple = signers.SimpleSigner(
        signing_cert=to_asn1(signer.cert),
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [to_asn1(c) for c in chain]
        ),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name=field_name, reason=reason)
    out = signers.sign_pdf(writer, meta, signer=simple)
    return bytes(out.getvalue())
