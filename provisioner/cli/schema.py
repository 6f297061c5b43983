"""`schema`: generate or check the JSON Schemas."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioner.cli.common import EXIT_OK, EXIT_PROBLEMS, repo_option, resolve_repo


@click.command()
@repo_option
@click.option("--write", "mode", flag_value="write", help="Regenerate schemas/*.schema.json.")
@click.option("--check", "mode", flag_value="check", default=True, help="Fail if any is stale.")
def schema(repo: Path | None, mode: str) -> None:
    """Generate the JSON Schemas in schemas/ from the models (or check they are current)."""
    from provisioner.loading.schemas import stale_schemas, write_schemas

    root = resolve_repo(repo)
    if mode == "write":
        for path in write_schemas(root):
            click.echo(f"wrote {path.relative_to(root)}")
        return
    stale = stale_schemas(root)
    for name in stale:
        click.echo(f"schemas/{name}.schema.json is stale: run `make schemas`", err=True)
    sys.exit(EXIT_PROBLEMS if stale else EXIT_OK)
