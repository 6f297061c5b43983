"""`apply`: store documents, write the APP configuration, record the ledger."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from provisioner.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    env_option,
    format_option,
    init_option,
    local_store_option,
    open_store,
    prepare,
    progress_reporter,
    repo_option,
    resolve_repo,
    store_option,
)


@click.command()
@env_option
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
@click.option("--force", is_flag=True, help="Accept a plan that the safety rule refuses.")
@click.option(
    "--repair",
    is_flag=True,
    help="Also put back recorded documents missing from the store (never replacing one).",
)
@store_option
@local_store_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for app-<ENV>.json (default: build/app in the repository).",
)
@format_option("text", "json")
@init_option
@repo_option
def apply(
    env: str,
    dry_run: bool,
    force: bool,
    repair: bool,
    store_kind: str | None,
    local_store: Path | None,
    out: Path | None,
    fmt: str,
    init: bool,
    repo: Path | None,
) -> None:
    """Store the documents, write the APP configuration and record the ledger commit."""
    from provisioner.apply import pipeline as applying
    from provisioner.plan.render import plan_as_dict, render_text
    from provisioner.text import json_text

    root = resolve_repo(repo)
    environ = dict(os.environ)
    prepared = prepare(root, env, force, fmt, init=init)
    store = open_store(
        store_kind, root, local_store, prepared.report.catalog, environ, ci_guard=not dry_run
    )
    out_dir = out or root / applying.DEFAULT_OUT
    result = applying.apply(
        prepared,
        store,
        out_dir,
        dry_run=dry_run,
        repair=repair,
        environ=environ,
        progress=progress_reporter(fmt, environ),
    )
    if fmt == "json":
        data = {"plan": plan_as_dict(prepared.plan), "result": result.as_dict()}
        click.echo(json_text(data))
    else:
        click.echo(render_text(prepared.plan))
        click.echo(applying.result_text(result))
    sys.exit(EXIT_OK if result.ok else EXIT_PROBLEMS)
