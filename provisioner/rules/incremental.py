"""Incremental validation: a file's results from the last run, reused while nothing changed.

Pure: the edge (provisioner.runtime.results) keeps the state between runs and lends it as a
ResultMemory; this module decides what may be reused. A file's result is reused only when all
of these are as they were:
- the tool's version, the catalog's three files and the trusted roots' files (the context; any
  change drops every result);
- the bytes of the YAML file;
- for every path the file names (CDA, form, evidence): where it resolves (or which path problem
  it has) and the bytes of the file behind it;
- for the signed form, that no certificate validity bound (signers, trusted CAs) lies between
  the time of its check and now.
What depends on the clock and changes without any file changing (a CDA that expires) is
computed again on every run from the dates kept here; checks across files (duplicates,
overlaps) always run again, over every file's model. A result that does not have the expected
shape is not reused.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from provisioner.catalog import IP_POLICY_FILE, REGISTER_FILE, SERVICE_FILE
from provisioner.diagnostics import Finding
from provisioner.documents.form import window_holds
from provisioner.documents.identity import CertificateIdentity, FileDigest, ReadDocuments
from provisioner.loading.paths import RepositoryFiles
from provisioner.loading.sources import relative_name
from provisioner.rules import BATCHED_RULES, FILE_RULES, SET_RULES, RuleContext, all_rules
from provisioner.rules.documents import (
    FINGERPRINT_MEMO,
    FORM_SIGNERS_MEMO,
    FORM_VERDICT_MEMO,
    FORM_VERIFIED_MEMO,
    READ_MEMO,
    SERVICE_REL,
    TRUST_MEMO,
    VALIDITY_MEMO,
    cda_fingerprint,
    clock_diagnostics,
    trust,
    trust_users,
)
from provisioner.rules.entity import partial_entity_diagnostics
from provisioner.source import Source

#: Changes whenever what an entry holds or means changes.
SHAPE = 2
#: Codes a CDA gets from the clock alone: computed again on every run.
CLOCK_CODES = frozenset({"CDA-NOT-YET-VALID", "CDA-EXPIRED", "CDA-EXPIRING"})
#: Documents are hashed whole; a path naming something bigger is checked again each run.
MAX_DEPENDENCY_BYTES = 32 * 1024 * 1024


class ResultMemory(Protocol):
    """Where results are kept between runs (the edge decides): one JSON-like state."""

    def load(self) -> Mapping[str, Any] | None: ...

    def save(self, state: Mapping[str, Any]) -> None: ...


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def context_key(parts: Iterable[tuple[str, bytes | None]]) -> str:
    """The key of what every file's result depends on: the catalog and the trusted roots.

    The tool's version is the edge's to check (a result file of another version is ignored).
    """
    h = hashlib.sha256(f"{SHAPE}\0".encode())
    for name, data in parts:
        h.update(name.encode() + b"\0")
        h.update(b"-" if data is None else digest(data).encode())
        h.update(b"\0")
    return h.hexdigest()


# --- what a path resolves to, as a comparable value --------------------------------------------


def resolution(files: RepositoryFiles, folder: Path, written: str) -> list[Any]:
    """Where a written path leads now: ["problem", code] or ["file", where, sha256 or None]."""
    found = files.check(folder, written)
    if isinstance(found, tuple):
        return ["problem", found[0]]
    try:
        data: str | None = digest(files.read(found, MAX_DEPENDENCY_BYTES))
    except OSError:
        data = None  # unreadable or too large: never equal to a kept result (see below)
    return ["file", _portable(found, files.root), data]


def _portable(path: Path, root: Path) -> str:
    """Relative to the repository when inside it: a restored cache works in another checkout.

    root is the run's resolved repository root (validation resolves it first).
    """
    text, prefix = str(path), str(root) + os.sep
    return text[len(prefix) :] if text.startswith(prefix) else text


def dependencies_hold(files: RepositoryFiles, folder: Path, kept: Any) -> bool:
    if not isinstance(kept, list):
        return False
    for item in kept:
        written, was = item
        now = resolution(files, folder, written)
        if now != was or (now[0] == "file" and now[2] is None):
            return False
    return True


# --- (de)serialising what a result holds -------------------------------------------------------


def diagnostic_to_json(d: Finding) -> list[Any]:
    return [d.line, d.column, d.code, d.severity, d.message]


def diagnostic_from_json(rel: str, raw: Sequence[Any]) -> Finding:
    line, column, code, severity, message = raw
    if severity not in ("error", "warning") or not isinstance(message, str):
        raise ValueError("not a diagnostic")
    return Finding(severity, str(code), message, rel, int(line), int(column))


def positions_to_json(positions: Mapping[tuple[str | int, ...], tuple[int, int]]) -> list[Any]:
    return [[list(path), line, col] for path, (line, col) in positions.items()]


def positions_from_json(raw: Sequence[Any]) -> dict[tuple[str | int, ...], tuple[int, int]]:
    return {tuple(path): (int(line), int(col)) for path, line, col in raw}


def _identity_to_json(identity: CertificateIdentity | None) -> Any:
    return None if identity is None else identity.as_dict()


def _identity_from_json(raw: Any) -> CertificateIdentity | None:
    if raw is None:
        return None
    return CertificateIdentity(
        subject=str(raw["subject"]),
        issuer=str(raw["issuer"]),
        serial=str(raw["serial"]),
        sha256=str(raw["sha256"]),
        not_before=datetime.fromisoformat(raw["not_before"]),
        not_after=datetime.fromisoformat(raw["not_after"]),
    )


def _digest_to_json(found: FileDigest | None, root: Path) -> Any:
    return None if found is None else [_portable(found.path, root), found.sha256, found.size]


def _digest_from_json(raw: Any, root: Path) -> FileDigest | None:
    if raw is None:
        return None
    where, sha256, size = raw
    path = Path(where) if os.path.isabs(where) else root / where
    return FileDigest(path, str(sha256), int(size))


def read_to_json(read: ReadDocuments | None, root: Path) -> Any:
    if read is None:
        return None
    return [
        _digest_to_json(read.cda, root),
        _identity_to_json(read.identity),
        _digest_to_json(read.form, root),
    ]


def read_from_json(raw: Any, root: Path) -> ReadDocuments | None:
    if raw is None:
        return None
    cda, identity, form = raw
    return ReadDocuments(
        _digest_from_json(cda, root), _identity_from_json(identity), _digest_from_json(form, root)
    )


def timestamp(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()


# --- one run ---------------------------------------------------------------------------------


@dataclass
class Checked:
    sources: list[Source] = field(default_factory=list)  # every valid file, in file order
    diagnostics: list[Finding] = field(default_factory=list)
    reused: int = 0  # files whose result was reused


def _context(ctx: RuleContext) -> str:
    catalog = ctx.catalog
    parts: list[tuple[str, bytes | None]] = []
    for name in (SERVICE_FILE, IP_POLICY_FILE, REGISTER_FILE):
        parts.append((name, _read_or_none(ctx.files, catalog.root / name)))
    for written, path in zip(
        catalog.service.trusted_roots, catalog.trusted_root_paths(), strict=True
    ):
        parts.append((f"trust:{written}", _read_or_none(ctx.files, path)))
    return context_key(parts)


def _read_or_none(files: RepositoryFiles, path: Path) -> bytes | None:
    try:
        return files.read(path, MAX_DEPENDENCY_BYTES)
    except (OSError, ValueError):
        return None


def _written_paths(src: Source) -> list[str]:
    integration = src.integration
    return [integration.cda, integration.form, *integration.homologation]


def _reuse(kept: Any, sha256: str, rel: str, path: Path, ctx: RuleContext) -> Source | None:
    """The file's Source rebuilt from its kept result, or None when it must be checked again."""
    from provisioner.loading.strict_yaml import Document
    from provisioner.model import trusted_integration

    try:
        if kept["yaml"] != sha256 or kept["model"] is None:
            return None
        absolute = path.absolute()
        if not dependencies_hold(ctx.files, absolute.parent, kept["deps"]):
            return None
        form = kept["form"]
        if form is not None and not window_holds(form[0], form[1], timestamp(ctx.now)):
            return None
        doc = Document(
            rel,
            kept["model"],
            positions_from_json(kept["positions"]),
            positions_from_json(kept["keys"]),
        )
        return Source(rel, absolute, ctx.repo_root, trusted_integration(kept["model"]), doc)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None  # not the shape this version writes: check the file again


