"""An integration's history for auditors: who asked, who approved, when it reached PRE and PRO.

Pure functions over plain data read from git by `provisioner.history.git_reader`: the commits of the
checkout (with their parents), the changes to files under integrations/, and the commits of the
ledger branches with the records each one holds. Nothing here touches git or the file system.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from provisioner.diagnostics import Code, Finding, register_codes
from provisioner.formats import Formats
from provisioner.i18n import _
from provisioner.plan.ledger_format import branch
from provisioner.text import json_text, md_code, md_text, visible
from provisioner.vocabulary import ENVIRONMENT_NAMES

register_codes(
    "history",
    Code(
        "LEDGER-RECORDS-UNREADABLE",
        "warning",
        "a ledger commit has an unreadable integrations.json (history)",
        "none needed: its records are skipped; investigate the ledger branch",
    ),
)

FORMATS: Formats[Callable[[History], str]] = Formats("history")

_PULL_REQUEST = re.compile(r"^Merge pull request #(\d+)")


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit of the checkout's history."""

    sha: str
    parents: tuple[str, ...]
    author: str
    author_email: str
    author_date: str  # ISO 8601, the author's own offset
    committer: str
    committer_email: str
    committer_date: str
    subject: str


@dataclass(frozen=True, slots=True)
class FileChange:
    """One path a (non-merge) commit changed; for a rename, `old` is the previous path."""

    status: str  # git's letter: A, M, D, R, C, T
    path: str
    old: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerCommit:
    """One commit of a ledger branch; records is None when its integrations.json is unreadable."""

    sha: str
    date: str
    trailers: Mapping[str, str]
    records: Mapping[str, Mapping[str, Any]] | None
    author: str = ""  # "name <email>" as git records it
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IntegrationRef:
    """What identifies one integration: its file and, when readable, its ledger key."""

    file: str  # repository-relative path of the YAML file
    key: str | None = None  # "<INE10>/<provider NIF>", the key of the ledger's records
    fp: str | None = None
    ine10: str | None = None
    provider: str | None = None
    entity_name: str | None = None
    provider_name: str | None = None
    environment: str | None = None
    documents: tuple[str, ...] = ()  # repository-relative paths of its CDA and form
    in_checkout: bool = True
    problem: str | None = None  # why the file could not be read, if it could not


@dataclass(frozen=True, slots=True)
class Approval:
    kind: Literal["merge", "direct"]
    merge: Commit | None = None

    @property
    def pull_request(self) -> str | None:
        if self.merge is None:
            return None
        match = _PULL_REQUEST.match(self.merge.subject)
        return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class Change:
    commit: Commit
    paths: tuple[str, ...]  # which of the integration's paths it changed
    approval: Approval
    file_as: str | None = None  # the YAML file's name then, when the change touched it


EventKind = Literal["added", "changed", "removed", "added again"]


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    kind: EventKind
    commit: LedgerCommit
    access: tuple[str, ...] = ()  # what the event granted (+) or revoked (-)


@dataclass(frozen=True)
class Provisioning:
    """The integration in one environment's ledger (events oldest first; empty: never there)."""

    environment: str
    events: tuple[LedgerEvent, ...] = ()

    @property
    def first(self) -> LedgerEvent | None:
        return self.events[0] if self.events else None

    @property
    def last_change(self) -> LedgerEvent | None:
        """The latest commit that changed the record, when it is not the first one."""
        changed = [e for e in self.events[1:] if e.kind != "removed"]
        return changed[-1] if changed else None

    @property
    def removed(self) -> LedgerEvent | None:
        """The commit that removed it, when the ledger's last commit no longer holds it."""
        if self.events and self.events[-1].kind == "removed":
            return self.events[-1]
        return None


@dataclass(frozen=True)
class Timeline:
    ref: IntegrationRef
    changes: tuple[Change, ...]  # newest first, like git log
    provisioned: tuple[Provisioning, ...]


