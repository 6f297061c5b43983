"""signature_proof may only ever say "good" where pyHanko says good; everything else is pyHanko's.

Every form is made here with real keys (demo_pki, cryptography, pyHanko, and CMS structures
assembled with asn1crypto where a case needs what no signing tool would make). Each case checks
the form both ways, `check_form` as it runs (the proof first) and with fast=False (pyHanko for
every signature), and asserts the same verdict, and whether the proof accepted it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.demo import pki as demo_pki
from provisioner.documents import form as forms
from provisioner.documents import signature_proof
from provisioner.documents.signature_proof import Trust, prove
from tests.conftest import NOW, pki_times

ENTITY_NAME, ENTITY_NIF = "Ajuntament de Proves", "P0800001J"
PROVIDER_NAME, PROVIDER_NIF = "Proveidor de Proves SL", "B65432106"
PARTIES = forms.Parties(ENTITY_NIF, ENTITY_NAME, PROVIDER_NIF, PROVIDER_NAME)
MOMENT = NOW.timestamp()


@dataclass(frozen=True)
class Pki:
    root: demo_pki.Issued  # RSA, trusted
    intermediate: demo_pki.Issued  # EC, under root
    stranger: demo_pki.Issued  # a root the catalog does not trust

    def signer(self, issuer: demo_pki.Issued | None = None, **kwargs: Any) -> demo_pki.Issued:
        kwargs.setdefault("key_type", "ec")
        kwargs.setdefault("key_size", 256)
        for key, value in pki_times().items():
            kwargs.setdefault(key, value)
        return demo_pki.make_signer(issuer or self.intermediate, ENTITY_NAME, ENTITY_NIF, **kwargs)


@pytest.fixture(scope="module")
def pki() -> Pki:
    root = demo_pki.make_root_ca("Proof DEMO Root", **pki_times())
    return Pki(
        root,
        demo_pki.make_intermediate_ca(
            root, "Proof DEMO Intermediate", key_type="ec", key_size=256, **pki_times()
        ),
        demo_pki.make_root_ca("Stranger DEMO Root", key_type="ec", key_size=256, **pki_times()),
    )


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return demo_pki.make_form_pdf(
        [("Ens", ENTITY_NAME)],
        form_values=demo_pki.form_values(provider_nif=PROVIDER_NIF, ips=["203.0.113.10"]),
    )


@pytest.fixture(scope="module")
def signed(pki: Pki, pdf: bytes) -> bytes:
    """Signed by the entity with pyHanko, the intermediate CA embedded."""
    return demo_pki.sign_pdf(pdf, pki.signer(), [pki.intermediate.cert])


def anchors(pki: Pki, *, intermediate: bool = True) -> list[bytes]:
    return [pki.root.der(), *([pki.intermediate.der()] if intermediate else [])]


def last_signature(data: bytes) -> Any:
    forms.load_pyhanko()
    from pyhanko.pdf_utils.reader import PdfFileReader

    return list(PdfFileReader(io.BytesIO(data), strict=False).embedded_regular_signatures)[-1]


def proven(data: bytes, trusted: Sequence[bytes]) -> bool:
    """Whether the proof accepts the form's last signature (False when pyHanko cannot even
    read the signatures: the proof never sees those)."""
    try:
        sig = last_signature(data)
    except Exception:
        return False
    return prove(sig, Trust(trusted), MOMENT) is not None


def both_ways(data: bytes, trusted: Sequence[bytes]) -> forms.FormVerdict:
    """The verdict, asserted the same with the proof and with pyHanko alone."""
    fast = forms.check_form(data, trusted, PARTIES, MOMENT)
    slow = forms.check_form(data, trusted, PARTIES, MOMENT, fast=False)
    assert fast == slow
    return fast


def codes(verdict: forms.FormVerdict) -> list[str]:
    return [f.code for f in verdict.findings]


# --- CMS made by hand: what a careless or hostile signer could embed ----------------------


_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha512": hashes.SHA512,
}


def make_cms(
    covered: bytes,
    signer: demo_pki.Issued,
    *,
    digest: str = "sha256",
    certs: Sequence[x509.Certificate] = (),
    message_digest: bytes | None = None,
    extra_signed: Sequence[Any] = (),
    unsigned: Sequence[Any] = (),
    mechanism: str | None = None,
    content_type: str = "data",
    signed_attributes: bool = True,
) -> bytes:
    """A detached CMS SignedData over covered, signed by signer (no tool's defaults).

    signed_attributes=False: the signature is over covered itself (CMS allows it; PDF signers
    do not do it).
    """
    from asn1crypto import cms
    from asn1crypto import x509 as asn1_x509

    def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        from cryptography.hazmat.primitives.serialization import Encoding

        return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))

    own = asn1(signer.cert)
    attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": [content_type]}),
            cms.CMSAttribute(
                {
                    "type": "message_digest",
                    "values": [message_digest or hashlib.new(digest, covered).digest()],
                }
            ),
            *extra_signed,
        ]
    )
    to_sign = attrs.dump() if signed_attributes else covered
    key = signer.key
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(to_sign, padding.PKCS1v15(), _HASHES[digest]())
        algorithm = mechanism or "rsassa_pkcs1v15"
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        signature = key.sign(to_sign, ec.ECDSA(_HASHES[digest]()))
        algorithm = mechanism or f"{digest}_ecdsa"
    info: dict[str, Any] = {
        "version": "v1",
        "sid": cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value=cms.IssuerAndSerialNumber(
                {"issuer": own.issuer, "serial_number": own.serial_number}
            ),
        ),
        "digest_algorithm": {"algorithm": digest},
        "signature_algorithm": {"algorithm": algorithm},
        "signature": signature,
    }
    if signed_attributes:
        info["signed_attrs"] = attrs
    if unsigned:
        info["unsigned_attrs"] = cms.CMSAttributes(list(unsigned))
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest}],
            "encap_content_info": {"content_type": "data"},
            "certificates": [own, *(asn1(c) for c in certs)],
            "signer_infos": [info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


def covered_bytes(signed: bytes) -> bytes:
    _, len1, start2, len2 = (int(v) for v in last_signature(signed).byte_range)
    return signed[:len1] + signed[start2 : start2 + len2]


def with_cms(signed: bytes, cms_der: bytes) -> bytes:
    """signed with its signature's CMS replaced (the same room, padded with zeros)."""
    _, len1, start2, _ = (int(v) for v in last_signature(signed).byte_range)
    room = start2 - len1 - 2
    hexed = cms_der.hex().encode()
    assert len(hexed) <= room
    return signed[: len1 + 1] + hexed + b"0" * (room - len(hexed)) + signed[start2 - 1 :]


def resigned(signed: bytes, signer: demo_pki.Issued, **kwargs: Any) -> bytes:
    return with_cms(signed, make_cms(covered_bytes(signed), signer, **kwargs))


def ca_with(
    issuer: demo_pki.Issued,
    name: str,
    *extensions: tuple[x509.ExtensionType, bool],
    ca: bool | None = True,
) -> demo_pki.Issued:
    """A certificate under issuer with the given extensions (what demo_pki does not make)."""
    key = ec.generate_private_key(ec.SECP256R1())
    times = pki_times()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(times["not_before"])
        .not_valid_after(times["not_after"])
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if ca is not None:  # None: no basic constraints at all
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return demo_pki.Issued(builder.sign(issuer.key, hashes.SHA256()), key)


_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


# --- what the proof accepts -----------------------------------------------------------------


def test_a_plain_signed_form_is_proven_with_the_same_verdict(pki: Pki, signed: bytes) -> None:
    assert proven(signed, anchors(pki))
    verdict = both_ways(signed, anchors(pki))
    assert codes(verdict) == []
    assert verdict.entity_match == "organizationIdentifier"
    assert dict(verdict.fields)["adreces_ip"] == "203.0.113.10"


def test_an_embedded_intermediate_chains_to_a_trusted_root(pki: Pki, signed: bytes) -> None:
    assert proven(signed, anchors(pki, intermediate=False))
    verdict = both_ways(signed, anchors(pki, intermediate=False))
    assert codes(verdict) == []
    # The embedded CA's validity bounds the verdict too: when it expires, the form is checked
    # again.
    assert pki.intermediate.cert.not_valid_after_utc.timestamp() in verdict.bounds


def test_a_cms_made_by_other_software_is_proven(pki: Pki, signed: bytes) -> None:
    rsa_signer = pki.signer(pki.root, key_type="rsa", key_size=2048)
    for form in (
        resigned(signed, pki.signer()),
        resigned(signed, rsa_signer, digest="sha512"),
        resigned(signed, rsa_signer, mechanism="sha256_rsa"),
    ):
        assert proven(form, anchors(pki))
        assert codes(both_ways(form, anchors(pki))) == []


def _policy_attributes() -> list[Any]:
    """A signature policy and a commitment type, as PAdES-EPES signing software adds them."""
    from asn1crypto import cms

    forms.load_pyhanko()  # registers the CAdES attribute types with asn1crypto
    from pyhanko.sign.ades import cades_asn1

    policy = cades_asn1.SignaturePolicyIdentifier(
        name="signature_policy_id",
        value={
            "sig_policy_id": "2.16.724.1.3.1.1.2.1.9",
            "sig_policy_hash": {"digest_algorithm": {"algorithm": "sha1"}, "digest": b"\0" * 20},
        },
    )
    commitment = {"commitment_type_id": "1.2.840.113549.1.9.16.6.5"}  # proof of approval
    return [
        cms.CMSAttribute({"type": "signature_policy_identifier", "values": [policy]}),
        cms.CMSAttribute({"type": "commitment_type", "values": [commitment]}),
    ]


def test_a_signature_with_a_policy_and_a_commitment_type_is_proven(pki: Pki, signed: bytes) -> None:
    form = resigned(signed, pki.signer(), extra_signed=_policy_attributes())
    assert proven(form, anchors(pki))
    assert codes(both_ways(form, anchors(pki))) == []


def test_the_proof_leaves_the_signer_to_the_register_check(pki: Pki, pdf: bytes) -> None:
    provider = demo_pki.make_signer(
        pki.intermediate, PROVIDER_NAME, PROVIDER_NIF, key_type="ec", key_size=256, **pki_times()
    )
    by_provider = demo_pki.sign_pdf(pdf, provider)
    assert proven(by_provider, anchors(pki))  # a good signature, by the wrong party
    assert codes(both_ways(by_provider, anchors(pki))) == ["FORM-SIGNER-NOT-ENTITY"]


def test_with_two_signatures_only_the_last_can_be_proven(pki: Pki, pdf: bytes) -> None:
    provider = demo_pki.make_signer(
        pki.intermediate, PROVIDER_NAME, PROVIDER_NIF, key_type="ec", key_size=256, **pki_times()
    )
    both = demo_pki.sign_pdf(demo_pki.sign_pdf(pdf, provider, field_name="Proveidor"), pki.signer())
    forms.load_pyhanko()
    from pyhanko.pdf_utils.reader import PdfFileReader

    first, last = PdfFileReader(io.BytesIO(both), strict=False).embedded_regular_signatures
    trust = Trust(anchors(pki))
    assert prove(first, trust, MOMENT) is None  # followed by an update: pyHanko's to judge
    assert prove(last, trust, MOMENT) is not None
    assert codes(both_ways(both, anchors(pki))) == []


# --- every tampering: not proven, and pyHanko's verdict stands ---------------------------


def _flip_signed_byte(signed: bytes) -> bytes:
    at = signed.index(b"(Ens: ")
    return signed[:at] + b"(Ens; " + signed[at + 6 :]


def _shorter_byte_range(signed: bytes) -> bytes:
    _, len1, start2, len2 = (int(v) for v in last_signature(signed).byte_range)
    old = b"/ByteRange [0 %d %d %d]" % (len1, start2, len2)
    new = b"/ByteRange [0 %d %d %d]" % (len1, start2, len2 - 10)
    assert old in signed
    return signed.replace(old, new.ljust(len(old)))


def _modified_page(signed: bytes) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    writer.update_container(page)
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 11 Tf 56 500 Td (altered IPs) Tj ET\n")
    )
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _flipped_signature_value(signed: bytes) -> bytes:
    from asn1crypto import cms

    info = cms.ContentInfo.load(last_signature(signed).pkcs7_content)
    signer_info = info["content"]["signer_infos"][0]
    value = bytearray(signer_info["signature"].native)
    value[-1] ^= 0x01
    signer_info["signature"] = bytes(value)
    return with_cms(signed, info.dump(force=True))


