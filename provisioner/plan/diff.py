"""The plan: what applying the desired state would change, compared with the ledger.

Pure functions over plain data: the desired state, what the ledger's last commit holds, and
(for PRO) what the PRE ledger holds. Nothing here touches git or the file system.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from provisioner.diagnostics import Code, Finding, register_codes
from provisioner.plan.desired import DesiredState, canonical_json
from provisioner.plan.ledger_format import (
    MANIFEST_FILE,
    RECORDS_FILE,
    LedgerStep,
    LedgerView,
    app_file,
)

register_codes(
    "plan",
    Code(
        "PLAN-DOCUMENT-CHANGED",
        "error",
        "a stored document would be replaced by other content",
        "give the new file another name",
    ),
    Code(
        "PRO-NOT-IN-PRE",
        "error",
        "an integration goes to PRO without having been applied in PRE",
        "apply PRE first",
    ),
    Code(
        "PRO-PRE-OUTDATED",
        "error",
        "PRE was applied with other certificates, IPs or modalities",
        "apply PRE first so PRO gets what was tested",
    ),
    Code(
        "SAFETY",
        "warning",
        "the plan revokes more than the safety threshold",
        "check the plan; re-run with --force if the revocations are intended",
    ),
)

# octoDNS's rule, cumulative: refuse a plan that removes more than 30% of what the environment
# granted at any point of the window (the last applies, and every apply of the last days), so
# that small steps cannot empty it; below the floor, removals are always allowed (so that one
# integration can be removed from a small estate, but not most of it).
SAFETY_THRESHOLD = 0.30
SAFETY_FLOOR = 3
SAFETY_WINDOW_APPLIES = 5
SAFETY_WINDOW_DAYS = 7


@dataclass(frozen=True)
class CertInfo:
    sha256: str
    subject: str
    serial: str
    not_after: str
    provider: str
    provider_name: str
    fp: str

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> CertInfo:
        return cls(
            entry["sha256"],
            entry["subject"],
            entry["serial"],
            entry["not_after"],
            entry["provider"],
            entry.get("provider_name", entry["provider"]),
            entry.get("fp", ""),
        )

    def days_left(self, now: datetime) -> int:
        return (datetime.fromisoformat(self.not_after) - now).days


@dataclass(frozen=True)
class IpInfo:
    cidr: str
    provider: str
    provider_name: str
    fp: str


@dataclass(frozen=True)
class ProviderInfo:
    nif: str
    name: str
    fp: str
    folder: str
    form_signed_by: tuple[str, ...] = ()
    form_verified: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileAction:
    folder: tuple[str, ...]
    name: str
    source: str  # repository-relative path of the file to upload
    sha256: str
    size: int


EntityKind = Literal["new", "integrated", "removed"]


@dataclass
class EntityChange:
    ine10: str
    name: str
    kind: EntityKind
    providers_added: list[ProviderInfo] = field(default_factory=list)
    providers_removed: list[ProviderInfo] = field(default_factory=list)
    ips_added: list[IpInfo] = field(default_factory=list)
    ips_removed: list[IpInfo] = field(default_factory=list)
    modalities_granted: list[str] = field(default_factory=list)
    modalities_revoked: list[str] = field(default_factory=list)
    certificates_added: list[CertInfo] = field(default_factory=list)
    certificates_removed: list[CertInfo] = field(default_factory=list)
    folders_to_create: list[str] = field(default_factory=list)
    files_to_create: list[FileAction] = field(default_factory=list)
    record_changes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return any(
            (
                self.providers_added,
                self.providers_removed,
                self.ips_added,
                self.ips_removed,
                self.modalities_granted,
                self.modalities_revoked,
                self.certificates_added,
                self.certificates_removed,
                self.folders_to_create,
                self.files_to_create,
                self.record_changes,
            )
        )


@dataclass(frozen=True)
class SafetyMeasure:
    label: str
    existing: int
    removed: int
    since: str | None = None  # None: against the ledger's last commit; else the earlier apply

    @property
    def allowed(self) -> int:
        """How many may go without --force: 30%, but never fewer than the floor."""
        return max(int(SAFETY_THRESHOLD * self.existing), SAFETY_FLOOR)

    @property
    def tripped(self) -> bool:
        return self.removed > self.allowed

    def describe(self) -> str:
        when = f" since {self.since}" if self.since else ""
        return (
            f"revokes {self.removed} of {self.existing} {self.label}{when} "
            f"(more than {SAFETY_THRESHOLD:.0%} and more than {SAFETY_FLOOR})"
        )


@dataclass(frozen=True)
class Safety:
    measures: tuple[SafetyMeasure, ...]
    forced: bool

    @property
    def tripped(self) -> list[SafetyMeasure]:
        return [m for m in self.measures if m.tripped]

    @property
    def blocks(self) -> bool:
        return bool(self.tripped) and not self.forced


@dataclass
class Plan:
    environment: str
    entities: list[EntityChange]
    warnings: list[Finding]
    errors: list[Finding]
    safety: Safety
    folders_to_create: list[tuple[str, ...]]
    files_to_create: list[FileAction]
    ledger_docs: dict[str, Any]  # file name -> JSON data of the next ledger commit
    previous_tip: str | None
    has_changes: bool
    now: datetime
    expiry_days: int
    integrations: int  # how many integrations the environment holds after the plan

    @cached_property
    def ledger_files(self) -> dict[str, bytes]:
        """The next ledger commit's files, serialised (only apply needs the bytes)."""
        return {name: canonical_json(data) for name, data in self.ledger_docs.items()}

    def ledger_file(self, name: str) -> bytes:
        """One of ledger_files, without serialising the others when they were not needed yet
        (an apply with nothing to record writes only the APP configuration)."""
        made = self.__dict__.get("ledger_files")  # where cached_property keeps its value
        return made[name] if made is not None else canonical_json(self.ledger_docs[name])

    @property
    def refused(self) -> bool:
        return bool(self.errors) or self.safety.blocks

    def counts(self) -> dict[str, int]:
        def total(attr: str) -> int:
            return sum(len(getattr(e, attr)) for e in self.entities)

        return {
            "entities_new": sum(1 for e in self.entities if e.kind == "new"),
            "entities_changed": sum(
                1 for e in self.entities if e.kind == "integrated" and e.has_changes
            ),
            "entities_removed": sum(1 for e in self.entities if e.kind == "removed"),
            "providers_added": total("providers_added"),
            "integrations_removed": total("providers_removed"),
            "ips_added": total("ips_added"),
            "ips_removed": total("ips_removed"),
            "modalities_granted": total("modalities_granted"),
            "modalities_revoked": total("modalities_revoked"),
            "certificates_added": total("certificates_added"),
            "certificates_removed": total("certificates_removed"),
            "folders_to_create": len(self.folders_to_create),
            "files_to_create": len(self.files_to_create),
        }


