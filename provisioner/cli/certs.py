"""`certs`: every CDA and its expiry."""

from __future__ import annotations

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
@repo_option
@click.option(
    "--expiring-within",
    "within",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Exit 1 when any CDA expires within DAYS days (or is expired or unreadable).",
)
@format_option(formats="provisioner.documents.certs_report")
def certs(repo: Path | None, within: int | None, fmt: str) -> None:
    """List every CDA with entity, provider, environment, fingerprint and expiry."""
    from provisioner.documents.certs_report import FORMATS, collect

    report = collect(resolve_repo(repo), within, now=current_time())
    click.echo(FORMATS[fmt](report))
    sys.exit(EXIT_PROBLEMS if report.problems else EXIT_OK)
