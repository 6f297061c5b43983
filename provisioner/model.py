"""The pydantic models: the single definition of every file the project reads.

The models check structure only (fields, types, unknown keys). Formats and meaning (check
characters, the register, the IP policy...) are checked by the named rules in
`provisioner.rules`, which give better messages and keep reporting after the first problem.
Patterns still appear in the generated JSON Schema so editors flag mistakes as you type.
"""

# No `from __future__ import annotations` here: pydantic would have to evaluate every annotation
# string when each class is made, which costs start-up time for nothing.

import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Environment = Literal["PRE", "PRO"]

INE10_PATTERN = r"^[0-9]{10}$"
NIF_PATTERN = r"^[A-Z0-9][0-9]{7}[A-Z0-9]$"
FP_PATTERN = r"^[0-9]{1,10}$"
MODALITY_PATTERN = r"^[A-Z][A-Z0-9_]*$"


def _no_items() -> list[Any]:
    """The default of a list field. A Python function, not `list`: pydantic inspects a factory's
    signature when it builds a validator, and a builtin's makes inspect compile a tokenizer."""
    return []


class _Strict(BaseModel):
    # defer_build: a model's validator is built when it first validates. A run that takes its
    # catalog from the cache (built with `trusted`) never builds the catalog's validators, and
    # building all of them at import cost more than the rest of a small run.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


# Patterns are shown to editors through the schema; the rules enforce them with better messages.
Ine10 = Annotated[str, Field(json_schema_extra={"pattern": INE10_PATTERN})]
Nif = Annotated[str, Field(json_schema_extra={"pattern": NIF_PATTERN})]
ModalityCode = Annotated[str, Field(json_schema_extra={"pattern": MODALITY_PATTERN})]


# ----------------------------------------------------------------------------- integration files


class Entity(_Strict):
    """The public entity (ens) that integrates."""

    ine10: Ine10 = Field(description="INE10 code: exactly 10 digits, as text (quote it)")
    name: str = Field(description="Official name, as in the register")
    nif: Nif = Field(description="NIF of the entity (P... or Q... for public bodies)")


class Provider(_Strict):
    """The company (or the entity itself) whose software calls Hèstia."""

    name: str = Field(description="Provider name")
    nif: Nif = Field(description="Provider NIF/CIF")


class Integration(_Strict):
    """One integration request: one entity through one provider."""

    fp: Annotated[str, Field(json_schema_extra={"pattern": FP_PATTERN})] = Field(
        description="Support ticket (FP) number, digits only, quoted"
    )
    entity: Entity
    provider: Provider
    environment: Environment = Field(description="PRE, or PRO (provisioned in PRE and PRO)")
    modalities: (
        Literal["all"]
        | Annotated[
            list[ModalityCode],
            Field(min_length=1),
        ]
    ) = Field(
        default="all",
        description="'all' (the default, as the procedure authorises), or a list of modality "
        "codes from the catalog (a subset is warned about)",
    )
    ips: list[str] = Field(
        min_length=1, description="Client IPs or CIDR ranges of the provider's servers"
    )
    cda: str = Field(description="Path to the public application certificate (PEM or DER)")
    form: str = Field(description="Path to the integration form PDF, signed by the entity")
    homologation: list[str] = Field(
        default_factory=_no_items, description="PRE test evidence files; required for PRO"
    )
    unused_modalities: list[str] = Field(
        default_factory=_no_items,
        description="Authorised modalities the integrator states it does not use "
        "(no homologation evidence is required for them)",
    )
    notes: str | None = Field(default=None, description="Free text for reviewers")


def trusted_integration(data: dict[str, Any]) -> Integration:
    """The Integration of data that validated in an earlier run (a kept result): not validated
    again. Only for data this tool wrote itself; anything else goes through model_validate."""
    return Integration.model_construct(
        **{
            **data,
            "entity": Entity.model_construct(**data["entity"]),
            "provider": Provider.model_construct(**data["provider"]),
        }
    )


M = TypeVar("M", bound=BaseModel)
_Rebuild = Callable[[Any], Any]
_REBUILDERS: dict[type[BaseModel], dict[str, _Rebuild]] = {}


