"""The kept plan: what planning an environment made from a validation in which every file's
result was kept, reused by the next plan when the replay of that validation finds nothing
changed (provisioner.rules.kept).

A plan needs, besides the ledger, the desired state of its environment and two values of the
catalog. All of them are made from the catalog, the trusted roots, the integration files and
the documents they name, which the validation's content key (rules.kept.content_key) digests:
kept under that key, they hold for every later run whose replay finds the same key. Then no
integration file is loaded, and neither the catalog, the models nor pydantic are imported.

What is kept is plain JSON (read with json, never executed), checked for the shapes the plan
reads before it is used; anything else is treated as not kept. The edge keeps it
(provisioner.runtime.plan_memories), one state per environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from provisioner.plan.desired import DesiredState, Document, Folder
from provisioner.plan.ledger_format import LedgerView, shape_problem

#: Changes whenever what a kept plan holds or means changes (older ones are then not reused).
SHAPE = 1


class PlanMemory(Protocol):
    """Where one environment's kept plan lives between runs (the edge decides)."""

    def load(self) -> Mapping[str, Any] | None: ...

    def save(self, state: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class KeptPlan:
    """What a plan of one environment needs besides the ledger and the validation's findings."""

    content: str  # the validation's content key it was made from
    desired: DesiredState
    signers: tuple[tuple[str, str], ...]  # the catalog's ledger signers (principal, key)
    expiry_days: int  # the catalog's certificate_expiry_warning_days


def kept_to_json(kept: KeptPlan) -> dict[str, Any]:
    desired = kept.desired
    return {
        "shape": SHAPE,
        "content": kept.content,
        "environment": desired.environment,
        "signers": [list(s) for s in kept.signers],
        "expiry_days": kept.expiry_days,
        "app_config": desired.app_config,
        "folders": [
            [list(f.path), [[d.name, d.source, d.sha256, d.size] for d in f.files]]
            for f in desired.folders
        ],
        "records": desired.records,
    }


def kept_from_json(raw: Any, env: str, content: str) -> KeptPlan | None:
    """The kept plan of env made from the validation whose content key is content; None when
    raw is another's, or not of the shape kept_to_json writes."""
    if not (
        isinstance(raw, dict)
        and raw.get("shape") == SHAPE
        and raw.get("content") == content
        and raw.get("environment") == env
    ):
        return None
    try:
        return _kept_from_json(raw, env, content)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _texts(values: Any, count: int | None = None) -> bool:
    return (
        isinstance(values, list)
        and (count is None or len(values) == count)
        and all(isinstance(v, str) for v in values)
    )


def _kept_from_json(raw: dict[str, Any], env: str, content: str) -> KeptPlan | None:
    app_config, records, signers = raw["app_config"], raw["records"], raw["signers"]
    days = raw["expiry_days"]
    if type(days) is not int or not all(_texts(s, 2) for s in signers):
        return None
    # The shapes the ledger's checks ask of the same documents, and the keys the plan reads.
    if shape_problem(LedgerView(app_config=app_config, manifest={"folders": {}}, records=records)):
        return None
    if not all(isinstance(app_config.get(k), str) for k in ("environment", "product", "front_end")):
        return None
    for entry in app_config["ip_allowlist"]:
        if not isinstance(entry.get("provider_name"), str):
            return None
    for perm in app_config["permissions"]:
        if not isinstance(perm.get("product"), str):
            return None
        for cert in perm["certificates"]:
            if not (isinstance(cert.get("provider_name"), str) and isinstance(cert.get("fp"), str)):
                return None
    for record in records.values():
        if not (_texts(record.get("form_signed_by")) and _texts(record.get("form_verified"))):
            return None
        if not isinstance(record.get("form_sha256"), str):
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
        DesiredState(env, app_config, tuple(folders), records),  # type: ignore[arg-type]
        tuple((principal, key) for principal, key in signers),
        days,
    )
