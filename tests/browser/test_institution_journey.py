"""The institution's journey in real Chromium, over real HTTP, with the notifications going to the sandbox (issue 16):
register → the one-time code read from what the sandbox received → apply online with materials → answer the
supplementation → publicity, where a member of the public objects on /public/publicity → objection dismissed → the
receipt in the portal inbox with its QR code → /public/verify says it is in force → a change report → the renewal
application three years later, in its window. The web app and the test share one clock that the test moves forward
(a virtual clock for both: the server's requests run on it)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.outside.sandbox import SandboxServer
from adapters.outside.settings import load_settings
from tests.conftest import EXAMPLE_APPLICATION
from tests.support.material_files import PDF, PNG
from tests.support.scenarios import REVIEWS_PASSED, open_task
from tests.support.served import Served
from tests.support.web import posted_example
from workflows import clock
from workflows.delivery import deliver_due
from workflows.service import Beian
from workflows.users import add_user

CODE = "91510104MA6C8H2K5N"
EMAIL = "hr@jincheng-jg.example.cn"
PASSWORD = "jincheng-portal-2026"


@dataclass
class MovableClock:
    """One instant for the test and the server alike, moved forward by the test."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


class OnClock:
    """ASGI wrapper: every request of the served app runs on the shared clock (contextvars reach its thread pool)."""

    def __init__(self, app: Any, shared: MovableClock) -> None:
        self.app, self.shared = app, shared
        self.state = app.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        with clock.using_clock(self.shared):
            await self.app(scope, receive, send)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Beian, Served, SandboxServer,
                                                                            MovableClock]]:
    from adapters.entrypoints.web.app import create_app

    shared = MovableClock(clock.parse_instant("2026-12-07T09:30:00+08:00"))  # a Monday
    with SandboxServer() as sandbox:
        for system in ("CREDIT_REGISTRY", "ENTERPRISE_REGISTRY", "NOTICE_WEBSITE", "NATIONAL_REGISTRY",
                       "NOTIFICATIONS", "CERTIFICATE_REGISTRY"):
            monkeypatch.delenv(f"BEIAN_{system}_URL", raising=False)  # the tests' default is none: the sandbox here
        monkeypatch.setenv("BEIAN_SANDBOX_URL", sandbox.url)
        monkeypatch.setenv("BEIAN_DELIVERY_BACKOFF", "0")
        monkeypatch.setenv("BEIAN_WEB_URL", "http://beian.example.test")
        url = f"sqlite:///{tmp_path / 'beian.sqlite3'}"
        service = Beian(url)
        with clock.using_clock(shared):
            service.init()
            add_user(service, "li.na", "李娜", "correct-horse-1", ["intake"], "510100", actor="test")
        app = create_app(url, secret_key="journey")
        served = Served(OnClock(app, shared))
        try:
            with clock.using_clock(shared):
                yield service, served, sandbox, shared
        finally:
            served.stop()
            app.state.service.close()
            service.close()


def _code(service: Beian, sandbox: SandboxServer) -> str:
    deliver_due(service, load_settings())
    texts = [m["payload"]["text"] for m in sandbox.received("notifications") if m["payload"]["to"].get("email")]
    found = re.search(r"验证码 (\d{6})", texts[-1])
    assert found, texts
    return found.group(1)


def _home(page: Any, served: Served) -> None:
    """The portal's home page, signing in again when the session lapsed (the clock moved on by days or years)."""
    page.goto(f"{served.url}/portal/")
    if "/portal/login" in page.url:
        page.fill("#username", "wang.xm")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{served.url}/portal/")


