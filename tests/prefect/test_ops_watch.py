"""The stuck watch as ops meet it in the Prefect UI, on the session's real Prefect server: the markdown table (Beijing
times, case numbers as links, short reasons, details a link away), `beian.case.stuck` once per case and
`beian.case.unstuck` once per reason, rows cleared by the run that resolved them, an outside system down as one row
that clears in the delivery run it answers in, and a paused deployment flagged.

The flows run on the real clock; the applications are made on the virtual clock in September 2026, so every deadline
of theirs is long past ("due")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterTags,
)
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.types._datetime import now as prefect_now

from adapters.outside.db import Instance
from adapters.outside.settings import OUTSIDE_SYSTEMS
from tests.prefect.conftest import RECEIVED, SANDBOX_PORT, eventually
from tests.support.scenarios import apply_by_service, at, to_publicity_by_service
from workflows.flows import (
    STUCK_ARTIFACT_KEY,
    STUCK_EVENT,
    SWEEP_DEPLOYMENT,
    SWEEP_FLOW,
    UNSTUCK_EVENT,
    deliver_outbox,
    retry_stuck,
    sweep_timers,
    watch_stuck,
)
from workflows.ops_watch import DEPLOYMENTS_ARTIFACT_KEY, DETAILS_ARTIFACT_KEY
from workflows.service import Beian

SANDBOX = f"http://127.0.0.1:{SANDBOX_PORT}"
BEIJING_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}（北京时间）")


@pytest.fixture
def app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, up: Any) -> Iterator[Beian]:
    """A fresh application database of this test's own; the flows open it through BEIAN_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'beian.sqlite3'}"
    monkeypatch.setenv("BEIAN_DATABASE_URL", url)
    monkeypatch.setenv("BEIAN_SANDBOX_URL", SANDBOX)
    for system in OUTSIDE_SYSTEMS:  # tests/conftest.py switches them off; here they are the session's sandbox
        monkeypatch.delenv(f"BEIAN_{system.upper()}_URL", raising=False)
    httpx.post(f"{SANDBOX}/_sandbox/reset").raise_for_status()
    service = Beian(url)
    with at(RECEIVED):
        service.init()
    yield service
    service.close()


