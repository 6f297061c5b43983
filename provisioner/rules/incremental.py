"""Incremental validation: each file's result of the last run, reused while nothing it depends on
changed (provisioner.rules.kept says what is kept and when it still holds).

A file's result is reused only when all of these are as they were:
- the tool's version, the catalog's three files and the trusted roots' files (the context; any
  change drops every result);
- the bytes of the YAML file;
- for every path the file names (CDA, form, evidence): where it resolves (or which path problem
  it has) and the bytes of the file behind it;
- for the signed form, that no certificate validity bound (signers, trusted CAs) lies between
  the time of its check and now.
What depends on the clock alone (a CDA that expires) is computed again on every run from the
dates kept. Checks across files (duplicates, overlaps) always run again, over every file's
facts (provisioner.source.Facts): a reused file is not loaded for them. Its model is rebuilt
only when the caller needs every file loaded (the plan); the validate command does not.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from provisioner.diagnostics import Finding
from provisioner.documents.identity import CertificateIdentity, FileDigest, ReadDocuments
from provisioner.loading.tree import Observed, Signature, Tree, relative_name
from provisioner.rules import BATCHED_RULES, FILE_RULES, SET_RULES, RuleContext, all_rules
from provisioner.rules.documents import (
    FORM_SIGNERS_MEMO,
    FORM_VERDICT_MEMO,
    FORM_VERIFIED_MEMO,
    READ_MEMO,
    SERVICE_REL,
    TRUST_MEMO,
    VALIDITY_MEMO,
    trust,
    trust_users,
)
from provisioner.rules.entity import partial_entity_diagnostics
from provisioner.rules.facts import facts_of
from provisioner.rules.kept import (
    CLOCK_CODES,
    FILES,
    MODELS,
    RUN,
    SHAPE,
    FileState,
    Parts,
    Piece,
    ResultMemory,
    Rows,
    Span,
    clock_findings,
    content_key,
    content_of,
    context_key,
    decode,
    dependencies_hold,
    digest,
    encode,
    encode_files,
    file_state,
    files_part,
    finding_from_json,
    finding_to_json,
    form_window_holds,
    portable,
    resolution,
    run_summary,
    tree_record,
    vouched_targets,
)
from provisioner.source import Facts, Source

_NOT_KEPT = (KeyError, TypeError, ValueError, IndexError, AttributeError)


@dataclass
class Checked:
    # Loaded files in file order: every one when check_files was asked for sources, else only
    # those checked again.
    sources: list[Source] = field(default_factory=list)
    diagnostics: list[Finding] = field(default_factory=list)
    reused: int = 0  # files whose result was reused
    content: str | None = None  # the kept run's kept.content_key (None: not every result kept)


# --- (de)serialising what the rules noted -------------------------------------------------------


def positions_to_json(positions: dict[tuple[str | int, ...], tuple[int, int]]) -> list[Any]:
    return [[list(path), line, col] for path, (line, col) in positions.items()]


def positions_from_json(raw: Sequence[Any]) -> dict[tuple[str | int, ...], tuple[int, int]]:
    return {tuple(path): (int(line), int(col)) for path, line, col in raw}


def facts_to_json(facts: Facts) -> list[Any]:
    return [
        facts.fp,
        facts.ine10,
        facts.entity_name,
        facts.provider_nif,
        facts.provider_name,
        list(facts.ips),
        facts.cda_sha256,
        facts.form_sha256,
        [list(claim) for claim in facts.claims],
        {key: list(place) for key, place in facts.places.items()},
    ]


def facts_from_json(rel: str, raw: Any) -> Facts:
    fp, ine10, entity_name, provider_nif, provider_name, ips, cda, form, claims, places = raw
    texts = (fp, ine10, entity_name, provider_nif, provider_name, *ips)
    if not all(type(t) is str for t in texts) or type(places) is not dict:
        raise ValueError("not facts")
    kept_claims = tuple((int(i), int(v), int(first), int(last)) for i, v, first, last in claims)
    if any(not 0 <= claim[0] < len(ips) for claim in kept_claims):
        raise ValueError("not facts")
    return Facts(
        rel,
        fp,
        ine10,
        entity_name,
        provider_nif,
        provider_name,
        tuple(ips),
        None if cda is None else str(cda),
        None if form is None else str(form),
        kept_claims,
        {str(key): (int(line), int(col)) for key, (line, col) in places.items()},
    )


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


def _digest_to_json(found: FileDigest | None, root: str) -> Any:
    return None if found is None else [portable(str(found.path), root), found.sha256, found.size]


def _digest_from_json(raw: Any, root: Path) -> FileDigest | None:
    if raw is None:
        return None
    where, sha256, size = raw
    return FileDigest(root / where, str(sha256), int(size))


def read_to_json(read: ReadDocuments | None, root: str) -> Any:
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


# --- one run ---------------------------------------------------------------------------------


@dataclass
class _Kept:
    """What the last run kept, as far as it holds in this run's context."""

    run: dict[str, Any] = field(default_factory=dict)
    rows: Rows | None = None  # each file's entry, decoded when asked
    memory: ResultMemory | None = None
    clean: set[str] = field(default_factory=set)  # files a replay found with their signatures
    _starts: list[int] | None = None  # where each line of the models part starts
    _models: bytes | None = None  # the models part, when models are rebuilt

    def entry(self, rel: str) -> Any:
        """rel's kept entry (decoded now: the run holds what it needs of it, not all of it)."""
        return None if self.rows is None else self.rows.entry(rel)

    def model_line(self, index: Any, rebuild: bool) -> Span | None:
        """Where a loaded file's kept line of the models part lies (found once, when first
        needed; the part itself is read only when models are rebuilt)."""
        if self._starts is None:
            if rebuild and self.memory is not None:
                self._models = self.memory.load(MODELS)  # read once: the lines are found in it
                self._starts = _line_starts(self._models or b"")
            else:
                found = self.memory.lines(MODELS) if self.memory is not None else None
                self._starts = found or []
        if type(index) is not int or not 0 <= index < len(self._starts) - 1:
            return None
        return Span(MODELS, self._starts[index], self._starts[index + 1] - 1)

    def model_bytes(self, line: Span | None) -> bytes | None:
        data = self._models
        return None if data is None or line is None else data[line.start : line.stop]


