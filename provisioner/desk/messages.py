"""The procedure's messages, in Catalan, from templates kept in the catalog.

Templates live in `catalog/messages/<kind>.txt` (or `<kind>.<ENV>.txt`, preferred for an
integration in that environment) and use `string.Template` placeholders: `$entity_name`,
`${fp}`; `$$` is a literal dollar. Substitution only: a template cannot run code or reach
attributes. Every placeholder a template uses must be one of `FIELDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from provisioner.catalog import Catalog
from provisioner.desk.catalan import CatalanName, bare_name, catalan_name
from provisioner.desk.gaps import request_gaps
from provisioner.diagnostics import Finding
from provisioner.documents.identity import CertificateIdentity, identity_in
from provisioner.errors import FatalError
from provisioner.loading.paths import RepositoryFiles
from provisioner.model import DependentEntity, Integration, RegisteredEntity
from provisioner.source import folder_name
from provisioner.text import visible
from provisioner.vocabulary import MESSAGE_KINDS

if TYPE_CHECKING:
    from provisioner.plan.diff import Plan
    from provisioner.source import Source

MESSAGES_DIR = "messages"  # under the catalog folder

# What each placeholder means (shown when a template uses an unknown one). Names of public
# bodies come in several forms so the Catalan reads right: `_the` "l'Ajuntament de Vic",
# `_of` "de l'Ajuntament", "del Consell", `_to` "a l'", "al", `_by` "per l'", "pel".
FIELDS = {
    "fp": "the FP ticket number",
    "file": "the integration file, as the pull request shows it",
    "entity_name": "the entity's name, as the register writes it",
    "entity_the": "the entity's name with its article (l'Ajuntament de Vic)",
    "entity_The": "the same, capitalised to start a sentence",
    "entity_of": "de + the entity (de l'Ajuntament, del Consell)",
    "entity_to": "a + the entity (a l'Ajuntament, al Consell)",
    "entity_by": "per + the entity (per l'Ajuntament, pel Consell)",
    "entity_described": "the entity with its article and its known INE10 and NIF",
    "entity_ine10": "the entity's INE10",
    "entity_nif": "the entity's NIF",
    "provider_name": "the provider's name",
    "provider_of": "de + the provider (d'Altre Proveïdor SL)",
    "provider_nif": "the provider's NIF",
    "provider_through": "' a través del proveïdor X (NIF ...)', or nothing when unknown",
    "environment": "PRE or PRO",
    "modalities": "what APP grants the entity: the union over its providers, comma-separated",
    "requested_modalities": "the modalities this file asks for, comma-separated",
    "modalities_left_out": "catalog modalities the entity is not granted",
    "unused_modalities": "modalities the integrator states it does not use",
    "integration_status": "first integration of the entity, or which providers it already has",
    "ips_inline": "the IPs, comma-separated",
    "ips": "the IPs, one per line",
    "aoc_ine10": "AOC's INE10 (the PRE requester)",
    "aoc_name": "AOC's name",
    "front_end_pre": "the APP PRE front end",
    "front_end_pro": "the APP PRO front end",
    "abss_name": "the ABSS a dependent entity integrates through",
    "abss_the": "that ABSS with its article",
    "abss_of": "de + that ABSS",
    "abss_to": "a + that ABSS",
    "abss_by": "per + that ABSS",
    "abss_ine10": "that ABSS's INE10",
    "missing": "what the request lacks or has wrong, one per line",
    "cda_file": "the CDA path",
    "cda_subject": "the CDA's subject",
    "cda_issuer": "the CDA's issuer",
    "cda_serial": "the CDA's serial number",
    "cda_sha256": "the CDA's SHA-256 fingerprint",
    "cda_not_after": "the CDA's expiry date",
    "cda_days_left": "days until the CDA expires, in words",
    "form_file": "the form's path",
    "form_signer": "who signed the form",
    "sharepoint_folder": "the network folder the integration will have once applied",
    "homologation": "the PRE test evidence files, one per line",
}

NONE = "(cap)"
UNREADABLE = "(no s'ha pogut llegir)"
FORM_SIGNATURE_VERIFIED = "signat digitalment {entity_by} (signatura verificada)"
FORM_SIGNED_BY = "signat digitalment per {signers} (signatura verificada)"


#: Messages that state what was checked: written only for a file that validates (or --force).
CHECKED_MESSAGES = frozenset({"head-of-service", "pre-ready", "pro-ready"})


class MessageProblem(FatalError):
    """The message cannot be written for this integration; the text says why (exit 2)."""


def needs_valid_file(kind: str) -> bool:
    return kind in CHECKED_MESSAGES


def closing_kind(environment: str) -> str:
    """The message that closes a request once the environment is configured."""
    return "pre-ready" if environment == "PRE" else "pro-ready"


def closing_messages(plan: Plan, sources: Sequence[Source], catalog: Catalog) -> dict[str, str]:
    """The closing message of each entity that gets a new provider (INE10 -> text).

    Each lists what APP grants the entity: the union over its providers in the environment.
    """
    from provisioner.desk.compose import entity_situation

    wanted = {(e.ine10, p.nif) for e in plan.entities for p in e.providers_added}
    kind = closing_kind(plan.environment)
    out: dict[str, str] = {}
    for src in sources:
        key = (src.integration.entity.ine10, src.integration.provider.nif)
        if key in wanted:
            others, granted = entity_situation(src, sources, catalog)
            text = render_message(
                kind,
                src.integration,
                catalog,
                folder=src.folder,
                repo_root=src.repo_root,
                situation=Situation(other_providers=others, entity_modalities=granted),
                file=src.rel,
                now=plan.now,
            )
            out[key[0]] = out.get(key[0], "") + text
    return out


def template_path(catalog: Catalog, kind: str, environment: str) -> Path:
    folder = catalog.root / MESSAGES_DIR
    specific = folder / f"{kind}.{environment}.txt"
    return specific if specific.is_file() else folder / f"{kind}.txt"


def _load_template(catalog: Catalog, kind: str, environment: str) -> Template:
    if kind not in MESSAGE_KINDS:
        raise MessageProblem(f"unknown message {kind!r}; use one of: {', '.join(MESSAGE_KINDS)}")
    path = template_path(catalog, kind, environment)
    try:
        template = Template(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MessageProblem(f"cannot read the template {path}: {exc}") from None
    if not template.is_valid():
        raise MessageProblem(
            f"template {path} has a '$' that is not a placeholder; write $$ for a literal $"
        )
    unknown = sorted(set(template.get_identifiers()) - set(FIELDS))
    if unknown:
        raise MessageProblem(
            f"template {path} uses unknown placeholder(s) {', '.join('$' + u for u in unknown)}; "
            f"known: {', '.join(FIELDS)}"
        )
    return template


def _documents(folder: Path | None, repo_root: Path | None) -> RepositoryFiles | None:
    """The reader of the repository's files (the folder itself when no root is known)."""
    if folder is None:
        return None
    return RepositoryFiles((repo_root or folder).resolve())


