"""What the workflows post on GitHub, as pure functions: the review comment and the issues.

Every posted text carries a hidden marker so that the next run finds and updates it instead of
adding another one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from provisioner.i18n import _
from provisioner.text import md_code, visible

PLAN_MARKER = "<!-- hestia-provisioner:plan -->"
# GitHub refuses comment and issue bodies over 65,536 characters; leave room for the footer.
BODY_LIMIT = 60_000
_KEY = re.compile(r"[a-z0-9][a-z0-9:._-]{0,120}")


def code(text: str) -> str:
    """Inline code that any name survives (a longer fence when the text holds backticks)."""
    text = " ".join(text.split())  # a code span cannot hold a line break
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def truncate(markdown: str, limit: int, where: str) -> str:
    if len(markdown) <= limit:
        return markdown
    cut = markdown.rfind("\n", 0, limit)
    kept = markdown[: cut if cut > 0 else limit]
    return kept + f"\n\n*… cut here: the full text is in {where}.*\n"


@dataclass(frozen=True)
class EnvPlan:
    env: str
    markdown: str  # the rendered plan, or the validation problems when no plan was made
    refused: bool
    ledger_tip: str | None
    note: str = ""  # how it was planned (e.g. PRO as if PRE were applied)


def review_comment(
    plans: Sequence[EnvPlan], head_sha: str, run_url: str | None, limit: int = BODY_LIMIT
) -> str:
    """The sticky pull-request comment: the plan for each environment, and what it was made
    against (the head commit and each ledger tip) so a reviewer can tell a stale comment."""
    verdict = _("❌ refused") if any(p.refused for p in plans) else _("✅ can be applied")
    header = [
        PLAN_MARKER,
        _("## Hèstia provisioning plan"),
        "",
        _("Planned for head commit {sha}: **{verdict}**.").format(
            sha=code(head_sha), verdict=verdict
        ),
        "",
        _("| environment | ledger tip planned against | result |"),
        "|---|---|---|",
    ]
    for p in plans:
        tip = code(p.ledger_tip) if p.ledger_tip else _("none (never applied)")
        result = _("refused") if p.refused else _("ok")
        header.append(f"| {p.env} | {tip} | {result} |")
    notes = [f"- {p.note}" for p in plans if p.note]
    header += ["", *notes] if notes else []
    footer = ["", "---", _("*Updated on every push by the `review` workflow")]
    footer[-1] += f" ([run]({run_url})).*" if run_url else ".*"
    where = "the review run's job summary"
    room = max(1000, (limit - len("\n".join(header + footer))) // max(1, len(plans)) - 200)
    body = []
    for p in plans:
        body += ["", f"<details open><summary>{p.env}</summary>", ""]
        body += [truncate(p.markdown.rstrip(), room, where), "", "</details>"]
    return "\n".join(header + body + footer) + "\n"


@dataclass(frozen=True)
class IssueSpec:
    key: str  # stable identity: the marker the next run looks for
    title: str
    body: str

    def __post_init__(self) -> None:
        if not _KEY.fullmatch(self.key):
            raise ValueError(f"issue key {self.key!r} is not [a-z0-9:._-]")

    @property
    def marker(self) -> str:
        return issue_marker(self.key)

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "title": self.title, "body": self.body}


def issue_marker(key: str) -> str:
    return f"<!-- hestia-provisioner:issue:{key} -->"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ExpiringCertificate:
    """A CDA (or a trust root) that expires within the window, or cannot be read."""

    kind: str  # "cda" or "trust-root"
    file: str
    sha256: str | None  # None: unreadable
    subject: str
    not_after: datetime | None
    entity: str = ""  # "name (INE10)" for a CDA
    provider: str = ""
    environment: str = ""


def _when(cert: ExpiringCertificate, now: datetime) -> str:
    if cert.not_after is None:
        return "cannot be read"
    days = (cert.not_after - now).days
    day = f"{cert.not_after:%Y-%m-%d}"
    return f"expired on {day}" if days < 0 else f"expires on {day} (in {days} days)"


def certificate_issue(cert: ExpiringCertificate, now: datetime, within: int) -> IssueSpec:
    when = _when(cert, now)
    ident = cert.sha256 or _digest(cert.file)
    if cert.kind == "trust-root":
        title = f"Trust root {cert.file} {when}"
        steps = [
            "Forms are verified against the trust roots listed in `catalog/service.yaml`.",
            "Add the issuer's renewed root or intermediate under `catalog/trust/`, list it "
            "in `catalog/service.yaml`, and keep the old one until no form relies on it.",
        ]
    else:
        title = f"CDA of {cert.provider} for {cert.entity} {when}"
        steps = [
            "Ask the provider for the renewed application certificate (public part only), "
            "put it under the entity's `certs/` and open a pull request changing `cda:`.",
            "The plan shows the new certificate; PRE is applied first, then PRO.",
        ]
    lines = [
        f"The {'trust root' if cert.kind == 'trust-root' else 'CDA'} in {code(cert.file)} {when} "
        f"(the weekly check flags what expires within {within} days).",
        "",
    ]
    if cert.kind == "cda":
        lines += [
            f"- Entity: {code(cert.entity)}",
            f"- Provider: {code(cert.provider)}",
            f"- Environment: {code(cert.environment)}",
        ]
    lines += [f"- Subject: {code(cert.subject)}" if cert.subject else "- Subject: unknown"]
    if cert.sha256:
        lines.append(f"- SHA-256: {code(cert.sha256)}")
    lines += ["", *steps]
    return IssueSpec(f"{cert.kind}:{ident}", title, "\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- drift

DRIFT_LABELS = {
    "missing-folder": "missing folder",
    "missing-file": "missing file",
    "different-file": "different content",
}
MAX_DRIFT_ITEMS = 100_000  # far beyond any store; a larger report is refused, not posted


@dataclass(frozen=True)
class DriftFinding:
    """One line of `drift --format json`: a folder or a file of the ledger, not as recorded."""

    kind: str  # one of DRIFT_LABELS
    path: str  # the folder, or folder/file, in the library
    detail: str

    @property
    def folder(self) -> str:
        # SharePoint names hold no "/": a file's folder is all but the last part of its path.
        return self.path if self.kind == "missing-folder" else self.path.rpartition("/")[0]


@dataclass(frozen=True)
class DriftFindings:
    environment: str
    store: str
    folders_checked: int
    files_checked: int
    items: tuple[DriftFinding, ...]


def parse_drift_json(text: str) -> DriftFindings:
    """`drift --format json`'s output, checked field by field (ValueError when it is not)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("the drift report is not JSON (expected `drift --format json`)") from None
    if not isinstance(data, dict):
        raise ValueError("the drift report is not a JSON object")
    env, store = data.get("environment"), data.get("store")
    folders, files, drift = (
        data.get("folders_checked"),
        data.get("files_checked"),
        data.get("drift"),
    )
    if not (
        isinstance(env, str)
        and isinstance(store, str)
        and isinstance(folders, int)
        and isinstance(files, int)
        and isinstance(drift, list)
    ):
        raise ValueError("the drift report lacks environment, store, counts or drift")
    if len(drift) > MAX_DRIFT_ITEMS:
        raise ValueError(f"the drift report lists more than {MAX_DRIFT_ITEMS} differences")
    items = []
    for entry in drift:
        if not isinstance(entry, dict):
            raise ValueError("a drift entry is not an object")
        kind, path, detail = entry.get("kind"), entry.get("path"), entry.get("detail")
        if kind not in DRIFT_LABELS or not isinstance(path, str) or not isinstance(detail, str):
            raise ValueError(f"a drift entry has no known kind, path and detail: {entry!r:.200}")
        if not path.strip("/"):
            raise ValueError("a drift entry has an empty path")
        items.append(DriftFinding(kind, path, detail))
    return DriftFindings(env, store, folders, files, tuple(items))


