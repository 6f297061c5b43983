"""Render a plan for people (text), for the head of service's pull request (markdown), for tools.

Pure functions of the Plan: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from provisioner.plan.diff import CertInfo, EntityChange, FileAction, Plan, ProviderInfo


def signed_by(provider: ProviderInfo) -> str:
    """Who signed the integration form; validate has already refused any signer but the entity."""
    if not provider.form_signed_by:
        return "form signer not recorded"
    return "form signed by " + "; ".join(provider.form_signed_by) + " (the entity, verified)"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_line(plan: Plan) -> str:
    if not plan.has_changes:
        return f"no changes in {plan.environment} ({_plural(plan.integrations, 'integration')})"
    c = plan.counts()
    parts = [
        _plural(c["entities_new"], "new entity", "new entities"),
        _plural(c["entities_changed"], "integrated entity", "integrated entities") + " changed",
        _plural(c["entities_removed"], "entity", "entities") + " removed",
        _plural(c["integrations_removed"], "integration") + " removed",
        _plural(c["folders_to_create"], "folder") + " to create",
        _plural(c["files_to_create"], "file") + " to store",
    ]
    shown = [p for p in parts if not p.startswith("0 ")]
    return ", ".join(shown) or "ledger records updated (no permission changes)"


def headline(change: EntityChange) -> str:
    """The one phrase that says what happens to an entity (the procedure's step 2)."""
    if change.kind == "new":
        return "new entity"
    if change.kind == "removed":
        return "removed: every permission revoked (SharePoint folders are kept)"
    if change.providers_added:
        names = ", ".join(p.name for p in change.providers_added)
        word = "certificate" if len(change.providers_added) == 1 else "certificates"
        return f"already integrated: adds provider {names}'s {word}"
    return "already integrated: changed"


def _cert(c: CertInfo, plan: Plan) -> str:
    left = c.days_left(plan.now)
    return (
        f"{c.subject} (serial {c.serial}, SHA-256 {c.sha256}), provider {c.provider_name}, "
        f"valid until {c.not_after[:10]} ({left} days)"
    )


def _file(f: FileAction) -> str:
    return f"{f.folder[-1]}/{f.name} ({f.size} bytes, SHA-256 {f.sha256[:16]}...)"


def _entity_lines(e: EntityChange, plan: Plan) -> list[tuple[str, str]]:
    """(marker, text) pairs; the marker says add (+), remove (-) or change (~)."""
    out: list[tuple[str, str]] = []
    for p in e.providers_added:
        out.append(("+", f"provider {p.name} ({p.nif}), FP{p.fp}; {signed_by(p)}"))
    for p in e.providers_removed:
        out.append(
            (
                "-",
                f"integration removed: provider {p.name} ({p.nif}), FP{p.fp}; its permissions "
                f"are revoked, its folder {p.folder.rsplit('/', 1)[-1]!r} is kept",
            )
        )
    out += [("+", "certificate " + _cert(c, plan)) for c in e.certificates_added]
    out += [("-", "certificate " + _cert(c, plan)) for c in e.certificates_removed]
    out += [("+", f"IP {i.cidr} ({i.provider_name})") for i in e.ips_added]
    out += [("-", f"IP {i.cidr} ({i.provider_name})") for i in e.ips_removed]
    if e.modalities_granted:
        out.append(("+", "modalities granted: " + ", ".join(e.modalities_granted)))
    if e.modalities_revoked:
        out.append(("-", "modalities revoked: " + ", ".join(e.modalities_revoked)))
    out += [("+", f"SharePoint folder {f.rsplit('/', 1)[-1]!r}") for f in e.folders_to_create]
    out += [("+", f"file {_file(f)}") for f in e.files_to_create]
    out += [("~", r) for r in e.record_changes]
    return out


def _status(plan: Plan) -> list[str]:
    if plan.errors:
        return ["REFUSED: fix the errors above; nothing will be applied"]
    if plan.safety.blocks:
        return ["REFUSED by the safety rule: re-run with --force if the revocations are intended"]
    return []


def render_text(plan: Plan) -> str:
    lines = [f"Plan for {plan.environment}: {summary_line(plan)}"]
    for p in plan.errors:
        lines.append(f"error: {p.code}: {p.message}" + (f" ({p.file})" if p.file else ""))
    for w in plan.warnings:
        lines.append(f"warning: {w}")
    for e in plan.entities:
        lines.append("")
        lines.append(f"{e.name} ({e.ine10}): {headline(e)}")
        lines += [f"  {marker} {text}" for marker, text in _entity_lines(e, plan)]
    lines += _status(plan)
    return "\n".join(lines)


def _md(text: str) -> str:
    """Inline code that survives any character in names (backticks doubled when needed)."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _md_cert(c: CertInfo, plan: Plan) -> str:
    left = c.days_left(plan.now)
    flag = " ⚠️" if left <= plan.expiry_days else ""
    return (
        f"{_md(c.subject)} · serial {_md(c.serial)} · SHA-256 {_md(c.sha256)} · "
        f"provider {c.provider_name} · valid until **{c.not_after[:10]}** ({left} days){flag}"
    )


def render_markdown(plan: Plan, messages: dict[str, str] | None = None) -> str:
    """What the head of service reads in the pull request. messages: ine10 -> message text."""
    out = [f"### Hèstia provisioning plan: {plan.environment}", "", f"**{summary_line(plan)}**", ""]
    if plan.errors:
        out += ["> [!CAUTION]", "> **Errors: nothing will be applied**"]
        out += [f"> - `{p.code}` {p.message}" for p in plan.errors]
        out.append("")
    if plan.warnings:
        out += ["> [!WARNING]"] + [f"> - {w}" for w in plan.warnings] + [""]
    for e in plan.entities:
        out += [f"#### {e.name} ({_md(e.ine10)}): {headline(e)}", ""]
        for p in e.providers_added:
            out.append(f"- **Provider** {p.name} ({_md(p.nif)}), FP{p.fp}; {signed_by(p)}")
        for p in e.providers_removed:
            out.append(
                f"- **Integration removed**: provider {p.name} ({_md(p.nif)}), FP{p.fp}: "
                f"permissions revoked; folder {_md(p.folder.rsplit('/', 1)[-1])} is kept"
            )
        out += [f"- **Certificate added**: {_md_cert(c, plan)}" for c in e.certificates_added]
        out += [f"- **Certificate removed**: {_md_cert(c, plan)}" for c in e.certificates_removed]
        if e.ips_added:
            out.append("- **IPs added**: " + ", ".join(_md(i.cidr) for i in e.ips_added))
        if e.ips_removed:
            out.append("- **IPs removed**: " + ", ".join(_md(i.cidr) for i in e.ips_removed))
        if e.modalities_granted:
            out.append("- **Modalities granted**: " + ", ".join(map(_md, e.modalities_granted)))
        if e.modalities_revoked:
            out.append("- **Modalities revoked**: " + ", ".join(map(_md, e.modalities_revoked)))
        for f in e.folders_to_create:
            out.append(f"- **SharePoint folder to create**: {_md(f.rsplit('/', 1)[-1])}")
        for fa in e.files_to_create:
            out.append(
                f"- **File to store**: {_md(fa.name)} in {_md(fa.folder[-1])} "
                f"({fa.size} bytes, SHA-256 {_md(fa.sha256)})"
            )
        out += [f"- **Changed**: {r}" for r in e.record_changes]
        if messages and e.ine10 in messages:
            out += ["", "<details><summary>Closing message</summary>", ""]
            out += ["```text", messages[e.ine10].rstrip(), "```", "", "</details>"]
        out.append("")
    out += [f"**{s}**" for s in _status(plan)]
    return "\n".join(out).rstrip() + "\n"


def plan_as_dict(plan: Plan) -> dict[str, Any]:
    def entity(e: EntityChange) -> dict[str, Any]:
        data = asdict(e)
        data["headline"] = headline(e)
        for f in data["files_to_create"]:
            f["folder"] = "/".join(f["folder"])
        return data

    return {
        "environment": plan.environment,
        "summary": summary_line(plan),
        "has_changes": plan.has_changes,
        "refused": plan.refused,
        "counts": plan.counts(),
        "errors": [asdict(p) for p in plan.errors],
        "warnings": plan.warnings,
        "safety": {
            "forced": plan.safety.forced,
            "measures": [{**asdict(m), "tripped": m.tripped} for m in plan.safety.measures],
        },
        "entities": [entity(e) for e in plan.entities],
        "ledger_tip": plan.previous_tip,
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_as_dict(plan), indent=2, ensure_ascii=False)


def commit_details(plan: Plan) -> list[str]:
    """The body of a ledger commit: one line per entity, then its changes."""
    lines = [w for w in plan.warnings if w.startswith("SAFETY:")]
    for e in plan.entities:
        lines.append(f"{e.name} ({e.ine10}): {headline(e)}")
        lines += [f"  {marker} {text}" for marker, text in _entity_lines(e, plan)]
    return lines


RENDERERS: dict[str, Callable[[Plan], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}