@dataclass(frozen=True)
class History:
    timelines: tuple[Timeline, ...]
    head: str | None
    warnings: tuple[Finding, ...] = ()


# ----------------------------------------------------------------------------- parsing


def parse_records(data: bytes) -> Mapping[str, Mapping[str, Any]] | None:
    """integrations.json of a ledger commit, or None when it is not the shape this tool writes."""
    try:
        records = json.loads(data)
    except ValueError:
        return None
    if not isinstance(records, dict) or not all(isinstance(r, dict) for r in records.values()):
        return None
    return records


# ----------------------------------------------------------------------------- approvals


def introduced_by(commits: Mapping[str, Commit], head: str | None) -> dict[str, str]:
    """For every commit reachable from head, the main-line commit that brought it in.

    The main line is head's first-parent chain. A main-line commit brings in itself (a direct
    push) and, when it is a merge, every commit its other parents reach that no earlier
    main-line commit reached.
    """
    line: list[str] = []
    sha = head
    while sha is not None and sha in commits:
        line.append(sha)
        parents = commits[sha].parents
        sha = parents[0] if parents else None
    seen: set[str] = set()
    out: dict[str, str] = {}
    for main in reversed(line):
        seen.add(main)
        out[main] = main
        stack = list(commits[main].parents[1:])
        while stack:
            sha = stack.pop()
            if sha in seen or sha not in commits:
                continue
            seen.add(sha)
            out[sha] = main
            stack.extend(commits[sha].parents)
    return out


def approval_of(sha: str, commits: Mapping[str, Commit], brought: Mapping[str, str]) -> Approval:
    main = brought.get(sha, sha)
    if main == sha:
        return Approval("direct")
    return Approval("merge", commits[main])


# ----------------------------------------------------------------------------- the file's changes


def index_changes(
    log: Sequence[tuple[str, Sequence[FileChange]]],
) -> dict[str, list[tuple[int, FileChange]]]:
    """path -> [(position in the log, change)], the log being newest first."""
    index: dict[str, list[tuple[int, FileChange]]] = {}
    for pos, (_sha, changes) in enumerate(log):
        for change in changes:
            index.setdefault(change.path, []).append((pos, change))
    return index


def changes_of(
    ref: IntegrationRef,
    log: Sequence[tuple[str, Sequence[FileChange]]],
    index: Mapping[str, Sequence[tuple[int, FileChange]]],
) -> list[tuple[str, tuple[str, ...], str | None]]:
    """(commit, paths it changed, the YAML file's name if it changed it) for the commits that
    changed the file or its documents.

    Follows renames of the YAML file, like `git log --follow`: commits older than a rename
    count under the name the file had then.
    """
    touched: dict[int, set[str]] = {}
    names: dict[int, str] = {}
    # (path, only log positions from here on, whether it is a name of the YAML file)
    pending = [(ref.file, 0, True)] + [(d, 0, False) for d in ref.documents]
    followed: set[tuple[str, int, bool]] = set()
    while pending:
        item = pending.pop()
        if item in followed:
            continue
        followed.add(item)
        path, since, is_yaml = item
        for pos, change in index.get(path, ()):
            if pos < since:
                continue
            touched.setdefault(pos, set()).add(path)
            if is_yaml:
                names[pos] = path
            if is_yaml and change.old is not None:
                pending.append((change.old, pos + 1, True))
    return [(log[pos][0], tuple(sorted(touched[pos])), names.get(pos)) for pos in sorted(touched)]


# ----------------------------------------------------------------------------- the ledger


def _texts(record: Mapping[str, Any] | None, key: str) -> list[str]:
    value = (record or {}).get(key)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) and value else []


def access_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> tuple[str, ...]:
    """What changed in the access one record grants: IPs, certificate, modalities."""
    out: list[str] = []
    for key, label in (("ips", "IP"), ("certificate", "certificate"), ("modalities", "modality")):
        old, new = _texts(before, key), _texts(after, key)
        out += [f"+ {label} {v}" for v in new if v not in old]
        out += [f"- {label} {v}" for v in old if v not in new]
    return tuple(out)