def artifact(client: Any, key: str, flow_run_id: UUID) -> Any:
    """The version of the artifact `key` that flow run published (the last one, if it published several)."""
    found = client.read_artifacts(artifact_filter=ArtifactFilter(
        key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    assert found, f"flow run {flow_run_id} published no {key}"
    return max(found, key=lambda a: a.created)


def events(client: Any, name: str, resource_id: str, since: Any) -> list[Any]:
    page = client.read_events(filter=EventFilter(occurred=EventOccurredFilter(since=since),
                                                 event=EventNameFilter(name=[name]),
                                                 resource=EventResourceFilter(id=[resource_id])), limit=50)
    return list(page.events)


def case_rows(report: dict[str, Any]) -> set[tuple[str, str]]:
    """(case, reason) of the report's rows of single cases (the session's deployments may add rows of their own)."""
    return {(item["case_id"], item["reason_code"]) for item in report["stuck"] if item["case_id"]}


def task_run_names(client: Any, flow_run_id: UUID) -> set[str]:
    runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name for run in runs}


def test_the_table_fits_in_beijing_time_and_rows_clear_per_reason_as_the_sweep_resolves_them(
        app: Beian, prefect_client: Any) -> None:
    started = prefect_now("UTC")
    waiting = apply_by_service(app)  # its acceptance is overdue and its escalation timer late
    published = apply_by_service(app)
    to_publicity_by_service(app, published)  # only its end-of-publicity timer is late
    assert deliver_outbox()["failed"] == 0  # the publicity notice is out: a pending one would be late too

    first = watch_stuck(return_state=True)
    assert first.is_completed()
    assert case_rows(first.result()) == {(waiting, "task_overdue"), (waiting, "timer_late"),
                                         (published, "timer_late")}
    table = artifact(prefect_client, STUCK_ARTIFACT_KEY, first.state_details.flow_run_id)
    assert table.type == "markdown"
    markdown = table.data
    assert "共 2 个案件卡住" in markdown and BEIJING_TIME.search(markdown)
    header = next(line for line in markdown.splitlines() if line.startswith("| 案件"))
    assert "开始（北京时间）" in header and "链接" not in header  # the case number is the link
    row = next(line for line in markdown.splitlines() if f"[{published}](" in line)
    assert f"/cases/{published})" in row and "定时事件延误" in row and "[详情" in row
    assert "http" not in row.split("|")[2].split("](")[0]  # no bare address widens the reason column
    details = artifact(prefect_client, DETAILS_ARTIFACT_KEY, first.state_details.flow_run_id).data
    assert published in details and "请检查计时扫描是否在运行" in details and BEIJING_TIME.search(details)

    def stuck_events(case: str) -> list[Any]:
        return events(prefect_client, STUCK_EVENT, f"beian.case.{case}", started)

    eventually(lambda: len(stuck_events(waiting)) == 1 and len(stuck_events(published)) == 1,
               what="one stuck event per case")
    [announced] = stuck_events(waiting)
    assert {r["reason_code"] for r in announced.payload["reasons"]} == {"task_overdue", "timer_late"}

    # The sweep ends the publicity and fires the other case's escalation: it clears those rows itself, at once,
    # with one unstuck event per reason gone, while the overdue task keeps its row.
    sweep = sweep_timers(return_state=True)
    assert sweep.is_completed()
    rows = artifact(prefect_client, STUCK_ARTIFACT_KEY, sweep.state_details.flow_run_id).data
    assert f"[{published}](" not in rows and f"[{waiting}](" in rows

    def unstuck(case: str) -> list[str]:
        return [e.resource["beian.reason"] for e in events(prefect_client, UNSTUCK_EVENT, f"beian.case.{case}",
                                                           started)]

    eventually(lambda: unstuck(published) == ["timer_late"] and unstuck(waiting) == ["timer_late"],
               what="one unstuck event per reason that went away")
    second = watch_stuck(return_state=True)
    assert case_rows(second.result()) == {(waiting, "task_overdue")}
    assert second.result()["cleared"] == [] and second.result()["newly_stuck"] == []
    assert len(stuck_events(published)) == 1 and unstuck(published) == ["timer_late"]  # nothing announced twice


def test_an_outside_system_down_is_one_row_and_its_deliveries_go_out_in_the_run_it_answers(
        app: Beian, prefect_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEIAN_OUTSIDE_DOWN_MINUTES", "0")  # the tests cannot wait ten minutes
    monkeypatch.setenv("BEIAN_DELIVERY_BACKOFF", "3600")  # what would otherwise keep the deliveries waiting
    started = prefect_now("UTC")
    httpx.post(f"{SANDBOX}/_sandbox/mode", json={"system": "notice_website", "mode": "fail", "status": 503}
               ).raise_for_status()
    cases = [apply_by_service(app), apply_by_service(app)]
    for case in cases:
        to_publicity_by_service(app, case)  # each queues its publicity notice for the notice website
    assert deliver_outbox(return_state=True).is_failed()  # the first failures are red
    # Taken for down now: the next run sends it one probe, which fails. That is not news: the run stays green and
    # says so, and the deployment is not flagged as failing for the system's sake.
    again = deliver_outbox(return_state=True)
    assert again.is_completed() and again.message == "公示公告网站仍不可用，等待它的投递下次运行再探测"
    assert "探测 公示公告网站" in task_run_names(prefect_client, again.state_details.flow_run_id)

    watch = watch_stuck(return_state=True)
    down = [item for item in watch.result()["stuck"] if item["reason_code"] == "system_down"]
    assert [(item["waiting_on"], sorted(item["cases"])) for item in down] == [("公示公告网站", sorted(cases))]
    assert not [item for item in watch.result()["stuck"] if item["reason_code"].startswith("delivery_")]
    markdown = artifact(prefect_client, STUCK_ARTIFACT_KEY, watch.state_details.flow_run_id).data
    assert "外部系统不可用" in markdown and all(f"[{case}](" in markdown for case in cases)

    httpx.post(f"{SANDBOX}/_sandbox/mode", json={"system": "notice_website", "mode": "ok"}).raise_for_status()
    back = deliver_outbox(return_state=True)
    assert back.is_completed(), back.message
    assert back.result()["delivered"] == 2  # the probe and the one it let through, in the same run
    assert "探测 公示公告网站" in task_run_names(prefect_client, back.state_details.flow_run_id)
    received = httpx.get(f"{SANDBOX}/_sandbox/received", params={"system": "notice_website"}).json()
    assert len(received) == 2 and len({r["key"] for r in received}) == 2
    assert deliver_outbox()["delivered"] == 0  # nothing is sent twice
    # The delivery run cleared the system's row itself.
    rows = artifact(prefect_client, STUCK_ARTIFACT_KEY, back.state_details.flow_run_id).data
    assert "外部系统不可用" not in rows
    eventually(lambda: events(prefect_client, UNSTUCK_EVENT, "beian.system.notice_website", started),
               what="the system's unstuck event")


def test_a_paused_sweep_schedule_is_flagged_in_the_stuck_table_and_the_deployments_artifact(
        app: Beian, prefect_client: Any) -> None:
    started = prefect_now("UTC")
    deployment = prefect_client.read_deployment_by_name(f"{SWEEP_FLOW}/{SWEEP_DEPLOYMENT}")
    prefect_client.pause_deployment(deployment.id)
    try:
        watch = watch_stuck(return_state=True)
        paused = [item for item in watch.result()["stuck"] if item["reason_code"] == "deployment_paused"]
        assert [item["reason_key"] for item in paused] == [f"deployment_paused:{SWEEP_DEPLOYMENT}"]
        assert paused[0]["link"].endswith(f"/deployments/deployment/{deployment.id}")
        table = artifact(prefect_client, STUCK_ARTIFACT_KEY, watch.state_details.flow_run_id).data
        assert "后台部署已暂停" in table and f"[{SWEEP_DEPLOYMENT}](" in table
        details = artifact(prefect_client, DETAILS_ARTIFACT_KEY, watch.state_details.flow_run_id).data
        assert "定时事件（受理、公示、有效期等期限）不会触发" in details  # what stops while it is paused
        health = artifact(prefect_client, DEPLOYMENTS_ARTIFACT_KEY, watch.state_details.flow_run_id).data
        sweep_line = next(line for line in health.splitlines() if f"[{SWEEP_DEPLOYMENT}](" in line)
        assert "已暂停" in sweep_line and BEIJING_TIME.search(health)
        eventually(lambda: events(prefect_client, STUCK_EVENT, f"beian.deployment.{SWEEP_DEPLOYMENT}", started),
                   what="the deployment's stuck event")
    finally:
        prefect_client.resume_deployment(deployment.id)
    again = watch_stuck(return_state=True)
    assert not [item for item in again.result()["stuck"] if item["reason_code"] == "deployment_paused"]
    assert f"/deployment_paused:{SWEEP_DEPLOYMENT}" in again.result()["cleared"]


def test_batch_retry_retries_the_cases_of_one_reason_in_tagged_task_runs(app: Beian, prefect_client: Any) -> None:
    broken, also_broken, fine = (apply_by_service(app) for _ in range(3))
    with app.uow() as uow:
        for case in (broken, also_broken):
            instance = uow.session.query(Instance).filter_by(case_id=case).one()
            instance.error, instance.error_at, instance.error_count = "数据库错误：连接中断", prefect_now("UTC"), 3
        uow.commit()

    state = retry_stuck(reason="instance_error", return_state=True)
    assert state.is_completed(), state.message
    assert sorted(state.result()["cases"]) == sorted([broken, also_broken])
    flow_run_id = state.state_details.flow_run_id
    runs = prefect_client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    assert {run.name for run in runs} == {f"重试 {broken}", f"重试 {also_broken}"}  # each once, not {fine}
    for run in runs:
        assert {"流程:filing_application", "版本:1", "环节:acceptance"} <= set(run.tags), run.tags
    # Prefect's own filter finds them by process, version and step.
    found = prefect_client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        task_run_filter=TaskRunFilter(tags=TaskRunFilterTags(all_=["流程:filing_application", "环节:acceptance"])))
    assert len(found) == 2

    refused = retry_stuck(return_state=True)  # no criterion: said in words, nothing retried
    assert refused.is_failed() and "至少一项" in (refused.message or "")

    sweep = sweep_timers(return_state=True)  # the sweep's task runs carry the step of the timer they fire
    sweep_runs = prefect_client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[sweep.state_details.flow_run_id])))
    assert any(tag.startswith("环节:") for run in sweep_runs for tag in run.tags)
    assert fine in {run.name.removeprefix("定时 ") for run in sweep_runs}
