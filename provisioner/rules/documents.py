"""The CDA and the signed form, checked the way the head of service would.

Thin rules: the checks live in provisioner/documents/ (cda.py, form.py) and take bytes. Only
files that the path rule accepted are opened, through the run's RepositoryFiles; caches and the
form pool come from ctx.edges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from provisioner.catalog import CATALOG_DIR, SERVICE_FILE
from provisioner.diagnostics import Code, Finding, error
from provisioner.documents.identity import (
    MAX_CERTIFICATE_BYTES,
    FileDigest,
    ReadDocuments,
    identity_in,
)
from provisioner.loading.paths import TooLarge
from provisioner.loading.raw import MAX_BYTES
from provisioner.rules import RuleContext, batched_rule, file_rule, set_rule
from provisioner.source import Facts, Source

if TYPE_CHECKING:
    from cryptography import x509

    from provisioner.documents.form import FormVerdict, Parties

SERVICE_REL = f"{CATALOG_DIR}/{SERVICE_FILE}"
#: A trusted-root file holds a few CA certificates; far bigger is not one.
MAX_ANCHOR_BYTES = 16 * 1024 * 1024
TRUST_MEMO = "documents.trust"
_ROOT_FILES_MEMO = "documents.trust_files"
_TRUST_KEY_MEMO = "documents.trust_key"
_TRUST_USERS_MEMO = "documents.trust_users"  # files whose checks needed the trusted CAs
FINGERPRINT_MEMO = "documents.cda_sha256"
VALIDITY_MEMO = "documents.cda_validity"  # file -> its CDA's (not before, not after), Unix time
FORM_VERDICT_MEMO = "documents.form_verdicts"  # file -> its form's FormVerdict
FORM_SIGNERS_MEMO = "documents.form_signers"  # file -> who signed its form
READ_MEMO = "documents.read"  # file -> ReadDocuments: what plan needs, read once


FORM_VERIFIED_MEMO = "documents.form_verified"  # file -> what was verified about its form


@dataclass
class Trust:
    """The CAs of catalog/service.yaml trusted_roots, parsed once per run."""

    certs: tuple[x509.Certificate, ...] = ()
    der: tuple[bytes, ...] = ()
    problems: list[Finding] = field(default_factory=list)


def trust_users(ctx: RuleContext) -> set[str]:
    """The files whose checks needed the trusted CAs this run."""
    found: set[str] = ctx.memo.setdefault(_TRUST_USERS_MEMO, set())
    return found


def trust_problems(ctx: RuleContext) -> list[Finding]:
    """The unusable trusted roots, reported once when some file's check needed them."""
    return trust(ctx).problems if trust_users(ctx) else []


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def _root_files(ctx: RuleContext) -> list[tuple[str, bytes | None]]:
    """Each trusted root as written in catalog/service.yaml, with its file's bytes (None when
    it cannot be read); read once per run, so that trust() parses what trust_key() names."""
    found = ctx.memo.get(_ROOT_FILES_MEMO)
    if found is None:
        found = []
        for written, path in zip(
            ctx.catalog.service.trusted_roots, ctx.catalog.trusted_root_paths(), strict=True
        ):
            try:
                data: bytes | None = ctx.files.read(path, MAX_ANCHOR_BYTES)
            except (OSError, ValueError):  # ValueError: a NUL character in the path
                data = None
            found.append((written, data))
        ctx.memo[_ROOT_FILES_MEMO] = found
    return found


