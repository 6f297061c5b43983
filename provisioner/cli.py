"""The command line: parse arguments, call the core, format the answer.

Heavy libraries (pydantic, cryptography, pyHanko, git) are imported inside the commands so
`--help` and simple commands start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _fail_environment(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _repo(repo: Path | None) -> Path:
    from provisioner.validation import EnvironmentProblem, find_repo_root

    try:
        return repo.resolve() if repo is not None else find_repo_root(Path.cwd())
    except EnvironmentProblem as exc:
        _fail_environment(str(exc))


repo_option = click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Repository root (default: the nearest folder above with a catalog/).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hestia-provisioner")
def cli() -> None:
    """Integrations of public entities with Hèstia, as reviewed files in git."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@repo_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json", "markdown"]),
    default="text",
    show_default=True,
)
def validate(paths: tuple[Path, ...], repo: Path | None, fmt: str) -> None:
    """Check integration files and the catalog; report every problem at once.

    PATHS are files or folders to report on (default: every file under integrations/).
    Checks across files always consider the whole repository.
    """
    from provisioner.render import RENDERERS
    from provisioner.validation import EnvironmentProblem
    from provisioner.validation import validate as run

    root = _repo(repo)
    try:
        report = run(root, paths)
    except EnvironmentProblem as exc:
        _fail_environment(str(exc))
    click.echo(RENDERERS[fmt](report.diagnostics, report.files))
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


@cli.command()
@repo_option
@click.option("--write", "mode", flag_value="write", help="Regenerate schemas/*.schema.json.")
@click.option("--check", "mode", flag_value="check", default=True, help="Fail if any is stale.")
def schema(repo: Path | None, mode: str) -> None:
    """Generate the JSON Schemas in schemas/ from the models (or check they are current)."""
    from provisioner.schemas import stale_schemas, write_schemas

    root = _repo(repo)
    if mode == "write":
        for path in write_schemas(root):
            click.echo(f"wrote {path.relative_to(root)}")
        return
    stale = stale_schemas(root)
    for name in stale:
        click.echo(f"schemas/{name}.schema.json is stale: run `make schemas`", err=True)
    sys.exit(EXIT_PROBLEMS if stale else EXIT_OK)


def main() -> None:
    cli(prog_name="hestia-provisioner")
