"""The catalog: reference data and policy, loaded with the same strict loader and models."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from provisioner.diagnostics import SEVERITIES, Code, Finding, error, register_codes
from provisioner.identifiers import ine10_problem, nif_problem
from provisioner.layout import CATALOG_DIR as CATALOG_DIR
from provisioner.layout import IP_POLICY_FILE as IP_POLICY_FILE
from provisioner.layout import REGISTER_FILE as REGISTER_FILE
from provisioner.layout import SERVICE_FILE as SERVICE_FILE
from provisioner.sharepoint_names import hidden_characters, name_problem

# The models (pydantic) and the YAML loader are imported where a catalog is parsed or built:
# a run that takes its catalog from the cache, or needs none, does not pay for them.
if TYPE_CHECKING:
    from provisioner.loading.strict_yaml import Document
    from provisioner.model import (
        DependentEntity,
        Integration,
        IpPolicy,
        Register,
        RegisteredEntity,
        Service,
    )

    RegisterRow = RegisteredEntity | DependentEntity

register_codes(
    "catalog",
    Code(
        "CATALOG-LEDGER-SIGNER",
        "error",
        "a ledger_signers entry is not a plain principal and one SSH public key",
        "write the principal and the key line of the signer's .pub file",
    ),
    Code(
        "CATALOG-INVALID",
        "error",
        "the catalog cannot be loaded",
        "fix the catalog errors reported with it",
    ),
    Code(
        "CATALOG-INE10",
        "error",
        "an INE10 in the register is not 10 digits",
        "correct the row of the register",
    ),
    Code(
        "CATALOG-NIF",
        "error",
        "a NIF in the register has a wrong check character",
        "correct the row of the register",
    ),
    Code("CATALOG-DUPLICATE", "error", "an INE10 is listed twice in the register", "keep one row"),
    Code(
        "CATALOG-ABSS-UNKNOWN",
        "error",
        "a dependent entity names an ABSS the register does not list as eligible",
        "add the ABSS as eligible, or correct abss",
    ),
    Code(
        "CATALOG-CIDR",
        "error",
        "an IP policy range is not a valid network",
        "write the range as address/prefix, e.g. 198.51.100.0/24",
    ),
    Code(
        "CATALOG-FOLDER-PATTERN",
        "error",
        "the SharePoint folder pattern uses an unknown field",
        "use only the fields the message lists",
    ),
    Code(
        "CATALOG-SHAREPOINT",
        "error",
        "the SharePoint site, library or base folder cannot be used",
        "give the site's https URL and library and folder names SharePoint can hold",
    ),
)


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


def _register_diagnostics(register: Register, doc: Document) -> list[Finding]:
    out: list[Finding] = []
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


def _policy_networks(policy: IpPolicy, doc: Document) -> tuple[list[IpNetwork], list[Finding]]:
    nets: list[IpNetwork] = []
    out: list[Finding] = []
    for i, rng in enumerate(policy.allow):
        try:
            nets.append(ipaddress.ip_network(rng.cidr, strict=True))
        except ValueError as exc:
            line, col = doc.position(("allow", i, "cidr"))
            out.append(error(doc.file, line, col, "CATALOG-CIDR", f"allow: {exc}"))
    return nets, out


FOLDER_FIELDS = ("fp", "entity_name", "ine10")


def _pattern_diagnostics(service: Service, doc: Document) -> list[Finding]:
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


def _target_diagnostics(service: Service, doc: Document) -> list[Finding]:
    """The SharePoint target: an https site, and a library and base folder SharePoint can name."""
    from urllib.parse import urlsplit

    sp = service.sharepoint
    out: list[Finding] = []

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


_PRINCIPAL = re.compile(r"[A-Za-z0-9@._+-]{1,100}")
_SSH_KEY = re.compile(
    r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
    r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( [ -~]{0,200})?"
)


def _signer_diagnostics(service: Service, doc: Document) -> list[Finding]:
    """ledger_signers: a plain principal and one SSH public key each (they go to a git file)."""
    out = []
    for i, signer in enumerate(service.ledger_signers):
        for name, pattern, hint in (
            ("name", _PRINCIPAL, "letters, digits and @._+- only"),
            ("key", _SSH_KEY, "one SSH public key line, e.g. 'ssh-ed25519 AAAA... ci'"),
        ):
            if not pattern.fullmatch(getattr(signer, name)):
                line, col = doc.position(("ledger_signers", i, name))
                out.append(
                    error(
                        doc.file,
                        line,
                        col,
                        "CATALOG-LEDGER-SIGNER",
                        f"ledger_signers[{i}].{name} is not usable; write {hint}",
                    )
                )
    return out


CATALOG_FILES = (SERVICE_FILE, IP_POLICY_FILE, REGISTER_FILE)
#: Changes whenever what a kept catalog holds or means changes.
CATALOG_SHAPE = 1


class CatalogMemory(Protocol):
    """Where the last catalog read is kept between runs (the edge decides): one JSON-like state."""

    def load(self) -> Mapping[str, Any] | None: ...

    def save(self, state: Mapping[str, Any]) -> None: ...


def load_catalog(
    repo_root: Path, memory: CatalogMemory | None = None
) -> tuple[Catalog | None, list[Finding]]:
    """Load the three catalog files. None when any is missing or invalid.

    memory: the catalog of an earlier run, reused when the three files have the same bytes
    (what it holds was validated then; the key covers everything the result depends on).
    """
    from provisioner.loading.raw import read_raw

    folder = repo_root / CATALOG_DIR
    raws: dict[str, bytes] = {}
    unread: dict[str, list[Finding]] = {}
    for name in CATALOG_FILES:
        raw, problems = read_raw(folder / name, f"{CATALOG_DIR}/{name}", repo_root)
        if raw is None:
            unread[name] = problems
        else:
            raws[name] = raw
    if unread:
        return _parse_catalog(folder, raws, unread)
    key = catalog_key(raws)
    state = memory.load() if memory is not None else None
    if state is not None and state.get("key") == key:
        kept = catalog_from_json(folder, state)
        if kept is not None:
            return kept
    catalog, diags = _parse_catalog(folder, raws, {})
    if memory is not None:
        memory.save(catalog_to_json(key, catalog, diags))
    return catalog, diags


def catalog_key(raws: Mapping[str, bytes]) -> str:
    """What a kept catalog is valid for: the shape of what is kept and the three files' bytes."""
    h = hashlib.sha256(f"catalog {CATALOG_SHAPE}\0".encode())
    for name in CATALOG_FILES:
        h.update(name.encode() + b"\0" + hashlib.sha256(raws[name]).digest())
    return h.hexdigest()


