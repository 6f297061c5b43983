"""One error type: the command group turns a FatalError into one line and its exit code."""

from __future__ import annotations

import click
from click.testing import CliRunner

from provisioner.apply.ledger import LedgerMoved
from provisioner.cli import Commands
from provisioner.errors import FatalError


def _group() -> click.Group:
    group = Commands(name="g")

    @group.command()
    def usage() -> None:
        raise FatalError("no 'catalog/' folder; run inside the repository or pass --repo")

    @group.command()
    def moved() -> None:
        raise LedgerMoved("provisioned/PRE moved since the plan was made")

    return group


def test_a_fatal_error_is_one_line_on_stderr_and_exit_2() -> None:
    result = CliRunner().invoke(_group(), ["usage"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        result.stderr == "error: no 'catalog/' folder; run inside the repository or pass --repo\n"
    )


def test_a_moved_ledger_keeps_exit_1() -> None:
    result = CliRunner().invoke(_group(), ["moved"])
    assert result.exit_code == 1
    assert result.stderr == "error: provisioned/PRE moved since the plan was made\n"
