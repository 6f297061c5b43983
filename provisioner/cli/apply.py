"""`apply`: store documents, write the APP configuration, record the ledger."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioner.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    env_option,
    fail_environment,
    format_option,
    prepare,
    repo_option,
    resolve_repo,
)


@click.command()
@env_option
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
@click.option("--force", is_flag=True, help="Accept a plan that the safety rule refuses.")
@click.option(
    "--store",
    "store_kind",
    type=click.Choice(["local", "sharepoint"]),
    default="local",
    show_default=True,
    help="Where the documents go.",
)
@click.option(
    "--local-store",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the local store (default: .provisioner/sharepoint in the repository).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for app-<ENV>.json (default: build/app in the repository).",
)
@format_option("text", "json")
@repo_option
def apply(
    env: str,
    dry_run: bool,
    force: bool,
    store_kind: str,
    local_store: Path | None,
    out: Path | None,
    fmt: str,
    repo: Path | None,
) -> None:
    """Store the documents, write the APP configuration and record the ledger commit."""
    import json

    from provisioner.apply import pipeline as applying
    from provisioner.apply.ledger import LedgerError, LedgerMoved
    from provisioner.apply.store import LocalStore
    from provisioner.plan.render import plan_as_dict, render_text

    if store_kind == "sharepoint":
        fail_environment(
            "the SharePoint store is not available yet (it comes in its own issue); "
            "use --store local"
        )
    root = resolve_repo(repo)
    prepared = prepare(root, env, force, fmt)
    store = LocalStore(local_store or root / applying.DEFAULT_STORE)
    try:
        out_dir = out or root / applying.DEFAULT_OUT
        result = applying.apply(prepared, store, out_dir, dry_run=dry_run)
    except LedgerMoved as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_PROBLEMS)
    except LedgerError as exc:
        fail_environment(str(exc))
    if fmt == "json":
        data = {"plan": plan_as_dict(prepared.plan), "result": result.as_dict()}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(prepared.plan))
        click.echo(applying.result_text(result))
    sys.exit(EXIT_OK if result.ok else EXIT_PROBLEMS)
