"""`validate`: check integration files and the catalog."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from provisioner.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    current_time,
    format_option,
    repo_option,
    resolve_repo,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@repo_option
@format_option(formats="provisioner.cli.render")
@click.option(
    "--catalog-from",
    "catalog_ref",
    metavar="REF",
    help="Judge the files with the catalog as it is at this git ref (a review: the base branch).",
)
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append the markdown report to this file (CI: $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Check every file and form again; read and write no cache (.provisioner/cache/).",
)
def validate(
    paths: tuple[Path, ...],
    repo: Path | None,
    fmt: str,
    catalog_ref: str | None,
    summary: Path | None,
    no_cache: bool,
) -> None:
    """Check integration files and the catalog; report every problem at once.

    PATHS are files or folders to report on (default: every file under integrations/).
    Checks across files always consider the whole repository.
    """
    from contextlib import AbstractContextManager, nullcontext

    from provisioner.cli.render import FORMATS
    from provisioner.rules.run import findings
    from provisioner.runtime import local_edges
    from provisioner.runtime.progress import terminal_progress

    root = resolve_repo(repo)
    progress = terminal_progress(sys.stderr, fmt, os.environ)
    catalog: AbstractContextManager[Path | None] = nullcontext()
    try:
        if catalog_ref:  # git is imported only for this: validate starts faster without it
            from provisioner.ci.gitops import catalog_at, open_repo

            catalog = catalog_at(open_repo(root), catalog_ref)
        with catalog as other:
            edges = local_edges(root, cache=not no_cache, progress=progress)
            report = findings(root, paths, edges=edges, catalog_from=other, now=current_time())
    finally:
        if progress is not None:
            progress.close()
    click.echo(FORMATS[fmt](report.diagnostics, report.files))
    if summary is not None:
        with summary.open("a", encoding="utf-8") as out:
            out.write(FORMATS["markdown"](report.diagnostics, report.files) + "\n")
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)