def document_path(written: str, folder: Path | None, repo_root: Path | None) -> Path | None:
    """The file a path in the integration names, if it is usable inside the repository."""
    files = _documents(folder, repo_root)
    return None if files is None or folder is None else files.usable(folder, written)


def form_signers(written: str, folder: Path | None, repo_root: Path | None) -> list[str]:
    """Who signed the form, as the signer certificates name them; [] when it cannot be read.

    This only reads names for the message: `validate` (provisioner.documents.form) verifies the
    signatures, their trust and that the signer is the entity.
    """
    from provisioner.documents.form import MAX_FORM_BYTES, signer_names

    files = _documents(folder, repo_root)
    path = None if files is None or folder is None else files.usable(folder, written)
    if files is None or path is None:
        return []
    try:
        return signer_names(files.read(path, MAX_FORM_BYTES))
    except OSError:
        return []


def _identity(
    written: str, folder: Path | None, repo_root: Path | None
) -> CertificateIdentity | None:
    files = _documents(folder, repo_root)
    return None if files is None or folder is None else identity_in(files, folder, written)


@dataclass(frozen=True)
class Situation:
    """What a message states beyond the file itself, gathered by the caller.

    `diagnostics`: the rules' findings for the file (what `request-info` asks for);
    `other_providers`: names of the entity's other providers in the repository;
    `entity_modalities`: what APP grants the entity in the file's environment, the union over
    its providers (None: this file's own); `form_signers`: who signed the form, as validate
    read it; `refused_ips`: IPs the rules refused.
    """

    diagnostics: tuple[Finding, ...] = ()
    other_providers: tuple[str, ...] = ()
    entity_modalities: tuple[str, ...] | None = None
    form_signers: tuple[str, ...] = ()
    refused_ips: tuple[str, ...] = ()


