"""Proving a PDF signature good with `cryptography` alone, or leaving it to pyHanko.

pyHanko's validation (CMS checks, then certvalidator's path building, in an event loop) costs
about 4 ms a form, most of it in Python machinery that a plain signature does not need. The
forms this tool sees are nearly all alike: one signature, covering the whole file, a SHA-2
digest, the signer's certificate issued by a CA of the catalog. For those, `prove` checks the
same things directly:

- the PDF side is pyHanko's own: its reader found the signature, and its coverage check says
  the signed byte range covers the whole file but the signature itself (so nothing was changed
  or added after signing, and there is nothing for a difference analysis to judge);
- the CMS: one signer, detached data, the content-type and message-digest attributes present
  once each, the digest equal to the digest of the byte range, the signature over the signed
  attributes valid for the signer's key (SHA-2 with RSA >= 2048 bits or ECDSA on P-256/384/521);
- the trust: `cryptography`'s path validation (RFC 5280) from the signer's certificate to a
  certificate of the catalog, at the time of the check; then, on the chain it built, the rules
  pyHanko applies, checked again here: each certificate issued by the next (signature and
  names), valid at the time, of version 3, with a strong signature algorithm and key, each
  issuer a CA allowed to sign certificates within its path length, no unknown critical
  extension, and the signer's key usage allowing signatures (digitalSignature or
  nonRepudiation).

It only ever says "good": anything it does not recognise or cannot prove (a second signature,
an update after signing, a timestamp, an unusual attribute or algorithm, name or policy
constraints, a certificate not valid at that time, any error) makes it answer None, and the
caller asks pyHanko, whose verdict (and message) then stands. So it can make a check faster, but
it cannot accept what pyHanko refuses: tests/documents/test_signature_proof.py builds every kind
of tampering and compares both.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Subfilters of a CMS signature of a byte range (what pyHanko validates as such).
SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"})
#: Signed attributes whose meaning is checked here (or by pyHanko's own code that the proof
#: calls), or that pyHanko's validation does not read: a signature policy and a commitment type
#: (PAdES-EPES, as Spanish signing software makes by default) are declarations, not checks.
KNOWN_SIGNED_ATTRIBUTES = frozenset(
    {
        "content_type",
        "message_digest",
        "signing_time",
        "signing_certificate",
        "signing_certificate_v2",
        "cms_algorithm_protection",
        "smime_capabilities",
        "signature_policy_identifier",
        "commitment_type",
    }
)
DIGESTS = ("sha256", "sha384", "sha512")
MIN_RSA_BITS = 2048
CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
MAX_CHAIN = 8


@dataclass(frozen=True, slots=True)
class Proof:
    """A signature shown intact, covering the whole file, and trusted at the time of the check."""

    chain: tuple[Any, ...]  # cryptography certificates, the signer's first, the trusted CA last


class Trust:
    """The catalog's trusted certificates, parsed once per process for every form."""

    def __init__(self, anchors_der: Sequence[bytes]) -> None:
        from cryptography import x509

        self.certificates: list[Any] = []
        for der in anchors_der:
            try:
                self.certificates.append(x509.load_der_x509_certificate(der))
            except ValueError:  # reported on the catalog; it trusts nothing here
                continue
        self.fingerprints = {_fingerprint(c) for c in self.certificates}
        self._verifiers: dict[float, Any] = {}

    def verifier(self, moment: float) -> Any:
        """cryptography's path validator at moment, or None when this version has none."""
        if moment not in self._verifiers:
            self._verifiers.clear()  # one time of check per run
            self._verifiers[moment] = _build_verifier(self.certificates, moment)
        return self._verifiers[moment]