def drift_scope(env: str) -> Callable[[str], bool]:
    """The issue keys one environment's drift check answers for: its folders' issues, and the
    one issue per environment that earlier versions opened."""
    own = f"drift:{env.lower()}"
    return lambda key: key == own or key.startswith(own + ":")


def drift_issues(found: DriftFindings) -> list[IssueSpec]:
    """One issue per folder of the store that differs from the ledger, in path order."""
    env = found.environment
    by_folder: dict[str, list[DriftFinding]] = {}
    for item in found.items:
        by_folder.setdefault(item.folder, []).append(item)
    specs = []
    for folder in sorted(by_folder):
        items = by_folder[folder]
        name = folder.rpartition("/")[2] or folder
        lines = [
            f"The weekly drift check found that this folder of the {env} document store differs "
            f"from what `provisioned/{env}`'s manifest records.",
            "",
            f"- Folder: {md_code(folder)}",
            f"- Store: {md_code(found.store)}",
            "",
            "| problem | file | detail |",
            "|---|---|---|",
        ]
        for item in items:
            file = (
                "(the whole folder)"
                if item.kind == "missing-folder"
                else (md_code(item.path.rpartition("/")[2], table=True))
            )
            lines.append(
                f"| {DRIFT_LABELS[item.kind]} | {file} | {md_code(item.detail, table=True)} |"
            )
        lines += [
            "",
            "Documents are never replaced: find out who changed the folder and why. "
            f"`hestia-provisioner apply --env {env} --repair` puts back what is missing; a file "
            "with other content must be compared with the one in the repository and sorted out "
            "by hand. The next weekly check closes this issue once the folder matches again.",
        ]
        body = truncate("\n".join(lines), BODY_LIMIT, "the scheduled run's job summary")
        specs.append(
            IssueSpec(
                f"drift:{env.lower()}:{_digest(folder)}",
                f"Folder {visible(name)} of the {env} document store differs from its ledger",
                body + "\n",
            )
        )
    return specs


def resolved_note(check: str, run_url: str | None) -> str:
    """The comment left on an issue that the check no longer finds, before it is closed."""
    where = f" ([run]({run_url}))" if run_url else ""
    return (
        f"The {check} no longer finds this{where}: closed. It opens a new issue if it comes back.\n"
    )
