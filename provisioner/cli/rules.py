"""`rules`: every code with its severity, what it means and how to fix it."""

from __future__ import annotations

import click

from provisioner.cli.common import format_option


@click.command()
@format_option(formats="provisioner.rules.reference")
def rules(fmt: str) -> None:
    """List every code the checks can report: severity, one-line summary, how to fix it."""
    from provisioner.rules import all_codes
    from provisioner.rules.reference import FORMATS

    click.echo(FORMATS[fmt](all_codes()))
