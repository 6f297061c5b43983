"""The command line: parse arguments, call the core, format the answer.

One module per command, imported only when its command runs (or its own --help is asked for):
`hestia-provisioner --help` lists every command from the summaries below, so a run pays only
for the command it names. Heavy libraries (pydantic, cryptography, pyHanko, git) are imported
inside the commands for the same reason.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import types
from collections.abc import Mapping
from importlib import import_module
from typing import Any, NamedTuple, NoReturn

import click

from provisioner.errors import FatalError


class LazyCommand(NamedTuple):
    """Where a command is defined ("module:attribute"), and its docstring's first paragraph.

    The summary is what `--help` shows (shortened as click shortens it); a test checks it is the
    command's own, so the two cannot drift apart.
    """

    target: str
    summary: str


COMMANDS: Mapping[str, LazyCommand] = {
    "apply": LazyCommand(
        "provisioner.cli.apply:apply",
        "Store the documents, write the APP configuration and record the ledger commit.",
    ),
    "certs": LazyCommand(
        "provisioner.cli.certs:certs",
        "List every CDA with entity, provider, environment, fingerprint and expiry.",
    ),
    "ci": LazyCommand(
        "provisioner.cli.ci:ci",
        "Steps of the GitHub workflows (ledger, freshness, review comment, issues).",
    ),
    "drift": LazyCommand(
        "provisioner.cli.drift:drift",
        "Report folders and files the ledger recorded that are missing or differ in the store.",
    ),
    "entity": LazyCommand(
        "provisioner.cli.entity:entity",
        "Whether the entity QUERY (an INE10, a NIF or words of its name) may integrate.",
    ),
    "history": LazyCommand(
        "provisioner.cli.history:history",
        "Who asked, who approved, and when it reached PRE and PRO, from git.",
    ),
    "message": LazyCommand(
        "provisioner.cli.message:message",
        "Print the procedure's message KIND (in Catalan) for the integration in FILE.",
    ),
    "new": LazyCommand(
        "provisioner.cli.new:new",
        "Start an integration from a ticket's data, in one command.",
    ),
    "plan": LazyCommand(
        "provisioner.cli.plan:plan",
        "Show what `apply --env ENV` would change, grouped by entity (exit 1 on errors).",
    ),
    "register": LazyCommand(
        "provisioner.cli.register:register",
        "The register of entities that may integrate (catalog/entities.yaml).",
    ),
    "rules": LazyCommand(
        "provisioner.cli.rules:rules",
        "List every code the checks can report: severity, one-line summary, how to fix it.",
    ),
    "sample-request": LazyCommand(
        "provisioner.cli.sample_request:sample_request",
        "Print a PRE test request (SCSP Peticion) for the entity in FILE, following the PRE rule.",
    ),
    "schema": LazyCommand(
        "provisioner.cli.schema:schema",
        "Generate the JSON Schemas in schemas/ from the models (or check they are current).",
    ),
    "site": LazyCommand(
        "provisioner.cli.site:site",
        "Build the status site: integrations per environment, one page per entity, certificate\n"
        "expiries and pending work, in Catalan, with no external assets.",
    ),
    "validate": LazyCommand(
        "provisioner.cli.validate:validate",
        "Check integration files and the catalog; report every problem at once.",
    ),
}


def load_command(entry: LazyCommand) -> click.Command:
    module, _, attribute = entry.target.partition(":")
    command = getattr(import_module(module), attribute)
    if not isinstance(command, click.Command):  # a wrong table entry, caught by the tests
        raise TypeError(f"{entry.target} is not a click command")
    return command


class Commands(click.Group):
    """The commands; the one place where a FatalError becomes `error: ...` and its exit code.

    lazy: commands by name, imported when first looked up (click looks up only the command it
    runs); the list in --help is made from their summaries without importing them.
    """

    def __init__(
        self, *args: Any, lazy: Mapping[str, LazyCommand] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: Mapping[str, LazyCommand] = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load_command(self.lazy[cmd_name]), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands, shortened as click shortens it, with nothing imported."""
        listed: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name) or click.Command(name, help=self.lazy[name].summary)
            if not command.hidden:
                listed.append((name, command))
        if not listed:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in listed)
        with formatter.section("Commands"):
            formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in listed])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FatalError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=Commands, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hestia-provisioner")
def cli() -> None:
    """Integrations of public entities with Hèstia, as reviewed files in git."""


#: pydantic loads every plugin an installed package declares, the first time a model validates.
PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"


#: The module pydantic asks for its plugins (pydantic.plugin._schema_validator imports it when
#: the first model is built).
PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_plugin_loader() -> None:
    """With every plugin disabled, stand in for pydantic's plugin loader: it would import
    importlib.metadata (about 15 ms, a third of building the first model) only to return no
    plugin. Once pydantic is imported, or with plugins enabled, nothing is changed."""
    if os.environ.get(PLUGINS_ENV) != "__all__" or PLUGIN_LOADER in sys.modules:
        return
    stand_in = types.ModuleType(PLUGIN_LOADER, "No pydantic plugin (hestia-provisioner).")
    stand_in.get_plugins = tuple  # type: ignore[attr-defined]  # no plugin: ()
    sys.modules[PLUGIN_LOADER] = stand_in


def main() -> None:
    # No third-party code hooks into the validation of hostile files, and pydantic does not
    # scan every installed package's metadata for plugins (milliseconds at each run). An
    # explicit setting in the environment wins.
    os.environ.setdefault(PLUGINS_ENV, "__all__")
    _no_plugin_loader()
    try:
        cli(prog_name="hestia-provisioner")
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


#: Python's exit status when it cannot flush the standard streams at exit.
EXIT_UNFLUSHED = 120


def _leave(code: object) -> NoReturn:
    """Exit as SystemExit(code) would, without tearing the interpreter down.

    Freeing every module and object one by one at exit costs a short run (one changed file
    among 1,000) about a tenth of its time, and nothing the tool leaves needs it: the exit
    handlers still run (the process pool's, coverage's) and the output is flushed. While
    another thread is alive, the interpreter exits as usual (it would wait for that thread).
    """
    if threading.active_count() > 1:
        raise SystemExit(code)
    if code is None or isinstance(code, int):
        status = code or 0
    else:  # SystemExit("message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, a closed stream
            status = status or EXIT_UNFLUSHED
    os._exit(status)