def trusted(model: type[M], data: Mapping[str, Any]) -> M:
    """The model of data that `model_dump` gave in an earlier run of this tool: not validated
    again. Only for data this tool wrote itself (a kept result); anything else goes through
    model_validate. Nested models are rebuilt as models, every other value is taken as it is."""
    rebuilders = _REBUILDERS.get(model)
    if rebuilders is None:
        rebuilders = _REBUILDERS[model] = {
            name: rebuild
            for name, field in model.model_fields.items()
            if (rebuild := _rebuilder(field.annotation)) is not None
        }
    values = dict(data)
    for name, rebuild in rebuilders.items():
        if name in values:
            values[name] = rebuild(values[name])
    return model.model_construct(**values)


def _rebuilder(annotation: Any) -> _Rebuild | None:
    """How to rebuild a dumped value of this annotation; None when the dump is the value."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _rebuilder(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return lambda value: trusted(annotation, value)
    if origin is list:
        item = _rebuilder(args[0])
        return None if item is None else lambda values: [item(v) for v in values]
    if origin in (typing.Union, types.UnionType):
        arms = [r for r in map(_rebuilder, args) if r is not None]
        if len(arms) > 1:
            raise TypeError(f"{annotation}: a union of several models cannot be rebuilt")
        if not arms:
            return None
        arm = arms[0]
        return lambda value: value if value is None or isinstance(value, str) else arm(value)
    return None


# ----------------------------------------------------------------------------- the catalog


class Modality(_Strict):
    code: ModalityCode = Field(description="CodigoCertificado of the operation")
    description: str


class FrontEnds(_Strict):
    PRE: str
    PRO: str


class SharePointTarget(_Strict):
    """Where the documents go. SHAREPOINT_SITE_URL in the environment overrides site_url."""

    site_url: str = Field(
        description="https URL of the site that holds the library, e.g. "
        "https://tenant.sharepoint.com/sites/Tecnologia"
    )
    library: str = Field(
        description="The document library's URL segment under the site (it can differ from the "
        "library's title), e.g. SUPORT_TECNIC"
    )
    base_folder: str = Field(
        description="Existing folder inside the library, '/'-separated; apply never creates it"
    )
    folder_pattern: str = Field(
        default="FP{fp} {entity_name}",
        description="Name of each integration's folder; fields: {fp}, {entity_name}, {ine10}",
    )


class FormFields(_Strict):
    """The names of the integration form's fields whose values must match the file.

    Each one that is given is read from the revision the entity signed and compared; a form
    without the field, or with another value, is refused.
    """

    provider_nif: str | None = Field(default=None, description="Field holding the provider NIF")
    ips: str | None = Field(
        default=None, description="Field holding the client IPs (separated by commas or spaces)"
    )
    cda_sha256: str | None = Field(
        default=None, description="Field holding the SHA-256 fingerprint of the CDA (hex)"
    )
    cda_serial: str | None = Field(
        default=None, description="Field holding the serial number of the CDA (hex)"
    )


class LedgerSigner(_Strict):
    """Who may sign ledger commits: an SSH public key, as git's allowed-signers file lists it."""

    name: str = Field(description="Who holds the key (e.g. apply-workflow@hestia); git's principal")
    key: str = Field(
        description="The SSH public key, as in a .pub file: 'ssh-ed25519 AAAA... comment'"
    )


class Service(_Strict):
    """catalog/service.yaml: the Hèstia service as the platform knows it."""

    product: str
    aoc_ine10: Ine10 = Field(description="AOC's INE10, used as requester in PRE")
    aoc_nif: str
    aoc_name: str
    modalities: list[Modality] = Field(min_length=1)
    front_ends: FrontEnds
    sharepoint: SharePointTarget
    certificate_expiry_warning_days: int = Field(default=60, ge=0, le=3650)
    trusted_roots: list[str] = Field(
        default_factory=_no_items,
        description="PEM files (relative to the catalog folder) of the CAs trusted for CDAs and "
        "form signatures",
    )
    form_fields: FormFields = Field(
        default_factory=FormFields,
        description="Names of the signed form's fields compared with the integration file",
    )
    ledger_signers: list[LedgerSigner] = Field(
        default_factory=_no_items,
        description="When listed, apply signs ledger commits (SSH, git gpg.format=ssh) and plan "
        "refuses a ledger commit without a good signature by one of these keys",
    )