def _days_left(identity: CertificateIdentity, now: datetime) -> str:
    days = identity.days_left(now)
    if days < 0:
        return f"CADUCAT fa {-days} dies"
    return f"queda {days} dia" if days == 1 else f"queden {days} dies"


def _require(found: str | None, problem: str) -> str:
    if found is None:
        raise MessageProblem(problem)
    return found


_MULTILINE = frozenset({"homologation", "missing", "ips"})


def entity_names(catalog: Catalog, ine10: str, fallback: str) -> CatalanName:
    """The entity's name as the register writes it, with its article (override or derived)."""
    row: RegisteredEntity | DependentEntity | None = catalog.eligible_by_ine10.get(
        ine10
    ) or catalog.dependent_by_ine10.get(ine10)
    if row is None:
        return catalan_name(fallback)
    return catalan_name(row.name, row.article)


def _name_fields(prefix: str, name: Callable[[], CatalanName]) -> dict[str, Callable[[], str]]:
    return {
        f"{prefix}_the": lambda: name().the,
        f"{prefix}_of": lambda: name().of,
        f"{prefix}_to": lambda: name().to,
        f"{prefix}_by": lambda: name().by,
    }


def _check_applies(kind: str, ine10: str, label: str, catalog: Catalog) -> None:
    dependent = catalog.dependent_by_ine10.get(ine10)
    if kind == "abss-redirect" and dependent is None:
        raise MessageProblem(
            f"{label} ({ine10}) is not registered as depending on an ABSS in "
            "catalog/entities.yaml, so there is no ABSS to name; check the INE10"
        )
    if kind == "not-eligible":
        if ine10 in catalog.eligible_by_ine10:
            raise MessageProblem(
                f"{label} ({ine10}) is in the register of entities that may "
                "integrate; there is nothing to escalate"
            )
        if dependent is not None:
            raise MessageProblem(
                f"{label} depends on an ABSS: send abss-redirect instead of escalating"
            )


def _abss_fields(catalog: Catalog, ine10: str, label: str) -> dict[str, Callable[[], str]]:
    dependent = catalog.dependent_by_ine10.get(ine10)

    def abss() -> tuple[CatalanName, str]:
        dep = _require(
            dependent.abss if dependent else None,
            f"the template uses the ABSS, but {label} depends on none",
        )
        found = catalog.eligible_by_ine10.get(dep)
        name = catalan_name(found.name, found.article) if found else catalan_name(dep, "")
        return name, dep

    return {
        "abss_name": lambda: abss()[0].bare,
        **_name_fields("abss", lambda: abss()[0]),
        "abss_ine10": lambda: abss()[1],
    }


def _substitute(
    kind: str, environment: str, catalog: Catalog, providers: dict[str, Callable[[], str]]
) -> str:
    template = _load_template(catalog, kind, environment)
    values = {}
    for name in template.get_identifiers():
        get = providers.get(name)
        if get is None:
            raise MessageProblem(f"the {kind} message needs {FIELDS[name]}, not known here")
        value = get()
        # A value from a (possibly refused) file stays on its line: only the lists built here
        # span several lines, each item made visible.
        values[name] = value if name in _MULTILINE else visible(value)
    return template.substitute(values)


def _described(name: CatalanName | None, ine10: str | None, nif: str | None) -> str:
    parts = (f"INE10 {ine10}" if ine10 else "", f"NIF {nif}" if nif else "")
    ids = ", ".join(p for p in parts if p)
    if name is None:
        return f"l'ens amb {ids}" if ids else "l'ens"
    return f"{name.the} ({ids})" if ids else name.the