def _line_starts(data: bytes) -> list[int]:
    """ResultMemory.lines of data."""
    if not data:
        return []
    starts = [0]
    found = data.find(b"\n")
    while found >= 0:
        starts.append(found + 1)
        found = data.find(b"\n", found + 1)
    starts.append(len(data) + 1)
    return starts


def _load_kept(parts: Parts | None, context: str) -> _Kept:
    if parts is None:
        return _Kept()
    run = parts.get(RUN)
    if not (isinstance(run, dict) and run.get("shape") == SHAPE and run.get("context") == context):
        return _Kept(memory=parts.memory)
    return _Kept(run, parts.rows(), parts.memory, parts.clean)


@dataclass(slots=True)
class _Brief:
    """What the run part needs of a file's entry (the entry itself is not held: 10,000 of
    them hold about 50 MB)."""

    loaded: bool
    diags: Sequence[Any]
    clock: Sequence[Any] | None
    form: tuple[Any, Any] | None  # bounds, checked at
    targets: list[str] | None  # its documents (kept.vouched_targets)
    content: bytes | None  # its share of the run's content key (kept.content_of)


def _written_paths(src: Source) -> list[str]:
    integration = src.integration
    return [integration.cda, integration.form, *integration.homologation]


def _rebuild(line: bytes | None, rel: str, path: str, ctx: RuleContext) -> Source | None:
    """A reused file's Source from its kept model line, with what its rules noted recalled."""
    from provisioner.loading.strict_yaml import Document
    from provisioner.model import trusted_integration

    raw = decode(line)
    if not isinstance(raw, list):
        return None
    model, positions, keys, signers, verified, read = raw
    doc = Document(rel, model, positions_from_json(positions), positions_from_json(keys))
    src = Source(rel, Path(path), ctx.repo_root, trusted_integration(model), doc)
    if signers is not None:
        ctx.memo.setdefault(FORM_SIGNERS_MEMO, {})[rel] = tuple(str(s) for s in signers)
    if isinstance(verified, list) and all(isinstance(v, str) for v in verified):
        ctx.memo.setdefault(FORM_VERIFIED_MEMO, {})[rel] = tuple(verified)
    documents = read_from_json(read, ctx.repo_root)
    if documents is not None:
        ctx.memo.setdefault(READ_MEMO, {})[rel] = documents
    return src