def test_an_institution_registers_applies_is_filed_reports_a_change_and_renews(world: Any, browser: Any,
                                                                             screenshots: Path) -> None:
    service, served, sandbox, shared = world
    page = browser.new_page(locale="zh-CN", viewport={"width": 420, "height": 900})  # a phone
    # Register: the code travels through the outbox to the notifications system (the sandbox).
    page.goto(f"{served.url}/portal/register")
    page.fill("#credit_code", CODE)
    page.fill("#institution_name", "成都锦城精工机械制造有限公司")
    page.fill("#contact", EMAIL)
    page.click("button[type=submit]")
    assert "验证码已发送至 h***@jincheng-jg.example.cn" in page.inner_text("body")
    page.fill("#code", _code(service, sandbox))
    page.fill("#username", "wang.xm")
    page.fill("#display_name", "王晓梅")
    page.fill("#password", PASSWORD)
    page.screenshot(path=str(screenshots / "portal-01-register.png"), full_page=True)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served.url}/portal/")

    # Apply online: the example application, typed into the form, with a file.
    example = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("text=网上备案申请")
    assert "收件日期" not in page.inner_text("body")
    for name, value in posted_example():  # as a person types it: each field, each chosen box
        fields = page.locator(f"[name='{name}']")
        if fields.count() == 0:
            continue
        kind = fields.first.get_attribute("type") or fields.first.evaluate("e => e.tagName.toLowerCase()")
        if kind in ("checkbox", "radio"):
            choice = page.locator(f"[name='{name}'][value='{value}']")
            if choice.count() == 1:
                choice.check()
        elif kind == "select":
            fields.first.select_option(value)
        elif fields.count() == 1:
            fields.first.fill(value)
    page.locator("table.material-files select").first.select_option("application_form")
    form_file = {"name": "备案申请表.pdf", "mimeType": "application/pdf", "buffer": PDF}
    page.locator("table.material-files input[type=file]").first.set_input_files(files=[form_file])
    page.screenshot(path=str(screenshots / "portal-02-apply.png"), full_page=True)
    invalid = page.evaluate("[...document.querySelectorAll('form.application-form :invalid')].map(e => e.name)")
    assert invalid == [], invalid
    page.click("text=提交申请")
    page.wait_for_load_state()
    assert "applied=" in page.url, page.locator(".error").all_inner_texts()
    case = page.url.split("applied=")[1]
    assert service.records.show(case)["application"]["institution"]["name"] == example["institution"]["name"]

    # Intake asks for one more document; the institution answers in the portal.
    service.cases.complete(open_task(service, case, "acceptance")["id"], {
        "decision": "supplement", "missing_items": ["legal_person_certificate"], "reasons": "营业执照复印件不清晰"},
        actor="li.na")
    page.goto(f"{served.url}/portal/")
    assert "补正材料通知书" in page.inner_text("body")
    page.click("text=提交补正材料")
    page.locator("table.material-files select").first.select_option("legal_person_certificate")
    licence = {"name": "营业执照.png", "mimeType": "image/png", "buffer": PNG}
    page.locator("table.material-files input[type=file]").first.set_input_files(files=[licence])
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/portal/\?sent=1"))

    # Accepted and reviewed; in publicity a member of the public objects; the objection is dismissed.
    for bpmn_id, data in REVIEWS_PASSED:
        service.cases.complete(open_task(service, case, bpmn_id)["id"], dict(data), actor="test")
    public = browser.new_page(locale="zh-CN")
    public.goto(f"{served.url}/public/publicity")
    assert "成都锦城精工机械制造有限公司" in public.inner_text("body")
    public.click("text=对该机构提出异议")
    public.fill("[name=objector]", "某考生")
    public.fill("[name=contact]", "13500001111")
    public.fill("[name=content]", "该机构曾承诺“包过”")
    public.click("button[type=submit]")
    assert "异议已提交" in public.inner_text("body")
    service.cases.complete(open_task(service, case, "objection_review")["id"],
                           {"upheld": False, "opinion": "经核查不属实"}, actor="test")
    (publicity_end,) = service.records.show(case)["deadlines"]
    shared.instant = clock.parse_instant(publicity_end["due"]) + timedelta(seconds=1)
    service.operations.sweep()
    number = service.records.show(case)["filing_number"]
    assert number

    # The receipt in the inbox, with its QR code; the public check says it is in force.
    _home(page, served)
    page.screenshot(path=str(screenshots / "portal-03-home.png"), full_page=True)
    page.click("text=职业技能等级评价机构备案回执")
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert "扫描二维码" in body and f"http://beian.example.test/public/verify/{number}" in body
    qr_width = page.evaluate("document.querySelector('img.qr').naturalWidth")
    assert qr_width > 0, "the QR code is drawn, inside the document's strict CSP"
    page.screenshot(path=str(screenshots / "portal-04-receipt.png"), full_page=True)
    public.goto(f"{served.url}/public/verify/{number}")
    assert "该备案回执真实有效" in public.inner_text("body")

    # A change of address, reported in the portal.
    _home(page, served)
    page.click("a[href^='/portal/start/change_report']")
    page.select_option("#field", "address")
    page.fill("#after", "四川省成都市锦江区东大街 1 号")
    page.fill("#explanation", "办公场所搬迁")
    page.click("form.task-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/portal/\?sent=1"))
    assert any(c["process"] == "change_report" for c in service.records.show(number)["cases"])
    # A second examination site: the site list as filed, one site added on the application form's own fields.
    _home(page, served)
    page.click("a[href^='/portal/start/change_report']")
    page.click("a[href^='/portal/start/change_report/sites']")
    assert page.input_value("[name='sites[0][name]']") == "锦城精工技能实训中心", "the list as filed"
    page.fill("[name='sites[1][name]']", "锦城精工第二考点")
    page.fill("[name='sites[1][address]']", "四川省成都市成华区建设路 2 号")
    page.fill("[name='sites[1][area_m2]']", "800")
    page.fill("#f-explanation", "新增考核场地")
    page.screenshot(path=str(screenshots / "portal-04b-change-sites.png"), full_page=True)
    page.click("form.application-form button.primary")
    page.wait_for_url(re.compile(r".*/portal/\?sent=1"))
    reported = [service.records.reported_changes(c["case"]) for c in service.records.show(number)["cases"]
                if c["process"] == "change_report"]
    assert any(r and any(f["after"] == "锦城精工第二考点" for f in r["fields"]) for r in reported)

    # Three years later, in the renewal window (three months before the last valid day).
    valid_until = service.records.show(number)["valid_until"]
    shared.instant = clock.parse_instant(f"{valid_until}T10:00:00+08:00") - timedelta(days=40)
    service.operations.sweep()
    _home(page, served)
    page.click("a[href^='/portal/start/renewal_application']")
    page.fill("#summary", "备案期内共开展评价12批次，无违规记录")
    page.click("form.task-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/portal/\?sent=1"))
    assert service.records.show(number)["status"] == "renewal_review"
    page.screenshot(path=str(screenshots / "portal-05-renewal.png"), full_page=True)
    history = service.records.show(number)["history"]
    assert any(h["actor"] == "portal:wang.xm" and "续期" in h["summary"] for h in history)
    page.close()
    public.close()