def _unknown_attribute() -> Any:
    from asn1crypto import cms, core

    return cms.CMSAttribute({"type": "1.3.6.1.4.1.55555.2", "values": [core.Null()]})


def _second_digest() -> Any:
    from asn1crypto import cms

    return cms.CMSAttribute({"type": "message_digest", "values": [b"\x00" * 32]})


def _protection(digest: str) -> Any:
    from asn1crypto import cms

    return cms.CMSAttribute(
        {
            "type": "cms_algorithm_protection",
            "values": [
                {
                    "digest_algorithm": {"algorithm": digest},
                    "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                }
            ],
        }
    )


def _bad_signing_time() -> Any:
    from asn1crypto import cms

    # SEQUENCE { signingTime, SET { UTCTime "x" } }: a time that does not parse.
    oid = bytes.fromhex("06092a864886f70d010905")
    value = b"\x31\x03\x17\x01x"
    return cms.CMSAttribute.load(b"\x30" + bytes([len(oid) + len(value)]) + oid + value)


TAMPERED: list[tuple[str, Callable[[Pki, bytes, bytes], bytes], Sequence[str] | None]] = [
    ("signed-byte-changed", lambda p, pdf, ok: _flip_signed_byte(ok), ["FORM-SIGNATURE-BROKEN"]),
    ("byte-range-shortened", lambda p, pdf, ok: _shorter_byte_range(ok), ["FORM-SIGNATURE-BROKEN"]),
    ("data-appended", lambda p, pdf, ok: ok + b"\n% appended\n", ["FORM-DATA-APPENDED"]),
    ("update-after-signing", lambda p, pdf, ok: _modified_page(ok), ["FORM-MODIFIED"]),
    (
        "wrong-message-digest",
        lambda p, pdf, ok: resigned(ok, p.signer(), message_digest=b"\x00" * 32),
        ["FORM-SIGNATURE-BROKEN"],
    ),
    (
        "digest-of-other-bytes",
        lambda p, pdf, ok: with_cms(ok, make_cms(covered_bytes(ok) + b" ", p.signer())),
        ["FORM-SIGNATURE-BROKEN"],
    ),
    (
        "signature-value-changed",
        lambda p, pdf, ok: _flipped_signature_value(ok),
        ["FORM-SIGNATURE-BROKEN"],
    ),
    (
        "signed-by-another-key",
        lambda p, pdf, ok: with_cms(
            ok,
            make_cms(
                covered_bytes(ok),
                demo_pki.Issued(p.signer().cert, ec.generate_private_key(ec.SECP256R1())),
            ),
        ),
        ["FORM-SIGNATURE-BROKEN"],
    ),
    (
        "untrusted-root",
        lambda p, pdf, ok: demo_pki.sign_pdf(pdf, p.signer(p.stranger)),
        ["FORM-SIGNER-UNTRUSTED"],
    ),
    (
        "expired-signer",
        lambda p, pdf, ok: demo_pki.sign_pdf(
            pdf, p.signer(not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1))
        ),
        ["FORM-SIGNER-UNTRUSTED"],
    ),
    (
        "signer-not-yet-valid",
        lambda p, pdf, ok: demo_pki.sign_pdf(
            pdf, p.signer(not_before=NOW + timedelta(days=1), not_after=NOW + timedelta(days=30))
        ),
        ["FORM-SIGNER-UNTRUSTED"],
    ),
    (
        "signer-without-signing-usage",
        lambda p, pdf, ok: demo_pki.sign_pdf(pdf, p.signer(key_usage=("key_agreement",))),
        ["FORM-SIGNER-UNTRUSTED"],
    ),
    (
        "signer-without-key-usage",
        lambda p, pdf, ok: demo_pki.sign_pdf(pdf, p.signer(key_usage=None)),
        ["FORM-SIGNER-UNTRUSTED"],
    ),
    (
        "sha1-digest",
        lambda p, pdf, ok: resigned(
            ok, p.signer(p.root, key_type="rsa", key_size=2048), digest="sha1"
        ),
        ["FORM-SIGNER-UNTRUSTED"],
    ),
    (
        "small-rsa-key",
        lambda p, pdf, ok: resigned(ok, p.signer(p.root, key_type="rsa", key_size=1024)),
        ["FORM-SIGNER-UNTRUSTED"],
    ),
    (
        "mechanism-of-another-hash",
        lambda p, pdf, ok: resigned(ok, p.signer(), mechanism="sha512_ecdsa"),
        ["FORM-SIGNATURE-BROKEN"],
    ),
    (
        "two-message-digests",
        lambda p, pdf, ok: resigned(ok, p.signer(), extra_signed=[_second_digest()]),
        ["FORM-SIGNATURE-BROKEN"],
    ),
    (
        "algorithm-protection-contradicted",
        lambda p, pdf, ok: resigned(ok, p.signer(), extra_signed=[_protection("sha512")]),
        ["FORM-SIGNATURE-BROKEN"],
    ),
    (
        "content-type-not-data",
        lambda p, pdf, ok: resigned(ok, p.signer(), content_type="signed_data"),
        ["FORM-SIGNATURE-BROKEN"],
    ),
    # Not tampering, only what the proof does not know: pyHanko's verdict, whatever it is.
    (
        "no-signed-attributes",
        lambda p, pdf, ok: resigned(ok, p.signer(), signed_attributes=False),
        None,
    ),
    (
        "unsigned-attribute",
        lambda p, pdf, ok: resigned(ok, p.signer(), unsigned=[_unknown_attribute()]),
        None,
    ),
    (
        "unknown-signed-attribute",
        lambda p, pdf, ok: resigned(ok, p.signer(), extra_signed=[_unknown_attribute()]),
        None,
    ),
    (
        "malformed-signing-time",
        lambda p, pdf, ok: resigned(ok, p.signer(), extra_signed=[_bad_signing_time()]),
        None,
    ),
]


