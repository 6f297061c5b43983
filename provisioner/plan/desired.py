"""The desired state of one environment, computed purely from the catalog and the files.

`gather` (the edge) reads each valid integration's certificate identity and document hashes;
`desired_state` (pure) turns that into the APP configuration, the SharePoint folders and the
per-integration records that the ledger keeps.

PRE holds every integration (PRE and PRO: PRO integrations stay reachable in PRE for tests);
PRO holds only the PRO ones. Several providers of one entity merge into one permission entry
with several certificates; its modalities are the union of what each provider was granted
(APP authorises an entity, not a provider, for a modality).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring as _json_string
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from provisioner.diagnostics import Code, Finding, error, register_codes
from provisioner.documents.identity import CertificateIdentity, FileDigest, ReadDocuments
from provisioner.loading.paths import RepositoryFiles
from provisioner.source import Source, folder_name

if TYPE_CHECKING:  # types only: a plan made from a kept one imports no model (no pydantic)
    from provisioner.catalog import Catalog
    from provisioner.model import Environment, Integration

register_codes(
    "plan (documents)",
    Code(
        "PLAN-DOCUMENTS",
        "error",
        "the CDA or the form cannot be read while planning",
        "run validate and fix what it reports",
    ),
    Code(
        "PLAN-SAME-NAME",
        "error",
        "the CDA and the form have the same file name",
        "rename one of them",
    ),
)


@dataclass(frozen=True, slots=True)
class Document:
    """One file that goes to an integration's SharePoint folder."""

    name: str  # file name in the folder
    source: str  # repository-relative path of the file in git
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class IntegrationInput:
    """What the edge read about one valid integration file."""

    rel: str
    integration: Integration
    identity: CertificateIdentity
    documents: tuple[Document, ...]
    form_signers: tuple[str, ...] = ()  # as validate read them from the signed form
    form_verified: tuple[str, ...] = ()  # what validate verified about the signed form


@dataclass(frozen=True, slots=True)
class Folder:
    """One integration's SharePoint folder: path segments from the library root, and its files."""

    path: tuple[str, ...]
    files: tuple[Document, ...]

    @property
    def key(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True)
class DesiredState:
    environment: Environment
    app_config: dict[str, Any]
    folders: tuple[Folder, ...]
    records: dict[str, dict[str, Any]]  # integration key -> record kept in the ledger


def record_key(ine10: str, provider_nif: str) -> str:
    return f"{ine10}/{provider_nif}"


def canonical_json(data: Any) -> bytes:
    """The one serialisation of every JSON document the tool writes: sorted, stable, diffable.

    Exactly json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) and a newline. The
    ledger's documents (text, whole numbers, lists, objects) are written by _plain in half
    the time json's indenting encoder takes; anything else goes through json.dumps itself.
    """
    parts: list[str] = []
    try:
        _plain(data, "\n", parts.append)
    except (_NotPlain, RecursionError):
        return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    parts.append("\n")
    return "".join(parts).encode()


class _NotPlain(Exception):
    """A value _plain leaves to json.dumps (a float, a key that is not text, another type)."""


def _plain(value: Any, indent: str, out: Callable[[str], None]) -> None:
    """value as json.dumps writes it at this depth (indent: the newline and the spaces)."""
    if isinstance(value, str):
        out(_json_string(value))
    elif value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, (list, tuple)):
        if not value:
            out("[]")
            return
        inner = indent + "  "
        separator = "[" + inner
        for item in value:
            out(separator)
            _plain(item, inner, out)
            separator = "," + inner
        out(indent + "]")
    elif isinstance(value, dict):
        if not value:
            out("{}")
            return
        if not all(isinstance(key, str) for key in value):
            raise _NotPlain
        inner = indent + "  "
        separator = "{" + inner
        for key in sorted(value):
            out(separator + _json_string(key) + ": ")
            _plain(value[key], inner, out)
            separator = "," + inner
        out(indent + "}")
    else:
        raise _NotPlain