def trust_key(ctx: RuleContext) -> str:
    """What names the trusted CAs in the keys of kept verdicts: a digest of their files' bytes,
    taken without parsing them (a run whose verdicts are all known loads no cryptography);
    once per run."""
    found = ctx.memo.get(_TRUST_KEY_MEMO)
    if found is None:
        h = hashlib.sha256()
        for written, data in _root_files(ctx):
            h.update(json.dumps([written, None if data is None else digest(data)]).encode())
        found = ctx.memo[_TRUST_KEY_MEMO] = h.hexdigest()
    return str(found)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def trust(ctx: RuleContext) -> Trust:
    """The trusted CAs (memoised in ctx.memo), with diagnostics for unusable entries."""
    found = ctx.memo.get(TRUST_MEMO)
    if isinstance(found, Trust):
        return found
    from cryptography.hazmat.primitives.serialization import Encoding

    from provisioner.documents.cda import load_anchor_file

    result = Trust()
    try:
        service_text = ctx.files.read(ctx.catalog.root / SERVICE_FILE, MAX_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        service_text = ""
    certs: list[x509.Certificate] = []
    for written, data in _root_files(ctx):
        line = _line_of(service_text, written)
        if data is None:
            problem: str | None = "cannot be read; check the path (relative to catalog/)"
        else:
            loaded, problem = load_anchor_file(data)
            certs += loaded
        if problem:
            result.problems.append(
                error(
                    SERVICE_REL, line, 1, "CATALOG-TRUST-ROOT", f"trusted root {written} {problem}"
                )
            )
    result.certs = tuple(certs)
    result.der = tuple(c.public_bytes(Encoding.DER) for c in certs)
    ctx.memo[TRUST_MEMO] = result
    return result


def _read_so_far(ctx: RuleContext, src: Source) -> ReadDocuments:
    """What the rules kept of src's documents, for the steps after validation (the plan)."""
    known: dict[str, ReadDocuments] = ctx.memo.setdefault(READ_MEMO, {})
    return known.setdefault(src.rel, ReadDocuments())


def _keep(ctx: RuleContext, src: Source, read: ReadDocuments) -> None:
    ctx.memo[READ_MEMO][src.rel] = read


def clock_diagnostics(
    src: Source, validity: tuple[float, float] | None, ctx: RuleContext
) -> list[Finding]:
    """What the clock alone says of src's CDA, valid from validity[0] to validity[1]."""
    if validity is None:
        return []
    from provisioner.documents.cda import validity_findings

    not_before, not_after = (datetime.fromtimestamp(t, UTC) for t in validity)
    days = ctx.catalog.service.certificate_expiry_warning_days
    return [
        _place(src, "cda", finding, "cda")
        for finding in validity_findings(not_before, not_after, ctx.now, days)
    ]


def _place(src: Source, key: str, finding: Finding, label: str) -> Finding:
    # Verdicts are cached per document, so they cannot name the YAML file themselves.
    message = finding.message.replace(" FILE`", f" {src.rel}`")
    return finding.placed(src.rel, *src.at(key), message=f"{label}: {message}")


@file_rule(
    Code(
        "CDA-NOT-CERTIFICATE",
        "error",
        "cda is not a readable X.509 certificate",
        "commit the provider's public certificate (.pem or .cer)",
    ),
    Code(
        "CDA-PRIVATE-KEY",
        "error",
        "cda holds a private key",
        "treat the key as exposed: revoke, re-issue, send only the public part",
    ),
    Code(
        "CDA-MULTIPLE",
        "error",
        "cda holds more than one certificate (a chain)",
        "keep only the application certificate",
    ),
    Code(
        "CDA-CA", "error", "cda is a CA certificate", "ask for the application certificate itself"
    ),
    Code(
        "CDA-NOT-YET-VALID",
        "error",
        "the certificate is not valid yet",
        "wait until it is valid or send a current one",
    ),
    Code(
        "CDA-EXPIRED",
        "error",
        "the certificate has expired",
        "ask the provider for the renewed certificate",
    ),
    Code(
        "CDA-EXPIRING",
        "warning",
        "the certificate expires soon (certificate_expiry_warning_days)",
        "ask the provider for the renewed certificate",
    ),
    Code(
        "CDA-WEAK-KEY",
        "error",
        "the key is too weak (RSA under 2048 bits, EC under P-256)",
        "ask the provider for a new certificate",
    ),
    Code(
        "CDA-WEAK-HASH",
        "error",
        "the certificate is signed with SHA-1 or MD5",
        "ask the provider for a new certificate",
    ),
    Code(
        "CDA-KEY-USAGE",
        "error",
        "the key usage does not allow digital signatures",
        "ask the provider for a signing certificate",
    ),
    Code(
        "CDA-UNTRUSTED-ISSUER",
        "error",
        "the issuer is not a CA in trusted_roots",
        "ask for a certificate from a trusted CA, or add the CA after review",
    ),
    Code(
        "CATALOG-TRUST-ROOT",
        "error",
        "a trusted root in catalog/service.yaml cannot be used",
        "point trusted_roots at readable CA certificates (PEM or DER)",
    ),
)
def cda_certificate(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """The CDA is one public application certificate, current, strong and from a trusted CA."""
    from provisioner.documents.cda import cda_verdict, cda_verdict_key

    path = ctx.files.usable(src.folder, src.integration.cda)
    if path is None:
        return  # reported by the path rule
    trust_users(ctx).add(src.rel)
    try:
        data = ctx.read(path, MAX_CERTIFICATE_BYTES)
    except TooLarge:
        yield error(
            src.rel,
            *src.at("cda"),
            "CDA-NOT-CERTIFICATE",
            "cda: the file is far too large to be a certificate; commit the public "
            "certificate only (.pem or .cer)",
        )
        return
    except OSError as exc:
        yield error(src.rel, *src.at("cda"), "CDA-NOT-CERTIFICATE", f"cda: cannot read ({exc})")
        return
    kept = ctx.edges.cda_verdicts
    key = cda_verdict_key(data, trust_key(ctx)) if kept is not None else ""
    verdict = kept.get(key) if kept is not None else None
    if verdict is None:
        verdict = cda_verdict(data, trust(ctx).certs, ctx.edges.issuer_marks)
        if kept is not None:
            kept.put(key, verdict)
    identity = verdict.identity
    if identity is not None:
        ctx.memo.setdefault(VALIDITY_MEMO, {})[src.rel] = (
            identity.not_before.timestamp(),
            identity.not_after.timestamp(),
        )
    ctx.memo.setdefault(FINGERPRINT_MEMO, {})[src.rel] = (
        identity.sha256 if identity is not None else None
    )
    cda = FileDigest(path, digest(data), len(data))
    _keep(ctx, src, replace(_read_so_far(ctx, src), cda=cda, identity=identity))
    for finding in verdict.at(ctx.now, ctx.catalog.service.certificate_expiry_warning_days):
        yield _place(src, "cda", finding, "cda")


def cda_fingerprint(src: Source, ctx: RuleContext) -> str | None:
    """The SHA-256 of a source's CDA: from this run's memo, else read from the file."""
    known: dict[str, str | None] = ctx.memo.get(FINGERPRINT_MEMO, {})
    if src.rel in known:
        return known[src.rel]
    identity = identity_in(ctx.files, src.folder, src.integration.cda)
    return identity.sha256 if identity is not None else None


@set_rule(
    Code(
        "CDA-DUPLICATE",
        "error",
        "the same certificate is given for two different providers",
        "check which provider owns the certificate",
    ),
)
def cda_one_provider(files: Sequence[Facts], ctx: RuleContext) -> Iterator[Finding]:
    """One certificate belongs to one provider: two providers never share a CDA."""
    first: dict[str, Facts] = {}
    for src in files:
        sha256 = src.cda_sha256
        if sha256 is None:
            continue
        owner = first.setdefault(sha256, src)
        if owner.provider_nif != src.provider_nif:
            yield error(
                src.rel,
                *src.at("cda"),
                "CDA-DUPLICATE",
                f"cda: this certificate (SHA-256 {sha256[:16]}…) is also the CDA of "
                f"provider {owner.provider_name} ({owner.provider_nif}) "
                f"in {owner.rel}; each provider must send its own application certificate",
            )


@batched_rule(
    Code("FORM-NOT-PDF", "error", "form is not a PDF", "commit the signed PDF form"),
    Code(
        "FORM-UNREADABLE",
        "error",
        "the form cannot be read as a PDF",
        "ask for the signed PDF again",
    ),
    Code("FORM-ENCRYPTED", "error", "the form is encrypted", "ask for the form without a password"),
    Code("FORM-UNSIGNED", "error", "the form has no signature", "ask the entity to sign the form"),
    Code(
        "FORM-SIGNATURE-BROKEN",
        "error",
        "a signature does not match the document",
        "ask for the signed form again, unmodified",
    ),
    Code(
        "FORM-MODIFIED",
        "error",
        "the form was changed after signing in a way that is not allowed",
        "ask for the signed form again, unmodified",
    ),
    Code(
        "FORM-DATA-APPENDED",
        "error",
        "data was added after the last signature",
        "ask for the signed form again, unmodified",
    ),
    Code(
        "FORM-SIGNER-UNTRUSTED",
        "error",
        "a signer does not chain to a CA in trusted_roots",
        "ask for a signature with a qualified certificate from a trusted CA",
    ),
    Code(
        "FORM-SIGNER-NOT-ENTITY",
        "error",
        "no signer is the entity",
        "ask the entity itself to sign the form",
    ),
    Code(
        "FORM-TOO-MANY-REVISIONS",
        "error",
        "the PDF holds more incremental updates than a signed form has",
        "ask the entity for the form as it signed it",
    ),
    Code(
        "FORM-FIELD-MISSING",
        "error",
        "the signed form lacks a field the catalog names (form_fields)",
        "ask the entity to sign the current form, filled in",
    ),
    Code(
        "FORM-FIELD-MISMATCH",
        "error",
        "a field of the signed revision says something else than the file",
        "fix the file, or ask the entity to sign a form with these values",
    ),
)
def signed_forms(sources: Sequence[Source], ctx: RuleContext) -> Iterator[Finding]:
    """The form is a PDF signed by the entity of the register, intact, whole, trusted, and (when
    the catalog names its fields) saying what the file says.

    A set rule so that the forms that miss the cache can be checked in parallel.
    """

    from provisioner.documents.form import MAX_FORM_BYTES, FormJob, Parties, check_forms

    jobs: list[FormJob] = []
    owners: list[Source] = []
    for src in sources:
        path = ctx.files.usable(src.folder, src.integration.form)
        if path is None:
            continue
        try:
            data = ctx.read(path, MAX_FORM_BYTES)
        except TooLarge:
            limit = MAX_FORM_BYTES // (1024 * 1024)
            yield _place(
                src,
                "form",
                Finding(
                    "error",
                    "FORM-UNREADABLE",
                    f"the file is larger than {limit} MB; is it the form?",
                ),
                "form",
            )
            continue
        except OSError as exc:
            problem = Finding("error", "FORM-UNREADABLE", f"the file cannot be read ({exc})")
            yield _place(src, "form", problem, "form")
            continue
        form = FileDigest(path, digest(data), len(data))
        _keep(ctx, src, replace(_read_so_far(ctx, src), form=form))
        # The entity as the register knows it, never as the pull request spells it.
        entity, provider = src.integration.entity, src.integration.provider
        registered = ctx.catalog.eligible_by_ine10.get(entity.ine10)
        if registered is None:
            continue  # ENTITY-NOT-ELIGIBLE says why; no signer can be the entity
        parties = Parties(registered.nif, registered.name, provider.nif, provider.name)
        jobs.append(FormJob(data, parties))
        owners.append(src)
    if not jobs:
        return
    trust_users(ctx).update(src.rel for src in owners)
    edges = ctx.edges
    verdicts = check_forms(
        jobs,
        lambda: trust(ctx).der,  # read only when some form is not known
        edges.form_verdicts,
        edges.check_forms,
        ctx.now.timestamp(),
        trust=trust_key(ctx),
    )
    signers: dict[str, tuple[str, ...]] = ctx.memo.setdefault(FORM_SIGNERS_MEMO, {})
    kept: dict[str, FormVerdict] = ctx.memo.setdefault(FORM_VERDICT_MEMO, {})
    verified: dict[str, tuple[str, ...]] = ctx.memo.setdefault(FORM_VERIFIED_MEMO, {})
    for src, job, verdict in zip(owners, jobs, verdicts, strict=True):
        signers[src.rel] = verdict.signers
        kept[src.rel] = verdict
        for finding in verdict.findings:
            yield _place(src, "form", finding, "form")
        if verdict.entity_match is None or any(f.severity == "error" for f in verdict.findings):
            continue
        problems, compared = _field_problems(src, ctx, dict(verdict.fields))
        yield from problems
        if not problems:
            verified[src.rel] = _verified(job.parties, verdict.entity_match, compared)


@set_rule(
    Code(
        "FORM-REUSED",
        "error",
        "the same signed form (SHA-256) is the form of several integrations",
        "each integration needs the form the entity signed for it",
    ),
)
def forms_unique(files: Sequence[Facts], ctx: RuleContext) -> Iterator[Finding]:
    """One signed form authorises one integration: the same PDF in two integrations is refused.

    Reusing a form would grant another certificate and other IPs on the strength of a
    signature given for something else. Compares the forms' SHA-256 that the form rule read.
    """
    uses: dict[str, list[Facts]] = {}
    for src in files:
        if src.form_sha256 is not None:
            uses.setdefault(src.form_sha256, []).append(src)
    for digest, users in uses.items():
        for src in users if len(users) > 1 else ():
            others = ", ".join(o.rel for o in users if o is not src)
            yield error(
                src.rel,
                *src.at("form"),
                "FORM-REUSED",
                f"form: this signed form (SHA-256 {digest[:16]}…) is also the form of {others}; "
                "each integration needs the form the entity signed for it",
            )


_FIELD_LABELS = {
    "provider_nif": "provider NIF",
    "ips": "IPs",
    "cda_sha256": "CDA SHA-256",
    "cda_serial": "CDA serial",
}


def _verified(parties: Parties, match: str, compared: list[str]) -> tuple[str, ...]:
    """What was verified about a form, in words the plan shows."""
    how = (
        f"organizationIdentifier VATES-{parties.entity_nif}"
        if match == "organizationIdentifier"
        else f"organisation name (O) {parties.entity_name!r}, its certificate having no "
        "organizationIdentifier"
    )
    out = [
        "every signature intact, the last one covering the whole file, each signer from a "
        "trusted CA",
        f"signed by the entity of the register: {how}",
    ]
    if compared:
        out.append("fields of the signed revision match the file: " + ", ".join(compared))
    else:
        out.append("form fields not compared (catalog/service.yaml form_fields names none)")
    return tuple(out)


def _networks(text: str) -> set[str] | None:
    import ipaddress
    import re

    try:
        return {str(ipaddress.ip_network(p)) for p in re.split(r"[\s,;]+", text.strip()) if p}
    except ValueError:
        return None


def _hex(text: str) -> str:
    return "".join(c for c in text if c.isalnum()).lower().lstrip("0")


def _field_problems(
    src: Source, ctx: RuleContext, fields: dict[str, str]
) -> tuple[list[Finding], list[str]]:
    """The declared fields of the signed revision compared with the file."""
    declared = ctx.catalog.service.form_fields
    integ = src.integration
    problems: list[Finding] = []
    compared: list[str] = []
    identity = None
    for key, label in _FIELD_LABELS.items():
        name = getattr(declared, key)
        if name is None:
            continue
        value = fields.get(name)
        if value is None:
            problems.append(
                error(
                    src.rel,
                    *src.at("form"),
                    "FORM-FIELD-MISSING",
                    f"form: the signed form has no field {name!r} ({label}); ask the entity "
                    "to sign the current form, filled in",
                )
            )
            continue
        if key == "provider_nif":
            same = _hex(value) == _hex(integ.provider.nif)
            expected = integ.provider.nif
        elif key == "ips":
            same = _networks(value) == _networks(" ".join(integ.ips))
            expected = ", ".join(integ.ips)
        else:
            if identity is None:  # as the CDA rule read it (a kept verdict), else read now
                known = _read_so_far(ctx, src).identity
                identity = known or identity_in(ctx.files, src.folder, integ.cda)
            if identity is None:
                continue  # the CDA rules report it
            expected = identity.sha256 if key == "cda_sha256" else identity.serial
            same = _hex(value) == _hex(expected)
        if not same:
            problems.append(
                error(
                    src.rel,
                    *src.at("form"),
                    "FORM-FIELD-MISMATCH",
                    f"form: the entity signed {label} {value!r} in field {name!r}, but this file "
                    f"says {expected!r}; fix the file or ask the entity to sign a form with "
                    "these values",
                )
            )
        else:
            compared.append(label)
    return problems, compared