@pytest.mark.parametrize(
    ("build", "expected"), [pytest.param(b, e, id=name) for name, b, e in TAMPERED]
)
def test_no_tampering_is_proven_and_pyhanko_refuses_each(
    pki: Pki,
    pdf: bytes,
    signed: bytes,
    build: Callable[[Pki, bytes, bytes], bytes],
    expected: Sequence[str] | None,
) -> None:
    forms.load_pyhanko()
    form = build(pki, pdf, signed)
    assert not proven(form, anchors(pki))
    verdict = both_ways(form, anchors(pki))
    if expected is not None:
        assert codes(verdict) == list(expected)


# --- chains: the proof checks what pyHanko checks, and leaves the rest to it ------------------


def _chain_case(pki: Pki, signed: bytes, ca: demo_pki.Issued) -> bytes:
    """signed, re-signed by a signer issued by ca (embedded), which is issued by the root."""
    signer = pki.signer(ca)
    return resigned(signed, signer, certs=[ca.cert])


CHAINS: list[tuple[str, Callable[[Pki], demo_pki.Issued]]] = [
    ("issuer-not-a-ca", lambda p: ca_with(p.root, "Not a CA", ca=False)),
    (
        "issuer-without-cert-sign-usage",
        lambda p: ca_with(
            p.root,
            "No certSign",
            (
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            ),
        ),
    ),
    (
        "unknown-critical-extension",
        lambda p: ca_with(
            p.root,
            "Odd critical",
            (_CA_USAGE, True),
            (
                x509.UnrecognizedExtension(
                    x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00"
                ),
                True,
            ),
        ),
    ),
    (
        "name-constraints",
        lambda p: ca_with(
            p.root,
            "Constrained",
            (_CA_USAGE, True),
            (x509.NameConstraints([x509.DNSName("example.invalid")], None), True),
        ),
    ),
    (
        "policy-constraints",
        lambda p: ca_with(
            p.root,
            "Explicit policy",
            (_CA_USAGE, True),
            (x509.PolicyConstraints(require_explicit_policy=0, inhibit_policy_mapping=None), True),
        ),
    ),
]


