"""The edge of `site`: read the checkout, the ledger branches and the plans; write the pages.

Reads what the other commands read (validation with the certificate identities, `history`'s
git reader, the ledgers' last commits, `plan` for PRE and PRO from one validation), hands it to
the pure model and renderer, and writes the files into the output folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from provisioner.documents.edges import DocumentEdges
from provisioner.errors import FatalError
from provisioner.site.model import (
    CertificateFacts,
    DriftSummary,
    LedgerState,
    PlanSummary,
    RequestedIntegration,
    SiteInputs,
    drift_summary,
    no_plan,
    plan_summary,
)
from provisioner.vocabulary import ENVIRONMENT_NAMES

#: Marks a folder as written by `site`: only such a folder (or an empty one) is overwritten.
MARKER = ".hestia-site"
DEFAULT_WARNING_DAYS = 60


def _requested(report: Any, gathered: Sequence[Any]) -> list[RequestedIntegration]:
    """The valid integration files, with their certificate identities (gathered's, when read)."""
    from provisioner.documents.identity import identity_in

    broken = {d.file for d in report.diagnostics if d.is_error}
    identities = {i.rel: i.identity for i in gathered}
    catalog = report.catalog
    out = []
    for src in report.sources:
        if src.rel in broken:
            continue
        it = src.integration
        if src.rel in identities:
            ident = identities[src.rel]
        else:
            ident = identity_in(report.repository, src.folder, it.cda)
        out.append(
            RequestedIntegration(
                file=src.rel,
                fp=it.fp,
                ine10=it.entity.ine10,
                entity_name=it.entity.name,
                provider_nif=it.provider.nif,
                provider_name=it.provider.name,
                environment=it.environment,
                ips=tuple(it.ips),
                modalities=catalog.granted_modalities(it) if catalog is not None else (),
                certificate=None
                if ident is None
                else CertificateFacts(ident.sha256, ident.subject, ident.serial, ident.not_after),
            )
        )
    return out


def _plans(
    repo_root: Path, report: Any, gathered: Any, now: datetime, edges: DocumentEdges
) -> list[PlanSummary]:
    from provisioner.apply.pipeline import prepare

    if gathered is None:
        reason = (
            f"la validació troba {report.errors} error(s); corregiu-los "
            "(hestia-provisioner validate) i torneu a generar el lloc"
        )
        return [no_plan(env, reason) for env in ENVIRONMENT_NAMES]
    out = []
    for env in ENVIRONMENT_NAMES:
        prepared = prepare(
            repo_root,
            env,  # type: ignore[arg-type]
            now=now,
            edges=edges,
            report=report,
            gathered=gathered,
            # The site shows what would happen: an environment never applied plans from empty.
            init=True,
            strict_init=False,
        )
        if prepared.plan is None:
            problems = "; ".join(f"{d.code}: {d.message}" for d in prepared.problems[:3])
            out.append(no_plan(env, problems or "no s'ha pogut planificar"))
        else:
            out.append(plan_summary(prepared.plan))
    return out


def _ledgers(repo_root: Path) -> dict[str, LedgerState]:
    from provisioner.apply.ledger import open_repo, read_ledger

    repo = open_repo(repo_root)
    out = {}
    for env in ENVIRONMENT_NAMES:
        view = read_ledger(repo, env)
        if view is None:  # never applied
            out[env] = LedgerState(None, {}, None, {})
            continue
        out[env] = LedgerState(view.tip, view.records, view.app_config, view.manifest)
    return out


def _drift(ledgers: Mapping[str, LedgerState], store: Any) -> list[DriftSummary]:
    """Each environment's ledger manifest compared with the store; a store that cannot be read
    is said so on the page instead of failing the whole site."""
    from provisioner.apply.drift import find_drift
    from provisioner.apply.store import StoreError

    out = []
    for env in ENVIRONMENT_NAMES:
        try:
            out.append(drift_summary(find_drift(env, ledgers[env].manifest, store)))
        except StoreError as exc:
            out.append(DriftSummary(env, store.target, False, (), str(exc) or type(exc).__name__))
    return out


def collect(
    repo_root: Path,
    now: datetime,
    edges: DocumentEdges | None = None,
    store: Any = None,
) -> SiteInputs:
    """Everything the site shows, read from the checkout and the ledger branches.

    store: a DocumentStore to check for drift against each ledger; None: drift not checked.
    """
    from provisioner.history.git_reader import read_history, ref_of_source
    from provisioner.plan.desired import gather
    from provisioner.rules.run import validate

    edges = edges or DocumentEdges()
    report = validate(repo_root, edges=edges, now=now)
    root = report.repo_root
    # The documents and certificates of the valid files, read once for both plans.
    gathered = None
    if report.ok and report.catalog is not None:
        gathered = gather(
            report.sources,
            report.form_signers,
            report.repository,
            report.documents,
            report.form_verified,
        )
    history = read_history(root, read={s.rel: ref_of_source(s) for s in report.sources})
    ledgers = _ledgers(root)
    plans = _plans(root, report, gathered, now, edges)
    drift = None if store is None else _drift(ledgers, store)
    catalog = report.catalog
    service = catalog.service if catalog is not None else None
    return SiteInputs(
        now=now,
        head=history.head,
        warning_days=(service.certificate_expiry_warning_days if service else DEFAULT_WARNING_DAYS),
        modalities={m.code: m.description for m in service.modalities} if service else {},
        register={e.ine10: e.name for e in catalog.register.eligible} if catalog else {},
        requested=_requested(report, gathered[0] if gathered else ()),
        history=history,
        ledgers=ledgers,
        plans=plans,
        validation_errors=report.errors,
        validation_warnings=report.warnings,
        files_read=report.files,
        drift=drift,
    )


def write_site(pages: Mapping[str, str], out: Path) -> int:
    """Write the pages into out (made if missing); the number of files written.

    A folder that is not empty is replaced only when an earlier `site` made it (its marker
    file), and then only its .html files are removed first, so a stale entity page cannot
    linger. Anything else in it is left alone.
    """
    from provisioner.runtime.files import write_atomically

    try:
        if out.exists() and not out.is_dir():
            raise FatalError(f"{out} is a file; give a folder for --out")
        if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
            raise FatalError(
                f"{out} is not empty and was not made by `hestia-provisioner site`; "
                "give an empty or new folder"
            )
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.html"):
            if old.name not in pages:
                old.unlink()
        (out / MARKER).write_text("made by hestia-provisioner site\n", encoding="utf-8")
        for name, html in pages.items():
            write_atomically(out / name, html.encode("utf-8"))
    except OSError as exc:
        raise FatalError(f"cannot write the site into {out}: {exc.strerror or exc}") from None
    return len(pages)
