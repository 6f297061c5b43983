"""Start-up: every command is listed and runs, and a run imports only what it needs.

The command modules are imported when their command runs, and `--help` lists them from the
summaries kept in provisioner.cli. These tests check that the summaries are the commands' own,
that no command is left out, and (in child processes, as a user runs the tool) which libraries
`--help` and `validate` on a repository without integrations import.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioner.cli import COMMANDS, PLUGINS_ENV, Commands, LazyCommand, cli, load_command
from provisioner.runtime.settings import CACHE_DIR_ENV

CLI_FOLDER = Path(__file__).resolve().parents[2] / "provisioner" / "cli"
#: Modules of provisioner/cli that are not commands.
HELPERS = {"__init__", "common", "render"}
#: Libraries a run must not pay for unless it uses them.
HEAVY = ("pydantic", "yaml", "cryptography", "pyhanko", "git", "defusedxml", "office365")


def _imports_of(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the command line in a child process; its result and the modules it imported."""
    driver = (  # the modules are listed at exit (main() leaves the process itself)
        "import atexit, json, sys\n"
        "from provisioner.cli import main\n"
        "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules))))\n"
        "sys.argv = ['hestia-provisioner', *json.loads(sys.argv[1])]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", driver, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    stderr, _, modules = done.stderr.rpartition("\nMODULES ")
    done.stderr = stderr
    return done, set(json.loads(modules))


def _heavy(modules: set[str]) -> set[str]:
    """The heavy libraries imported (a library's submodule imports its package first; the
    stand-in for pydantic's plugin loader is not pydantic)."""
    return set(HEAVY) & modules


def test_every_command_module_is_listed() -> None:
    modules = {p.stem for p in CLI_FOLDER.glob("*.py")} - HELPERS
    listed = {entry.target.partition(":")[0].rpartition(".")[2] for entry in COMMANDS.values()}
    assert listed == modules


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_summary_is_its_command_s_own(name: str) -> None:
    entry = COMMANDS[name]
    command = load_command(entry)
    assert command.name == name
    assert not command.hidden and not command.short_help
    first_paragraph = inspect.cleandoc(command.help or "").split("\n\n")[0]
    assert entry.summary == first_paragraph
    stand_in = click.Command(name, help=entry.summary)
    for limit in (20, 45, 70, 200):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_help_lists_every_command_as_the_commands_themselves_would() -> None:
    lazy = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    every = Commands(name="cli", help=cli.help)
    for name, entry in COMMANDS.items():
        every.add_command(load_command(entry), name)
    eager = CliRunner().invoke(every, ["--help"], terminal_width=80)
    assert lazy.exit_code == 0
    assert lazy.output.partition("Commands:")[2] == eager.output.partition("Commands:")[2]
    for name in COMMANDS:
        assert f"\n  {name} " in lazy.output


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["valdate"])
    assert result.exit_code == 2
    assert "No such command 'valdate'" in result.output


def test_a_table_entry_that_is_not_a_command_is_refused() -> None:
    with pytest.raises(TypeError, match="is not a click command"):
        load_command(LazyCommand("provisioner.cli.common:current_time", "Not a command."))


