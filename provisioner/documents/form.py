"""The signed integration form: verified with pyHanko, offline, with a local cache of verdicts.

The form must be a PDF signed by the ENTITY (not the provider): every signature intact, the last
one covering the whole file, no disallowed change after signing, each signer chaining to a CA in
the catalog's trusted_roots. Nothing is fetched from the network: no OCSP, no CRL, no AIA, so a
revoked signer certificate is not detected here.

pyHanko is slow to import (~0.6 s) and each check costs tens of milliseconds, so:
- it is imported only when a form actually needs checking;
- verdicts can be remembered by a VerdictCache, keyed by the SHA-256 of the form, of the trust
  configuration and of the parties the form must name (the edge keeps them in local files:
  provisioner.runtime);
- many misses can be checked by a FormChecker the edge lends (a process pool).
Nothing here writes files, reads the environment or starts processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from provisioner.diagnostics import Finding
from provisioner.documents.window import window_holds

CACHE_VERSION = 5
MAX_FORM_BYTES = 32 * 1024 * 1024
#: A form is signed once or twice; each revision makes pyHanko's change analysis slower (it
#: compares revisions pairwise), so a PDF with many incremental updates is refused up front.
MAX_FORM_REVISIONS = 20
#: Fields read from the signed revision: enough for any form, bounded for hostile ones.
MAX_FORM_FIELDS = 200
MAX_FIELD_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Parties:
    """Who the form is about: it must be signed by the entity, not by the provider."""

    entity_nif: str
    entity_name: str
    provider_nif: str
    provider_name: str


@dataclass(frozen=True, slots=True)
class FormVerdict:
    findings: tuple[Finding, ...]
    # Unix time after which the verdict may change (a signer certificate expires); None: never.
    recheck_after: float | None = None
    # Who signed, as their certificates name them: shown to the head of service in the plan.
    signers: tuple[str, ...] = ()
    # When it was made (Unix time), and every validity bound (not before, not after) of the
    # signers' and trusted CAs' certificates: it holds while no bound lies between then and now.
    checked_at: float | None = None
    bounds: tuple[float, ...] = ()
    # How the entity's signature was tied to the register: "organizationIdentifier" or "name".
    entity_match: str | None = None
    # The text fields (name -> value) of the revision the entity signed.
    fields: tuple[tuple[str, str], ...] = ()

    def holds_at(self, now: float) -> bool:
        if self.checked_at is None:
            return self.recheck_after is None or now < self.recheck_after
        return window_holds(self.bounds, self.checked_at, now)


@dataclass(frozen=True, slots=True)
class FormJob:
    data: bytes
    parties: Parties
    moment: float | None = None  # the time to check at (Unix time); None: now


# --- the check itself ----------------------------------------------------------------------


def _quiet_pyhanko() -> None:
    # pyHanko logs full tracebacks for every failed validation; the findings already say it.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = False


_pyhanko_loaded = False


def load_pyhanko() -> None:
    """Import what checking needs (done before forking workers, so they inherit it)."""
    global _pyhanko_loaded
    if _pyhanko_loaded:  # called for every form: the checks below cost ~0.5 ms each time
        return
    _pyhanko_loaded = True
    import pyhanko.sign.validation  # noqa: F401
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: F401
    from pyhanko_certvalidator import ValidationContext  # noqa: F401

    from provisioner.documents.pdf_hex import install

    install()  # signatures' hex strings read at once (half of a form's check)
    _quiet_pyhanko()


_anchor_memo: dict[str, list[Any]] = {}


def _asn1_anchors(anchors_der: Sequence[bytes]) -> list[Any]:
    from asn1crypto import x509 as asn1_x509

    key = trust_digest(anchors_der)
    if key not in _anchor_memo:
        _anchor_memo[key] = [asn1_x509.Certificate.load(der) for der in anchors_der]
    return _anchor_memo[key]


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _nif(text: str) -> str:
    return "".join(c for c in text.upper() if c.isalnum())


@dataclass(frozen=True, slots=True)
class SignerName:
    common_name: str | None
    organization: str | None
    organization_identifier: str | None

    @property
    def vat_nif(self) -> str | None:
        """The NIF in organizationIdentifier 'VATES-<NIF>', if that is what it holds."""
        ident = (self.organization_identifier or "").strip().upper()
        return _nif(ident[len("VATES-") :]) if ident.startswith("VATES-") else None

    def belongs_to(self, nif: str, name: str) -> bool:
        if self.organization_identifier:
            return self.vat_nif == _nif(nif)
        return self.organization is not None and _normal(self.organization) == _normal(name)

    def describe(self) -> str:
        parts = [
            f"{label}={value}"
            for label, value in (
                ("CN", self.common_name),
                ("O", self.organization),
                ("organizationIdentifier", self.organization_identifier),
            )
            if value
        ]
        return ", ".join(parts) or "a certificate with an empty subject"


def signer_name(der: bytes) -> tuple[SignerName, float | None]:
    """The signer's names, and the end of its certificate's validity (Unix time)."""
    name, validity = _signer(der)
    return name, validity[1] if validity else None


def _signer(der: bytes) -> tuple[SignerName, tuple[float, float] | None]:
    """The names and validity bounds (not before, not after) of a signer's certificate."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return SignerName(None, None, None), None

    def first(oid: x509.ObjectIdentifier) -> str | None:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    return (
        SignerName(
            first(NameOID.COMMON_NAME),
            first(NameOID.ORGANIZATION_NAME),
            first(NameOID.ORGANIZATION_IDENTIFIER),
        ),
        (cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()),
    )


