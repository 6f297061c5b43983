"""`site`: the status site, static HTML built from the checkout and the ledger branches."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.common import (
    current_time,
    local_store_option,
    open_store,
    repo_option,
    resolve_repo,
)
from provisioner.errors import FatalError


@click.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the pages (made if missing; an earlier site there is replaced).",
)
@click.option(
    "--store",
    "store_kind",
    type=click.Choice(["local", "sharepoint"]),
    default=None,
    help="Check each environment's drift in this document store (default: not checked).",
)
@local_store_option
@repo_option
def site(out: Path, store_kind: str | None, local_store: Path | None, repo: Path | None) -> None:
    """Build the status site: integrations per environment, one page per entity, certificate
    expiries and pending work, in Catalan, with no external assets.

    With --store (or --local-store) the pending work also shows each environment's drift
    between the store and its ledger; without, drift is not checked.
    """
    import os

    from provisioner.catalog import load_catalog
    from provisioner.runtime import local_edges
    from provisioner.site.build import collect, write_site
    from provisioner.site.model import build_site
    from provisioner.site.render import render_site

    root = resolve_repo(repo)
    store = None
    if store_kind is not None or local_store is not None:
        catalog, _ = load_catalog(root)
        if catalog is None:
            raise FatalError("the catalog does not load: run `hestia-provisioner validate` first")
        store = open_store(
            store_kind or "local", root, local_store, catalog, dict(os.environ), ci_guard=False
        )
    inputs = collect(root, current_time(), edges=local_edges(root), store=store)
    written = write_site(render_site(build_site(inputs)), out)
    click.echo(f"site: {written} page(s) written to {out} (open {out / 'index.html'})")
