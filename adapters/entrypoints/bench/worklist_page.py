"""The worklist's first page as the caseworkers' web app asks for it (adapters/entrypoints/web/caseworkers/
worklist.py): the count of each view, then the first page of the landing view, for the intake clerk of the
authority every bench copy is filed with.

It calls the repository's worklist query the web page calls; when that query changes shape (keyset pages), this is
the one place the bench follows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

PAGE_SIZE = 25  # the web page's
VIEWS = ("mine", "unclaimed", "overdue", "all")
CLERK = {"username": "bench-intake", "roles": ["intake"], "authority": "510100"}


def first_page(uow: Any, now: datetime) -> tuple[list[Any], int]:
    """What opening /tasks reads: every view's count, then the landing view's first page; returns its rows and
    total."""

    def view(key: str, limit: int) -> tuple[list[Any], int]:
        return uow.repo.worklist(
            roles=CLERK["roles"], authority=CLERK["authority"],
            claimed_by=CLERK["username"] if key == "mine" else None, unclaimed_only=key == "unclaimed",
            overdue_at=now if key == "overdue" else None, limit=limit, offset=0)

    counts = {key: view(key, 0)[1] for key in VIEWS}
    landing = next((key for key in ("mine", "unclaimed", "overdue") if counts[key]), "all")
    return view(landing, PAGE_SIZE)
