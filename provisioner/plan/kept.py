"""The kept plan: what planning an environment made from a validation in which every file's
result was kept, reused by the next plan when the replay of that validation finds nothing
changed (provisioner.rules.kept).

A plan needs, besides the ledger, the desired state of its environment and two values of the
catalog. All of them are made from the catalog, the trusted roots, the integration files and
the documents they name, which the validation's content key (rules.kept.content_key) digests:
kept under that key, they hold for every later run whose replay finds the same key. Then no
integration file is loaded, and neither the catalog, the models nor pydantic are imported.

Two parts, each read only when needed: the summary (the key, the catalog's values, the
SharePoint folders, and the ledger files known to hold the desired state's documents) and the
desired state's two big documents (the APP configuration and the records). When the ledger's
last commit holds those documents byte for byte (the usual case: nothing changed since the
last apply), the plan takes them as the ledger read them, and the second part is not read.
Which ledger files hold them is learnt: the first plan that finds the ledger's documents equal
to the kept ones keeps their git object ids (equal ids, equal bytes, equal documents).

What is kept is plain JSON (read with json, never executed), checked for the shapes the plan
reads before it is used; anything else is treated as not kept. The edge keeps the parts
(provisioner.runtime.plan_memories), one memory per environment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioner.plan.desired import DesiredState, Document, Folder
from provisioner.plan.ledger_format import RECORDS_FILE, LedgerView, app_file, shape_problem

#: Changes whenever what a kept plan holds or means changes (older ones are then not reused).
SHAPE = 2
SUMMARY, DOCUMENTS = "summary", "documents"


class PlanMemory(Protocol):
    """Where one environment's kept plan lives between runs, in parts (the edge decides)."""

    def load(self, part: str) -> bytes | None: ...

    def save(self, parts: Mapping[str, bytes]) -> None: ...


@dataclass(frozen=True)
class KeptPlan:
    """What a plan of one environment needs besides the ledger, the validation's findings and
    the desired state's two big documents."""

    content: str  # the validation's content key it was made from
    environment: str
    folders: tuple[Folder, ...]  # the desired state's SharePoint folders
    signers: tuple[tuple[str, str], ...]  # the catalog's ledger signers (principal, key)
    expiry_days: int  # the catalog's certificate_expiry_warning_days
    # Ledger file name -> the git object id of a ledger file found to hold exactly the desired
    # state's document of that name.
    ledger: Mapping[str, str] = field(default_factory=dict)

    def documents_in(self, blobs: Mapping[str, str]) -> bool:
        """The ledger commit whose files have these object ids holds the desired documents."""
        names = (app_file(self.environment), RECORDS_FILE)
        return all(name in self.ledger and blobs.get(name) == self.ledger[name] for name in names)

    def desired(self, app_config: Any, records: Any) -> DesiredState:
        return DesiredState(self.environment, app_config, self.folders, records)  # type: ignore[arg-type]


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _summary_json(kept: KeptPlan) -> bytes:
    return _encode(
        {
            "shape": SHAPE,
            "content": kept.content,
            "environment": kept.environment,
            "signers": [list(s) for s in kept.signers],
            "expiry_days": kept.expiry_days,
            "folders": [
                [list(f.path), [[d.name, d.source, d.sha256, d.size] for d in f.files]]
                for f in kept.folders
            ],
            "ledger": dict(kept.ledger),
        }
    )


def keep(memory: PlanMemory, kept: KeptPlan, desired: DesiredState) -> None:
    """Keep a plan's summary and its desired state's documents."""
    documents = _encode({"app_config": desired.app_config, "records": desired.records})
    memory.save({SUMMARY: _summary_json(kept), DOCUMENTS: documents})


def learn(memory: PlanMemory, kept: KeptPlan, blobs: Mapping[str, str]) -> KeptPlan:
    """Keep that the ledger files with these object ids hold the desired documents."""
    names = (app_file(kept.environment), RECORDS_FILE)
    learnt = KeptPlan(
        kept.content,
        kept.environment,
        kept.folders,
        kept.signers,
        kept.expiry_days,
        {name: blobs[name] for name in names if name in blobs},
    )
    documents = memory.load(DOCUMENTS)
    if documents is not None:
        memory.save({SUMMARY: _summary_json(learnt), DOCUMENTS: documents})
    return learnt


def kept_summary(memory: PlanMemory, env: str, content: str) -> KeptPlan | None:
    """The kept plan of env made from the validation whose content key is content; None when
    the kept one is another's, or not of the shape this module writes."""
    try:
        raw = json.loads(memory.load(SUMMARY) or b"null")
    except (ValueError, RecursionError):
        return None
    if not (
        isinstance(raw, dict)
        and raw.get("shape") == SHAPE
        and raw.get("content") == content
        and raw.get("environment") == env
    ):
        return None
    try:
        return _summary(raw, env, content)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _texts(values: Any, count: int | None = None) -> bool:
    return (
        isinstance(values, list)
        and (count is None or len(values) == count)
        and all(isinstance(v, str) for v in values)
    )


def _summary(raw: dict[str, Any], env: str, content: str) -> KeptPlan | None:
    signers, days, ledger = raw["signers"], raw["expiry_days"], raw["ledger"]
    if type(days) is not int or not all(_texts(s, 2) for s in signers):
        return None
    if not (isinstance(ledger, dict) and _texts([*ledger, *ledger.values()])):
        return None
    folders = []
    for path, files in raw["folders"]:
        if not _texts(path) or not isinstance(files, list):
            return None
        documents = []
        for name, source, sha256, size in files:
            if not (_texts([name, source, sha256]) and type(size) is int):
                return None
            documents.append(Document(name, source, sha256, size))
        folders.append(Folder(tuple(path), tuple(documents)))
    return KeptPlan(
        content,
        env,
        tuple(folders),
        tuple((principal, key) for principal, key in signers),
        days,
        ledger,
    )


def kept_desired(memory: PlanMemory, kept: KeptPlan) -> DesiredState | None:
    """The kept desired state (its documents read and checked now); None when they are not
    kept, or not of the shapes the plan reads."""
    try:
        raw = json.loads(memory.load(DOCUMENTS) or b"null")
        app_config, records = raw["app_config"], raw["records"]
        if not _documents_hold(app_config, records):
            return None
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return None
    return kept.desired(app_config, records)


def _documents_hold(app_config: Any, records: Any) -> bool:
    """The shapes the ledger's checks ask of the same documents, and the keys the plan reads."""
    if shape_problem(LedgerView(app_config=app_config, manifest={"folders": {}}, records=records)):
        return False
    if not all(isinstance(app_config.get(k), str) for k in ("environment", "product", "front_end")):
        return False
    for entry in app_config["ip_allowlist"]:
        if not isinstance(entry.get("provider_name"), str):
            return False
    for perm in app_config["permissions"]:
        if not isinstance(perm.get("product"), str):
            return False
        for cert in perm["certificates"]:
            if not (isinstance(cert.get("provider_name"), str) and isinstance(cert.get("fp"), str)):
                return False
    for record in records.values():
        if not (_texts(record.get("form_signed_by")) and _texts(record.get("form_verified"))):
            return False
        if not isinstance(record.get("form_sha256"), str):
            return False
    return True
