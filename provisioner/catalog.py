"""The catalog: reference data and policy, loaded with the same strict loader and models."""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from provisioner.diagnostics import Diagnostic, error
from provisioner.identifiers import ine10_problem, nif_problem
from provisioner.loading.loader import load_model
from provisioner.loading.strict_yaml import Document
from provisioner.model import (
    DependentEntity,
    Integration,
    IpPolicy,
    Register,
    RegisteredEntity,
    Service,
)
from provisioner.sharepoint_names import hidden_characters, name_problem

CATALOG_DIR = "catalog"
SERVICE_FILE = "service.yaml"
IP_POLICY_FILE = "ip-policy.yaml"
REGISTER_FILE = "entities.yaml"

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Catalog:
    root: Path  # the catalog folder
    service: Service
    ip_policy: IpPolicy
    register: Register
    allowed_networks: tuple[IpNetwork, ...] = field(default=())

    @cached_property
    def modality_codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.service.modalities)

    def granted_modalities(self, integration: Integration) -> tuple[str, ...]:
        """The modalities an integration is granted, in catalog order.

        The one definition: validation, the desired state, the desk's messages and sample
        requests all ask here. Codes the catalog does not know are left out (MODALITY-UNKNOWN
        reports them).
        """
        known = self.modality_codes
        if integration.modalities == "all":
            return known
        wanted = set(integration.modalities)
        return tuple(code for code in known if code in wanted)

    @cached_property
    def eligible_by_ine10(self) -> dict[str, RegisteredEntity]:
        return {e.ine10: e for e in self.register.eligible}

    @cached_property
    def dependent_by_ine10(self) -> dict[str, DependentEntity]:
        return {e.ine10: e for e in self.register.dependent}

    def trusted_root_paths(self) -> list[Path]:
        return [self.root / p for p in self.service.trusted_roots]


RegisterRow = RegisteredEntity | DependentEntity


