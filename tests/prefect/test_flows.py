"""The Prefect flows, run in this process against the session's real Prefect server, each test on its own SQLite
application database: what ops see in the UI — task runs named after cases, their logs, the flow run's final state,
and what the database says happened (the stuck table and its events: test_ops_watch.py).

The flows run on the real clock; the applications are made on the virtual clock in September 2026, so every
deadline of theirs is long past ("due")."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
    LogFilterTaskRunId,
)
from prefect.client.schemas.objects import TaskRun

from adapters.outside.settings import OUTSIDE_SYSTEMS
from tests.prefect.conftest import RECEIVED, SANDBOX_PORT, corrupt, eventually, restore
from tests.support.scenarios import apply_by_service, at, to_publicity_by_service
from workflows.database_clock import read_marker
from workflows.flows import (
    CasesFailed,
    deliver_outbox,
    retry_case,
    sweep_timers,
)
from workflows.service import Beian

SANDBOX = f"http://127.0.0.1:{SANDBOX_PORT}"


@pytest.fixture
def app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, up: Any, automation_probes: Any) -> Iterator[Beian]:
    """A fresh application database of this test's own; the flows open it through BEIAN_DATABASE_URL.

    (It also starts the automation probes of test_up.py early, so that their waiting overlaps these tests.)"""
    url = f"sqlite:///{tmp_path / 'beian.sqlite3'}"
    monkeypatch.setenv("BEIAN_DATABASE_URL", url)
    monkeypatch.setenv("BEIAN_SANDBOX_URL", SANDBOX)
    for system in OUTSIDE_SYSTEMS:  # tests/conftest.py switches them off; here they are the session's sandbox
        monkeypatch.delenv(f"BEIAN_{system.upper()}_URL", raising=False)
    service = Beian(url)
    with at(RECEIVED):
        service.init()
    yield service
    service.close()


def action_counts(app: Beian, case: str) -> Counter[str]:
    return Counter(entry["action"] for entry in app.records.show(case)["history"])


def task_runs(client: Any, flow_run_id: UUID) -> dict[str, TaskRun]:
    runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name: run for run in runs}


def log_text(client: Any, task_run_id: UUID) -> str:
    logs = client.read_logs(log_filter=LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run_id])))
    return "\n".join(log.message for log in logs)


# --- the timer sweep ---------------------------------------------------------------------------------------------

def test_sweep_fires_due_timers_and_a_broken_case_fails_its_own_task_run(app: Beian, prefect_client: Any) -> None:
    good, broken = apply_by_service(app), apply_by_service(app)
    corrupt(app, broken)

    state = sweep_timers(return_state=True)

    # The flow run is Failed and says which case; the healthy case went through all the same.
    assert state.is_failed()
    assert broken in state.message and good not in state.message
    failure = state.result(raise_on_failure=False)
    assert isinstance(failure, CasesFailed)
    assert [item["case"] for item in failure.summary["fired"]] == [good]
    assert [item["case"] for item in failure.summary["failed"]] == [broken]

    runs = task_runs(prefect_client, state.state_details.flow_run_id)
    assert set(runs) == {f"定时 {good}", f"定时 {broken}"}
    assert runs[f"定时 {good}"].state.is_completed()
    failed = runs[f"定时 {broken}"]
    assert failed.state.is_failed()
    log = eventually(lambda: (lambda t: t if "定时处理失败" in t else None)(log_text(prefect_client, failed.id)),
                     what="the failed task run's log")
    assert f"案件 {broken} 定时处理失败" in log and "JSONDecodeError" in log and f"beian retry {broken}" in log

    # The database agrees: the timer fired once, the failure is on the broken case.
    assert action_counts(app, good)["timer_fired"] == 1
    with app.uow() as uow:
        instance = uow.repo.instance(broken)
        assert instance is not None and instance.error_count == 1 and "JSONDecodeError" in (instance.error or "")

    # Sweeping again fires nothing twice; the broken case fails again, one attempt more.
    again = sweep_timers(return_state=True)
    assert again.is_failed() and broken in again.message
    assert action_counts(app, good)["timer_fired"] == 1
    with app.uow() as uow:
        instance = uow.repo.instance(broken)
        assert instance is not None and instance.error_count == 2


def test_a_clean_sweep_completes_with_its_summary(app: Beian, prefect_client: Any) -> None:
    case = apply_by_service(app)
    state = sweep_timers(return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert [item["case"] for item in summary["fired"]] == [case] and summary["failed"] == []
    assert sweep_timers()["fired"] == []  # nothing left due
    # A flow run is real time running on the database: a virtual clock may no longer write to it.
    assert read_marker(app).real_time_by == "Prefect：计时扫描"


def test_retry_case_runs_a_repaired_case_again(app: Beian, prefect_client: Any) -> None:
    case = apply_by_service(app)
    saved = corrupt(app, case)
    assert sweep_timers(return_state=True).is_failed()
    restore(app, case, saved)  # ops repaired what was wrong

    state = retry_case(case, return_state=True)
    assert state.is_completed(), state.message
    assert state.result()["ok"] is True
    assert action_counts(app, case)["timer_fired"] == 1
    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None and instance.error is None and instance.error_count == 0

    unknown = retry_case("BA2026-99999", return_state=True)
    assert unknown.is_failed() and unknown.message == "案件 BA2026-99999 重试未成功：案件 BA2026-99999 不存在"


def flow_run_log(client: Any, flow_run_id: UUID, until: str) -> list[Any]:
    """The flow run's log records, oldest first, once one of them contains `until`."""
    def read() -> list[Any] | None:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        return logs if any(until in log.message for log in logs) else None

    return sorted(eventually(read, what=f"{until!r} in the log of {flow_run_id}"), key=lambda log: log.timestamp)