@pytest.mark.parametrize("make_ca", [pytest.param(m, id=n) for n, m in CHAINS])
def test_an_unusual_chain_is_left_to_pyhanko(
    pki: Pki, signed: bytes, make_ca: Callable[[Pki], demo_pki.Issued]
) -> None:
    form = _chain_case(pki, signed, make_ca(pki))
    trusted = anchors(pki, intermediate=False)
    assert not proven(form, trusted)
    both_ways(form, trusted)


def test_a_proper_embedded_ca_is_proven(pki: Pki, signed: bytes) -> None:
    """The control for the cases above: the same construction with a CA as it should be."""
    form = _chain_case(pki, signed, ca_with(pki.root, "Proper CA", (_CA_USAGE, True)))
    trusted = anchors(pki, intermediate=False)
    assert proven(form, trusted)
    assert codes(both_ways(form, trusted)) == []


def test_an_expired_embedded_ca_is_not_proven(pki: Pki, signed: bytes) -> None:
    old = demo_pki.make_intermediate_ca(
        pki.root,
        "Old DEMO Intermediate",
        key_type="ec",
        key_size=256,
        not_before=NOW - timedelta(days=400),
        not_after=NOW - timedelta(days=1),
    )
    form = _chain_case(pki, signed, old)
    trusted = anchors(pki, intermediate=False)
    assert not proven(form, trusted)
    assert codes(both_ways(form, trusted)) == ["FORM-SIGNER-UNTRUSTED"]