def check_files(paths: Sequence[Path], ctx: RuleContext, memory: ResultMemory | None) -> Checked:
    """Load and check every file, reusing kept results where nothing they depend on changed."""
    from provisioner.loading.raw import read_raw

    all_rules()
    state = memory.load() if memory is not None else None
    context = _context(ctx) if memory is not None else ""
    same = isinstance(state, Mapping) and state.get("context") == context
    kept_files: Mapping[str, Any] = state.get("files", {}) if same and state else {}
    if not isinstance(kept_files, Mapping):
        kept_files = {}
    out = Checked()
    entries: dict[str, Any] = {}
    fresh: list[tuple[Source, str, list[Finding]]] = []
    reused: list[tuple[Source, Mapping[str, Any]]] = []
    for path in paths:
        rel = relative_name(path, ctx.repo_root)
        raw, problems = read_raw(path, rel, ctx.repo_root)
        if raw is None:
            out.diagnostics += problems
            continue
        sha256 = digest(raw)
        kept = kept_files.get(rel)
        if isinstance(kept, Mapping):
            if kept.get("yaml") == sha256 and kept.get("model") is None and "diags" in kept:
                try:  # a file that does not load: its problems depend on its bytes alone
                    out.diagnostics += [diagnostic_from_json(rel, d) for d in kept["diags"]]
                    entries[rel] = kept
                    out.reused += 1
                    continue
                except (TypeError, ValueError):
                    pass
            src = _reuse(kept, sha256, rel, path, ctx)
            if src is not None:
                out.sources.append(src)
                reused.append((src, kept))
                entries[rel] = kept
                out.reused += 1
                continue
        from provisioner.loading.loader import parse_model
        from provisioner.model import Integration

        integration, doc, problems = parse_model(raw, rel, Integration)
        if integration is None or doc is None:
            if doc is not None:
                # Eligibility first, as the procedure asks: the entity rules on what the file
                # has (they depend on the register, which is part of the kept results' context).
                problems = problems + partial_entity_diagnostics(doc, ctx.catalog)
            out.diagnostics += problems
            entries[rel] = {
                "yaml": sha256,
                "model": None,
                "diags": [diagnostic_to_json(d) for d in problems],
            }
            continue
        src = Source(rel, path.absolute(), ctx.repo_root, integration, doc)
        out.sources.append(src)
        fresh.append((src, sha256, problems))
    # File rules, and the batched rules (forms checked together), on what was not reused.
    found: dict[str, list[Finding]] = {}
    for src, _, problems in fresh:
        mine = found[src.rel] = list(problems)
        for rule in FILE_RULES:
            mine.extend(rule.check(src, ctx))
    stray: list[Finding] = []
    batch = [src for src, _, _ in fresh]
    for rule in BATCHED_RULES:
        for d in rule.check(batch, ctx):
            found.get(d.file, stray).append(d)
    for src, kept in reused:
        _recall(src, kept, ctx)
        out.diagnostics += [diagnostic_from_json(src.rel, d) for d in kept["diags"]]
        out.diagnostics += clock_diagnostics(src, kept.get("cda_validity"), ctx)
    for src, sha256, _ in fresh:
        out.diagnostics += found[src.rel]
        entry = _entry(src, sha256, found[src.rel], ctx) if memory is not None else None
        if entry is not None:
            entries[src.rel] = entry
    out.diagnostics += stray
    for rule in SET_RULES:
        out.diagnostics.extend(rule.check(out.sources, ctx))
    users = trust_users(ctx) | {src.rel for src, kept in reused if kept.get("trust_user")}
    trust_kept = state.get("trust") if same and state else None
    if users:
        out.diagnostics += _trust_problems(ctx, trust_kept)
    if memory is not None:
        known = ctx.memo.get(TRUST_MEMO)
        trust_now = (
            [diagnostic_to_json(d) for d in known.problems] if known is not None else trust_kept
        )
        changed = any(entries[rel] is not kept_files.get(rel) for rel in entries)
        if not same or changed or trust_now != trust_kept or entries.keys() != kept_files.keys():
            memory.save({"context": context, "trust": trust_now, "files": entries})
    return out


