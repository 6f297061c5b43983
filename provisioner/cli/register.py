"""`register import`: replace catalog/entities.yaml with the head of service's list."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioner.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    repo_option,
    resolve_repo,
)
from provisioner.errors import FatalError


@click.group()
def register() -> None:
    """The register of entities that may integrate (catalog/entities.yaml)."""


@register.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report the changes and write nothing.")
@repo_option
def import_register(file: Path, dry_run: bool, repo: Path | None) -> None:
    """Rewrite catalog/entities.yaml from FILE (CSV or XLSX), sorted and stable.

    The first row names the columns: ine10 and name, nif (required for entities that may
    integrate), kind, abss (the INE10 of the ABSS a dependent entity goes through) and article
    (optional). Reports additions, removals and changes; any refused row (bad INE10 or NIF, a
    duplicate, an unknown ABSS) is reported and nothing is written (exit 1).
    """
    from provisioner.catalog import (
        CATALOG_DIR,
        REGISTER_FILE,
        register_changes,
        register_columns,
        register_from_rows,
        register_yaml,
    )
    from provisioner.desk.sheets import SheetProblem, read_sheet
    from provisioner.loading.loader import load_model
    from provisioner.model import Register

    root = resolve_repo(repo)
    target = root / CATALOG_DIR / REGISTER_FILE
    try:
        heading, rows = read_sheet(file)
    except SheetProblem as exc:
        raise FatalError(str(exc)) from None
    columns, problems = register_columns(heading)
    if problems:
        for problem in problems:
            click.echo(f"{file}:1: {problem}", err=True)
        click.echo("nothing written: fix the heading row", err=True)
        sys.exit(EXIT_PROBLEMS)
    previous = None
    if target.exists():
        previous, _, _ = load_model(target, f"{CATALOG_DIR}/{REGISTER_FILE}", Register)
    new, refused = register_from_rows(rows, columns, previous)
    for row in refused:
        click.echo(f"{file}:{row.line}: refused: {row.reason}", err=True)
    if new is None:
        click.echo(
            f"{len(refused)} row(s) refused: nothing written; fix them in the list", err=True
        )
        sys.exit(EXIT_PROBLEMS)
    changes = register_changes(previous, new)
    for sign, lines in (("+", changes.added), ("-", changes.removed), ("~", changes.changed)):
        for line in lines:
            click.echo(f"{sign} {line}")
    counts = (
        f"{len(new.eligible)} may integrate, {len(new.dependent)} depend on an ABSS; "
        f"{len(changes.added)} added, {len(changes.removed)} removed, "
        f"{len(changes.changed)} changed"
    )
    text = register_yaml(new)
    if dry_run:
        click.echo(f"dry run: {counts}; nothing written")
        sys.exit(EXIT_OK)
    try:
        unchanged = target.exists() and target.read_bytes() == text.encode("utf-8")
        if not unchanged:
            partial = target.with_suffix(".yaml.tmp")
            partial.write_text(text, encoding="utf-8")
            partial.replace(target)
    except OSError as exc:
        raise FatalError(f"cannot write {target}: {exc.strerror}") from None
    click.echo(f"{'unchanged' if unchanged else 'wrote'} {CATALOG_DIR}/{REGISTER_FILE}: {counts}")
    sys.exit(EXIT_OK)