def signer_names(data: bytes) -> list[str]:
    """Who signed a form, as the signer certificates name them; [] when it cannot be read.

    This only reads names (for the desk's messages): check_form verifies the signatures, their
    trust and that the signer is the entity.
    """
    try:
        load_pyhanko()
        from pyhanko.pdf_utils.reader import PdfFileReader

        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = list(reader.embedded_regular_signatures)
        return [signer_name(sig.signer_cert.dump())[0].describe() for sig in signatures]
    except Exception:  # any damaged PDF: the message falls back to pointing at `validate`
        return []


def _err(code: str, message: str) -> Finding:
    return Finding("error", code, message)


def check_form(
    data: bytes,
    anchors_der: Sequence[bytes],
    parties: Parties,
    moment: float | None = None,
    *,
    fast: bool = True,
) -> FormVerdict:
    """Every problem of a signed form at moment (Unix time; default now); never raises.

    fast=False has pyHanko validate every signature, even those signature_proof can prove
    good (the tests compare both).
    """
    at = time.time() if moment is None else moment
    verdict = _check_form(data, anchors_der, parties, at, fast)
    return replace(verdict, checked_at=at)


def _check_form(
    data: bytes, anchors_der: Sequence[bytes], parties: Parties, moment: float, fast: bool
) -> FormVerdict:
    if b"%PDF-" not in data[:1024]:
        return FormVerdict(
            (_err("FORM-NOT-PDF", "the file is not a PDF; commit the signed form as a PDF"),)
        )
    # Counted before parsing: reading thousands of cross-reference sections is slow too.
    markers = data.count(b"%%EOF")
    if markers > MAX_FORM_REVISIONS:
        return _too_many(markers)
    load_pyhanko()
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        encrypted = reader.encrypted
    except Exception as exc:  # hostile or damaged input: pyHanko raises many kinds
        return FormVerdict(
            (_err("FORM-UNREADABLE", f"the PDF cannot be read ({_short(exc)}); ask for it again"),)
        )
    if encrypted:
        return FormVerdict(
            (
                _err(
                    "FORM-ENCRYPTED",
                    "the PDF is encrypted (password-protected); ask the entity to sign a copy "
                    "without a password",
                ),
            )
        )
    try:
        signatures = list(reader.embedded_regular_signatures)
    except Exception as exc:  # damaged signature fields
        return FormVerdict(
            (_err("FORM-UNREADABLE", f"the PDF's signature fields cannot be read ({_short(exc)})"),)
        )
    revisions = _revisions(reader, data)
    if revisions > MAX_FORM_REVISIONS:
        return _too_many(revisions)
    if not signatures:
        return FormVerdict(
            (
                _err(
                    "FORM-UNSIGNED",
                    "the form has no digital signature; the entity must sign it digitally "
                    "(ask for it with `hestia-provisioner message request-info FILE`)",
                ),
            )
        )
    return _check_signatures(data, signatures, anchors_der, parties, moment, fast)


