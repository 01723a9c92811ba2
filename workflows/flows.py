"""The Prefect flows that run the background in production: timers, deliveries, the stuck watch, retries.

Each flow is a plain function in Prefect's own style that opens the application on `database_url()`, calls the same
functions the command line calls (`workflows.sweep`, `workflows.delivery`, `workflows.stuck`) and closes it again. What
Prefect adds is what operations staff see in its UI:

* every case is its own **task run named after the case** ("定时 BA2026-00012", "投递 BA2026-00012"), so one
  broken case is one red task run, with the reason in its log, and never stops the others;
* a flow run in which some cases failed ends **Failed**, its state message naming the cases. Prefect's "Retry" on
  that flow run runs the same flow again (same flow run, `run_count` 2 and up): it first retries each case whose task
  run is red in it, as `beian retry CASE` does (step it whatever its failure count, re-queue its failed deliveries,
  send what it has pending now), each as a task run "重试 <case>", then does the flow's usual work. Timers and
  deliveries stay exactly-once (a timer fires in the transaction that removes it; a delivery is leased and carries
  its idempotency key), so nothing is done twice. `beian retry CASE` or the `beian-retry` deployment does the same
  for one case;
* the stuck watch publishes one table artifact under a fixed key (a new version per run), emits `beian.case.stuck`
  when a case (or an outside system, or a deployment) is stuck for a reason it was not stuck for at the last run and
  `beian.case.unstuck` for each reason that went away — events that automations turn into notifications;
* `ensure_automations` configures what a self-hosted Prefect server lacks out of the box: runs that stop sending
  heartbeats while Running become Crashed, a sweep that runs too long is flagged, and ops are notified (a webhook to
  BEIAN_OPS_WEBHOOK_URL) when a case, system or deployment becomes stuck or a reason goes away, and when the stuck
  watch itself has stopped completing runs.

Deployments are registered by module path (`workflows.flows.sweep_timers`): the code comes from the installed `beian`
package wherever a flow runs, which is what lets a process work pool run them on other machines without an image or
a shared folder.
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from prefect import flow, get_client, get_run_logger, serve, task
from prefect.blocks.webhook import Webhook
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.actions import LogCreate, WorkPoolCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType, TaskRun
from prefect.deployments.runner import RunnerDeployment, deploy
from prefect.events import emit_event
from prefect.events.actions import CallWebhook, ChangeFlowRunState, RunDeployment
from prefect.events.schemas.automations import AutomationCore, CompoundTrigger, EventTrigger, Posture
from prefect.events.schemas.events import Event, ResourceSpecification
from prefect.exceptions import ObjectNotFound
from prefect.futures import wait
from prefect.runtime import flow_run as current_flow_run
from prefect.schedules import Cron
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.types.entrypoint import EntrypointType
from prefect.workers.process import ProcessWorker

from adapters.outside.db import database_url
from adapters.outside.settings import HEARTBEAT_SECONDS, Settings, load_settings
from tasks.calendar import SHANGHAI
from tasks.errors import BeianError
from workflows import clock, ops_watch
from workflows.batch_retry import Selection, retry_batch
from workflows.delivery import (
    CaseDelivery,
    Probe,
    deliver_case,
    delivery_summary,
    down_systems,
    due_deliveries,
    probe_system,
    still_down,
    system_label,
)
from workflows.run_tags import case_tags
from workflows.service import Beian
from workflows.stuck import check_stuck, recheck_stuck
from workflows.sweep import CaseAdvance, advance_case, due_cases, record_failure, summarise

# --- names ops see and automations match on; keep them stable ------------------------------------------------------
SWEEP_FLOW = "sweep-timers"
DELIVER_FLOW = "deliver-outbox"
STUCK_FLOW = "watch-stuck"
RETRY_FLOW = "retry-case"
BATCH_RETRY_FLOW = "retry-stuck"
REGISTRY_FLOW = "check-registrations"
FLAG_FLOW = "flag-long-sweep"

SWEEP_DEPLOYMENT = "beian-sweep"
DELIVER_DEPLOYMENT = "beian-deliver"
STUCK_DEPLOYMENT = "beian-stuck-watch"
REGISTRY_DEPLOYMENT = "beian-registry-check"
RETRY_DEPLOYMENT = "beian-retry"
BATCH_RETRY_DEPLOYMENT = "beian-retry-batch"
FLAG_DEPLOYMENT = "beian-sweep-too-long"

# The background deployments the stuck watch checks (a paused schedule, failing runs), with what stops without them.
WATCHED = [
    ops_watch.Watched(SWEEP_FLOW, SWEEP_DEPLOYMENT, "定时事件（受理、公示、有效期等期限）不会触发"),
    ops_watch.Watched(DELIVER_FLOW, DELIVER_DEPLOYMENT, "公示、报送和通知不会发往外部系统"),
    ops_watch.Watched(STUCK_FLOW, STUCK_DEPLOYMENT, "卡住案件表和卡住通知不再更新"),
    ops_watch.Watched(REGISTRY_FLOW, REGISTRY_DEPLOYMENT, "已注销的机构不会被发现"),
]

TAG = "beian"
TAGS = [TAG]
STUCK_ARTIFACT_KEY = ops_watch.STUCK_ARTIFACT_KEY
STUCK_EVENT = ops_watch.STUCK_EVENT
UNSTUCK_EVENT = ops_watch.UNSTUCK_EVENT
TOO_LONG_EVENT = "beian.sweep.too-long"
TOO_LONG_TAG = "运行过久"

STUCK_INTERVAL_SECONDS = 300
REGISTRY_CHECK_CRON = "0 6 * * *"  # daily at 06:00 Beijing time, before the working day

# A run is declared a zombie after ZOMBIE_AFTER_SECONDS without any event: four missed heartbeats at the
# HEARTBEAT_SECONDS (adapters.outside.settings) that `adapters.entrypoints.up.prefect_environment` gives every process
# it starts (server, served runs, workers), and still more than one interval of Prefect's own default (180 s) for a
# worker started without it.
ZOMBIE_AFTER_SECONDS = 300

ZOMBIE_AUTOMATION = "beian：失联的运行标记为 Crashed"
TOO_LONG_AUTOMATION = "beian：计时扫描运行过久"
NOTIFY_AUTOMATION = "beian：案件卡住或恢复时通知运维"
OPS_WEBHOOK_BLOCK = "beian-ops-webhook"

# The zombie rule runs on beian's own signs of life, not on Prefect's heartbeat. A run's heartbeat travels over the
# client's event stream, its final state over HTTP, and the server may take them in either order (even side by side):
# a heartbeat taken after "Completed" opens a window that nothing closes, and Prefect's documented rule then tries to
# crash a finished run (Prefect issue 21932; on this server it happened to nearly every short run). So, while a flow
# run works on the application (`_application`), it sends ALIVE_EVENT every HEARTBEAT_SECONDS, and once its final
# state is set RUN_ENDED_EVENT (`_announce_end`); each names the one before it as the event it follows, and the
# server's causal ordering takes them in that order, so the end always closes the window the last sign of life opened.
ALIVE_EVENT = "beian.flow-run.alive"
RUN_ENDED_EVENT = "beian.flow-run.ended"
HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"
_FINAL_STATES = ("Completed", "Failed", "Crashed", "Cancelled", "TimedOut")
# The last sign of life each flow run of this process sent, by flow-run id: what its end follows.
_LAST_ALIVE: dict[str, Event] = {}

# Flood limit of the ops notification: per case, at most one "stuck" and one "unstuck" notification in this window;
# a repeat within it is left out (the event stays on Prefect's Events page and the case in the stuck table).
NOTIFY_COOLDOWN_SECONDS = 3600

# Threads per flow run. Each case is its own transaction; on SQLite they serialise on the write lock anyway, on
# PostgreSQL they run side by side (row locks, SKIP LOCKED).
CASE_WORKERS = 4

# The task runs of one case, by flow: "定时 BA2026-00012". A retried flow run finds its red cases by these names.
SWEEP_TASK = "定时"
DELIVER_TASK = "投递"
RETRY_TASK = "重试"

# Flow-run state names that end a sweep's "running" period (event names follow state names, not types).
_END_STATES = ("Completed", "Failed", "Crashed", "Cancelled", "Cancelling", "TimedOut", "Paused", "Suspended",
               "AwaitingRetry", "Retrying", "Scheduled", "Late")


class FailureSaid(Exception):
    """A failure beian has already said in words (the run's error line and state message): Prefect's own records of
    it need no traceback (see `_SaidInWords`). The data of a Failed state a flow returns."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CaseFailed(FailureSaid):
    """One case did not get through a task run; carries what happened to it (a CaseAdvance, a CaseDelivery, or the
    result of `Operations.retry`)."""

    def __init__(self, message: str, outcome: CaseAdvance | CaseDelivery | dict[str, Any]) -> None:
        super().__init__(message)
        self.outcome = outcome


class CasesFailed(FailureSaid):
    """The data of a flow run that ended Failed because some of its cases failed; carries the flow's summary."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


def _failed(message: str) -> State[Any]:
    """A flow run's Failed state for a failure said in words."""
    return Failed(message=message, data=FailureSaid(message))


class _SaidInWords(logging.Filter):
    """Leaves the traceback out of Prefect's own log records of a failure beian has already said in words
    (`FailureSaid`): a task run keeps its line "Task run failed with exception: CaseFailed('案件 … 的外部投递未成功：
    …')", and the runner's repeat of a flow run's failure ("Engine execution exited with unexpected exception",
    logged with a traceback for every Failed run of a served deployment) is dropped: the run's own error line and its
    state message say it. Any other exception keeps its traceback: that one is news."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        if not isinstance(error, FailureSaid):
            return True
        if not isinstance(error, CaseFailed):  # the flow run's failure, repeated by the engine
            return False
        record.exc_info, record.exc_text = None, None
        return True


for _logger_name in ("prefect.flow_runs", "prefect.task_runs"):
    logging.getLogger(_logger_name).addFilter(_SaidInWords())


class _Run:
    """What every task run of one flow run shares. A plain class on purpose: Prefect walks dataclasses and
    collections passed to tasks looking for futures, and has no business inside the application or the HTTP client."""

    def __init__(self, app: Beian, settings: Settings, now: datetime, client: httpx.Client | None = None) -> None:
        self.app = app
        self.settings = settings
        self.now = now
        self.client = client


def _run_resource(run_id: str, name: str, tags: list[str]) -> dict[str, Any]:
    """The event fields that put an event on a flow run (and its tags, which the automations match on)."""
    return {"resource": {"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.name": name},
            "related": [{"prefect.resource.id": f"prefect.tag.{tag}", "prefect.resource.role": "tag"}
                        for tag in tags]}


@contextmanager
def _alive() -> Iterator[None]:
    """Send ALIVE_EVENT for this flow run now and every HEARTBEAT_SECONDS until the block ends, each following the one
    before (see ALIVE_EVENT). Outside a flow run, nothing."""
    run_id = current_flow_run.id
    if not run_id:
        yield
        return
    on_run = _run_resource(run_id, current_flow_run.name or "", list(current_flow_run.tags))
    stop = threading.Event()

    def beat() -> None:
        while True:
            event = emit_event(event=ALIVE_EVENT, follows=_LAST_ALIVE.get(run_id), **on_run)
            if event is not None:
                _LAST_ALIVE[run_id] = event
            if stop.wait(HEARTBEAT_SECONDS):
                return

    # In a copy of this context: the thread must reach the same Prefect server (its settings) as the run.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(beat,), name="beian-alive", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _announce_end(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:
    """Say on the run's own event stream that it ended, following its last sign of life (see ALIVE_EVENT)."""
    emit_event(event=RUN_ENDED_EVENT, follows=_LAST_ALIVE.pop(str(flow_run.id), None), payload={"state": state.name},
               **_run_resource(str(flow_run.id), flow_run.name, flow_run.tags))


# Every flow of beian announces its end, whatever the end.
_ENDS: dict[str, Any] = {hook: [_announce_end] for hook in ("on_completion", "on_failure", "on_crashed",
                                                              "on_cancellation")}


def _named(label: str) -> Callable[[], str]:
    """A flow-run name ops can read in the run list ("计时扫描 11-22 09:30（北京时间）") instead of a random one; the
    zone is said because the UI shows its own times in the browser's zone."""
    def name() -> str:
        return f"{label} {clock.now().astimezone(SHANGHAI):%m-%d %H:%M}（北京时间）"

    return name


@contextmanager
def _application(label: str) -> Iterator[Beian]:
    """The application for one flow run, which is real time running on its database (workflows/database_clock.py)."""
    from workflows.database_clock import mark_real_time

    app = Beian(database_url())
    try:
        with _alive():
            mark_real_time(app, f"Prefect：{label}")
            yield app
    finally:
        app.close()


def _case_list(cases: list[str], shown: int = 20) -> str:
    listed = "、".join(cases[:shown])
    return listed + (f" 等 {len(cases)} 个" if len(cases) > shown else "")


def _unique(cases: list[str]) -> list[str]:
    return list(dict.fromkeys(cases))


def _finish(summary: dict[str, Any], failed: list[str], what: str, note: str = "") -> dict[str, Any] | State[Any]:
    """The flow's final state: its summary when every case went through (with `note` as the message the run list
    shows, if any), else Failed naming the cases.

    Failed carries a `CasesFailed` as its data, so a Python caller of the flow gets that exception (with the summary)
    and the UI shows the message on the run; "Retry" there retries those cases, then runs the flow again."""
    if not failed:
        return Completed(message=note, data=summary) if note else summary
    message = f"{len(failed)} 个案件{what}：{_case_list(failed)}（详见以案件编号命名的失败任务）" + (
        f"；{note}" if note else "")
    return Failed(message=message, data=CasesFailed(message, summary))


# --- Prefect's Retry on a failed run ----------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _red_cases(task_prefix: str) -> list[str]:
    """On a flow run Prefect is running again (its Retry button: the run goes to AwaitingRetry and the same flow runs
    with the same parameters, `run_count` 2 and up), the cases whose latest task run in it ended Failed or Crashed:
    those ops saw red. Read from the server, so the retry may run on another machine than the failed attempt."""
    if (current_flow_run.run_count or 0) <= 1 or not current_flow_run.id:
        return []
    runs: list[TaskRun] = []
    only_this = FlowRunFilter(id=FlowRunFilterId(any_=[UUID(current_flow_run.id)]))
    with get_client(sync_client=True) as client:
        while page := client.read_task_runs(flow_run_filter=only_this, limit=200, offset=len(runs)):
            runs += page
    latest: dict[str, TaskRun] = {}
    for run in sorted(runs, key=lambda r: r.start_time or r.expected_start_time or r.created or _EPOCH):
        prefix, _, case_id = run.name.partition(" ")
        if case_id and prefix in (task_prefix, RETRY_TASK):
            latest[case_id] = run
    return sorted(case for case, run in latest.items()
                  if run.state is not None and (run.state.is_failed() or run.state.is_crashed()))


def _retry_summary(result: dict[str, Any]) -> str:
    step, delivery = result["step"], result["delivery"]
    parts = [] if step is None else [
        "无到期事项" if step.get("skipped") else f"已触发 {'、'.join(step.get('timers') or []) or '（无到期事件）'}"]
    if result["requeued"]:
        parts.append(f"重新排队投递 {result['requeued']} 项")
    parts.append(f"送达 {len(delivery['delivered'])} 项")
    return "，".join(parts)


def _retry_problems(result: dict[str, Any]) -> list[str]:
    step, delivery = result["step"], result["delivery"]
    problems = [step["error"]] if step and step.get("error") else []
    return problems + [f"{item['summary']}：{item['error']}" for item in delivery["retrying"] + delivery["failed"]]


@task(task_run_name=RETRY_TASK + " {case_id}", cache_policy=NO_CACHE)
def retry_one(run: _Run, case_id: str) -> dict[str, Any]:
    """`beian retry CASE` for one case that was red in the failed attempt of this flow run."""
    logger = get_run_logger()
    try:
        result = run.app.operations.retry(case_id, actor="ops", settings=run.settings)
    except Exception as exc:  # a case gone, the database away: this case's failure, said in words
        cause = exc.message if isinstance(exc, BeianError) else f"{type(exc).__name__}: {exc}"
        logger.error("案件 %s 重试未成功：%s", case_id, cause)
        raise CaseFailed(f"案件 {case_id} 重试未成功：{cause}", {"case": case_id, "error": cause}) from None
    if problems := _retry_problems(result):
        logger.error("案件 %s 重试未成功：%s", case_id, "；".join(problems))
        raise CaseFailed(f"案件 {case_id} 重试未成功：{'；'.join(problems)}", result)
    logger.info("案件 %s 已重试：%s", case_id, _retry_summary(result))
    return result


def _retry_red_cases(run: _Run, task_prefix: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Retry the red cases of this flow run's failed attempt (none on a first run); (their results, those failing)."""
    cases = _red_cases(task_prefix)
    if not cases:
        return [], []
    get_run_logger().info("本运行是第 %s 次运行（对失败运行的重试）：先重试上次失败的 %d 个案件：%s",
                          current_flow_run.run_count, len(cases), _case_list(cases))
    tags_of = case_tags(run.app, cases, current_step=True)
    futures = [retry_one.with_options(tags=tags_of.get(case_id, [])).submit(run, case_id) for case_id in cases]
    wait(futures)
    results, failed = [], []
    for case_id, future in zip(cases, futures, strict=True):
        value = future.result(raise_on_failure=False)
        if isinstance(value, dict):
            results.append({"case": case_id, "ok": True, "result": value})
        else:
            failed.append(case_id)
            results.append({"case": case_id, "ok": False, "error": getattr(value, "message", str(value))})
    return results, failed


# --- the timer sweep -------------------------------------------------------------------------------------------------

@task(task_run_name=SWEEP_TASK + " {case_id}", cache_policy=NO_CACHE)
def advance_one(run: _Run, instance_id: int, case_id: str) -> CaseAdvance:
    """Fire the case's due timers; a failure is recorded on the case and fails this task run."""
    logger = get_run_logger()
    try:
        result = advance_case(run.app, instance_id, case_id, run.now)
    except Exception as exc:  # anything else the step raised is still this case's failure, not the sweep's
        logger.exception("案件 %s 处理时发生意外错误", case_id)
        result = record_failure(run.app, instance_id, case_id,
                                f"处理时发生意外错误（{type(exc).__name__}: {exc}），案件保持原状态", "timer")
    if result.error is not None:
        limit = run.settings.sweep_max_attempts
        then = (f"计时扫描将自动重试（最多 {limit} 次）" if result.attempts < limit
                else f"已达 {limit} 次，计时扫描不再重试")
        logger.error("案件 %s 定时处理失败（连续第 %s 次）：%s。%s；排除原因后可在 Prefect 运行部署 %s（填写案件编号）"
                     "或执行 beian retry %s", case_id, result.attempts, result.error, then, RETRY_DEPLOYMENT, case_id)
        raise CaseFailed(f"案件 {case_id} 定时处理失败：{result.error}", result)
    if result.skipped:
        logger.info("案件 %s 已无到期的定时事件（可能已由另一次扫描处理），未作更改", case_id)
    else:
        logger.info("案件 %s 已触发定时事件 %s，当前状态：%s", case_id, "、".join(result.fired) or "（无）",
                    result.status)
    return result


@flow(name=SWEEP_FLOW, **_ENDS, flow_run_name=_named("计时扫描"),
      task_runner=ThreadPoolTaskRunner(max_workers=CASE_WORKERS),
      description="计时扫描：触发所有已到期的定时事件，每个案件一个以案件编号命名的任务。")
def sweep_timers(limit: int = 1000) -> dict[str, Any] | State[Any]:
    """Fire every due timer, one task run per case; Failed (naming the cases) when any case failed. Run again by
    Prefect's Retry, it first retries the cases that failed in it (`_retry_red_cases`).

    Args:
        limit: 本次最多处理的案件数（其余留给下一次扫描）
    """
    logger = get_run_logger()
    settings = load_settings()
    with _application("计时扫描") as app:
        now = clock.now()
        run = _Run(app, settings, now)
        retried, retry_failed = _retry_red_cases(run, SWEEP_TASK)
        due = due_cases(app, now, limit, settings.sweep_max_attempts)
        tags_of = case_tags(app, [case_id for _, case_id in due], due_at=now)
        futures = [advance_one.with_options(tags=tags_of.get(case_id, [])).submit(run, instance_id, case_id)
                   for instance_id, case_id in due]
        wait(futures)
        results: list[CaseAdvance] = []
        for (_, case_id), future in zip(due, futures, strict=True):
            value = future.result(raise_on_failure=False)
            if isinstance(value, CaseAdvance):
                results.append(value)
            elif isinstance(value, CaseFailed) and isinstance(value.outcome, CaseAdvance):
                results.append(value.outcome)
            else:  # the failure could not even be recorded (e.g. the database went away): report it all the same
                results.append(CaseAdvance(case_id, error=str(value)))
        _clear_resolved(app, settings, [r.case for r in results if r.error is None] + _retried_ok(retried))
    summary = summarise(now, results) | ({"retried": retried} if retried else {})
    logger.info("计时扫描完成：到期 %d 个案件，已触发 %d 个，失败 %d 个，跳过 %d 个", len(due), len(summary["fired"]),
                len(summary["failed"]), len(summary["skipped"]))
    return _finish(summary, _unique(retry_failed + [item["case"] for item in summary["failed"]]), "定时处理失败")


# --- delivering the outbox -------------------------------------------------------------------------------------------

@task(task_run_name=DELIVER_TASK + " {case_id}", cache_policy=NO_CACHE)
def deliver_one(run: _Run, case_id: str, outbox_ids: list[int],
                held: frozenset[str] = frozenset()) -> CaseDelivery:
    """Send the case's due outbox rows (not those for a system `held` down); fails the task run when any did
    not go out."""
    logger = get_run_logger()
    result = deliver_case(run.app, run.settings, case_id, outbox_ids, run.client, held)
    for item in result.delivered:
        logger.info("案件 %s：%s（回执 %s）", case_id, item["summary"], item["reference"])
    if not result.ok:
        waiting = (f"{len(result.retrying)} 项将按退避时间自动重发" if result.retrying else "")
        gave_up = (f"{len(result.failed)} 项已停止重试，排除原因后可在 Prefect 运行部署 {RETRY_DEPLOYMENT}"
                   f"（填写案件编号）或执行 beian retry {case_id}" if result.failed else "")
        logger.error("案件 %s 的外部投递未成功：%s。%s", case_id, result.problems(),
                     "；".join(part for part in (waiting, gave_up) if part))
        raise CaseFailed(f"案件 {case_id} 的外部投递未成功：{result.problems()}", result)
    return result


@flow(name=DELIVER_FLOW, **_ENDS, flow_run_name=_named("外部投递"),
      task_runner=ThreadPoolTaskRunner(max_workers=CASE_WORKERS),
      description="外部投递：把已记录的公示、报送和通知发送给外部系统，每个案件一个以案件编号命名的任务。")
def deliver_outbox(limit: int = 1000) -> dict[str, Any] | State[Any]:
    """Deliver every due outbox row, one task run per case; Failed (naming the cases) when any did not go out. Run
    again by Prefect's Retry, it first retries the cases that failed in it: their failed rows are queued again and
    what waits out a backoff goes now (`_retry_red_cases`).

    Args:
        limit: 本次最多发送的投递条数（其余留给下一次）
    """
    logger = get_run_logger()
    settings = load_settings()
    with _application("外部投递") as app, httpx.Client() as client:
        now = clock.now()
        run = _Run(app, settings, now, client)
        retried, retry_failed = _retry_red_cases(run, DELIVER_TASK)
        with app.uow() as uow:
            down = sorted(down_systems(uow))
        probes = [probe_one(run, system, system_label(system)) for system in down]
        held = still_down(probes)
        due = due_deliveries(app, clock.now(), limit)
        tags_of = case_tags(app, due)
        futures = {case_id: deliver_one.with_options(tags=tags_of.get(case_id, [])).submit(run, case_id, ids, held)
                   for case_id, ids in due.items()}
        wait(list(futures.values()))
        results: list[CaseDelivery] = []
        for case_id, future in futures.items():
            value = future.result(raise_on_failure=False)
            if isinstance(value, CaseDelivery):
                results.append(value)
            elif isinstance(value, CaseFailed) and isinstance(value.outcome, CaseDelivery):
                results.append(value.outcome)
            else:  # deliver_case itself broke (e.g. the database went away): nothing was recorded as sent
                logger.error("案件 %s 的投递意外中断：%s", case_id, value)
                results.append(CaseDelivery(case_id, retrying=[{"id": None, "summary": "投递", "error": str(value)}]))
        # A case is red for what went wrong with it; a probe left unanswered by a system already taken for down is
        # not news (the first failures were red, the system's stuck row follows), so it does not redden the run.
        failed = [r.case for r in results if not r.ok] + [
            p.outcome.case for p in probes if p.answered and p.outcome is not None and not p.outcome.ok]
        results = _with_probes(results, probes)
        _clear_resolved(app, settings, [r.case for r in results if r.ok] + _retried_ok(retried),
                        [p.system for p in probes if p.system not in held])
    summary = delivery_summary(now, results) | ({"retried": retried} if retried else {})
    logger.info("外部投递完成：%d 个案件，送达 %d 项，待重发 %d 项，已停止重试 %d 项", len(results),
                summary["delivered"], summary["retrying"], summary["failed"])
    still = "；".join(f"{system_label(system)}仍不可用，等待它的投递下次运行再探测" for system in sorted(held))
    return _finish(summary, _unique(retry_failed + failed), "的外部投递未成功", note=still)


@task(task_run_name="探测 {label}", cache_policy=NO_CACHE)
def probe_one(run: _Run, system: str, label: str) -> Probe:
    """Send an outside system taken for down its waiting message due first (workflows/delivery.py): an answer
    marks it up and its waiting messages go out in this run."""
    logger = get_run_logger()
    probe = probe_system(run.app, run.settings, system, run.client)
    if probe.case is None:
        logger.info("%s 已无等待发送的投递，不再视为不可用", label)
    elif probe.answered:
        logger.info("%s 已恢复（探测：案件 %s），等待它的投递在本次运行中发出", label, probe.case)
    else:
        problems = probe.outcome.problems() if probe.outcome else ""
        logger.warning("%s 仍不可用（探测：案件 %s）：%s；等待它的投递下次运行再探测", label, probe.case, problems)
    return probe


def _retried_ok(retried: list[dict[str, Any]]) -> list[str]:
    return [item["case"] for item in retried if item["ok"]]


def _with_probes(results: list[CaseDelivery], probes: list[Probe]) -> list[CaseDelivery]:
    """The run's outcome per case, a probe's delivery counted with its case's."""
    by_case = {result.case: result for result in results}
    for probe in probes:
        if probe.outcome is None:
            continue
        if probe.outcome.case in by_case:
            by_case[probe.outcome.case].merge(probe.outcome)
        else:
            by_case[probe.outcome.case] = probe.outcome
    return list(by_case.values())


def _clear_resolved(app: Beian, settings: Settings, cases: list[str], systems: list[str] | None = None) -> None:
    """Clear at once the stuck rows this run resolved (a fired timer, a delivery, a system back), republishing the
    table and sending `beian.case.unstuck` for each; rows of cases still stuck stay until the watch. A failure here
    is only logged: the run's own work is done, and the next check clears the rows."""
    try:
        check = recheck_stuck(app, settings, cases, systems or [])
        if check is not None and check.cleared:
            ops_watch.publish(check, settings, STUCK_INTERVAL_SECONDS // 60)
            get_run_logger().info("已解除 %d 项卡住记录：%s", len(check.cleared), "、".join(check.cleared))
    except Exception as exc:  # said in the log; the stuck watch catches up
        get_run_logger().warning("卡住案件表未能即时更新（%s: %s），将在下次卡住案件检查时更新",
                                 type(exc).__name__, exc)


# --- the stuck watch -------------------------------------------------------------------------------------------------

@flow(name=STUCK_FLOW, **_ENDS, flow_run_name=_named("卡住案件检查"),
      description=(f"卡住案件检查：列出超期、出错、投递失败、外部回复超期的案件，不可用的外部系统和已暂停或连续失败的"
                   f"后台部署（Markdown 表格产物 {STUCK_ARTIFACT_KEY}，详情 {ops_watch.DETAILS_ARTIFACT_KEY}，部署状态 "
                   f"{ops_watch.DEPLOYMENTS_ARTIFACT_KEY}），新卡住的发出 {STUCK_EVENT} 事件，每项解除发出 "
                   f"{UNSTUCK_EVENT} 事件。"))
def watch_stuck() -> dict[str, Any]:
    """Publish the stuck cases, systems and deployments as artifacts (fixed keys) and announce what changed."""
    logger = get_run_logger()
    settings = load_settings()
    health = ops_watch.deployment_health(WATCHED, settings.deployment_failed_runs)
    now = clock.now()
    with _application("卡住案件检查") as app:
        check = check_stuck(app, settings, ops_watch.deployment_problems(health, settings.deployment_failed_runs, now))
    ops_watch.publish(check, settings, STUCK_INTERVAL_SECONDS // 60)
    ops_watch.publish_deployments(health, settings.deployment_failed_runs, now)
    logger.info("%s", check.summary)
    for item in check.newly:
        logger.warning("新卡住：%s（%s）%s", item.case_id or item.waiting_on, item.reason_label, item.reason)
    return check.to_report()


# --- what ops start by hand ------------------------------------------------------------------------------------------

@flow(name=RETRY_FLOW, **_ENDS, flow_run_name="重试 {case}",
      description=("重试案件：重新处理该案件（触发到期事件；上次出错时即使无到期事件也再走一步），"
                   "重新发送其失败的外部投递，并立即发送其待发送的投递。在“运行 → 自定义运行”中填写案件编号。"))
def retry_case(case: str) -> dict[str, Any] | State[Any]:
    """`beian retry CASE` from the UI; Failed, naming the case and the cause, when it still does not get through.

    Args:
        case: 案件编号，例如 BA2026-00012
    """
    logger = get_run_logger()
    case = case.strip()
    try:
        with _application("重试") as app:
            _tag_this_run(case_tags(app, [case], current_step=True).get(case, []))
            result = app.operations.retry(case, actor="ops")
            if not _retry_problems(result):
                _clear_resolved(app, load_settings(), [case])
    except Exception as exc:  # the case unknown, the database away: said in words on the run, not as a traceback
        cause = exc.message if isinstance(exc, BeianError) else f"{type(exc).__name__}: {exc}"
        result = None
    else:
        if not (problems := _retry_problems(result)):
            logger.info("案件 %s 已重试：%s", case, _retry_summary(result))
            return result
        cause = "；".join(problems)
    message = f"案件 {case} 重试未成功：{cause}"
    logger.error("%s。排除原因后再运行一次本部署（或在本运行上点 Retry）", message)
    return Failed(message=message, data=CasesFailed(message, result or {"case": case, "error": cause}))


def _tag_this_run(tags: list[str]) -> None:
    """Add the case's process, version and step to this flow run's tags (Prefect's run filters find it by them)."""
    if not tags or not current_flow_run.id:
        return
    with get_client(sync_client=True) as client:
        run_id = UUID(current_flow_run.id)
        client.update_flow_run(run_id, tags=sorted({*client.read_flow_run(run_id).tags, *tags}))


@flow(name=BATCH_RETRY_FLOW, **_ENDS, flow_run_name=_named("批量重试"),
      task_runner=ThreadPoolTaskRunner(max_workers=CASE_WORKERS),
      description=("批量重试：重试卡住案件表中因同一原因、等待同一外部系统或同一流程版本而卡住的所有案件，"
                   "每个案件一次，每个案件一个任务“重试 <案件编号>”。在“运行 → 自定义运行”中填写其中至少一项。"))
def retry_stuck(reason: str = "", system: str = "", process: str = "", version: int | None = None
                ) -> dict[str, Any] | State[Any]:
    """`beian retry --reason/--system/--process [--version]` from the UI.

    Args:
        reason: 卡住原因，如 delivery_failed、instance_error、system_down（或其中文名，如 外部投递失败）
        system: 外部系统，如 national_registry、notice_website
        process: 流程，如 filing_application
        version: 与流程一起填写：只重试该流程这个版本的案件
    """
    logger = get_run_logger()
    try:
        selection = Selection(reason=reason.strip() or None, system=system.strip() or None,
                              process=process.strip() or None, version=version)
    except BeianError as exc:
        logger.error("批量重试未执行：%s", exc.message)
        return _failed(exc.message)
    settings = load_settings()
    with _application("批量重试") as app:
        run = _Run(app, settings, clock.now())

        def one(case_id: str) -> dict[str, Any]:
            tags = case_tags(app, [case_id], current_step=True).get(case_id, [])
            value = retry_one.with_options(tags=tags).submit(run, case_id).result(raise_on_failure=False)
            if isinstance(value, dict):
                return value
            outcome = value.outcome if isinstance(value, CaseFailed) else None
            return {**(outcome if isinstance(outcome, dict) else {"case": case_id}), "ok": False,
                    "error": getattr(value, "message", str(value))}

        result = retry_batch(app, settings, selection, retry=one)
        _clear_resolved(app, settings, [item["case"] for item in result["results"] if item.get("ok")])
    logger.info("批量重试（%s）：选出 %d 个案件%s", result["described"], len(result["cases"]),
                f"：{_case_list(result['cases'])}" if result["cases"] else "")
    return _finish(result, [item["case"] for item in result["results"] if not item.get("ok")], "重试后仍未成功")


def registry_watch_available() -> bool:
    return importlib.util.find_spec("workflows.registry_watch") is not None


@flow(name=REGISTRY_FLOW, **_ENDS, flow_run_name=_named("注销核查"),
      description="注销核查：向市场主体登记系统核查所有有效备案的机构，已注销的自动启动注销备案程序。")
def check_registrations() -> dict[str, Any]:
    from workflows.registry_watch import check_deregistrations  # lazily: the module arrives with its own issue

    with _application("注销核查") as app:
        result: dict[str, Any] = check_deregistrations(app, load_settings())
    get_run_logger().info("注销核查完成：%s", result)
    return result


@flow(name=FLAG_FLOW, **_ENDS, flow_run_name=_named("计时扫描运行过久"),
      description="由自动化“计时扫描运行过久”启动：给运行过久的计时扫描加上“运行过久”标签并在其日志中留言。")
def flag_long_sweep(flow_run: str, threshold_seconds: int) -> State[Any]:
    """Flag a sweep run that has been Running longer than the threshold, without touching its state.

    `flow_run` is the Prefect resource id the automation passes ("prefect.flow-run.<uuid>"). The run gets a tag and a
    warning in its own log; this flag run ends Failed so that it stands out on the dashboard."""
    logger = get_run_logger()
    run_id = UUID(flow_run.removeprefix("prefect.flow-run."))
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        if run.state is None or not run.state.is_running():
            logger.info("计时扫描 %s 已结束（%s），无需标记", run.name, run.state.name if run.state else "无状态")
            return Completed(message=f"计时扫描 {run.name} 已结束，无需标记")
        started = run.start_time.astimezone(SHANGHAI) if run.start_time else None
        since = f"自 {started:%Y-%m-%d %H:%M:%S}（北京时间）起" if started else ""
        message = (f"计时扫描 {run.name} {since}已运行超过 {threshold_seconds} 秒仍未结束："
                   "请检查数据库锁、外部系统是否无响应，以及本次扫描的案件任务")
        client.update_flow_run(run_id, tags=sorted({*run.tags, TOO_LONG_TAG}))
        client.create_logs([LogCreate(name="beian.watchdog", level=logging.WARNING, message=message,
                                      timestamp=datetime.now(UTC), flow_run_id=run_id)])
    emit_event(event=TOO_LONG_EVENT, resource={"prefect.resource.id": f"prefect.flow-run.{run_id}",
                                               "prefect.resource.name": run.name},
               payload={"threshold_seconds": threshold_seconds, "message": message})
    logger.warning("%s", message)
    return _failed(message)


# --- deployments -----------------------------------------------------------------------------------------------------

def deployments(settings: Settings | None = None) -> list[RunnerDeployment]:
    """The deployments, by stable name, for `serve_all` (embedded) and `deploy_to_pool` (scale-out)."""
    settings = settings or load_settings()
    module = EntrypointType.MODULE_PATH
    result = [
        sweep_timers.to_deployment(
            SWEEP_DEPLOYMENT, interval=settings.sweep_interval_seconds, tags=TAGS, entrypoint_type=module,
            description=(f"每 {settings.sweep_interval_seconds} 秒触发一次所有已到期的定时事件"
                         "（受理、公示、有效期等期限）。"
                         "失败的案件显示为以案件编号命名的失败任务，原因见任务日志；计时扫描会自动重试，"
                         f"也可运行 {RETRY_DEPLOYMENT}。")),
        deliver_outbox.to_deployment(
            DELIVER_DEPLOYMENT, interval=settings.delivery_interval_seconds, tags=TAGS, entrypoint_type=module,
            description=(f"每 {settings.delivery_interval_seconds} 秒把待发送的公示公告、向全国备案信息库的报送"
                         "和给机构的通知发往外部系统。"
                         "暂时失败的按退避时间自动重发；已停止重试的显示在卡住案件表中。")),
        watch_stuck.to_deployment(
            STUCK_DEPLOYMENT, interval=STUCK_INTERVAL_SECONDS, tags=TAGS, entrypoint_type=module,
            description=(f"每 {STUCK_INTERVAL_SECONDS // 60} 分钟检查卡住的案件，"
                         f"结果见“产物”中的 {STUCK_ARTIFACT_KEY} 表格"
                         f"（案件、机构、流程、等待、自何时、超期工作日、原因、链接）。")),
        retry_case.to_deployment(
            RETRY_DEPLOYMENT, tags=TAGS, entrypoint_type=module,
            description="排除原因后重试一个案件：在“运行 → 自定义运行”中填写案件编号（如 BA2026-00012）。"),
        retry_stuck.to_deployment(
            BATCH_RETRY_DEPLOYMENT, tags=TAGS, entrypoint_type=module,
            description=("排除原因后批量重试卡住的案件：在“运行 → 自定义运行”中填写卡住原因（如 delivery_failed）、"
                         "外部系统（如 national_registry）或流程（如 filing_application）及版本，"
                         "卡住案件表中符合全部所填条件的案件各重试一次。")),
        flag_long_sweep.to_deployment(
            FLAG_DEPLOYMENT, tags=TAGS, entrypoint_type=module,
            description="由自动化启动，无需手工运行：标记运行过久的计时扫描。"),
    ]
    if registry_watch_available():
        result.append(check_registrations.to_deployment(
            REGISTRY_DEPLOYMENT, schedule=Cron(REGISTRY_CHECK_CRON, timezone="Asia/Shanghai"), tags=TAGS,
            entrypoint_type=module,
            description="每天 6:00（北京时间）向市场主体登记系统核查有效备案的机构，已注销的自动启动注销备案程序。"))
    return result


def serve_all(settings: Settings | None = None) -> None:
    """Serve every deployment from this process until it is interrupted (the embedded default, `beian up`)."""
    serve(*deployments(settings), print_starting_message=False)


def ensure_process_pool(pool: str) -> None:
    """Create the process work pool if it does not exist (with the process worker's own default job template)."""
    with get_client(sync_client=True) as client:
        try:
            existing = client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template(),
                description="beian 的后台任务（计时扫描、外部投递、卡住案件检查）；用 prefect worker start --pool "
                            f"{pool} --type process 在每台机器上启动执行者。"))
            return
        if existing.type != "process":
            raise ValueError(f"工作池 {pool} 已存在，但类型是 {existing.type}，不是 process")


def deploy_to_pool(pool: str, settings: Settings | None = None) -> list[UUID]:
    """Register the deployments on a process work pool (created if missing): workers on any machine with `beian`
    installed run them (scale-out). Returns the deployment ids."""
    ensure_process_pool(pool)
    return deploy(*deployments(settings), work_pool_name=pool, print_next_steps_message=False, ignore_warnings=True)


# --- automations ------------------------------------------------------------------------------------------------------

def automations(settings: Settings, flag_deployment_id: UUID, ops_webhook_id: UUID | None = None,
                zombie_after_seconds: int = ZOMBIE_AFTER_SECONDS) -> list[AutomationCore]:
    """The automations ops need, as objects (see `ensure_automations`); the notification only with a webhook block."""
    ours = ResourceSpecification({"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{TAG}"})
    zombie = AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description=(f"beian 的流程运行在运行中超过 {zombie_after_seconds} 秒没有心跳（进程被杀、机器宕机）时，"
                     "把它标记为 Crashed，不再显示为运行中；已结束的运行不受影响。"
                     f"心跳是运行每 {HEARTBEAT_SECONDS} 秒发出的 {ALIVE_EVENT} 事件，"
                     f"运行结束后发出 {RUN_ENDED_EVENT}。"),
        # Prefect's documented zombie recipe (after each sign of life of a run, expect the next one or its end) on
        # beian's own signs of life, which the server takes in order (see ALIVE_EVENT); Prefect's own heartbeat and
        # final states count as signs of life too, but never open a window.
        trigger=EventTrigger(
            after={ALIVE_EVENT},
            expect={ALIVE_EVENT, RUN_ENDED_EVENT, HEARTBEAT_EVENT,
                    *(f"prefect.flow-run.{name}" for name in _FINAL_STATES)},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}), match_related=ours,
            for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
            within=timedelta(seconds=zombie_after_seconds)),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message=f"超过 {zombie_after_seconds} 秒没有心跳，判定运行进程已不存在")],
    )
    # A sweep run Running longer than the threshold starts the flag flow, which tags the run and writes a warning into
    # its log. Deliberately not a state change: a Running-type state written by an automation that fires just as the
    # run finishes would reopen the finished run (Prefect allows COMPLETED/FAILED → RUNNING), and the sweep's own
    # state must stay the engine's. A tag and a log line cannot change what the run does.
    too_long = AutomationCore(
        name=TOO_LONG_AUTOMATION,
        description=(f"计时扫描运行超过 {settings.sweep_too_long_seconds} 秒仍未结束时，"
                     f"给该运行加上“{TOO_LONG_TAG}”标签、"
                     f"在其日志中写入警告，并出现一个失败的 {FLAG_FLOW} 运行。不改变计时扫描本身。"),
        trigger=EventTrigger(
            after={"prefect.flow-run.Running"}, expect={f"prefect.flow-run.{name}" for name in _END_STATES},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification({"prefect.resource.role": "flow", "prefect.resource.name": SWEEP_FLOW}),
            for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
            within=timedelta(seconds=settings.sweep_too_long_seconds)),
        actions=[RunDeployment(source="selected", deployment_id=flag_deployment_id,
                               # The explicit jinja kind renders to the label's text; a bare "{{ … }}" string would
                               # be JSON-encoded (`| tojson`), which the label object is not.
                               parameters={"flow_run": {"__prefect_kind": "jinja",
                                                        "template": "{{ labels.prefect.resource.id }}"},
                                           "threshold_seconds": settings.sweep_too_long_seconds})],
    )
    notify = [_notify_ops(ops_webhook_id, settings), silent_watch(ops_webhook_id)] if ops_webhook_id else []
    return [zombie, too_long, *notify]