def render_for_entity(
    kind: str,
    catalog: Catalog,
    *,
    ine10: str | None,
    name: str | None,
    nif: str | None = None,
    fp: str | None = None,
    provider_name: str | None = None,
    provider_nif: str | None = None,
) -> str:
    """A message that needs no integration file (abss-redirect, not-eligible): from the
    register and what the ticket says. A placeholder whose value is unknown is refused."""
    label = name or ine10 or nif or "the entity"
    if ine10 is not None:
        _check_applies(kind, ine10, label, catalog)
    elif kind == "abss-redirect":
        raise MessageProblem("abss-redirect needs the entity's INE10 to find its ABSS")
    registered = ine10 is not None and (
        ine10 in catalog.eligible_by_ine10 or ine10 in catalog.dependent_by_ine10
    )
    names: CatalanName | None = None
    if ine10 is not None and registered:
        names = entity_names(catalog, ine10, name or ine10)
    elif name:
        names = catalan_name(name)
    providers: dict[str, Callable[[], str]] = {
        "entity_described": lambda: _described(names, ine10, nif),
        "aoc_ine10": lambda: catalog.service.aoc_ine10,
        "aoc_name": lambda: catalog.service.aoc_name,
        "provider_through": lambda: (
            f" a través del proveïdor {provider_name}"
            + (f" (NIF {provider_nif})" if provider_nif else "")
            if provider_name
            else ""
        ),
    }
    if fp:
        providers["fp"] = lambda: fp
    if names is not None:
        providers["entity_name"] = lambda: names.bare
        providers["entity_The"] = lambda: names.the_capitalised
        providers.update(_name_fields("entity", lambda: names))
    if ine10:
        providers["entity_ine10"] = lambda: ine10
        providers.update(_abss_fields(catalog, ine10, label))
    if nif:
        providers["entity_nif"] = lambda: nif
    if provider_name:
        providers["provider_name"] = lambda: provider_name
        providers["provider_of"] = lambda: bare_name(provider_name).of
    if provider_nif:
        providers["provider_nif"] = lambda: provider_nif
    return _substitute(kind, "PRE", catalog, providers)


