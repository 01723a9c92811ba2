"""What ops press in the Prefect UI does what it says, against the session's `beian up` (its served deployments, its
application database and its sandbox): Retry on a failed sweep or delivery run redoes that run's work, once; the
notification automation tells ops once per change of a subject and reason, in words, and once when the stuck watch
itself stops; the zombie rule leaves finished runs alone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from prefect.blocks.webhook import Webhook
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, TaskRunFilter, TaskRunFilterName
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.states import AwaitingRetry
from prefect.types._datetime import now as prefect_now

from tests.prefect.conftest import (
    SANDBOX_PORT,
    UpProcess,
    apply_in,
    corrupt,
    eventually,
    fired,
    restore,
    settled_task_runs,
)
from tests.support.scenarios import to_publicity_by_service
from workflows import flows
from workflows.ops_watch import announce
from workflows.stuck import StuckCheck, StuckItem

SANDBOX = f"http://127.0.0.1:{SANDBOX_PORT}"
SWEEP = f"{flows.SWEEP_FLOW}/{flows.SWEEP_DEPLOYMENT}"
DELIVER = f"{flows.DELIVER_FLOW}/{flows.DELIVER_DEPLOYMENT}"


def press_retry(client: Any, run: FlowRun) -> FlowRun:
    """What the UI's Retry button on a failed flow run does (its `retryFlowRun`: AwaitingRetry, not forced), then the
    run once the served deployment has run it again to a final state."""
    result = client.set_flow_run_state(run.id, AwaitingRetry(message="Retry from the UI"), force=False)
    assert result.status.value == "ACCEPT", result.details

    def done() -> FlowRun | None:
        again = client.read_flow_run(run.id)
        return again if again.run_count >= 2 and again.state is not None and again.state.is_final() else None

    return eventually(done, timeout=120, what=f"flow run {run.name} to be run again")


def test_retry_on_a_failed_sweep_run_fires_the_timer_of_the_case_it_failed(up: UpProcess, prefect_client: Any) -> None:
    app, case = apply_in(up.database_url)
    try:
        saved = corrupt(app, case)
        try:
            for _ in range(3):  # three red sweeps: the sweep gives up on the case
                failed = run_deployment(SWEEP, timeout=90)
                assert failed.state is not None and failed.state.is_failed() and case in failed.state.message
        finally:
            restore(app, case, saved)  # ops repaired what was wrong
        with app.uow() as uow:
            instance = uow.repo.instance(case)
            assert instance is not None and instance.error_count >= 3 and fired(app, case) == 0
        assert run_deployment(SWEEP, timeout=90).state.is_completed() and fired(app, case) == 0  # left to ops

        retried = press_retry(prefect_client, failed)
        assert retried.state.is_completed(), retried.state.message
        assert fired(app, case) == 1
        with app.uow() as uow:
            instance = uow.repo.instance(case)
            assert instance is not None and instance.error is None and instance.error_count == 0
        runs = settled_task_runs(prefect_client, failed.id, {f"定时 {case}", f"重试 {case}"})
        assert runs[f"定时 {case}"] == StateType.FAILED and runs[f"重试 {case}"] == StateType.COMPLETED

        # Nothing is done twice: the next sweep has nothing of this case left.
        assert run_deployment(SWEEP, timeout=90).state.is_completed() and fired(app, case) == 1
    finally:
        app.close()


def received_for(case: str) -> list[dict[str, Any]]:
    records = httpx.get(f"{SANDBOX}/_sandbox/received", params={"system": "notice_website"}).json()
    return [record for record in records if case in json.dumps(record["payload"], ensure_ascii=False)]


def failed_run_of(client: Any, task_run_name: str) -> FlowRun:
    """The flow run, once Failed, in which the task run of that name failed."""
    def read() -> FlowRun | None:
        tasks = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=[task_run_name])))
        for task_run in tasks:
            run = client.read_flow_run(task_run.flow_run_id)
            if run.state is not None and run.state.is_failed():
                return run
        return None

    return eventually(read, what=f"the failed flow run of {task_run_name}")


def run_log(client: Any, run: FlowRun) -> list[str]:
    """The messages of a finished flow run's log and its task runs' logs (with any traceback Prefect added), once
    the run's last line has arrived."""
    def read() -> list[str] | None:
        records = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        return [record.message for record in records] if any(
            record.message.startswith("Finished in state") and record.task_run_id is None for record in records
        ) else None

    eventually(read, what=f"the end of the log of {run.name}")
    time.sleep(2)  # what the process would log after the final state has arrived too
    return read() or []