class AllowedRange(_Strict):
    cidr: str
    reason: str = Field(description="Why this range is accepted despite the refusal rules")


class IpPolicy(_Strict):
    """catalog/ip-policy.yaml: which client addresses may be configured in APP."""

    max_prefix_v4: int = Field(ge=0, le=32, description="Broadest IPv4 prefix length allowed")
    max_prefix_v6: int = Field(ge=0, le=128, description="Broadest IPv6 prefix length allowed")
    refuse: list[
        Literal[
            "unspecified",
            "loopback",
            "link_local",
            "multicast",
            "reserved",
            "private",
            "non_global",
        ]
    ] = Field(
        description="Address categories refused; non_global: not routable on the internet "
        "(e.g. carrier-grade NAT 100.64.0.0/10)"
    )
    allow: list[AllowedRange] = Field(
        default_factory=_no_items,
        description="Ranges accepted even if a category above refuses them",
    )


EntityKind = Literal["ajuntament", "consell_comarcal", "consorci", "mancomunitat", "altres"]


ArticleOverride = Literal["el", "la", "l'", "els", "les", ""]
_ARTICLE_HELP = (
    "The article the name takes in Catalan text (derived from the name when absent): "
    "el, la, l', els, les, or '' for none"
)


class RegisteredEntity(_Strict):
    ine10: Ine10 = Field(description="INE10")
    name: str
    nif: Nif = Field(description="NIF")
    kind: EntityKind
    article: ArticleOverride | None = Field(default=None, description=_ARTICLE_HELP)


class DependentEntity(_Strict):
    ine10: Ine10 = Field(description="INE10")
    name: str
    abss: Ine10 = Field(description="INE10 of the ABSS it must integrate through")
    nif: Nif | None = Field(default=None, description="NIF, when known")
    article: ArticleOverride | None = Field(default=None, description=_ARTICLE_HELP)


class Register(_Strict):
    """catalog/entities.yaml: who may integrate, and who must go through an ABSS."""

    eligible: list[RegisteredEntity]
    dependent: list[DependentEntity] = Field(default_factory=_no_items)


# ----------------------------------------------------------------------------- written for APP
# The APP configuration (build/app/app-<ENV>.json) is the one document the tool writes for
# another team; its schema is published in schemas/ and apply checks every document against it.

Sha256 = Annotated[str, Field(json_schema_extra={"pattern": r"^[0-9a-f]{64}$"})]
Fp = Annotated[str, Field(json_schema_extra={"pattern": FP_PATTERN})]


class AllowedNetwork(_Strict):
    """One client network APP lets through, and whose it is."""

    cidr: str = Field(description="IPv4 or IPv6 network in CIDR notation (a host is /32 or /128)")
    ine10: Ine10 = Field(description="The entity the network calls for")
    provider: Nif = Field(description="NIF of the provider that calls from it")
    provider_name: str
    fp: Fp = Field(description="Support ticket of the integration")


class AuthorisedCertificate(_Strict):
    """A provider's application certificate (CDA) that may sign requests for the entity."""

    sha256: Sha256 = Field(description="SHA-256 of the certificate (DER), lower-case hex")
    subject: str
    serial: Annotated[str, Field(json_schema_extra={"pattern": r"^[0-9A-F]+$"})] = Field(
        description="Serial number, upper-case hex"
    )
    not_after: str = Field(description="End of validity, ISO 8601 with time zone")
    provider: Nif
    provider_name: str
    fp: Fp


class Permission(_Strict):
    """What one entity may call: its modalities, through which certificates."""

    ine10: Ine10
    name: str = Field(description="The entity's name, as in the register")
    product: str
    modalities: list[ModalityCode] = Field(min_length=1)
    certificates: list[AuthorisedCertificate] = Field(min_length=1)


class AppConfig(_Strict):
    """The IP and permission configuration of one APP environment (app-<ENV>.json)."""

    environment: Environment
    product: str = Field(description="PCI product code, e.g. HESTIA")
    front_end: str = Field(description="The APP front end the requests go to")
    ip_allowlist: list[AllowedNetwork]
    permissions: list[Permission]


SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "integration": Integration,
    "catalog-service": Service,
    "catalog-ip-policy": IpPolicy,
    "catalog-entities": Register,
    "app-config": AppConfig,
}