class _Run:
    """One pass over the files: what is reused, what is checked again, what will be kept."""

    def __init__(self, ctx: RuleContext, kept: _Kept, seen: Observed, sources: bool) -> None:
        self.ctx, self.kept, self.seen, self.sources = ctx, kept, seen, sources
        self.settled_before = kept.memory.settled_before if kept.memory is not None else 0
        self.warning_days = ctx.catalog.service.certificate_expiry_warning_days
        self.out = Checked()
        self.briefs: dict[str, _Brief] = {}  # what the run part needs, per file
        self.entries: dict[str, Any] = {}  # the entries to write, of files whose entry changed
        self.unchanged: set[str] = set()  # files whose kept row is written again as it was
        self.models: list[Piece] = []  # the models part's lines this run keeps
        # Per loaded file in file order: its kept facts, or its Source (facts once checked).
        self.slots: list[Facts | Source] = []
        self.trusting: set[str] = set()  # reused files whose checks needed the trusted roots
        self.complete = True  # every file's result is kept (a replay of the run is possible)
        self._facts: dict[str, Facts] = {}
        self._bounds: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def keep(self, rel: str, folder: str, entry: dict[str, Any], kept: Any = None) -> None:
        """Keep rel's entry; kept: its kept entry, whose row is written again if it is the same."""
        form = entry["form"]
        if form is not None:  # forms signed under the same CAs share their bounds
            bounds = tuple(form[0])
            form = (self._bounds.setdefault(bounds, bounds), form[1])
        clock = entry["clock"]
        self.briefs[rel] = _Brief(
            entry["loaded"],
            entry["diags"] or (),
            None if clock is None else tuple(clock),
            form,
            vouched_targets(folder, entry["deps"], self.seen),
            content_of(rel, entry),
        )
        rows = self.kept.rows
        if (
            kept is not None
            and rows is not None
            and rel in rows.spans
            and all(
                entry[key] is kept[key] or entry[key] == kept[key] for key in ("sig", "deps", "m")
            )
        ):
            self.unchanged.add(rel)
            self.entries.pop(rel, None)
        else:
            self.entries[rel] = entry
            self.unchanged.discard(rel)

    def files_part(self, every: Sequence[str]) -> list[Piece]:
        """The "files" part this run keeps, in file order: rows kept as they were (copied
        from the last run's part), and the entries that changed."""
        lines = [
            (rel, None if rel in self.unchanged else encode([rel, self.entries[rel]]))
            for rel in every
            if rel in self.unchanged or rel in self.entries
        ]
        return files_part(self.kept.rows, lines) or [encode_files({})]

    def models_part(self) -> list[Piece]:
        """The models part this run keeps: lines kept as they were are copied from the last
        run's part (lines that followed each other there, in one span)."""
        out: list[Piece] = []
        for line in self.models:
            last = out[-1] if out else None
            if isinstance(line, Span) and isinstance(last, Span) and last.stop + 1 == line.start:
                out[-1] = Span(MODELS, last.start, line.stop)  # with the newline between
                continue
            if out:
                out.append(b"\n")
            out.append(line)
        return out

    def facts(self, src: Source) -> Facts:
        """The facts of a file checked in this run (taken once)."""
        found = self._facts.get(src.rel)
        if found is None:
            found = self._facts[src.rel] = facts_of(src, self.ctx)
        return found

    def reuse(self, rel: str, path: str, entry: Any, sig: Signature | None) -> bool:
        """Reuse the kept result of a file whose bytes did not change, if what else it depends
        on holds; False when it must be checked again."""
        ctx = self.ctx
        if not entry["loaded"]:  # a file that does not load: its problems depend on its bytes
            self.out.diagnostics += [finding_from_json(rel, d) for d in entry["diags"]]
            self.keep(rel, os.path.dirname(path), {**entry, "sig": sig}, entry)
            self.out.reused += 1
            return True
        holds, deps = True, None
        folder = os.path.dirname(path)
        if rel not in self.kept.clean:
            holds, deps = dependencies_hold(
                ctx.files, self.seen, folder, entry["deps"], self.settled_before
            )
        if not holds or not form_window_holds(entry["form"], ctx.now):
            return False
        facts = facts_from_json(rel, entry["facts"])
        found = [finding_from_json(rel, d) for d in entry["diags"]]
        found += clock_findings(rel, entry["clock"], self.warning_days, ctx.now)
        line = self.kept.model_line(entry["m"], self.sources)
        if self.sources:
            src = _rebuild(self.kept.model_bytes(line), rel, path, ctx)
            if src is None:
                return False
            self.out.sources.append(src)
        self.out.diagnostics += found
        self.slots.append(facts)
        if entry["trust"]:
            self.trusting.add(rel)
        index = None
        if line is not None:
            index = len(self.models)
            self.models.append(line)
        self.keep(
            rel, folder, {**entry, "sig": sig, "deps": deps or entry["deps"], "m": index}, entry
        )
        self.out.reused += 1
        return True

    def summary(
        self,
        context: str,
        paths: Sequence[str],
        every: Sequence[str],
        catalog_findings: Sequence[Finding],
        across: Sequence[Finding],
        tree: Tree | None,
    ) -> dict[str, Any]:
        """The "run" part (kept.run_summary) of this run; paths: absolute, every: relative."""
        ctx, root = self.ctx, str(self.ctx.repo_root)
        findings: list[Finding] | None = None
        briefs = [(rel, self.briefs[rel]) for rel in every if rel in self.briefs]
        if self.complete:
            findings = list(catalog_findings)
            for rel, brief in briefs:
                findings += [finding_from_json(rel, d) for d in brief.diags]
            findings += across
        record = None
        if tree is not None and self.complete:
            targets: list[str] | None = []
            for _, brief in briefs:
                if brief.loaded and targets is not None:
                    if brief.targets is None:
                        targets = None
                    else:
                        targets += brief.targets
            record = tree_record(tree, root, paths, targets, self.seen, self.settled_before)
        known = ctx.memo.get(TRUST_MEMO)
        if self.complete:
            self.out.content = content_key(context, (self.briefs[rel].content for rel in every))
        return run_summary(
            context=context,
            root=root,
            trust_roots=list(ctx.catalog.service.trusted_roots),
            warning_days=self.warning_days,
            every=every,
            findings=findings,
            clock=[[rel, *brief.clock] for rel, brief in briefs if brief.clock is not None],
            windows=[brief.form for _, brief in briefs if brief.form is not None],
            trust=(
                [finding_to_json(d) for d in known.problems]
                if known is not None
                else self.kept.run.get("trust")
            ),
            tree=record,
            content=self.out.content,
        )


