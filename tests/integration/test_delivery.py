"""Side effects reach the outside systems through the outbox, over real HTTP on loopback to the sandbox server, and
survive an outside system that fails, times out or answers garbage: nothing is lost, nothing is recorded twice.

The whole filing runs through the real command line (SQLite and PostgreSQL); the sandbox answers for the credit
registry, the enterprise registry, the notice website, the national registry and the SMS/e-mail gateway.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.outside.db import OutboxMessage
from adapters.outside.sandbox import SandboxServer
from tasks.errors import InvalidInput
from tests.conftest import Beian
from tests.support.scenarios import FILED_AT, apply, file_institution, task
from workflows.clock import parse_instant
from workflows.service import Beian as ServiceApp

SYSTEMS = ("CREDIT_REGISTRY", "ENTERPRISE_REGISTRY", "NOTICE_WEBSITE", "NATIONAL_REGISTRY", "NOTIFICATIONS")
LATER = "2026-10-17T10:00:00+08:00"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def outside(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """Every outside system on the sandbox (the tests' default is none), fast retries, a short HTTP timeout."""
    sandbox.reset()
    for system in SYSTEMS:
        monkeypatch.delenv(f"BEIAN_{system}_URL", raising=False)
    monkeypatch.setenv("BEIAN_SANDBOX_URL", sandbox.url)
    monkeypatch.setenv("BEIAN_DELIVERY_BACKOFF", "0")
    monkeypatch.setenv("BEIAN_DELIVERY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("BEIAN_HTTP_TIMEOUT", "0.5")
    return sandbox


def deliveries(beian: Beian, case: str) -> list[dict[str, Any]]:
    return [h for h in beian.json("show", case)["history"] if h["action"] in ("delivered", "delivery_failed")]


def test_a_filing_is_published_reported_and_notified_exactly_once(beian: Beian, write_json: Any,
                                                                  application: dict[str, Any],
                                                                  outside: SandboxServer) -> None:
    case, number = file_institution(beian, write_json, application)
    result = beian.json("deliver", now=LATER)
    assert result["retrying"] == result["failed"] == 0 and result["delivered"] > 0

    notices = outside.received("notice_website")
    assert [n["payload"]["kind"] for n in notices] == ["publicity"]
    assert notices[0]["payload"]["institution"]["credit_code"] == application["institution"]["credit_code"]
    reports = outside.received("national_registry")
    assert [(r["payload"]["event"], r["payload"]["filing_number"]) for r in reports] == [("filed", number)]
    messages = outside.received("notifications")
    assert "职业技能等级评价机构备案回执" in {m["payload"]["subject"] for m in messages}
    assert all(m["payload"]["to"]["sms"] == application["institution"]["phone"] for m in messages)
    assert {m["attempts"] for m in notices + reports + messages} == {1}

    # Each delivery is in the case's history with its receipt reference; a second run finds nothing to send.
    delivered = deliveries(beian, case)
    assert len(delivered) == len(notices) + len(reports) + len(messages)
    assert all("回执" in h["summary"] for h in delivered)
    again = beian.json("deliver", now=LATER)
    assert again["delivered"] == 0 and again["cases"] == []
    assert len(outside.received()) == len(notices) + len(reports) + len(messages)


def test_a_registry_that_is_down_is_one_stuck_row_and_its_deliveries_go_out_in_the_run_it_answers(
        beian: Beian, write_json: Any, application: dict[str, Any], outside: SandboxServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEIAN_DELIVERY_BACKOFF", "3600")  # what would otherwise keep the deliveries waiting
    outside.set_mode("national_registry", "fail", status=503)
    case, number = file_institution(beian, write_json, application)
    other = "BA2026-OTHER"  # another case's report, recorded while the registry is down
    app = ServiceApp(beian.url)
    try:
        with app.uow() as uow:
            uow.repo.add(OutboxMessage(key=f"{other}/report", case_id=other, system="national_registry",
                                       path="filing-events", summary="report", payload={"event": "report"},
                                       status="pending", attempts=0, next_attempt_at=parse_instant(LATER),
                                       created_at=parse_instant(LATER)))
            uow.commit()
    finally:
        app.close()
    first = beian("deliver", now=LATER, expect=1).json
    assert first["retrying"] >= 1 and first["failed"] == 0
    # Down: each run probes the registry once with one waiting message; the others wait without using up attempts.
    for minutes in (2, 4, 6):
        probe = beian("deliver", now=at_minutes(minutes), expect=1).json
        assert probe["retrying"] == 1 and probe["failed"] == 0 and probe["delivered"] == 0, minutes
    assert outside.received("national_registry") == []
    assert beian.json("stuck", now=at_minutes(9))["stuck"] == []  # not yet down for the set time

    (down,) = beian.json("stuck", now=at_minutes(11))["stuck"]  # one row for the system, none per case
    assert down["reason_code"] == "system_down" and down["waiting_on"] == "全国评价机构备案信息库"
    assert down["cases"] == [case, other] and "503" in down["reason"]

    outside.set_mode("national_registry", "ok")
    back = beian.json("deliver", now=at_minutes(12))  # the probe answers: both cases go out in this run
    assert back["delivered"] == 2 and back["retrying"] == back["failed"] == 0
    reports = outside.received("national_registry")
    assert len(reports) == 2 and f"{other}/report" in {r["key"] for r in reports}  # each recorded once
    assert sorted(c["case"] for c in back["cases"] if c["delivered"]) == sorted([case, other])
    assert beian.json("deliver", now=at_minutes(13))["delivered"] == 0  # nothing is sent twice
    assert not [s for s in beian.json("stuck", now=at_minutes(13))["stuck"] if s["reason_code"] == "system_down"]


def at_minutes(minutes: int) -> str:
    return (parse_instant(LATER) + timedelta(minutes=minutes)).isoformat()


def test_a_refused_delivery_is_failed_visible_and_sent_again_by_retry(
        beian: Beian, write_json: Any, application: dict[str, Any], outside: SandboxServer) -> None:
    outside.set_mode("national_registry", "fail", status=422)
    case, number = file_institution(beian, write_json, application)
    result = beian("deliver", now=LATER, expect=1).json
    assert result["failed"] == 1  # a refusal is not retried
    assert outside.received("national_registry") == []
    assert [h["summary"] for h in deliveries(beian, case) if h["action"] == "delivery_failed"][0].startswith(
        "送达失败（外部系统拒绝）：报送全国备案信息库")

    # Ops see it in the stuck list, with the system and the error, and where to open the case.
    stuck = beian.json("stuck", now=LATER)["stuck"]
    failed = [s for s in stuck if s["reason_code"] == "delivery_failed"]
    assert [s["case_id"] for s in failed] == [case]
    assert "422" in failed[0]["reason"] and failed[0]["link"].endswith(f"/cases/{case}")
    assert beian.json("deliver", now=LATER)["delivered"] == 0  # given up: not retried behind ops' back

    outside.set_mode("national_registry", "ok")
    retried = beian.json("retry", case, now=LATER)
    assert retried["ok"] and retried["requeued"] == 1
    assert [d["summary"] for d in retried["delivery"]["delivered"]] == [f"报送全国备案信息库：备案 {number} 备案"]
    reports = outside.received("national_registry")
    assert len(reports) == 1 and reports[0]["attempts"] == 2  # one key for both attempts, recorded once
    assert not [s for s in beian.json("stuck", now=LATER)["stuck"] if s["reason_code"] == "delivery_failed"]


def test_a_timeout_then_a_resend_is_recorded_once_thanks_to_the_idempotency_key(
        beian: Beian, write_json: Any, application: dict[str, Any], outside: SandboxServer) -> None:
    case = apply(beian, write_json, application)
    beian.json("complete", beian.json("tasks", "--case", case)[0]["id"], "--data",
               '{"decision": "reject", "reasons": "不属于技能类职业"}', now="2026-09-28T10:00:00+08:00")
    outside.set_mode("notifications", "slow", delay=1.5, times=1)
    result = beian("deliver", now=LATER, expect=1).json
    assert result["retrying"] == 1 and "超时" in result["cases"][0]["retrying"][0]["error"]
    # The slow request still arrives on the other side: the resend with the same key must not record it again.
    deadline = time.monotonic() + 10
    while not outside.received("notifications"):
        assert time.monotonic() < deadline, "the slow request never arrived"
        time.sleep(0.05)
    resent = beian.json("deliver", now=LATER)
    assert resent["delivered"] == 1
    messages = outside.received("notifications")
    assert len(messages) == 1 and messages[0]["attempts"] == 2
    assert messages[0]["payload"]["subject"] == "不予受理通知书"
    assert resent["cases"][0]["delivered"][0]["reference"] == messages[0]["reference"]


def test_garbage_answers_are_retried_and_recorded_once(beian: Beian, write_json: Any, application: dict[str, Any],
                                                        outside: SandboxServer) -> None:
    outside.set_mode("national_registry", "nonsense", times=1)
    file_institution(beian, write_json, application)
    first = beian("deliver", now=LATER, expect=1).json
    assert first["retrying"] == 1 and "national_registry" not in {r["system"] for r in outside.received()}
    assert beian.json("deliver", now=LATER)["delivered"] == 1
    reports = outside.received("national_registry")
    assert len(reports) == 1 and reports[0]["attempts"] == 2


def test_rows_of_one_case_for_one_system_go_out_in_the_order_they_were_recorded(
        beian: Beian, write_json: Any, application: dict[str, Any], outside: SandboxServer) -> None:
    case = apply(beian, write_json, application)
    app = ServiceApp(beian.url)
    try:
        with app.uow() as uow:
            for event in ("first", "second"):
                uow.repo.add(OutboxMessage(key=f"{case}/{event}", case_id=case, system="national_registry",
                                           path="filing-events", summary=event, payload={"event": event},
                                           status="pending", attempts=0, next_attempt_at=parse_instant(LATER),
                                           created_at=parse_instant(LATER)))
            uow.commit()
    finally:
        app.close()
    outside.set_mode("national_registry", "fail", times=1)
    held = beian("deliver", now=LATER, expect=1).json["cases"]
    assert [(c["case"], [d["summary"] for d in c["retrying"]], c["delivered"]) for c in held] == [(case, ["first"], [])]
    assert outside.received("national_registry") == []  # "second" waited behind "first"
    assert beian.json("deliver", now=LATER)["delivered"] == 2
    assert [r["payload"]["event"] for r in outside.received("national_registry")] == ["first", "second"]


def test_the_credit_registry_feeds_the_prechecks(beian: Beian, write_json: Any, application: dict[str, Any],
                                                 outside: SandboxServer) -> None:
    code = application["institution"]["credit_code"]
    outside.set_dishonest(code, [{"authority": "四川省市场监督管理局", "reason": "列入严重违法失信名单",
                                  "since": "2025-05-01"}])
    case = apply(beian, write_json, application)
    failures = beian.json("tasks", "--case", case)[0]["context"]["precheck"]["failures"]
    assert [f["code"] for f in failures] == ["credit"]
    assert "列入严重违法失信名单" in failures[0]["message"] and failures[0]["article"]  # Sichuan: 二（一）

    outside.set_mode("credit_registry", "fail", status=500)
    other = dict(application, institution=dict(application["institution"], name="另一家机构"))
    case = apply(beian, write_json, other)
    failures = beian.json("tasks", "--case", case)[0]["context"]["precheck"]["failures"]
    # Neither lookup was answered: one check by hand for the institution, one for its legal representative.
    assert [f["code"] for f in failures] == ["credit", "credit"]
    assert all("人工核查" in f["message"] for f in failures) and "法定代表人 李建国" in failures[1]["message"]


def test_a_listed_legal_representative_reaches_the_intake_clerk(beian: Beian, write_json: Any,
                                                               application: dict[str, Any],
                                                               outside: SandboxServer) -> None:
    number = application["institution"]["legal_representative_id_number"]
    outside.set_dishonest_person(number, [{"authority": "成都市中级人民法院", "reason": "失信被执行人",
                                           "since": "2025-06-01"}])
    case = apply(beian, write_json, application)
    (failure,) = task(beian, case, "acceptance")["context"]["precheck"]["failures"]
    assert failure["code"] == "credit" and failure["article"] == "川人社办发〔2019〕94号 二（一）"
    assert failure["message"] == ("信用信息平台有法定代表人 李建国（身份证件号码 5101**********1232）的失信记录："
                                  "成都市中级人民法院、失信被执行人、自 2025-06-01 起")
    # What the clerk reads in the task list, and the history: the person named, the number masked.
    assert "⚠ 预审：信用信息平台有法定代表人 李建国" in beian("tasks", "--case", case, as_json=False).out
    history = json.dumps(beian.json("show", case)["history"], ensure_ascii=False)
    assert "法定代表人 李建国" in history and number not in history
    assert beian.json("show", case)["status"] == "applied"  # nothing decided automatically

    # A new application without the number is refused at intake: it could not be looked up.
    del application["institution"]["legal_representative_id_number"]
    refused = beian("apply", write_json(application, "no-number.json"), expect=InvalidInput.exit_code)
    assert "institution.legal_representative_id_number（法定代表人身份证件号码）：缺少必填项" in refused.err


def test_a_deregistered_institution_is_found_by_the_registry_check(beian: Beian, write_json: Any,
                                                                   application: dict[str, Any],
                                                                   outside: SandboxServer) -> None:
    case, number = file_institution(beian, write_json, application)
    assert beian.json("registry-check", now=LATER)["opened"] == []
    outside.set_entity(application["institution"]["credit_code"], "deregistered", "2026-10-16")
    found = beian.json("registry-check", now=LATER)
    assert [(o["filing"], o["reason"]) for o in found["opened"]] == [(number, "deregistered")]
    cases = beian.json("show", number)["cases"]
    assert any(c["process"] == "automatic_termination" for c in cases)
    assert beian.json("registry-check", now=LATER)["already"] == [number]  # asked again: nothing opened twice
    assert FILED_AT < LATER