def test_help_imports_no_command_and_no_heavy_library(tmp_path: Path) -> None:
    done, modules = _imports_of(["--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "validate " in done.stdout
    commands = {entry.target.partition(":")[0] for entry in COMMANDS.values()}
    assert not modules & commands
    assert not _heavy(modules)


def test_a_command_imports_its_own_module_only(tmp_path: Path) -> None:
    done, modules = _imports_of(["rules", "--format", "json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert {c["code"] for c in json.loads(done.stdout)} >= {"CATALOG-INVALID", "YAML-SYNTAX"}
    commands = {entry.target.partition(":")[0] for entry in COMMANDS.values()}
    assert modules & commands == {"provisioner.cli.rules"}


def test_validate_on_a_repository_without_integrations_stays_light(empty_repo: Path) -> None:
    """The catalog is parsed (YAML, pydantic) on the first run only, and no run reads a form,
    a certificate or git when there is nothing to check; the next run, with nothing changed,
    replays the last one without the models, the catalog or the rules."""
    args = ["validate", "--repo", str(empty_repo)]
    first, modules = _imports_of(args, empty_repo)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "0 file(s) checked: 0 error(s), 0 warning(s)\n"
    assert _heavy(modules) == {"pydantic", "yaml"}
    again, modules = _imports_of(args, empty_repo)
    assert (again.returncode, again.stdout) == (0, first.stdout)
    assert not _heavy(modules)
    unneeded = {"provisioner.model", "provisioner.catalog", "provisioner.rules.entity"}
    assert not modules & (unneeded | {"provisioner.documents.form", "logging", "tempfile"})


def test_a_changed_catalog_is_parsed_again(empty_repo: Path) -> None:
    args = ["validate", "--repo", str(empty_repo), "--format", "json"]
    assert _imports_of(args, empty_repo)[0].returncode == 0
    register = empty_repo / "catalog" / "entities.yaml"
    register.write_text(
        register.read_text(encoding="utf-8").replace("nif: P0801900B", "nif: P0801900C"),
        encoding="utf-8",
    )
    done, modules = _imports_of(args, empty_repo)
    assert done.returncode == 1
    assert [d["code"] for d in json.loads(done.stdout)["diagnostics"]] == ["CATALOG-NIF"]
    assert "yaml" in modules


def test_no_pydantic_plugin_runs_unless_asked_for(sample_repo: Path, tmp_path: Path) -> None:
    """A package that declares a pydantic plugin gets no code run in the tool's validation
    (its plugins are disabled unless PYDANTIC_DISABLE_PLUGINS says otherwise)."""
    site = tmp_path / "site"
    (site / "spy-0.1.dist-info").mkdir(parents=True)
    (site / "spy-0.1.dist-info" / "METADATA").write_text("Name: spy\nVersion: 0.1\n")
    (site / "spy-0.1.dist-info" / "entry_points.txt").write_text("[pydantic]\nspy = spy:plugin\n")
    marker = tmp_path / "plugin-loaded"
    (site / "spy.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).touch()\n"
        "class Spy:\n"
        "    def new_schema_validator(self, *args, **kwargs):\n"
        "        return None, None, None\n"
        "plugin = Spy()\n"
    )
    args = ["validate", "--repo", str(sample_repo), "--no-cache"]

    def run(plugins: str | None) -> subprocess.CompletedProcess[str]:
        code = "import sys\nfrom provisioner.cli import main\nsys.argv[0] = 'x'\nmain()\n"
        env = {k: v for k, v in os.environ.items() if k != PLUGINS_ENV}
        env["PYTHONPATH"] = str(site)
        if plugins is not None:
            env[PLUGINS_ENV] = plugins
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
        )

    done = run(None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not marker.exists()
    done = run("")  # an explicit setting wins: here, every plugin is loaded
    assert done.returncode == 0, done.stdout + done.stderr
    assert marker.exists()


def test_validation_reads_no_package_metadata(sample_repo: Path) -> None:
    """With plugins disabled, pydantic's plugin loader (which would import the package-metadata
    machinery) is stood in for: the models build, nothing scans the installed packages."""
    done, modules = _imports_of(["validate", "--repo", str(sample_repo), "--no-cache"], sample_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pydantic" in modules
    assert "importlib.metadata" not in modules


def _leaving(body: str) -> subprocess.CompletedProcess[str]:
    """Run body in a child process that then leaves through main's exit."""
    code = "import atexit, sys, threading, time\nfrom provisioner.cli import _leave\n" + body
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_the_quick_exit_delivers_all_output_and_runs_exit_handlers() -> None:
    big = 300_000  # several times a pipe's buffer
    done = _leaving(
        "atexit.register(lambda: print('handler ran', file=sys.stderr))\n"
        f"sys.stdout.write('x' * {big})\n"
        "_leave(3)\n"
    )
    assert done.returncode == 3
    assert done.stdout == "x" * big
    assert "handler ran" in done.stderr
    done = _leaving("_leave(None)\n")
    assert done.returncode == 0
    done = _leaving("_leave('cannot go on')\n")  # as SystemExit('...') would
    assert (done.returncode, done.stderr.strip()) == (1, "cannot go on")


def test_the_quick_exit_waits_for_a_running_thread() -> None:
    done = _leaving(
        "def work():\n"
        "    time.sleep(0.2)\n"
        "    print('thread finished', flush=True)\n"
        "threading.Thread(target=work).start()\n"
        "_leave(4)\n"
    )
    assert done.returncode == 4
    assert done.stdout == "thread finished\n"


def test_a_file_edited_around_known_documents_loads_no_cryptography(
    sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its CDA's and form's verdicts are known (kept by their bytes and the trusted roots'):
    the run checks the file's text and parses no certificate or PDF."""
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    args = ["validate", "--repo", str(sample_repo), "--format", "json"]
    first, modules = _imports_of(args, sample_repo)
    assert "cryptography" in modules  # the first run checks every document
    edited = sample_repo / "integrations/8100560009/serveis-informatics-pirineu.yaml"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace('notes: "', 'notes: "Revisat. ', 1), encoding="utf-8")
    again, modules = _imports_of(args, sample_repo)
    assert again.returncode == first.returncode and again.stdout == first.stdout
    assert not {"cryptography", "pyhanko", "asn1crypto"} & modules
