"""Provisional deadlines in a year without official data, calendar loading, and bad input refused cleanly."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from adapters.outside.db import make_engine
from tests.conftest import Beian
from tests.support.scenarios import apply, task
from workflows.engine import load_calendar
from workflows.service import Beian as App

ARRANGEMENT_2027 = {
    "year": 2027,
    "source": "测试用 2027 年节假日安排（非官方）",
    "holidays": [
        {"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
        {"name": "春节", "from": "2027-02-05", "to": "2027-02-11"},
    ],
    "workdays": [{"name": "元旦", "date": "2027-01-09"}, {"name": "春节", "date": "2027-02-20"}],
}


def test_calendar_add(beian: Beian) -> None:
    result = beian.json("calendar", "add", "2026-09-30", "10")
    assert result["due"] == "2026-10-21T00:00:00+08:00" and result["provisional"] is False
    result = beian.json("calendar", "add", "2027-03-01", "5")
    assert result["provisional"] is True and "暂定" in result["explanation"]


def test_provisional_deadline_recomputed_when_the_year_is_loaded(beian: Beian, write_json: Any,
                                                                application: dict[str, Any]) -> None:
    # Received on Monday 28 December 2026: the 10 working days run into 2027, which chinesecalendar does not know.
    case = apply(beian, write_json, application, received="2026-12-28T10:00:00+08:00")
    before = task(beian, case, "acceptance", "2026-12-28T10:00:00+08:00")
    assert before["provisional"] is True
    # Statutory fallback: 29–31 Dec (3), 1 Jan off, 4–8 Jan (8), 11–12 Jan (10) → last day 12 January.
    assert before["due"] == "2027-01-13T00:00:00+08:00"

    loaded = beian.json("calendar", "load", write_json(ARRANGEMENT_2027, "2027.json"), now="2026-12-29T09:00:00+08:00")
    assert loaded["recomputed_cases"] == [case]

    after = task(beian, case, "acceptance", "2026-12-29T09:00:00+08:00")
    # With Saturday 9 January worked: 29–31 Dec (3), 4–8 Jan (8), 9 Jan (9), 11 Jan (10) → last day 11 January.
    assert after["provisional"] is False
    assert after["due"] == "2027-01-12T00:00:00+08:00"
    shown = beian.json("show", case, now="2026-12-29T09:00:00+08:00")
    assert {d["due"] for d in shown["deadlines"]} == {"2027-01-12T00:00:00+08:00"}
    assert "deadline_recomputed" in [h["action"] for h in shown["history"]]
    # The escalation timer was re-armed: it fires at the new due time, not the old one.
    assert beian.json("sweep", now="2027-01-11T23:59:00+08:00")["fired"] == []
    assert [f["case"] for f in beian.json("sweep", now="2027-01-12T00:00:01+08:00")["fired"]] == [case]
    assert task(beian, case, "acceptance", "2027-01-12T00:00:01+08:00")["overdue"] is True


def test_a_process_holding_the_calendar_sees_a_year_another_process_loads(beian: Beian) -> None:
    # Two applications on one database stand for two processes (the web server and a command): each holds the
    # calendar it read, and must notice when the other loads a year.
    server, command = App(beian.url), App(beian.url)
    with server.uow() as uow:
        held = load_calendar(uow)
    with server.uow() as uow:
        assert load_calendar(uow) is held  # nothing changed: not read again
    assert held.source(2027) != "loaded"
    command.calendar.load(ARRANGEMENT_2027)
    with server.uow() as uow:
        again = load_calendar(uow)
    assert again is not held and again.source(2027) == "loaded"
    assert again.is_working_day(date(2027, 1, 9))  # a Saturday worked instead of a New Year's day
    # Replacing the year (the same number of years) is noticed too.
    command.calendar.load({**ARRANGEMENT_2027, "workdays": [{"name": "春节", "date": "2027-02-20"}]})
    with server.uow() as uow:
        assert not load_calendar(uow).is_working_day(date(2027, 1, 9))


def test_bad_calendar_file_is_refused(beian: Beian, write_json: Any) -> None:
    bad = dict(ARRANGEMENT_2027, holidays=[{"name": "元旦", "from": "2027-13-01", "to": "2027-01-03"}])
    result = beian("calendar", "load", write_json(bad, "bad.json"), expect=4)
    assert "2027-13-01" in result.err and result.err.startswith("错误：")
    assert beian.json("calendar", "years") == []


def test_invalid_credit_code_is_refused(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    application["institution"]["credit_code"] = application["institution"]["credit_code"][:-1] + (
        "0" if application["institution"]["credit_code"][-1] != "0" else "1")
    result = beian("apply", write_json(application), expect=4)
    assert "校验" in result.err and len(result.err.strip().splitlines()) == 1
    assert beian.json("tasks") == []


def test_missing_fields_are_listed(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    del application["institution"]["name"]
    del application["occupations"]
    result = beian("apply", write_json(application), expect=4)
    assert "name" in result.err and "occupations" in result.err


def test_malformed_json_is_refused(beian: Beian, tmp_path: Any) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"institution": ', encoding="utf-8")
    result = beian("apply", str(path), expect=1)
    assert "不是有效的 JSON" in result.err


def test_wrong_form_values_change_nothing(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    acceptance = task(beian, case, "acceptance", "2026-09-25T10:00:00+08:00")
    history = beian.json("show", case)["history"]
    result = beian("complete", acceptance["id"], "--data", json.dumps({"decision": "maybe"}), expect=4)
    assert "decision" in result.err and "accept" in result.err
    result = beian("complete", acceptance["id"], "--data", json.dumps({"decision": "reject"}), expect=4)
    assert "reasons" in result.err
    assert beian.json("show", case)["history"] == history
    assert task(beian, case, "acceptance")["id"] == acceptance["id"]


def test_unknown_task_and_case(beian: Beian) -> None:
    result = beian("complete", "00000000-0000-0000-0000-000000000000", "--data", "{}", expect=3)
    assert "不存在" in result.err
    assert "不存在" in beian("show", "BA2026-99999", expect=3).err


def test_message_nobody_waits_for(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    history = beian.json("show", case)["history"]
    result = beian("send", "objection", "--case", case, "--data", json.dumps({"objector": "甲", "content": "乙"}),
                   expect=5)
    assert "当前不在等待" in result.err
    assert "未知的消息" in beian("send", "no_such_message", "--case", case, expect=4).err
    assert beian.json("show", case)["history"] == history


def test_audit_log_is_append_only(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    history = beian.json("show", case)["history"]
    # Straight to the database, past the application: the trigger (SQLite or PostgreSQL) must refuse.
    engine = make_engine(beian.url)
    try:
        for statement in ("UPDATE audit_log SET summary = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    assert beian.json("show", case)["history"] == history