@lru_cache(maxsize=65536)
def _network(text: str) -> tuple[str, tuple[int, int, int]]:
    """(CIDR text, sort key) of an address or range; cached: each appears several times."""
    # What ip_network does, without first trying (and failing) IPv4 for an IPv6 network.
    net = (ipaddress.IPv6Network if ":" in text else ipaddress.IPv4Network)(text)
    return str(net), (net.version, int(net.network_address), net.prefixlen)


def _ip_sort_key(cidr: str) -> tuple[int, int, int]:
    return _network(cidr)[1]


def in_environment(integration: Integration, env: Environment) -> bool:
    return env == "PRE" or integration.environment == "PRO"


def base_path(catalog: Catalog) -> tuple[str, ...]:
    sp = catalog.service.sharepoint
    return (sp.library, *(part for part in sp.base_folder.split("/") if part))


def desired_state(
    catalog: Catalog, env: Environment, inputs: Iterable[IntegrationInput]
) -> DesiredState:
    """Pure: the APP configuration, folders and records of env."""
    service = catalog.service
    base = base_path(catalog)
    chosen = sorted(
        (i for i in inputs if in_environment(i.integration, env)),
        key=lambda i: (i.integration.entity.ine10, i.integration.provider.nif),
    )
    allowlist: list[dict[str, Any]] = []
    permissions: dict[str, dict[str, Any]] = {}
    granted: dict[str, set[str]] = {}
    folders: list[Folder] = []
    records: dict[str, dict[str, Any]] = {}
    for item in chosen:
        integ = item.integration
        ine10, nif = integ.entity.ine10, integ.provider.nif
        for ip in integ.ips:
            allowlist.append(
                {
                    "cidr": _network(ip)[0],
                    "ine10": ine10,
                    "provider": nif,
                    "provider_name": integ.provider.name,
                    "fp": integ.fp,
                }
            )
        registered = catalog.eligible_by_ine10.get(ine10)
        entry = permissions.setdefault(
            ine10,
            {
                "ine10": ine10,
                "name": registered.name if registered else integ.entity.name,
                "product": service.product,
                "modalities": [],
                "certificates": [],
            },
        )
        modalities = catalog.granted_modalities(integ)
        granted.setdefault(ine10, set()).update(modalities)
        ident = item.identity
        entry["certificates"].append(
            {
                "sha256": ident.sha256,
                "subject": ident.subject,
                "serial": ident.serial,
                "not_after": ident.not_after.isoformat(),
                "provider": nif,
                "provider_name": integ.provider.name,
                "fp": integ.fp,
            }
        )
        folder = Folder(
            (*base, folder_name(service.sharepoint.folder_pattern, integ, entry["name"])),
            item.documents,
        )
        folders.append(folder)
        records[record_key(ine10, nif)] = {
            "ine10": ine10,
            "entity": entry["name"],
            "provider": nif,
            "provider_name": integ.provider.name,
            "fp": integ.fp,
            "environment": integ.environment,
            "file": item.rel,
            "folder": folder.key,
            "certificate": ident.sha256,
            "form_signed_by": list(item.form_signers),
            "form_verified": list(item.form_verified),
            "form_sha256": item.documents[1].sha256 if len(item.documents) > 1 else "",
            "ips": sorted((_network(ip)[0] for ip in integ.ips), key=_ip_sort_key),
            "modalities": list(modalities),
        }
    order = {code: i for i, code in enumerate(catalog.modality_codes)}
    for ine10, entry in permissions.items():
        entry["modalities"] = sorted(granted[ine10], key=lambda c: (order.get(c, len(order)), c))
        entry["certificates"].sort(key=lambda c: (c["provider"], c["sha256"]))
    allowlist.sort(key=lambda e: (*_ip_sort_key(e["cidr"]), e["ine10"], e["provider"]))
    app_config = {
        "environment": env,
        "product": service.product,
        "front_end": getattr(service.front_ends, env),
        "ip_allowlist": allowlist,
        "permissions": [permissions[k] for k in sorted(permissions)],
    }
    folders.sort(key=lambda f: f.key)
    return DesiredState(env, app_config, tuple(folders), records)


