"""The command line: parse arguments, call the core, format the answer.

One module per command. Heavy libraries (pydantic, cryptography, pyHanko, git) are imported inside
the commands so `--help` and simple commands start fast.
"""

from __future__ import annotations

from typing import Any

import click

from provisioner.cli.apply import apply
from provisioner.cli.certs import certs
from provisioner.cli.ci import ci
from provisioner.cli.drift import drift
from provisioner.cli.entity import entity
from provisioner.cli.history import history
from provisioner.cli.message import message
from provisioner.cli.new import new
from provisioner.cli.plan import plan
from provisioner.cli.register import register
from provisioner.cli.rules import rules
from provisioner.cli.sample_request import sample_request
from provisioner.cli.schema import schema
from provisioner.cli.site import site
from provisioner.cli.validate import validate
from provisioner.errors import FatalError


class Commands(click.Group):
    """The commands; the one place where a FatalError becomes `error: ...` and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FatalError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hestia-provisioner")
def cli() -> None:
    """Integrations of public entities with Hèstia, as reviewed files in git."""


for command in (
    new,
    entity,
    validate,
    schema,
    message,
    sample_request,
    plan,
    apply,
    drift,
    certs,
    history,
    site,
    register,
    ci,
    rules,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="hestia-provisioner")
