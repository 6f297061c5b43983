"""Plan and apply: validate, compute the desired state, compare with the ledger, then act.

The order of apply is what makes it safe to re-run: documents first (each one ensured, never
overwritten), then the APP configuration file, and only when all of that succeeded the ledger
commit. A failure half-way records nothing, so the next run plans the same work again and the
store's ensure steps skip what was already done.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from provisioner.apply.app_schema import app_config_problems
from provisioner.apply.store import DocumentStore, StoreError, StoreUnavailable, ensure_file
from provisioner.diagnostics import Finding
from provisioner.documents.edges import DocumentEdges
from provisioner.plan.desired import DesiredState, IntegrationInput, desired_state, gather
from provisioner.plan.diff import FileAction, Plan, make_plan
from provisioner.plan.ledger_format import LedgerStep, LedgerView, app_file
from provisioner.rules.run import Validation, ValidationReport

if TYPE_CHECKING:  # types only: a plan made from a kept one imports no model (no pydantic)
    from provisioner.apply.ledger import LedgerReader
    from provisioner.model import Environment
    from provisioner.plan.kept import KeptPlan, PlanMemory
from provisioner.runtime.files import write_atomically

DEFAULT_STORE = Path(".provisioner") / "sharepoint"
DEFAULT_OUT = Path("build") / "app"


@dataclass
class Prepared:
    repo_root: Path
    environment: Environment
    report: ValidationReport  # from a kept plan: the findings only (no catalog, no sources)
    problems: list[Finding] = field(default_factory=list)  # validation errors or gather
    plan: Plan | None = None
    repo: Any = None  # the git checkout (apply.ledger.Checkout), once validation passed
    assumed_pre: Plan | None = None  # PRO planned as if this PRE plan were applied
    signed: bool = False  # the catalog lists ledger signers: the ledger commit must be signed
    desired: DesiredState | None = None


def _other(env: Environment) -> Environment:
    return "PRO" if env == "PRE" else "PRE"


def prepare(
    repo_root: Path,
    env: Environment,
    *,
    now: datetime,
    force: bool = False,
    edges: DocumentEdges | None = None,
    assume_pre_applied: bool = False,
    report: ValidationReport | None = None,
    gathered: tuple[list[IntegrationInput], list[Finding]] | None = None,
    init: bool = False,
    strict_init: bool = True,
    kept: Mapping[str, PlanMemory] | None = None,
) -> Prepared:
    """Validate everything at now, then plan env against its checked ledger.

    LedgerError when git or the ledger cannot be trusted; LedgerMissing when the ledger branch
    does not exist and init (this is the environment's first apply) was not given. With
    strict_init, init on an existing ledger is an error too (else it is ignored).

    edges: the caches and form pool validation may use (provisioner.runtime.local_edges).
    assume_pre_applied (PRO only): plan PRO against the PRE ledger as the planned PRE apply
    would leave it (when that PRE plan is not refused), as the review shows a pull request.
    report: a validation of repo_root already made (planning both environments validates once).
    gathered: what `gather` read for that report (then it reads the documents once, too).
    kept: each environment's kept plan (provisioner.plan.kept), with edges.results: when the
    replay of the last validation finds nothing changed and the kept plan was made from it,
    the plan is made from that (no file loaded) and the report holds the findings only; else
    the plan made is kept for the next run.
    """
    # Planning builds many containers and no reference cycles: as validate does, the cyclic
    # collector waits until the plan is made (its passes over 1,000 records cost a third).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _prepare(
            repo_root,
            env,
            now=now,
            force=force,
            edges=edges,
            assume_pre_applied=assume_pre_applied,
            report=report,
            gathered=gathered,
            init=init,
            strict_init=strict_init,
            kept=kept or {},
        )
    finally:
        if collecting:
            gc.enable()


@dataclass
class _Desired:
    """What the plan is made from, besides the ledger."""

    report: ValidationReport
    desired: DesiredState | None = None  # None: problems found, or (kept) read after the ledger
    problems: list[Finding] = field(default_factory=list)
    signers: tuple[tuple[str, str], ...] = ()
    expiry_days: int = 0
    pre: DesiredState | None = None  # PRO with assume_pre_applied: PRE's desired state
    kept: KeptPlan | None = None  # the plan kept for env, whose desired state is still to read
    memory: PlanMemory | None = None  # where kept is kept

    def resolve(self, ledger: LedgerView | None) -> DesiredState | None:
        """The desired state; from a kept plan: the documents of the ledger's last commit when
        they are the kept ones (known by their object ids), else the kept documents (and when
        those are the ledger's, that is learnt for the next run). None when it is not kept."""
        from provisioner.plan.kept import kept_desired, learn

        kept, memory = self.kept, self.memory
        if self.desired is not None or kept is None or memory is None:
            return self.desired
        if ledger is not None and kept.documents_in(ledger.blobs):
            self.desired = kept.desired(ledger.app_config, ledger.records)
            return self.desired
        self.desired = kept_desired(memory, kept)
        if (
            self.desired is not None
            and ledger is not None
            and ledger.app_config == self.desired.app_config
            and ledger.records == self.desired.records
        ):
            learn(memory, kept, ledger.blobs)
        return self.desired


def _from_kept(
    validation: Validation, env: Environment, kept: Mapping[str, PlanMemory], pre: bool
) -> _Desired | None:
    """What the plans kept for env (and for PRE when pre) hold, when the last validation
    replays unchanged and they were made from it; None otherwise."""
    from provisioner.plan.kept import kept_desired, kept_summary

    replayed = validation.replayed()
    if replayed is None or not replayed.ok or replayed.content is None:
        return None
    memory = kept.get(env)
    mine = kept_summary(memory, env, replayed.content) if memory is not None else None
    if mine is None:
        return None
    pre_desired = None
    if pre:
        pre_memory = kept.get("PRE")
        pre_kept = kept_summary(pre_memory, "PRE", replayed.content) if pre_memory else None
        pre_desired = kept_desired(pre_memory, pre_kept) if pre_memory and pre_kept else None
        if pre_desired is None:
            return None
    report = ValidationReport(validation.repo_root, None, diagnostics=replayed.diagnostics)
    report.files = replayed.files
    return _Desired(
        report,
        signers=mine.signers,
        expiry_days=mine.expiry_days,
        pre=pre_desired,
        kept=mine,
        memory=memory,
    )


def _made(
    validation: Validation | None,
    env: Environment,
    kept: Mapping[str, PlanMemory],
    pre: bool,
    report: ValidationReport | None,
    gathered: tuple[list[IntegrationInput], list[Finding]] | None,
) -> _Desired:
    """Validate, read the documents validation did not, and make the desired state (kept for
    the next run when kept is given and every file's validation result was kept)."""
    if report is None:
        assert validation is not None
        report = validation.report()
    if not report.ok or report.catalog is None:
        return _Desired(report, problems=[d for d in report.diagnostics if d.is_error])
    inputs, problems = gathered or gather(
        report.sources,
        report.form_signers,
        report.repository,
        report.documents,
        report.form_verified,
    )
    if problems:
        return _Desired(report, problems=problems)
    service = report.catalog.service
    made = _Desired(
        report,
        desired_state(report.catalog, env, inputs),
        signers=tuple((s.name, s.key) for s in service.ledger_signers),
        expiry_days=service.certificate_expiry_warning_days,
        pre=desired_state(report.catalog, "PRE", inputs) if pre else None,
    )
    if kept and report.content is not None and gathered is None and _read_once(report):
        from provisioner.plan.kept import KeptPlan, keep

        for name, desired in ((env, made.desired), ("PRE", made.pre)):
            memory = kept.get(name)
            if memory is not None and desired is not None:
                summary = KeptPlan(
                    report.content, name, desired.folders, made.signers, made.expiry_days
                )
                keep(memory, summary, desired)
    return made


def _read_once(report: ValidationReport) -> bool:
    """gather read nothing itself: what it made is what validation read (what the kept
    results' content key says)."""
    documents = report.documents
    for src in report.sources:
        read = documents.get(src.rel)
        if read is None or not (read.cda and read.identity and read.form):
            return False
    return True


@dataclass
class _Ledgers:
    """What the plan compares with: env's ledger, the other environment's, and the APP
    configurations of env's applies in the safety window."""

    found: LedgerView | None
    other: LedgerView
    window: tuple[LedgerStep, ...]
    configs: list[Any]


def _read_ledgers(
    reader: LedgerReader,
    env: Environment,
    signers: tuple[tuple[str, str], ...],
    *,
    now: datetime,
    init: bool,
    strict_init: bool,
    known: Mapping[str, str] | None = None,
) -> _Ledgers:
    """known: env's ledger files known to hold documents already checked (LedgerReader.read)."""
    from provisioner.apply.ledger import LedgerError, LedgerMissing
    from provisioner.plan.diff import safety_window
    from provisioner.plan.ledger_format import branch

    found = reader.read(env, signers, known)
    if found is None and not init:
        raise LedgerMissing(
            f"the ledger branch {branch(env)} does not exist: fetch it (git fetch origin "
            f"'+provisioned/*:provisioned/*'); only for the very first apply of {env}, "
            "pass --init"
        )
    if found is not None and init and strict_init:
        raise LedgerError(
            f"--init is only for the first apply, and {branch(env)} already exists "
            f"({(found.tip or '')[:12]}); run without --init"
        )
    steps = found.steps if found is not None else ()
    other = reader.read(_other(env), signers) or LedgerView()
    # The safety rule's window: the states of the ledger's recent applies, oldest first.
    window = steps[safety_window(steps, now) : -1] if steps else ()
    configs = reader.app_configs(env, [step.commit for step in window])
    return _Ledgers(found, other, window, configs)


def _prepare(
    repo_root: Path,
    env: Environment,
    *,
    now: datetime,
    force: bool,
    edges: DocumentEdges | None,
    assume_pre_applied: bool,
    report: ValidationReport | None,
    gathered: tuple[list[IntegrationInput], list[Finding]] | None,
    init: bool,
    strict_init: bool,
    kept: Mapping[str, PlanMemory],
) -> Prepared:
    from provisioner.apply.ledger import LedgerError, LedgerReader
    from provisioner.plan.diff import applied_view

    # git reads where the checkout is, its history and the ledger refs while Python validates.
    readers = [LedgerReader(report.repo_root if report else repo_root.resolve())]
    try:
        pre = env == "PRO" and assume_pre_applied
        validation = Validation(repo_root, edges=edges, now=now) if report is None else None
        made: _Desired | None = None
        if validation is not None and kept and gathered is None:
            made = _from_kept(validation, env, kept, pre)
        if made is None:
            made = _made(validation, env, kept, pre, report, gathered)
        report = made.report
        prepared = Prepared(report.repo_root, env, report)
        if made.desired is None and made.kept is None:
            prepared.problems = made.problems
            return prepared
        if readers[0].repo_root != report.repo_root:  # validation resolved it otherwise
            readers.append(LedgerReader(report.repo_root))
        reader = readers[-1]
        prepared.repo = reader.checkout()
        if not reader.ancestors():
            raise LedgerError(
                "the repository has no commit yet: commit the catalog and the integration "
                "files first (each ledger commit names the commit it applied)"
            )
        # The ledger files a kept plan learnt to hold its (checked) documents.
        known = made.kept.ledger if made.kept is not None else None
        ledgers = _read_ledgers(
            reader, env, made.signers, now=now, init=init, strict_init=strict_init, known=known
        )
        desired = made.resolve(ledgers.found)
        if desired is None:  # the kept plan's documents are not kept after all: make them
            signers = made.signers
            made = _made(validation, env, kept, pre, None, None)
            report = prepared.report = made.report
            desired = made.desired
            if desired is None:
                prepared.problems = made.problems
                return prepared
            if made.signers != signers:
                ledgers = _read_ledgers(
                    reader, env, made.signers, now=now, init=init, strict_init=strict_init
                )
        prepared.desired = desired
        prepared.signed = bool(made.signers)
    finally:
        for started in readers:
            started.close()
    ledger, other = ledgers.found or LedgerView(), ledgers.other
    warnings = [d for d in report.diagnostics if not d.is_error]
    earlier: list[tuple[str, Any]] = [
        (f"{step.applied_at} ({step.commit[:12]})", cfg)
        for step, cfg in zip(ledgers.window, ledgers.configs, strict=True)
    ]
    expiry_days = made.expiry_days
    expiry_warned = frozenset(
        d.file for d in report.diagnostics if d.code == "CDA-EXPIRING" and not d.is_error
    )
    if made.pre is not None:
        pre_plan = make_plan(
            made.pre,
            other,
            now=now,
            expiry_days=expiry_days,
            other_ledger=ledger,
            force=force,
            expiry_warned=expiry_warned,
        )
        if not pre_plan.refused:
            prepared.assumed_pre = pre_plan
            other = applied_view(pre_plan)
    prepared.plan = make_plan(
        desired,
        ledger,
        now=now,
        expiry_days=expiry_days,
        warnings=warnings,
        other_ledger=other,
        pre_ledger=other if env == "PRO" else None,
        force=force,
        expiry_warned=expiry_warned,
        earlier_configs=earlier,
    )
    return prepared


Status = Literal[
    "applied",
    "unchanged",
    "dry-run",
    "refused",
    "conflict",
    "store-failed",
    "output-failed",
    "output-invalid",
]


@dataclass
class ApplyResult:
    status: Status
    store: str
    folders_created: int = 0
    files_created: int = 0
    files_present: int = 0  # already in the store with the same content
    app_path: Path | None = None
    app_written: bool = False
    commit: str | None = None
    error: str | None = None
    target: str = ""  # where the store writes, as the ledger's Store: trailer names it
    leftovers_removed: int = 0  # temporary files of an interrupted run, swept

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "unchanged", "dry-run")

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "store": self.store,
            "store_target": self.target,
            "store_writes": {"folders": self.folders_created, "files": self.files_created},
            "files_already_present": self.files_present,
            "app_config": str(self.app_path) if self.app_path else None,
            "app_config_written": self.app_written,
            "ledger_commit": self.commit,
            "leftovers_removed": self.leftovers_removed,
            "error": self.error,
        }


