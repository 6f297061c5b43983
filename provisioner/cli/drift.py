"""`drift`: compare the store with what the ledger says was stored."""

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
    local_store_option,
    open_store,
    repo_option,
    resolve_repo,
    store_option,
)


@click.command()
@env_option
@store_option
@local_store_option
@format_option(formats="provisioner.apply.drift")
@repo_option
def drift(
    env: str, store_kind: str | None, local_store: Path | None, fmt: str, repo: Path | None
) -> None:
    """Report folders and files the ledger recorded that are missing or differ in the store.

    Exit 0 without drift, 1 with drift, 2 when the store or the ledger cannot be read.
    """
    from provisioner.apply.drift import FORMATS, find_drift
    from provisioner.apply.ledger import open_repo, read_ledger
    from provisioner.apply.store import StoreError
    from provisioner.catalog import load_catalog
    from provisioner.errors import FatalError

    root = resolve_repo(repo)
    catalog, _ = load_catalog(root)
    if catalog is None:
        raise FatalError("the catalog does not load: run `hestia-provisioner validate` first")
    signers = tuple((s.name, s.key) for s in catalog.service.ledger_signers)
    ledger = read_ledger(open_repo(root), env, signers=signers)
    store = open_store(store_kind, root, local_store, catalog, dict(os.environ))
    try:
        report = find_drift(env, ledger.manifest if ledger else {}, store)
    except StoreError as exc:
        raise FatalError(f"the store could not be read: {exc}") from None
    click.echo(FORMATS[fmt](report))
    sys.exit(EXIT_OK if report.clean else EXIT_PROBLEMS)
