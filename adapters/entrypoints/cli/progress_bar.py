"""A progress bar for long commands (simulate, bpmn migrate, calendar load, registry-check, bench), drawn by rich on
standard error, and only where someone watches: not under --json, not when standard error is a pipe or a file, so
scripts and logs get exactly the output they got before."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from workflows.on_progress import OnProgress, no_progress

if TYPE_CHECKING:
    from rich.console import Console


@contextlib.contextmanager
def progress_bar(*, quiet: bool, console: Console | None = None) -> Iterator[OnProgress]:
    """A callback drawing one bar per part of the work (its Chinese label), removed when the work ends."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    if quiet or not console.is_terminal:
        yield no_progress
        return
    bars: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:

        def report(done: int, total: int, what: str) -> None:
            if what not in bars:
                bars[what] = progress.add_task(what, total=total)
            progress.update(bars[what], completed=done, total=total)

        yield report