def test_a_path_longer_than_a_ca_allows_is_not_proven(pki: Pki, signed: bytes) -> None:
    # The intermediate allows no CA below it (path length 0); a CA under it breaks that.
    below = demo_pki.make_intermediate_ca(
        pki.intermediate, "Too deep DEMO", key_type="ec", key_size=256, **pki_times()
    )
    signer = pki.signer(below)
    form = resigned(signed, signer, certs=[below.cert, pki.intermediate.cert])
    trusted = anchors(pki, intermediate=False)
    assert not proven(form, trusted)
    assert codes(both_ways(form, trusted)) == ["FORM-SIGNER-UNTRUSTED"]


def test_a_trusted_certificate_signing_itself_is_left_to_pyhanko(pki: Pki, signed: bytes) -> None:
    signer = pki.signer()
    form = resigned(signed, signer)
    assert not proven(form, [*anchors(pki), signer.der()])
    both_ways(form, [*anchors(pki), signer.der()])


def test_nothing_is_proven_without_a_usable_trusted_certificate(pki: Pki, signed: bytes) -> None:
    for trusted in ([], [b"not a certificate"], [pki.stranger.der()]):
        assert not proven(signed, trusted)
        assert codes(both_ways(signed, trusted)) != []


def test_without_cryptographys_path_validation_pyhanko_checks(
    pki: Pki, signed: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signature_proof, "_build_verifier", lambda certificates, moment: None)
    assert not proven(signed, anchors(pki))
    assert codes(both_ways(signed, anchors(pki))) == []