def fold(text: str) -> str:
    """Text for matching: no accents, no case, one kind of apostrophe, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'").replace("·", ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def search_register(register: Register, query: str) -> list[RegisterRow]:
    """Rows of the register that `query` names: an INE10 (a lost leading zero is forgiven), a
    NIF, or words of the name (accent- and case-insensitive, in any order). Eligible rows first.
    """
    rows: list[RegisterRow] = [*register.eligible, *register.dependent]
    text = query.strip()
    if re.fullmatch(r"[0-9]{9,10}", text):
        return [r for r in rows if r.ine10 == text.zfill(10)]
    if re.fullmatch(r"[A-Za-z][0-9]{7}[A-Za-z0-9]|[0-9]{8}[A-Za-z]", text):
        return [r for r in rows if r.nif is not None and r.nif == text.upper()]
    words = fold(text).split()
    if not words:
        return []
    exact = [r for r in rows if fold(r.name) == " ".join(words)]
    return exact or [r for r in rows if all(w in fold(r.name) for w in words)]


def _register_diagnostics(register: Register, doc: Document) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: dict[str, int] = {}
    rows: list[tuple[str, int, RegisteredEntity | DependentEntity]] = [
        ("eligible", i, row) for i, row in enumerate(register.eligible)
    ] + [("dependent", i, row) for i, row in enumerate(register.dependent)]
    for section, i, row in rows:
        line, col = doc.position((section, i, "ine10"))
        if problem := ine10_problem(row.ine10):
            out.append(error(doc.file, line, col, "CATALOG-INE10", f"ine10 {problem}"))
        if row.ine10 in seen:
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    "CATALOG-DUPLICATE",
                    f"INE10 {row.ine10} is listed twice in the register; keep one row",
                )
            )
        seen[row.ine10] = line
        if row.nif is not None and (problem := nif_problem(row.nif)):
            nline, ncol = doc.position((section, i, "nif"))
            out.append(error(doc.file, nline, ncol, "CATALOG-NIF", f"nif {row.nif} {problem}"))
    eligible = {e.ine10 for e in register.eligible}
    for i, dep in enumerate(register.dependent):
        if dep.abss not in eligible:
            line, col = doc.position(("dependent", i, "abss"))
            out.append(
                error(
                    doc.file,
                    line,
                    col,
                    "CATALOG-ABSS-UNKNOWN",
                    f"abss {dep.abss} is not an eligible entity of this register; add it first",
                )
            )
    return out


def _policy_networks(policy: IpPolicy, doc: Document) -> tuple[list[IpNetwork], list[Diagnostic]]:
    nets: list[IpNetwork] = []
    out: list[Diagnostic] = []
    for i, rng in enumerate(policy.allow):
        try:
            nets.append(ipaddress.ip_network(rng.cidr, strict=True))
        except ValueError as exc:
            line, col = doc.position(("allow", i, "cidr"))
            out.append(error(doc.file, line, col, "CATALOG-CIDR", f"allow: {exc}"))
    return nets, out


FOLDER_FIELDS = ("fp", "entity_name", "ine10")


def _pattern_diagnostics(service: Service, doc: Document) -> list[Diagnostic]:
    """folder_pattern may only name the fields, plainly: no format specs, indexes, attributes."""
    pattern = service.sharepoint.folder_pattern
    try:
        fields = [
            (name, conversion, spec)
            for _, name, spec, conversion in string.Formatter().parse(pattern)
            if name is not None
        ]
    except ValueError as exc:  # unbalanced braces
        problem: str | None = f"is not a valid pattern ({exc})"
    else:
        bad = [n for n, conversion, spec in fields if n not in FOLDER_FIELDS or conversion or spec]
        problem = f"uses {{{bad[0]}}}" if bad else None
    if problem is None:
        return []
    line, col = doc.position(("sharepoint", "folder_pattern"))
    return [
        error(
            doc.file,
            line,
            col,
            "CATALOG-FOLDER-PATTERN",
            f"sharepoint.folder_pattern {pattern!r} {problem}; use only "
            + ", ".join(f"{{{f}}}" for f in FOLDER_FIELDS)
            + " (write {{ or }} for a literal brace)",
        )
    ]


def _target_diagnostics(service: Service, doc: Document) -> list[Diagnostic]:
    """The SharePoint target: an https site, and a library and base folder SharePoint can name."""
    from urllib.parse import urlsplit

    sp = service.sharepoint
    out: list[Diagnostic] = []

    def problem(key: str, message: str) -> None:
        line, col = doc.position(("sharepoint", key))
        out.append(error(doc.file, line, col, "CATALOG-SHAREPOINT", f"sharepoint.{key} {message}"))

    url = urlsplit(sp.site_url)
    if (
        url.scheme != "https"
        or not url.hostname
        or url.query
        or url.fragment
        or url.username
        or hidden_characters(sp.site_url)
        or " " in sp.site_url
    ):
        problem(
            "site_url",
            f"{sp.site_url!r} must be the site's https URL, without spaces, query or fragment "
            "(e.g. https://tenant.sharepoint.com/sites/Tecnologia)",
        )
    if bad := name_problem(sp.library):
        problem("library", f"{sp.library!r} {bad}; give the library's URL segment")
    parts = sp.base_folder.split("/")
    for part in parts:
        if bad := name_problem(part):
            problem("base_folder", f"segment {part!r} {bad}; separate folders with '/'")
            break
    return out


def load_catalog(repo_root: Path) -> tuple[Catalog | None, list[Diagnostic]]:
    """Load the three catalog files. None when any is missing or invalid."""
    folder = repo_root / CATALOG_DIR
    diags: list[Diagnostic] = []
    service, sdoc, d1 = load_model(folder / SERVICE_FILE, f"{CATALOG_DIR}/{SERVICE_FILE}", Service)
    policy, pdoc, d2 = load_model(
        folder / IP_POLICY_FILE, f"{CATALOG_DIR}/{IP_POLICY_FILE}", IpPolicy
    )
    register, rdoc, d3 = load_model(
        folder / REGISTER_FILE, f"{CATALOG_DIR}/{REGISTER_FILE}", Register
    )
    diags += d1 + d2 + d3
    networks: list[IpNetwork] = []
    if policy is not None and pdoc is not None:
        networks, more = _policy_networks(policy, pdoc)
        diags += more
    if register is not None and rdoc is not None:
        diags += _register_diagnostics(register, rdoc)
    if service is not None and sdoc is not None:
        diags += _pattern_diagnostics(service, sdoc)
        diags += _target_diagnostics(service, sdoc)
    if service is None or policy is None or register is None or any(d.is_error for d in diags):
        return None, diags
    return Catalog(folder, service, policy, register, tuple(networks)), diags
