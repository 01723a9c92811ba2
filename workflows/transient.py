"""Running a unit of work again when the database aborted it for a reason that goes away on its own.

PostgreSQL breaks a deadlock by aborting one of the transactions (40P01) and refuses a serialisation conflict
(40001); SQLite answers "database is locked" when its busy timeout runs out. In each case nothing of the transaction
was kept, so the whole unit of work can simply run again. Two steps that lock the same case and filing in opposite
orders (a caseworker's completion and an outside message on the filing) are the known way to meet a deadlock here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

from adapters.outside.repository import is_transient
from tasks.errors import ConcurrentChange

ATTEMPTS = 3
P = ParamSpec("P")
T = TypeVar("T")


def rerun_if_transient(action: Callable[P, T]) -> Callable[P, T]:
    """`action` (one whole unit of work) is run again, up to `ATTEMPTS` times in all, after a transient abort; if
    the database keeps aborting it, the caller is told in Chinese that nothing was saved."""

    @functools.wraps(action)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return action(*args, **kwargs)
            except DBAPIError as exc:
                if not is_transient(exc):
                    raise
                if attempt == ATTEMPTS:
                    raise ConcurrentChange("数据库繁忙（其他操作同时在修改相同的案件或备案），本次操作未保存，"
                                           "请稍后重试") from exc
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    return run