def _too_many(revisions: int) -> FormVerdict:
    return FormVerdict(
        (
            _err(
                "FORM-TOO-MANY-REVISIONS",
                f"the PDF holds {revisions} revisions (incremental updates), more than "
                f"{MAX_FORM_REVISIONS}; a signed form has a few: ask the entity for the form as "
                "it signed it",
            ),
        )
    )


def _revisions(reader: Any, data: bytes) -> int:
    """How many revisions the PDF holds (its xref sections, or at least its %%EOF markers)."""
    try:
        counted = int(reader.xrefs.total_revisions)
    except Exception:  # a damaged cross-reference table: count the markers instead
        counted = 0
    return max(counted, data.count(b"%%EOF"))


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _validity(der: bytes) -> tuple[float, float] | None:
    """A certificate's not-before and not-after (Unix time), or None when it cannot be read."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    return cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()


_anchor_bounds_memo: dict[str, tuple[float, ...]] = {}


def _anchor_bounds(anchors_der: Sequence[bytes]) -> tuple[float, ...]:
    key = trust_digest(anchors_der)
    if key not in _anchor_bounds_memo:
        found = (_validity(der) for der in anchors_der)
        _anchor_bounds_memo[key] = tuple(b for pair in found if pair for b in pair)
    return _anchor_bounds_memo[key]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What validation found about one signature (by pyHanko, or proven by signature_proof)."""

    intact: bool  # the signature is valid and the signed bytes unchanged
    modified: bool  # a change after signing that the signature does not allow
    whole_file: bool  # it covers the whole file
    trust_problem: str | None  # why its signer is not trusted; None: trusted


_PROVEN = _Outcome(intact=True, modified=False, whole_file=True, trust_problem=None)


def _pyhanko_outcome(sig: Any, anchors_der: Sequence[bytes], moment: float) -> _Outcome:
    """pyHanko's full validation of one signature (raises on malformed signatures)."""
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    usage = KeyUsageConstraints(
        key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
    )
    context = ValidationContext(
        trust_roots=_asn1_anchors(anchors_der),
        allow_fetching=False,
        moment=datetime.fromtimestamp(moment, UTC),
    )
    status = validate_pdf_signature(sig, context, key_usage_settings=usage)
    level = status.modification_level
    return _Outcome(
        intact=bool(status.intact and status.valid),
        modified=status.docmdp_ok is False or level == ModificationLevel.OTHER,
        whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        trust_problem=None if status.trusted else _trust_problem(status),
    )


_trust_memo: dict[str, Any] = {}


def _trust(anchors_der: Sequence[bytes]) -> Any:
    """The trusted CAs as signature_proof uses them, parsed once per process."""
    from provisioner.documents.signature_proof import Trust

    key = trust_digest(anchors_der)
    if key not in _trust_memo:
        _trust_memo.clear()  # one catalog per run
        _trust_memo[key] = Trust(anchors_der)
    return _trust_memo[key]


def _outcome(sig: Any, anchors_der: Sequence[bytes], moment: float, fast: bool) -> _Outcome:
    """Proven directly when signature_proof can, else pyHanko's verdict (which may raise)."""
    if fast:
        from provisioner.documents.signature_proof import prove

        if prove(sig, _trust(anchors_der), moment) is not None:
            return _PROVEN
    return _pyhanko_outcome(sig, anchors_der, moment)


