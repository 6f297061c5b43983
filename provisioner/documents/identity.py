"""Certificate identity: what plan, permissions, messages and audit show about a CDA."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioner.loading.paths import RepositoryFiles


@dataclass(frozen=True, slots=True)
class CertificateIdentity:
    subject: str  # RFC 4514 string
    issuer: str
    serial: str  # hex, upper case, no separators
    sha256: str  # hex fingerprint of the DER encoding, lower case
    not_before: datetime
    not_after: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "sha256": self.sha256,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
        }

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now).days


@dataclass(frozen=True, slots=True)
class FileDigest:
    """A document as validation read it: the resolved file, the SHA-256 of its bytes, its size."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class ReadDocuments:
    """What validation read about one integration's documents, so that plan reads nothing again.

    None where validation did not get that far (an unusable path, a file that is no certificate).
    """

    cda: FileDigest | None = None
    identity: CertificateIdentity | None = None
    form: FileDigest | None = None


def identity_of(cert: Any, der: bytes | None = None) -> CertificateIdentity:
    """Identity of a cryptography x509.Certificate (der: its DER encoding, when known)."""
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    if der is None:
        der = cert.public_bytes(Encoding.DER)
    # Spanish qualified certificates carry the NIF in organizationIdentifier (VATES-<NIF>);
    # name it instead of printing its bare OID.
    names = {NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier"}
    return CertificateIdentity(
        subject=cert.subject.rfc4514_string(names),
        issuer=cert.issuer.rfc4514_string(names),
        serial=format(cert.serial_number, "X"),
        sha256=hashlib.sha256(der).hexdigest(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def identity_from_bytes(data: bytes) -> CertificateIdentity | None:
    """The identity of the single certificate in PEM or DER bytes; None if it is not one.

    Validation with diagnostics lives in the certificate rules; this is the lenient reading that
    later steps use on files that already passed them.
    """
    from cryptography import x509

    try:
        cert = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError:
        return None
    return identity_of(cert)


#: A CDA is a few kilobytes; anything far bigger is not one (and is not read into memory).
MAX_CERTIFICATE_BYTES = 256 * 1024


def identity_in(files: RepositoryFiles, folder: Path, written: str) -> CertificateIdentity | None:
    """The identity of the certificate a path written in an integration file names, if usable."""
    path = files.usable(folder, written)
    if path is None:
        return None
    try:
        return identity_from_bytes(files.read(path, MAX_CERTIFICATE_BYTES))
    except OSError:
        return None
