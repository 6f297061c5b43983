"""`new`: start an integration from what a ticket gives, in one command."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from provisioner.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    repo_option,
    resolve_repo,
)
from provisioner.errors import FatalError
from provisioner.vocabulary import ENVIRONMENT_NAMES


def _ask(label: str, default: str | None = None) -> str:
    value: str = click.prompt(label, default=default, show_default=default is not None)
    return value.strip()


def _ask_optional(label: str) -> str:
    value: str = click.prompt(
        f"{label} (empty if not received yet)", default="", show_default=False
    )
    return value.strip()


def _choose_entity(catalog: Any, query: str, interactive: bool) -> Any:
    """The register row the agent means, or exit with the verdict and its message."""
    from provisioner.desk.eligibility import verdicts

    found = verdicts(catalog, query)
    eligible = [v for v in found if v.status == "eligible"]
    if len(found) > 1:
        if not interactive:
            click.echo("\n".join(v.describe() for v in found))
            raise FatalError(f"{len(found)} entities match {query!r}; give the INE10")
        for i, v in enumerate(found, start=1):
            click.echo(f"  {i}. {v.describe()}")
        picked: int = click.prompt(
            "Which one", type=click.IntRange(1, len(found)), show_choices=False
        )
        found = [found[picked - 1]]
        eligible = [v for v in found if v.status == "eligible"]
    (verdict,) = found
    if not eligible:
        return verdict
    return catalog.eligible_by_ine10[verdict.ine10]


@click.command()
@click.option("--fp", metavar="NUMBER", help="The ticket (FP) number.")
@click.option("--entity", "entity_query", metavar="QUERY", help="INE10, NIF or name.")
@click.option("--provider-name", metavar="NAME", help="The provider's name.")
@click.option("--provider-nif", metavar="NIF", help="The provider's NIF.")
@click.option(
    "--cda",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The CDA as received (public certificate, PEM or DER).",
)
@click.option(
    "--form",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The integration form as received (PDF signed by the entity).",
)
@click.option("--ip", "ips", multiple=True, metavar="IP", help="A client IP or CIDR (repeat).")
@click.option(
    "--env",
    "env",
    type=click.Choice(list(ENVIRONMENT_NAMES)),
    help="The environment (default PRE).",
)
@click.option(
    "--interactive/--no-interactive",
    default=None,
    help="Ask for what the flags do not give (default: when run in a terminal).",
)
@repo_option
def new(
    fp: str | None,
    entity_query: str | None,
    provider_name: str | None,
    provider_nif: str | None,
    cda: Path | None,
    form: Path | None,
    ips: tuple[str, ...],
    env: str | None,
    interactive: bool | None,
    repo: Path | None,
) -> None:
    """Start an integration from a ticket's data, in one command.

    Fills the entity from the register, copies the CDA and the form into the entity's folder
    under clean names, writes integrations/<INE10>/<provider>.yaml (never over an existing
    file), validates it, and says what is still missing and which message to send. An entity
    that may not integrate gets its verdict and message instead of a file.
    """
    from provisioner.catalog import load_catalog
    from provisioner.cli.render import diagnostics_text
    from provisioner.desk.compose import file_findings, refused_ips
    from provisioner.desk.draft import load_desk_file
    from provisioner.desk.eligibility import Verdict
    from provisioner.desk.gaps import request_gaps
    from provisioner.desk.messages import MessageProblem, entity_names, render_for_entity
    from provisioner.desk.start import StartProblem, Ticket, next_step, start, text_problem
    from provisioner.rules.run import validate
    from provisioner.runtime import catalog_memory, local_edges

    if interactive is None:
        interactive = sys.stdin.isatty()
    root = resolve_repo(repo)
    catalog, problems = load_catalog(root, catalog_memory(root))
    if catalog is None:
        raise FatalError(
            "the catalog cannot be loaded: "
            + "; ".join(f"{d.file}:{d.line} {d.code}" for d in problems if d.is_error)
        )
    asked = interactive
    missing = [
        flag
        for flag, value in (
            ("--fp", fp),
            ("--entity", entity_query),
            ("--provider-name", provider_name),
            ("--provider-nif", provider_nif),
        )
        if not value
    ]
    if missing and not asked:
        raise FatalError("give " + ", ".join(missing) + " (or run it in a terminal to be asked)")
    fp = fp or _ask("Ticket (FP) number")
    fp = fp.upper().removeprefix("FP").lstrip("#").strip()
    if not re.fullmatch(r"[0-9]{1,10}", fp):
        raise FatalError(f"the FP number {fp!r} must be digits (e.g. 265594)")
    entity_query = entity_query or _ask("Entity (INE10, NIF or name)")
    chosen = _choose_entity(catalog, entity_query, asked)
    if isinstance(chosen, Verdict):
        provider_name = provider_name or (asked and _ask("Provider name")) or None
        click.echo(chosen.describe())
        click.echo("No integration file: this request does not go on.")
        kind = chosen.message or "not-eligible"
        try:
            text = render_for_entity(
                kind,
                catalog,
                ine10=chosen.ine10,
                name=chosen.name,
                nif=chosen.nif,
                fp=fp,
                provider_name=provider_name,
                provider_nif=provider_nif,
            )
        except MessageProblem as exc:
            click.echo(f"no message: {exc}", err=True)
        else:
            click.echo(f"\nMessage to send ({kind}):\n")
            click.echo(text, nl=not text.endswith("\n"))
        sys.exit(EXIT_PROBLEMS)
    provider_name = provider_name or _ask("Provider name")
    provider_nif = (provider_nif or _ask("Provider NIF")).upper()
    for label, value in (("the provider name", provider_name), ("the NIF", provider_nif)):
        if problem := text_problem(label, value):
            raise FatalError(problem)
    if asked:
        if cda is None and (answer := _ask_optional("CDA file")):
            cda = Path(answer).expanduser()
        if form is None and (answer := _ask_optional("Signed form file")):
            form = Path(answer).expanduser()
        if not ips and (answer := _ask_optional("IPs, separated by spaces or commas")):
            ips = tuple(answer.replace(",", " ").split())
        env = env or _ask("Environment", default="PRE").upper()
        if env not in ENVIRONMENT_NAMES:
            raise FatalError(f"the environment is PRE or PRO, not {env!r}")
    ticket = Ticket(
        fp=fp,
        entity=chosen,
        provider_name=" ".join(provider_name.split()),
        provider_nif=provider_nif,
        environment=env or "PRE",
        ips=tuple(ip.strip() for ip in ips if ip.strip()),
        cda=cda,
        form=form,
    )
    try:
        started = start(root, ticket)
    except StartProblem as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_PROBLEMS)
    rel = started.file.relative_to(root).as_posix()
    click.echo(f"wrote {rel}")
    for doc in started.copied:
        click.echo(f"copied {doc}")
    for doc in started.reused:
        click.echo(f"kept {doc} (already there, same content)")
    edges = local_edges(root)
    report = validate(root, [started.file], edges=edges)
    click.echo(diagnostics_text(report.diagnostics, report.files))
    desk = load_desk_file(started.file, root)  # just written complete enough to load
    found, signers = file_findings(desk, edges)
    gaps = request_gaps(
        entity_names(catalog, chosen.ine10, chosen.name),
        found,
        has_ips=bool(ticket.ips),
        form_signers=signers,
        refused_ips=refused_ips(desk.source, found),
    )
    if gaps:
        click.echo("\nStill missing or wrong (what the request-info message asks for):")
        click.echo("\n".join(g.line for g in gaps))
    errors = [d for d in report.diagnostics if d.is_error]
    click.echo("\n" + next_step(rel, errors, gaps))
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)
