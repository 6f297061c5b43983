"""The procedure's messages, in Catalan, from templates kept in the catalog.

Templates live in `catalog/messages/<kind>.txt` (or `<kind>.<ENV>.txt`, preferred for an
integration in that environment) and use `string.Template` placeholders: `$entity_name`,
`${fp}`; `$$` is a literal dollar. Substitution only: a template cannot run code or reach
attributes. Every placeholder a template uses must be one of `FIELDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from provisioner.catalog import Catalog
from provisioner.documents.identity import CertificateIdentity, identity_in
from provisioner.loading.paths import RepositoryFiles
from provisioner.model import Integration
from provisioner.source import folder_name
from provisioner.vocabulary import MESSAGE_KINDS

if TYPE_CHECKING:
    from provisioner.plan.diff import Plan
    from provisioner.source import Source

MESSAGES_DIR = "messages"  # under the catalog folder

# What each placeholder means (shown when a template uses an unknown one).
FIELDS = {
    "fp": "the FP ticket number",
    "entity_name": "the entity's name",
    "entity_ine10": "the entity's INE10",
    "entity_nif": "the entity's NIF",
    "provider_name": "the provider's name",
    "provider_nif": "the provider's NIF",
    "environment": "PRE or PRO",
    "modalities": "granted modalities, comma-separated",
    "unused_modalities": "modalities the integrator states it does not use",
    "ips_inline": "the IPs, comma-separated",
    "ips": "the IPs, one per line",
    "aoc_ine10": "AOC's INE10 (the PRE requester)",
    "aoc_name": "AOC's name",
    "front_end_pre": "the APP PRE front end",
    "front_end_pro": "the APP PRO front end",
    "abss_name": "the ABSS a dependent entity integrates through",
    "abss_ine10": "that ABSS's INE10",
    "missing": "what the request lacks (signed form, CDA, IPs), one per line",
    "cda_file": "the CDA path",
    "cda_subject": "the CDA's subject",
    "cda_issuer": "the CDA's issuer",
    "cda_serial": "the CDA's serial number",
    "cda_sha256": "the CDA's SHA-256 fingerprint",
    "cda_not_after": "the CDA's expiry date",
    "cda_days_left": "days until the CDA expires, in words",
    "form_file": "the form's path",
    "form_signer": "who signed the form",
    "sharepoint_folder": "the network folder of the integration",
    "homologation": "the PRE test evidence files, one per line",
}

NONE = "(cap)"
UNREADABLE = "(no s'ha pogut llegir)"
FORM_SIGNATURE_BY_VALIDATE = (
    "signat digitalment per l'ens (signatura comprovada per `hestia-provisioner validate`)"
)
FORM_SIGNED_BY = (
    "signat digitalment per {signers} (signatura verificada per `hestia-provisioner validate`)"
)
MISSING_FORM = "- el formulari d'integració signat digitalment per {entity}"
MISSING_CDA = "- la clau pública del certificat d'aplicació (CDA), en format PEM o DER"
NOT_A_CDA = (
    "- la clau pública del certificat d'aplicació (CDA): el fitxer que ens heu fet arribar "
    "no és un certificat llegible (PEM o DER)"
)
MISSING_IPS = "- les IPs (o rangs) des de les quals fareu les peticions"


#: Messages that state what was checked: written only for a file that validates (or --force).
CHECKED_MESSAGES = frozenset({"head-of-service", "pre-ready", "pro-ready"})


def needs_valid_file(kind: str) -> bool:
    return kind in CHECKED_MESSAGES


def closing_kind(environment: str) -> str:
    """The message that closes a request once the environment is configured."""
    return "pre-ready" if environment == "PRE" else "pro-ready"


def closing_messages(plan: Plan, sources: Sequence[Source], catalog: Catalog) -> dict[str, str]:
    """The closing message of each entity that gets a new provider (INE10 -> text)."""
    wanted = {(e.ine10, p.nif) for e in plan.entities for p in e.providers_added}
    kind = closing_kind(plan.environment)
    out: dict[str, str] = {}
    for src in sources:
        key = (src.integration.entity.ine10, src.integration.provider.nif)
        if key in wanted:
            text = render_message(
                kind, src.integration, catalog, folder=src.folder, repo_root=src.repo_root
            )
            out[key[0]] = out.get(key[0], "") + text
    return out


class MessageProblem(Exception):
    """The message cannot be written for this integration; the text says why."""


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


def _form_signers(written: str, folder: Path | None, repo_root: Path | None) -> list[str]:
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


def missing_items(
    integration: Integration, folder: Path | None = None, repo_root: Path | None = None
) -> list[str]:
    """What `request-info` asks for: the lines for an absent form, CDA or IPs."""
    out = []
    if document_path(integration.form, folder, repo_root) is None:
        out.append(MISSING_FORM.format(entity=integration.entity.name))
    if document_path(integration.cda, folder, repo_root) is None:
        out.append(MISSING_CDA)
    elif _identity(integration.cda, folder, repo_root) is None:
        out.append(NOT_A_CDA)
    if not integration.ips:
        out.append(MISSING_IPS)
    return out


def _days_left(identity: CertificateIdentity, now: datetime) -> str:
    days = identity.days_left(now)
    if days < 0:
        return f"CADUCAT fa {-days} dies"
    return f"queda {days} dia" if days == 1 else f"queden {days} dies"


def _require(found: str | None, problem: str) -> str:
    if found is None:
        raise MessageProblem(problem)
    return found


def render_message(
    kind: str,
    integration: Integration,
    catalog: Catalog,
    *,
    folder: Path | None = None,
    repo_root: Path | None = None,
    now: datetime | None = None,
    form_signer: str | None = None,
) -> str:
    """The Catalan text of message `kind` for `integration`.

    `folder` is the folder of the integration's YAML file (its cda/form paths are relative to
    it) and `repo_root` bounds where documents are read; without `folder` the CDA is shown as
    unreadable and `request-info` lists every document. `form_signer` describes who signed the
    form, when the caller knows it. Raises MessageProblem when the message does not apply
    (e.g. `abss-redirect` for an entity that depends on no ABSS) or its template is broken.
    """
    now = now or datetime.now(UTC)
    entity, provider, service = integration.entity, integration.provider, catalog.service
    register = catalog.eligible_by_ine10
    dependent = catalog.dependent_by_ine10.get(entity.ine10)
    if kind == "abss-redirect" and dependent is None:
        raise MessageProblem(
            f"{entity.name} ({entity.ine10}) is not registered as depending on an ABSS in "
            "catalog/entities.yaml, so there is no ABSS to name; check the INE10"
        )
    if kind == "not-eligible":
        if entity.ine10 in register:
            raise MessageProblem(
                f"{entity.name} ({entity.ine10}) is in the register of entities that may "
                "integrate; there is nothing to escalate"
            )
        if dependent is not None:
            raise MessageProblem(
                f"{entity.name} depends on an ABSS: send `abss-redirect` instead of escalating"
            )
    if kind == "pro-ready" and integration.environment != "PRO":
        raise MessageProblem(
            "the integration's environment is PRE; `pro-ready` closes a move to PRO"
        )
    template = _load_template(catalog, kind, integration.environment)

    granted = list(catalog.granted_modalities(integration))
    identity_cache: list[CertificateIdentity | None] = []

    def identity() -> CertificateIdentity | None:
        if not identity_cache:
            identity_cache.append(_identity(integration.cda, folder, repo_root))
        return identity_cache[0]

    def cda_field(get: Callable[[CertificateIdentity], str]) -> Callable[[], str]:
        return lambda: get(cert) if (cert := identity()) is not None else UNREADABLE

    def abss() -> tuple[str, str]:
        dep = _require(
            dependent.abss if dependent else None,
            f"the template uses the ABSS, but {entity.name} depends on none",
        )
        found = register.get(dep)
        return (found.name if found else dep), dep

    def missing() -> str:
        lines = missing_items(integration, folder, repo_root)
        # Nothing detected missing: the standard request asks for everything.
        return "\n".join(
            lines or [MISSING_FORM.format(entity=entity.name), MISSING_CDA, MISSING_IPS]
        )

    def signed_by() -> str:
        if form_signer:
            return form_signer
        signers = _form_signers(integration.form, folder, repo_root)
        if not signers:
            return FORM_SIGNATURE_BY_VALIDATE
        return FORM_SIGNED_BY.format(signers="; ".join(signers))

    def sharepoint_folder() -> str:
        target = service.sharepoint
        try:
            return f"{target.base_folder}/{folder_name(target.folder_pattern, integration)}"
        except (KeyError, IndexError, ValueError) as exc:
            raise MessageProblem(
                f"catalog sharepoint.folder_pattern is unusable ({exc!r}); run `validate`"
            ) from None

    providers: dict[str, Callable[[], str]] = {
        "fp": lambda: integration.fp,
        "entity_name": lambda: entity.name,
        "entity_ine10": lambda: entity.ine10,
        "entity_nif": lambda: entity.nif,
        "provider_name": lambda: provider.name,
        "provider_nif": lambda: provider.nif,
        "environment": lambda: integration.environment,
        "modalities": lambda: ", ".join(granted) or NONE,
        "unused_modalities": lambda: ", ".join(integration.unused_modalities) or NONE,
        "ips_inline": lambda: ", ".join(integration.ips) or NONE,
        "ips": lambda: "\n".join(f"  - {ip}" for ip in integration.ips) or f"  {NONE}",
        "aoc_ine10": lambda: service.aoc_ine10,
        "aoc_name": lambda: service.aoc_name,
        "front_end_pre": lambda: service.front_ends.PRE,
        "front_end_pro": lambda: service.front_ends.PRO,
        "abss_name": lambda: abss()[0],
        "abss_ine10": lambda: abss()[1],
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
            "\n".join(f"  - {e}" for e in integration.homologation) or f"  {NONE}"
        ),
    }
    values = {name: providers[name]() for name in template.get_identifiers()}
    return template.substitute(values)
