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

BRANCH_PREFIX = "provisioned/"
MANIFEST_FILE = "sharepoint-manifest.json"
RECORDS_FILE = "integrations.json"
#: The `Key: value` lines that end every ledger commit message, in this order.
TRAILERS = ("Source-Commit", "Applied-At", "Environment", "Store", "CI-Run", "CI-Actor")


def branch(env: str) -> str:
    """The ledger branch of an environment: `provisioned/PRE`, `provisioned/PRO`."""
    return f"{BRANCH_PREFIX}{env}"


def ref(env: str) -> str:
    return f"refs/heads/{branch(env)}"


def app_file(env: str) -> str:
    return f"app-{env}.json"


@dataclass(frozen=True)
class LedgerView:
    """What the last commit of a ledger branch holds (empty when the branch does not exist)."""

    tip: str | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    app_config: Mapping[str, Any] | None = None
    manifest: Mapping[str, Any] = field(default_factory=dict)
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def well_formed(view: LedgerView) -> bool:
    """The shapes the planner relies on (the ledger is ours, but a branch can be edited)."""
    cfg = view.app_config
    if cfg is not None and not (
        isinstance(cfg, dict)
        and isinstance(cfg.get("ip_allowlist"), list)
        and isinstance(cfg.get("permissions"), list)
        and all(isinstance(e, dict) for e in cfg["ip_allowlist"] + cfg["permissions"])
    ):
        return False
    if not isinstance(view.manifest, dict) or not isinstance(
        view.manifest.get("folders", {}), dict
    ):
        return False
    return isinstance(view.records, dict) and all(
        isinstance(r, dict) for r in view.records.values()
    )


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
) -> str:
    """A ledger commit's message: what changed, then the trailers auditors and history read."""
    commit = source_commit or "none (no commit yet)"
    if dirty and source_commit:
        commit += " (with uncommitted changes in integrations/ or catalog/)"
    lines = [f"Provision {env}: {summary}", ""]
    lines += details
    lines += [
        "",
        f"Source-Commit: {commit}",
        f"Applied-At: {when.isoformat(timespec='seconds')}",
        f"Environment: {env}",
        f"Store: {store}",
        f"CI-Run: {ci.url or 'none (run outside CI)'}",
    ]
    if ci.actor:
        lines.append(f"CI-Actor: {ci.actor}")
    return "\n".join(lines) + "\n"


def parse_trailers(message: str) -> dict[str, str]:
    """The `Key: value` lines of a ledger commit message's last paragraph that this tool writes."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    out: dict[str, str] = {}
    for line in paragraphs[-1].splitlines() if paragraphs else []:
        name, sep, value = line.partition(": ")
        if sep and name in TRAILERS:
            out[name] = value.strip()
    return out