def test_a_failed_retry_run_says_case_and_cause_once_without_a_traceback(up: UpProcess, prefect_client: Any) -> None:
    """Run by the served deployment, as the UI runs it: the serving process adds its own records to a failed run."""
    run = run_deployment(f"{flows.RETRY_FLOW}/{flows.RETRY_DEPLOYMENT}", parameters={"case": "BA2099-99999"},
                         timeout=90)
    assert run.state is not None and run.state.is_failed()
    assert run.state.message == "案件 BA2099-99999 重试未成功：案件 BA2099-99999 不存在"
    log = run_log(prefect_client, run)
    assert [line for line in log if "重试未成功" in line and "Finished" not in line] == [
        "案件 BA2099-99999 重试未成功：案件 BA2099-99999 不存在。排除原因后再运行一次本部署（或在本运行上点 Retry）"]
    assert not [line for line in log if "Traceback" in line or "Engine" in line]


def test_retry_on_a_failed_delivery_run_sends_the_refused_row_once(up: UpProcess, prefect_client: Any) -> None:
    app, case = apply_in(up.database_url)
    try:
        # Refused outright (a 4xx): the row is failed at once, no later delivery run would touch it.
        httpx.post(f"{SANDBOX}/_sandbox/mode", json={"system": "notice_website", "mode": "fail", "status": 400}
                   ).raise_for_status()
        try:
            to_publicity_by_service(app, case)  # queues the publicity notice for the notice website
            run_deployment(DELIVER, timeout=90)  # this run or a scheduled one in between meets the refusal
            failed = failed_run_of(prefect_client, f"投递 {case}")
        finally:
            httpx.post(f"{SANDBOX}/_sandbox/mode", json={"system": "notice_website", "mode": "ok"}).raise_for_status()
        assert case in failed.state.message
        assert not [line for line in run_log(prefect_client, failed) if "Traceback" in line or "Engine" in line]
        with app.uow() as uow:
            assert "failed" in {row.status for row in uow.repo.outbox_of_case(case) if row.system == "notice_website"}
        assert received_for(case) == []

        retried = press_retry(prefect_client, failed)
        assert retried.state.is_completed(), retried.state.message
        [record] = received_for(case)
        assert record["attempts"] == 2  # refused once, then sent once
        with app.uow() as uow:
            assert {row.status for row in uow.repo.outbox_of_case(case)} == {"delivered"}
        runs = settled_task_runs(prefect_client, failed.id, {f"投递 {case}", f"重试 {case}"})
        assert runs[f"投递 {case}"] == StateType.FAILED and runs[f"重试 {case}"] == StateType.COMPLETED

        assert run_deployment(DELIVER, timeout=90).state.is_completed()
        assert len(received_for(case)) == 1  # nothing is sent twice
    finally:
        app.close()


def _stuck(case: str, code: str, key: str, *, waiting_on: str = "受理审查", brief: str = "",
           cases: tuple[str, ...] = ()) -> StuckItem:
    return StuckItem(case_id=case, institution="成都某职业技能评价中心" if case else "", process="备案" if case else "",
                     region="sichuan" if case else "", reason_code=code, reason_key=key,  # type: ignore[arg-type]
                     waiting_on=waiting_on, since=datetime(2026, 12, 1, 2, tzinfo=UTC), overdue_working_days=2,
                     reason="…", link="", brief=brief, cases=cases)


def notifications_about(*subjects: str) -> list[dict[str, Any]]:
    received = httpx.get(f"{SANDBOX}/_sandbox/ops-notifications").json()
    return [item["body"] for item in received
            if isinstance(item["body"], dict) and any(subject in item["body"]["text"] for subject in subjects)]


def test_ops_are_told_once_per_subject_and_reason_in_words(up: UpProcess, automation_probes: Any) -> None:
    case, system = f"BA-T{uuid4().hex[:8]}", f"probe-{uuid4().hex[:6]}"  # subjects no other test announces
    now = datetime(2026, 12, 1, 3, tzinfo=UTC)
    overdue = _stuck(case, "task_overdue", "task_overdue:t1", brief="超期 2 个工作日")
    broken = _stuck(case, "instance_error", "instance_error:gateway")
    down = _stuck("", "system_down", f"system_down:{system}", waiting_on=system, brief="不可用已 12 分钟，1 个案件等待",
                  cases=(case,))
    announce(StuckCheck(now, [overdue, down], [overdue, down], []))
    announce(StuckCheck(now, [overdue, down], [overdue], []))  # the same reason again: the flood limit leaves it out
    announce(StuckCheck(now, [overdue, broken, down], [broken], []))  # a second reason is told
    announce(StuckCheck(now, [broken], [], [overdue.key, down.key]))  # one reason of the case gone, the system back
    announce(StuckCheck(now, [], [], [broken.key]))

    expected = {
        (flows.STUCK_EVENT, f"案件 {case} 卡住：法定期限超期（超期 2 个工作日）"),
        (flows.STUCK_EVENT, f"外部系统 {system} 卡住：外部系统不可用（不可用已 12 分钟，1 个案件等待）"),
        (flows.STUCK_EVENT, f"案件 {case} 卡住：流程出错"),
        (flows.UNSTUCK_EVENT, f"案件 {case} 的“法定期限超期”已解除，仍卡住：流程出错"),
        (flows.UNSTUCK_EVENT, f"外部系统 {system} 的“外部系统不可用”已解除，已没有卡住原因"),
        (flows.UNSTUCK_EVENT, f"案件 {case} 的“流程出错”已解除，已没有卡住原因"),
    }
    bodies = eventually(lambda: (lambda got: got if len(got) >= len(expected) else None)(
        notifications_about(case, system)), timeout=60, what="the notifications in the sandbox")
    assert {(body["event"], body["text"]) for body in bodies} == expected
    stuck_case = next(body for body in bodies if body["text"].startswith(f"案件 {case} 卡住：法定期限超期"))
    assert stuck_case["case"] == case and stuck_case["payload"]["reasons"][0]["reason_code"] == "task_overdue"
    time.sleep(3)  # the repeat would have arrived by now
    assert len(notifications_about(case, system)) == len(expected)