def _embedded_bounds(sig: Any) -> tuple[float, ...]:
    """Validity bounds of the other certificates the signature carries (a chain through an
    embedded CA changes verdict when that CA expires)."""
    found: list[float] = []
    with contextlib.suppress(Exception):  # no certificate to read: nothing to bound
        for cert in sig.other_embedded_certs:
            found += _validity(cert.dump()) or ()
    return tuple(found)


def _check_signatures(
    data: bytes,
    signatures: Sequence[Any],
    anchors_der: Sequence[bytes],
    parties: Parties,
    moment: float,
    fast: bool = True,
) -> FormVerdict:
    findings: list[Finding] = []
    signers: list[SignerName] = []
    entity_sig: Any = None
    entity: SignerName | None = None
    covers_file = False
    recheck: list[float] = []
    bounds = _anchor_bounds(anchors_der)
    for number, sig in enumerate(signatures, start=1):
        label = f"signature {number} ({sig.field_name})" if len(signatures) > 1 else "the signature"
        try:
            name, validity = _signer(sig.signer_cert.dump())
        except Exception:  # an unreadable SignedData has no certificate to name
            name, validity = SignerName(None, None, None), None
        if validity is not None:
            recheck.append(validity[1])
            bounds += validity
        bounds += _embedded_bounds(sig)
        try:
            outcome = _outcome(sig, anchors_der, moment, fast)
        except Exception as exc:  # malformed signature dictionaries, unsupported algorithms
            findings.append(
                _err(
                    "FORM-SIGNATURE-BROKEN",
                    f"{label} cannot be verified ({_short(exc)}); ask the entity to sign again",
                )
            )
            continue
        signers.append(name)
        if name.belongs_to(parties.entity_nif, parties.entity_name):
            entity_sig, entity = sig, name
        if not outcome.intact:
            findings.append(
                _err(
                    "FORM-SIGNATURE-BROKEN",
                    f"{label} by {name.describe()} does not match the document: it was changed "
                    "after signing or the signature is damaged; ask the entity to sign again",
                )
            )
            continue
        if outcome.modified:
            findings.append(
                _err(
                    "FORM-MODIFIED",
                    f"the document was modified after {label} by {name.describe()} in a way a "
                    "signature does not allow; ask the entity for the form as it signed it",
                )
            )
        elif outcome.whole_file:
            covers_file = True
        if outcome.trust_problem is not None:
            findings.append(
                _err(
                    "FORM-SIGNER-UNTRUSTED",
                    f"{label} by {name.describe()} is not trusted: {outcome.trust_problem}; "
                    "ask for a form signed with a current certificate from a CA in "
                    "catalog/service.yaml trusted_roots",
                )
            )
    broken = any(f.code in ("FORM-SIGNATURE-BROKEN", "FORM-MODIFIED") for f in findings)
    if not covers_file and not broken:
        findings.append(
            _err(
                "FORM-DATA-APPENDED",
                "data was added after the last signature, so the signature does not cover the "
                "whole file; ask the entity for the form exactly as it signed it",
            )
        )
    match = None
    fields: tuple[tuple[str, str], ...] = ()
    if signers and entity_sig is None:
        findings.append(_not_entity(signers, parties))
    elif entity_sig is not None and entity is not None:
        match = "organizationIdentifier" if entity.organization_identifier else "name"
        fields = signed_fields(data, entity_sig)
    return FormVerdict(
        tuple(findings),
        min(recheck) if recheck else None,
        tuple(s.describe() for s in signers),
        bounds=bounds,
        entity_match=match,
        fields=fields,
    )


