"""Reading an integration file for the support desk's commands (`message`, `sample-request`).

Unlike `validate`, these commands must work on files that are not valid yet: a request from a
dependent entity, or one whose form or CDA has not arrived. They need the file to parse as YAML
and to have the fields that name the entity and the provider. An absent or empty `cda`, `form`
or `ips` is accepted here (it is what `message request-info` asks for).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioner.catalog import Catalog, CatalogMemory, load_catalog
from provisioner.diagnostics import Finding
from provisioner.errors import FatalError
from provisioner.loading.loader import load_model, model_diagnostics
from provisioner.loading.sources import canonical_path
from provisioner.model import Integration
from provisioner.source import Source

# Placeholders for the fields an incomplete request may lack; removed again after validation.
_PLACEHOLDER_IPS = ["192.0.2.1"]


class DeskProblem(FatalError):
    """The command cannot run on this file (exit 2). The message says why and what to do."""


@dataclass(frozen=True)
class DeskFile:
    source: Source
    catalog: Catalog

    @property
    def integration(self) -> Integration:
        return self.source.integration


def _summary(diags: list[Finding]) -> str:
    return "; ".join(f"{d.line}:{d.column} {d.code} {d.message}" for d in diags if d.is_error)


def load_desk_file(path: Path, repo_root: Path, catalogs: CatalogMemory | None = None) -> DeskFile:
    """The integration in `path`, leniently, and the repository's catalog (kept in catalogs)."""
    catalog, cdiags = load_catalog(repo_root, catalogs)
    if catalog is None:
        raise DeskProblem(f"the catalog cannot be loaded: {_summary(cdiags)}; run `validate`")
    path = canonical_path(path)  # '..' or a linked folder: the same file validate reads
    try:
        rel = path.relative_to(repo_root).as_posix()
    except ValueError:
        rel = path.as_posix()
    integration, doc, diags = load_model(path, rel, Integration)
    if doc is None:
        raise DeskProblem(f"{rel}: {_summary(diags)}")
    if integration is None and isinstance(doc.data, dict):
        data: dict[str, Any] = dict(doc.data)
        for key in ("cda", "form"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                data[key] = ""
        no_ips = not data.get("ips")
        if no_ips:
            data["ips"] = list(_PLACEHOLDER_IPS)
        try:
            integration = Integration.model_validate(data)
        except ValidationError as exc:
            diags = model_diagnostics(doc, Integration, exc)
        if integration is not None and no_ips:
            integration = integration.model_copy(update={"ips": []})
    if integration is None:
        raise DeskProblem(
            f"{rel} cannot be read as an integration: {_summary(diags)}; "
            "it needs at least fp, entity, provider, environment and modalities"
        )
    source = Source(rel, path, repo_root, integration, doc)
    return DeskFile(source, catalog)


def request_file_name(modality: str) -> str:
    """How a sample request is named: as the homologation evidence it becomes."""
    from provisioner.documents.evidence import REQUEST_SUFFIX

    return f"{modality}{REQUEST_SUFFIX}"


def granted_modalities(desk: DeskFile) -> tuple[str, ...]:
    """The catalog's modalities this integration is granted (unknown codes left out)."""
    return desk.catalog.granted_modalities(desk.integration)


def parse_assignments(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """NAME=VALUE pairs from the command line."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise DeskProblem(f"--set {pair!r}: write NAME=VALUE, e.g. --set IdCites=1001")
        if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
            # XML 1.0 cannot carry these characters: the request would not be well-formed.
            raise DeskProblem(f"--set {name.strip()}: the value holds a control character")
        values[name.strip()] = value
    return values


def sample_requests(
    desk: DeskFile,
    modalities: list[str] | None,
    *,
    now: datetime,
    values: dict[str, str] | None = None,
    soap: bool = False,
    generic: bool = False,
) -> list[tuple[str, bytes]]:
    """(modality, XML) PRE test requests; `modalities=None` means every granted one."""
    from provisioner.documents import scsp

    granted = granted_modalities(desk)
    chosen = list(granted) if modalities is None else modalities
    for code in chosen:
        if code not in granted:
            raise DeskProblem(
                f"modality {code!r} is not granted to this integration; granted: "
                + (", ".join(granted) or "none")
            )
    values = values or {}
    unknown = sorted(set(values) - scsp.fillable_fields(chosen))
    if unknown:
        raise DeskProblem(
            "--set names no field of the chosen modalities: "
            + ", ".join(unknown)
            + "; fields: "
            + ", ".join(sorted(scsp.fillable_fields(chosen)))
        )
    out: list[tuple[str, bytes]] = []
    for code in chosen:
        sequence = desk.catalog.modality_codes.index(code) + 1
        element = scsp.build_request(
            desk.integration,
            desk.catalog,
            code,
            now=now,
            values=values,
            sequence=sequence,
            people=generic,
        )
        if soap:
            element = scsp.soap_envelope(element)
        out.append((code, scsp.to_xml(element)))
    return out