def test_ops_are_told_once_when_the_stuck_watch_stops_completing_runs(up: UpProcess, prefect_client: Any) -> None:
    """The watch cannot flag itself: an automation expects its next completed run. Tried with a 15 s window (the
    shipped one waits three watch intervals) while the watch's schedule is paused."""
    webhook = Webhook.load(flows.OPS_WEBHOOK_BLOCK)
    probe = flows.silent_watch(webhook._block_document_id, after_seconds=15).model_copy(
        update={"name": f"probe-{uuid4().hex[:6]}"})
    automation_id = prefect_client.create_automation(probe)
    watch = f"{flows.STUCK_FLOW}/{flows.STUCK_DEPLOYMENT}"
    deployment = prefect_client.read_deployment_by_name(watch)

    def silent() -> list[dict[str, Any]]:
        received = httpx.get(f"{SANDBOX}/_sandbox/ops-notifications").json()
        return [item["body"] for item in received
                if isinstance(item["body"], dict) and item["body"].get("event") == flows.SILENT_WATCH_EVENT]

    before = len(silent())
    time.sleep(1)  # the automation is being loaded by the server's trigger service
    last = run_deployment(watch, timeout=90)  # the last run that completes opens the window
    assert last.state is not None and last.state.is_completed()
    prefect_client.pause_deployment(deployment.id)
    try:
        told = eventually(lambda: (lambda got: got if len(got) > before else None)(silent()), timeout=90,
                          what="the notification that the watch has stopped")
        assert told[-1]["text"].startswith(f"卡住案件检查（{flows.STUCK_DEPLOYMENT}）已超过 15 秒没有成功完成运行")
        time.sleep(20)  # a second window without a run: told once, not again
        assert len(silent()) == before + 1
    finally:
        prefect_client.resume_deployment(deployment.id)
        prefect_client.delete_automation(automation_id)


def run_events(client: Any, run_id: UUID, since: Any) -> list[Any]:
    resource = EventResourceFilter(id=[f"prefect.flow-run.{run_id}"])
    names = EventNameFilter(name=[flows.ALIVE_EVENT, flows.RUN_ENDED_EVENT])
    page = client.read_events(filter=EventFilter(occurred=EventOccurredFilter(since=since), resource=resource,
                                                 event=names), limit=50)
    return sorted(page.events, key=lambda event: event.occurred)


def test_the_zombie_rule_is_closed_by_the_end_every_run_announces(up: UpProcess, prefect_client: Any,
                                                                   automation_probes: Any) -> None:
    [zombie] = prefect_client.read_automations_by_name(flows.ZOMBIE_AUTOMATION)
    trigger = zombie.trigger
    # Only beian's own signs of life open a window (Prefect's heartbeat may reach the server after the run's final
    # state); the run's end, its next sign of life, Prefect's heartbeat or a final state close it.
    assert trigger.after == {flows.ALIVE_EVENT} and trigger.posture == "Proactive"
    assert {flows.ALIVE_EVENT, flows.RUN_ENDED_EVENT, flows.HEARTBEAT_EVENT, "prefect.flow-run.Completed",
            "prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.Cancelled"} <= trigger.expect

    # A run that completes sent its end as the event that follows its last sign of life: the server's causal
    # ordering takes the end after it, so the window that sign of life opened is closed, whatever arrives when.
    started = prefect_now("UTC")
    run = run_deployment(SWEEP, timeout=90)
    assert run.state is not None and run.state.is_completed()
    received = eventually(lambda: (lambda events: events if flows.RUN_ENDED_EVENT in [e.event for e in events]
                                   else None)(run_events(prefect_client, run.id, started)), what="the run's end")
    *alive, ended = received
    assert alive and {event.event for event in alive} == {flows.ALIVE_EVENT}
    assert ended.event == flows.RUN_ENDED_EVENT and ended.payload["state"] == "Completed"
    assert ended.follows == alive[-1].id
    assert all(later.follows == earlier.id for earlier, later in zip(alive, alive[1:], strict=False))