class _Believer:
    """A path validator that believes any chain it is handed, so that the checks
    signature_proof makes again on the chain are tested alone."""

    def __init__(self, anchor: x509.Certificate) -> None:
        self.anchor = anchor

    def verify(self, leaf: x509.Certificate, others: Sequence[x509.Certificate]) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(chain=[leaf, *others, self.anchor])


def _own_checks(pki: Pki, leaf: demo_pki.Issued, *cas: demo_pki.Issued) -> bool:
    trust = Trust(anchors(pki, intermediate=False))
    trust.verifier = lambda moment: _Believer(pki.root.cert)  # type: ignore[method-assign]
    return (
        signature_proof._trusted_chain(leaf.cert, [c.cert for c in cas], trust, MOMENT) is not None
    )


def test_the_checks_made_again_on_the_chain_refuse_alone(pki: Pki) -> None:
    proper = ca_with(pki.root, "Proper CA", (_CA_USAGE, True))
    assert _own_checks(pki, pki.signer(proper), proper)  # the control
    for name, make_ca in CHAINS[:3]:  # constraints are refused before any link is looked at
        ca = make_ca(pki)
        assert not _own_checks(pki, pki.signer(ca), ca), name
    expired = pki.signer(proper, not_before=NOW - timedelta(days=9), not_after=NOW - timedelta(1))
    assert not _own_checks(pki, expired, proper)
    assert not _own_checks(pki, pki.signer(proper, key_usage=("key_agreement",)), proper)
    assert not _own_checks(pki, pki.signer(proper, key_usage=None), proper)
    # Issued by another CA than the one the chain names, and a CA with too long a path.
    assert not _own_checks(pki, pki.signer(pki.intermediate), proper)
    below = demo_pki.make_intermediate_ca(
        pki.intermediate, "Too deep DEMO", key_type="ec", key_size=256, **pki_times()
    )
    assert not _own_checks(pki, pki.signer(below), below, pki.intermediate)
    for name, make_ca in CHAINS[3:]:
        ca = make_ca(pki)
        assert not _own_checks(pki, pki.signer(ca), ca), name
    # A certificate signed with SHA-1, a CA with a weak key, an issuer without basic
    # constraints; and, accepted as pyHanko accepts it, a CA without key usage (any usage).
    assert not _own_checks(pki, pki.signer(proper, hash_name="sha1"), proper)
    weak = demo_pki.make_intermediate_ca(pki.root, "Weak", key_size=1024, **pki_times())
    assert not _own_checks(pki, pki.signer(weak), weak)
    unconstrained = ca_with(pki.root, "No basic constraints", (_CA_USAGE, True), ca=None)
    assert not _own_checks(pki, pki.signer(unconstrained), unconstrained)
    any_usage = demo_pki.issue(
        demo_pki.name("Any usage", "DEMO"), pki.root, ca=True, key_usage=None, **pki_times()
    )
    assert _own_checks(pki, pki.signer(any_usage), any_usage)


