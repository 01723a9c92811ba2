"""History rows (Repository.audit, written with one Core statement, no ORM object) belong to their transaction:
visible to its own queries, kept by its commit, dropped by its rollback — and a savepoint's rollback drops only what
was recorded inside it. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from adapters.outside.db import AuditEvent
from tests.support.scenarios import RECEIVED, at
from workflows import clock
from workflows.service import Beian


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    with at(RECEIVED):
        service.init()
    try:
        yield service
    finally:
        service.close()


def _record(app_uow: object, action: str) -> None:
    app_uow.repo.audit(at=clock.now(), case_id="CASE-1", actor="tester", action=action,  # type: ignore[attr-defined]
                       summary=f"记录 {action}", detail={"n": action})


def _recorded_actions(app: Beian) -> list[str]:
    with app.reading() as uow:
        return list(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == "CASE-1")
                                        .order_by(AuditEvent.id)))


def test_rows_are_seen_by_the_transaction_kept_by_commit_and_dropped_by_rollback(app: Beian) -> None:
    with app.uow() as uow:
        _record(uow, "first")
        _record(uow, "second")
        assert [e.action for e in uow.repo.history("CASE-1")] == ["first", "second"], "its own queries see them"
        _record(uow, "third")
        uow.commit()
    with app.uow() as uow:
        _record(uow, "lost")
        uow.rollback()
        _record(uow, "after the rollback")
        uow.commit()
    with app.uow() as uow:
        _record(uow, "never committed")
    assert _recorded_actions(app) == ["first", "second", "third", "after the rollback"]


def test_a_savepoint_rolled_back_drops_only_what_it_recorded(app: Beian) -> None:
    with app.uow() as uow:
        _record(uow, "before")
        savepoint = uow.session.begin_nested()
        _record(uow, "inside, undone")
        assert [e.action for e in uow.repo.history("CASE-1")] == ["before", "inside, undone"]
        savepoint.rollback()
        assert [e.action for e in uow.repo.history("CASE-1")] == ["before"]
        kept = uow.session.begin_nested()
        _record(uow, "inside, kept")
        kept.commit()
        _record(uow, "last")
        uow.commit()
    assert _recorded_actions(app) == ["before", "inside, kept", "last"]