def check_files(
    paths: Sequence[str | Path],
    ctx: RuleContext,
    memory: ResultMemory | None,
    *,
    sources: bool = True,
    catalog: Sequence[str] = (),
    catalog_findings: Sequence[Finding] = (),
    tree: Tree | None = None,
    seen: Observed | None = None,
    parts: Parts | None = None,
) -> Checked:
    """Load and check every file, reusing kept results where nothing they depend on changed.

    sources: load every file (rebuild reused ones from the kept models); False: only those
    checked again (the validate command needs findings only). catalog: the catalog's digests
    (kept.catalog_digests), taken before it was loaded; catalog_findings: its findings, kept
    for the replay of the run. tree: the walk of integrations/ that found the files, whose
    real folders spare the path checks of documents below them; seen: the lstats this run
    already took (before reading anything); parts: memory's parts as a replay that was tried
    read them (and the files it found with their signatures).
    """
    from provisioner.loading.raw import read_raw

    all_rules()
    root = str(ctx.repo_root)
    if seen is None:
        seen = Observed(root, tree.folders if tree is not None else ())
    context = ""
    if memory is not None:
        trust_roots = list(ctx.catalog.service.trusted_roots)
        context = context_key(catalog, ctx.catalog.root, trust_roots, ctx.files)
    if parts is None and memory is not None:
        parts = Parts(memory)
    kept = _load_kept(parts, context)
    run = _Run(ctx, kept, seen, sources)
    out = run.out
    fresh: list[tuple[Source, str, Signature | None, list[Finding]]] = []
    places: dict[str, int] = {}  # where each file checked again has its model line
    texts = [str(p) for p in paths]  # absolute
    prefix = seen.prefix
    every = [
        text[len(prefix) :].replace(os.sep, "/")
        if text.startswith(prefix)
        else relative_name(Path(text), ctx.repo_root)
        for text in texts
    ]
    for text, rel in zip(texts, every, strict=True):
        entry = kept.entry(rel)
        if entry is not None and rel in kept.clean:  # the replay found it, and its documents,
            # with their kept signatures
            state = FileState(entry["sig"], True, True)
        else:
            state = file_state(seen, text, entry, run.settled_before)
        if state.same:
            try:
                if run.reuse(rel, text, entry, state.sig):
                    continue
            except _NOT_KEPT:
                pass  # not the shape this version writes: check the file again
        raw, problems = read_raw(Path(text), rel, ctx.repo_root)
        if raw is None:
            out.diagnostics += problems
            run.complete = False
            continue
        sha256 = digest(raw)
        from provisioner.loading.loader import parse_model
        from provisioner.model import Integration

        integration, doc, problems = parse_model(raw, rel, Integration)
        if integration is None or doc is None:
            if doc is not None:
                # Eligibility first, as the procedure asks: the entity rules on what the file
                # has (they depend on the register, which is part of the kept results' context).
                problems = problems + partial_entity_diagnostics(doc, ctx.catalog)
            out.diagnostics += problems
            run.keep(rel, os.path.dirname(text), _unloaded_entry(state.sig, sha256, problems))
            continue
        src = Source(rel, Path(text), ctx.repo_root, integration, doc)
        out.sources.append(src)
        run.slots.append(src)
        fresh.append((src, sha256, state.sig, problems))
        # Its model line in its place in file order (kept once checked): the files after it
        # keep their lines' places, so their kept rows stay as they were.
        places[rel] = len(run.models)
        run.models.append(b"")
    if kept.rows is not None:
        kept.rows.release()  # every kept entry was read: the rows to keep are copied
    # What the documents of the files checked again look like before the rules read them (the
    # signatures kept with the bytes the rules saw).
    for src, _, _, _ in fresh:
        for written in _written_paths(src):
            target = ctx.files.usable(src.folder, written)
            if target is not None:
                seen.lstat(str(target))
    # File rules, and the batched rules (forms checked together), on what was not reused.
    found: dict[str, list[Finding]] = {}
    for src, _, _, problems in fresh:
        mine = found[src.rel] = list(problems)
        for rule in FILE_RULES:
            mine.extend(rule.check(src, ctx))
    stray: list[Finding] = []
    batch = [src for src, _, _, _ in fresh]
    for rule in BATCHED_RULES:
        for d in rule.check(batch, ctx):
            found.get(d.file, stray).append(d)
    for src, sha256, sig, _ in fresh:
        out.diagnostics += found[src.rel]
        if memory is None:
            continue
        made = _entry(src, sha256, sig, found[src.rel], ctx, seen, run, places[src.rel])
        if made is None:
            run.complete = False
            continue
        entry, line = made
        run.keep(src.rel, str(src.folder), entry)
        run.models[places[src.rel]] = line
    out.diagnostics += stray
    run.complete = run.complete and not stray
    facts = [s if isinstance(s, Facts) else run.facts(s) for s in run.slots]
    across: list[Finding] = []
    for rule in SET_RULES:
        across.extend(rule.check(facts, ctx))
    if trust_users(ctx) | run.trusting:
        across += _trust_problems(ctx, kept.run.get("trust"))
    out.diagnostics += across
    if memory is not None:
        summary = run.summary(context, texts, every, catalog_findings, across, tree)
        memory.save(
            {
                RUN: encode(summary),
                FILES: run.files_part(every),
                MODELS: run.models_part(),
            }
        )
    return out