def ledger_events(
    ledger: Sequence[LedgerCommit],
) -> tuple[dict[str, list[LedgerEvent]], list[Finding]]:
    """key -> what happened to its record, from a ledger's commits oldest first; and warnings."""
    events: dict[str, list[LedgerEvent]] = {}
    current: Mapping[str, Mapping[str, Any]] = {}
    warnings: list[Finding] = []
    for commit in ledger:
        records = commit.records
        if records is None:
            warnings.append(
                Finding(
                    "warning",
                    "LEDGER-RECORDS-UNREADABLE",
                    f"ledger commit {commit.sha[:12]} has an unreadable integrations.json; "
                    "its records were skipped",
                )
            )
            continue
        for key, record in records.items():
            before = current.get(key)
            if before is None:
                kind: EventKind = "added again" if key in events else "added"
                events.setdefault(key, []).append(
                    LedgerEvent(kind, commit, access_changes(None, record))
                )
            elif before != record:
                events[key].append(LedgerEvent("changed", commit, access_changes(before, record)))
        for key, before in current.items():
            if key not in records:
                events[key].append(LedgerEvent("removed", commit, access_changes(before, None)))
        current = records
    return events, warnings


def latest_records(
    ledgers: Mapping[str, Sequence[LedgerCommit]],
) -> dict[str, Mapping[str, Any]]:
    """Every key any ledger ever held, with the latest record seen for it."""
    out: dict[str, Mapping[str, Any]] = {}
    for env in ENVIRONMENT_NAMES:
        for commit in ledgers.get(env, ()):
            for key, record in (commit.records or {}).items():
                out[key] = record
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def ref_from_record(key: str, record: Mapping[str, Any]) -> IntegrationRef:
    """An integration known only from the ledger (its file is no longer in the checkout)."""
    return IntegrationRef(
        file=_text(record.get("file")) or f"(no file) {key}",
        key=key,
        fp=_text(record.get("fp")),
        ine10=_text(record.get("ine10")),
        provider=_text(record.get("provider")),
        entity_name=_text(record.get("entity")),
        provider_name=_text(record.get("provider_name")),
        environment=_text(record.get("environment")),
        in_checkout=False,
    )


def select_refs(
    file_refs: Iterable[IntegrationRef],
    ledgers: Mapping[str, Sequence[LedgerCommit]],
    *,
    ine10: str | None = None,
    file: str | None = None,
    history_paths: frozenset[str] = frozenset(),
) -> list[IntegrationRef]:
    """The integrations to show: the files read, plus those only the ledger still knows.

    file: the one file asked for (absent from the checkout, it is looked up in the ledger's
    records and then in git's history); ine10: only the integrations of that entity.
    """
    refs = list(file_refs)
    known_keys = {r.key for r in refs if r.key}
    known_files = {r.file for r in refs}
    for key, record in sorted(latest_records(ledgers).items()):
        ref = ref_from_record(key, record)
        if key not in known_keys and ref.file not in known_files:
            refs.append(ref)
    if file is not None:
        # Files read from the checkout come first, so they win over a ledger record.
        chosen = next((r for r in refs if r.file == file), None)
        if chosen is None and file in history_paths:
            chosen = IntegrationRef(file=file, in_checkout=False)
        return [chosen] if chosen is not None else []
    if ine10 is not None:
        refs = [r for r in refs if r.ine10 == ine10]
    return sorted(refs, key=lambda r: r.file)


# ----------------------------------------------------------------------------- the timeline


