"""Institution accounts (workflows/institutions.py) on a real database: the one-time code travels through the outbox
to the notifications system (the sandbox, over loopback HTTP) and is read there as the institution would; a code
expires, takes five tries and is used once; sending is bounded per contact; the history never holds the code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.outside.db import AuditEvent, InstitutionAccount, SignInAttempt
from adapters.outside.sandbox import SandboxServer
from tasks.credit_code import check_character
from tasks.errors import IllegalEvent, InvalidInput
from tests.support.cli import run
from workflows import clock
from workflows.delivery import deliver_due
from workflows.institutions import (
    CODE_TTL,
    PORTAL,
    authenticate_institution,
    complete_registration,
    request_registration,
)
from workflows.service import Beian

CODE = "91440300MA5G7XQ20" + check_character("91440300MA5G7XQ20")
PHONE = "13612345678"
NOW = clock.parse_instant("2026-12-01T10:00:00+08:00")


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    service.init()
    yield service
    service.close()


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        monkeypatch.setenv("BEIAN_SANDBOX_URL", server.url)
        monkeypatch.delenv("BEIAN_NOTIFICATIONS_URL", raising=False)
        monkeypatch.setenv("BEIAN_DELIVERY_BACKOFF", "0")
        yield server


def _delivered_code(app: Beian, sandbox: SandboxServer) -> str:
    from adapters.outside.settings import load_settings

    deliver_due(app, load_settings())
    texts = [m["payload"]["text"] for m in sandbox.received("notifications")]
    found = re.search(r"验证码 (\d{6})", texts[-1])
    assert found, texts
    return found.group(1)


def test_the_code_reaches_the_contact_through_the_notifications_system(app: Beian, sandbox: SandboxServer) -> None:
    with clock.using_clock(clock.VirtualClock(NOW)):
        sent = request_registration(app, CODE, "深圳示例职业培训学校", PHONE, client="10.0.0.1")
        assert sent["sent_to"] == "136****5678"
        code = _delivered_code(app, sandbox)
        [message] = sandbox.received("notifications")
        assert message["payload"]["to"] == {"name": "深圳示例职业培训学校", "sms": PHONE}
        user = complete_registration(app, CODE, PHONE, code, "shenzhen.admin", "陈老师", "a-long-password-1")
    assert (user.credit_code, user.is_admin, user.institution_name) == (CODE, True, "深圳示例职业培训学校")
    with app.reading() as uow:
        history = " ".join(e.summary for e in uow.session.scalars(select(AuditEvent)))
        assert code not in history and "136****5678" in history and PHONE not in history
    assert authenticate_institution(app, "shenzhen.admin", "a-long-password-1") == user
    assert authenticate_institution(app, "shenzhen.admin", "wrong-password-1") is None
    with app.reading() as uow:
        names = {a.username for a in uow.session.scalars(select(SignInAttempt))}
    assert names == {PORTAL + "shenzhen.admin"}, "kept apart from every caseworker's name"


def test_a_code_expires_takes_five_tries_and_is_used_once(app: Beian, sandbox: SandboxServer) -> None:
    with clock.using_clock(clock.VirtualClock(NOW)):
        request_registration(app, CODE, "深圳示例", PHONE)
        code = _delivered_code(app, sandbox)
    with clock.using_clock(clock.VirtualClock(NOW + CODE_TTL + timedelta(seconds=1))), \
            pytest.raises(InvalidInput, match="验证码已失效或不存在"):
        complete_registration(app, CODE, PHONE, code, "a.b.c", "陈", "a-long-password-1")

    later = NOW + timedelta(hours=1)
    with clock.using_clock(clock.VirtualClock(later)):
        request_registration(app, CODE, "深圳示例", PHONE)
        code = _delivered_code(app, sandbox)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for left in (4, 3, 2, 1):
            with pytest.raises(InvalidInput, match=f"还可尝试 {left} 次"):
                complete_registration(app, CODE, PHONE, wrong, "a.b.c", "陈", "a-long-password-1")
        with pytest.raises(InvalidInput, match="已失效，请重新获取"):
            complete_registration(app, CODE, PHONE, wrong, "a.b.c", "陈", "a-long-password-1")
        with pytest.raises(InvalidInput, match="错误次数过多"):
            complete_registration(app, CODE, PHONE, code, "a.b.c", "陈", "a-long-password-1")
    with app.reading() as uow:
        assert uow.session.scalars(select(InstitutionAccount)).first() is None, "nothing created on the way"

    with clock.using_clock(clock.VirtualClock(later + timedelta(minutes=1))):
        request_registration(app, CODE, "深圳示例", PHONE)
        code = _delivered_code(app, sandbox)
        complete_registration(app, CODE, PHONE, code, "a.b.c", "陈", "a-long-password-1")
        with pytest.raises(IllegalEvent, match="已开通账户"):
            complete_registration(app, CODE, PHONE, code, "d.e.f", "陈", "a-long-password-1")


def test_sending_is_bounded_per_contact_and_bad_input_is_named(app: Beian, sandbox: SandboxServer) -> None:
    with clock.using_clock(clock.VirtualClock(NOW)):
        for _ in range(3):
            request_registration(app, CODE, "深圳示例", PHONE)
        with pytest.raises(IllegalEvent, match="10 分钟内最多发送 3 次"):
            request_registration(app, CODE, "深圳示例", PHONE)
        for contact, message in (("12345", "11位手机号码"), ("a@b", "电子邮箱"), ("x" * 101, "联系方式太长")):
            with pytest.raises(InvalidInput, match=message):
                request_registration(app, CODE, "深圳示例", contact)
        with pytest.raises(InvalidInput, match="机构名称不能为空|机构名称"):
            request_registration(app, CODE, "  ", "13700001111")
        with pytest.raises(InvalidInput, match="统一社会信用代码有误"):
            request_registration(app, CODE[:-1] + "0" if CODE[-1] != "0" else CODE[:-1] + "1", "深圳示例",
                                 "13700001111")
    with clock.using_clock(clock.VirtualClock(NOW + CODE_TTL + timedelta(seconds=1))):
        assert request_registration(app, CODE, "深圳示例", PHONE)["sent_to"] == "136****5678"


def test_a_code_the_gateway_refused_is_listed_as_stuck_and_sent_again(app: Beian, sandbox: SandboxServer,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      backend_url: str) -> None:
    from adapters.outside.settings import load_settings

    monkeypatch.setenv("BEIAN_DELIVERY_MAX_ATTEMPTS", "1")
    sandbox.set_mode("notifications", "fail")
    with clock.using_clock(clock.VirtualClock(NOW)):
        request_registration(app, CODE, "深圳示例", PHONE)
        result = deliver_due(app, load_settings())
        assert result["failed"] == 1 and sandbox.received("notifications") == []
        sandbox.set_mode("notifications", "ok")
        retried = app.operations.retry(f"ZH-{CODE}", actor="ops")
    assert retried["ok"] and retried["requeued"] == 1 and retried["step"] is None
    [message] = sandbox.received("notifications")
    assert "验证码" in message["payload"]["text"]
    # The command line says it of a pseudo-case too (it has deliveries, no process to step).
    again = run("--db", backend_url, "retry", f"ZH-{CODE}")
    assert again.code == 0 and again.out.startswith(f"案件 ZH-{CODE}：重新发送投递"), again