# The notification's body (JSON): what happened, to whom, in words (`text`, written by the stuck watch: see
# `ops_watch.stuck_text` and `unstuck_text`), and the event's own payload (institution, process, link to the case,
# reasons, what still holds it up). Prefect renders it with the triggering event.
_NOTIFICATION = (
    '{"event": {{ event.event | tojson }}, "case": {{ event.payload.case | tojson }}, '
    '"subject": {{ event.payload.subject | tojson }}, "text": {{ event.payload.text | tojson }}, '
    '"occurred": {{ event.occurred | string | tojson }}, "payload": {{ event.payload | tojson }}}')

# Who is told that the stuck watch itself stopped: its runs are what flag everything else, so nothing in the stuck
# table can say it. A watch run that completed opens a window; if no other completes within it (the schedule was
# paused, every run fails, the worker is gone), ops are told once, until the watch completes a run again.
SILENT_WATCH_AUTOMATION = "beian：卡住案件检查停止运行时通知运维"
SILENT_WATCH_EVENT = "beian.stuck-watch.silent"
SILENT_WATCH_AFTER_SECONDS = 3 * STUCK_INTERVAL_SECONDS


def _notify_ops(webhook_id: UUID, settings: Settings) -> AutomationCore:
    """Post to the ops webhook when a case, an outside system or a deployment becomes stuck or one of its reasons
    goes away: one trigger per kind of change, each at most once per subject and reason in NOTIFY_COOLDOWN_SECONDS
    (a reactive trigger that fired waits out its window; what comes meanwhile is left out), so a case that flaps, or
    a watch run that finds many cases at once again, cannot flood ops, while a second reason, or a second reason
    going away, is still told."""
    subjects = ResourceSpecification({"prefect.resource.id": ["beian.case.*", "beian.system.*",
                                                              "beian.deployment.*"]})

    def on(event: str, reason_label: str) -> EventTrigger:
        return EventTrigger(expect={event}, match=subjects,
                            for_each={"prefect.resource.id", reason_label}, posture=Posture.Reactive, threshold=1,
                            within=timedelta(seconds=NOTIFY_COOLDOWN_SECONDS))

    return AutomationCore(
        name=NOTIFY_AUTOMATION,
        description=(f"案件、外部系统或后台部署新卡住（{STUCK_EVENT}）或某个卡住原因解除（{UNSTUCK_EVENT}）时，"
                     f"向 BEIAN_OPS_WEBHOOK_URL（当前：{settings.ops_webhook_url}）发送 JSON 通知。"
                     f"防刷屏：同一对象同一原因的“卡住”和“解除”通知各自在 {NOTIFY_COOLDOWN_SECONDS // 60} 分钟内"
                     "最多发送一次，其间的重复事件只记在事件页和卡住案件表中。"),
        # Set explicitly: the client leaves out what was not set, and the server wants a compound trigger's `within`.
        trigger=CompoundTrigger(type="compound", require="any", within=None,
                                triggers=[on(STUCK_EVENT, "beian.reasons"), on(UNSTUCK_EVENT, "beian.reason-key")]),
        actions=[CallWebhook(block_document_id=webhook_id, payload=_NOTIFICATION)],
    )


