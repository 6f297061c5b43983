"""The CDA (application certificate) as the head of service checks it: bytes in, findings out.

Pure functions: no file system, no clock unless given. The rules in rules/documents.py turn the
findings into diagnostics at the `cda:` line of the integration file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from provisioner.diagnostics import Finding
from provisioner.documents.identity import CertificateIdentity, identity_of

if TYPE_CHECKING:
    from cryptography import x509


MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_HASHES = ("sha1", "md5")

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")
_EXPOSED = (
    "only the public certificate may be sent; this private key must be considered exposed: "
    "ask the provider to revoke the certificate, make a new key and certificate, and send only "
    "the public part (.pem or .cer); remove this file from the pull request and its history"
)


def _err(code: str, message: str) -> Finding:
    return Finding("error", code, message)


def private_key_kind(data: bytes) -> str | None:
    """A description of the private key material in data, or None when there is none."""
    for match in _PEM_BLOCK.finditer(data):
        label = match.group(1).decode("ascii")
        if "PRIVATE KEY" in label:
            return f"a PEM '{label}' block"
    if b"-----BEGIN" in data:
        return None  # PEM text: DER key or PKCS#12 containers cannot hide in it
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        load_der_private_key(data, password=None)
        return "a DER private key"
    except TypeError:  # a key that wants a password is still a key
        return "an encrypted DER private key"
    except UnsupportedAlgorithm:
        return "a DER private key"
    except ValueError:
        pass
    if _looks_like_pkcs12(data):
        return "a PKCS#12 (.p12/.pfx) container, which holds the private key"
    return None


def _looks_like_pkcs12(data: bytes) -> bool:
    """PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData OPTIONAL }."""
    from asn1crypto import pkcs12

    try:
        pfx = pkcs12.Pfx.load(data, strict=True)
        return bool(
            pfx["version"].native == "v3"
            and pfx["auth_safe"]["content_type"].native in ("data", "signed_data")
        )
    except (ValueError, TypeError, KeyError, OverflowError):
        return False


def load_single_certificate(data: bytes) -> tuple[x509.Certificate | None, list[Finding]]:
    """The one X.509 certificate in data (PEM or DER), or findings saying why not."""
    from cryptography import x509

    if not data.strip():
        return None, [_err("CDA-NOT-CERTIFICATE", "the file is empty; commit the certificate")]
    kind = private_key_kind(data)
    if kind is not None:
        return None, [_err("CDA-PRIVATE-KEY", f"the file holds {kind}; {_EXPOSED}")]
    if b"-----BEGIN" in data:
        labels = [m.group(1).decode("ascii") for m in _PEM_BLOCK.finditer(data)]
        certs = [label for label in labels if label == "CERTIFICATE"]
        if len(certs) > 1:
            return None, [
                _err(
                    "CDA-MULTIPLE",
                    f"the file holds {len(certs)} certificates; keep only the application "
                    "certificate (not the chain)",
                )
            ]
        if not certs:
            found = ", ".join(labels) or "nothing readable"
            return None, [
                _err(
                    "CDA-NOT-CERTIFICATE",
                    f"the file holds {found}, not a PEM 'CERTIFICATE'; export the public "
                    "certificate as PEM or DER",
                )
            ]
        try:
            return x509.load_pem_x509_certificate(data), []
        except ValueError as exc:
            return None, [_err("CDA-NOT-CERTIFICATE", f"the PEM certificate is damaged ({exc})")]
    try:
        return x509.load_der_x509_certificate(data), []
    except ValueError:
        return None, [
            _err(
                "CDA-NOT-CERTIFICATE",
                "the file is not an X.509 certificate (PEM or DER); export the public "
                "certificate as .pem or .cer",
            )
        ]


def _hash_name(cert: x509.Certificate) -> str | None:
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unknown"
    return None if algorithm is None else algorithm.name


def key_problem(cert: x509.Certificate) -> str | None:
    """Why the certificate's public key is too weak, or None."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "its public key cannot be read"
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return f"its RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are required"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            return (
                f"its EC key is on {key.curve.name} ({key.curve.key_size} bits); "
                "P-256 or stronger is required"
            )
        return None
    return f"its key type ({type(key).__name__}) is not accepted; use RSA 2048+ or EC P-256+"