# --- any change to a good form: the proof never accepts what pyHanko refuses ------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_changes_never_get_a_different_verdict(pki: Pki, signed: bytes, data: Any) -> None:
    sig = last_signature(signed)
    _, len1, _, _ = (int(v) for v in sig.byte_range)
    # Anywhere in the file, in the signature's hex, or in the byte range's digits.
    region = data.draw(st.sampled_from(["anywhere", "contents", "byte-range"]))
    if region == "contents":
        at = data.draw(st.integers(len1 + 1, len1 + 2 * len(sig.pkcs7_content)))
        new = data.draw(st.sampled_from(b"0123456789abcdef"))
    elif region == "byte-range":
        start = signed.index(b"/ByteRange [")
        at = data.draw(st.integers(start + 12, signed.index(b"]", start) - 1))
        new = data.draw(st.sampled_from(b"0123456789 "))
    else:
        at = data.draw(st.integers(0, len(signed) - 1))
        new = data.draw(st.integers(0, 255))
    form = signed[:at] + bytes([new]) + signed[at + 1 :]
    verdict = both_ways(form, anchors(pki))
    if form != signed and proven(form, anchors(pki)):
        # Only a byte the signature does not cover, and that changes nothing it reads, may be
        # changed: the verdict is then the original's.
        assert codes(verdict) == []
