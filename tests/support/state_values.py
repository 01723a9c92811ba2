"""A process that has not seen the values states keep apart (workflows/state.py), as a fresh command would be."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from workflows import state


@contextlib.contextmanager
def state_values_forgotten() -> Iterator[None]:
    with state._seen_lock:
        kept = dict(state._seen)
        state._seen.clear()
    try:
        yield
    finally:
        state._remember(kept)
