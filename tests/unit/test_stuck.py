"""The stuck watch on real cases: applications made through the service layer on the virtual clock, then each cause
of being stuck found with what it waits on, since when and by how many working days, remembered once and cleared
when it goes away.

Dates are around the official 2026 holidays: Mid-Autumn 25–27 September, National Day 1–7 October, with Saturday
10 October worked. An application received on Thursday 24 September must be decided by the end of 15 October."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from adapters.outside.db import HumanTask, MessageWait, OutboxMessage, StuckCase
from adapters.outside.settings import Settings
from tasks.calendar import SHANGHAI, WorkingDayCalendar
from tests.support.scenarios import apply_by_service, at, open_task
from workflows.service import Beian
from workflows.stuck import StuckItem, find_stuck, record_stuck, stuck_report, working_days_overdue

ROOT = Path(__file__).resolve().parents[2]
RECEIVED = "2026-09-24T10:00:00+08:00"  # a Thursday
ACCEPTANCE_DUE = datetime.fromisoformat("2026-10-16T00:00:00+08:00")  # the end of Thursday 15 October
SETTINGS = Settings(sweep_interval_seconds=60, sweep_max_attempts=3, web_url="https://beian.example.cn")


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    with at(RECEIVED):
        service.init()
    yield service
    service.close()


def delivered(app: Beian, case: str) -> None:
    """What the delivery deployment would have done by now: every outbox row of the case sent."""
    with app.uow() as uow:
        for row in uow.session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case)):
            row.status, row.attempts = "delivered", 1
        uow.commit()


def stuck(app: Beian, instant: str, settings: Settings = SETTINGS) -> list[StuckItem]:
    with app.uow() as uow:
        return find_stuck(uow, settings, datetime.fromisoformat(instant))


def record(app: Beian, instant: str, settings: Settings = SETTINGS) -> tuple[list[StuckItem], list[str]]:
    now = datetime.fromisoformat(instant)
    with app.uow() as uow:
        result = record_stuck(uow, find_stuck(uow, settings, now), now)
        uow.commit()
    return result


def of(items: list[StuckItem], case: str, code: str) -> list[StuckItem]:
    return [item for item in items if item.case_id == case and item.reason_code == code]


# --- counting overdue working days ------------------------------------------------------------------------------

@pytest.mark.parametrize(("due", "now", "expected"), [
    ("2026-10-16T00:00:00+08:00", "2026-10-16T23:59:00+08:00", 0),  # Friday not over yet
    ("2026-10-16T00:00:00+08:00", "2026-10-17T00:00:00+08:00", 1),  # Friday over
    ("2026-10-16T00:00:00+08:00", "2026-10-19T09:00:00+08:00", 1),  # the weekend does not count
    ("2026-10-16T00:00:00+08:00", "2026-10-21T10:00:00+08:00", 3),  # Fri, Mon, Tue
    ("2026-09-30T00:00:00+08:00", "2026-10-09T00:00:00+08:00", 2),  # 30 Sep, (1–7 Oct off), 8 Oct
    ("2026-10-10T00:00:00+08:00", "2026-10-11T00:00:00+08:00", 1),  # Saturday 10 October is worked (调休)
    ("2026-10-12T10:00:00+08:00", "2026-10-14T10:00:00+08:00", 1),  # a partial first day does not count
    ("2026-10-12T02:00:00+00:00", "2026-10-14T16:00:00+00:00", 2),  # Shanghai days: 12 Oct 10:00 to 15 Oct 00:00
    ("2026-10-16T00:00:00+08:00", "2026-10-15T10:00:00+08:00", 0),  # not due yet
])
def test_overdue_working_days_follow_the_official_calendar(due: str, now: str, expected: int) -> None:
    assert working_days_overdue(WorkingDayCalendar(), datetime.fromisoformat(due),
                                datetime.fromisoformat(now)) == expected


# --- the causes ---------------------------------------------------------------------------------------------------

def test_overdue_task_and_late_timer(app: Beian) -> None:
    case = apply_by_service(app)
    task_id = open_task(app, case, "acceptance")["id"]

    # Just past the deadline: the task is overdue (less than a working day); the escalation timer due at the same
    # instant is not late yet, within two sweep intervals.
    items = stuck(app, "2026-10-16T00:01:59+08:00")
    assert [(i.reason_code, i.reason_key) for i in items] == [("task_overdue", f"task_overdue:{task_id}")]
    overdue = items[0]
    assert overdue.waiting_on == "受理审查（受理人员）"
    assert overdue.since == ACCEPTANCE_DUE and overdue.due_at == ACCEPTANCE_DUE
    assert overdue.overdue_working_days == 0
    assert "2026年10月15日到期" in overdue.reason and "川人社办发〔2019〕94号" in overdue.reason
    assert "不足 1 个工作日" in overdue.reason
    assert (overdue.institution, overdue.process, overdue.region) == ("成都锦城精工机械制造有限公司", "备案申请",
                                                                      "510104")
    assert overdue.link == f"https://beian.example.cn/cases/{case}" and overdue.provisional is False

    # Twelve minutes later nobody has swept: the timer is late.
    late = of(stuck(app, "2026-10-16T00:12:00+08:00"), case, "timer_late")
    assert len(late) == 1
    assert late[0].waiting_on == "定时事件“受理期限届满”"
    assert late[0].since == ACCEPTANCE_DUE and late[0].reason_key.startswith("timer_late:")
    assert "2026年10月16日 00:00" in late[0].reason and "已延误 12 分钟" in late[0].reason
    assert "计时扫描" in late[0].reason
    # A longer sweep interval tolerates the same delay.
    assert not of(stuck(app, "2026-10-16T00:12:00+08:00", Settings(sweep_interval_seconds=600)), case, "timer_late")

    # Once swept, the timer has fired (the case is escalated) but the task stays overdue, counted in working days.
    with at("2026-10-16T08:30:00+08:00"):
        assert [f["case"] for f in app.operations.sweep()["fired"]] == [case]
    items = stuck(app, "2026-10-21T10:00:00+08:00")
    assert [(i.case_id, i.reason_code) for i in items] == [(case, "task_overdue")]
    assert items[0].overdue_working_days == 3 and "已超期 3 个工作日" in items[0].reason


def test_a_case_waiting_for_a_reply_longer_than_expected(app: Beian) -> None:
    case = apply_by_service(app)
    with at("2026-09-28T10:00:00+08:00"):
        app.cases.complete(open_task(app, case, "acceptance")["id"],
                           {"decision": "supplement", "reasons": "缺少场地产权证明"})
    delivered(app, case)
    with app.uow() as uow:
        wait_id = uow.session.scalars(select(MessageWait.id).where(MessageWait.case_id == case)).one()

    # Five working days after Monday 28 September: 29, 30 Sep, 8, 9 Oct and Saturday 10 October (worked).
    five_days = Settings(expected_reply_days={"resubmission": 5}, web_url=SETTINGS.web_url)
    assert stuck(app, "2026-10-10T23:59:00+08:00", five_days) == []
    items = stuck(app, "2026-10-15T10:00:00+08:00", five_days)
    assert len(items) == 1
    reply = items[0]
    assert (reply.reason_code, reply.reason_key) == ("reply_overdue", f"reply_overdue:{wait_id}")
    assert reply.waiting_on == "补正材料重新提交"
    assert reply.since == datetime.fromisoformat("2026-09-28T10:00:00+08:00")
    assert reply.due_at == datetime.fromisoformat("2026-10-11T00:00:00+08:00")
    assert reply.overdue_working_days == 3  # 12, 13, 14 October
    assert "自2026年9月28日起等待" in reply.reason and "5 个工作日内（至2026年10月10日）收到" in reply.reason

    # The default expects a resubmission within 30 working days; a message without a setting is not watched.
    assert stuck(app, "2026-10-15T10:00:00+08:00") == []
    assert stuck(app, "2027-06-01T10:00:00+08:00", Settings(expected_reply_days={})) == []

    # The reply arrives: nothing is stuck any more.
    with at("2026-10-15T11:00:00+08:00"):
        app.cases.send("resubmission", case)
    assert stuck(app, "2026-10-15T12:00:00+08:00", five_days) == []


def test_a_case_in_error(app: Beian) -> None:
    case = apply_by_service(app)
    failed_at = datetime.fromisoformat("2026-10-16T00:01:00+08:00")
    message = f"案件 {case} 的流程执行出错（环节 受理期限届满）：division by zero；案件保持原状态"
    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None
        instance.error, instance.error_at, instance.error_count = message, failed_at, 1
        uow.commit()

    items = stuck(app, "2026-10-16T00:30:00+08:00")
    errors = of(items, case, "instance_error")
    assert len(errors) == 1
    assert errors[0].reason_key == "instance_error" and errors[0].since == failed_at
    assert errors[0].waiting_on == "计时扫描重试"
    assert errors[0].reason.startswith(f"{message}（已失败 1 次")  # the engine's message names the case already
    assert "将自动重试" in errors[0].reason
    # The due timer is not reported as late as well: the error is why it has not fired.
    assert not of(items, case, "timer_late")
    assert of(items, case, "task_overdue")

    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None
        instance.error_count = SETTINGS.sweep_max_attempts
        uow.commit()
    error = of(stuck(app, "2026-10-20T00:30:00+08:00"), case, "instance_error")[0]
    assert error.waiting_on == "人工处理"
    assert "已连续失败 3 次" in error.reason and "不再重试" in error.reason and f"beian retry {case}" in error.reason
    assert error.overdue_working_days == 1  # failed at 00:01 on Friday 16th: the 16th is partial, the 19th whole


def test_a_delivery_that_used_up_its_retries(app: Beian) -> None:
    case = apply_by_service(app)
    with at("2026-09-28T10:00:00+08:00"):
        app.cases.complete(open_task(app, case, "acceptance")["id"],
                           {"decision": "supplement", "reasons": "缺少场地产权证明"})
    with app.uow() as uow:
        delivery = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case)).first()
        assert delivery is not None, "the supplement notice is sent to the institution through the outbox"
        delivery_id = delivery.id
        # Being retried with backoff: the third attempt failed, the fourth is due at 10:00.
        delivery.attempts, delivery.next_attempt_at = 3, datetime.fromisoformat("2026-10-15T10:00:00+08:00")
        uow.commit()
    assert stuck(app, "2026-10-15T10:01:59+08:00") == []  # within two delivery intervals: not stuck
    (late,) = stuck(app, "2026-10-15T10:30:00+08:00")
    assert (late.reason_code, late.reason_key) == ("delivery_late", f"delivery_late:{delivery_id}")
    assert late.since == late.due_at == datetime.fromisoformat("2026-10-15T10:00:00+08:00")
    assert late.reason == ("向短信/电子邮件通知网关发送“通知机构：补正材料通知书”"
                           "应于2026年10月15日 10:00（北京时间）第 4 次发出，"
                           "已延误 30 分钟，请检查投递部署是否在运行")
    assert stuck(app, "2026-10-15T10:30:00+08:00", Settings(delivery_interval_seconds=1800)) == []

    with app.uow() as uow:
        delivery = uow.session.get_one(OutboxMessage, delivery_id)
        delivery.status, delivery.attempts, delivery.last_error = "failed", 8, "HTTP 503 服务暂不可用"
        delivery.system = "national_registry"
        uow.commit()

    items = stuck(app, "2026-10-15T10:00:00+08:00")
    assert len(items) == 1
    failed = items[0]
    assert (failed.reason_code, failed.reason_key) == ("delivery_failed", f"delivery_failed:{delivery_id}")
    assert failed.waiting_on == "全国评价机构备案信息库"
    assert failed.since == datetime.fromisoformat("2026-09-28T10:00:00+08:00")
    assert failed.reason.startswith("向全国评价机构备案信息库报送")
    assert "失败 8 次" in failed.reason and "HTTP 503 服务暂不可用" in failed.reason
    assert failed.overdue_working_days == 8  # 28 Sep is partial; 29, 30 Sep, 8, 9, 10 (worked Saturday), 12–14 Oct
    assert failed.institution == "成都锦城精工机械制造有限公司"


def test_finished_cases_are_not_watched_for_tasks(app: Beian) -> None:
    case = apply_by_service(app)
    assert of(stuck(app, "2026-10-21T10:00:00+08:00"), case, "task_overdue")
    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None
        instance.completed_at = datetime.fromisoformat("2026-10-01T10:00:00+08:00")
        uow.commit()
    assert stuck(app, "2026-10-21T10:00:00+08:00") == []


def test_provisional_deadline_in_a_year_without_its_arrangement(app: Beian) -> None:
    # Received 24 December 2026: the ten working days run into 2027, whose official arrangement is not known.
    case = apply_by_service(app, None, "2026-12-24T10:00:00+08:00")
    with app.uow() as uow:
        task = uow.session.scalars(select(HumanTask).where(HumanTask.case_id == case)).one()
        assert task.provisional and task.due_at is not None
        due = task.due_at
    item = of(stuck(app, "2027-02-01T10:00:00+08:00"), case, "task_overdue")[0]
    assert item.provisional is True and item.due_at == due
    assert "暂定" in item.reason


# --- ordering, memory and the report -----------------------------------------------------------------------------

def test_most_overdue_first(app: Beian) -> None:
    early = apply_by_service(app)
    later = apply_by_service(app, None, "2026-10-12T10:00:00+08:00")  # due at the end of 26 October
    with at("2026-10-16T08:30:00+08:00"):
        app.operations.sweep()
    items = stuck(app, "2026-10-28T10:00:00+08:00")
    assert [(i.case_id, i.overdue_working_days) for i in items if i.reason_code == "task_overdue"] == [
        (early, 8), (later, 1)]
    days = [i.overdue_working_days for i in items]
    assert days == sorted(days, reverse=True)


def test_record_reports_newly_stuck_once_and_clears_what_was_resolved(app: Beian) -> None:
    case = apply_by_service(app)
    with at("2026-10-16T08:30:00+08:00"):
        app.operations.sweep()
    task_id = open_task(app, case, "acceptance")["id"]

    newly, cleared = record(app, "2026-10-19T10:00:00+08:00")
    assert [(i.case_id, i.reason_key) for i in newly] == [(case, f"task_overdue:{task_id}")] and cleared == []
    with app.uow() as uow:
        (row,) = uow.session.scalars(select(StuckCase))
        assert row.first_seen == datetime.fromisoformat("2026-10-19T10:00:00+08:00")
        assert row.since == ACCEPTANCE_DUE and row.detail["overdue_working_days"] == 1

    # Still stuck a day later: not new again, first seen unchanged, the detail follows.
    assert record(app, "2026-10-20T10:00:00+08:00") == ([], [])
    with app.uow() as uow:
        (row,) = uow.session.scalars(select(StuckCase))
        assert row.first_seen == datetime.fromisoformat("2026-10-19T10:00:00+08:00")
        assert row.detail["overdue_working_days"] == 2

    # The clerk decides: the overdue task is gone, and with it the stuck row.
    with at("2026-10-20T11:00:00+08:00"):
        app.cases.complete(task_id, {"decision": "accept"})
    newly, cleared = record(app, "2026-10-20T12:00:00+08:00")
    assert newly == [] and cleared == [f"{case}/task_overdue:{task_id}"]
    with app.uow() as uow:
        assert list(uow.session.scalars(select(StuckCase))) == []


def test_stuck_report(app: Beian) -> None:
    first, second = apply_by_service(app), apply_by_service(app)
    with app.uow() as uow:
        instance = uow.repo.instance(second)
        assert instance is not None
        instance.error, instance.error_at = "数据库错误：连接中断", datetime.fromisoformat("2026-10-16T00:10:00+08:00")
        instance.error_count = 3
        uow.commit()

    with at("2026-10-16T00:30:00+08:00"):
        report = stuck_report(app, SETTINGS)
    json.dumps(report, ensure_ascii=False)  # JSON-safe, for the artifact and the event
    assert report["now"] == "2026-10-16T00:30:00+08:00"
    assert {(s["case_id"], s["reason_code"]) for s in report["stuck"]} == {
        (first, "task_overdue"), (first, "timer_late"), (second, "task_overdue"), (second, "instance_error")}
    assert len(report["newly_stuck"]) == 4 and report["cleared"] == []
    assert report["markdown_summary"] == "共 2 个案件卡住：法定期限超期 2，定时事件延误 1，流程出错 1（本次新增 4 项）"
    error = next(s for s in report["stuck"] if s["reason_code"] == "instance_error")
    assert error["reason"].startswith("流程执行出错：数据库错误：连接中断（已连续失败 3 次")
    assert error["since"] == "2026-10-16T00:10:00+08:00" and error["waiting_on"] == "人工处理"
    entry = next(s for s in report["stuck"] if s["reason_code"] == "timer_late")
    assert entry["since"] == "2026-10-16T00:00:00+08:00" and entry["reason_label"] == "定时事件延误"

    with at("2026-10-16T08:30:00+08:00"):
        app.operations.sweep(max_attempts=SETTINGS.sweep_max_attempts)  # the given-up case stays as it is
        again = stuck_report(app, SETTINGS)
    assert again["newly_stuck"] == []
    assert [c for c in again["cleared"] if c.startswith(f"{first}/timer_late:")] == again["cleared"]
    assert len(again["cleared"]) == 1
    assert again["markdown_summary"].endswith("（本次解除 1 项）")


def test_table_row_has_the_columns_ops_read(app: Beian) -> None:
    case = apply_by_service(app)
    (item,) = of(stuck(app, "2026-10-21T10:00:00+08:00"), case, "timer_late")
    row = item.to_row()
    assert list(row) == ["案件", "机构", "流程", "等待", "自何时（北京时间）", "超期(工作日)", "原因", "链接"]
    assert row["案件"] == case and row["自何时（北京时间）"] == "2026-10-16 00:00（北京时间）"
    assert row["超期(工作日)"] == 3 and row["原因"] == "定时事件已延误 5 天 10 小时，检查计时扫描"
    assert row["链接"] == f"https://beian.example.cn/cases/{case}"
    assert item.since.astimezone(SHANGHAI).isoformat() == item.to_dict()["since"]


def test_the_workflow_state_is_never_read(app: Beian) -> None:
    """The watch reads projections and a few instance columns: its cost does not include deserialising cases."""
    apply_by_service(app)
    statements: list[str] = []

    def remember(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(app.engine, "before_cursor_execute", remember)
    try:
        assert len(stuck(app, "2026-10-21T10:00:00+08:00")) == 2
    finally:
        event.remove(app.engine, "before_cursor_execute", remember)
    assert any("FROM human_tasks" in s for s in statements)
    assert not any("instances.state" in s for s in statements)
