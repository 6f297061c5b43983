"""Starting an integration from a ticket: the file `new` writes, and where its documents go.

Pure where it can be: names, the YAML text and the next step are functions of the ticket's
data; copying documents and writing the file (never over an existing one) are the edge.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.catalog import fold
from provisioner.desk.gaps import Gap
from provisioner.diagnostics import Finding
from provisioner.model import RegisteredEntity
from provisioner.source import INTEGRATIONS_DIR

SCHEMA_MODELINE = "# yaml-language-server: $schema=../../schemas/integration.schema.json"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# Words left out of a provider's file name: articles, prepositions and company forms.
_NAME_NOISE = frozenset(
    {"de", "del", "dels", "d", "la", "les", "el", "els", "l", "i", "y"}
    | {"sl", "sa", "slu", "sau", "scp", "sll", "sccl", "sc", "coop"}
)
_UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class StartProblem(Exception):
    """The integration cannot be started as asked; the text says why (nothing was written)."""


@dataclass(frozen=True)
class Ticket:
    """What a support ticket gives to start an integration."""

    fp: str
    entity: RegisteredEntity
    provider_name: str
    provider_nif: str
    environment: str = "PRE"
    ips: tuple[str, ...] = ()
    cda: Path | None = None  # the file as received, anywhere on disk
    form: Path | None = None


@dataclass(frozen=True)
class Layout:
    """Where the integration's files go, relative to the repository root."""

    file: str
    cda: str | None
    form: str | None


@dataclass
class Started:
    file: Path
    copied: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


def slug(name: str) -> str:
    """A file name from a provider's name: 'Serveis Informàtics del Pirineu SL' ->
    'serveis-informatics-pirineu'."""
    words = re.split(r"[^a-z0-9]+", fold(name))
    kept = [w for w in words if w and w not in _NAME_NOISE]
    return "-".join(kept)[:60].strip("-") or "proveidor"


def text_problem(label: str, value: str) -> str | None:
    if not value.strip():
        return f"{label} is empty"
    if _UNSAFE_TEXT.search(value):
        return f"{label} holds a control or direction-changing character"
    return None


def cda_suffix(data: bytes) -> str:
    return ".pem" if b"-----BEGIN" in data[:4096] else ".cer"


def layout(ticket: Ticket, cda_data: bytes | None) -> Layout:
    folder = f"{INTEGRATIONS_DIR}/{ticket.entity.ine10}"
    name = slug(ticket.provider_name)
    cda = f"certs/{name}{cda_suffix(cda_data)}" if cda_data is not None else None
    form = f"forms/FP{ticket.fp}-formulari-integracio.pdf" if ticket.form is not None else None
    return Layout(f"{folder}/{name}.yaml", cda, form)


def integration_yaml(ticket: Ticket, where: Layout) -> str:
    """The integration file, in the samples' layout, every text quoted."""

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML scalar

    entity = ticket.entity
    lines = [
        SCHEMA_MODELINE,
        f"# Started with `hestia-provisioner new` from ticket FP#{ticket.fp}.",
        f"fp: {q(ticket.fp)}",
        "entity:",
        f"  ine10: {q(entity.ine10)}",
        f"  name: {q(entity.name)}",
        f"  nif: {q(entity.nif)}",
        "provider:",
        f"  name: {q(ticket.provider_name)}",
        f"  nif: {q(ticket.provider_nif)}",
        f"environment: {ticket.environment}",
        "modalities: all",
    ]
    if ticket.ips:
        lines += ["ips:"] + [f"  - {q(ip)}" for ip in ticket.ips]
    else:
        lines.append("ips: []  # not received yet")
    lines.append(f"cda: {where.cda}" if where.cda else "# cda: not received yet")
    lines.append(f"form: {where.form}" if where.form else "# form: not received yet")
    return "\n".join(lines) + "\n"


def _read(path: Path, label: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise StartProblem(f"{label} {path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise StartProblem(f"{label} {path}: larger than 20 MiB; is it the right file?")
    return data


def start(repo_root: Path, ticket: Ticket) -> Started:
    """Copy the documents under clean names and write the integration file.

    Never overwrites: an existing integration file is refused, and an existing document is
    reused only when it holds the same bytes. A CDA that holds a private key is not copied:
    it must never reach the repository.
    """
    from provisioner.documents.cda import load_single_certificate

    cda_data = _read(ticket.cda, "--cda") if ticket.cda is not None else None
    form_data = _read(ticket.form, "--form") if ticket.form is not None else None
    if cda_data is not None:
        _, findings = load_single_certificate(cda_data)
        if any(f.code == "CDA-PRIVATE-KEY" for f in findings):
            raise StartProblem(
                f"--cda {ticket.cda}: {findings[0].message}. It was not copied; ask the "
                "provider for the public certificate only"
            )
    where = layout(ticket, cda_data)
    target = repo_root / where.file
    if target.exists() or target.is_symlink():
        raise StartProblem(
            f"{where.file} already exists: edit it, or give the second integration another "
            "provider name"
        )
    folder = target.parent
    documents = [
        (where.cda, cda_data),
        (where.form, form_data),
    ]
    plan: list[tuple[str, bytes, bool]] = []
    for rel, data in documents:
        if rel is None or data is None:
            continue
        path = folder / rel
        if path.exists() or path.is_symlink():
            same = path.is_file() and (
                hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
            )
            if not same:
                raise StartProblem(
                    f"{INTEGRATIONS_DIR}/{ticket.entity.ine10}/{rel} already exists with other "
                    "content; stored documents are never replaced: rename one of them"
                )
            plan.append((rel, data, False))
        else:
            plan.append((rel, data, True))
    started = Started(target)
    for rel, data, new in plan:
        if not new:
            started.reused.append(rel)
            continue
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as fh:  # exclusive: never over a file that appeared meanwhile
            fh.write(data)
        started.copied.append(rel)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(integration_yaml(ticket, where))
    return started


def next_step(rel: str, errors: Sequence[Finding], gaps: Sequence[Gap]) -> str:
    """What the agent does next, in words (the agent reads command names; the entity never)."""
    if gaps:
        return (
            "Next: ask for what is missing with "
            f"`hestia-provisioner message request-info {rel}`, then add what arrives"
        )
    if errors:
        return f"Next: fix the errors above, then run `hestia-provisioner validate {rel}`"
    return (
        "Next: open the pull request, and tell the head of service with "
        f"`hestia-provisioner message head-of-service {rel}`"
    )
