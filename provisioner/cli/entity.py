"""`entity`: may this entity integrate? The procedure's first action, with the message to send."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from provisioner.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    format_option,
    repo_option,
    resolve_repo,
)
from provisioner.errors import FatalError


@click.command()
@click.argument("query")
@click.option("--fp", metavar="NUMBER", help="The ticket (FP) number, for the message.")
@click.option("--provider-name", metavar="NAME", help="The provider, for the message.")
@click.option("--provider-nif", metavar="NIF", help="The provider's NIF, for the message.")
@repo_option
@format_option("text", "json")
def entity(
    query: str,
    fp: str | None,
    provider_name: str | None,
    provider_nif: str | None,
    repo: Path | None,
    fmt: str,
) -> None:
    """Whether the entity QUERY (an INE10, a NIF or words of its name) may integrate.

    Eligible (exit 0); depends on an ABSS, with the message to send (exit 1); or not on the list,
    with the message to the head of service (exit 1, needs --fp). Several matches: exit 2.
    """
    from provisioner.catalog import load_catalog
    from provisioner.desk.eligibility import verdicts
    from provisioner.desk.messages import MessageProblem, render_for_entity
    from provisioner.runtime import catalog_memory

    root = resolve_repo(repo)
    catalog, problems = load_catalog(root, catalog_memory(root))
    if catalog is None:
        raise FatalError(
            "the catalog cannot be loaded: "
            + "; ".join(f"{d.file}:{d.line} {d.code}" for d in problems if d.is_error)
            + "; run validate"
        )
    found = verdicts(catalog, query)
    if len(found) > 1:
        if fmt == "json":
            click.echo(json.dumps([v.as_dict() for v in found], indent=2, ensure_ascii=False))
        else:
            click.echo("\n".join(v.describe() for v in found))
        click.echo(
            f"error: {len(found)} entities match {query!r}; ask again with the INE10", err=True
        )
        sys.exit(EXIT_USAGE)
    (verdict,) = found
    text: str | None = None
    note: str | None = None
    if verdict.message is not None:
        try:
            text = render_for_entity(
                verdict.message,
                catalog,
                ine10=verdict.ine10,
                name=verdict.name,
                nif=verdict.nif,
                fp=fp,
                provider_name=provider_name,
                provider_nif=provider_nif,
            )
        except MessageProblem as exc:
            note = f"no message yet: {exc} (give --fp and --provider-name)"
    if fmt == "json":
        data = {**verdict.as_dict(), "message_text": text, "note": note}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(verdict.describe())
        if text is not None:
            click.echo(f"\nMessage to send ({verdict.message}):\n")
            click.echo(text, nl=not text.endswith("\n"))
        elif verdict.status == "eligible":
            click.echo(
                f"\nNext: start the integration with hestia-provisioner new --entity "
                f"{verdict.ine10} (and the ticket's data)"
            )
    if note is not None:
        click.echo(note, err=True)
    sys.exit(EXIT_OK if verdict.status == "eligible" else EXIT_PROBLEMS)