def render_message(
    kind: str,
    integration: Integration,
    catalog: Catalog,
    *,
    folder: Path | None = None,
    repo_root: Path | None = None,
    now: datetime,
    form_signer: str | None = None,
    situation: Situation | None = None,
    file: str | None = None,
) -> str:
    """The Catalan text of message `kind` for `integration`.

    `folder` is the folder of the integration's YAML file (its cda/form paths are relative to
    it) and `repo_root` bounds where documents are read; without `folder` the CDA is shown as
    unreadable. `situation` carries what the caller found in the repository (the rules'
    findings, the entity's other providers...); `file` is the file as the pull request names
    it. `now` is the moment days left are counted from. `form_signer` describes who signed the form,
    when the caller knows it. Raises
    MessageProblem when the message does not apply (e.g. `abss-redirect` for an entity that
    depends on no ABSS, `request-info` when nothing is missing) or its template is broken.
    """
    situation = situation or Situation()
    entity, provider, service = integration.entity, integration.provider, catalog.service
    names = entity_names(catalog, entity.ine10, entity.name)
    _check_applies(kind, entity.ine10, names.bare, catalog)
    if kind == "pro-ready" and integration.environment != "PRO":
        raise MessageProblem(
            "the integration's environment is PRE; `pro-ready` closes a move to PRO"
        )

    known = catalog.modality_codes
    granted = list(catalog.granted_modalities(integration))
    for_entity = situation.entity_modalities
    entity_granted = (
        [m for m in known if m in set(for_entity) | set(granted)] if for_entity else granted
    )
    identity_cache: list[CertificateIdentity | None] = []

    def identity() -> CertificateIdentity | None:
        if not identity_cache:
            identity_cache.append(_identity(integration.cda, folder, repo_root))
        return identity_cache[0]

    def cda_field(get: Callable[[CertificateIdentity], str]) -> Callable[[], str]:
        return lambda: get(cert) if (cert := identity()) is not None else UNREADABLE

    def missing() -> str:
        gaps = request_gaps(
            names,
            situation.diagnostics,
            has_ips=bool(integration.ips),
            form_signers=situation.form_signers,
            refused_ips=situation.refused_ips,
        )
        if not gaps:
            raise MessageProblem(
                "nothing is missing or wrong in this request: the form, the CDA and the IPs "
                "are in order, so there is nothing to ask for (the next message is "
                "head-of-service)"
            )
        return "\n".join(visible(g.line) for g in gaps)

    def signed_by() -> str:
        if form_signer:
            return form_signer
        signers = list(situation.form_signers) or form_signers(integration.form, folder, repo_root)
        if not signers:
            return FORM_SIGNATURE_VERIFIED.format(entity_by=names.by)
        return FORM_SIGNED_BY.format(signers="; ".join(signers))

    def sharepoint_folder() -> str:
        target = service.sharepoint
        try:
            registered = catalog.eligible_by_ine10.get(entity.ine10)
            name = folder_name(
                target.folder_pattern, integration, registered.name if registered else None
            )
            return f"{target.base_folder}/{name}"
        except (KeyError, IndexError, ValueError) as exc:
            raise MessageProblem(
                f"catalog sharepoint.folder_pattern is unusable ({exc!r}); run validate"
            ) from None

    def status() -> str:
        own = bare_name(provider.name)
        if not situation.other_providers:
            return f"És la primera integració {names.of} amb el servei Hèstia."
        others = ", ".join(situation.other_providers)
        word = "del proveïdor" if len(situation.other_providers) == 1 else "dels proveïdors"
        return (
            f"{names.the_capitalised} ja està integrat amb el servei Hèstia a través {word} "
            f"{others}: aquesta sol·licitud només hi afegeix el certificat (CDA) i les IPs "
            f"del proveïdor {own.bare}."
        )

    providers: dict[str, Callable[[], str]] = {
        "fp": lambda: integration.fp,
        "file": lambda: file or NONE,
        "entity_name": lambda: names.bare,
        "entity_The": lambda: names.the_capitalised,
        **_name_fields("entity", lambda: names),
        "entity_described": lambda: _described(names, entity.ine10, entity.nif),
        "entity_ine10": lambda: entity.ine10,
        "entity_nif": lambda: entity.nif,
        "provider_name": lambda: provider.name,
        "provider_of": lambda: bare_name(provider.name).of,
        "provider_nif": lambda: provider.nif,
        "provider_through": lambda: f" a través del proveïdor {provider.name} (NIF {provider.nif})",
        "environment": lambda: integration.environment,
        "modalities": lambda: ", ".join(entity_granted) or NONE,
        "requested_modalities": lambda: ", ".join(granted) or NONE,
        "modalities_left_out": lambda: (
            ", ".join(m for m in known if m not in entity_granted) or NONE
        ),
        "unused_modalities": lambda: ", ".join(integration.unused_modalities) or NONE,
        "integration_status": status,
        "ips_inline": lambda: ", ".join(integration.ips) or NONE,
        "ips": lambda: "\n".join(f"  - {visible(ip)}" for ip in integration.ips) or f"  {NONE}",
        "aoc_ine10": lambda: service.aoc_ine10,
        "aoc_name": lambda: service.aoc_name,
        "front_end_pre": lambda: service.front_ends.PRE,
        "front_end_pro": lambda: service.front_ends.PRO,
        **_abss_fields(catalog, entity.ine10, names.bare),
        "missing": missing,
        "cda_file": lambda: integration.cda or NONE,
        "cda_subject": cda_field(lambda c: c.subject),
        "cda_issuer": cda_field(lambda c: c.issuer),
        "cda_serial": cda_field(lambda c: c.serial),
        "cda_sha256": cda_field(lambda c: c.sha256),
        "cda_not_after": cda_field(lambda c: c.not_after.strftime("%Y-%m-%d")),
        "cda_days_left": cda_field(lambda c: _days_left(c, now)),
        "form_file": lambda: integration.form or NONE,
        "form_signer": signed_by,
        "sharepoint_folder": sharepoint_folder,
        "homologation": lambda: (
            "\n".join(f"  - {visible(e)}" for e in integration.homologation) or f"  {NONE}"
        ),
    }
    return _substitute(kind, integration.environment, catalog, providers)