def silent_watch(webhook_id: UUID, after_seconds: int = SILENT_WATCH_AFTER_SECONDS) -> AutomationCore:
    """Post to the ops webhook when no stuck-watch run has completed for `after_seconds` since the last one did."""
    minutes = after_seconds // 60 if after_seconds >= 60 else None
    span = f"{minutes} 分钟" if minutes else f"{after_seconds} 秒"
    text = (f"卡住案件检查（{STUCK_DEPLOYMENT}）已超过 {span}没有成功完成运行，卡住案件表和后台部署状态不再更新。"
            f"请在 Prefect 的“部署”页面检查 {STUCK_DEPLOYMENT} 的计划是否被暂停、最近的运行是否失败。")
    # Static: a proactive trigger fires on an absence, so there is no event to quote.
    payload = json.dumps({"event": SILENT_WATCH_EVENT, "case": "", "subject": f"部署 {STUCK_DEPLOYMENT}",
                          "text": text}, ensure_ascii=False)
    return AutomationCore(
        name=SILENT_WATCH_AUTOMATION,
        description=(f"卡住案件检查（{STUCK_DEPLOYMENT}）最近一次成功运行后 {span}内没有再成功运行时"
                     "（计划被暂停、运行一直失败、执行它的进程已停止），向 BEIAN_OPS_WEBHOOK_URL 发送一次通知；"
                     "它再次成功运行后重新开始计时。"),
        trigger=EventTrigger(
            after={"prefect.flow-run.Completed"}, expect={"prefect.flow-run.Completed"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification({"prefect.resource.role": "flow",
                                                 "prefect.resource.name": STUCK_FLOW}),
            posture=Posture.Proactive, threshold=1, within=timedelta(seconds=after_seconds)),
        actions=[CallWebhook(block_document_id=webhook_id, payload=payload)],
    )


def _ops_webhook(settings: Settings) -> UUID | None:
    """The webhook block the notification posts with (created or updated by name); None when no address is set."""
    if not settings.ops_webhook_url:
        return None
    block = Webhook(method="POST", url=settings.ops_webhook_url, headers={"Content-Type": "application/json"})
    return block.save(OPS_WEBHOOK_BLOCK, overwrite=True)


def ensure_automations(settings: Settings | None = None,
                       zombie_after_seconds: int = ZOMBIE_AFTER_SECONDS) -> dict[str, str]:
    """Create or update (by name) the automations; returns {name: "created" | "updated"}.

    Needs the flag deployment registered first (`serve_all` or `deploy_to_pool`), since the automation runs it."""
    settings = settings or load_settings()
    done: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        try:
            flag = client.read_deployment_by_name(f"{FLAG_FLOW}/{FLAG_DEPLOYMENT}")
        except ObjectNotFound:
            raise RuntimeError(f"部署 {FLAG_FLOW}/{FLAG_DEPLOYMENT} 尚未注册："
                               "先启动 beian up 或执行 beian deploy，再创建自动化") from None
        wanted = automations(settings, flag.id, _ops_webhook(settings), zombie_after_seconds)
        names = {automation.name for automation in wanted}
        for notifying in (NOTIFY_AUTOMATION, SILENT_WATCH_AUTOMATION):
            if notifying not in names:  # the address was taken away
                for stale in client.read_automations_by_name(notifying):
                    client.delete_automation(stale.id)
        for automation in wanted:
            existing = client.read_automations_by_name(automation.name)
            if existing:
                client.update_automation(existing[0].id, automation)
                for duplicate in existing[1:]:  # two starts raced: keep one
                    client.delete_automation(duplicate.id)
                done[automation.name] = "updated"
            else:
                client.create_automation(automation)
                done[automation.name] = "created"
    return done
