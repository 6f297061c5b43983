"""Progress on a terminal for runs that take a while (cold signed forms), and nowhere else.

A count is shown only when the run has already taken a couple of seconds, on an interactive
terminal, for people's text output: never in CI logs, pipes or machine formats (github, json,
markdown), where a line rewritten in place is noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TextIO

#: Shown only once the run has taken this long: short runs stay silent.
SHOW_AFTER = 2.0


class TerminalProgress:
    """A one-line count ("checking signed forms: 120/1000"), rewritten in place."""

    def __init__(
        self,
        stream: TextIO,
        after: float = SHOW_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.after, self.clock = stream, after, clock
        self.started = clock()
        self.shown = False

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.shown and self.clock() - self.started < self.after:
            return
        self.shown = True
        self.stream.write(f"\r{label}: {done}/{total}")
        self.stream.flush()

    def close(self) -> None:
        """Erase the line, so that the report starts on a clean one."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def terminal_progress(
    stream: TextIO, fmt: str, environ: Mapping[str, str]
) -> TerminalProgress | None:
    """Progress for this run, or None: only text output to a terminal, outside CI."""
    if fmt != "text" or environ.get("CI") or not stream.isatty():
        return None
    return TerminalProgress(stream)