def build_history(
    refs: Sequence[IntegrationRef],
    commits: Mapping[str, Commit],
    head: str | None,
    log: Sequence[tuple[str, Sequence[FileChange]]],
    ledgers: Mapping[str, Sequence[LedgerCommit]],
    warnings: Sequence[Finding] = (),
) -> History:
    """Each integration's timeline: its changes, who approved them, the ledgers' events."""
    brought = introduced_by(commits, head)
    index = index_changes(log)
    notes = list(warnings)
    by_env: dict[str, dict[str, list[LedgerEvent]]] = {}
    for env in ENVIRONMENT_NAMES:
        by_env[env], problems = ledger_events(ledgers.get(env, ()))
        notes += [replace(p, message=f"{branch(env)}: {p.message}") for p in problems]
    timelines = []
    for ref in refs:
        changes = tuple(
            Change(commits[sha], paths, approval_of(sha, commits, brought), name)
            for sha, paths, name in changes_of(ref, log, index)
            if sha in commits
        )
        key = _key(ref, ledgers)
        provisioned = tuple(
            Provisioning(env, tuple(by_env[env].get(key, ()) if key else ()))
            for env in ENVIRONMENT_NAMES
        )
        timelines.append(Timeline(ref, changes, provisioned))
    return History(tuple(timelines), head, tuple(notes))


def _key(ref: IntegrationRef, ledgers: Mapping[str, Sequence[LedgerCommit]]) -> str | None:
    """The ledger key of ref: its own or, when the file cannot be read, a record naming it."""
    if ref.key is not None:
        return ref.key
    named = [k for k, rec in latest_records(ledgers).items() if rec.get("file") == ref.file]
    return min(named) if named else None


# ----------------------------------------------------------------------------- rendering


def _who(name: str, email: str) -> str:
    return f"{name} <{email}>" if email else name


def _about(ref: IntegrationRef) -> str:
    entity = ref.ine10 or "?"
    if ref.entity_name:
        entity += f" ({ref.entity_name})"
    provider = ref.provider or "?"
    if ref.provider_name:
        provider += f" ({ref.provider_name})"
    parts = [
        f"FP {ref.fp or '?'}",
        _("entity {entity}").format(entity=entity),
        _("provider {provider}").format(provider=provider),
    ]
    if ref.environment:
        parts.append(_("the file asks for {env}").format(env=ref.environment))
    return ", ".join(parts)


def _notes(ref: IntegrationRef) -> list[str]:
    out = []
    if ref.problem:
        out.append(
            _("the file cannot be read ({problem}); FP and ledger key unknown").format(
                problem=ref.problem
            )
        )
    if not ref.in_checkout:
        out.append(_("the file is no longer in the checkout"))
    return out


def approval_text(approval: Approval) -> str:
    merge = approval.merge
    if merge is None:
        return _("no merge commit: pushed directly to the main line, so git records no approval")
    return _("merged {date} by {who} in {sha}: {subject}").format(
        date=merge.committer_date,
        who=_who(merge.author, merge.author_email),
        sha=merge.sha[:12],
        subject=merge.subject,
    )


def _ledger_facts(commit: LedgerCommit) -> str:
    t = commit.trailers
    unknown = _("not recorded")
    facts = [_("CI run {run}").format(run=t.get("CI-Run", unknown))]
    if "CI-Actor" in t:
        facts.append(_("CI actor {actor}").format(actor=t["CI-Actor"]))
    facts.append(_("source commit {sha}").format(sha=t.get("Source-Commit", unknown)))
    return ", ".join(facts)


def applied_at(commit: LedgerCommit) -> str:
    return commit.trailers.get("Applied-At", commit.date)


def provisioning_lines(p: Provisioning) -> list[str]:
    """What the ledger of one environment says, one line per fact."""
    if p.first is None:
        return [_("not yet in {env}").format(env=p.environment)]
    lines = []
    for label, event in (
        (_("first provisioned"), p.first),
        (_("record last changed"), p.last_change),
        (_("removed"), p.removed),
    ):
        if event is not None:
            c = event.commit
            lines.append(
                _("{label} {when} in ledger commit {sha} ({facts})").format(
                    label=label, when=applied_at(c), sha=c.sha[:12], facts=_ledger_facts(c)
                )
            )
    lines += [event_line(e) for e in p.events]
    return lines


