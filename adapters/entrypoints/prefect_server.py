"""The Prefect server `beian up` runs: Prefect's own `prefect server start`, with one change when its database is
SQLite (the embedded default): every transaction Prefect opens on purpose begins IMMEDIATE.

Why. Prefect opens its SQLite transactions DEFERRED: they take the write lock only at their first write. A
transaction that reads and then writes (the automations' trigger buckets: read the bucket, then upsert it) finds, at
that first write, that another connection has written since it read, and SQLite refuses it at once
(SQLITE_BUSY_SNAPSHOT): the busy timeout does not apply, since waiting could not help that transaction. Prefect's
in-memory broker retries the event three times within milliseconds and then dead-letters it. Measured on a
15-minute run of `beian up` with normal traffic: about 260 refusals and 28 dead letters; each lost
`beian.flow-run.ended` left the zombie rule's window open, and five minutes later it tried to crash a run that had
completed ("Run is already in terminal state COMPLETED"). Begun IMMEDIATE, the transaction takes the write lock
first, so it waits (PRAGMA busy_timeout, 60 s) behind the writer instead of failing; reads outside transactions are
unchanged.

On PostgreSQL (PREFECT_SERVER_DATABASE_CONNECTION_URL, the production path) nothing is changed. The change is tied to
the Prefect version beian pins: if Prefect's internals move, the server starts without it and says so in its log,
and tests/prefect/test_up.py fails.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from typing import Any


def immediate_sqlite_transactions() -> bool:
    """Make the SQLite configuration of Prefect's server begin its transactions IMMEDIATE; False (and a line on
    stderr) when this Prefect has no such place to change."""
    from prefect.server.database import configurations

    mode = getattr(configurations, "SQLITE_BEGIN_MODE", None)
    sqlite = getattr(configurations, "AioSqliteConfiguration", None)
    if mode is None or sqlite is None or not hasattr(sqlite, "begin_transaction"):
        print("beian: this Prefect's SQLite configuration has changed; its transactions stay DEFERRED "
              "(expect 'database is locked' under load)", file=sys.stderr)
        return False

    @asynccontextmanager
    async def begin_transaction(self: Any, session: Any, with_for_update: bool = False) -> AsyncGenerator[Any, None]:
        token = mode.set("IMMEDIATE")
        try:
            async with session.begin() as transaction:
                yield transaction
        finally:
            mode.reset(token)

    begin_transaction.beian_immediate = True  # type: ignore[attr-defined]  # how a test sees the change is in place
    sqlite.begin_transaction = begin_transaction
    return True


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m adapters.entrypoints.prefect_server --host H --port P`: `prefect server start` with the change."""
    immediate_sqlite_transactions()
    from prefect.cli import app

    sys.argv = [sys.argv[0], "server", "start", *(sys.argv[1:] if argv is None else argv)]  # how Prefect's CLI reads
    app()


if __name__ == "__main__":
    main()