def _build_verifier(certificates: Sequence[Any], moment: float) -> Any:
    try:
        from cryptography.x509 import verification as v

        if not certificates:
            return None
        return (
            v.PolicyBuilder()
            .store(v.Store(list(certificates)))
            .time(datetime.fromtimestamp(moment, UTC).replace(tzinfo=None))
            .max_chain_depth(MAX_CHAIN)
            # The CAs under the web's rules (RFC 5280 and the CA/Browser Forum's profile); the
            # signer's certificate is not a TLS client's, so its extensions are judged below.
            .extension_policies(
                ca_policy=v.ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=v.ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
    except Exception:  # an older cryptography, or a policy it refuses: pyHanko checks instead
        return None


def _fingerprint(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import hashes

    return bytes(cert.fingerprint(hashes.SHA256()))


def prove(sig: Any, trust: Trust, moment: float) -> Proof | None:
    """A Proof that pyHanko's EmbeddedPdfSignature sig is good at moment; None: ask pyHanko."""
    try:
        return _prove(sig, trust, moment)
    except Exception:  # whatever it is, pyHanko's verdict and message stand
        return None


def _prove(sig: Any, trust: Trust, moment: float) -> Proof | None:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if sig.sig_object_type != "/Sig" or sig.sig_object.get("/SubFilter") not in SUBFILTERS:
        return None
    # Seed values, locks and certification (DocMDP/FieldMDP) references: pyHanko reads them.
    if "/SV" in sig.sig_field or "/Lock" in sig.sig_field or "/Reference" in sig.sig_object:
        return None
    # pyHanko's: the byte range's digest and coverage (no difference analysis: a signature
    # covering the whole file has nothing after it to analyse, and any other is not ours).
    sig.compute_integrity_info(skip_diff=True)
    if sig.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return None
    signer_info = sig.signer_info
    if not _cms_intact(sig, signer_info):
        return None
    from cryptography import x509

    # pyHanko picks the signer's certificate (and checks the signing-certificate attribute).
    leaf = x509.load_der_x509_certificate(sig.signer_cert.dump())
    if not _signature_valid(signer_info, leaf):
        return None
    others = [x509.load_der_x509_certificate(c.dump()) for c in sig.other_embedded_certs]
    chain = _trusted_chain(leaf, others, trust, moment)
    return None if chain is None else Proof(chain)


def _cms_intact(sig: Any, signer_info: Any) -> bool:
    """Detached data, known attributes once each, and the message digest of the byte range."""
    content = sig.signed_data["encap_content_info"]
    if content["content_type"].native != "data" or content["content"].native is not None:
        return False
    digest = signer_info["digest_algorithm"]
    if digest["algorithm"].native not in DIGESTS or digest["parameters"].native is not None:
        return False
    if signer_info["unsigned_attrs"].native is not None:  # timestamps, countersignatures
        return False
    attrs = signer_info["signed_attrs"]
    if attrs.native is None:
        return False
    values: dict[str, Any] = {}
    for attr in attrs:
        kind = attr["type"].native
        if kind not in KNOWN_SIGNED_ATTRIBUTES or kind in values or len(attr["values"]) != 1:
            return False
        values[kind] = attr["values"][0]
    if "content_type" not in values or values["content_type"].native != "data":
        return False
    protection = values.get("cms_algorithm_protection")
    if protection is not None and (
        protection["digest_algorithm"].native != digest.native
        or protection["signature_algorithm"].native != signer_info["signature_algorithm"].native
    ):
        return False
    if "signing_time" in values:
        values["signing_time"].native  # noqa: B018  # a malformed time raises: pyHanko's case
    embedded = values.get("message_digest")
    return embedded is not None and hmac.compare_digest(
        bytes(embedded.native), sig.compute_digest()
    )


def _hash(name: str) -> Any:
    from cryptography.hazmat.primitives import hashes

    known: dict[str, hashes.HashAlgorithm] = {
        "sha256": hashes.SHA256(),
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
    }
    return known[name]  # KeyError for any other: not proven


def _strong_key(key: Any) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size >= MIN_RSA_BITS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.name in CURVES
    return False


def _signature_valid(signer_info: Any, leaf: Any) -> bool:
    """The signature over the signed attributes (as DER SET OF), by the signer's key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    algorithm = signer_info["signature_algorithm"]
    mechanism = algorithm["algorithm"].native
    digest = signer_info["digest_algorithm"]["algorithm"].native
    key = leaf.public_key()
    if not _strong_key(key):
        return False
    signed = signer_info["signed_attrs"].untag().dump()
    signature = bytes(signer_info["signature"].native)
    try:
        if isinstance(key, rsa.RSAPublicKey) and mechanism in (
            "rsassa_pkcs1v15",
            f"{digest}_rsa",
        ):
            if algorithm["parameters"].native is not None:
                return False
            key.verify(signature, signed, padding.PKCS1v15(), _hash(digest))
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and mechanism == f"{digest}_ecdsa":
            key.verify(signature, signed, ec.ECDSA(_hash(digest)))
            return True
    except InvalidSignature:
        return False
    return False  # another mechanism (PSS, EdDSA, a mismatched hash): pyHanko's


# Extensions pyHanko (certvalidator) processes and accepts when critical. Name and policy
# constraints are left out on purpose: a chain that holds them is left to pyHanko entirely.
_CRITICAL_OK = frozenset(
    {
        "2.5.29.19",  # basicConstraints
        "2.5.29.15",  # keyUsage
        "2.5.29.37",  # extendedKeyUsage
        "2.5.29.32",  # certificatePolicies
        "2.5.29.17",  # subjectAltName
    }
)
_CONSTRAINTS = frozenset(
    {
        "2.5.29.30",  # nameConstraints
        "2.5.29.33",  # policyMappings
        "2.5.29.36",  # policyConstraints
        "2.5.29.54",  # inhibitAnyPolicy
    }
)
_SIGNATURE_OIDS = {
    "1.2.840.113549.1.1.11": "sha256",  # sha256WithRSAEncryption
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.10045.4.3.2": "sha256",  # ecdsa-with-SHA256
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}


def _trusted_chain(
    leaf: Any, others: Sequence[Any], trust: Trust, moment: float
) -> tuple[Any, ...] | None:
    if _fingerprint(leaf) in trust.fingerprints:
        return None  # a trusted certificate signing itself: pyHanko's special case
    verifier = trust.verifier(moment)
    if verifier is None:
        return None
    chain = tuple(verifier.verify(leaf, list(others)).chain)  # raises when there is no path
    if len(chain) < 2 or _fingerprint(chain[-1]) not in trust.fingerprints:
        return None
    at = datetime.fromtimestamp(moment, UTC)
    for cert in chain:
        if any(ext.oid.dotted_string in _CONSTRAINTS for ext in cert.extensions):
            return None
    below = 0  # CAs between a certificate and the signer, for path length constraints
    for index, cert in enumerate(chain[:-1]):
        issuer = chain[index + 1]
        if not _issued_properly(cert, issuer, at):
            return None
        if index > 0:
            below += 0 if cert.subject == cert.issuer else 1
        if not _may_issue(issuer, below):
            return None
    return chain if _signing_usage(leaf) else None


def _issued_properly(cert: Any, issuer: Any, at: datetime) -> bool:
    """cert: signed by issuer with a strong algorithm, valid at `at`, no unknown critical part."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    if cert.version != x509.Version.v3:
        return False
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        return False
    if _SIGNATURE_OIDS.get(cert.signature_algorithm_oid.dotted_string) is None:
        return False
    if not _strong_key(issuer.public_key()):
        return False
    if any(e.critical and e.oid.dotted_string not in _CRITICAL_OK for e in cert.extensions):
        return False
    try:
        cert.verify_directly_issued_by(issuer)  # the names, and the signature
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _may_issue(issuer: Any, below: int) -> bool:
    """A CA whose key may sign certificates, with at most its path length of CAs below it."""
    from cryptography import x509

    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not constraints.ca:
        return False
    if constraints.path_length is not None and below > constraints.path_length:
        return False
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True  # no key usage: any usage (RFC 5280), as pyHanko reads it
    return bool(usage.key_cert_sign)


def _signing_usage(leaf: Any) -> bool:
    """The signer's key usage allows signing: digitalSignature or nonRepudiation."""
    from cryptography import x509

    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False  # pyHanko requires one of them to be present
    return bool(usage.digital_signature or usage.content_commitment)
