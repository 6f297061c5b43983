"""What every command shares: exit codes, the usage-error exit, and the common options."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from provisioner.errors import FatalError
from provisioner.vocabulary import ENVIRONMENT_NAMES

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])
#: An ISO 8601 moment that replaces the clock: for tests and reproducible runs (README).
NOW_ENV = "HESTIA_PROVISIONER_NOW"


def current_time() -> datetime:
    """The moment every verdict is made at: the clock, or HESTIA_PROVISIONER_NOW when set.

    The only place that reads the clock: the core is given this moment, so its answers do not
    depend on the day they are computed. A date without a time zone is taken as UTC.
    """
    raw = os.environ.get(NOW_ENV, "").strip()
    if not raw:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise FatalError(
            f"{NOW_ENV}={raw!r} is not an ISO 8601 date and time; use for example "
            "2032-01-01T09:00:00+00:00, or unset it to use the clock"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def resolve_repo(repo: Path | None) -> Path:
    from provisioner.rules.run import find_repo_root

    return repo.resolve() if repo is not None else find_repo_root(Path.cwd())


repo_option = click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Repository root (default: the nearest folder above with a catalog/).",
)


class _RegisteredFormats(click.Choice[str]):
    """The names in a format registry, read when first needed: renderers import heavy modules."""

    def __init__(self, module: str) -> None:
        self._module = module
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from provisioner.formats import registered

        return registered(self._module).names

    @choices.setter
    def choices(self, value: object) -> None:
        pass  # the registry is the truth


def format_option(
    *choices: str, formats: str | None = None, default: str = "text"
) -> Callable[[F], F]:
    """--format from choices (the first is the default), or from a module's FORMATS registry."""
    kind: click.Choice[str] = (
        _RegisteredFormats(formats) if formats is not None else click.Choice(list(choices))
    )
    return click.option(
        "--format",
        "fmt",
        type=kind,
        default=choices[0] if choices else default,
        show_default=True,
        help="Output format.",
    )


lang_option = click.option(
    "--lang",
    type=click.Choice(["en", "ca"]),
    default="en",
    show_default=True,
    help="Language of the text and markdown report (json stays as it is).",
)

env_option = click.option(
    "--env",
    "env",
    type=click.Choice(list(ENVIRONMENT_NAMES)),
    required=True,
    help="The environment.",
)


def desk_file(file: Path, repo: Path | None) -> Any:
    from provisioner.desk.draft import load_desk_file
    from provisioner.rules.run import find_repo_root
    from provisioner.runtime import catalog_memory

    root = repo.resolve() if repo is not None else find_repo_root(file.absolute().parent)
    return load_desk_file(file, root, catalog_memory(root))


# Messages that state what was checked: written only for a file that validates (or --force).


init_option = click.option(
    "--init",
    is_flag=True,
    help="This is the first apply of the environment: its ledger branch does not exist yet "
    "(HESTIA_LEDGER_INIT naming the environment says the same, and is ignored once it exists).",
)


def ledger_init_names() -> set[str]:
    """Environments HESTIA_LEDGER_INIT names (the CI variable of a first apply)."""
    import os
    import re

    return set(re.split(r"[\s,]+", os.environ.get("HESTIA_LEDGER_INIT", "")))


def prepare(
    root: Path,
    env: str,
    force: bool,
    fmt: str,
    *,
    assume_pre_applied: bool = False,
    init: bool = False,
    cache: bool = True,
    kept_plan: bool = False,
) -> Any:
    """Validate and plan; on validation errors print them and exit 1; ledger problems exit 2.

    cache=False: no cache read or written (--no-cache). kept_plan: the caller needs the plan
    and the findings only (no loaded file, no catalog): the plan kept by the last run may be
    reused (provisioner.plan.kept).
    """
    from provisioner.apply.pipeline import prepare
    from provisioner.cli.render import FORMATS as DIAGNOSTICS
    from provisioner.runtime import local_edges, plan_memories

    # What validation loaded and the plan made live until the command ends: made with the
    # cyclic collector off, then frozen, so that rendering does not make it walk them all
    # (50 ms on 1,000 integrations); given back to it when the command ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        edges = local_edges(root, cache=cache)
        prepared = prepare(
            root,
            env,  # type: ignore[arg-type]
            now=current_time(),
            force=force,
            edges=edges,
            assume_pre_applied=assume_pre_applied,
            init=init or env in ledger_init_names(),
            strict_init=init,
            kept=plan_memories(edges) if kept_plan else None,
        )
    finally:
        if collecting:
            gc.freeze()
            click.get_current_context().call_on_close(gc.unfreeze)
            gc.enable()
    if prepared.problems:
        click.echo(DIAGNOSTICS[fmt](prepared.problems, prepared.report.files))
        click.echo("validation failed: no plan was made", err=True)
        sys.exit(EXIT_PROBLEMS)
    return prepared


# The document store: local (embedded, for the demo and local use) or SharePoint.

store_option = click.option(
    "--store",
    "store_kind",
    type=click.Choice(["local", "sharepoint"]),
    default=None,
    help="Where the documents are: local (default outside CI) or sharepoint.",
)
local_store_option = click.option(
    "--local-store",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the local store (default: .provisioner/sharepoint in the repository).",
)


def open_store(
    kind: str | None,
    root: Path,
    local_store: Path | None,
    catalog: Any,
    environ: Mapping[str, str],
    *,
    ci_guard: bool = True,
) -> Any:
    """The DocumentStore the options name; exit 2 when it cannot be used.

    In GitHub Actions the local store would land on the runner's throwaway disk while the
    ledger says the documents were stored, so there it must be asked for explicitly.
    """
    from provisioner.apply.pipeline import DEFAULT_STORE
    from provisioner.apply.store import LocalStore
    from provisioner.errors import FatalError

    if kind is None and local_store is not None:
        kind = "local"
    if kind is None:
        if ci_guard and environ.get("GITHUB_ACTIONS") == "true":
            raise FatalError(
                "in GitHub Actions the documents must go to SharePoint: pass --store sharepoint "
                "(or --store local if a throwaway copy on the runner is really meant)"
            )
        kind = "local"
    if kind == "local":
        return LocalStore(local_store or root / DEFAULT_STORE)
    from provisioner.apply.sharepoint import open_sharepoint_store

    sp = catalog.service.sharepoint
    return open_sharepoint_store(sp.site_url, sp.library, sp.base_folder, environ)


PROGRESS_MINIMUM = 20  # files; fewer finish before a progress line would help


def progress_reporter(
    fmt: str, environ: Mapping[str, str], stream: TextIO | None = None
) -> Callable[[int, int], None] | None:
    """A one-line progress counter on a terminal; None in CI, with --format json or piped."""
    out = stream if stream is not None else sys.stderr
    if fmt == "json" or environ.get("CI") or environ.get("GITHUB_ACTIONS") == "true":
        return None
    if not out.isatty():
        return None

    def report(done: int, total: int) -> None:
        if total < PROGRESS_MINIMUM:
            return
        out.write(f"\rstoring documents: {done}/{total}")
        if done == total:
            out.write("\n")
        out.flush()

    return report
