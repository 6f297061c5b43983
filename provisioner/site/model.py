"""What goes on each page of the status site, computed purely from plain data.

The edge (`provisioner.site.build`) reads the checkout's validated integrations with their
certificate identities, the ledger branches (their tips and their history through
`provisioner.history`), and the plans for PRE and PRO; these functions turn that into the
pages' content. Nothing here touches git or the file system, and `now` is always given.

Every string that comes from a file, git or the ledger is hostile: the model keeps it as it
is and the templates escape it (Jinja2's autoescape).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from provisioner.history.timeline import (
    History,
    LedgerCommit,
    LedgerEvent,
    Timeline,
    applied_at,
)
from provisioner.vocabulary import ENVIRONMENT_NAMES

_INE10 = re.compile(r"\d{10}")
MONTHS_CA = (
    "gen.",
    "febr.",
    "març",
    "abr.",
    "maig",
    "juny",
    "jul.",
    "ag.",
    "set.",
    "oct.",
    "nov.",
    "des.",
)
CHART_MONTHS = 12


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What the site shows of one certificate (read from a CDA or from a ledger's APP config)."""

    sha256: str
    subject: str
    serial: str
    not_after: datetime


@dataclass(frozen=True, slots=True)
class RequestedIntegration:
    """One valid integration file of the checkout."""

    file: str
    fp: str
    ine10: str
    entity_name: str
    provider_nif: str
    provider_name: str
    environment: str
    ips: tuple[str, ...]
    modalities: tuple[str, ...]
    certificate: CertificateFacts | None