# ----------------------------------------------------------------------------- diff


def _by_entity(entries: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for e in entries:
        out.setdefault(e["ine10"], []).append(e)
    return out


def _ip(entry: Mapping[str, Any]) -> IpInfo:
    return IpInfo(
        entry["cidr"], entry["provider"], entry.get("provider_name", entry["provider"]), entry["fp"]
    )


def _provider(record: Mapping[str, Any]) -> ProviderInfo:
    return ProviderInfo(
        record["provider"],
        record["provider_name"],
        record["fp"],
        record["folder"],
        tuple(record.get("form_signed_by", ())),
        tuple(record.get("form_verified", ())),
    )


_RECORD_FIELDS = (
    ("fp", "FP number"),
    ("environment", "environment"),
    ("folder", "SharePoint folder"),
    ("file", "integration file"),
    ("provider_name", "provider name"),
    ("entity", "entity name"),
)


def _record_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for key, label in _RECORD_FIELDS:
        if old.get(key) != new.get(key):
            out.append(
                f"{new['provider_name']}: {label} {old.get(key, '-')} -> {new.get(key, '-')}"
            )
    return out


def _known_files(manifests: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Mapping[str, Any]]]:
    known: dict[str, dict[str, Mapping[str, Any]]] = {}
    for manifest in manifests:
        for folder, files in manifest.get("folders", {}).items():
            known.setdefault(folder, {}).update(files)
    return known


