"""Progress appears on a terminal once a run has taken a couple of seconds, and nowhere else."""

from __future__ import annotations

import io

from provisioner.runtime.progress import TerminalProgress, terminal_progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_at_first_then_counts_then_erases_its_line() -> None:
    now = [100.0]
    out = Tty()
    progress = TerminalProgress(out, after=2.0, clock=lambda: now[0])
    progress("checking signed forms", 10, 1000)
    assert out.getvalue() == ""  # a short run says nothing
    now[0] += 2.5
    progress("checking signed forms", 20, 1000)
    progress("checking signed forms", 30, 1000)
    assert out.getvalue() == "\rchecking signed forms: 20/1000\rchecking signed forms: 30/1000"
    progress.close()
    assert out.getvalue().endswith("\r\x1b[K")


def test_only_text_output_to_a_terminal_outside_ci() -> None:
    assert terminal_progress(Tty(), "text", {}) is not None
    assert terminal_progress(io.StringIO(), "text", {}) is None  # a pipe or a log file
    assert terminal_progress(Tty(), "text", {"CI": "true"}) is None
    for fmt in ("github", "json", "markdown"):
        assert terminal_progress(Tty(), fmt, {}) is None


def test_a_short_run_never_writes_even_when_closed() -> None:
    out = Tty()
    progress = TerminalProgress(out, after=2.0, clock=lambda: 0.0)
    progress("checking signed forms", 1, 2)
    progress.close()
    assert out.getvalue() == ""
