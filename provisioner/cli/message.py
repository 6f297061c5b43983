"""`message`: the procedure's messages, in Catalan."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioner.cli.common import (
    EXIT_PROBLEMS,
    current_time,
    desk_file,
    repo_option,
)
from provisioner.vocabulary import MESSAGE_KINDS


@click.command("message")
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
    from provisioner.cli.render import diagnostics_text
    from provisioner.desk.compose import compose
    from provisioner.runtime import local_edges

    now = current_time()
    desk = desk_file(file, repo)
    # FatalError e.g. for FILE outside --repo (nothing to validate) or a message that does not apply
    composed = compose(kind, desk, force=force, edges=local_edges(desk.source.repo_root), now=now)
    if composed.text is None:
        click.echo(diagnostics_text(composed.problems, composed.files), err=True)
        click.echo(
            f"{desk.source.rel} does not validate, so the {kind} message would state checks "
            "that failed: fix the errors above (or pass --force)",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)
    from provisioner.text import visible

    # A name from a refused file may hold anything: each line of the message stays one line.
    text = "\n".join(visible(line) for line in composed.text.split("\n"))
    click.echo(text, nl=not text.endswith("\n"))
