"""The one error type of the command line.

Core and edges raise FatalError when a command cannot run at all (bad usage, no repository, no
git, a file the command cannot work on). The command group turns it into one line
`error: <message>` on stderr and the exit code, in one place (provisioner/cli/__init__.py).
Problems *in* the files are never raised: they are diagnostics, reported all at once.
"""

from __future__ import annotations


class FatalError(Exception):
    """The command cannot run; the message says why and what to do. Exit code 2 by default."""

    exit_code = 2
