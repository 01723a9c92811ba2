"""The outside-system clients against the sandbox, over real HTTP on loopback: every failure path for real.

One sandbox server for the module, reset before each test. Delays are fractions of a second to keep it fast.
The last section feeds malformed answers through httpx.MockTransport (the `client` parameter) because the
sandbox, by design, never answers with a well-formed but contradictory lookup.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from adapters.outside.sandbox import SandboxServer
from adapters.outside.settings import OutsideSystem
from adapters.outside.systems import (
    DishonestyResult,
    EnterpriseStatus,
    OutsideError,
    backoff_delay,
    check_dishonesty,
    check_person_dishonesty,
    deliver,
    enterprise_status,
)

CODE = "91510100MA61234567"
PERSON = "510104197203151232"  # the example application's legal representative
MASKED = "5101**********1232"
OTHER_PERSON = "11010519491231002X"
TIMEOUT = 2.0


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(server: SandboxServer) -> SandboxServer:
    server.reset()
    return server


def _wait_for(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sandbox did not get there in time"
        time.sleep(0.02)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- deliveries -----------------------------------------------------------------------------------------------

def test_delivery_returns_the_reference_and_is_recorded(sandbox: SandboxServer) -> None:
    answer = deliver(sandbox.system("notice_website"), "notices", {"title": "公示"}, "case-1:notice",
                     timeout=TIMEOUT)
    assert answer["reference"] == "notice_website-1"
    assert answer["received_at"]
    [record] = sandbox.received("notice_website")
    assert record["path"] == "notices"
    assert record["key"] == "case-1:notice"
    assert record["payload"] == {"title": "公示"}
    assert record["reference"] == "notice_website-1"
    assert record["attempts"] == 1
    assert sandbox.received("national_registry") == []


def test_the_same_key_twice_gives_the_same_reference_and_one_record(sandbox: SandboxServer) -> None:
    system = sandbox.system("national_registry")
    first = deliver(system, "filings", {"n": 1}, "k", timeout=TIMEOUT)
    again = deliver(system, "filings", {"n": 1}, "k", timeout=TIMEOUT)
    other = deliver(system, "filings", {"n": 2}, "k2", timeout=TIMEOUT)
    assert again["reference"] == first["reference"] == "national_registry-1"
    assert other["reference"] == "national_registry-2"
    records = sandbox.received("national_registry")
    assert [(r["key"], r["attempts"]) for r in records] == [("k", 2), ("k2", 1)]


def test_a_key_is_per_system(sandbox: SandboxServer) -> None:
    deliver(sandbox.system("notice_website"), "notices", {}, "same", timeout=TIMEOUT)
    answer = deliver(sandbox.system("notifications"), "sms", {}, "same", timeout=TIMEOUT)
    assert answer["reference"] == "notifications-1"
    assert len(sandbox.received()) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_server_errors_and_throttling_are_retryable(sandbox: SandboxServer, status: int) -> None:
    sandbox.set_mode("notice_website", "fail", status=status)
    with pytest.raises(OutsideError) as caught:
        deliver(sandbox.system("notice_website"), "notices", {}, "k", timeout=TIMEOUT)
    error = caught.value
    assert error.retryable is True
    assert error.status_code == status
    assert error.system == "notice_website"
    assert f"HTTP {status}" in error.message and "公示公告网站" in error.message
    assert sandbox.received() == []


def test_a_failed_delivery_resent_later_is_recorded_once(sandbox: SandboxServer) -> None:
    sandbox.set_mode("notice_website", "fail")
    system = sandbox.system("notice_website")
    with pytest.raises(OutsideError) as caught:
        deliver(system, "notices", {"x": 1}, "k", timeout=TIMEOUT)
    assert caught.value.status_code == 503
    assert "暂不可用" in caught.value.message
    sandbox.set_mode("notice_website", "ok")
    assert deliver(system, "notices", {"x": 1}, "k", timeout=TIMEOUT)["reference"] == "notice_website-1"
    [record] = sandbox.received("notice_website")
    assert record["attempts"] == 2


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_client_errors_are_not_retryable(sandbox: SandboxServer, status: int) -> None:
    sandbox.set_mode("notifications", "fail", status=status)
    with pytest.raises(OutsideError) as caught:
        deliver(sandbox.system("notifications"), "sms", {}, "k", timeout=TIMEOUT)
    assert caught.value.retryable is False
    assert caught.value.status_code == status
    assert "短信/电子邮件通知网关" in caught.value.message


def test_a_path_the_system_does_not_serve_is_not_retryable(sandbox: SandboxServer) -> None:
    # The credit registry takes no deliveries: a wrong address is a setting to fix, not an outage.
    with pytest.raises(OutsideError) as caught:
        deliver(sandbox.system("credit_registry"), "notices", {}, "k", timeout=TIMEOUT)
    assert caught.value.retryable is False
    assert caught.value.status_code == 404
    assert "BEIAN_CREDIT_REGISTRY_URL" in caught.value.message


def test_slow_answer_times_out_and_the_resend_records_nothing_twice(sandbox: SandboxServer) -> None:
    sandbox.set_mode("national_registry", "slow", delay=2, times=1)
    system = sandbox.system("national_registry")
    with pytest.raises(OutsideError) as caught:
        deliver(system, "filings", {"x": 1}, "k", timeout=0.2)
    assert sandbox.in_flight() == 1  # the client gave up; it did not wait for the sandbox
    assert caught.value.retryable is True
    assert caught.value.status_code is None
    assert "超时" in caught.value.message and "0.2 秒" in caught.value.message
    # The other side carried on and acted on it although nobody was listening any more.
    _wait_for(lambda: len(sandbox.received("national_registry")) == 1, seconds=10)
    again = deliver(system, "filings", {"x": 1}, "k", timeout=TIMEOUT)
    [record] = sandbox.received("national_registry")
    assert again["reference"] == record["reference"] == "national_registry-1"
    assert record["attempts"] == 2


def test_a_resend_that_overtakes_the_slow_original_is_still_recorded_once(sandbox: SandboxServer) -> None:
    sandbox.set_mode("notice_website", "slow", delay=0.5, times=1)
    system = sandbox.system("notice_website")
    with pytest.raises(OutsideError):
        deliver(system, "notices", {}, "k", timeout=0.1)
    resent = deliver(system, "notices", {}, "k", timeout=TIMEOUT)  # arrives while the original still sleeps
    _wait_for(lambda: sandbox.in_flight() == 0)  # the original has finished
    [record] = sandbox.received("notice_website")
    assert record["reference"] == resent["reference"]
    assert record["attempts"] == 2


def test_nonsense_is_retryable_and_never_recorded(sandbox: SandboxServer) -> None:
    sandbox.set_mode("notice_website", "nonsense")
    system = sandbox.system("notice_website")
    messages = []
    for _ in range(2):  # the sandbox alternates a maintenance page and JSON without a reference
        with pytest.raises(OutsideError) as caught:
            deliver(system, "notices", {}, "k", timeout=TIMEOUT)
        assert caught.value.retryable is True
        assert caught.value.status_code == 200
        assert "返回内容无法识别" in caught.value.message
        messages.append(caught.value.message)
    assert "维护中" in messages[0] and "text/html" in messages[0]
    assert "reference" in messages[1]
    assert sandbox.received() == []
    sandbox.set_mode("notice_website", "ok")
    deliver(system, "notices", {}, "k", timeout=TIMEOUT)
    [record] = sandbox.received()
    assert record["attempts"] == 3


def test_the_times_switch_returns_to_ok(sandbox: SandboxServer) -> None:
    sandbox.set_mode("*", "fail", times=2)
    assert sandbox.modes()["notifications"] == {"mode": "fail", "status": 503, "remaining": 2}
    system = sandbox.system("notifications")
    for _ in range(2):
        with pytest.raises(OutsideError):
            deliver(system, "sms", {}, "k", timeout=TIMEOUT)
    assert deliver(system, "sms", {}, "k", timeout=TIMEOUT)["reference"] == "notifications-1"
    modes = sandbox.modes()
    assert modes["notifications"] == {"mode": "ok"}
    # "*" gave every system its own count: the others have not been asked yet.
    assert modes["notice_website"]["remaining"] == 2


def test_the_sandbox_keeps_the_ops_notifications_it_receives(sandbox: SandboxServer) -> None:
    posted = httpx.post(f"{sandbox.url}/_sandbox/ops-notifications", json={"event": "beian.case.stuck", "n": 1})
    assert posted.status_code == 201
    httpx.post(f"{sandbox.url}/_sandbox/ops-notifications", json={"event": "beian.case.unstuck", "n": 2})
    assert [item["body"] for item in sandbox.ops_notifications()] == [
        {"event": "beian.case.stuck", "n": 1}, {"event": "beian.case.unstuck", "n": 2}]
    assert sandbox.received() == []  # not a delivery of an outside system
    sandbox.reset()
    assert sandbox.ops_notifications() == []


def test_unconfigured_system_is_not_retryable() -> None:
    with pytest.raises(OutsideError) as caught:
        deliver(OutsideSystem("notice_website", "", ""), "notices", {}, "k", timeout=TIMEOUT)
    assert caught.value.retryable is False
    assert caught.value.status_code is None
    assert "未配置" in caught.value.message and "BEIAN_NOTICE_WEBSITE_URL" in caught.value.message


def test_connection_refused_is_retryable() -> None:
    system = OutsideSystem("national_registry", f"http://127.0.0.1:{_closed_port()}/national_registry", "t")
    with pytest.raises(OutsideError) as caught:
        deliver(system, "filings", {}, "k", timeout=TIMEOUT)
    assert caught.value.retryable is True
    assert "连接被拒绝" in caught.value.message and "全国评价机构备案信息库" in caught.value.message


def test_bearer_token_is_sent_and_checked() -> None:
    with SandboxServer(token="s3cret") as guarded:
        assert deliver(guarded.system("notifications"), "sms", {}, "k", timeout=TIMEOUT)["reference"]
        for token in ("wrong", ""):  # an empty token sends no Authorization header at all
            with pytest.raises(OutsideError) as caught:
                deliver(guarded.system("notifications", token=token), "sms", {}, "k2", timeout=TIMEOUT)
            assert caught.value.retryable is False
            assert caught.value.status_code == 401
            assert "BEIAN_NOTIFICATIONS_TOKEN" in caught.value.message
        assert len(guarded.received()) == 1


def test_a_given_client_is_used(sandbox: SandboxServer) -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [seen.append]}) as client:
        deliver(sandbox.system("notice_website"), "/notices", {}, "k", timeout=TIMEOUT, client=client)
        assert not client.is_closed
    [request] = seen
    assert request.url.path == "/notice_website/notices"
    assert request.headers["Idempotency-Key"] == "k"
    assert "authorization" not in request.headers  # the module sandbox runs without a token


def test_the_sandbox_refuses_a_bad_switch(sandbox: SandboxServer) -> None:
    with pytest.raises(RuntimeError, match="mode must be one of"):
        sandbox.set_mode("notice_website", "sulk")
    with pytest.raises(RuntimeError, match="unknown system"):
        sandbox.set_mode("fax", "fail")


# --- lookups --------------------------------------------------------------------------------------------------

def test_not_listed_by_default(sandbox: SandboxServer) -> None:
    result = check_dishonesty(sandbox.system("credit_registry"), CODE, timeout=TIMEOUT)
    assert result == DishonestyResult(listed=False, records=[])


def test_listed_with_records(sandbox: SandboxServer) -> None:
    record = {"authority": "四川省人力资源和社会保障厅", "reason": "以欺骗手段取得备案", "since": "2025-03-01"}
    sandbox.set_dishonest(CODE, [record])
    result = check_dishonesty(sandbox.system("credit_registry"), CODE, timeout=TIMEOUT)
    assert result == DishonestyResult(listed=True, records=[record])
    other = check_dishonesty(sandbox.system("credit_registry"), "91110000000000000X", timeout=TIMEOUT)
    assert other.listed is False


def test_garbage_from_the_credit_registry_fails_after_the_attempts(sandbox: SandboxServer) -> None:
    sandbox.set_mode("credit_registry", "nonsense")
    with pytest.raises(OutsideError) as caught:
        check_dishonesty(sandbox.system("credit_registry"), CODE, timeout=TIMEOUT, attempts=2, backoff=0.01)
    assert caught.value.retryable is True
    assert "返回内容无法识别" in caught.value.message and "已尝试 2 次" in caught.value.message


def test_a_lookup_retries_a_passing_failure(sandbox: SandboxServer) -> None:
    sandbox.set_mode("credit_registry", "fail", times=1)
    started = time.monotonic()
    result = check_dishonesty(sandbox.system("credit_registry"), CODE, timeout=TIMEOUT, attempts=2, backoff=0.1)
    assert result.listed is False
    assert time.monotonic() - started >= 0.1  # it waited the backoff before the second attempt


def test_a_lookup_does_not_retry_a_client_error(sandbox: SandboxServer) -> None:
    # One failure only: a second attempt would have succeeded, so an error proves there was none.
    sandbox.set_mode("credit_registry", "fail", status=400, times=1)
    with pytest.raises(OutsideError) as caught:
        check_dishonesty(sandbox.system("credit_registry"), CODE, timeout=TIMEOUT, attempts=3, backoff=0.01)
    assert caught.value.retryable is False
    assert caught.value.status_code == 400


def test_a_slow_lookup_gives_up(sandbox: SandboxServer) -> None:
    sandbox.set_mode("enterprise_registry", "slow", delay=3, times=2)
    with pytest.raises(OutsideError) as caught:
        enterprise_status(sandbox.system("enterprise_registry"), CODE, timeout=0.15, attempts=2, backoff=0.01)
    assert sandbox.in_flight() >= 1  # it gave up without waiting for the slow answers (no wall-clock bound asserted)
    assert caught.value.retryable is True
    assert "超时" in caught.value.message and "已尝试 2 次" in caught.value.message
    _wait_for(lambda: sandbox.in_flight() == 0, seconds=10)  # both finished before the next test resets the sandbox


# --- the person lookup (the legal representative) -------------------------------------------------------------

def test_a_person_is_not_listed_by_default(sandbox: SandboxServer) -> None:
    result = check_person_dishonesty(sandbox.system("credit_registry"), PERSON, "李建国", timeout=TIMEOUT)
    assert result == DishonestyResult(listed=False, records=[])


def test_a_person_listed_by_identity_number(sandbox: SandboxServer) -> None:
    system = sandbox.system("credit_registry")
    record = {"authority": "成都市中级人民法院", "reason": "失信被执行人", "since": "2025-06-01"}
    sandbox.set_dishonest_person(PERSON, [record])
    assert check_person_dishonesty(system, PERSON, "李建国", timeout=TIMEOUT) == DishonestyResult(True, [record])
    # Another person, and the institution's own code, are not listed by it.
    assert check_person_dishonesty(system, OTHER_PERSON, "李建国", timeout=TIMEOUT).listed is False
    assert check_dishonesty(system, CODE, timeout=TIMEOUT).listed is False
    sandbox.set_dishonest_person(PERSON, [])
    assert check_person_dishonesty(system, PERSON, "李建国", timeout=TIMEOUT).listed is False


def test_the_sandbox_needs_a_number_to_list_a_person(sandbox: SandboxServer) -> None:
    with pytest.raises(RuntimeError, match="id_number is required"):
        sandbox.set_dishonest_person("", [])
    with pytest.raises(RuntimeError, match="records must be a list"):
        sandbox.set_dishonest_person(PERSON, [{"authority": "某院"}])


def test_the_person_lookup_retries_a_passing_failure(sandbox: SandboxServer) -> None:
    sandbox.set_mode("credit_registry", "fail", times=1)
    result = check_person_dishonesty(sandbox.system("credit_registry"), PERSON, "李建国", timeout=TIMEOUT,
                                     attempts=2, backoff=0.01)
    assert result.listed is False


def test_garbage_about_a_person_fails_after_the_attempts(sandbox: SandboxServer) -> None:
    sandbox.set_mode("credit_registry", "nonsense")
    with pytest.raises(OutsideError) as caught:
        check_person_dishonesty(sandbox.system("credit_registry"), PERSON, "李建国", timeout=TIMEOUT, attempts=2,
                                backoff=0.01)
    assert caught.value.retryable is True
    assert "返回内容无法识别" in caught.value.message and "已尝试 2 次" in caught.value.message


def test_the_identity_number_stays_out_of_the_logs(sandbox: SandboxServer, caplog: pytest.LogCaptureFixture) -> None:
    # The client's own request log (httpx) and the sandbox's: both name the address, which holds no number.
    caplog.set_level(logging.INFO, logger="httpx")
    caplog.set_level(logging.INFO, logger="adapters.outside.sandbox")
    sandbox.set_dishonest_person(PERSON, [{"authority": "某院", "reason": "失信被执行人", "since": "2025-06-01"}])
    assert check_person_dishonesty(sandbox.system("credit_registry"), PERSON, "李建国", timeout=TIMEOUT).listed
    _wait_for(lambda: any("/credit_registry/persons/dishonesty" in r.getMessage() for r in caplog.records))
    assert not [r.getMessage() for r in caplog.records if PERSON in r.getMessage()]


def test_the_enterprise_registry_serves_no_person_lookup(sandbox: SandboxServer) -> None:
    system = OutsideSystem("enterprise_registry", f"{sandbox.url}/enterprise_registry", "")
    with pytest.raises(OutsideError) as caught:
        check_person_dishonesty(system, PERSON, "李建国", timeout=TIMEOUT)
    assert caught.value.status_code == 404 and caught.value.retryable is False


def test_enterprise_active_by_default(sandbox: SandboxServer) -> None:
    status = enterprise_status(sandbox.system("enterprise_registry"), CODE, timeout=TIMEOUT)
    assert status == EnterpriseStatus(status="active", since=None)


def test_enterprise_deregistered(sandbox: SandboxServer) -> None:
    sandbox.set_entity(CODE, "deregistered", "2026-05-20")
    status = enterprise_status(sandbox.system("enterprise_registry"), CODE, timeout=TIMEOUT)
    assert status == EnterpriseStatus(status="deregistered", since=date(2026, 5, 20))


def test_enterprise_unknown_code_is_not_retryable(sandbox: SandboxServer) -> None:
    sandbox.set_entity(CODE, "unknown")
    with pytest.raises(OutsideError) as caught:
        enterprise_status(sandbox.system("enterprise_registry"), CODE, timeout=TIMEOUT, attempts=3)
    assert caught.value.retryable is False
    assert caught.value.status_code == 404
    assert "未找到该主体" in caught.value.message and CODE in caught.value.message


def test_lookup_on_an_unconfigured_system() -> None:
    with pytest.raises(OutsideError) as caught:
        check_dishonesty(OutsideSystem("credit_registry", "", ""), CODE, timeout=TIMEOUT)
    assert caught.value.retryable is False


# --- backoff --------------------------------------------------------------------------------------------------

def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 30.0, 3600.0) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff_delay(10**6, 30.0, 3600.0) == 3600.0  # a long outage does not overflow
    assert backoff_delay(3, 0.2, float("inf")) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        backoff_delay(0, 30.0, 3600.0)


# --- malformed answers (through the client parameter) ---------------------------------------------------------

def _answering(body: Any, status: int = 200) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(status, json=body)))


GOOD_RECORD = {"authority": "某厅", "reason": "某事", "since": "2025-01-02"}


@pytest.mark.parametrize("body", [
    [],
    {"listed": False, "records": []},  # no credit_code
    {"credit_code": "OTHER", "listed": False, "records": []},
    {"credit_code": CODE, "listed": "no", "records": []},
    {"credit_code": CODE, "listed": False},
    {"credit_code": CODE, "listed": True, "records": []},
    {"credit_code": CODE, "listed": False, "records": [GOOD_RECORD]},
    {"credit_code": CODE, "listed": True, "records": [{**GOOD_RECORD, "since": "2025/01/02"}]},
    {"credit_code": CODE, "listed": True, "records": [{**GOOD_RECORD, "since": "2025-02-30"}]},
    {"credit_code": CODE, "listed": True, "records": [{"authority": "某厅", "since": "2025-01-02"}]},
])
def test_malformed_dishonesty_answers_are_refused(body: Any) -> None:
    system = OutsideSystem("credit_registry", "http://registry.test", "t")
    with _answering(body) as client, pytest.raises(OutsideError) as caught:
        check_dishonesty(system, CODE, timeout=TIMEOUT, attempts=1, client=client)
    assert caught.value.retryable is True
    assert "返回内容无法识别" in caught.value.message


def test_the_number_travels_in_the_body_not_in_the_address() -> None:
    seen: list[httpx.Request] = []

    def registry(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id_number": PERSON, "listed": False, "records": []})

    system = OutsideSystem("credit_registry", "http://registry.test/v1", "t")
    with httpx.Client(transport=httpx.MockTransport(registry)) as client:
        check_person_dishonesty(system, PERSON, "李建国", timeout=TIMEOUT, client=client)
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", "http://registry.test/v1/persons/dishonesty")
    assert json.loads(request.content) == {"id_number": PERSON, "name": "李建国"}
    assert request.headers["authorization"] == "Bearer t"


@pytest.mark.parametrize(("body", "status", "said"), [
    # About someone else (a proxy mix-up): both numbers masked, in what is said and in the answer quoted.
    ({"id_number": OTHER_PERSON.lower(), "listed": False, "records": []}, 200,
     '答复的是另一个身份证号码 1101**********002X；HTTP 200，application/json：{"id_number":"1101**********002X"'),
    ({"listed": False, "records": []}, 200, "缺少 id_number"),
    ({"id_number": PERSON, "listed": True, "records": []}, 200,
     f'listed 与 records 相互矛盾；HTTP 200，application/json：{{"id_number":"{MASKED}"'),
    # A refusal that quotes what it was sent.
    ({"error": f"id_number {PERSON} 与姓名不符"}, 422,
     f'对方拒收请求（HTTP 422）：{{"error":"id_number {MASKED} 与姓名不符'),
])
def test_an_error_about_a_person_holds_no_identity_number(body: Any, status: int, said: str) -> None:
    system = OutsideSystem("credit_registry", "http://registry.test", "t")
    with _answering(body, status) as client, pytest.raises(OutsideError) as caught:
        check_person_dishonesty(system, PERSON, "李建国", timeout=TIMEOUT, attempts=1, client=client)
    message = caught.value.message
    assert said in message
    assert PERSON not in message and OTHER_PERSON not in message.upper()


@pytest.mark.parametrize("body", [
    {"credit_code": CODE, "status": "suspended", "since": None},
    {"credit_code": CODE, "status": "active"},
    {"credit_code": CODE, "status": "closed", "since": "20260101"},
    {"credit_code": "OTHER", "status": "active", "since": None},
])
def test_malformed_entity_answers_are_refused(body: Any) -> None:
    system = OutsideSystem("enterprise_registry", "http://registry.test", "t")
    with _answering(body) as client, pytest.raises(OutsideError) as caught:
        enterprise_status(system, CODE, timeout=TIMEOUT, attempts=1, client=client)
    assert "返回内容无法识别" in caught.value.message


@pytest.mark.parametrize("body", [{"reference": ""}, {"reference": 7}, ["reference"], {"ok": True}])
def test_a_delivery_answer_without_a_reference_is_retryable(body: Any) -> None:
    system = OutsideSystem("notice_website", "http://site.test", "t")
    with _answering(body, status=201) as client, pytest.raises(OutsideError) as caught:
        deliver(system, "notices", {}, "k", timeout=TIMEOUT, client=client)
    assert caught.value.retryable is True


def test_the_sandbox_counts_the_requests_it_is_answering(sandbox: SandboxServer) -> None:
    sandbox.set_mode("enterprise_registry", "slow", delay=0.5, times=1)
    assert sandbox.in_flight() == 0
    with pytest.raises(OutsideError):
        enterprise_status(sandbox.system("enterprise_registry"), CODE, timeout=0.1, attempts=1, backoff=0.01)
    assert sandbox.in_flight() == 1  # the slow answer is still being made after the client gave up
    _wait_for(lambda: sandbox.in_flight() == 0)