def catalog_to_json(key: str, catalog: Catalog | None, diags: Sequence[Finding]) -> dict[str, Any]:
    models = (
        None
        if catalog is None
        else {
            "service": catalog.service.model_dump(),
            "ip_policy": catalog.ip_policy.model_dump(),
            "register": catalog.register.model_dump(),
        }
    )
    return {"key": key, "catalog": models, "diags": [d.as_dict() for d in diags]}


def catalog_from_json(
    folder: Path, state: Mapping[str, Any]
) -> tuple[Catalog | None, list[Finding]] | None:
    """The catalog and findings catalog_to_json kept; None when the state is not of that shape."""
    try:
        diags = [
            Finding(d["severity"], d["code"], d["message"], d["file"], d["line"], d["column"])
            for d in state["diags"]
        ]
        if not all(
            d.severity in SEVERITIES and isinstance(d.message, str) and isinstance(d.line, int)
            for d in diags
        ):
            return None
        models = state["catalog"]
        if models is None:
            return None, diags
        from provisioner.model import IpPolicy, Register, Service, trusted

        policy = trusted(IpPolicy, models["ip_policy"])
        networks = tuple(ipaddress.ip_network(r.cidr, strict=True) for r in policy.allow)
        service = trusted(Service, models["service"])
        register = trusted(Register, models["register"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return Catalog(folder, service, policy, register, networks), diags


def _parse_catalog(
    folder: Path, raws: Mapping[str, bytes], unread: Mapping[str, list[Finding]]
) -> tuple[Catalog | None, list[Finding]]:
    """The catalog in the files' bytes, and every problem (unread: why the others could not be
    read)."""
    from provisioner.loading.loader import parse_model
    from provisioner.model import IpPolicy, Register, Service

    def parse(name: str, model: Any) -> tuple[Any, Document | None, list[Finding]]:
        if name not in raws:
            return None, None, unread[name]
        return parse_model(raws[name], f"{CATALOG_DIR}/{name}", model)

    service, sdoc, d1 = parse(SERVICE_FILE, Service)
    policy, pdoc, d2 = parse(IP_POLICY_FILE, IpPolicy)
    register, rdoc, d3 = parse(REGISTER_FILE, Register)
    diags = d1 + d2 + d3
    networks: list[IpNetwork] = []
    if policy is not None and pdoc is not None:
        networks, more = _policy_networks(policy, pdoc)
        diags += more
    if register is not None and rdoc is not None:
        diags += _register_diagnostics(register, rdoc)
    if service is not None and sdoc is not None:
        diags += _pattern_diagnostics(service, sdoc) + _signer_diagnostics(service, sdoc)
        diags += _target_diagnostics(service, sdoc)
    if service is None or policy is None or register is None or any(d.is_error for d in diags):
        return None, diags
    return Catalog(folder, service, policy, register, tuple(networks)), diags


# ----------------------------------------------------------------------------- register import

# Column headings the head of service's list may use (folded: no accents, lower case).
REGISTER_COLUMNS = {
    "ine10": ("ine10", "ine", "codi ine", "codi ine10", "codigo ine"),
    "name": ("name", "nom", "ens", "entitat", "nom de l'ens"),
    "nif": ("nif", "cif"),
    "kind": ("kind", "tipus"),
    "abss": ("abss", "ine10 abss", "abss ine10"),
    "article": ("article",),
}
_KIND_BY_FIRST_WORDS = (
    ("ajuntament", "ajuntament"),
    ("consell comarcal", "consell_comarcal"),
    ("consorci", "consorci"),
    ("mancomunitat", "mancomunitat"),
)
_UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
Cell = str | int | float | None


@dataclass(frozen=True)
class RefusedRow:
    line: int  # the row's number in the sheet (the heading is row 1)
    reason: str


@dataclass(frozen=True)
class RegisterChanges:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def register_columns(heading: Sequence[Cell]) -> tuple[dict[str, int], list[str]]:
    """Column index of each field, and the problems with the heading row."""
    known = {alias: name for name, aliases in REGISTER_COLUMNS.items() for alias in aliases}
    found: dict[str, int] = {}
    problems = []
    for i, cell in enumerate(heading):
        text = fold(str(cell)) if cell is not None else ""
        if not text:
            continue
        name = known.get(text)
        if name is None:
            problems.append(f"unknown column {str(cell)!r}")
        elif name in found:
            problems.append(f"column {name} appears twice")
        else:
            found[name] = i
    for required in ("ine10", "name"):
        if required not in found:
            problems.append(
                f"no {required} column (headings: "
                + ", ".join(REGISTER_COLUMNS[required][:3])
                + ")"
            )
    return found, problems


def _cell_text(cell: Cell) -> tuple[str, bool]:
    """The cell as text, and whether the sheet stored it as a number."""
    if cell is None:
        return "", False
    if isinstance(cell, bool):
        return str(cell), False
    if isinstance(cell, int):
        return str(cell), True
    if isinstance(cell, float):
        return (str(int(cell)), True) if cell.is_integer() else (repr(cell), True)
    return " ".join(str(cell).split()), False


def _kind_of(given: str, name: str) -> str | None:
    kinds = ("ajuntament", "consell_comarcal", "consorci", "mancomunitat", "altres")
    if given:
        wanted = fold(given).replace(" ", "_")
        return wanted if wanted in kinds else None
    folded = fold(name)
    return next(
        (kind for words, kind in _KIND_BY_FIRST_WORDS if folded.startswith(words)), "altres"
    )


def _code(text: str, numeric: bool, label: str) -> tuple[str, str | None]:
    """An INE10 from a cell: a number cell cannot hold the leading zero, so it is put back."""
    if numeric and re.fullmatch(r"[0-9]{9}", text):
        return "0" + text, None
    problem = ine10_problem(text)
    return text, (f"{label} {text!r} {problem}" if problem else None)


def register_from_rows(
    rows: Sequence[tuple[int, Sequence[Cell]]],
    columns: dict[str, int],
    previous: Register | None = None,
) -> tuple[Register | None, list[RefusedRow]]:
    """The register the rows describe (None when any row is refused), and every refusal.

    A row with an `abss` is a dependent entity, the others may integrate. `article` overrides
    that are not in the sheet are kept from the previous register.
    """
    from provisioner.model import DependentEntity, Register, RegisteredEntity

    before: list[RegisterRow] = [*previous.eligible, *previous.dependent] if previous else []
    kept_articles = {r.ine10: r.article for r in before if r.article is not None}
    refused: list[RefusedRow] = []
    eligible: list[RegisteredEntity] = []
    dependent: list[DependentEntity] = []
    first_line: dict[str, int] = {}
    abss_lines: list[tuple[int, str]] = []

    def get(row: Sequence[Cell], name: str) -> tuple[str, bool]:
        i = columns.get(name)
        return _cell_text(row[i] if i is not None and i < len(row) else None)

    for line, row in rows:
        if all(_cell_text(c)[0] == "" for c in row):
            continue  # blank rows are common at the end of a sheet
        problems: list[str] = []
        values = {name: get(row, name) for name in REGISTER_COLUMNS}
        for name, (text, _) in values.items():
            if _UNSAFE_TEXT.search(text):
                problems.append(f"{name} holds a control or direction-changing character")
        ine10, problem = _code(*values["ine10"], "ine10")
        problems += [problem] if problem else []
        name = values["name"][0]
        if not name:
            problems.append("the name is empty")
        nif = values["nif"][0].upper().replace(" ", "").replace("-", "")
        if nif and (problem := nif_problem(nif)):
            problems.append(f"nif {nif!r} {problem}")
        article_text = values["article"][0]
        article = article_text.replace("’", "'") if article_text else kept_articles.get(ine10)
        if article is not None and article not in ("el", "la", "l'", "els", "les", ""):
            problems.append(f"article {article!r} is not one of el, la, l', els, les")
        abss_text, abss_numeric = values["abss"]
        abss = ""
        if abss_text:
            abss, problem = _code(abss_text, abss_numeric, "abss")
            problems += [problem] if problem else []
        kind = _kind_of(values["kind"][0], name)
        if not abss:
            if not nif:
                problems.append("an entity that may integrate needs its NIF")
            if kind is None:
                problems.append(
                    f"kind {values['kind'][0]!r} is not one of ajuntament, consell_comarcal, "
                    "consorci, mancomunitat, altres"
                )
        if ine10 in first_line and not problems:
            problems.append(f"INE10 {ine10} is already on row {first_line[ine10]}")
        if problems:
            refused.append(RefusedRow(line, "; ".join(problems)))
            continue
        first_line[ine10] = line
        if abss:
            abss_lines.append((line, abss))
            dependent.append(
                DependentEntity(
                    ine10=ine10,
                    name=name,
                    abss=abss,
                    nif=nif or None,
                    article=article,  # type: ignore[arg-type]
                )
            )
        else:
            eligible.append(
                RegisteredEntity(
                    ine10=ine10,
                    name=name,
                    nif=nif,
                    kind=kind,  # type: ignore[arg-type]
                    article=article,  # type: ignore[arg-type]
                )
            )
    may_integrate = {e.ine10 for e in eligible}
    for line, abss in abss_lines:
        if abss not in may_integrate:
            refused.append(
                RefusedRow(line, f"abss {abss} is not an entity of this list that may integrate")
            )
    if refused:
        return None, sorted(refused, key=lambda r: r.line)
    register = Register(
        eligible=sorted(eligible, key=lambda e: e.ine10),
        dependent=sorted(dependent, key=lambda e: e.ine10),
    )
    return register, []


def register_changes(old: Register | None, new: Register) -> RegisterChanges:
    """What an import adds, removes and changes, one line each, by INE10."""
    from provisioner.model import RegisteredEntity

    def rows(register: Register | None) -> dict[str, RegisterRow]:
        if register is None:
            return {}
        every: list[RegisterRow] = [*register.eligible, *register.dependent]
        return {r.ine10: r for r in every}

    before, after = rows(old), rows(new)
    changes = RegisterChanges()
    for ine10 in sorted(after.keys() - before.keys()):
        changes.added.append(f"{ine10} {after[ine10].name}")
    for ine10 in sorted(before.keys() - after.keys()):
        changes.removed.append(f"{ine10} {before[ine10].name}")
    for ine10 in sorted(before.keys() & after.keys()):
        a, b = before[ine10], after[ine10]
        if a != b:
            da, db = a.model_dump(), b.model_dump()
            fields = [k for k in sorted(da.keys() | db.keys()) if da.get(k) != db.get(k)]
            if type(a) is not type(b):
                fields = ["may integrate" if isinstance(b, RegisteredEntity) else "now depends"]
            changes.changed.append(f"{ine10} {b.name}: {', '.join(fields)}")
    return changes


def _quoted(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def register_yaml(register: Register) -> str:
    """catalog/entities.yaml for `register`: sorted by INE10, one row per line, stable."""
    out = [
        "# yaml-language-server: $schema=../schemas/catalog-entities.schema.json",
        "# The register kept by the head of service: entities (ABSS) that may integrate with "
        "Hèstia,",
        "# and entities that depend on an ABSS and must integrate through it.",
        "# Written by `hestia-provisioner register import`; `article:` overrides the article "
        "a name takes in Catalan.",
        "eligible:" if register.eligible else "eligible: []",
    ]
    for e in sorted(register.eligible, key=lambda r: r.ine10):
        parts = [
            f"ine10: {_quoted(e.ine10)}",
            f"name: {_quoted(e.name)}",
            f"nif: {_quoted(e.nif)}",
            f"kind: {e.kind}",
        ]
        if e.article is not None:
            parts.append(f"article: {_quoted(e.article)}")
        out.append("  - {" + ", ".join(parts) + "}")
    out.append("dependent:" if register.dependent else "dependent: []")
    for d in sorted(register.dependent, key=lambda r: r.ine10):
        parts = [f"ine10: {_quoted(d.ine10)}", f"name: {_quoted(d.name)}"]
        if d.nif is not None:
            parts.append(f"nif: {_quoted(d.nif)}")
        parts.append(f"abss: {_quoted(d.abss)}")
        if d.article is not None:
            parts.append(f"article: {_quoted(d.article)}")
        out.append("  - {" + ", ".join(parts) + "}")
    return "\n".join(out) + "\n"
