"""`history`: who asked, who approved, when it reached PRE and PRO."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioner.cli.common import format_option, lang_option, repo_option
from provisioner.errors import FatalError


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ine10", metavar="INE10", help="Only the integrations of this entity.")
@repo_option
@format_option(formats="provisioner.history.timeline")
@lang_option
@click.option(
    "--controls",
    is_flag=True,
    help="List the exceptions an auditor looks for instead (exit 1 when there are any).",
)
def history(
    file: Path | None, ine10: str | None, repo: Path | None, fmt: str, lang: str, controls: bool
) -> None:
    """Who asked, who approved, and when it reached PRE and PRO, from git.

    FILE is one integration file (it may be deleted: the ledger and git remember it); --ine10
    shows every integration of an entity; neither shows all of them.
    """
    from provisioner.history.git_reader import read_controls, read_history
    from provisioner.history.timeline import FORMATS, render_controls
    from provisioner.i18n import language
    from provisioner.rules.run import find_repo_root

    start = Path.cwd() if file is None else file.absolute().parent
    root = repo.resolve() if repo is not None else find_repo_root(start)
    if controls:
        if file is not None or ine10 is not None:
            raise FatalError("--controls looks at the whole repository: no FILE, no --ine10")
        found = read_controls(root)
        click.echo(render_controls(found, fmt))
        sys.exit(1 if found else 0)
    timelines = read_history(root, file, ine10)
    with language(lang if fmt != "json" else "en"):
        click.echo(FORMATS[fmt](timelines))
