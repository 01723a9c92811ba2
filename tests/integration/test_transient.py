"""A unit of work the database aborts to break a real deadlock (PostgreSQL 40P01) runs again, whole; one it keeps
aborting ends in a Chinese 'nothing was saved'; any other database error is not retried."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tasks.errors import ConcurrentChange
from workflows.service import Beian
from workflows.transient import ATTEMPTS, rerun_if_transient


@pytest.fixture
def app(postgres_url: str) -> Iterator[Beian]:
    service = Beian(postgres_url)
    service.init()
    with service.uow() as uow:
        uow.session.execute(text("INSERT INTO sequences (name, value) VALUES ('a', 0), ('b', 0)"))
        uow.commit()
    yield service
    service.close()


def _deadlock_partner(url: str, ready: threading.Barrier, done: threading.Event) -> None:
    """Lock b, then wait for a: with our unit of work locking a then b, one of the two must be aborted. PostgreSQL
    aborts the side whose deadlock check (deadlock_timeout, 1 s) runs first: ours, which is already waiting for b
    when this side asks for a (seen in pg_locks, not guessed with a pause)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE sequences SET value = value + 10 WHERE name = 'b'"))
            ready.wait(timeout=10)
            _until_a_lock_is_awaited(engine)
            conn.execute(text("UPDATE sequences SET value = value + 10 WHERE name = 'a'"))
    finally:
        engine.dispose()
        done.set()


def _until_a_lock_is_awaited(engine: Any) -> None:
    deadline = time.monotonic() + 10
    with engine.connect() as watcher:
        # Only this test's database: other tests may be waiting for locks on the same server.
        while not watcher.execute(text("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                                       "WHERE NOT l.granted AND a.datname = current_database()")).scalar():
            assert time.monotonic() < deadline, "our unit of work never waited for the lock on b"
            watcher.rollback()  # a fresh snapshot of pg_locks on the next query
            time.sleep(0.01)


def test_a_deadlocked_unit_of_work_runs_again_and_its_first_try_left_nothing(app: Beian, postgres_url: str) -> None:
    ready, done = threading.Barrier(2), threading.Event()
    partner = threading.Thread(target=_deadlock_partner, args=(postgres_url, ready, done))
    tries: list[str] = []

    @rerun_if_transient
    def move() -> str:
        with app.uow() as uow:
            uow.session.execute(text("UPDATE sequences SET value = value + 1 WHERE name = 'a'"))
            if not tries:
                tries.append("first")
                ready.wait(timeout=10)
                uow.session.execute(text("UPDATE sequences SET value = value + 1 WHERE name = 'b'"))  # deadlock
            else:
                tries.append("again")
            uow.commit()
            return tries[-1]

    partner.start()
    assert move() == "again"
    partner.join(timeout=20)
    assert done.is_set()
    with app.uow() as uow:
        values = dict(uow.session.execute(text("SELECT name, value FROM sequences WHERE name IN ('a', 'b')")).all())
    assert tries == ["first", "again"]
    assert values == {"a": 11, "b": 10}  # the aborted try's increments are gone; the partner's and the rerun's stay


def test_an_abort_that_keeps_coming_is_reported_and_another_error_is_not_retried(app: Beian) -> None:
    calls: list[int] = []

    @rerun_if_transient
    def always_aborted() -> None:
        calls.append(1)
        with app.uow() as uow:
            uow.session.execute(text("DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '40001'; END $$"))

    with pytest.raises(ConcurrentChange, match="本次操作未保存"):
        always_aborted()
    assert len(calls) == ATTEMPTS

    @rerun_if_transient
    def broken() -> None:
        calls.append(2)
        with app.uow() as uow:
            uow.session.execute(text("SELECT no_such_column FROM sequences"))

    with pytest.raises(DBAPIError):
        broken()
    assert calls.count(2) == 1
