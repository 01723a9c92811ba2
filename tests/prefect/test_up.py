"""`beian up` as ops use it: started by the session (conftest.py) on free ports with a temporary home, it prints where
everything is, serves the deployments, configures the automations, and Ctrl-C stops everything — that test runs last.
The scale-out path (a process work pool and a worker) runs against the same server."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from prefect.events import emit_event
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.states import Completed

from adapters.entrypoints.up import WORKER_STOP_GRACE_SECONDS, _port_free, prefect_environment, run_up, run_worker
from adapters.outside.settings import HEARTBEAT_SECONDS, Settings, load_settings
from tests.prefect.conftest import (
    AUTOMATION_ENV,
    PREFECT_ENV,
    PREFECT_PORT,
    SANDBOX_PORT,
    TOO_LONG_SECONDS,
    UP_DATABASE,
    AutomationProbes,
    Ports,
    UpProcess,
    apply_in,
    eventually,
    fired,
    free_port,
    processes_of,
    settled_task_runs,
)
from workflows import flows
from workflows.database_clock import read_marker
from workflows.service import Beian

POOL = "beian-test-pool"


# --- what `beian up` prints and serves -----------------------------------------------------------------------------

def test_up_prints_where_everything_is_and_the_prefect_ui_answers(up: UpProcess) -> None:
    printed = "".join(up.lines)
    assert f"Prefect 界面 / Prefect UI:   http://127.0.0.1:{PREFECT_PORT}" in printed
    assert f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/" in printed
    assert f"sqlite:///{UP_DATABASE}" in printed
    assert "按 Ctrl-C 停止 / press Ctrl-C to stop" in printed
    logs = up.home / "logs"
    assert f"日志 / logs:                 {logs}" in printed
    assert {"prefect-server.log", "sandbox.log", "serve.log"} <= {path.name for path in logs.iterdir()}

    page = httpx.get(up.ui, follow_redirects=True, timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert httpx.get(f"{up.ui}/api/health", timeout=10).json() is True
    assert httpx.get(f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/", timeout=10).status_code == 200
    app = Beian(up.database_url)  # `beian up` runs in real time: a virtual clock may no longer write to its database
    try:
        assert read_marker(app).live and read_marker(app).real_time_by == "beian up"
    finally:
        app.close()


def test_the_deployments_are_served_with_their_schedules(up: UpProcess, prefect_client: Any) -> None:
    expected = {
        f"{flows.SWEEP_FLOW}/{flows.SWEEP_DEPLOYMENT}": 3600.0,  # BEIAN_SWEEP_INTERVAL of the session's `beian up`
        f"{flows.DELIVER_FLOW}/{flows.DELIVER_DEPLOYMENT}": float(Settings().delivery_interval_seconds),
        f"{flows.STUCK_FLOW}/{flows.STUCK_DEPLOYMENT}": float(flows.STUCK_INTERVAL_SECONDS),
        f"{flows.RETRY_FLOW}/{flows.RETRY_DEPLOYMENT}": None,
        f"{flows.BATCH_RETRY_FLOW}/{flows.BATCH_RETRY_DEPLOYMENT}": None,
        f"{flows.FLAG_FLOW}/{flows.FLAG_DEPLOYMENT}": None,
    }
    for name, interval in expected.items():
        deployment = prefect_client.read_deployment_by_name(name)
        assert deployment.tags == ["beian"] and deployment.description, name
        assert deployment.entrypoint.startswith("workflows.flows."), name  # by module: no source folder needed
        assert not deployment.paused and deployment.last_polled is not None, name
        intervals = [schedule.schedule.interval.total_seconds() for schedule in deployment.schedules]
        assert intervals == ([interval] if interval else []), name
    check = prefect_client.read_deployment_by_name(f"{flows.REGISTRY_FLOW}/{flows.REGISTRY_DEPLOYMENT}")
    assert [(s.schedule.cron, s.schedule.timezone) for s in check.schedules] == [("0 6 * * *", "Asia/Shanghai")]
    retry = prefect_client.read_deployment_by_name(f"{flows.RETRY_FLOW}/{flows.RETRY_DEPLOYMENT}")
    assert retry.parameter_openapi_schema["required"] == ["case"]  # "Custom run" asks for the case number


def test_a_served_sweep_fires_a_due_timer(up: UpProcess, prefect_client: Any) -> None:
    app, case = apply_in(up.database_url)
    try:
        run = run_deployment(f"{flows.SWEEP_FLOW}/{flows.SWEEP_DEPLOYMENT}", timeout=90)
        assert run.state is not None and run.state.is_completed(), run.state
        assert settled_task_runs(prefect_client, run.id, {f"定时 {case}"}) == {f"定时 {case}": StateType.COMPLETED}
        assert fired(app, case) == 1
    finally:
        app.close()


# --- the automations ------------------------------------------------------------------------------------------------

def test_automations_flag_a_long_sweep_and_crash_a_silent_run(prefect_client: Any,
                                                               automation_probes: AutomationProbes) -> None:
    for name in (flows.ZOMBIE_AUTOMATION, flows.TOO_LONG_AUTOMATION):
        assert len(prefect_client.read_automations_by_name(name)) == 1, name  # updated by name, never duplicated
    long_sweep, silent = automation_probes.long_sweep, automation_probes.silent
    try:
        # A run that sent a heartbeat and then went quiet (its process was killed) becomes Crashed.
        crashed = eventually(lambda: (lambda r: r if r.state.is_crashed() else None)(
            prefect_client.read_flow_run(silent.id)), timeout=90, what="the silent run to become Crashed")
        assert "心跳" in (crashed.state.message or "")
        # Every action of the zombie rule this session succeeded: it never tried to crash a run that had finished
        # (each served run of the tests so far ended long before this run's window of PROBE_ZOMBIE_SECONDS did).
        [zombie] = prefect_client.read_automations_by_name(flows.ZOMBIE_AUTOMATION)
        failed_actions = prefect_client.read_events(filter=EventFilter(
            event=EventNameFilter(name=["prefect.automation.action.failed"]),
            resource=EventResourceFilter(id=[f"prefect.automation.{zombie.id}"])), limit=50)
        assert [event.payload.get("reason") for event in failed_actions.events] == []

        # A sweep that stays Running (as one stuck on a lock would) is tagged and warned about in its own log, and
        # a failed flag run shows on the dashboard; its state is not touched and it can still finish normally.
        flagged = eventually(lambda: (lambda r: r if flows.TOO_LONG_TAG in r.tags else None)(
            prefect_client.read_flow_run(long_sweep.id)), timeout=90, what="the long sweep to be tagged")
        assert flagged.state.is_running()
        warning = eventually(lambda: [log.message for log in prefect_client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[long_sweep.id]))) if "仍未结束" in log.message],
                             what="the warning in the sweep's log")
        assert f"超过 {TOO_LONG_SECONDS} 秒" in warning[0]
        flag_runs = eventually(lambda: [run for run in prefect_client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flows.FLAG_FLOW])))
            if run.state.is_failed() and "probe-long-sweep" in (run.state.message or "")], what="the flag run")
        assert len(flag_runs) == 1
        prefect_client.set_flow_run_state(long_sweep.id, Completed())
        assert prefect_client.read_flow_run(long_sweep.id).state.is_completed()
    finally:
        assert flows.ensure_automations(load_settings(AUTOMATION_ENV)) == dict.fromkeys(
            (flows.ZOMBIE_AUTOMATION, flows.TOO_LONG_AUTOMATION, flows.NOTIFY_AUTOMATION,
             flows.SILENT_WATCH_AUTOMATION), "updated")
    [zombie] = prefect_client.read_automations_by_name(flows.ZOMBIE_AUTOMATION)
    assert zombie.trigger.within.total_seconds() == flows.ZOMBIE_AFTER_SECONDS
    [too_long] = prefect_client.read_automations_by_name(flows.TOO_LONG_AUTOMATION)
    assert too_long.trigger.within.total_seconds() == TOO_LONG_SECONDS


# --- scale-out: a process work pool and a worker ----------------------------------------------------------------------

def test_deployments_run_on_a_process_work_pool_worker(up: UpProcess, prefect_client: Any, tmp_path: Path) -> None:
    # Freeze the embedded runner of `beian up`, which serves the same deployments, so that only the worker can
    # take the run.
    [serve_pid] = [pid for pid, cmdline in processes_of(up.home) if "adapters.entrypoints.up serve" in cmdline]
    os.killpg(serve_pid, signal.SIGSTOP)
    app, case = apply_in(up.database_url)
    worker = None
    try:
        ids = flows.deploy_to_pool(POOL, load_settings({"BEIAN_SWEEP_INTERVAL": "3600"}))
        assert len(ids) == len(flows.deployments(Settings()))
        assert prefect_client.read_work_pool(POOL).type == "process"
        deployment = prefect_client.read_deployment_by_name(f"{flows.SWEEP_FLOW}/{flows.SWEEP_DEPLOYMENT}")
        assert deployment.work_pool_name == POOL and deployment.entrypoint == "workflows.flows.sweep_timers"

        env = {**os.environ, "BEIAN_DATABASE_URL": up.database_url, "PREFECT_WORKER_QUERY_SECONDS": "1"}
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            # Outside the repository: the worker finds the flows in the installed package.
            worker = subprocess.Popen([sys.executable, "-m", "adapters.entrypoints.up",
                                       "worker", "--pool", POOL], env=env,
                                      cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        run = run_deployment(f"{flows.SWEEP_FLOW}/{flows.SWEEP_DEPLOYMENT}", timeout=120)
        assert run.state is not None and run.state.is_completed(), (run.state, log.read_text())
        assert run.work_pool_name == POOL and str(run.id) in log.read_text()
        assert settled_task_runs(prefect_client, run.id, {f"定时 {case}"}) == {f"定时 {case}": StateType.COMPLETED}
        assert fired(app, case) == 1

        # systemd stops a service with SIGTERM; the wrapper passes it on as SIGINT, which the worker obeys, and waits
        # for the worker to exit: 0 means the worker stopped by itself (a worker killed after the grace gives 1), so
        # everything it printed is in the log by then.
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=WORKER_STOP_GRACE_SECONDS + 30) == 0, log.read_text()
        assert "stopped" in log.read_text()
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        os.killpg(serve_pid, signal.SIGCONT)
        app.close()


# --- starting and stopping ------------------------------------------------------------------------------------------

def test_prefect_environment_keeps_every_process_on_its_own_server(tmp_path: Path) -> None:
    env = prefect_environment(tmp_path, 4321)
    assert env["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4321/api"
    assert (env["PREFECT_SERVER_API_HOST"], env["PREFECT_SERVER_API_PORT"]) == ("127.0.0.1", "4321")
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and env["DO_NOT_TRACK"] == "1"
    assert env["PREFECT_SERVER_EPHEMERAL_ENABLED"] == "false"
    assert env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == str(HEARTBEAT_SECONDS)
    # Listening on every interface (workers on other machines), the local processes still use loopback.
    shared = prefect_environment(tmp_path, 4321, host="0.0.0.0")
    assert shared["PREFECT_SERVER_API_HOST"] == "0.0.0.0" and shared["PREFECT_API_URL"] == "http://127.0.0.1:4321/api"


def test_an_embedded_prefect_server_waits_for_the_sqlite_lock_and_a_postgresql_one_keeps_its_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_DATABASE_CONNECTION_URL", raising=False)
    assert prefect_environment(tmp_path, 4321)["PREFECT_SERVER_DATABASE_TIMEOUT"] == "60"
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", "postgresql+asyncpg://prefect:pw@db:5432/prefect")
    assert "PREFECT_SERVER_DATABASE_TIMEOUT" not in prefect_environment(tmp_path, 4321)


def test_the_embedded_server_takes_a_burst_of_automation_events_without_refusal_or_dead_letter(
        up: UpProcess, prefect_client: Any) -> None:
    """Signs of life and ends of 150 runs at once from 6 threads, all matched by the zombie rule (each a trigger
    bucket read and then written): on Prefect's own DEFERRED transactions SQLite refuses some at once and the broker
    dead-letters them; begun IMMEDIATE (adapters/entrypoints/prefect_server.py) they wait their turn."""
    server_log = up.home / "logs" / "prefect-server.log"
    dead_letters = Path(PREFECT_ENV["PREFECT_HOME"]) / "dlq"
    log_from = server_log.stat().st_size
    letters_before = set(dead_letters.glob("*")) if dead_letters.exists() else set()
    tag = [{"prefect.resource.id": f"prefect.tag.{flows.TAG}", "prefect.resource.role": "tag"}]
    runs = [uuid4() for _ in range(150)]

    def live_and_end(chunk: list[UUID]) -> None:
        for run_id in chunk:
            resource = {"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.name": "burst"}
            alive = emit_event(event=flows.ALIVE_EVENT, resource=resource, related=tag)
            emit_event(event=flows.RUN_ENDED_EVENT, resource=resource, related=tag,
                       follows=alive, payload={"state": "Completed"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(live_and_end, [runs[i::6] for i in range(6)]))
    ended = EventFilter(event=EventNameFilter(name=[flows.RUN_ENDED_EVENT]),
                        resource=EventResourceFilter(id=[f"prefect.flow-run.{run}" for run in runs]))
    eventually(lambda: prefect_client.read_events(filter=ended, limit=1).total >= len(runs), timeout=120,
               what="every end stored")
    time.sleep(5)  # the trigger service follows the event store
    with server_log.open("rb") as log:
        log.seek(log_from)
        added = log.read().decode("utf-8", "replace")
    assert "database is locked" not in added and "dead letter" not in added
    assert (set(dead_letters.glob("*")) if dead_letters.exists() else set()) == letters_before


def test_a_worker_needs_the_shared_application_database(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BEIAN_DATABASE_URL", raising=False)
    assert run_worker(POOL, "http://127.0.0.1:9/api") == 2
    assert "BEIAN_DATABASE_URL" in capsys.readouterr().err


def test_up_refuses_a_port_in_use(tmp_path: Path) -> None:
    out = io.StringIO()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run_up(str(tmp_path / "db.sqlite3"), tmp_path / "home", port, free_port(), web=False, out=out) == 1
    assert f"端口已被占用 / port in use: {port}" in out.getvalue()
    assert not (tmp_path / "home" / "logs").exists()  # nothing was started


def test_up_names_a_child_that_dies_and_stops_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", "nonsense://nowhere")  # the server cannot start
    out = io.StringIO()
    home = tmp_path / "home"
    assert run_up(str(tmp_path / "db.sqlite3"), home, free_port(), free_port(), web=False, out=out) == 1
    printed = out.getvalue()
    assert "Prefect 服务器 / Prefect server 意外退出（退出码 1）" in printed
    assert str(home / "logs" / "prefect-server.log") in printed
    assert "停止 / stopping 外部系统沙箱 / sandbox" in printed
    assert processes_of(home) == []


def test_ctrl_c_stops_everything_cleanly(up_to_stop: tuple[UpProcess, Ports]) -> None:
    up, ports = up_to_stop
    assert processes_of(up.home), "beian up should be running its children"
    # The web app is up with the first administrator and demo caseworkers (a fresh database).
    login = httpx.get(f"http://127.0.0.1:{ports.web}/login", timeout=10)
    assert login.status_code == 200 and "登录" in login.text
    up.process.send_signal(signal.SIGINT)  # what Ctrl-C in its terminal delivers to it
    assert up.process.wait(timeout=90) == 0
    printed = up.read_rest(timeout=5)
    stopping = [line.strip() for line in printed.splitlines() if line.strip().startswith("停止 / stopping")]
    assert stopping == ["停止 / stopping 网页应用 / web app", "停止 / stopping 部署运行进程 / deployments (serve)",
                        "停止 / stopping 外部系统沙箱 / sandbox", "停止 / stopping Prefect 服务器 / Prefect server"]
    assert printed.rstrip().endswith("已停止 / stopped")
    assert processes_of(up.home) == []
    assert _port_free(ports.prefect) and _port_free(ports.sandbox) and _port_free(ports.web)