def event_line(event: LedgerEvent) -> str:
    """One ledger event and the access it granted or revoked."""
    access = ", ".join(event.access) if event.access else "no change of access"
    return f"{event.kind} {applied_at(event.commit)} ({event.commit.sha[:12]}): {access}"


def _paths_note(file: str, change: Change) -> str:
    """The YAML file's older name, and the documents a change touched, if any."""
    folder = posixpath.dirname(file) or "."
    docs = [posixpath.relpath(p, folder) for p in change.paths if p != change.file_as]
    notes = []
    if change.file_as is None:
        notes.append(_("documents only"))
    elif change.file_as != file:
        notes.append(_("as {file}").format(file=change.file_as))
    if docs:
        notes.append(("" if change.file_as is None else _("with ")) + ", ".join(docs))
    joined = ": ".join(notes) if change.file_as is None else "; ".join(notes)
    return f" ({joined})" if notes else ""


@FORMATS.register("text")
def render_text(history: History) -> str:
    out: list[str] = []
    for tl in history.timelines:
        ref = tl.ref
        out.append(ref.file)
        out.append(f"  {_about(ref)}")
        out += ["  " + _("note: ") + n for n in _notes(ref)]
        if not tl.changes:
            out.append("  " + _("requested: no commit on the checked-out branch changed this file"))
        else:
            out.append("  " + _("requested and approved (changes on this branch, newest first):"))
        for ch in tl.changes:
            c = ch.commit
            paths = _paths_note(ref.file, ch)
            out.append(
                f"    {c.author_date} {c.sha[:12]} {_who(c.author, c.author_email)}: "
                f"{c.subject}{paths}"
            )
            out.append("      " + _("approved: ") + approval_text(ch.approval))
        out.append("  " + _("provisioned:"))
        for p in tl.provisioned:
            lines = provisioning_lines(p)
            out.append(f"    {p.environment}: {lines[0]}")
            out += [f"         {line}" for line in lines[1:]]
        out.append("")
    if not history.timelines:
        out.append(_("no integrations"))
    out += [_("warning: ") + w.message for w in history.warnings]
    # Names, subjects and trailers come from files and commits: one line each, nothing hidden.
    return "\n".join(visible(line) for line in out).rstrip("\n")


def _cell(text: str) -> str:
    """Prose in a markdown table cell: no markup, no cell boundary, no line break."""
    return md_text(text)


@FORMATS.register("markdown")
def render_markdown(history: History) -> str:
    out: list[str] = []
    for tl in history.timelines:
        ref = tl.ref
        out += [f"#### {md_code(ref.file)}", "", _cell(_about(ref))]
        out += ["- " + _("note: ") + _cell(n) for n in _notes(ref)]
        heading = _("| step | when | who | commit | what |")
        out += ["", heading, "|---|---|---|---|---|"]
        requested, approved = _("requested"), _("approved")
        if not tl.changes:
            out.append(f"| {requested} | | | | " + _("no commit changed this file") + " |")
        for ch in tl.changes:
            c = ch.commit
            out.append(
                f"| {requested} | {_cell(c.author_date)} | {_cell(_who(c.author, c.author_email))} "
                f"| `{c.sha[:12]}` | {_cell(c.subject)} |"
            )
            m = ch.approval.merge
            if m is None:
                out.append(f"| {approved} | | | | " + _("no merge commit: pushed directly") + " |")
            else:
                out.append(
                    f"| {approved} | {_cell(m.committer_date)} "
                    f"| {_cell(_who(m.author, m.author_email))} "
                    f"| `{m.sha[:12]}` | {_cell(m.subject)} |"
                )
        for p in tl.provisioned:
            step = _("provisioned {env}").format(env=p.environment)
            if p.first is None:
                not_yet = _("not yet in {env}").format(env=p.environment)
                out.append(f"| {step} | | | | {not_yet} |")
            for label, event in (
                (_("first"), p.first),
                (_("last change"), p.last_change),
                (_("removed"), p.removed),
            ):
                if event is not None:
                    c2 = event.commit
                    actor = c2.trailers.get("CI-Actor", "")
                    out.append(
                        f"| {step} | {_cell(applied_at(c2))} | {_cell(actor)} | `{c2.sha[:12]}` "
                        f"| {label}; {_cell(_ledger_facts(c2))} |"
                    )
            for event in p.events:
                access = ", ".join(event.access) or "no change of access"
                out.append(
                    f"| {step} | {_cell(applied_at(event.commit))} | | "
                    f"`{event.commit.sha[:12]}` | {event.kind}: {_cell(access)} |"
                )
        out.append("")
    if not history.timelines:
        out.append(_("no integrations"))
    out += ["> " + _("warning: ") + _cell(w.message) for w in history.warnings]
    return "\n".join(out).rstrip("\n")


