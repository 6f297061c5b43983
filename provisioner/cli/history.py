"""`history`: who asked, who approved, when it reached PRE and PRO."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.common import format_option, lang_option, repo_option


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ine10", metavar="INE10", help="Only the integrations of this entity.")
@repo_option
@format_option(formats="provisioner.history.timeline")
@lang_option
def history(file: Path | None, ine10: str | None, repo: Path | None, fmt: str, lang: str) -> None:
    """Who asked, who approved, and when it reached PRE and PRO, from git.

    FILE is one integration file (it may be deleted: the ledger and git remember it); --ine10
    shows every integration of an entity; neither shows all of them.
    """
    from provisioner.history.git_reader import read_history
    from provisioner.history.timeline import FORMATS
    from provisioner.i18n import language
    from provisioner.rules.run import find_repo_root

    start = Path.cwd() if file is None else file.absolute().parent
    root = repo.resolve() if repo is not None else find_repo_root(start)
    timelines = read_history(root, file, ine10)
    with language(lang if fmt != "json" else "en"):
        click.echo(FORMATS[fmt](timelines))