def test_a_failed_retry_names_case_and_cause_and_leaves_the_case_with_ops(
        app: Beian, prefect_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEIAN_SWEEP_MAX_ATTEMPTS", "2")
    case = apply_by_service(app)
    corrupt(app, case)
    assert sweep_timers(return_state=True).is_failed() and sweep_timers(return_state=True).is_failed()
    assert sweep_timers(return_state=True).is_completed()  # two failures: the sweep leaves the case to ops

    state = retry_case(case, return_state=True)
    assert state.is_failed()
    assert state.message.startswith(f"案件 {case} 重试未成功：") and "JSONDecodeError" in state.message
    assert "任务" not in state.message  # the retry flow has no task runs to point at
    log = flow_run_log(prefect_client, state.state_details.flow_run_id, until="重试未成功")
    [error] = [record for record in log if record.level >= logging.ERROR]  # one error, naming case and cause
    assert f"案件 {case} 重试未成功" in error.message and "JSONDecodeError" in error.message
    assert not any("Traceback" in record.message or "已重试" in record.message for record in log)

    # The failure is added to the count, not started afresh: the sweep still leaves the case to ops.
    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None and instance.error_count == 3
    assert sweep_timers(return_state=True).is_completed()


# --- delivering the outbox -----------------------------------------------------------------------------------------

def test_delivery_fails_the_case_while_the_website_is_down_then_sends_it_once(
        app: Beian, prefect_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEIAN_DELIVERY_BACKOFF", "0")  # a failed row is due again at once
    httpx.post(f"{SANDBOX}/_sandbox/reset").raise_for_status()
    httpx.post(f"{SANDBOX}/_sandbox/mode", json={"system": "notice_website", "mode": "fail", "status": 503}
               ).raise_for_status()
    case = apply_by_service(app)
    to_publicity_by_service(app, case)  # queues the publicity notice for the notice website

    down = deliver_outbox(return_state=True)
    assert down.is_failed() and case in down.message
    [run] = task_runs(prefect_client, down.state_details.flow_run_id).values()
    assert run.name == f"投递 {case}" and run.state.is_failed()
    log = eventually(lambda: (lambda t: t if "外部投递未成功" in t else None)(log_text(prefect_client, run.id)),
                     what="the failed delivery's log")
    assert "网站发布" in log and "503" in log and "自动重发" in log

    httpx.post(f"{SANDBOX}/_sandbox/mode", json={"system": "notice_website", "mode": "ok"}).raise_for_status()
    back = deliver_outbox(return_state=True)
    assert back.is_completed(), back.message
    assert back.result()["delivered"] == 1
    records = httpx.get(f"{SANDBOX}/_sandbox/received", params={"system": "notice_website"}).json()
    assert len(records) == 1 and records[0]["attempts"] == 2  # refused once, recorded once
    assert deliver_outbox()["delivered"] == 0  # nothing is sent twice
