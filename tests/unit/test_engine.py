"""Engine mechanics: the clock patch, state stored without the spec, crash safety and concurrent changes."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from typing import Any
from unittest.mock import ANY

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from sqlalchemy import text

from tasks.errors import ConcurrentChange, IllegalEvent, NotFound
from tests.conftest import Beian
from tests.support.scenarios import RECEIVED, apply, apply_by_service, file_by_service, task
from tests.support.state_values import state_values_forgotten
from workflows import clock, engine
from workflows.service import Beian as App
from workflows.state import SAME_AS_TASK, VALUE_REF, dump_state, load_state


def test_spiff_timers_read_our_clock() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    instant = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)
    with clock.using_clock(clock.VirtualClock(instant)):
        assert timer.datetime.now(UTC) == instant
    assert abs((timer.datetime.now(UTC) - datetime.now(UTC)).total_seconds()) < 5


def test_virtual_clock_needs_a_time_zone() -> None:
    with pytest.raises(ValueError):
        clock.VirtualClock(datetime(2026, 1, 1))


def test_state_references_the_definition_instead_of_copying_it(beian: Beian, write_json: Any,
                                                               application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    app = App(beian.url)
    with app.uow() as uow:
        state = json.loads(uow.repo.instance(case).state)
    assert "spec" not in state and "subprocess_specs" not in state
    assert state["tasks"]


def test_a_filed_case_keeps_its_application_once_and_its_region_apart_in_compact_json(beian: Beian) -> None:
    app = App(beian.url)
    case = apply_by_service(app)
    file_by_service(app, case)
    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None and instance.completed_at is not None
        stored = instance.state
        definition = engine.definition_of(uow, instance.definition_id)
        kept = uow.repo.state_values({json.loads(stored)["data"]["region"][VALUE_REF]})
    # The process ended, so SpiffWorkflow copied every variable into the workflow's data: the application is stored
    # once (in the start event's data) and referenced from there; the region's profile is kept apart, once for all
    # cases of the region, and the state holds its digest in both places.
    assert stored.count('"application":{') == 2 and stored.count(f'"application":{{"{SAME_AS_TASK}":') == 1
    assert json.loads(stored)["data"]["application"] == {SAME_AS_TASK: ANY}
    assert stored.count('"region":{') == 2 and stored.count(f'"region":{{"{VALUE_REF}":') == 2
    ((digest, profile),) = kept.items()
    assert hashlib.sha256(profile.encode("utf-8")).hexdigest() == digest and json.loads(profile)["key"] == "sichuan"
    # A task's fields at their defaults are left out.
    assert '"typename":"Task"' not in stored and '"triggered":false' not in stored
    assert ", " not in stored[:200] and "\\u" not in stored and "成都锦城精工机械制造有限公司" in stored
    workflow = load_state(stored, definition.spec, definition.subprocess_specs)
    assert workflow.data["application"]["institution"]["name"] == "成都锦城精工机械制造有限公司"
    assert workflow.data["region"] == workflow.task_tree.children[0].data["region"] == json.loads(profile)
    assert workflow.data["region"] is not workflow.task_tree.children[0].data["region"], "a copy each"

    # A state saved before (SpiffWorkflow's own JSON: both copies, \\uXXXX escapes, every field) still loads, to the
    # same case, and is saved the new way.
    legacy = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(dict(SPIFF_CONFIG))).serialize_json(workflow)
    assert legacy.count('"application": {') == 2 and "\\u" in legacy and '"typename": "Task"' in legacy
    again = load_state(legacy, definition.spec, definition.subprocess_specs)
    assert again.data == workflow.data
    assert {t.id: t.data for t in again.get_tasks()} == {t.id: t.data for t in workflow.get_tasks()}
    assert dump_state(again).text == stored


def test_a_value_kept_apart_is_read_from_the_database_by_a_process_that_has_not_seen_it(beian: Beian) -> None:
    app = App(beian.url)
    case = apply_by_service(app)
    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None
        definition = engine.definition_of(uow, instance.definition_id)
        with state_values_forgotten():
            with pytest.raises(LookupError, match="does not hold"):
                load_state(instance.state, definition.spec, definition.subprocess_specs)
            workflow = load_state(instance.state, definition.spec, definition.subprocess_specs,
                                  uow.repo.state_values)
    assert workflow.task_tree.children[0].data["region"]["key"] == "sichuan"


def test_a_value_written_in_a_transaction_rolled_back_is_written_again(beian: Beian) -> None:
    app = App(beian.url)
    with app.uow() as uow:
        uow.repo.keep_state_values({"d" * 64: '{"x":1}'}, clock.now())
        uow.rollback()
    with app.uow() as uow:
        assert uow.repo.state_values({"d" * 64}) == {}
        uow.repo.keep_state_values({"d" * 64: '{"x":1}'}, clock.now())  # not taken as stored: written again
        uow.commit()
    with app.uow() as uow:
        assert uow.repo.state_values({"d" * 64}) == {"d" * 64: '{"x":1}'}
        savepoint = uow.session.begin_nested()
        uow.repo.keep_state_values({"e" * 64: '{"y":2}'}, clock.now())
        savepoint.rollback()
        uow.commit()
    with app.uow() as uow:
        uow.repo.keep_state_values({"e" * 64: '{"y":2}'}, clock.now())
        uow.repo.keep_state_values({"d" * 64: '{"x":1}'}, clock.now())  # known stored: no statement, no conflict
        uow.commit()
        assert uow.repo.state_values({"d" * 64, "e" * 64}) == {"d" * 64: '{"x":1}', "e" * 64: '{"y":2}'}


def test_crash_between_engine_step_and_commit_keeps_previous_state(beian: Beian, write_json: Any,
                                                                   application: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    case = apply(beian, write_json, application)
    app = App(beian.url)
    acceptance = task(beian, case, "acceptance", RECEIVED)
    before = beian.json("show", case)

    from adapters.outside.repository import UnitOfWork

    def crash(self: UnitOfWork) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(UnitOfWork, "commit", crash)
    with clock.using_clock(clock.VirtualClock(datetime.fromisoformat("2026-09-28T10:00:00+08:00"))), \
            pytest.raises(RuntimeError, match="power cut"):
        app.cases.complete(acceptance["id"], {"decision": "accept"})
    monkeypatch.undo()

    assert beian.json("show", case) == before
    assert task(beian, case, "acceptance")["id"] == acceptance["id"]
    # And the case still works afterwards.
    beian.json("complete", acceptance["id"], "--data", json.dumps({"decision": "accept"}))
    assert beian.json("show", case)["status"] == "under_review"


def test_concurrent_write_is_detected_not_merged(beian: Beian, write_json: Any, application: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    case = apply(beian, write_json, application)
    app = App(beian.url)
    acceptance = task(beian, case, "acceptance", RECEIVED)
    real_load = engine.load_state

    def load_then_someone_else_writes(state: str, spec: Any, subprocess_specs: Any, fetch: Any = None) -> Any:
        # Another writer (on a database without row locks) commits a new version of the row meanwhile.
        workflow = real_load(state, spec, subprocess_specs, fetch)
        session = current_uow["uow"].session
        session.execute(text("UPDATE instances SET row_version = row_version + 1 WHERE case_id = :c"), {"c": case})
        return workflow

    current_uow: dict[str, Any] = {}
    real_run_step = engine.run_step

    def run_step(uow: Any, *args: Any, **kwargs: Any) -> Any:
        current_uow["uow"] = uow
        return real_run_step(uow, *args, **kwargs)

    monkeypatch.setattr(engine, "load_state", load_then_someone_else_writes)
    monkeypatch.setattr(engine, "run_step", run_step)  # imported by Cases.complete when it runs
    with pytest.raises(ConcurrentChange, match="同时修改"):
        app.cases.complete(acceptance["id"], {"decision": "accept"})
    monkeypatch.undo()
    assert beian.json("show", case)["status"] == "applied"


def test_two_caseworkers_complete_the_same_task_at_once(beian: Beian, write_json: Any,
                                                        application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    acceptance = task(beian, case, "acceptance", RECEIVED)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt(decision: str) -> None:
        app = App(beian.url)
        try:
            barrier.wait()
            app.cases.complete(acceptance["id"], {"decision": decision, "reasons": "并发测试"})
            outcomes.append("ok")
        except (IllegalEvent, NotFound, ConcurrentChange) as exc:
            outcomes.append(type(exc).__name__)
        except BaseException as exc:  # anything else is a failure of the test, not a thread that quietly died
            outcomes.append(f"crashed: {exc!r}")
        finally:
            app.close()

    threads = [threading.Thread(target=attempt, args=(d,)) for d in ("accept", "reject")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(outcomes) == 2 and outcomes.count("ok") == 1, outcomes  # both finished, one of them won
    assert not any(outcome.startswith("crashed") for outcome in outcomes), outcomes
    history = beian.json("show", case)["history"]
    assert [h["action"] for h in history].count("task_completed") == 1