def _documents(
    desired: DesiredState, own: Mapping[str, Any], other: Mapping[str, Any] | None
) -> tuple[list[tuple[str, ...]], list[FileAction], dict[str, Any], list[Finding]]:
    """Folders and files to create, the new manifest, and documents that changed content."""
    known = _known_files([own] + ([other] if other else []))
    # A copy of own to add to: its folders and their file lists are what changes (each file's
    # entry is replaced, never changed in place), so they are copied and nothing deeper.
    manifest: dict[str, Any] = dict(own) if own else {}
    folders_out: dict[str, Any] = {k: dict(v) for k, v in manifest.get("folders", {}).items()}
    manifest["folders"] = folders_out
    new_folders: list[tuple[str, ...]] = []
    new_files: list[FileAction] = []
    problems: list[Finding] = []
    for folder in desired.folders:
        stored = known.get(folder.key)
        if stored is None:
            new_folders.append(folder.path)
            stored = {}
        entry = folders_out.setdefault(folder.key, {})
        for doc in folder.files:
            before = stored.get(doc.name)
            if before is None:
                new_files.append(
                    FileAction(folder.path, doc.name, doc.source, doc.sha256, doc.size)
                )
            elif before["sha256"] != doc.sha256:
                problems.append(
                    Finding(
                        "error",
                        "PLAN-DOCUMENT-CHANGED",
                        f"{folder.key}/{doc.name} was stored with other content (sha256 "
                        f"{before['sha256'][:12]}...) and documents are never replaced: give "
                        f"the new file another name in {doc.source}'s integration file",
                        doc.source,
                    )
                )
                continue
            entry[doc.name] = {"sha256": doc.sha256, "size": doc.size}
    return new_folders, new_files, manifest, problems


def _promotion_problems(
    desired: DesiredState,
    previous: Mapping[str, Mapping[str, Any]],
    pre_records: Mapping[str, Mapping[str, Any]],
) -> list[Finding]:
    """PRO takes an integration only as PRE last applied it (the PRE ledger proves it)."""
    out = []
    for key, rec in sorted(desired.records.items()):
        if previous.get(key) == rec:
            continue
        pre = pre_records.get(key)
        what = f"{rec['entity']} ({rec['ine10']}) through {rec['provider_name']}"
        if pre is None:
            out.append(
                Finding(
                    "error",
                    "PRO-NOT-IN-PRE",
                    f"{what} was never applied in PRE: apply PRE first (the integration must "
                    "be tested in PRE before PRO)",
                    rec["file"],
                )
            )
            continue
        differs = [k for k in ("certificate", "ips", "modalities") if pre.get(k) != rec.get(k)]
        if differs:
            out.append(
                Finding(
                    "error",
                    "PRO-PRE-OUTDATED",
                    f"{what}: PRE was applied with other {', '.join(differs)}; apply PRE "
                    "first so PRO gets what was tested",
                    rec["file"],
                )
            )
    return out


def safety_window(steps: Sequence[LedgerStep], now: datetime) -> int:
    """Index of the oldest apply in the safety window (steps oldest first)."""
    start = max(0, len(steps) - SAFETY_WINDOW_APPLIES)
    since = now - timedelta(days=SAFETY_WINDOW_DAYS)
    for i, step in enumerate(steps[:start]):
        try:
            when = datetime.fromisoformat(step.applied_at)
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when >= since:
            return i
    return start


def _grants(cfg: Mapping[str, Any]) -> dict[str, set[Any]]:
    """What an APP configuration grants, counted the way the safety rule measures it."""
    return {
        "permissions (entities)": {p["ine10"] for p in cfg["permissions"]},
        "modality grants": {(p["ine10"], m) for p in cfg["permissions"] for m in p["modalities"]},
        "authorised certificates": {
            (p["ine10"], c["sha256"]) for p in cfg["permissions"] for c in p["certificates"]
        },
        "IP allowlist entries": {
            (e["cidr"], e["ine10"], e["provider"]) for e in cfg["ip_allowlist"]
        },
    }


