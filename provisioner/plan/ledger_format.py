"""The ledger's format, in one place: its branches, the files of each commit, its message.

Pure: apply/ledger.py writes and reads commits with git; the plan compares against a LedgerView;
history reads the branches, the records file and the trailers. All of them take the format
from here, so a change to it is made once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from provisioner.text import trailer_value, visible

BRANCH_PREFIX = "provisioned/"
MANIFEST_FILE = "sharepoint-manifest.json"
RECORDS_FILE = "integrations.json"
#: The `Key: value` lines that end every ledger commit message, in this order.
TRAILERS = (
    "Source-Commit",
    "Applied-At",
    "Environment",
    "Store",
    "CI-Run",
    "CI-Actor",
    "Safety-Override",
)
#: The trailers every ledger commit has (CI-Actor and Safety-Override are optional).
REQUIRED_TRAILERS = TRAILERS[:5]


def branch(env: str) -> str:
    """The ledger branch of an environment: `provisioned/PRE`, `provisioned/PRO`."""
    return f"{BRANCH_PREFIX}{env}"


def ref(env: str) -> str:
    return f"refs/heads/{branch(env)}"


def app_file(env: str) -> str:
    return f"app-{env}.json"


@dataclass(frozen=True)
class LedgerStep:
    """One earlier apply of the ledger (oldest first in LedgerView.steps)."""

    commit: str
    applied_at: str  # ISO 8601, from the Applied-At trailer


@dataclass(frozen=True)
class LedgerView:
    """What the last commit of a ledger branch holds (empty when the branch does not exist)."""

    tip: str | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    app_config: Mapping[str, Any] | None = None
    manifest: Mapping[str, Any] = field(default_factory=dict)
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    steps: tuple[LedgerStep, ...] = ()


# ----------------------------------------------------------------------------- shapes
# A ledger branch can be edited by anyone who can push: what the planner reads from it is
# checked first, so a record of the wrong shape is refused in one line, not a traceback.

_TEXT, _TEXTS = "text", "list of text"
_RECORD = {
    "ine10": _TEXT,
    "entity": _TEXT,
    "provider": _TEXT,
    "provider_name": _TEXT,
    "fp": _TEXT,
    "environment": _TEXT,
    "file": _TEXT,
    "folder": _TEXT,
    "certificate": _TEXT,
    "ips": _TEXTS,
    "modalities": _TEXTS,
}
_RECORD_OPTIONAL = {"form_signed_by": _TEXTS, "form_sha256": _TEXT, "form_verified": _TEXTS}
_IP_ENTRY = {"cidr": _TEXT, "ine10": _TEXT, "provider": _TEXT, "fp": _TEXT}
_PERMISSION = {"ine10": _TEXT, "name": _TEXT, "modalities": _TEXTS, "certificates": "list"}
_CERTIFICATE = {
    "sha256": _TEXT,
    "subject": _TEXT,
    "serial": _TEXT,
    "not_after": _TEXT,
    "provider": _TEXT,
}


def _kind_ok(value: Any, kind: str) -> bool:
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _TEXTS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, list)


def _fields_problem(
    value: Any, required: Mapping[str, str], where: str, optional: Mapping[str, str] | None = None
) -> str | None:
    if not isinstance(value, dict):
        return f"{where}: not an object"
    for key, kind in required.items():
        if key not in value or not _kind_ok(value[key], kind):
            return f"{where}: {key} is not a {kind}"
    for key, kind in (optional or {}).items():
        if key in value and not _kind_ok(value[key], kind):
            return f"{where}: {key} is not a {kind}"
    return None


def shape_problem(view: LedgerView) -> str | None:
    """What in a ledger commit's files is not the shape this tool writes, or None."""
    cfg = view.app_config
    if not isinstance(cfg, dict):
        return "an APP configuration that is not an object"
    for name in ("ip_allowlist", "permissions"):
        if not isinstance(cfg.get(name), list):
            return f"an APP configuration whose {name} is not a list"
    for i, entry in enumerate(cfg["ip_allowlist"]):
        if problem := _fields_problem(entry, _IP_ENTRY, f"ip_allowlist[{i}]"):
            return problem
    for i, perm in enumerate(cfg["permissions"]):
        if problem := _fields_problem(perm, _PERMISSION, f"permissions[{i}]"):
            return problem
        for j, cert in enumerate(perm["certificates"]):
            where = f"permissions[{i}].certificates[{j}]"
            if problem := _fields_problem(cert, _CERTIFICATE, where):
                return problem
            try:
                datetime.fromisoformat(cert["not_after"])
            except ValueError:
                return f"{where}: not_after is not a date"
    folders = view.manifest.get("folders") if isinstance(view.manifest, dict) else None
    if not isinstance(folders, dict):
        return "a SharePoint manifest without folders"
    for folder, files in folders.items():
        if not isinstance(files, dict) or not all(
            isinstance(f, dict) and isinstance(f.get("sha256"), str) for f in files.values()
        ):
            return f"a SharePoint manifest entry {folder!r} of the wrong shape"
    if not isinstance(view.records, dict):
        return "integration records that are not an object"
    for key, record in view.records.items():
        if problem := _fields_problem(record, _RECORD, f"record {key}", _RECORD_OPTIONAL):
            return problem
    return None


@dataclass(frozen=True)
class CiRun:
    url: str | None = None  # the CI run's page
    actor: str | None = None  # who started it


def commit_message(
    env: str,
    summary: str,
    details: Sequence[str],
    source_commit: str | None,
    dirty: bool,
    when: datetime,
    store: str,
    ci: CiRun,
    override: str | None = None,
) -> str:
    """A ledger commit's message: what changed, then the trailers auditors and history read.

    override: what --force accepted against the safety rule, recorded as a trailer.
    """
    commit = source_commit or "none (no commit yet)"
    if dirty and source_commit:
        commit += " (with uncommitted changes in integrations/ or catalog/)"
    lines = [visible(f"Provision {env}: {summary}"), ""]
    lines += [visible(line) for line in details]
    trailers = [
        ("Source-Commit", commit),
        ("Applied-At", when.isoformat(timespec="seconds")),
        ("Environment", env),
        ("Store", store),
        ("CI-Run", ci.url or "none (run outside CI)"),
    ]
    if ci.actor:
        trailers.append(("CI-Actor", ci.actor))
    if override:
        trailers.append(("Safety-Override", override))
    # Values come from the environment and the files: one line each, so none can add a trailer.
    lines += [""] + [f"{name}: {trailer_value(value)}" for name, value in trailers]
    return "\n".join(lines) + "\n"


def parse_trailers(message: str) -> dict[str, str]:
    """The `Key: value` lines of a ledger commit message's last paragraph that this tool writes."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    out: dict[str, str] = {}
    for line in paragraphs[-1].splitlines() if paragraphs else []:
        name, sep, value = line.partition(": ")
        if sep and name in TRAILERS and name not in out:
            out[name] = value.strip()
    return out
