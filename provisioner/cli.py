"""The command line: parse arguments, call the core, format the answer.

Heavy libraries (pydantic, cryptography, pyHanko, git) are imported inside the commands so
`--help` and simple commands start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from provisioner.vocabulary import ENVIRONMENT_NAMES, MESSAGE_KINDS

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


def _fail_environment(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _repo(repo: Path | None) -> Path:
    from provisioner.validation import EnvironmentProblem, find_repo_root

    try:
        return repo.resolve() if repo is not None else find_repo_root(Path.cwd())
    except EnvironmentProblem as exc:
        _fail_environment(str(exc))


repo_option = click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Repository root (default: the nearest folder above with a catalog/).",
)


def format_option(*choices: str) -> Callable[[F], F]:
    """--format, the first choice being the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hestia-provisioner")
def cli() -> None:
    """Integrations of public entities with Hèstia, as reviewed files in git."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@repo_option
@format_option("text", "github", "json", "markdown")
def validate(paths: tuple[Path, ...], repo: Path | None, fmt: str) -> None:
    """Check integration files and the catalog; report every problem at once.

    PATHS are files or folders to report on (default: every file under integrations/).
    Checks across files always consider the whole repository.
    """
    from provisioner.render import RENDERERS
    from provisioner.validation import EnvironmentProblem
    from provisioner.validation import validate as run

    root = _repo(repo)
    try:
        report = run(root, paths)
    except EnvironmentProblem as exc:
        _fail_environment(str(exc))
    click.echo(RENDERERS[fmt](report.diagnostics, report.files))
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


@cli.command()
@repo_option
@click.option("--write", "mode", flag_value="write", help="Regenerate schemas/*.schema.json.")
@click.option("--check", "mode", flag_value="check", default=True, help="Fail if any is stale.")
def schema(repo: Path | None, mode: str) -> None:
    """Generate the JSON Schemas in schemas/ from the models (or check they are current)."""
    from provisioner.schemas import stale_schemas, write_schemas

    root = _repo(repo)
    if mode == "write":
        for path in write_schemas(root):
            click.echo(f"wrote {path.relative_to(root)}")
        return
    stale = stale_schemas(root)
    for name in stale:
        click.echo(f"schemas/{name}.schema.json is stale: run `make schemas`", err=True)
    sys.exit(EXIT_PROBLEMS if stale else EXIT_OK)


# ----------------------------------------------------------------------------- support desk


def _desk_file(file: Path, repo: Path | None) -> Any:
    from provisioner.desk import DeskProblem, load_desk_file
    from provisioner.validation import EnvironmentProblem, find_repo_root

    try:
        root = repo.resolve() if repo is not None else find_repo_root(file.absolute().parent)
        return load_desk_file(file, root)
    except (EnvironmentProblem, DeskProblem) as exc:
        _fail_environment(str(exc))


# Messages that state what was checked: written only for a file that validates (or --force).
_CHECKED_MESSAGES = ("head-of-service", "pre-ready", "pro-ready")


@cli.command("message")
@click.argument(
    "kind",
    type=click.Choice(list(MESSAGE_KINDS)),
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Write it even if `validate` reports errors.")
@repo_option
def message(kind: str, file: Path, force: bool, repo: Path | None) -> None:
    """Print the procedure's message KIND (in Catalan) for the integration in FILE.

    Templates: catalog/messages/<KIND>.txt. FILE may be incomplete (request-info) or refused
    (abss-redirect, not-eligible); head-of-service, pre-ready and pro-ready need a file that
    validates.
    """
    from provisioner.messages import MessageProblem, missing_items, render_message
    from provisioner.render import diagnostics_text
    from provisioner.validation import EnvironmentProblem
    from provisioner.validation import validate as run

    desk = _desk_file(file, repo)
    src = desk.source
    if kind in _CHECKED_MESSAGES and not force:
        try:
            report = run(src.repo_root, [src.path])
        except EnvironmentProblem as exc:  # e.g. FILE outside --repo: nothing to validate
            _fail_environment(str(exc))
        problems = [d for d in report.diagnostics if d.is_error]
        if problems:
            click.echo(diagnostics_text(problems, report.files), err=True)
            click.echo(
                f"{src.rel} does not validate, so the {kind} message would state checks that "
                "failed: fix the errors above (or pass --force)",
                err=True,
            )
            sys.exit(EXIT_PROBLEMS)
    if kind == "request-info" and not missing_items(src.integration, src.folder, src.repo_root):
        click.echo(
            "note: the form, the CDA and the IPs are all present; the message asks for all three",
            err=True,
        )
    try:
        text = render_message(
            kind, src.integration, desk.catalog, folder=src.folder, repo_root=src.repo_root
        )
    except MessageProblem as exc:
        _fail_environment(str(exc))
    click.echo(text, nl=not text.endswith("\n"))


@cli.command("sample-request")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--modality", "modality", metavar="CODE", help="The modality (CodigoCertificado).")
@click.option(
    "--all", "every", is_flag=True, help="One request per granted modality (needs --out)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for --all: writes <MODALITY>.request.xml files.",
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="NAME=VALUE",
    help="Fill a specific-data field, e.g. --set IdCites=1001 (made-up test data only).",
)
@click.option("--soap", is_flag=True, help="Wrap the Peticion in a SOAP envelope.")
@repo_option
def sample_request(
    file: Path,
    modality: str | None,
    every: bool,
    out: Path | None,
    assignments: tuple[str, ...],
    soap: bool,
    repo: Path | None,
) -> None:
    """Print a PRE test request (SCSP Peticion) for the entity in FILE, following the PRE rule.

    The entity's INE10 goes in DatosAutorizacion; AOC's INE10 is the requester and the INE code
    of the specific data. Values still to fill in are '?'.
    """
    from datetime import datetime

    from provisioner.desk import DeskProblem, parse_assignments, sample_requests

    if every == (modality is not None):
        _fail_environment("give exactly one of --modality CODE and --all")
    if every and out is None:
        _fail_environment("--all writes one file per modality: give the folder with --out DIR")
    if out is not None and not every:
        _fail_environment("--out is for --all; a single request is printed")
    desk = _desk_file(file, repo)
    try:
        requests = sample_requests(
            desk,
            None if every else [str(modality)],
            now=datetime.now().astimezone(),
            values=parse_assignments(assignments),
            soap=soap,
        )
    except DeskProblem as exc:
        _fail_environment(str(exc))
    if out is None:
        click.echo(requests[0][1].decode(), nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    for code, xml in requests:
        target = out / f"{code}.request.xml"
        target.write_bytes(xml)
        click.echo(f"wrote {target}")


# ----------------------------------------------------------------------------- plan and apply

env_option = click.option(
    "--env",
    "env",
    type=click.Choice(list(ENVIRONMENT_NAMES)),
    required=True,
    help="The environment.",
)


def _prepare(root: Path, env: str, force: bool, fmt: str) -> Any:
    """Validate and plan; on validation errors print them and exit 1."""
    from provisioner.applying import prepare
    from provisioner.ledger import LedgerError
    from provisioner.render import RENDERERS as DIAGNOSTICS
    from provisioner.validation import EnvironmentProblem

    try:
        prepared = prepare(root, env, force=force)  # type: ignore[arg-type]
    except (EnvironmentProblem, LedgerError) as exc:
        _fail_environment(str(exc))
    if prepared.problems:
        click.echo(DIAGNOSTICS[fmt](prepared.problems, prepared.report.files))
        click.echo("validation failed: no plan was made", err=True)
        sys.exit(EXIT_PROBLEMS)
    return prepared


def _closing_messages(prepared: Any) -> dict[str, str]:
    """The closing message of each entity that gets a new provider (pre-ready / pro-ready)."""
    from provisioner.messages import render_message

    plan, catalog = prepared.plan, prepared.report.catalog
    wanted = {(e.ine10, p.nif) for e in plan.entities for p in e.providers_added}
    kind = "pre-ready" if plan.environment == "PRE" else "pro-ready"
    out: dict[str, str] = {}
    for src in prepared.report.sources:
        key = (src.integration.entity.ine10, src.integration.provider.nif)
        if key in wanted:
            text = render_message(
                kind, src.integration, catalog, folder=src.folder, repo_root=src.repo_root
            )
            out[key[0]] = out.get(key[0], "") + text
    return out


@cli.command()
@env_option
@format_option("text", "markdown", "json")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when nothing changes, 2 with changes."
)
@click.option("--force", is_flag=True, help="Accept a plan that the safety rule refuses.")
@click.option("--with-messages", is_flag=True, help="Markdown: add each new provider's message.")
@repo_option
def plan(
    env: str,
    fmt: str,
    detailed_exitcode: bool,
    force: bool,
    with_messages: bool,
    repo: Path | None,
) -> None:
    """Show what `apply --env ENV` would change, grouped by entity (exit 1 on errors)."""
    from provisioner.render_plan import RENDERERS, render_markdown

    prepared = _prepare(_repo(repo), env, force, fmt)
    the_plan = prepared.plan
    if fmt == "markdown" and with_messages:
        click.echo(render_markdown(the_plan, _closing_messages(prepared)))
    else:
        click.echo(RENDERERS[fmt](the_plan))
    if the_plan.refused:
        sys.exit(EXIT_PROBLEMS)
    sys.exit(2 if detailed_exitcode and the_plan.has_changes else EXIT_OK)


@cli.command()
@env_option
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
@click.option("--force", is_flag=True, help="Accept a plan that the safety rule refuses.")
@click.option(
    "--store",
    "store_kind",
    type=click.Choice(["local", "sharepoint"]),
    default="local",
    show_default=True,
    help="Where the documents go.",
)
@click.option(
    "--local-store",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the local store (default: .provisioner/sharepoint in the repository).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for app-<ENV>.json (default: build/app in the repository).",
)
@format_option("text", "json")
@repo_option
def apply(
    env: str,
    dry_run: bool,
    force: bool,
    store_kind: str,
    local_store: Path | None,
    out: Path | None,
    fmt: str,
    repo: Path | None,
) -> None:
    """Store the documents, write the APP configuration and record the ledger commit."""
    import json

    from provisioner import applying
    from provisioner.ledger import LedgerError, LedgerMoved
    from provisioner.render_plan import plan_as_dict, render_text
    from provisioner.store import LocalStore

    if store_kind == "sharepoint":
        _fail_environment(
            "the SharePoint store is not available yet (it comes in its own issue); "
            "use --store local"
        )
    root = _repo(repo)
    prepared = _prepare(root, env, force, fmt)
    store = LocalStore(local_store or root / applying.DEFAULT_STORE)
    try:
        out_dir = out or root / applying.DEFAULT_OUT
        result = applying.apply(prepared, store, out_dir, dry_run=dry_run)
    except LedgerMoved as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_PROBLEMS)
    except LedgerError as exc:
        _fail_environment(str(exc))
    if fmt == "json":
        data = {"plan": plan_as_dict(prepared.plan), "result": result.as_dict()}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(prepared.plan))
        click.echo(applying.result_text(result))
    sys.exit(EXIT_OK if result.ok else EXIT_PROBLEMS)


@cli.command()
@repo_option
@click.option(
    "--expiring-within",
    "within",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Exit 1 when any CDA expires within DAYS days (or is expired or unreadable).",
)
@format_option("text", "json", "markdown")
def certs(repo: Path | None, within: int | None, fmt: str) -> None:
    """List every CDA with entity, provider, environment, fingerprint and expiry."""
    from provisioner.certs_report import CERTS_RENDERERS, collect

    report = collect(_repo(repo), within)
    click.echo(CERTS_RENDERERS[fmt](report))
    sys.exit(EXIT_PROBLEMS if report.problems else EXIT_OK)


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ine10", metavar="INE10", help="Only the integrations of this entity.")
@repo_option
@format_option("text", "markdown", "json")
def history(file: Path | None, ine10: str | None, repo: Path | None, fmt: str) -> None:
    """Who asked, who approved, and when it reached PRE and PRO, from git.

    FILE is one integration file (it may be deleted: the ledger and git remember it); --ine10
    shows every integration of an entity; neither shows all of them.
    """
    from provisioner.audit import RENDERERS
    from provisioner.audit_git import HistoryProblem, read_history
    from provisioner.validation import EnvironmentProblem, find_repo_root

    try:
        start = Path.cwd() if file is None else file.absolute().parent
        root = repo.resolve() if repo is not None else find_repo_root(start)
        timelines = read_history(root, file, ine10)
    except (EnvironmentProblem, HistoryProblem) as exc:
        _fail_environment(str(exc))
    click.echo(RENDERERS[fmt](timelines))


def main() -> None:
    cli(prog_name="hestia-provisioner")