@dataclass(frozen=True, slots=True)
class LedgerState:
    """The last commit of one ledger branch (empty when the branch does not exist)."""

    tip: str | None = None
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    app_config: Mapping[str, Any] | None = None
    manifest: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PendingChange:
    """One entity in a plan: what applying would change for it, one line per fact."""

    ine10: str
    name: str
    kind: str  # new, integrated, removed
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """What `plan --env ENV` says, or why there is no plan."""

    environment: str
    available: bool
    has_changes: bool = False
    refused: bool = False
    changes: tuple[PendingChange, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    unavailable_reason: str = ""


@dataclass(frozen=True, slots=True)
class DriftSummary:
    """What a drift check of one environment's store found (None on the site: not checked)."""

    environment: str
    store: str
    drifting: bool
    lines: tuple[str, ...]
    error: str = ""  # the store could not be read: nothing is known


DRIFT_KINDS = {
    "missing-folder": "falta la carpeta",
    "missing-file": "falta el document",
    "different-file": "contingut diferent",
}


def drift_summary(report: Any) -> DriftSummary:
    """The site's view of a `provisioner.apply.drift.DriftReport`."""
    lines = tuple(f"{DRIFT_KINDS.get(i.kind, i.kind)}: {i.path} ({i.detail})" for i in report.items)
    return DriftSummary(report.environment, report.target, bool(report.items), lines)


@dataclass(frozen=True)
class SiteInputs:
    now: datetime
    head: str | None
    warning_days: int
    modalities: Mapping[str, str]  # catalog code -> description, in catalog order
    register: Mapping[str, str]  # INE10 -> registered name
    requested: Sequence[RequestedIntegration]
    history: History
    ledgers: Mapping[str, LedgerState]
    plans: Sequence[PlanSummary]
    validation_errors: int = 0
    validation_warnings: int = 0
    files_read: int = 0
    drift: Sequence[DriftSummary] | None = None


# ----------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class EntityRow:
    ine10: str
    name: str
    page: str
    providers: tuple[str, ...]
    integrations: int
    ips: int
    certificates: int
    since: str
    last_change: str


@dataclass(frozen=True, slots=True)
class EnvironmentOverview:
    environment: str
    tip: str | None
    rows: tuple[EntityRow, ...]

    @property
    def entities(self) -> int:
        return len(self.rows)

    @property
    def integrations(self) -> int:
        return sum(r.integrations for r in self.rows)

    @property
    def ips(self) -> int:
        return sum(r.ips for r in self.rows)

    @property
    def certificates(self) -> int:
        return sum(r.certificates for r in self.rows)


@dataclass(frozen=True, slots=True)
class Event:
    when: str  # as shown
    sort_key: str
    step: str  # Catalan label
    who: str
    what: str
    commit: str  # short SHA, or ""


@dataclass(frozen=True, slots=True)
class ProviderStory:
    """One integration (entity + provider) on its entity's page."""

    key: str
    provider_nif: str
    provider_name: str
    fp: str
    file: str
    requested: str  # the environment the file asks for, or why there is no file
    status: Mapping[str, str]  # env -> Catalan status
    present: Mapping[str, bool]  # env -> in the ledger's last commit
    events: tuple[Event, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PresenceRow:
    """One IP or modality: requested by the checkout, present in each ledger."""

    value: str
    detail: str
    requested: bool
    present: Mapping[str, bool]


@dataclass(frozen=True, slots=True)
class CertificateRow:
    ine10: str
    entity_name: str
    page: str
    provider: str
    subject: str
    serial: str
    sha256: str
    not_after: str  # YYYY-MM-DD
    days_left: int
    state: str  # caducat, caduca aviat, vigent
    where: str  # sol·licitat, PRE, PRO, comma-separated


@dataclass(frozen=True, slots=True)
class StoredDocument:
    environment: str
    folder: str
    name: str
    size: int | None
    sha256: str


@dataclass(frozen=True, slots=True)
class EntityPage:
    ine10: str
    name: str
    page: str
    providers: tuple[ProviderStory, ...]
    ips: tuple[PresenceRow, ...]
    modalities: tuple[PresenceRow, ...]
    certificates: tuple[CertificateRow, ...]
    documents: tuple[StoredDocument, ...]

    def count_in(self, env: str) -> int:
        """How many of its integrations the ledger of env holds."""
        return sum(1 for p in self.providers if p.present.get(env))


@dataclass(frozen=True, slots=True)
class ChartBar:
    label: str  # month, in Catalan
    year: int
    count: int
    in_window: bool  # some of it falls within the warning window
    x: int
    y: int
    height: int


@dataclass(frozen=True, slots=True)
class ExpiryChart:
    bars: tuple[ChartBar, ...]
    expired: int
    width: int
    height: int
    baseline: int
    bar_width: int
    maximum: int


@dataclass(frozen=True)
class Site:
    now: str
    head: str | None
    warning_days: int
    files_read: int
    requested_integrations: int
    requested_entities: int
    validation_errors: int
    validation_warnings: int
    environments: tuple[EnvironmentOverview, ...]
    entities: tuple[EntityPage, ...]
    certificates: tuple[CertificateRow, ...]  # every one, soonest expiry first
    expiring: tuple[CertificateRow, ...]  # expired or within the warning window
    chart: ExpiryChart
    plans: tuple[PlanSummary, ...]
    drift: tuple[DriftSummary, ...] | None
    warnings: tuple[str, ...]


# ----------------------------------------------------------------------------- helpers


def page_name(ine10: str) -> str:
    """The entity page's file name: the INE10 when it is one, else a digest (never a path)."""
    if _INE10.fullmatch(ine10):
        return f"entitat-{ine10}.html"
    return f"entitat-x{hashlib.sha256(ine10.encode()).hexdigest()[:16]}.html"


def parse_when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def show_when(text: str) -> str:
    """An ISO 8601 time as people read it: 2027-01-05 10:15 +01:00 (unparseable: as is)."""
    when = parse_when(text)
    if when is None:
        return text
    shown = f"{when:%Y-%m-%d %H:%M}"
    offset = when.strftime("%z")
    if offset:
        shown += f" {offset[:3]}:{offset[3:]}"
    return shown


def _sort_key(text: str) -> str:
    """A key that orders times written with different offsets (naive ones as UTC)."""
    when = parse_when(text)
    if when is None:
        return text
    offset = when.utcoffset() or timedelta(0)
    return (when.replace(tzinfo=None) - offset).isoformat()


def cidr(text: str) -> str:
    """An address or range as the ledger writes it (192.0.2.20 -> 192.0.2.20/32)."""
    try:
        return str(ipaddress.ip_network(text))
    except ValueError:
        return text


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def cert_state(days_left: int, warning_days: int) -> str:
    if days_left < 0:
        return "caducat"
    if days_left <= warning_days:
        return "caduca aviat"
    return "vigent"


def days_left(not_after: datetime, now: datetime) -> int:
    return (not_after - now).days


# ----------------------------------------------------------------------------- timeline


def _who(name: str, email: str) -> str:
    return f"{name} <{email}>" if email else name


def _access_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """What changed in a ledger record between two commits, in the auditor's words."""
    parts = []
    old_ips, new_ips = set(_strings(before.get("ips"))), set(_strings(after.get("ips")))
    if new_ips - old_ips:
        parts.append("IP afegides: " + ", ".join(sorted(new_ips - old_ips)))
    if old_ips - new_ips:
        parts.append("IP retirades: " + ", ".join(sorted(old_ips - new_ips)))
    old_mod = set(_strings(before.get("modalities")))
    new_mod = set(_strings(after.get("modalities")))
    if new_mod - old_mod:
        parts.append("modalitats concedides: " + ", ".join(sorted(new_mod - old_mod)))
    if old_mod - new_mod:
        parts.append("modalitats revocades: " + ", ".join(sorted(old_mod - new_mod)))
    if before.get("certificate") != after.get("certificate"):
        old, new = _text(before.get("certificate"), "?"), _text(after.get("certificate"), "?")
        parts.append(f"certificat {old[:12]} → {new[:12]}")
    for key, label in (
        ("fp", "FP"),
        ("environment", "entorn"),
        ("folder", "carpeta"),
        ("file", "fitxer"),
        ("provider_name", "nom del proveïdor"),
        ("entity", "nom de l'ens"),
    ):
        if before.get(key) != after.get(key):
            parts.append(f"{label}: {before.get(key, '-')} → {after.get(key, '-')}")
    return "; ".join(parts) or "registre modificat"


def _ledger_who(commit: LedgerCommit) -> str:
    return commit.trailers.get("CI-Actor", "")


def _ledger_what(commit: LedgerCommit) -> str:
    run = commit.trailers.get("CI-Run", "")
    source = commit.trailers.get("Source-Commit", "")
    facts = []
    if run.startswith("none"):
        facts.append("aplicat fora de CI")
    elif run:
        facts.append(f"execució de CI {run}")
    if source and not source.startswith("none"):
        facts.append(f"commit d'origen {source.split()[0][:12]}")
    return ", ".join(facts)


def _ledger_events(env: str, key: str | None, events: Sequence[LedgerEvent]) -> list[Event]:
    out = []
    previous: Mapping[str, Any] | None = None
    for event in events:
        c = event.commit
        record = (c.records or {}).get(key or "") if key else None
        when = applied_at(c)
        facts = _ledger_what(c)
        if event.kind in ("added", "added again"):
            step = f"provisionat a {env}" + (" de nou" if event.kind == "added again" else "")
            what = facts
        elif event.kind == "changed":
            step = f"accés canviat a {env}"
            change = _access_change(previous or {}, record or {})
            what = f"{change} ({facts})" if facts else change
        else:
            step = f"retirat de {env}"
            what = facts
        out.append(Event(show_when(when), _sort_key(when), step, _ledger_who(c), what, c.sha[:12]))
        if record is not None:
            previous = record
    return out


def timeline_events(tl: Timeline) -> tuple[Event, ...]:
    """Requested, approved, provisioned and access changes, oldest first."""
    events: list[Event] = []
    for ch in tl.changes:
        c = ch.commit
        events.append(
            Event(
                show_when(c.author_date),
                _sort_key(c.author_date),
                "sol·licitat",
                _who(c.author, c.author_email),
                c.subject,
                c.sha[:12],
            )
        )
        m = ch.approval.merge
        if m is None:
            events.append(
                Event(
                    show_when(c.committer_date),
                    _sort_key(c.committer_date),
                    "sense aprovació",
                    "",
                    "enviat directament a la branca principal: git no en registra l'aprovació",
                    c.sha[:12],
                )
            )
        else:
            events.append(
                Event(
                    show_when(m.committer_date),
                    _sort_key(m.committer_date),
                    "aprovat",
                    _who(m.author, m.author_email),
                    m.subject,
                    m.sha[:12],
                )
            )
    for p in tl.provisioned:
        events += _ledger_events(p.environment, tl.ref.key, p.events)
    # Stable: equal times keep the order request, approval, PRE, PRO.
    order = {id(e): i for i, e in enumerate(events)}
    events.sort(key=lambda e: (e.sort_key, order[id(e)]))
    # A merge approves several commits: show each approval once.
    seen: set[tuple[str, str]] = set()
    unique = []
    for e in events:
        if e.step == "aprovat":
            if (e.step, e.commit) in seen:
                continue
            seen.add((e.step, e.commit))
        unique.append(e)
    return tuple(unique)


# ----------------------------------------------------------------------------- building


def _records_by_entity(
    ledgers: Mapping[str, LedgerState],
) -> dict[str, dict[str, dict[str, Mapping[str, Any]]]]:
    """env -> INE10 -> key -> record, from each ledger's last commit."""
    out: dict[str, dict[str, dict[str, Mapping[str, Any]]]] = {}
    for env in ENVIRONMENT_NAMES:
        by: dict[str, dict[str, Mapping[str, Any]]] = {}
        for key, rec in ledgers.get(env, LedgerState()).records.items():
            ine10 = _text(rec.get("ine10")) or key.partition("/")[0]
            by.setdefault(ine10, {})[key] = rec
        out[env] = by
    return out


def _ledger_certificates(state: LedgerState) -> dict[tuple[str, str], dict[str, Any]]:
    """(INE10, SHA-256) -> the certificate entry of the ledger's APP configuration."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    cfg = state.app_config or {}
    for perm in cfg.get("permissions", []) if isinstance(cfg, Mapping) else []:
        if not isinstance(perm, Mapping):
            continue
        for cert in perm.get("certificates", []) or []:
            if isinstance(cert, Mapping) and isinstance(cert.get("sha256"), str):
                out[(_text(perm.get("ine10")), cert["sha256"])] = dict(cert)
    return out


def _ledger_modalities(state: LedgerState) -> dict[str, list[str]]:
    cfg = state.app_config or {}
    out: dict[str, list[str]] = {}
    for perm in cfg.get("permissions", []) if isinstance(cfg, Mapping) else []:
        if isinstance(perm, Mapping):
            out[_text(perm.get("ine10"))] = _strings(perm.get("modalities"))
    return out


@dataclass
class _Dates:
    since: dict[tuple[str, str], str] = field(default_factory=dict)  # (env, ine10) -> ISO
    last: dict[tuple[str, str], str] = field(default_factory=dict)


def _entity_dates(history: History) -> _Dates:
    dates = _Dates()
    for tl in history.timelines:
        ine10 = tl.ref.ine10 or ""
        for p in tl.provisioned:
            if p.first is None or p.removed is not None:
                continue
            k = (p.environment, ine10)
            first = applied_at(p.first.commit)
            last = applied_at(p.events[-1].commit)
            if k not in dates.since or _sort_key(first) < _sort_key(dates.since[k]):
                dates.since[k] = first
            if k not in dates.last or _sort_key(last) > _sort_key(dates.last[k]):
                dates.last[k] = last
    return dates


def _overview(
    env: str,
    state: LedgerState,
    entities: Mapping[str, Mapping[str, Mapping[str, Any]]],
    names: Mapping[str, str],
    dates: _Dates,
) -> EnvironmentOverview:
    rows = []
    for ine10 in sorted(entities):
        recs = entities[ine10]
        providers = tuple(sorted(_text(r.get("provider_name")) or key for key, r in recs.items()))
        ips = {ip for r in recs.values() for ip in _strings(r.get("ips"))}
        certs = {_text(r.get("certificate")) for r in recs.values() if r.get("certificate")}
        rows.append(
            EntityRow(
                ine10,
                names.get(ine10, ine10),
                page_name(ine10),
                providers,
                len(recs),
                len(ips),
                len(certs),
                show_when(dates.since.get((env, ine10), "")),
                show_when(dates.last.get((env, ine10), "")),
            )
        )
    return EnvironmentOverview(env, state.tip, tuple(rows))


def _status(tl: Timeline | None, env: str, present: bool) -> str:
    if tl is not None:
        p = next((p for p in tl.provisioned if p.environment == env), None)
        if p is not None and p.first is not None:
            if p.removed is not None:
                return f"retirat el {show_when(applied_at(p.removed.commit))}"
            return f"des del {show_when(applied_at(p.first.commit))}"
    return "hi és" if present else "no hi és"


def _chart(rows: Iterable[CertificateRow], now: datetime, warning_days: int) -> ExpiryChart:
    """Certificates expiring in each of the next 12 calendar months (this one first)."""
    width, height, top, bottom, left = 720, 220, 24, 40, 8
    slot = (width - 2 * left) // CHART_MONTHS
    bar_width = slot - 12
    counts = [0] * CHART_MONTHS
    expired = 0
    window_end = now + timedelta(days=warning_days)
    months = []
    for i in range(CHART_MONTHS):
        y, m = divmod(now.month - 1 + i, 12)
        months.append((now.year + y, m + 1))
    first = datetime(months[0][0], months[0][1], 1, tzinfo=now.tzinfo)
    for row in rows:
        if row.days_left < 0:
            expired += 1
            continue
        when = datetime.fromisoformat(row.not_after)
        idx = (when.year - first.year) * 12 + when.month - first.month
        if 0 <= idx < CHART_MONTHS:
            counts[idx] += 1
    maximum = max(counts) if any(counts) else 0
    usable = height - top - bottom
    bars = []
    for i, ((year, month), count) in enumerate(zip(months, counts, strict=True)):
        start = datetime(year, month, 1, tzinfo=now.tzinfo)
        bar = round(usable * count / maximum) if maximum else 0
        bars.append(
            ChartBar(
                MONTHS_CA[month - 1],
                year,
                count,
                count > 0 and start <= window_end,
                left + i * slot + 6,
                top + usable - bar,
                bar,
            )
        )
    return ExpiryChart(tuple(bars), expired, width, height, top + usable, bar_width, maximum)


def _cert_row(
    ine10: str,
    name: str,
    provider: str,
    facts: CertificateFacts,
    where: Sequence[str],
    now: datetime,
    warning_days: int,
) -> CertificateRow:
    left = days_left(facts.not_after, now)
    return CertificateRow(
        ine10,
        name,
        page_name(ine10),
        provider,
        facts.subject,
        facts.serial,
        facts.sha256,
        f"{facts.not_after:%Y-%m-%d}",
        left,
        cert_state(left, warning_days),
        ", ".join(where),
    )


def _facts_from_ledger(entry: Mapping[str, Any]) -> CertificateFacts | None:
    when = parse_when(_text(entry.get("not_after")))
    if when is None or when.tzinfo is None:
        return None
    return CertificateFacts(
        _text(entry.get("sha256")), _text(entry.get("subject")), _text(entry.get("serial")), when
    )


def build_site(inputs: SiteInputs) -> Site:
    """Every page's content."""
    now = inputs.now
    ledgers = {env: inputs.ledgers.get(env, LedgerState()) for env in ENVIRONMENT_NAMES}
    by_env = _records_by_entity(ledgers)
    requested_by_entity: dict[str, list[RequestedIntegration]] = {}
    for it in inputs.requested:
        requested_by_entity.setdefault(it.ine10, []).append(it)
    timelines_by_entity: dict[str, list[Timeline]] = {}
    unreadable = []
    for tl in inputs.history.timelines:
        if tl.ref.ine10 is None:
            unreadable.append(tl.ref)
            continue
        timelines_by_entity.setdefault(tl.ref.ine10, []).append(tl)

    # Names: the register's, else the ledger's, else the file's.
    names: dict[str, str] = {}
    for it in inputs.requested:
        names.setdefault(it.ine10, it.entity_name)
    for env in ENVIRONMENT_NAMES:
        for ine10, recs in by_env[env].items():
            for rec in recs.values():
                if _text(rec.get("entity")):
                    names[ine10] = _text(rec.get("entity"))
    for ine10, tls in timelines_by_entity.items():
        for tl in tls:
            if tl.ref.entity_name and ine10 not in names:
                names[ine10] = tl.ref.entity_name
    names.update({k: v for k, v in inputs.register.items() if k in names})

    dates = _entity_dates(inputs.history)
    overviews = tuple(
        _overview(env, ledgers[env], by_env[env], names, dates) for env in ENVIRONMENT_NAMES
    )
    ledger_certs = {env: _ledger_certificates(ledgers[env]) for env in ENVIRONMENT_NAMES}
    ledger_mods = {env: _ledger_modalities(ledgers[env]) for env in ENVIRONMENT_NAMES}

    all_entities = sorted(
        set(requested_by_entity)
        | set(timelines_by_entity)
        | {i for env in ENVIRONMENT_NAMES for i in by_env[env]}
    )
    pages = []
    every_cert: list[CertificateRow] = []
    for ine10 in all_entities:
        page = _entity_page(
            ine10,
            names.get(ine10, ine10),
            requested_by_entity.get(ine10, []),
            timelines_by_entity.get(ine10, []),
            {env: by_env[env].get(ine10, {}) for env in ENVIRONMENT_NAMES},
            ledgers,
            ledger_certs,
            ledger_mods,
            inputs,
        )
        pages.append(page)
        every_cert += page.certificates
    every_cert.sort(key=lambda r: (r.days_left, r.ine10, r.provider, r.sha256))
    expiring = tuple(r for r in every_cert if r.days_left <= inputs.warning_days)
    warnings = [w.message for w in inputs.history.warnings]
    warnings += [
        f"{ref.file}: no es pot llegir ({ref.problem or 'motiu desconegut'})" for ref in unreadable
    ]
    return Site(
        now=show_when(now.isoformat(timespec="minutes")),
        head=inputs.head,
        warning_days=inputs.warning_days,
        files_read=inputs.files_read,
        requested_integrations=len(inputs.requested),
        requested_entities=len(requested_by_entity),
        validation_errors=inputs.validation_errors,
        validation_warnings=inputs.validation_warnings,
        environments=overviews,
        entities=tuple(pages),
        certificates=tuple(every_cert),
        expiring=expiring,
        chart=_chart(every_cert, now, inputs.warning_days),
        plans=tuple(inputs.plans),
        drift=None if inputs.drift is None else tuple(inputs.drift),
        warnings=tuple(warnings),
    )


def _entity_page(
    ine10: str,
    name: str,
    requested: Sequence[RequestedIntegration],
    timelines: Sequence[Timeline],
    records: Mapping[str, Mapping[str, Mapping[str, Any]]],
    ledgers: Mapping[str, LedgerState],
    ledger_certs: Mapping[str, Mapping[tuple[str, str], Mapping[str, Any]]],
    ledger_mods: Mapping[str, Mapping[str, Sequence[str]]],
    inputs: SiteInputs,
) -> EntityPage:
    now, envs = inputs.now, ENVIRONMENT_NAMES
    by_key = {f"{it.ine10}/{it.provider_nif}": it for it in requested}
    tl_by_key = {tl.ref.key or tl.ref.file: tl for tl in timelines}
    keys = sorted(set(by_key) | set(tl_by_key) | {k for env in envs for k in records[env]})

    providers = []
    for key in keys:
        it, tl = by_key.get(key), tl_by_key.get(key)
        rec = next((records[env][key] for env in reversed(envs) if key in records[env]), {})
        ref = tl.ref if tl is not None else None
        provider_name = (
            (it.provider_name if it else None)
            or _text(rec.get("provider_name"))
            or (ref.provider_name if ref else None)
            or key.partition("/")[2]
        )
        notes = []
        if ref is not None and ref.problem:
            notes.append(f"el fitxer no es pot llegir: {ref.problem}")
        providers.append(
            ProviderStory(
                key,
                key.partition("/")[2],
                provider_name,
                (it.fp if it else None) or _text(rec.get("fp")) or (ref.fp if ref else "") or "",
                (it.file if it else None) or (ref.file if ref else None) or _text(rec.get("file")),
                it.environment if it else "ja no és al repositori",
                {env: _status(tl, env, key in records[env]) for env in envs},
                {env: key in records[env] for env in envs},
                timeline_events(tl) if tl is not None else (),
                tuple(notes),
            )
        )

    # IPs: requested by the files, present in each ledger.
    ip_owner: dict[str, set[str]] = {}
    ip_requested: set[str] = set()
    ip_present: dict[str, set[str]] = {env: set() for env in envs}
    for it in requested:
        for ip in map(cidr, it.ips):
            ip_requested.add(ip)
            ip_owner.setdefault(ip, set()).add(it.provider_name)
    for env in envs:
        for rec in records[env].values():
            for ip in _strings(rec.get("ips")):
                ip_present[env].add(ip)
                ip_owner.setdefault(ip, set()).add(_text(rec.get("provider_name")))
    ips = tuple(
        PresenceRow(
            ip,
            ", ".join(sorted(n for n in ip_owner[ip] if n)),
            ip in ip_requested,
            {env: ip in ip_present[env] for env in envs},
        )
        for ip in sorted(ip_owner)
    )

    wanted_mods = {m for it in requested for m in it.modalities}
    granted = {env: set(ledger_mods[env].get(ine10, ())) for env in envs}
    codes = [
        c for c in inputs.modalities if c in wanted_mods or any(c in g for g in granted.values())
    ]
    codes += sorted((wanted_mods | set().union(*granted.values())) - set(codes))
    modalities = tuple(
        PresenceRow(
            code,
            inputs.modalities.get(code, ""),
            code in wanted_mods,
            {env: code in granted[env] for env in envs},
        )
        for code in codes
    )

    # Certificates: the checkout's CDAs, and those the ledgers' APP configurations authorise.
    certs: dict[str, tuple[str, CertificateFacts, list[str]]] = {}
    for it in requested:
        if it.certificate is not None:
            entry = certs.setdefault(it.certificate.sha256, (it.provider_name, it.certificate, []))
            if "sol·licitat" not in entry[2]:
                entry[2].append("sol·licitat")
    for env in envs:
        for (owner, sha), cert in ledger_certs[env].items():
            if owner != ine10:
                continue
            facts = _facts_from_ledger(cert)
            if facts is None:
                continue
            provider = _text(cert.get("provider_name")) or _text(cert.get("provider"))
            certs.setdefault(sha, (provider, facts, []))[2].append(env)
    cert_rows = tuple(
        sorted(
            (
                _cert_row(ine10, name, prov, facts, where, now, inputs.warning_days)
                for prov, facts, where in certs.values()
            ),
            key=lambda r: (r.days_left, r.provider, r.sha256),
        )
    )

    documents = []
    for env in envs:
        folders = ledgers[env].manifest.get("folders", {})
        folders = folders if isinstance(folders, Mapping) else {}
        for folder in sorted({_text(r.get("folder")) for r in records[env].values()} - {""}):
            files = folders.get(folder, {})
            for fname, meta in sorted(files.items() if isinstance(files, Mapping) else ()):
                meta = meta if isinstance(meta, Mapping) else {}
                size = meta.get("size")
                documents.append(
                    StoredDocument(
                        env,
                        folder,
                        str(fname),
                        size if isinstance(size, int) and not isinstance(size, bool) else None,
                        _text(meta.get("sha256")),
                    )
                )
    return EntityPage(
        ine10,
        name,
        page_name(ine10),
        tuple(providers),
        ips,
        modalities,
        cert_rows,
        tuple(documents),
    )


# ----------------------------------------------------------------------------- plans


def _ips(items: Iterable[Any]) -> str:
    return ", ".join(f"{i.cidr} ({i.provider_name})" for i in items)


def plan_summary(plan: Any) -> PlanSummary:
    """The site's view of a `provisioner.plan.diff.Plan`."""
    changes = []
    for e in plan.entities:
        lines = []
        for p in e.providers_added:
            lines.append(f"proveïdor afegit: {p.name} ({p.nif}), FP {p.fp}")
        for p in e.providers_removed:
            lines.append(f"proveïdor retirat: {p.name} ({p.nif}), FP {p.fp}")
        if e.ips_added:
            lines.append("IP afegides: " + _ips(e.ips_added))
        if e.ips_removed:
            lines.append("IP retirades: " + _ips(e.ips_removed))
        if e.modalities_granted:
            lines.append("modalitats concedides: " + ", ".join(e.modalities_granted))
        if e.modalities_revoked:
            lines.append("modalitats revocades: " + ", ".join(e.modalities_revoked))
        for c in e.certificates_added:
            lines.append(
                f"certificat autoritzat: {c.provider_name}, sèrie {c.serial}, "
                f"caduca el {c.not_after[:10]}"
            )
        for c in e.certificates_removed:
            lines.append(f"certificat retirat: {c.provider_name}, sèrie {c.serial}")
        for f in e.folders_to_create:
            lines.append(f"carpeta nova: {f}")
        for a in e.files_to_create:
            lines.append(f"document a desar: {'/'.join(a.folder)}/{a.name}")
        lines += [f"registre: {r}" for r in e.record_changes]
        changes.append(PendingChange(e.ine10, e.name, e.kind, tuple(lines)))
    return PlanSummary(
        environment=plan.environment,
        available=True,
        has_changes=plan.has_changes,
        refused=plan.refused,
        changes=tuple(changes),
        counts=dict(plan.counts()),
        errors=tuple(f"{p.code}: {p.message}" for p in plan.errors),
        warnings=tuple(w.as_line() for w in plan.warnings),
    )


def no_plan(env: str, reason: str) -> PlanSummary:
    return PlanSummary(environment=env, available=False, unavailable_reason=reason)