def signed_fields(data: bytes, sig: Any) -> tuple[tuple[str, str], ...]:
    """The text fields of the revision a signature covers, read from exactly those bytes.

    Later incremental updates (form filling that a signature may allow) cannot change what the
    entity signed: only the bytes up to the end of the signed byte range are parsed.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        _start, _len1, start2, len2 = (int(v) for v in sig.byte_range)
        end = start2 + len2
        # Signed up to the end of the file: the signature's own reader read exactly these bytes.
        reader = (
            sig.reader if end == len(data) else PdfFileReader(io.BytesIO(data[:end]), strict=False)
        )
        acroform = reader.root.get("/AcroForm")
        pending = list(acroform.get("/Fields", [])) if acroform is not None else []
    except Exception:  # no readable form in the signed revision: no fields
        return ()
    found: dict[str, str] = {}
    seen = 0
    while pending and seen < MAX_FORM_FIELDS * 4:
        seen += 1
        try:
            field = pending.pop().get_object()
            kids = field.get("/Kids")
            if kids is not None:
                pending.extend(list(kids)[:MAX_FORM_FIELDS])
            name, value = field.get("/T"), field.get("/V")
        except Exception:  # one damaged field is skipped
            name = value = None
        if isinstance(name, str) and isinstance(value, str) and len(found) < MAX_FORM_FIELDS:
            found[name[:MAX_FIELD_CHARS]] = value[:MAX_FIELD_CHARS]
    return tuple(sorted(found.items()))


_TRUST_PROBLEMS = {
    "NO_CERTIFICATE_CHAIN_FOUND": "its certificate does not chain to a CA in trusted_roots",
    "OUT_OF_BOUNDS_NO_POE": "its certificate is expired or not yet valid",
    "OUT_OF_BOUNDS_NOT_REVOKED": "its certificate is expired or not yet valid",
    "REVOKED_NO_POE": "its certificate is revoked",
    "CHAIN_CONSTRAINTS_FAILURE": (
        "its certificate breaks a constraint of its chain or of signing (for example a key "
        "usage without digital signature or non-repudiation)"
    ),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "it uses an algorithm that is no longer accepted",
    "SIG_CONSTRAINTS_FAILURE": "its certificate's key usage does not allow signing documents",
}


def _trust_problem(status: Any) -> str:
    """pyHanko's AdES sub-indication, in words."""
    indication = getattr(status, "trust_problem_indic", None)
    name = str(getattr(indication, "name", indication or ""))
    if name in _TRUST_PROBLEMS:
        return _TRUST_PROBLEMS[name]
    if not name:
        return "its certificate does not chain to a CA in trusted_roots"
    return name.replace("_", " ").lower()


def _not_entity(signers: Sequence[SignerName], parties: Parties) -> Finding:
    who = "; ".join(s.describe() for s in signers)
    by_provider = any(s.belongs_to(parties.provider_nif, parties.provider_name) for s in signers)
    whose = f" (the provider, {parties.provider_name})" if by_provider else ""
    return _err(
        "FORM-SIGNER-NOT-ENTITY",
        f"the form is signed by {who}{whose}, not by the entity {parties.entity_name} "
        f"({parties.entity_nif}); the entity itself must sign it (certificate with "
        f"organizationIdentifier VATES-{parties.entity_nif} or O={parties.entity_name})",
    )


# --- cache -----------------------------------------------------------------------------------


def trust_digest(anchors_der: Sequence[bytes]) -> str:
    h = hashlib.sha256()
    for der in anchors_der:
        h.update(hashlib.sha256(der).digest())
    return h.hexdigest()


