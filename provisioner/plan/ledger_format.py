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
    blobs: Mapping[str, str] = field(default_factory=dict)  # file name -> its git object id


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


_ABSENT = object()


def _fields_ok(value: Any, required: Mapping[str, str], optional: Mapping[str, str]) -> bool:
    """_fields_problem(...) is None, quickly: this runs for every record of every ledger read."""
    if not isinstance(value, dict):
        return False
    get = value.get
    for key, kind in required.items():
        field_value = get(key, _ABSENT)
        if kind == _TEXT:
            if not isinstance(field_value, str):
                return False
        elif not isinstance(field_value, list):
            return False
        elif kind == _TEXTS:
            for item in field_value:
                if not isinstance(item, str):
                    return False
    for key, kind in optional.items():
        field_value = get(key, _ABSENT)
        if field_value is not _ABSENT and not _kind_ok(field_value, kind):
            return False
    return True


def _first_problem(
    values: Any,
    required: Mapping[str, str],
    where: Any,
    optional: Mapping[str, str] | None = None,
) -> str | None:
    """The problem of the first entry of values (index or key, entry) of the wrong shape.

    where(index) names it: the names are only made for the entry that has a problem.
    """
    extra = optional or {}
    for at, value in values:
        if not _fields_ok(value, required, extra):
            return _fields_problem(value, required, where(at), optional)
    return None


def shape_problem(view: LedgerView, *, app_config: bool = True, records: bool = True) -> str | None:
    """What in a ledger commit's files is not the shape this tool writes, or None.

    app_config, records: check those documents (False: they are known to be the bytes of
    documents already checked).
    """
    problem = _app_config_problem(view.app_config) if app_config else None
    if problem is not None:
        return problem
    folders = view.manifest.get("folders") if isinstance(view.manifest, dict) else None
    if not isinstance(folders, dict):
        return "a SharePoint manifest without folders"
    for folder, files in folders.items():
        if not isinstance(files, dict) or not all(
            isinstance(f, dict) and isinstance(f.get("sha256"), str) for f in files.values()
        ):
            return f"a SharePoint manifest entry {folder!r} of the wrong shape"
    if not records:
        return None
    if not isinstance(view.records, dict):
        return "integration records that are not an object"
    return _first_problem(view.records.items(), _RECORD, "record {}".format, _RECORD_OPTIONAL)


def _app_config_problem(cfg: Any) -> str | None:
    if not isinstance(cfg, dict):
        return "an APP configuration that is not an object"
    for name in ("ip_allowlist", "permissions"):
        if not isinstance(cfg.get(name), list):
            return f"an APP configuration whose {name} is not a list"
    if problem := _first_problem(
        enumerate(cfg["ip_allowlist"]), _IP_ENTRY, "ip_allowlist[{}]".format
    ):
        return problem
    for i, perm in enumerate(cfg["permissions"]):
        if not _fields_ok(perm, _PERMISSION, {}):
            return _fields_problem(perm, _PERMISSION, f"permissions[{i}]")
        for j, cert in enumerate(perm["certificates"]):
            if not _fields_ok(cert, _CERTIFICATE, {}):
                return _fields_problem(cert, _CERTIFICATE, f"permissions[{i}].certificates[{j}]")
            try:
                datetime.fromisoformat(cert["not_after"])
            except ValueError:
                return f"permissions[{i}].certificates[{j}]: not_after is not a date"
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
    # The last paragraph, found from the end: a first apply's message names every integration.
    # (Where blank lines run together, this drops no more than an empty first line.)
    last = message.strip().rpartition("\n\n")[2]
    out: dict[str, str] = {}
    for line in last.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name in TRAILERS and name not in out:
            out[name] = value.strip()
    return out