def _safety(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    forced: bool,
    earlier: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> tuple[Safety, list[Finding]]:
    """Measure what new revokes against the last commit and against each earlier state.

    earlier: (label, APP configuration) of the states within the safety window.
    """
    after = _grants(new)
    measures: list[SafetyMeasure] = []
    for label, items in (after if old is new else _grants(old)).items():
        measures.append(SafetyMeasure(label, len(items), len(items - after[label])))
    grants: dict[int, dict[str, set[Any]]] = {}  # one count per distinct configuration
    for since, cfg in earlier:
        if id(cfg) not in grants:
            grants[id(cfg)] = _grants(cfg)
        for label, items in grants[id(cfg)].items():
            measure = SafetyMeasure(label, len(items), len(items - after[label]), since)
            if measure.tripped:
                measures.append(measure)
    safety = Safety(tuple(measures), forced)
    warnings = [
        Finding(
            "warning",
            "SAFETY",
            f"the plan {m.describe()}; "
            + (
                "applied anyway because of --force" if forced else "re-run with --force if intended"
            ),
        )
        for m in safety.tripped
    ]
    return safety, warnings


_EMPTY_CONFIG: Mapping[str, Any] = {"ip_allowlist": [], "permissions": []}


def make_plan(
    desired: DesiredState,
    ledger: LedgerView,
    *,
    now: datetime,
    expiry_days: int,
    warnings: Sequence[Finding] = (),
    other_ledger: LedgerView | None = None,
    pre_ledger: LedgerView | None = None,
    force: bool = False,
    expiry_warned: frozenset[str] = frozenset(),
    earlier_configs: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> Plan:
    """Compare desired with the ledger's last commit.

    other_ledger: the other environment's ledger (its documents already exist in the store).
    pre_ledger: for PRO, the PRE ledger that must hold every PRO integration.
    expiry_warned: integration files whose expiring CDA validation already warned about.
    earlier_configs: (label, APP configuration) of the ledger's states in the safety window.
    """
    old_cfg = ledger.app_config or _EMPTY_CONFIG
    new_cfg = desired.app_config
    # Most plans change little: what is equal as a whole is not compared entity by entity.
    same_cfg = ledger.app_config == new_cfg
    same_records = ledger.records == desired.records
    old_perm = {p["ine10"]: p for p in old_cfg["permissions"]}
    new_perm = {p["ine10"]: p for p in new_cfg["permissions"]}
    old_ips, new_ips = _by_entity(old_cfg["ip_allowlist"]), _by_entity(new_cfg["ip_allowlist"])
    old_recs = _by_entity(list(ledger.records.values()))
    new_recs = _by_entity(list(desired.records.values()))

    new_folders, new_files, manifest, problems = _documents(
        desired, ledger.manifest, other_ledger.manifest if other_ledger else None
    )
    folder_owner = {r["folder"]: r["ine10"] for r in desired.records.values()}
    owned_folders: dict[str | None, list[str]] = {}
    for path in new_folders:
        key = "/".join(path)
        owned_folders.setdefault(folder_owner.get(key), []).append(key)
    owned_files: dict[str | None, list[FileAction]] = {}
    for action in new_files:
        owned_files.setdefault(folder_owner.get("/".join(action.folder)), []).append(action)

    everyone = set(old_perm) | set(new_perm) | set(old_recs) | set(new_recs)
    if same_cfg and same_records:  # only the entities with documents to store can change
        everyone &= set(owned_folders) | set(owned_files)
    entities: list[EntityChange] = []
    for ine10 in sorted(everyone):
        before, after = old_perm.get(ine10), new_perm.get(ine10)
        if (
            before == after
            and old_ips.get(ine10) == new_ips.get(ine10)
            and old_recs.get(ine10) == new_recs.get(ine10)
            and ine10 not in owned_folders
            and ine10 not in owned_files
        ):
            continue  # the same entries before and after: nothing of this entity changes
        kind: EntityKind = "new" if before is None else "removed" if after is None else "integrated"
        name = (after or before or {}).get("name", ine10)
        change = EntityChange(ine10, name, kind)
        o_recs = {r["provider"]: r for r in old_recs.get(ine10, [])}
        n_recs = {r["provider"]: r for r in new_recs.get(ine10, [])}
        change.providers_added = [_provider(n_recs[k]) for k in sorted(set(n_recs) - set(o_recs))]
        change.providers_removed = [_provider(o_recs[k]) for k in sorted(set(o_recs) - set(n_recs))]
        for k in sorted(set(o_recs) & set(n_recs)):
            change.record_changes += _record_changes(o_recs[k], n_recs[k])
        o_ip = {(e["cidr"], e["provider"]): e for e in old_ips.get(ine10, [])}
        n_ip = {(e["cidr"], e["provider"]): e for e in new_ips.get(ine10, [])}
        change.ips_added = [_ip(e) for k, e in n_ip.items() if k not in o_ip]
        change.ips_removed = [_ip(e) for k, e in o_ip.items() if k not in n_ip]
        o_mod = list(before["modalities"]) if before else []
        n_mod = list(after["modalities"]) if after else []
        change.modalities_granted = [m for m in n_mod if m not in o_mod]
        change.modalities_revoked = [m for m in o_mod if m not in n_mod]
        o_cert = {(c["provider"], c["sha256"]): c for c in (before or {}).get("certificates", [])}
        n_cert = {(c["provider"], c["sha256"]): c for c in (after or {}).get("certificates", [])}
        change.certificates_added = [CertInfo.of(c) for k, c in n_cert.items() if k not in o_cert]
        change.certificates_removed = [CertInfo.of(c) for k, c in o_cert.items() if k not in n_cert]
        change.folders_to_create = owned_folders.get(ine10, [])
        change.files_to_create = owned_files.get(ine10, [])
        if change.has_changes:
            entities.append(change)

    if desired.environment == "PRO":
        problems += _promotion_problems(
            desired, ledger.records, pre_ledger.records if pre_ledger else {}
        )
    safety, safety_warnings = _safety(
        new_cfg if same_cfg else old_cfg, new_cfg, force, earlier_configs
    )
    warned = {r["certificate"] for r in desired.records.values() if r["file"] in expiry_warned}
    all_warnings = (
        safety_warnings + list(warnings) + _expiry_warnings(new_cfg, now, expiry_days, warned)
    )

    ledger_docs = {
        app_file(desired.environment): new_cfg,
        MANIFEST_FILE: manifest,
        RECORDS_FILE: desired.records,
    }
    # Compare data, not bytes: serialising 1,000 integrations costs more than the comparison.
    has_changes = (
        not same_cfg
        or ledger.manifest != manifest
        or not same_records
        or set(ledger.files) != set(ledger_docs)
    )
    return Plan(
        environment=desired.environment,
        entities=entities,
        warnings=all_warnings,
        errors=problems,
        safety=safety,
        folders_to_create=new_folders,
        files_to_create=new_files,
        ledger_docs=ledger_docs,
        previous_tip=ledger.tip,
        has_changes=has_changes,
        now=now,
        expiry_days=expiry_days,
        integrations=len(desired.records),
    )


def applied_view(plan: Plan) -> LedgerView:
    """The ledger as it would be once plan is applied (its next commit, not yet written).

    The review plans PRO against this view of PRE, so a change that is valid once PRE is
    applied shows as such instead of as refused.
    """
    docs = plan.ledger_docs
    return LedgerView(
        tip=None,
        files=dict.fromkeys(docs, b""),
        app_config=docs[app_file(plan.environment)],
        manifest=docs[MANIFEST_FILE],
        records=docs[RECORDS_FILE],
    )


def _expiry_warnings(
    cfg: Mapping[str, Any], now: datetime, days: int, warned: set[str]
) -> list[Finding]:
    out = []
    for perm in cfg["permissions"]:
        for c in perm["certificates"]:
            if c["sha256"] in warned:
                continue
            left = (datetime.fromisoformat(c["not_after"]) - now).days  # CertInfo.days_left
            if left <= days:
                cert = CertInfo.of(c)
                out.append(
                    Finding(
                        "warning",
                        "CDA-EXPIRING",
                        f"the certificate of {cert.provider_name} for {perm['name']} (serial "
                        f"{cert.serial}) expires on {cert.not_after[:10]}, in {left} day(s); "
                        "ask the provider for the renewed certificate",
                    )
                )
    return out
