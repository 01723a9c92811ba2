"""How long work tells its caller how far it is: a callback taking (done, total, what), `what` a short Chinese label
of the part under way. The core only calls it; a way in decides whether anyone sees it (the CLI draws a progress bar
on a terminal, and nothing under --json or in a pipe)."""

from __future__ import annotations

from collections.abc import Callable

OnProgress = Callable[[int, int, str], None]


def no_progress(done: int, total: int, what: str) -> None:
    """The default: nobody is watching."""
