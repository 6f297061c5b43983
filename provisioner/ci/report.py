"""What the workflows post on GitHub, as pure functions: the review comment and the issues.

Every posted text carries a hidden marker so that the next run finds and updates it instead of
adding another one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from provisioner.i18n import _

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


def drift_issue(env: str, report_markdown: str) -> IssueSpec:
    """One issue per environment whose store drifted from its ledger."""
    body = truncate(report_markdown.rstrip(), BODY_LIMIT, "the scheduled run's job summary")
    return IssueSpec(
        f"drift:{env.lower()}",
        f"The {env} document store differs from its ledger",
        "The weekly drift check found folders or files in the store that differ from "
        f"`provisioned/{env}`'s manifest. Documents are never replaced: find out what changed, "
        "then `apply --repair` puts back what is missing.\n\n" + body + "\n",
    )
