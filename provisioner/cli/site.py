"""`site`: the status site, static HTML built from the checkout and the ledger branches."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.common import fail_environment, repo_option, resolve_repo


@click.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the pages (made if missing; an earlier site there is replaced).",
)
@repo_option
def site(out: Path, repo: Path | None) -> None:
    """Build the status site: integrations per environment, one page per entity, certificate
    expiries and pending work, in Catalan, with no external assets.
    """
    from datetime import UTC, datetime

    from provisioner.runtime import local_edges
    from provisioner.site.build import SiteProblem, collect, write_site
    from provisioner.site.model import build_site
    from provisioner.site.render import render_site

    root = resolve_repo(repo)
    try:
        inputs = collect(root, datetime.now(UTC), edges=local_edges(root))
        written = write_site(render_site(build_site(inputs)), out)
    except SiteProblem as exc:
        fail_environment(str(exc))
    click.echo(f"site: {written} page(s) written to {out} (open {out / 'index.html'})")
