"""Migration 0009 (who may see each case, for lists of cases): down to 0008 removes the table; up again rebuilds it
from the cases, the open tasks and the history, so every viewer finds what they found before. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from adapters.outside.db import CaseAuthority
from tests.support.migrations import downgrade
from tests.support.scenarios import RECEIVED, apply_by_service, at, step
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


def _rows(app: Beian) -> set[tuple[str, str]]:
    with app.reading() as uow:
        return {(row.case_id, row.authority) for row in uow.session.scalars(select(CaseAuthority))}


def test_the_authorities_come_back_from_cases_tasks_and_history(backend_url: str, app: Beian,
                                                               application: dict[str, Any]) -> None:
    reviewed, waiting = apply_by_service(app, application), apply_by_service(app, application)
    step(app, reviewed, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    step(app, reviewed, "expert_review", {"result": "pass", "opinion": "符合要求"}, "2026-10-09T10:00:00+08:00")
    step(app, reviewed, "site_inspection", {"result": "pass", "opinion": "符合要求"}, "2026-10-10T10:00:00+08:00")
    step(app, reviewed, "higher_review", {"result": "pass"}, "2026-10-12T09:00:00+08:00")  # done by the province
    before = _rows(app)
    assert before == {(reviewed, "510100"), (reviewed, "510000"), (waiting, "510100")}

    assert "case_authorities" not in downgrade(backend_url, "0008")
    app.init()  # upgrades to the head again
    assert _rows(app) == before
    assert app.cases.task_authorities(reviewed) == ["510000", "510100"]