def _one_line(text: str) -> str:
    """For a git trailer: no line breaks or other control characters."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write path atomically unless it already holds data. True when written."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return True


Progress = Callable[[int, int], None]  # (files done, files in all)


def repair_actions(prepared: Prepared) -> list[FileAction]:
    """The documents the ledger already records, to put back in the store where missing.

    Only the integrations in the checkout can be repaired: their files are the source.
    """
    plan, desired = prepared.plan, prepared.desired
    if plan is None or desired is None:
        return []
    new = {(a.folder, a.name) for a in plan.files_to_create}
    return [
        FileAction(folder.path, doc.name, doc.source, doc.sha256, doc.size)
        for folder in desired.folders
        for doc in folder.files
        if (folder.path, doc.name) not in new
    ]


def _store_documents(
    plan: Plan,
    repo_root: Path,
    store: DocumentStore,
    extra: list[FileAction] | None = None,
    progress: Progress | None = None,
) -> int:
    """Ensure every folder and file the plan creates; how many files were already there."""
    present = 0
    by_folder: dict[tuple[str, ...], list[Any]] = {f: [] for f in plan.folders_to_create}
    for action in [*plan.files_to_create, *(extra or [])]:
        by_folder.setdefault(action.folder, []).append(action)
    total, done = sum(len(actions) for actions in by_folder.values()), 0
    for folder in sorted(by_folder):
        store.ensure_folder(folder)
        for action in by_folder[folder]:
            try:
                data = (repo_root / action.source).read_bytes()
            except OSError as exc:
                raise StoreError(f"cannot read {action.source}: {exc.strerror}") from exc
            if hashlib.sha256(data).hexdigest() != action.sha256:
                raise StoreError(f"{action.source} changed while apply ran; run it again")
            if not ensure_file(store, folder, action.name, data, action.sha256):
                present += 1
            done += 1
            if progress is not None:
                progress(done, total)
    return present


def apply(
    prepared: Prepared,
    store: DocumentStore,
    out_dir: Path,
    *,
    dry_run: bool = False,
    repair: bool = False,
    now: datetime | None = None,
    environ: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> ApplyResult:
    """Carry out a prepared plan. The caller checks prepared.problems first.

    repair: also put back recorded documents missing from the store (never replacing one).
    StoreUnavailable (configuration, login, missing library) propagates: nothing was written.
    LedgerError, before anything is written, when the catalog requires signed ledger commits
    and HESTIA_PROVISIONER_SIGNING_KEY does not name a key file.
    """
    from provisioner.apply.ledger import (
        SIGNING_KEY_ENV,
        LedgerError,
        ci_run,
        open_repo,
        record,
        source_info,
    )
    from provisioner.plan.ledger_format import commit_message
    from provisioner.plan.render import commit_details, summary_line

    plan = prepared.plan
    assert plan is not None, "apply needs a plan: check prepared.problems first"
    result = ApplyResult("dry-run", store.name, target=_one_line(store.target))
    if plan.refused:
        result.status = "refused"
        return result
    if dry_run:
        return result
    app_name = app_file(plan.environment)
    app_data = plan.ledger_file(app_name)
    problems = app_config_problems(app_data)
    if problems:  # before anything is stored: a document APP cannot read changes nothing
        result.status = "output-invalid"
        result.error = (
            f"{app_name} does not conform to schemas/app-config.schema.json, so it was not "
            "written (a bug in the tool: please report it): " + "; ".join(problems[:5])
        )
        return result
    # What a killed apply left behind (temporary files of atomic writes) goes first.
    import time

    from provisioner.apply.store import LocalStore
    from provisioner.runtime.files import sweep_leftovers

    moment = time.time()  # file ages are the file system's clock, not the plan's
    swept = sweep_leftovers(out_dir, moment)
    if isinstance(store, LocalStore):
        swept += sweep_leftovers(store.root, moment, recursive=True)
    result.leftovers_removed = len(swept)
    signing_key: Path | None = None
    if prepared.signed and plan.has_changes:
        named = (os.environ if environ is None else environ).get(SIGNING_KEY_ENV, "")
        if not named or not Path(named).is_file():
            raise LedgerError(
                "catalog/service.yaml lists ledger_signers, so ledger commits must be signed: "
                f"set {SIGNING_KEY_ENV} to the SSH private key file of a listed signer"
            )
        signing_key = Path(named)
    # gitpython only when there is something to record: a run with nothing to do needs none.
    repo = open_repo(prepared.repo_root) if plan.has_changes else None
    source = source_info(repo) if plan.has_changes else None
    extra = repair_actions(prepared) if repair else None
    try:
        result.files_present = _store_documents(plan, prepared.repo_root, store, extra, progress)
    except StoreUnavailable:
        raise
    except StoreError as exc:
        from provisioner.apply.store import ConflictError

        result.status = "conflict" if isinstance(exc, ConflictError) else "store-failed"
        result.error = str(exc)
        return result
    finally:
        result.folders_created = store.writes.folders
        result.files_created = store.writes.files
    result.app_path = out_dir / app_name
    try:
        result.app_written = _write_if_changed(result.app_path, app_data)
    except OSError as exc:
        result.status = "output-failed"
        result.error = f"cannot write {result.app_path}: {exc.strerror}"
        return result
    if not plan.has_changes:
        result.status = "unchanged"
        return result
    assert source is not None
    when = (now or plan.now).replace(microsecond=0)  # the plan's clock unless told otherwise
    tripped = plan.safety.tripped
    message = commit_message(
        plan.environment,
        summary_line(plan),
        commit_details(plan),
        source.commit,
        source.dirty,
        when,
        f"{result.target} ({result.folders_created} folders, {result.files_created} files written)",
        ci_run(os.environ if environ is None else environ),
        override=("--force: " + "; ".join(m.describe() for m in tripped)) if tripped else None,
    )
    result.commit = record(
        repo,
        plan.environment,
        plan.previous_tip,
        plan.ledger_files,
        message,
        when,
        signing_key=signing_key,
    )
    result.status = "applied"
    return result


def result_text(result: ApplyResult) -> str:
    """The apply summary for people."""
    writes = (
        f"store {result.store}: {result.folders_created} folder(s) and {result.files_created} "
        f"file(s) written, {result.files_present} file(s) already present"
    )
    if result.status == "refused":
        return "apply refused: nothing was changed"
    if result.status == "dry-run":
        return "dry run: nothing was changed"
    if result.status in ("conflict", "store-failed", "output-failed", "output-invalid"):
        return (
            f"apply stopped: {result.error}\n{writes}\n"
            "nothing was recorded in the ledger; fix the problem and run apply again "
            "(what was already stored is kept and skipped)"
        )
    app = (
        f"APP configuration: {result.app_path} ({'written' if result.app_written else 'unchanged'})"
    )
    if result.status == "unchanged":
        return f"nothing to apply\n{writes}\n{app}"
    return f"applied\n{writes}\n{app}\nledger commit: {result.commit}"