def cache_key(data: bytes, trust: str, parties: Parties) -> str:
    material = json.dumps(
        [
            CACHE_VERSION,
            hashlib.sha256(data).hexdigest(),
            trust,
            parties.entity_nif,
            parties.entity_name,
            parties.provider_nif,
            parties.provider_name,
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def verdict_to_json(verdict: FormVerdict) -> dict[str, Any]:
    """A verdict as a cache stores it."""
    return {
        "version": CACHE_VERSION,
        "recheck_after": verdict.recheck_after,
        "checked_at": verdict.checked_at,
        "bounds": list(verdict.bounds),
        "signers": list(verdict.signers),
        "entity_match": verdict.entity_match,
        "fields": [list(f) for f in verdict.fields],
        "findings": [
            {"severity": f.severity, "code": f.code, "message": f.message} for f in verdict.findings
        ],
    }


def verdict_from_json(raw: Any, now: float) -> FormVerdict | None:
    """The stored verdict, or None when stale or damaged in any way (a damaged entry is a miss)."""
    if not isinstance(raw, dict) or raw.get("version") != CACHE_VERSION:
        return None
    recheck, checked_at, bounds = raw.get("recheck_after"), raw.get("checked_at"), raw.get("bounds")
    if not (
        (recheck is None or isinstance(recheck, int | float))
        and (checked_at is None or isinstance(checked_at, int | float))
        and isinstance(bounds, list)
        and all(isinstance(b, int | float) for b in bounds)
    ):
        return None
    items = raw.get("findings")
    if not isinstance(items, list):
        return None
    findings: list[Finding] = []
    for item in items:
        if not (
            isinstance(item, Mapping)
            and item.get("severity") in ("error", "warning")
            and isinstance(item.get("code"), str)
            and isinstance(item.get("message"), str)
        ):
            return None
        findings.append(Finding(item["severity"], item["code"], item["message"]))
    signers = raw.get("signers")
    if not (isinstance(signers, list) and all(isinstance(s, str) for s in signers)):
        return None
    match = raw.get("entity_match")
    fields = raw.get("fields")
    if not (match is None or isinstance(match, str)) or not (
        isinstance(fields, list)
        and all(
            isinstance(f, list) and len(f) == 2 and all(isinstance(v, str) for v in f)
            for f in fields
        )
    ):
        return None
    verdict = FormVerdict(
        tuple(findings),
        recheck,
        tuple(signers),
        checked_at,
        tuple(bounds),
        entity_match=match,
        fields=tuple((k, v) for k, v in fields),
    )
    return verdict if verdict.holds_at(now) else None


class VerdictCache(Protocol):
    """Verdicts remembered across runs, by cache_key (the edge decides where)."""

    def get(self, key: str, now: float) -> FormVerdict | None: ...

    def put_many(self, items: Sequence[tuple[str, FormVerdict]]) -> None:
        """Remember every (key, verdict) of a run (at once: one write for all)."""


# --- many forms --------------------------------------------------------------------------------


#: Checks many forms with the same trusted CAs, verdicts in the jobs' order.
FormChecker = Callable[[Sequence[FormJob], tuple[bytes, ...]], list[FormVerdict]]


def check_serially(jobs: Sequence[FormJob], anchors_der: tuple[bytes, ...]) -> list[FormVerdict]:
    return [check_form(job.data, anchors_der, job.parties, job.moment) for job in jobs]


def check_forms(
    jobs: Sequence[FormJob],
    anchors_der: Sequence[bytes] | Callable[[], Sequence[bytes]],
    cache: VerdictCache | None = None,
    checker: FormChecker | None = None,
    now: float | None = None,
    *,
    trust: str | None = None,
) -> list[FormVerdict]:
    """The verdict for each job at now (Unix time; default the clock's): cached, else computed.

    anchors_der: the trusted CAs (DER), or what gives them (asked only when some form is not in
    the cache); trust: what names them in the cache's keys (default: their digest; a caller
    that has not parsed them gives a digest of the files they come from).
    """
    given = anchors_der

    def anchors() -> tuple[bytes, ...]:
        return tuple(given() if callable(given) else given)

    if trust is None:
        trust = trust_digest(anchors())
    now = time.time() if now is None else now
    jobs = [replace(job, moment=now) for job in jobs]
    verdicts: list[FormVerdict | None] = [None] * len(jobs)
    keys = [cache_key(job.data, trust, job.parties) for job in jobs]
    if cache is not None:
        for i, key in enumerate(keys):
            verdicts[i] = cache.get(key, now)
    missing = [i for i, v in enumerate(verdicts) if v is None]
    if missing:
        fresh = (checker or check_serially)([jobs[i] for i in missing], anchors())
        for i, verdict in zip(missing, fresh, strict=True):
            verdicts[i] = verdict
        if cache is not None:
            cache.put_many([(keys[i], verdict) for i, verdict in zip(missing, fresh, strict=True)])
    return [v for v in verdicts if v is not None]
