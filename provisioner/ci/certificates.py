"""The weekly check's findings: CDAs and trust roots that expire soon (files are read here)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from provisioner.ci.report import ExpiringCertificate


def expiring(repo_root: Path, within: int, now: datetime) -> tuple[list[ExpiringCertificate], bool]:
    """Every CDA and every catalog trust root that expires within `within` days, or is
    unreadable; CDAs first, each once even when several integration files name it. And
    whether the trust roots were checked (not when the catalog does not load)."""
    from provisioner.catalog import CATALOG_DIR, load_catalog
    from provisioner.documents.certs_report import collect
    from provisioner.documents.identity import MAX_CERTIFICATE_BYTES, identity_from_bytes

    found: list[ExpiringCertificate] = []
    report = collect(repo_root, within, now=now)
    seen: set[str] = set()
    for row in report.problems:
        ident = row.identity
        key = ident.sha256 if ident else row.file
        if key in seen:
            continue
        seen.add(key)
        found.append(
            ExpiringCertificate(
                "cda",
                row.file,
                ident.sha256 if ident else None,
                ident.subject if ident else "",
                ident.not_after if ident else None,
                f"{row.entity_name} ({row.entity_ine10})",
                f"{row.provider_name} ({row.provider_nif})",
                row.environment,
            )
        )
    catalog, _ = load_catalog(repo_root)
    if catalog is None:
        return found, False  # validate reports a broken catalog; the CDAs are still checked
    for rel, path in zip(catalog.service.trusted_roots, catalog.trusted_root_paths(), strict=True):
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_CERTIFICATE_BYTES + 1)
        except OSError:
            data = b""
        ident = identity_from_bytes(data) if len(data) <= MAX_CERTIFICATE_BYTES else None
        if ident is None or ident.days_left(now) <= within:
            found.append(
                ExpiringCertificate(
                    "trust-root",
                    f"{CATALOG_DIR}/{rel}",
                    ident.sha256 if ident else None,
                    ident.subject if ident else "",
                    ident.not_after if ident else None,
                )
            )
    return found, True
