"""What every command shares: exit codes, the usage-error exit, and the common options."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from provisioner.vocabulary import ENVIRONMENT_NAMES

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


def fail_environment(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def resolve_repo(repo: Path | None) -> Path:
    from provisioner.rules.run import EnvironmentProblem, find_repo_root

    try:
        return repo.resolve() if repo is not None else find_repo_root(Path.cwd())
    except EnvironmentProblem as exc:
        fail_environment(str(exc))


repo_option = click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Repository root (default: the nearest folder above with a catalog/).",
)


def format_option(*choices: str) -> Callable[[F], F]:
    """--format, the first choice being the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


env_option = click.option(
    "--env",
    "env",
    type=click.Choice(list(ENVIRONMENT_NAMES)),
    required=True,
    help="The environment.",
)


def desk_file(file: Path, repo: Path | None) -> Any:
    from provisioner.desk.draft import DeskProblem, load_desk_file
    from provisioner.rules.run import EnvironmentProblem, find_repo_root

    try:
        root = repo.resolve() if repo is not None else find_repo_root(file.absolute().parent)
        return load_desk_file(file, root)
    except (EnvironmentProblem, DeskProblem) as exc:
        fail_environment(str(exc))


def prepare(
    root: Path, env: str, force: bool, fmt: str, *, assume_pre_applied: bool = False
) -> Any:
    """Validate and plan; on validation errors print them and exit 1."""
    from provisioner.apply.ledger import LedgerError
    from provisioner.apply.pipeline import prepare
    from provisioner.cli.render import RENDERERS as DIAGNOSTICS
    from provisioner.rules.run import EnvironmentProblem
    from provisioner.runtime import local_edges

    try:
        prepared = prepare(
            root,
            env,  # type: ignore[arg-type]
            force=force,
            edges=local_edges(root),
            assume_pre_applied=assume_pre_applied,
        )
    except (EnvironmentProblem, LedgerError) as exc:
        fail_environment(str(exc))
    if prepared.problems:
        click.echo(DIAGNOSTICS[fmt](prepared.problems, prepared.report.files))
        click.echo("validation failed: no plan was made", err=True)
        sys.exit(EXIT_PROBLEMS)
    return prepared