def _commit_dict(c: Commit) -> dict[str, Any]:
    return {
        "commit": c.sha,
        "author": c.author,
        "author_email": c.author_email,
        "author_date": c.author_date,
        "committer": c.committer,
        "committer_email": c.committer_email,
        "committer_date": c.committer_date,
        "subject": c.subject,
    }


def _event_dict(event: LedgerEvent | None) -> dict[str, Any] | None:
    if event is None:
        return None
    c = event.commit
    return {
        "event": event.kind,
        "ledger_commit": c.sha,
        "applied_at": applied_at(c),
        "trailers": dict(c.trailers),
        "access": list(event.access),
    }


def as_dict(history: History) -> dict[str, Any]:
    integrations = []
    for tl in history.timelines:
        ref = tl.ref
        changes = []
        for ch in tl.changes:
            m = ch.approval.merge
            changes.append(
                {
                    **_commit_dict(ch.commit),
                    "paths": list(ch.paths),
                    "file_as": ch.file_as,
                    "approval": {
                        "kind": ch.approval.kind,
                        "pull_request": ch.approval.pull_request,
                        "merge": _commit_dict(m) if m is not None else None,
                    },
                }
            )
        provisioned = {
            p.environment: {
                "present": p.first is not None and p.removed is None,
                "first": _event_dict(p.first),
                "last_change": _event_dict(p.last_change),
                "removed": _event_dict(p.removed),
                "events": [_event_dict(e) for e in p.events],
            }
            for p in tl.provisioned
        }
        integrations.append(
            {
                "file": ref.file,
                "key": ref.key,
                "fp": ref.fp,
                "ine10": ref.ine10,
                "provider": ref.provider,
                "entity_name": ref.entity_name,
                "provider_name": ref.provider_name,
                "environment": ref.environment,
                "documents": list(ref.documents),
                "in_checkout": ref.in_checkout,
                "problem": ref.problem,
                "requested": changes,
                "provisioned": provisioned,
            }
        )
    return {
        "head": history.head,
        "integrations": integrations,
        "warnings": [w.message for w in history.warnings],
    }


@FORMATS.register("json")
def render_json(history: History) -> str:
    return json_text(as_dict(history))


# ----------------------------------------------------------------------------- controls


@dataclass(frozen=True, slots=True)
class ControlException:
    """One thing an auditor looks at twice: what, which commit, when, who."""

    kind: Literal["direct-push", "ledger-not-ci", "pro-without-pre", "catalog-change"]
    commit: str
    when: str
    who: str
    what: str