# ----------------------------------------------------------------------------- the edge


def _document(written: str, path: Path, repo_root: Path, files: RepositoryFiles) -> Document:
    from provisioner.documents.form import MAX_FORM_BYTES

    data = files.read(path, MAX_FORM_BYTES)  # the form is the bigger of the two documents
    rel = path.relative_to(repo_root).as_posix()
    return Document(Path(written).name, rel, hashlib.sha256(data).hexdigest(), len(data))


def _file_name(written: str) -> str:
    """Path(written).name without building a Path (this runs twice per integration)."""
    tail = written.rpartition("/")[2]
    return tail if tail not in ("", ".") else Path(written).name


def _relative(path: Path, repo_root: Path) -> str:
    """path.relative_to(repo_root).as_posix(), by its text when path is plainly inside."""
    text, root = str(path), str(repo_root)
    if isinstance(path, PurePosixPath) and text.startswith(root + "/") and root != "/":
        return text[len(root) + 1 :]
    return path.relative_to(repo_root).as_posix()


def _as_document(written: str, read: FileDigest, repo_root: Path) -> Document:
    return Document(_file_name(written), _relative(read.path, repo_root), read.sha256, read.size)


def _documents(
    src: Source, root: Path, reader: RepositoryFiles, read: ReadDocuments | None
) -> tuple[CertificateIdentity, Document, Document] | None:
    """The CDA's identity and both documents: as validation read them, else read now."""
    integ = src.integration
    if read is not None and read.cda and read.identity and read.form:
        return (
            read.identity,
            _as_document(integ.cda, read.cda, root),
            _as_document(integ.form, read.form, root),
        )
    from provisioner.documents.identity import identity_in

    cda = reader.usable(src.folder, integ.cda)
    form = reader.usable(src.folder, integ.form)
    identity = identity_in(reader, src.folder, integ.cda)
    if cda is None or form is None or identity is None:
        return None
    try:
        return (
            identity,
            _document(integ.cda, cda, root, reader),
            _document(integ.form, form, root, reader),
        )
    except OSError:
        return None


def gather(
    sources: Sequence[Source],
    form_signers: Mapping[str, tuple[str, ...]] | None = None,
    files: RepositoryFiles | None = None,
    read: Mapping[str, ReadDocuments] | None = None,
    form_verified: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[list[IntegrationInput], list[Finding]]:
    """The certificate identity and the documents of each (already validated) file.

    form_signers (file -> signers) and read (file -> identity and hashes) are what validation
    found: with them no document is read a second time. files is the run's reader
    (validation's, so paths are not checked twice) for anything validation did not keep.
    """
    inputs: list[IntegrationInput] = []
    problems: list[Finding] = []
    roots: dict[Path, Path] = {}
    readers: dict[Path, RepositoryFiles] = {} if files is None else {files.root: files}
    for src in sources:
        integ = src.integration
        root = roots.get(src.repo_root) or roots.setdefault(src.repo_root, src.repo_root.resolve())
        reader = readers.get(src.repo_root) or readers.setdefault(
            src.repo_root, RepositoryFiles(src.repo_root)
        )
        found = _documents(src, root, reader, (read or {}).get(src.rel))
        if found is None:
            problems.append(
                error(
                    src.rel,
                    *src.at("cda"),
                    "PLAN-DOCUMENTS",
                    "the CDA or the form cannot be read; run `hestia-provisioner validate`",
                )
            )
            continue
        identity, *documents = found
        if documents[0].name.casefold() == documents[1].name.casefold():
            problems.append(
                error(
                    src.rel,
                    *src.at("form"),
                    "PLAN-SAME-NAME",
                    f"the CDA and the form are both named {documents[0].name!r}; they share one "
                    "SharePoint folder, so rename one of them",
                )
            )
            continue
        signers = (form_signers or {}).get(src.rel, ())
        verified = (form_verified or {}).get(src.rel, ())
        inputs.append(
            IntegrationInput(src.rel, integ, identity, tuple(documents), signers, verified)
        )
    return inputs, problems