class IssuerMarks(Protocol):
    """Which (certificate, CA) signatures were already verified, remembered across runs.

    Verifying a signature is the costliest part of checking a CDA. Only a positive result is
    kept, so a lost mark just means verifying again. The edge keeps them (provisioner.runtime).
    """

    def known(self, key: str) -> bool: ...

    def remember(self, key: str) -> None:
        """Keep a mark (possibly held back until save)."""

    def save(self) -> None:
        """Write the marks held back (at the end of a run: one write for all)."""


def issuer_mark_key(cert: x509.Certificate, anchor: x509.Certificate) -> str:
    """The SHA-256 of both certificates: what an issuer mark is named by."""
    return hashlib.sha256(_der(cert) + b"\0" + _der(anchor)).hexdigest()


@lru_cache(maxsize=1024)
def _der(cert: x509.Certificate) -> bytes:
    """The DER encoding; cached because every CDA check compares against the same CAs."""
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def _issued_by(
    cert: x509.Certificate, anchor: x509.Certificate, marks: IssuerMarks | None = None
) -> bool:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    if cert.issuer != anchor.subject:
        return False
    key = issuer_mark_key(cert, anchor) if marks is not None else ""
    if marks is not None and marks.known(key):
        return True
    try:
        cert.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    if marks is not None:
        marks.remember(key)
    return True


