"""The life of a filing after its receipt, across years of virtual time, through the real command line.

The example institution (Sichuan, municipal path) is filed on 17 October 2026 and valid until 16 October 2029:
the renewal window opens on 16 July 2029, the second reminder is due 30 days before the last valid day
(16 September 2029) and the validity is over at 00:00 on 17 October 2029. Years after 2026 have no official
holiday arrangement loaded, so working-day deadlines there are provisional (statutory holidays only).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tasks.credit_code import check_character
from tests.conftest import Beian
from tests.support.scenarios import (
    EXPIRED,
    ILLEGAL,
    INVALID,
    SECOND_REMINDER,
    WINDOW_OPENS,
    apply,
    assert_each_status_change_once_with_article,
    complete,
    do,
    file_institution,
    history,
    send,
    status_changes,
)

# --- renewal ----------------------------------------------------------------------------------------------------


def test_renewal_in_time_gives_a_continuing_period(beian: Beian, write_json: Any,
                                                   application: dict[str, Any]) -> None:
    case, number = file_institution(beian, write_json, application)
    # Too early: the window opens three months before the last valid day.
    before = len(history(beian, number))
    err = send(beian, "renewal_application", number, {"summary": "申请续期"}, "2029-06-01T10:00:00+08:00",
               expect=ILLEGAL)
    assert "2029年7月16日" in err and "未作任何更改" in err
    assert len(history(beian, number)) == before

    beian.json("sweep", now=WINDOW_OPENS)
    shown = beian.json("show", number)
    assert shown["status"] == "renewal_window"
    assert [d["kind"] for d in shown["documents"]].count("renewal_reminder") == 1
    beian.json("sweep", now=SECOND_REMINDER)
    assert [d["kind"] for d in beian.json("show", number)["documents"]].count("renewal_reminder") == 2

    opened = send(beian, "renewal_application", number, {"summary": "申请续期"}, "2029-09-20T10:00:00+08:00")
    assert opened["process"] == "renewal"
    assert beian.json("show", number)["status"] == "renewal_review"
    # The validity watch is cancelled: nothing fires at expiry while the renewal is assessed.
    assert beian.json("sweep", now=EXPIRED)["fired"] == []
    assert beian.json("show", number)["status"] == "renewal_review"

    do(beian, number, "renewal_assessment", {"result": "pass", "opinion": "评价工作规范，续期"},
       "2029-10-20T10:00:00+08:00")
    shown = beian.json("show", case)
    assert shown["status"] == "filed"
    assert (shown["valid_from"], shown["valid_until"]) == ("2029-10-17", "2032-10-16")
    periods = shown["filing"]["periods"]
    assert [(p["valid_from"], p["valid_until"]) for p in periods] == [("2026-10-17", "2029-10-16"),
                                                                     ("2029-10-17", "2032-10-16")]
    assert "renewal_notice" in [d["kind"] for d in shown["documents"]]
    # A new watch for the new period: its window opens on 16 July 2032.
    timers = [w for w in shown["waiting_for"] if "timer" in w]
    assert [t["due"] for t in timers] == ["2032-07-16T00:00:00+08:00"]
    assert_each_status_change_once_with_article(beian, number)


def test_no_renewal_application_terminates_automatically_at_expiry(beian: Beian, write_json: Any,
                                                                   application: dict[str, Any]) -> None:
    case, number = file_institution(beian, write_json, application)
    assert beian.json("sweep", now="2029-10-16T23:59:00+08:00")["fired"] != []  # reminders only
    assert beian.json("show", number)["status"] == "renewal_window"
    beian.json("sweep", now=EXPIRED)
    shown = beian.json("show", number)
    # Expired, as the public and the institution must read it, while the automatic termination (which suspends its
    # evaluations meanwhile) is verified.
    assert (shown["status"], shown["status_label"]) == ("expired", "有效期已届满（未续期）")
    auto = [c for c in shown["cases"] if c["process"] == "automatic_termination"]
    assert len(auto) == 1 and auto[0]["open"]
    # Too late now: the application had to be made before the validity ended.
    err = send(beian, "renewal_application", number, {"summary": "补交续期申请"}, "2029-10-18T10:00:00+08:00",
               expect=ILLEGAL)
    assert "届满" in err
    do(beian, number, "automatic_verification", {"decision": "terminate", "opinion": "届满前三个月内未提出续期申请"},
       "2029-10-19T10:00:00+08:00")
    shown = beian.json("show", case)
    assert (shown["status"], shown["termination_kind"]) == ("terminated", "automatic")
    kinds = [d["kind"] for d in shown["documents"]]
    for kind in ("suspension_notice", "verification_opinion", "termination_notice", "termination_announcement"):
        assert kind in kinds, kind
    err = send(beian, "renewal_application", number, {"summary": "续期"}, "2029-10-20T10:00:00+08:00", expect=ILLEGAL)
    assert "已于" in err and "终止" in err
    assert_each_status_change_once_with_article(beian, number)
    assert all(c["open"] is False for c in beian.json("show", number)["cases"])


def test_renewal_assessed_as_failing_goes_to_ordered_termination(beian: Beian, write_json: Any,
                                                                 application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    send(beian, "renewal_application", number, {"summary": "申请续期"}, "2029-08-01T10:00:00+08:00")
    do(beian, number, "renewal_assessment", {"result": "fail", "opinion": "一年以上未开展评价"},
       "2029-08-10T10:00:00+08:00")
    # Jilin 第三十五条: the institution is told the intended refusal first; the assessor does not refuse.
    shown = beian.json("show", number)
    told = [d for d in shown["documents"] if d["kind"] == "intended_decision"]
    assert [d["title"] for d in told] == ["拟作出不予续期备案决定告知书"]
    assert "renewal_refusal" not in [d["kind"] for d in shown["documents"]]
    assert not [c for c in shown["cases"] if c["process"] == "ordered_termination"]
    # No views within the period (5 working days from Friday 10 August, provisional in 2029): the period's end puts
    # the decision to the approver, who makes it.
    beian.json("sweep", now="2029-08-18T00:00:01+08:00")
    assert "renewal_refusal" not in [d["kind"] for d in beian.json("show", number)["documents"]]
    do(beian, number, "decide_renewal", {"decision": "refuse", "reasons": "一年以上未开展评价，不予续期"},
       "2029-08-20T10:00:00+08:00")
    shown = beian.json("show", number)
    assert "renewal_refusal" in [d["kind"] for d in shown["documents"]]
    ordered = [c for c in shown["cases"] if c["process"] == "ordered_termination"]
    assert len(ordered) == 1
    assert shown["status"] == "suspended"
    do(beian, number, "termination_investigation",
       {"decision": "propose", "opinion": "续期评估不合格属实", "facts": "续期评估不合格"}, "2029-08-21T10:00:00+08:00")
    # No statement: when the statement period ends (5 working days, provisional in 2029) the decision is put to the
    # approver, who makes it.
    shown = beian.json("show", number)
    period = [d for d in shown["deadlines"] if d["kind"] == "timer"]
    assert len(period) == 1 and period[0]["provisional"] is True
    beian.json("sweep", now="2029-08-29T00:00:01+08:00")
    do(beian, number, "decide_termination", {"decision": "terminate", "reasons": "续期评估不合格，不予续期"},
       "2029-08-29T10:00:00+08:00")
    shown = beian.json("show", number)
    assert (shown["status"], shown["termination_kind"]) == ("terminated", "ordered")
    assert [v["ground"] for v in shown["filing"]["violations"]] == ["renewal_failed"]


# --- ordered termination ------------------------------------------------------------------------------------------


def _investigate_to_statement(beian: Beian, number: str, now: str) -> None:
    opened = send(beian, "violation_report", number, {"ground": "beyond_scope", "facts": "超出备案职业开展评价"}, now)
    assert opened["process"] == "ordered_termination"
    assert beian.json("show", number)["status"] == "suspended"
    do(beian, number, "termination_investigation",
       {"decision": "propose", "opinion": "经核查，超范围评价属实", "facts": "2027年3月对未备案职业组织评价"},
       "2027-04-06T10:00:00+08:00")
    assert "intended_decision" in [d["kind"] for d in beian.json("show", number)["documents"]]


def _decided(beian: Beian, number: str, reasons: str, now: str) -> None:
    do(beian, number, "decide_termination", {"decision": "terminate", "reasons": reasons}, now)
    shown = beian.json("show", number)
    assert (shown["status"], shown["termination_kind"]) == ("terminated", "ordered")


def test_ordered_termination_views_before_the_decision_and_a_statement_after_it_upheld(
        beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    """Jilin 第三十五条: told first, the institution's views go to the approver who decides; 第三十六条: a statement and
    defence against the decision served is reviewed, and an upheld termination says how to challenge it."""
    _, number = file_institution(beian, write_json, application)
    err = send(beian, "statement", number, {"text": "我单位不存在违规"}, "2027-04-01T10:00:00+08:00", expect=ILLEGAL)
    assert "陈述申辩" in err
    _investigate_to_statement(beian, number, "2027-04-01T10:00:00+08:00")
    send(beian, "statement", number, {"text": "所涉职业已申请调整"}, "2027-04-08T10:00:00+08:00")
    _decided(beian, number, "调整申请不改变超范围评价的事实", "2027-04-09T10:00:00+08:00")
    send(beian, "statement", number, {"text": "终止决定认定的事实有误"}, "2027-04-12T10:00:00+08:00")
    do(beian, number, "statement_review", {"decision": "uphold", "opinion": "陈述理由不成立"},
       "2027-04-14T10:00:00+08:00")
    shown = beian.json("show", number)
    assert (shown["status"], shown["termination_kind"]) == ("terminated", "ordered")
    [review] = [d for d in shown["documents"] if d["kind"] == "review_decision"]
    text = beian("document", str(review["id"])).out
    assert "维持责令终止备案决定" in text and "申请行政复议" in text and "2027年4月9日" in text
    assert [v["measure"] for v in shown["filing"]["violations"]] == ["ordered_termination"]
    assert not any(c["open"] for c in shown["cases"])
    assert_each_status_change_once_with_article(beian, number)


def test_ordered_termination_revoked_on_review_reinstates_the_filing(beian: Beian, write_json: Any,
                                                                     application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    _investigate_to_statement(beian, number, "2027-04-01T10:00:00+08:00")
    due = [d for d in beian.json("show", number)["deadlines"] if d["kind"] == "timer"][0]["due"]
    beian.json("sweep", now=due)
    _decided(beian, number, "超范围评价属实", "2027-04-14T10:00:00+08:00")
    send(beian, "statement", number, {"text": "所涉评价为备案职业"}, "2027-04-15T10:00:00+08:00")
    do(beian, number, "statement_review", {"decision": "revoke", "opinion": "陈述理由成立"},
       "2027-04-19T10:00:00+08:00")
    shown = beian.json("show", number)
    assert shown["status"] == "filed" and shown["termination_kind"] is None
    [review] = [d for d in shown["documents"] if d["kind"] == "review_decision"]
    text = beian("document", str(review["id"])).out
    assert "撤销责令终止备案决定，恢复备案" in text and "申请行政复议" not in text
    statuses = [h["summary"] for h in status_changes(beian, number)]
    assert len(statuses) == 4 and "恢复备案" in statuses[-1]  # filed, suspended, terminated, filed again
    # Watched through its validity again, and the revocation announced where the termination was.
    assert [c["process"] for c in shown["cases"] if c["open"]] == ["filing_validity"]
    assert any(h["action"] == "filing_status_changed" and "恢复备案" in h["summary"] for h in shown["history"])
    assert_each_status_change_once_with_article(beian, number)


def test_ordered_termination_without_statement_and_a_late_statement(beian: Beian, write_json: Any,
                                                                   application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    _investigate_to_statement(beian, number, "2027-04-01T10:00:00+08:00")
    shown = beian.json("show", number)
    due = [d for d in shown["deadlines"] if d["kind"] == "timer"][0]["due"]
    beian.json("sweep", now=due)
    # The lapsed period opens the decision; it is a person's, not the timer's.
    assert beian.json("show", number)["status"] != "terminated"
    _decided(beian, number, "逾期未陈述申辩，违规事实清楚", "2027-04-20T10:00:00+08:00")
    # The window for a statement against the decision (15 working days) passes without one: the case ends.
    window = [d for d in beian.json("show", number)["deadlines"] if d["kind"] == "timer"][0]["last_day"]
    assert window == "2027-05-11"  # 15 working days after 20 April (the Labour Day holiday skipped)
    beian.json("sweep", now="2027-05-12T00:00:01+08:00")
    shown = beian.json("show", number)
    assert not any(c["open"] for c in shown["cases"])
    before = len(shown["history"])
    send(beian, "statement", number, {"text": "迟到的陈述"}, "2027-06-01T10:00:00+08:00", expect=ILLEGAL)
    assert len(history(beian, number)) == before


def _provincial(application: dict[str, Any], credit_seed: str, name: str) -> dict[str, Any]:
    data = copy.deepcopy(application)
    data["authority_level"], data["region"] = "provincial", "510000"
    first17 = credit_seed
    data["institution"]["credit_code"] = first17 + check_character(first17)
    data["institution"]["name"] = name
    return data


def test_terminating_a_head_office_terminates_its_branches(beian: Beian, write_json: Any,
                                                           application: dict[str, Any]) -> None:
    head = _provincial(application, "91510100MA6CB1239", "四川示例装备集团有限公司")
    head_case, head_number = file_institution(beian, write_json, head)
    branch = copy.deepcopy(application)
    branch["parent_filing_number"] = head_number
    branch["institution"]["name"] = "四川示例装备集团有限公司成都分公司"
    first17 = "91510104MA6CB5678"
    branch["institution"]["credit_code"] = first17 + check_character(first17)
    branch_case = apply(beian, write_json, branch, received="2026-10-20T10:00:00+08:00")
    complete(beian, branch_case, "acceptance", {"decision": "accept"}, "2026-10-21T10:00:00+08:00")
    for bpmn_id in ("expert_review", "site_inspection", "higher_review"):
        complete(beian, branch_case, bpmn_id, {"result": "pass", "opinion": "符合"}, "2026-10-22T10:00:00+08:00")
    beian.json("sweep", now="2026-10-30T00:00:01+08:00")
    branch_shown = beian.json("show", branch_case)
    assert branch_shown["status"] == "filed"
    assert branch_shown["filing"]["parent"] == head_number
    assert branch_shown["filing_number"] != head_number
    assert beian.json("show", head_number)["filing"]["branches"][0]["filing_number"] == branch_shown["filing_number"]

    send(beian, "violation_report", head_number, {"ground": "subsidy_fraud", "facts": "虚报评价补贴"},
         "2027-03-01T10:00:00+08:00")
    do(beian, head_number, "termination_investigation",
       {"decision": "propose", "opinion": "属实", "facts": "虚报补贴 20 万元"}, "2027-03-02T10:00:00+08:00")
    due = [d for d in beian.json("show", head_number)["deadlines"] if d["kind"] == "timer"][0]["due"]
    beian.json("sweep", now=due)
    do(beian, head_number, "decide_termination", {"decision": "terminate", "reasons": "虚报评价补贴，事实清楚"},
       "2027-03-20T10:00:00+08:00")
    branch_shown = beian.json("show", branch_shown["filing_number"])
    assert (branch_shown["status"], branch_shown["termination_kind"]) == ("terminated", "ordered")
    notices = [d for d in branch_shown["documents"] if d["kind"] == "termination_notice"]
    assert len(notices) == 1
    assert any("第三十四条" in h["article"] for h in status_changes(beian, branch_shown["filing_number"]))
    # The branch's own validity watch was cancelled with it.
    assert all(not c["open"] for c in branch_shown["cases"])


def test_a_branch_needs_an_active_provincial_parent(beian: Beian, write_json: Any,
                                                    application: dict[str, Any]) -> None:
    branch = copy.deepcopy(application)
    branch["parent_filing_number"] = "川技评备〔2026〕9999号"
    path = write_json(branch, "branch.json")
    err = beian("apply", path, now="2026-10-20T10:00:00+08:00", expect=INVALID).err
    assert "不存在" in err


# --- automatic termination triggers -----------------------------------------------------------------------------


def test_deregistered_entity_is_terminated_automatically(beian: Beian, write_json: Any,
                                                         application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    send(beian, "deregistered", number, {"reason": "bankrupt", "date": "2027-05-01"}, "2027-05-10T10:00:00+08:00")
    assert beian.json("show", number)["status"] == "suspended"
    send(beian, "deregistered", number, {"reason": "bankrupt"}, "2027-05-11T10:00:00+08:00", expect=ILLEGAL)
    do(beian, number, "automatic_verification", {"decision": "terminate", "opinion": "已宣告破产"},
       "2027-05-12T10:00:00+08:00")
    shown = beian.json("show", number)
    assert (shown["status"], shown["termination_kind"]) == ("terminated", "automatic")


def test_catalogue_change_without_adjustment_and_a_lifted_suspension(beian: Beian, write_json: Any,
                                                                     application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    codes = [o["code"] for o in application["occupations"]]
    if len(codes) > 1:  # removing one of several occupations leaves the filing alone
        partial = send(beian, "catalogue_change", number, {"removed": codes[:1]}, "2027-06-01T10:00:00+08:00")
        assert partial["case"] is None and beian.json("show", number)["status"] == "filed"
    send(beian, "catalogue_change", number, {"removed": codes}, "2027-06-02T10:00:00+08:00")
    assert beian.json("show", number)["status"] == "suspended"
    do(beian, number, "automatic_verification", {"decision": "lift", "opinion": "机构已申请调整备案职业"},
       "2027-06-03T10:00:00+08:00")
    shown = beian.json("show", number)
    assert shown["status"] == "filed"
    assert "suspension_lifted" in [d["kind"] for d in shown["documents"]]
    assert_each_status_change_once_with_article(beian, number)


# --- voluntary termination ----------------------------------------------------------------------------------------


def test_voluntary_termination_refused_before_30_working_days_then_completed(
        beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    request = {"notice_started": "2026-11-02", "wrapup_plan": "上传证书数据，退还未评价考生费用",
               "refunds": [{"candidates": 12, "amount": 3600, "note": "未参加评价"}]}
    before = len(history(beian, number))
    # 30 working days from Monday 2 November 2026 end on Friday 11 December: applying that day is too early, and the
    # first day it can be received is the next working day, Monday 14 December (not Saturday the 12th).
    err = send(beian, "termination_request", number, request, "2026-12-11T16:00:00+08:00", expect=ILLEGAL)
    assert "30 个工作日" in err and "2026年12月11日" in err and "最早可于 2026年12月14日 提出申请" in err
    assert len(history(beian, number)) == before and beian.json("show", number)["status"] == "filed"

    send(beian, "termination_request", number, request, "2026-12-14T10:00:00+08:00")
    assert beian.json("show", number)["status"] == "winding_up"
    do(beian, number, "risk_assessment", {"opinion": "风险可控", "wrapup_days": 10}, "2026-12-15T10:00:00+08:00")
    send(beian, "wrapup_done", number, {"summary": "证书数据已上传，费用已退还"}, "2026-12-22T10:00:00+08:00")
    shown = beian.json("show", number)
    assert (shown["status"], shown["termination_kind"]) == ("terminated", "voluntary")
    obligations = shown["filing"]["termination"]["obligations"]
    assert any("退费：12 名考生" in o for o in obligations)
    assert any("应退尽退" in o for o in obligations)
    assert_each_status_change_once_with_article(beian, number)


def test_voluntary_wrapup_overdue_escalates(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    send(beian, "termination_request", number, {"notice_started": "2026-11-02", "wrapup_plan": "收尾"},
         "2026-12-14T10:00:00+08:00")
    do(beian, number, "risk_assessment", {"opinion": "按期收尾", "wrapup_days": 5}, "2026-12-15T10:00:00+08:00")
    beian.json("sweep", now="2026-12-23T00:00:01+08:00")
    assert "escalated" in [h["action"] for h in history(beian, number)]
    assert beian.json("show", number)["status"] == "winding_up"
    send(beian, "wrapup_done", number, {"summary": "已完成"}, "2026-12-28T10:00:00+08:00")
    assert beian.json("show", number)["termination_kind"] == "voluntary"


# --- sanctions ------------------------------------------------------------------------------------------------------


def _warning(beian: Beian, number: str) -> str:
    send(beian, "violation_report", number, {"ground": "false_advertising", "facts": "网络宣传“包过”"},
         "2027-03-01T10:00:00+08:00")
    assert beian.json("show", number)["status"] == "filed"  # investigated without suspension
    case = do(beian, number, "sanction_investigation",
              {"decision": "warning", "opinion": "宣传“包过”属实", "facts": "官网宣传“包过”", "rectification_days": 10},
              "2027-03-02T10:00:00+08:00")
    # Told first (Jilin 第三十五条): nothing is imposed until the approver decides, after the institution's views.
    shown = beian.json("show", case)
    assert shown["case_status"] == "awaiting_statement" and shown["status"] == "filed"
    assert [d["title"] for d in shown["documents"] if d["kind"] == "intended_decision"] == ["拟作出处理决定告知书"]
    send(beian, "statement", case, {"text": "宣传系代理机构所为"}, "2027-03-03T10:00:00+08:00")
    do(beian, number, "decide_sanction", {"decision": "impose", "reasons": "代理机构以本机构名义宣传，机构应负责"},
       "2027-03-03T11:00:00+08:00")
    assert beian.json("show", number)["status"] == "suspended"
    return case


def test_rectification_in_time_lifts_the_suspension(beian: Beian, write_json: Any,
                                                    application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    _warning(beian, number)
    send(beian, "rectification_done", number, {"summary": "已删除虚假宣传并公开致歉"}, "2027-03-10T10:00:00+08:00")
    do(beian, number, "rectification_check", {"result": "pass", "opinion": "整改到位"}, "2027-03-11T10:00:00+08:00")
    shown = beian.json("show", number)
    assert shown["status"] == "filed"
    assert [v["measure"] for v in shown["filing"]["violations"]] == ["warning"]
    assert "warning_notice" in [d["kind"] for d in shown["documents"]]
    assert_each_status_change_once_with_article(beian, number)


def test_rectification_overdue_leads_to_ordered_termination(beian: Beian, write_json: Any,
                                                            application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    _warning(beian, number)
    due = [d for d in beian.json("show", number)["deadlines"] if d["kind"] == "timer"][0]["due"]
    beian.json("sweep", now=due)
    shown = beian.json("show", number)
    ordered = [c for c in shown["cases"] if c["process"] == "ordered_termination"]
    assert len(ordered) == 1 and shown["status"] == "suspended"
    # The suspension passes to the ordered termination: revoking it on review restores the filing.
    do(beian, number, "termination_investigation", {"decision": "dismiss", "opinion": "已补正整改"},
       "2027-03-20T10:00:00+08:00")
    assert beian.json("show", number)["status"] == "filed"


def test_interview_sanction_is_archived(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    send(beian, "violation_report", number, {"ground": "reused_papers", "facts": "同一试卷使用3次"},
         "2027-03-01T10:00:00+08:00")
    case = do(beian, number, "sanction_investigation",
              {"decision": "interview", "opinion": "属实", "facts": "同一试卷使用3次", "invalid_results": True},
              "2027-03-02T10:00:00+08:00")
    assert beian.json("show", number)["filing"]["violations"] == []
    # No views within the period (5 working days, provisional in 2027): its end opens the decision.
    beian.json("sweep", now="2027-03-10T00:00:01+08:00")
    do(beian, number, "decide_sanction", {"decision": "impose", "reasons": "事实清楚"}, "2027-03-10T10:00:00+08:00")
    shown = beian.json("show", number)
    assert shown["status"] == "filed"
    assert [v["measure"] for v in shown["filing"]["violations"]] == ["interview"]
    assert "interview_notice" in [d["kind"] for d in shown["documents"]]
    # Results declared invalid are a decision against the institution: the notice says how to challenge it.
    (notice,) = [d for d in shown["documents"] if d["kind"] == "interview_notice"]
    words = beian("document", str(notice["id"]), as_json=False).out
    assert "作出无效处理" in words and "申请行政复议" in words and "提起行政诉讼" in words
    # The institution may still state its case against the interview served (Jilin 第三十六条), for 15 working days.
    assert beian.json("show", case)["case_status"] == "sanctioned"
    windows = [w for w in beian.json("show", case)["waiting_for"] if w["case"] == case]
    assert windows == [{"case": case, "timer": "陈述申辩期间", "due": "2027-04-01T00:00:00+08:00"}]


def test_a_warning_revoked_on_review_lifts_the_suspension_and_leaves_the_archive(
        beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    """Jilin 第三十六条 on a sanction: a statement against the warning during the rectification, a review decision
    that revokes it — the suspension ends, the record is kept but revoked, and no longer counts as a prior one."""
    _, number = file_institution(beian, write_json, application)
    case = _warning(beian, number)
    send(beian, "statement", case, {"text": "宣传页面系他人仿冒，附公证书"}, "2027-03-05T10:00:00+08:00")
    do(beian, number, "statement_review", {"decision": "revoke", "opinion": "经核实，宣传页面系他人仿冒"},
       "2027-03-08T10:00:00+08:00")
    shown = beian.json("show", number)
    assert shown["status"] == "filed"
    [violation] = shown["filing"]["violations"]
    assert violation["measure"] == "warning" and violation["revoked"]["case"] == case
    review = [d for d in beian.json("show", case)["documents"] if d["kind"] == "review_decision"]
    assert [d["title"] for d in review] == ["复核决定书"]
    assert beian.json("show", case)["case_status"] == "sanction_revoked"
    # A later report finds no prior violation in force.
    send(beian, "violation_report", number, {"ground": "false_advertising", "facts": "再次宣传"},
         "2027-04-01T10:00:00+08:00")
    opened = [c for c in beian.json("show", number)["cases"] if c["process"] == "sanction" and c["open"]]
    task = [t for t in beian.json("tasks", now="2027-04-01T10:00:00+08:00")
            if t["case"] == opened[0]["case"] and t["bpmn_id"] == "sanction_investigation"]
    assert task and task[0].get("data", {}).get("prior_sanctions", []) == []


def test_unknown_ground_is_refused(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    err = send(beian, "violation_report", number, {"ground": "littering", "facts": "x"},
               "2027-03-01T10:00:00+08:00", expect=INVALID)
    assert "beyond_scope" in err


# --- changes and listings ---------------------------------------------------------------------------------------


def test_change_report_updates_the_record_and_keeps_history(beian: Beian, write_json: Any,
                                                            application: dict[str, Any]) -> None:
    case, number = file_institution(beian, write_json, application)
    send(beian, "change_report", number, {"changes": [{"field": "address", "after": "成都市武侯区新址路 8 号"}]},
         "2027-02-01T10:00:00+08:00")
    do(beian, number, "change_review", {"result": "pass", "opinion": "同意变更"}, "2027-02-02T10:00:00+08:00")
    shown = beian.json("show", case)
    assert shown["institution"]["address"] == "成都市武侯区新址路 8 号"
    change = shown["filing"]["changes"][0]
    assert change["approved"] and change["changes"][0]["before"] == application["institution"]["address"]
    send(beian, "change_report", number, {"changes": [{"field": "credit_code", "after": "x"}]},
         "2027-02-03T10:00:00+08:00", expect=INVALID)


@pytest.mark.parametrize("status", [None, "filed"])
def test_filings_lists_status_and_validity(beian: Beian, write_json: Any, application: dict[str, Any],
                                           status: str | None) -> None:
    _, number = file_institution(beian, write_json, application)
    listed = beian.json("filings", *(["--status", status] if status else []))
    assert [(f["filing_number"], f["status"], f["valid_until"]) for f in listed] == [(number, "filed", "2029-10-16")]


# --- XPCC red and black lists (兵团 第二十二条) ---------------------------------------------------------------------


def _xpcc(application: dict[str, Any]) -> dict[str, Any]:
    data = _provincial(application, "91660000MA6CB1239", "兵团示例职业技能评价中心")
    data["region"] = "660000"
    return data


def test_xpcc_red_list_continues_after_expiry_through_a_simplified_renewal(
        beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, _xpcc(application))
    send(beian, "rating", number, {"rating": "red"}, "2029-01-10T10:00:00+08:00")
    # No renewal application: at expiry a red-listed filing continues instead of being terminated.
    beian.json("sweep", now=EXPIRED)
    shown = beian.json("show", number)
    assert [c["process"] for c in shown["cases"] if c["open"]] == ["renewal"]
    assert shown["status"] == "renewal_review"
    do(beian, number, "continuation_review", {"result": "pass", "opinion": "红榜机构，连续备案"},
       "2029-10-18T10:00:00+08:00")
    shown = beian.json("show", number)
    # The provincial path's publicity ended on Thursday 15 October 2026; the 局长办公会 filed it on 17 October (XPCC
    # 第十三条（四）, as file_institution has it): the first period ran 17 October 2026 to 16 October 2029, whatever day
    # the sweep ran; the next follows on.
    assert (shown["status"], shown["valid_from"], shown["valid_until"]) == ("filed", "2029-10-17", "2032-10-16")


def test_xpcc_black_list_cannot_renew_and_leaves_at_expiry(beian: Beian, write_json: Any,
                                                           application: dict[str, Any]) -> None:
    """XPCC 第二十二条: 评为“黑色”的…退出评价机构目录 — at once, by a decision served with its remedies; the filing
    cannot renew and is terminated automatically at expiry."""
    _, number = file_institution(beian, write_json, _xpcc(application))
    send(beian, "rating", number, {"rating": "black", "reasons": "现场督导发现考务管理混乱"},
         "2029-01-10T10:00:00+08:00")
    shown = beian.json("show", number)
    assert (shown["status"], shown["status_label"]) == ("delisted", "已退出评价机构目录（红黑榜评为“黑色”）")
    [notice] = [d for d in shown["documents"] if d["kind"] == "delisting_notice"]
    text = beian("document", str(notice["id"])).out
    assert "退出评价机构目录" in text and "现场督导发现考务管理混乱" in text and "申请行政复议" in text
    assert "《兵团职业技能等级认定工作规程》第二十二条" in text and "吉林" not in text
    assert [h for h in shown["history"] if h["action"] == "filing_status_changed" and "黑色" in h["summary"]]
    err = send(beian, "renewal_application", number, {"summary": "续期"}, "2029-08-01T10:00:00+08:00",
               expect=ILLEGAL)
    assert "黑色" in err and "退出评价机构目录" in err
    beian.json("sweep", now=EXPIRED)
    assert [c["process"] for c in beian.json("show", number)["cases"] if c["open"]] == ["automatic_termination"]


def test_rating_outside_xpcc_is_refused(beian: Beian, write_json: Any, application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    err = send(beian, "rating", number, {"rating": "red"}, "2027-01-10T10:00:00+08:00", expect=ILLEGAL)
    assert "红黑榜" in err


def test_no_voluntary_exit_during_an_investigation(beian: Beian, write_json: Any,
                                                  application: dict[str, Any]) -> None:
    _, number = file_institution(beian, write_json, application)
    send(beian, "violation_report", number, {"ground": "subsidy_fraud", "facts": "虚报补贴"},
         "2027-03-01T10:00:00+08:00")
    err = send(beian, "termination_request", number, {"notice_started": "2027-01-04", "wrapup_plan": "收尾"},
               "2027-03-02T10:00:00+08:00", expect=ILLEGAL)
    assert "责令终止备案程序" in err and "调查结束前" in err
