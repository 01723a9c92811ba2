"""Whole filing scenarios through the real command line, a real SQLite file and the real engine, on the virtual
clock. Dates are chosen around the official 2026 holidays: Mid-Autumn 25–27 September, National Day 1–7 October,
with Sunday 20 September and Saturday 10 October worked."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Beian
from tests.support.scenarios import ACCEPTANCE_DUE, RECEIVED, actions, apply, complete, task, to_publicity


def test_happy_path_to_receipt(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    shown = beian.json("show", case)
    assert shown["status"] == "applied"

    acceptance = task(beian, case, "acceptance", RECEIVED)
    assert acceptance["due"] == ACCEPTANCE_DUE
    assert acceptance["provisional"] is False and acceptance["overdue"] is False
    assert acceptance["role"] == "intake"

    to_publicity(beian, case)
    shown = beian.json("show", case, now="2026-10-12T09:00:00+08:00")
    assert shown["status"] == "publicity"
    publicity = [d for d in shown["deadlines"] if d["kind"] == "timer"]
    # Published Monday 12 October: five working days 12–16 October, over at the end of Friday.
    assert [d["due"] for d in publicity] == ["2026-10-17T00:00:00+08:00"]

    assert beian.json("sweep", now="2026-10-16T23:59:00+08:00")["fired"] == []
    swept = beian.json("sweep", now="2026-10-17T00:00:01+08:00")
    assert [f["case"] for f in swept["fired"]] == [case]

    shown = beian.json("show", case)
    assert shown["status"] == "filed"
    assert shown["filing_number"]
    assert (shown["valid_from"], shown["valid_until"]) == ("2026-10-17", "2029-10-16")
    receipt = [d for d in shown["documents"] if d["kind"] == "filing_receipt"]
    # The receipt has its own document number from the issuing centre's register; it states the filing number.
    assert len(receipt) == 1 and receipt[0]["number"] == "成都技鉴备〔2026〕1号"
    html = beian("document", str(receipt[0]["id"]), as_json=False).out
    assert shown["filing_number"] in html and "2029年10月16日" in html and application["institution"]["name"] in html

    history = actions(beian, case)
    for expected in ("application_received", "prechecks_passed", "task_completed", "status_changed",
                     "publicity_published", "timer_fired", "filing_issued", "document_issued", "process_completed"):
        assert expected in history, expected
    assert beian.json("tasks", "--case", case) == []


def test_rejection_at_acceptance(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    complete(beian, case, "acceptance", {"decision": "reject", "reasons": "不属于本级受理范围"},
             "2026-09-25T10:00:00+08:00")
    shown = beian.json("show", case)
    assert shown["status"] == "not_filed" and shown["filing_number"] is None
    assert [d["kind"] for d in shown["documents"]] == ["rejection_notice"]
    assert "不属于本级受理范围" in beian("document", str(shown["documents"][0]["id"]), as_json=False).out
    assert beian.json("tasks", "--case", case) == []
    assert beian.json("show", case)["waiting_for"] == []


def test_supplementation_restarts_the_clock(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    complete(beian, case, "acceptance", {"decision": "supplement", "reasons": "缺少场地产权证明"},
             "2026-09-28T10:00:00+08:00")
    assert beian.json("tasks", "--case", case) == []
    assert [d["kind"] for d in beian.json("show", case)["documents"]] == ["supplement_notice"]

    # Resubmitted on Friday 9 October: counting restarts on Saturday 10 October (a swapped working day).
    beian.json("send", "resubmission", "--case", case, now="2026-10-09T15:00:00+08:00")
    again = task(beian, case, "acceptance", "2026-10-09T15:00:00+08:00")
    assert again["due"] == "2026-10-23T00:00:00+08:00"
    # The old deadline passing does nothing: the clock restarted.
    assert beian.json("sweep", now="2026-10-16T09:00:00+08:00")["fired"] == []
    assert task(beian, case, "acceptance", "2026-10-16T09:00:00+08:00")["overdue"] is False
    complete(beian, case, "acceptance", {"decision": "accept"}, "2026-10-12T10:00:00+08:00")
    assert beian.json("show", case)["status"] == "under_review"


def test_acceptance_deadline_passed_is_escalated_not_decided(beian: Beian, write_json: Any,
                                                             application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    assert task(beian, case, "acceptance", "2026-10-15T23:00:00+08:00")["overdue"] is False
    swept = beian.json("sweep", now="2026-10-16T08:30:00+08:00")
    assert [f["case"] for f in swept["fired"]] == [case]

    still_open = task(beian, case, "acceptance", "2026-10-16T08:30:00+08:00")
    assert still_open["overdue"] is True
    shown = beian.json("show", case, now="2026-10-16T08:30:00+08:00")
    assert shown["status"] == "applied"
    assert "escalated" in [h["action"] for h in shown["history"]]
    # Escalation happens once, however often the sweep runs.
    assert beian.json("sweep", now="2026-10-19T08:30:00+08:00")["fired"] == []
    assert actions(beian, case).count("escalated") == 1
    # The clerk can still decide, late.
    complete(beian, case, "acceptance", {"decision": "accept"}, "2026-10-19T09:00:00+08:00")
    assert beian.json("show", case)["status"] == "under_review"


def test_objection_upheld_means_not_filed(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    to_publicity(beian, case)
    beian.json("send", "objection", "--case", case, "--data",
               json.dumps({"objector": "张三", "content": "考评人员资格证书系伪造"}), now="2026-10-13T10:00:00+08:00")
    review = task(beian, case, "objection_review", "2026-10-13T10:00:00+08:00")
    assert review["role"] == "supervision"
    complete(beian, case, "objection_review", {"upheld": True, "opinion": "经核查异议属实"},
             "2026-10-15T10:00:00+08:00")
    shown = beian.json("show", case)
    assert shown["status"] == "not_filed" and shown["filing_number"] is None
    assert "not_filed_notice" in [d["kind"] for d in shown["documents"]]
    assert beian.json("sweep", now="2026-10-20T00:00:00+08:00")["fired"] == []


def test_objection_dismissed_publicity_runs_on(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    to_publicity(beian, case)
    beian.json("send", "objection", "--case", case, "--data", json.dumps({"objector": "李四", "content": "收费过高"}),
               now="2026-10-13T10:00:00+08:00")
    complete(beian, case, "objection_review", {"upheld": False, "opinion": "异议不成立"}, "2026-10-14T10:00:00+08:00")
    shown = beian.json("show", case, now="2026-10-14T10:00:00+08:00")
    assert shown["status"] == "publicity"
    # The publicity keeps its original end.
    assert [d["due"] for d in shown["deadlines"]] == ["2026-10-17T00:00:00+08:00"]
    beian.json("sweep", now="2026-10-17T00:00:01+08:00")
    assert beian.json("show", case)["status"] == "filed"


def test_objection_dismissed_after_publicity_ended_files_at_once(beian: Beian, write_json: Any,
                                                                 application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    to_publicity(beian, case)
    beian.json("send", "objection", "--case", case, "--data", json.dumps({"objector": "王五", "content": "场地不符"}),
               now="2026-10-16T10:00:00+08:00")
    complete(beian, case, "objection_review", {"upheld": False, "opinion": "经核查不属实"}, "2026-10-20T10:00:00+08:00")
    shown = beian.json("show", case)
    assert shown["status"] == "filed"
    assert shown["valid_from"] == "2026-10-20"


def test_provincial_path_skips_higher_review(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    application["authority_level"] = "provincial"
    case = apply(beian, write_json, application)
    complete(beian, case, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    complete(beian, case, "expert_review", {"result": "pass"}, "2026-09-29T10:00:00+08:00")
    complete(beian, case, "site_inspection", {"result": "pass"}, "2026-09-30T10:00:00+08:00")
    shown = beian.json("show", case)
    assert shown["status"] == "publicity"
    assert "higher_review" not in json.dumps(shown["history"])
    # Published on 30 September, the last working day before the holidays: 30 Sep, 8, 9, 10 (Sat, worked), 12 Oct.
    assert [d["due"] for d in shown["deadlines"]] == ["2026-10-13T00:00:00+08:00"]


def test_review_failure_issues_a_not_filed_notice(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    complete(beian, case, "acceptance", {"decision": "accept"}, "2026-09-28T10:00:00+08:00")
    complete(beian, case, "expert_review", {"result": "fail", "opinion": "质量管理制度不健全"},
             "2026-09-29T10:00:00+08:00")
    shown = beian.json("show", case)
    assert shown["status"] == "not_filed"
    html = beian("document", str(shown["documents"][0]["id"]), as_json=False).out
    assert "质量管理制度不健全" in html


def test_a_task_and_its_escalation_timer_show_one_deadline(beian: Beian, write_json: Any,
                                                           application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    deadlines = beian.json("show", case)["deadlines"]
    assert [(d["name"], d["due"]) for d in deadlines] == [("受理审查", ACCEPTANCE_DUE)]
    assert "10个工作日" in deadlines[0]["explanation"]
