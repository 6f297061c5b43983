"""`plan`: what apply would change."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from provisioner.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    env_option,
    format_option,
    init_option,
    lang_option,
    prepare,
    repo_option,
    resolve_repo,
)


def _closing_messages(prepared: Any) -> dict[str, str]:
    from provisioner.desk.messages import closing_messages

    return closing_messages(prepared.plan, prepared.report.sources, prepared.report.catalog)


@click.command()
@env_option
@format_option(formats="provisioner.plan.render")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when nothing changes, 2 with changes."
)
@click.option("--force", is_flag=True, help="Accept a plan that the safety rule refuses.")
@click.option("--with-messages", is_flag=True, help="Markdown: add each new provider's message.")
@click.option(
    "--assume-pre-applied",
    is_flag=True,
    help="PRO only: plan as if the planned PRE apply had been done (what a review shows).",
)
@lang_option
@init_option
@click.option(
    "--no-cache",
    is_flag=True,
    help="Validate every file and form again; read and write no cache (.provisioner/cache/).",
)
@repo_option
def plan(
    env: str,
    fmt: str,
    detailed_exitcode: bool,
    force: bool,
    with_messages: bool,
    assume_pre_applied: bool,
    lang: str,
    init: bool,
    no_cache: bool,
    repo: Path | None,
) -> None:
    """Show what `apply --env ENV` would change, grouped by entity (exit 1 on errors)."""
    from provisioner.i18n import language
    from provisioner.plan.render import FORMATS, render_markdown

    if assume_pre_applied and env != "PRO":
        raise click.UsageError("--assume-pre-applied plans PRO; use it with --env PRO")
    messages_wanted = fmt == "markdown" and with_messages
    prepared = prepare(
        resolve_repo(repo),
        env,
        force,
        fmt,
        assume_pre_applied=assume_pre_applied,
        init=init,
        cache=not no_cache,
        kept_plan=not messages_wanted,  # the messages read the files and the catalog
    )
    the_plan = prepared.plan
    messages = _closing_messages(prepared) if messages_wanted else None
    with language(lang if fmt != "json" else "en"):
        if messages is not None:
            click.echo(render_markdown(the_plan, messages))
        else:
            click.echo(FORMATS[fmt](the_plan))
    if the_plan.refused:
        sys.exit(EXIT_PROBLEMS)
    sys.exit(2 if detailed_exitcode and the_plan.has_changes else EXIT_OK)
