"""`sample-request`: a PRE test request for an entity."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.common import current_time, desk_file, repo_option


@click.command("sample-request")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--modality", "modality", metavar="CODE", help="The modality (CodigoCertificado).")
@click.option(
    "--all", "every", is_flag=True, help="One request per granted modality (needs --out)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for --all: writes <MODALITY>.request.xml files.",
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="NAME=VALUE",
    help="Fill a specific-data field, e.g. --set IdCites=1001 (made-up test data only).",
)
@click.option(
    "--fill-generic",
    is_flag=True,
    help="Add the official (Funcionario) and the data subject (Titular) with made-up values.",
)
@click.option("--soap", is_flag=True, help="Wrap the Peticion in a SOAP envelope.")
@repo_option
def sample_request(
    file: Path,
    modality: str | None,
    every: bool,
    out: Path | None,
    assignments: tuple[str, ...],
    fill_generic: bool,
    soap: bool,
    repo: Path | None,
) -> None:
    """Print a PRE test request (SCSP Peticion) for the entity in FILE, following the PRE rule.

    The entity's INE10 goes in DatosAutorizacion; AOC's INE10 is the requester and the INE code
    of the specific data. Values still to fill in are '?' (validate refuses evidence that
    still holds one).
    """
    from provisioner.desk.draft import parse_assignments, request_file_name, sample_requests
    from provisioner.errors import FatalError

    if every == (modality is not None):
        raise FatalError("give exactly one of --modality CODE and --all")
    if every and out is None:
        raise FatalError("--all writes one file per modality: give the folder with --out DIR")
    if out is not None and not every:
        raise FatalError("--out is for --all; a single request is printed")
    desk = desk_file(file, repo)
    requests = sample_requests(
        desk,
        None if every else [str(modality)],
        now=current_time().astimezone(),  # the request's times are local, as PCI's are
        values=parse_assignments(assignments),
        soap=soap,
        generic=fill_generic,
    )
    if out is None:
        click.echo(requests[0][1].decode(), nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    for code, xml in requests:
        target = out / request_file_name(code)
        target.write_bytes(xml)
        click.echo(f"wrote {target}")