def _moment(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _pre_state_at(pre: Sequence[LedgerCommit], when: datetime | None) -> Mapping[str, Any]:
    """The records of the last PRE ledger commit applied at or before when."""
    state: Mapping[str, Any] = {}
    for commit in pre:
        applied = _moment(applied_at(commit))
        if when is not None and applied is not None and applied > when:
            break
        if commit.records is not None:
            state = commit.records
    return state


def control_exceptions(
    commits: Mapping[str, Commit],
    head: str | None,
    log: Sequence[tuple[str, Sequence[FileChange]]],
    ledgers: Mapping[str, Sequence[LedgerCommit]],
    bot: str,
) -> list[ControlException]:
    """The exceptions of the controls an auditor runs, oldest first within each kind.

    - a commit on the main line (HEAD's first parents) that changed integrations/ or catalog/
      without a merge: nobody approved it in a pull request;
    - a ledger commit not made by CI (no CI run recorded) or not written by the tool (bot);
    - a PRO ledger event whose access PRE did not hold, as applied, at that time;
    - every change of catalog/ (register, trust, policy, signers), with how it came in.
    """
    out: list[ControlException] = []
    brought = introduced_by(commits, head)
    for sha, changes in reversed(log):
        c = commits.get(sha)
        if c is None:
            continue
        paths = sorted({ch.path for ch in changes})
        if brought.get(sha) == sha and c.parents:
            out.append(
                ControlException(
                    "direct-push",
                    sha,
                    c.committer_date,
                    f"{c.committer} <{c.committer_email}>",
                    f"changed {', '.join(paths)} on the main line without a merge: {c.subject}",
                )
            )
        catalog = [p for p in paths if p.startswith("catalog/")]
        if catalog:
            how = approval_text(approval_of(sha, commits, brought))
            out.append(
                ControlException(
                    "catalog-change",
                    sha,
                    c.author_date,
                    f"{c.author} <{c.author_email}>",
                    f"changed {', '.join(catalog)} ({c.subject}); {how}",
                )
            )
    for env in ENVIRONMENT_NAMES:
        for lc in ledgers.get(env, ()):
            run = lc.trailers.get("CI-Run", "")
            if not run or run.startswith("none") or (lc.author and lc.author != bot):
                out.append(
                    ControlException(
                        "ledger-not-ci",
                        lc.sha,
                        applied_at(lc),
                        lc.author or "?",
                        f"provisioned/{env} commit not made by CI (CI-Run: {run or 'missing'})",
                    )
                )
    pro_events, _ = ledger_events(ledgers.get("PRO", ()))
    pre = ledgers.get("PRE", ())
    for key, events in sorted(pro_events.items()):
        for event in events:
            if event.kind == "removed" or event.commit.records is None:
                continue
            record = event.commit.records.get(key, {})
            held = _pre_state_at(pre, _moment(applied_at(event.commit))).get(key)
            differs = [
                k
                for k in ("certificate", "ips", "modalities")
                if not isinstance(held, Mapping) or held.get(k) != record.get(k)
            ]
            if differs:
                out.append(
                    ControlException(
                        "pro-without-pre",
                        event.commit.sha,
                        applied_at(event.commit),
                        event.commit.trailers.get("CI-Actor", event.commit.author or "?"),
                        f"{key} {event.kind} in PRO with {', '.join(differs)} that PRE did not "
                        "hold as applied at that time",
                    )
                )
    return out


def render_controls(found: Sequence[ControlException], fmt: str) -> str:
    if fmt == "json":
        return json_text({"exceptions": [asdict(e) for e in found]})
    if fmt == "markdown":
        out = [f"**{len(found)} exception(s)**", ""]
        if found:
            out += ["| control | when | who | commit | what |", "|---|---|---|---|---|"]
            out += [
                f"| {e.kind} | {_cell(e.when)} | {_cell(e.who)} | `{e.commit[:12]}` "
                f"| {_cell(e.what)} |"
                for e in found
            ]
        return "\n".join(out)
    lines = [f"{e.kind} {e.when} {e.commit[:12]} {e.who}: {e.what}" for e in found]
    lines.append(f"{len(found)} exception(s)")
    return "\n".join(visible(line) for line in lines)
