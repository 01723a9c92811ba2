"""Migration 0022 (the region's profile kept apart from states): down to 0021 writes every state back as the code
before it reads it — the profile in place, each task with all its fields — and drops the table; up again, the cases
go on and their next step keeps the profile apart once more. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.migrations import downgrade
from tests.support.scenarios import RECEIVED, apply_by_service, at, step
from tests.support.state_values import state_values_forgotten
from workflows.engine import definition_of
from workflows.service import Beian
from workflows.state import VALUE_REF, load_state


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    with at(RECEIVED):
        service.init()
    try:
        yield service
    finally:
        service.close()


def _states(app: Beian) -> dict[str, dict[str, Any]]:
    with app.reading() as uow:
        return {case: json.loads(state) for case, state in uow.session.execute(
            text("SELECT case_id, state FROM instances"))}


def _regions(state: dict[str, Any]) -> list[Any]:
    places = [state["data"], *(t.get("data") or {} for t in state["tasks"].values()),
              *((t.get("delta") or {}).get("updates") or {} for t in state["tasks"].values())]
    return [data["region"] for data in places if "region" in data]


def test_states_come_back_whole_and_the_cases_go_on(backend_url: str, app: Beian,
                                                    application: dict[str, Any]) -> None:
    reviewed, waiting = apply_by_service(app, application), apply_by_service(app, application)
    step(app, reviewed, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    for state in _states(app).values():
        (region,) = _regions(state)
        assert set(region) == {VALUE_REF}
    with app.reading() as uow, state_values_forgotten():  # as a new process reads them: from the database
        for case in (reviewed, waiting):
            instance = uow.repo.instance(case)
            assert instance is not None
            definition = definition_of(uow, instance.definition_id)
            load_state(instance.state, definition.spec, definition.subprocess_specs, uow.repo.state_values)

    assert "state_values" not in downgrade(backend_url, "0021")
    for state in _states(app).values():
        (region,) = _regions(state)
        assert region["key"] == "sichuan" and region["name"] == "四川省"
        assert all(task["typename"] == "Task" and "triggered" in task and "delta" in task
                   for task in state["tasks"].values())

    app.init()  # upgrades to the head again
    step(app, reviewed, "expert_review", {"result": "pass", "opinion": "符合要求"}, "2026-10-09T10:00:00+08:00")
    step(app, waiting, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    assert [t["bpmn_id"] for t in app.cases.tasks(reviewed)] == ["site_inspection"]
    assert [t["bpmn_id"] for t in app.cases.tasks(waiting)] == ["expert_review"]
    for state in _states(app).values():
        (region,) = _regions(state)
        assert set(region) == {VALUE_REF}
    with app.reading() as uow, state_values_forgotten():  # as a new process reads them: from the database
        for case in (reviewed, waiting):
            instance = uow.repo.instance(case)
            assert instance is not None
            definition = definition_of(uow, instance.definition_id)
            load_state(instance.state, definition.spec, definition.subprocess_specs, uow.repo.state_values)
