"""Run one operation over many projects at once, with live progress and a summary.

Each project runs in its own thread (``--parallel N`` at a time); a failure is recorded
and the others carry on. On a terminal a rich table is redrawn in place, one row per project;
elsewhere (CI logs, pipes) every progress message is a plain ``ref: message`` line.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

Report = Callable[[str], None]
#: An operation on one project: gets the ref and a progress callback, returns a summary
#: line, raises on failure.
Operation = Callable[[str, Report], str]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ERROR_LINES = 3
STATE_STYLE = {"running": "yellow", "done": "bold green", "failed": "bold red"}


@dataclass
class Outcome:
    """How one project's operation ended."""

    ref: str
    ok: bool
    message: str
    seconds: float = 0.0


def short_error(exc: BaseException) -> str:
    """The last few meaningful lines of an error; Pulumi errors carry the whole log."""
    lines = [ANSI.sub("", line).strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line]
    return " | ".join(lines[-ERROR_LINES:]) or type(exc).__name__


class Progress:
    """Shows what each project is doing; thread-safe.

    Live: a rich table redrawn in place (``rich.live.Live``), one row per project with its
    state in colour. Otherwise every message is one ``ref: message`` line.
    """

    def __init__(self, refs: Sequence[str], out: TextIO, *, live: bool):
        self._refs = list(refs)
        self._rows = {ref: ("waiting", "") for ref in self._refs}
        self._out = out
        self._lock = threading.Lock()
        self._live: Live | None = None
        if live:
            console = Console(file=out, force_terminal=True, highlight=False)
            self._live = Live(self._table(), console=console, refresh_per_second=5)

    def __enter__(self) -> Progress:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._table(), refresh=True)
            self._live.stop()

    def _table(self) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 1))
        for ref in self._refs:
            state, message = self._rows[ref]
            table.add_row(ref, Text(state, style=STATE_STYLE.get(state, "")), message)
        return table

    def update(self, ref: str, message: str, *, state: str = "running") -> None:
        """Record the latest message of one project and show it."""
        message = ANSI.sub("", message).strip()
        if not message:
            return
        with self._lock:
            self._rows[ref] = (state, message)
            if self._live is None:
                self._out.write(f"{ref}: {message}\n")
                self._out.flush()
            else:
                self._live.update(self._table())


def run_many(
    refs: Sequence[str],
    operation: Operation,
    *,
    parallel: int,
    out: TextIO,
    live: bool | None = None,
) -> list[Outcome]:
    """Run ``operation`` for every ref, at most ``parallel`` at a time, and print a summary."""
    live = out.isatty() if live is None else live
    progress = Progress(refs, out, live=live)

    def run_one(ref: str) -> Outcome:
        started = time.monotonic()
        progress.update(ref, "started")
        try:
            message = operation(ref, lambda line: progress.update(ref, line))
        except Exception as exc:  # one project's failure must not stop the others
            outcome = Outcome(ref, False, short_error(exc), time.monotonic() - started)
            progress.update(ref, f"FAILED: {outcome.message}", state="failed")
            return outcome
        outcome = Outcome(ref, True, message, time.monotonic() - started)
        progress.update(ref, f"done: {message}", state="done")
        return outcome

    with progress, ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        outcomes = list(pool.map(run_one, refs))
    print_summary(outcomes, out)
    return outcomes


def print_summary(outcomes: Sequence[Outcome], out: TextIO) -> None:
    """One line per project, then the counts."""
    failed = [o for o in outcomes if not o.ok]
    out.write("\nSummary:\n")
    for outcome in outcomes:
        mark = "ok    " if outcome.ok else "FAILED"
        out.write(f"  {mark} {outcome.ref} ({outcome.seconds:.0f}s): {outcome.message}\n")
    out.write(f"{len(outcomes) - len(failed)} succeeded, {len(failed)} failed\n")
    out.flush()


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """0 only if every project succeeded."""
    return 0 if all(outcome.ok for outcome in outcomes) else 1