def _trust_problems(ctx: RuleContext, kept: Any) -> list[Finding]:
    if ctx.memo.get(TRUST_MEMO) is None and isinstance(kept, list):
        try:
            return [finding_from_json(SERVICE_REL, d) for d in kept]
        except _NOT_KEPT:
            pass
    return trust(ctx).problems


def _unloaded_entry(
    sig: Signature | None, sha256: str, problems: Sequence[Finding]
) -> dict[str, Any]:
    return {
        "sig": sig,
        "sha": sha256,
        "loaded": False,
        "diags": [finding_to_json(d) for d in problems],
        "deps": [],
        "clock": None,
        "form": None,
        "trust": False,
        "facts": None,
        "m": None,
    }


def _entry(
    src: Source,
    sha256: str,
    sig: Signature | None,
    diagnostics: Sequence[Finding],
    ctx: RuleContext,
    seen: Observed,
    run: _Run,
    index: int,
) -> tuple[dict[str, Any], bytes] | None:
    """A checked file's entry and models line (index: the line's place); None when its result
    cannot be kept."""
    verdict = ctx.memo.get(FORM_VERDICT_MEMO, {}).get(src.rel)
    form = None
    if verdict is not None:
        if verdict.checked_at is None:
            return None  # a verdict without its time of check: check this file every run
        form = [list(verdict.bounds), verdict.checked_at]
    validity = ctx.memo.get(VALIDITY_MEMO, {}).get(src.rel)
    clock = None if validity is None else [*validity, *src.at("cda")]
    signers = ctx.memo.get(FORM_SIGNERS_MEMO, {}).get(src.rel)
    root = str(ctx.repo_root)
    folder = str(src.folder)
    entry = {
        "sig": sig,
        "sha": sha256,
        "loaded": True,
        "diags": [finding_to_json(d) for d in diagnostics if d.code not in CLOCK_CODES],
        "deps": [
            [w, resolution(ctx.files, seen, folder, w, run.settled_before, ctx.read_digests)]
            for w in _written_paths(src)
        ],
        "clock": clock,
        "form": form,
        "trust": src.rel in trust_users(ctx),
        "facts": facts_to_json(run.facts(src)),
        "m": index,
    }
    line = encode(
        [
            # Every field, defaults too: rebuilding the model then calls no default factory.
            src.integration.model_dump(),
            positions_to_json(src.doc.positions),
            positions_to_json(src.doc.key_positions),
            None if signers is None else list(signers),
            list(ctx.memo.get(FORM_VERIFIED_MEMO, {}).get(src.rel, ())),
            read_to_json(ctx.memo.get(READ_MEMO, {}).get(src.rel), root),
        ]
    )
    return entry, line
