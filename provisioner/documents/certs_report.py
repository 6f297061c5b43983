"""`hestia-provisioner certs`: every CDA with its entity, provider, environment and expiry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from provisioner.documents.identity import CertificateIdentity, identity_in
from provisioner.formats import Formats
from provisioner.text import json_text, md_code, md_text, visible

FORMATS: Formats[Callable[[CertsReport], str]] = Formats("certificates")


@dataclass(frozen=True)
class CertRow:
    file: str  # the integration file
    entity_ine10: str
    entity_name: str
    provider_name: str
    provider_nif: str
    environment: str
    cda: str  # as written in the file
    identity: CertificateIdentity | None  # None: missing or not a readable certificate

    def days_left(self, now: datetime) -> int | None:
        return None if self.identity is None else self.identity.days_left(now)

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "file": self.file,
            "entity": {"ine10": self.entity_ine10, "name": self.entity_name},
            "provider": {"name": self.provider_name, "nif": self.provider_nif},
            "environment": self.environment,
            "cda": self.cda,
            "certificate": None if self.identity is None else self.identity.as_dict(),
            "days_left": self.days_left(now),
        }


@dataclass(frozen=True)
class CertsReport:
    rows: list[CertRow]
    now: datetime
    within: int | None  # the --expiring-within window, if asked

    def flagged(self, row: CertRow) -> bool:
        """Expiring within the window (or already expired), or unreadable."""
        if self.within is None:
            return False
        days = row.days_left(self.now)
        return days is None or days <= self.within

    @property
    def problems(self) -> list[CertRow]:
        return [row for row in self.rows if self.flagged(row)]


def collect(repo_root: Path, within: int | None = None, *, now: datetime) -> CertsReport:
    """Read every integration file (that loads) and the identity of its CDA."""
    from provisioner.loading.paths import RepositoryFiles
    from provisioner.loading.sources import integration_files, load_sources

    sources, _ = load_sources(repo_root, integration_files(repo_root))
    files = RepositoryFiles(repo_root)
    rows = []
    for src in sources:
        it = src.integration
        rows.append(
            CertRow(
                src.rel,
                it.entity.ine10,
                it.entity.name,
                it.provider.name,
                it.provider.nif,
                str(it.environment),
                it.cda,
                identity_in(files, src.folder, it.cda),
            )
        )
    rows.sort(key=lambda r: (r.entity_ine10, r.provider_name, r.file))
    return CertsReport(rows, now, within)


def _expiry(row: CertRow, now: datetime) -> str:
    if row.identity is None:
        return "unreadable (run `hestia-provisioner validate`)"
    days = row.identity.days_left(now)
    when = f"{row.identity.not_after:%Y-%m-%d}"
    return f"{when} (expired)" if days < 0 else f"{when} ({days} d)"


@FORMATS.register("text")
def render_text(report: CertsReport) -> str:
    lines = []
    for row in report.rows:
        mark = "! " if report.flagged(row) else "  "
        fingerprint = row.identity.sha256 if row.identity else "-"
        lines.append(
            f"{mark}{row.entity_ine10} {row.entity_name} | {row.provider_name} | "
            f"{row.environment} | {_expiry(row, report.now)} | sha256:{fingerprint} | {row.file}"
        )
    lines.append(_summary(report))
    return "\n".join(visible(line) for line in lines)


def _summary(report: CertsReport) -> str:
    text = f"{len(report.rows)} certificate(s)"
    if report.within is not None:
        text += f"; {len(report.problems)} expiring within {report.within} day(s) or unreadable"
    return text


@FORMATS.register("json")
def render_json(report: CertsReport) -> str:
    return json_text(
        {
            "now": report.now.isoformat(),
            "expiring_within": report.within,
            "certificates": [row.as_dict(report.now) for row in report.rows],
            "flagged": [row.file for row in report.problems],
        }
    )


@FORMATS.register("markdown")
def render_markdown(report: CertsReport) -> str:
    out = [
        f"**{_summary(report)}**",
        "",
        "| | entity | provider | env | expires | SHA-256 | file |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        icon = "⚠️" if report.flagged(row) else ""
        fingerprint = md_code(row.identity.sha256, table=True) if row.identity else "-"
        # Names come from the files: prose escaped, paths as code, never markup.
        cells: Sequence[str] = (
            icon,
            md_text(f"{row.entity_name} ({row.entity_ine10})"),
            md_text(row.provider_name),
            md_text(row.environment),
            md_text(_expiry(row, report.now)),
            fingerprint,
            md_code(row.file, table=True),
        )
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