def _trust_problems(ctx: RuleContext, kept: Any) -> list[Finding]:
    if ctx.memo.get(TRUST_MEMO) is None and isinstance(kept, list):
        try:
            return [diagnostic_from_json(SERVICE_REL, d) for d in kept]
        except (TypeError, ValueError):
            pass
    return trust(ctx).problems


def _recall(src: Source, kept: Mapping[str, Any], ctx: RuleContext) -> None:
    """Put what the rules would have noted about a reused file where the later steps look."""
    ctx.memo.setdefault(FINGERPRINT_MEMO, {})[src.rel] = kept["cda_sha"]
    if kept["signers"] is not None:
        ctx.memo.setdefault(FORM_SIGNERS_MEMO, {})[src.rel] = tuple(kept["signers"])
    verified = kept.get("verified")
    if isinstance(verified, list) and all(isinstance(v, str) for v in verified):
        ctx.memo.setdefault(FORM_VERIFIED_MEMO, {})[src.rel] = tuple(verified)
    read = read_from_json(kept["read"], ctx.repo_root)
    if read is not None:
        ctx.memo.setdefault(READ_MEMO, {})[src.rel] = read


def _entry(
    src: Source, sha256: str, diagnostics: Sequence[Finding], ctx: RuleContext
) -> dict[str, Any] | None:
    folder = src.folder
    verdict = ctx.memo.get(FORM_VERDICT_MEMO, {}).get(src.rel)
    form = None
    if verdict is not None:
        if verdict.checked_at is None:
            return None  # a verdict without its time of check: check this file every run
        form = [list(verdict.bounds), verdict.checked_at]
    signers = ctx.memo.get(FORM_SIGNERS_MEMO, {}).get(src.rel)
    return {
        "yaml": sha256,
        "deps": [[w, resolution(ctx.files, folder, w)] for w in _written_paths(src)],
        # Every field, defaults too: rebuilding the model then calls no default factory.
        "model": src.integration.model_dump(),
        "positions": positions_to_json(src.doc.positions),
        "keys": positions_to_json(src.doc.key_positions),
        "diags": [diagnostic_to_json(d) for d in diagnostics if d.code not in CLOCK_CODES],
        "cda_validity": ctx.memo.get(VALIDITY_MEMO, {}).get(src.rel),
        "form": form,
        "cda_sha": cda_fingerprint(src, ctx),
        "signers": None if signers is None else list(signers),
        "verified": list(ctx.memo.get(FORM_VERIFIED_MEMO, {}).get(src.rel, ())),
        "read": read_to_json(ctx.memo.get(READ_MEMO, {}).get(src.rel), ctx.repo_root),
        "trust_user": src.rel in trust_users(ctx),
    }