def _describe(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def validity_findings(
    not_before: datetime, not_after: datetime, now: datetime, warning_days: int
) -> list[Finding]:
    """What the clock alone says of a certificate valid from not_before to not_after."""
    out: list[Finding] = []
    if now < not_before:
        out.append(
            _err(
                "CDA-NOT-YET-VALID",
                f"the certificate is valid only from {not_before:%Y-%m-%d}; "
                "wait until then or send a current one",
            )
        )
    elif now > not_after:
        out.append(
            _err(
                "CDA-EXPIRED",
                f"the certificate expired on {not_after:%Y-%m-%d}; "
                "ask the provider for its renewed certificate",
            )
        )
    elif not_after - now <= timedelta(days=warning_days):
        days = (not_after - now).days
        out.append(
            Finding(
                "warning",
                "CDA-EXPIRING",
                f"the certificate expires on {not_after:%Y-%m-%d} (in {days} "
                f"day(s)); ask the provider for the renewed certificate",
            )
        )
    return out


def _lasting_findings(
    cert: x509.Certificate, anchors: Sequence[x509.Certificate], marks: IssuerMarks | None
) -> tuple[list[Finding], list[Finding]]:
    """The problems of a parsed CDA that the clock does not change: those that come before the
    clock's (worst first), and those after."""
    from cryptography import x509

    before: list[Finding] = []
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if is_ca:
        before.append(
            _err(
                "CDA-CA",
                f"{_describe(cert)} is a certification authority (CA) certificate; send the "
                "provider's application certificate instead",
            )
        )
    out: list[Finding] = []
    if problem := key_problem(cert):
        out.append(_err("CDA-WEAK-KEY", f"{problem}; ask the provider for a new certificate"))
    hash_name = _hash_name(cert)
    weak_hash = hash_name in (*WEAK_HASHES, "unknown")
    if weak_hash:
        out.append(
            _err(
                "CDA-WEAK-HASH",
                f"the certificate is signed with {hash_name.upper() if hash_name else '?'}, "
                "which is no longer accepted; ask for one signed with SHA-256 or stronger",
            )
        )
    try:
        usage: x509.KeyUsage | None = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None  # no restriction: any usage is allowed
    if usage is not None and not usage.digital_signature:
        out.append(
            _err(
                "CDA-KEY-USAGE",
                "the certificate's key usage does not include digital signature, which PCI "
                "requests need; ask for an application (signature) certificate",
            )
        )
    if not weak_hash and not any(_issued_by(cert, a, marks) for a in anchors):
        where = (
            "the catalog has no trusted_roots; add the CAs in catalog/service.yaml"
            if not anchors
            else "it is not issued by any CA in catalog/service.yaml trusted_roots"
        )
        out.append(
            _err(
                "CDA-UNTRUSTED-ISSUER",
                f"issuer {cert.issuer.rfc4514_string()}: {where}; ask for a certificate from "
                "an accepted CA, or have the head of service add that CA",
            )
        )
    return before, out


# --- a verdict kept across runs ------------------------------------------------------------------

#: Changes whenever what a kept CDA verdict holds or means changes (older ones are then misses).
CDA_VERDICT_VERSION = 1


@dataclass(frozen=True)
class CdaVerdict:
    """What a CDA's bytes say against the trusted CAs, the clock aside.

    Kept across runs by the edges (CdaVerdicts): a run that meets a known CDA again parses no
    certificate (and loads no cryptography); the clock's findings are made again at every run.
    """

    findings: tuple[Finding, ...]  # worst first, without the clock's
    clock_at: int = 0  # where the clock's findings go among them
    identity: CertificateIdentity | None = None  # None: no certificate could be read

    def at(self, now: datetime, warning_days: int) -> tuple[Finding, ...]:
        """Every finding at now, worst first."""
        if self.identity is None:
            return self.findings
        clock = validity_findings(
            self.identity.not_before, self.identity.not_after, now, warning_days
        )
        return (*self.findings[: self.clock_at], *clock, *self.findings[self.clock_at :])


class CdaVerdicts(Protocol):
    """CDA verdicts remembered across runs, by cda_verdict_key (the edge decides where)."""

    def get(self, key: str) -> CdaVerdict | None: ...

    def put(self, key: str, verdict: CdaVerdict) -> None:
        """Remember a verdict (possibly held back until save)."""

    def save(self) -> None:
        """Write what put held back (at the end of a run: one write for all)."""


def cda_verdict(
    data: bytes, anchors: Sequence[x509.Certificate], marks: IssuerMarks | None = None
) -> CdaVerdict:
    """Check the bytes of a CDA file against the trusted CAs, the clock aside."""
    cert, findings = load_single_certificate(data)
    if cert is None:
        return CdaVerdict(tuple(findings))
    before, after = _lasting_findings(cert, anchors, marks)
    return CdaVerdict((*before, *after), len(before), identity_of(cert, _der(cert)))


def cda_verdict_key(data: bytes, trust: str) -> str:
    """What a verdict is kept by: the file's bytes and the trusted roots (trust: a digest of
    the files they are read from)."""
    material = json.dumps([CDA_VERDICT_VERSION, hashlib.sha256(data).hexdigest(), trust])
    return hashlib.sha256(material.encode()).hexdigest()


def cda_verdict_to_json(verdict: CdaVerdict) -> dict[str, Any]:
    identity = verdict.identity
    return {
        "version": CDA_VERDICT_VERSION,
        "findings": [[f.severity, f.code, f.message] for f in verdict.findings],
        "clock_at": verdict.clock_at,
        "identity": None if identity is None else identity.as_dict(),
    }


def cda_verdict_from_json(raw: Any) -> CdaVerdict | None:
    """The kept verdict, or None when it is damaged in any way (a miss)."""
    if not isinstance(raw, dict) or raw.get("version") != CDA_VERDICT_VERSION:
        return None
    items, clock_at = raw.get("findings"), raw.get("clock_at")
    if not (isinstance(items, list) and type(clock_at) is int and 0 <= clock_at <= len(items)):
        return None
    findings: list[Finding] = []
    for item in items:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and item[0] in ("error", "warning")
            and all(isinstance(v, str) for v in item)
        ):
            return None
        findings.append(Finding(item[0], item[1], item[2]))
    identity = _identity_from_json(raw.get("identity"))
    if identity is None and raw.get("identity") is not None:
        return None
    return CdaVerdict(tuple(findings), clock_at, identity)


def _identity_from_json(raw: Any) -> CertificateIdentity | None:
    names = ("subject", "issuer", "serial", "sha256", "not_before", "not_after")
    if not (isinstance(raw, dict) and all(isinstance(raw.get(n), str) for n in names)):
        return None
    try:
        not_before, not_after = (datetime.fromisoformat(raw[n]) for n in names[4:])
    except ValueError:
        return None
    if not_before.tzinfo is None or not_after.tzinfo is None:
        return None
    return CertificateIdentity(
        raw["subject"], raw["issuer"], raw["serial"], raw["sha256"], not_before, not_after
    )


def load_anchor_file(data: bytes) -> tuple[list[x509.Certificate], str | None]:
    """The CA certificates in a trusted-root file (PEM, one or more; or DER), or a problem."""
    from cryptography import x509

    if private_key_kind(data):
        return [], "holds a private key; keep only public CA certificates in the catalog"
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        return [], "is not a PEM or DER certificate file"
    for cert in certs:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            return [], f"holds {_describe(cert)}, which is not a CA certificate"
    return certs, None
