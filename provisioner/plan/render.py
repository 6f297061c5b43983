"""Render a plan for people (text), for the head of service's pull request (markdown), for tools.

Pure functions of the Plan: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from provisioner.formats import Formats
from provisioner.i18n import _, ngettext
from provisioner.plan.diff import CertInfo, EntityChange, FileAction, Plan, ProviderInfo
from provisioner.text import json_text, longest_run, md_code, md_text, visible

FORMATS: Formats[Callable[[Plan], str]] = Formats("plan")


def signed_by(provider: ProviderInfo) -> str:
    """Who signed the integration form, and exactly what validate verified about it."""
    if not provider.form_signed_by:
        return _("form signer not recorded")
    text = _("form signed by {signers}").format(signers="; ".join(provider.form_signed_by))
    if provider.form_verified:
        return text + "; " + _("verified: ") + "; ".join(provider.form_verified)
    return text


def summary_line(plan: Plan) -> str:
    if not plan.has_changes:
        n = plan.integrations
        return ngettext(
            "no changes in {env} ({n} integration)", "no changes in {env} ({n} integrations)", n
        ).format(env=plan.environment, n=n)
    c = plan.counts()
    phrases = [
        (n := c["entities_new"], ngettext("{n} new entity", "{n} new entities", n)),
        (
            n := c["entities_changed"],
            ngettext("{n} integrated entity changed", "{n} integrated entities changed", n),
        ),
        (n := c["entities_removed"], ngettext("{n} entity removed", "{n} entities removed", n)),
        (
            n := c["integrations_removed"],
            ngettext("{n} integration removed", "{n} integrations removed", n),
        ),
        (n := c["folders_to_create"], ngettext("{n} folder to create", "{n} folders to create", n)),
        (n := c["files_to_create"], ngettext("{n} file to store", "{n} files to store", n)),
    ]
    shown = [text.format(n=count) for count, text in phrases if count]
    return ", ".join(shown) or _("ledger records updated (no permission changes)")


def headline(change: EntityChange) -> str:
    """The one phrase that says what happens to an entity (the procedure's step 2)."""
    if change.kind == "new":
        return _("new entity")
    if change.kind == "removed":
        return _("removed: every permission revoked (SharePoint folders are kept)")
    if change.providers_added:
        names = ", ".join(p.name for p in change.providers_added)
        return ngettext(
            "already integrated: adds provider {names}'s certificate",
            "already integrated: adds provider {names}'s certificates",
            len(change.providers_added),
        ).format(names=names)
    return _("already integrated: changed")


def _cert(c: CertInfo, plan: Plan) -> str:
    return _(
        "{subject} (serial {serial}, SHA-256 {sha256}), provider {provider}, "
        "valid until {date} ({days} days)"
    ).format(
        subject=c.subject,
        serial=c.serial,
        sha256=c.sha256,
        provider=c.provider_name,
        date=c.not_after[:10],
        days=c.days_left(plan.now),
    )


def _file(f: FileAction) -> str:
    return _("{folder}/{name} ({size} bytes, SHA-256 {sha256}...)").format(
        folder=f.folder[-1], name=f.name, size=f.size, sha256=f.sha256[:16]
    )


def _entity_lines(e: EntityChange, plan: Plan) -> list[tuple[str, str]]:
    """(marker, text) pairs; the marker says add (+), remove (-) or change (~)."""
    out: list[tuple[str, str]] = []
    for p in e.providers_added:
        out.append(
            (
                "+",
                _("provider {name} ({nif}), FP{fp}; {signed}").format(
                    name=p.name, nif=p.nif, fp=p.fp, signed=signed_by(p)
                ),
            )
        )
    for p in e.providers_removed:
        out.append(
            (
                "-",
                _(
                    "integration removed: provider {name} ({nif}), FP{fp}; its permissions "
                    "are revoked, its folder {folder} is kept"
                ).format(name=p.name, nif=p.nif, fp=p.fp, folder=repr(p.folder.rsplit("/", 1)[-1])),
            )
        )
    certificate = _("certificate {details}")
    out += [("+", certificate.format(details=_cert(c, plan))) for c in e.certificates_added]
    out += [("-", certificate.format(details=_cert(c, plan))) for c in e.certificates_removed]
    out += [("+", f"IP {i.cidr} ({i.provider_name})") for i in e.ips_added]
    out += [("-", f"IP {i.cidr} ({i.provider_name})") for i in e.ips_removed]
    if e.modalities_granted:
        out.append(("+", _("modalities granted: ") + ", ".join(e.modalities_granted)))
    if e.modalities_revoked:
        out.append(("-", _("modalities revoked: ") + ", ".join(e.modalities_revoked)))
    folder = _("SharePoint folder {name}")
    out += [("+", folder.format(name=repr(f.rsplit("/", 1)[-1]))) for f in e.folders_to_create]
    out += [("+", _("file {details}").format(details=_file(f))) for f in e.files_to_create]
    out += [("~", r) for r in e.record_changes]
    return out


def _status(plan: Plan) -> list[str]:
    if plan.errors:
        return [_("REFUSED: fix the errors above; nothing will be applied")]
    if plan.safety.blocks:
        return [
            _("REFUSED by the safety rule: re-run with --force if the revocations are intended")
        ]
    return []


@FORMATS.register("text")
def render_text(plan: Plan) -> str:
    lines = [
        _("Plan for {env}: {summary}").format(env=plan.environment, summary=summary_line(plan))
    ]
    lines += [_("error: ") + p.as_line() for p in plan.errors]
    lines += [_("warning: ") + w.as_line() for w in plan.warnings]
    for e in plan.entities:
        lines.append("")
        lines.append(f"{e.name} ({e.ine10}): {headline(e)}")
        lines += [f"  {marker} {text}" for marker, text in _entity_lines(e, plan)]
    lines += _status(plan)
    # Names come from files and ledgers: one line each, whatever they hold.
    return "\n".join(visible(line) for line in lines)


_md = md_code


def _md_cert(c: CertInfo, plan: Plan) -> str:
    left = c.days_left(plan.now)
    flag = " ⚠️" if left <= plan.expiry_days else ""
    return (
        _(
            "{subject} · serial {serial} · SHA-256 {sha256} · provider {provider} · "
            "valid until **{date}** ({days} days)"
        ).format(
            subject=_md(c.subject),
            serial=_md(c.serial),
            sha256=_md(c.sha256),
            provider=md_text(c.provider_name),
            date=c.not_after[:10],
            days=left,
        )
        + flag
    )


def _fenced(text: str) -> str:
    """A fenced code block longer than any run of backticks in text."""
    fence = "`" * max(3, longest_run(text, "`") + 1)
    return f"{fence}text\n{text}\n{fence}"


@FORMATS.register("markdown")
def render_markdown(plan: Plan, messages: dict[str, str] | None = None) -> str:
    """What the head of service reads in the pull request. messages: ine10 -> message text."""
    title = _("### Hèstia provisioning plan: {env}").format(env=plan.environment)
    out = [title, "", f"**{summary_line(plan)}**", ""]
    if plan.errors:
        out += ["> [!CAUTION]", "> **" + _("Errors: nothing will be applied") + "**"]
        out += [f"> - {_md(p.code)} {md_text(p.message)}" for p in plan.errors]
        out.append("")
    if plan.warnings:
        out += ["> [!WARNING]"] + [f"> - {md_text(w.as_line())}" for w in plan.warnings] + [""]
    for e in plan.entities:
        out += [f"#### {md_text(e.name)} ({_md(e.ine10)}): {md_text(headline(e))}", ""]
        for p in e.providers_added:
            out.append(
                _("- **Provider** {name} ({nif}), FP{fp}; {signed}").format(
                    name=md_text(p.name),
                    nif=_md(p.nif),
                    fp=md_text(p.fp),
                    signed=md_text(signed_by(p)),
                )
            )
        for p in e.providers_removed:
            out.append(
                _(
                    "- **Integration removed**: provider {name} ({nif}), FP{fp}: "
                    "permissions revoked; folder {folder} is kept"
                ).format(
                    name=md_text(p.name),
                    nif=_md(p.nif),
                    fp=md_text(p.fp),
                    folder=_md(p.folder.rsplit("/", 1)[-1]),
                )
            )
        added, removed = _("- **Certificate added**: "), _("- **Certificate removed**: ")
        out += [added + _md_cert(c, plan) for c in e.certificates_added]
        out += [removed + _md_cert(c, plan) for c in e.certificates_removed]
        if e.ips_added:
            out.append(_("- **IPs added**: ") + ", ".join(_md(i.cidr) for i in e.ips_added))
        if e.ips_removed:
            out.append(_("- **IPs removed**: ") + ", ".join(_md(i.cidr) for i in e.ips_removed))
        if e.modalities_granted:
            granted = ", ".join(map(_md, e.modalities_granted))
            out.append(_("- **Modalities granted**: ") + granted)
        if e.modalities_revoked:
            revoked = ", ".join(map(_md, e.modalities_revoked))
            out.append(_("- **Modalities revoked**: ") + revoked)
        for f in e.folders_to_create:
            out.append(_("- **SharePoint folder to create**: ") + _md(f.rsplit("/", 1)[-1]))
        for fa in e.files_to_create:
            out.append(
                _(
                    "- **File to store**: {name} in {folder} ({size} bytes, SHA-256 {sha256})"
                ).format(
                    name=_md(fa.name),
                    folder=_md(fa.folder[-1]),
                    size=fa.size,
                    sha256=_md(fa.sha256),
                )
            )
        out += [_("- **Changed**: ") + md_text(r) for r in e.record_changes]
        if messages and e.ine10 in messages:
            summary = _("Closing message")
            out += ["", f"<details><summary>{summary}</summary>", ""]
            out += [_fenced(messages[e.ine10].rstrip()), "", "</details>"]
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
        "errors": [{"code": p.code, "message": p.message, "file": p.file} for p in plan.errors],
        "warnings": [w.as_line() for w in plan.warnings],
        "safety": {
            "forced": plan.safety.forced,
            "measures": [{**asdict(m), "tripped": m.tripped} for m in plan.safety.measures],
        },
        "entities": [entity(e) for e in plan.entities],
        "ledger_tip": plan.previous_tip,
    }


@FORMATS.register("json")
def render_json(plan: Plan) -> str:
    return json_text(plan_as_dict(plan))


def commit_details(plan: Plan) -> list[str]:
    """The body of a ledger commit: one line per entity, then its changes."""
    lines = [w.as_line() for w in plan.warnings if w.code == "SAFETY"]
    for e in plan.entities:
        lines.append(f"{e.name} ({e.ine10}): {headline(e)}")
        lines += [f"  {marker} {text}" for marker, text in _entity_lines(e, plan)]
    # One line each: a name holding a line break must not start a forged trailer paragraph.
    return [visible(line) for line in lines]
