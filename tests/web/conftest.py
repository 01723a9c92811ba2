"""A web app on a fresh, initialised database (SQLite and PostgreSQL), with caseworkers of several roles and regions
and a fresh application of the example institution (成都市锦江区 510104 → the Chengdu authority 510100)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from adapters.entrypoints.web.app import create_app
from adapters.entrypoints.web.portal.pages import PORTAL_COOKIE
from adapters.outside.db import OutboxMessage
from tasks.credit_code import check_character
from tests.conftest import EXAMPLE_APPLICATION
from workflows import clock
from workflows.service import Beian
from workflows.users import add_user

PASSWORD = "correct-horse-1"
# username → (display name, roles, region)
PEOPLE: dict[str, tuple[str, tuple[str, ...], str]] = {
    "li.na": ("李受理", ("intake",), "510100"),          # Chengdu intake: the acceptance task is hers
    "li.wei": ("黎受理", ("intake",), "510100"),         # a colleague in the same role and city
    "wang.fang": ("王受理", ("intake",), "510700"),        # intake in another city (Mianyang)
    "zhao.lei": ("赵专家", ("expert",), "510100"),        # Chengdu, another role
    "sun.qiang": ("孙复核", ("reviewer",), "510000"),       # the province's higher-level review
    "admin": ("管理员", ("supervision",), "510000"),  # administrator of the province
    "qian.jian": ("钱监管", ("supervision",), "510100"),  # Chengdu supervision
    "zhou.gong": ("周公示", ("publicity",), "510100"),    # Chengdu publicity: objections during publicity
}


@dataclass
class Site:
    service: Beian
    app: Any
    case: str

    def client(self, username: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if username is not None:
            token = csrf(client.get("/login").text)
            response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                                   "next": "/tasks"})
            assert response.status_code == 303, response.text
        return client

    def open_task(self, bpmn_id: str) -> dict[str, Any]:
        (task,) = [t for t in self.service.cases.tasks(self.case) if t["bpmn_id"] == bpmn_id]
        return self.service.cases.task(task["id"])


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def diagram_data(html: str) -> dict[str, Any] | None:
    """What a page gives its bpmn-js viewer (static/diagram.js) to draw and mark, or None without a diagram. The
    JSON sits in a script element of type application/json; markup characters in it are escaped (tojson)."""
    found = re.findall(r'<script type="application/json" id="diagram-data">(.*?)</script>', html, re.S)
    assert len(found) <= 1, "more than one diagram on the page"
    if not found:
        return None
    assert "<" not in found[0] and ">" not in found[0]  # the XML cannot close the script element
    data: dict[str, Any] = json.loads(found[0])
    return data


def _initialised_with_people(url: str) -> Beian:
    service = Beian(url)
    service.init()
    for username, (name, roles, region) in PEOPLE.items():
        add_user(service, username, name, PASSWORD, roles, region, is_admin=username == "admin", actor="test")
    return service


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with the schema, the bundled processes and the caseworkers, made once per test process:
    each test gets a copy of the file (a fresh database of its own) instead of hashing seven passwords again."""
    path = tmp_path_factory.mktemp("web-template") / "template.sqlite3"
    _initialised_with_people(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def site(backend_url: str, sqlite_template: Path) -> Iterator[Site]:
    if backend_url.startswith("sqlite:///"):
        target = backend_url.removeprefix("sqlite:///")
        shutil.copyfile(sqlite_template, target)
        if (wal := Path(f"{sqlite_template}-wal")).exists():  # a checkpoint left undone: its pages too
            shutil.copyfile(wal, f"{target}-wal")
        service = Beian(backend_url)
    else:
        service = _initialised_with_people(backend_url)
    case = service.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"]
    app = create_app(backend_url, secret_key="test-secret")
    try:
        yield Site(service, app, case)
    finally:
        app.state.service.close()
        service.close()


def filed(site: Site) -> str:
    """The example application taken through to its receipt (each step passed, the publicity run out): the filing
    number."""
    for bpmn_id, data in (("acceptance", {"decision": "accept"}),
                          ("expert_review", {"result": "pass", "opinion": "符合要求"}),
                          ("site_inspection", {"result": "pass", "opinion": "符合要求"}),
                          ("higher_review", {"result": "pass"})):
        site.service.cases.complete(site.open_task(bpmn_id)["id"], data)
    (publicity,) = site.service.records.show(site.case)["deadlines"]
    with clock.using_clock(clock.VirtualClock(clock.parse_instant(publicity["due"]) + timedelta(seconds=1))):
        site.service.operations.sweep()
    number = site.service.records.show(site.case)["filing_number"]
    assert number
    return number


# --- the institution portal ---------------------------------------------------------------------------------

EXAMPLE_CODE = "91510104MA6C8H2K5N"
EXAMPLE_EMAIL = "hr@jincheng-jg.example.cn"  # the contact the example application gave
OTHER_CODE = "91510100MA62L0BQ7" + check_character("91510100MA62L0BQ7")
NEW_PASSWORD = "portal-pass-2026"  # the portal accounts' password


def code_sent_to(site: Site, contact: str) -> str:
    """The last code the notifications outside system was asked to send to `contact` (what the person reads)."""
    with site.service.reading() as uow:
        texts = [m.payload["text"] for m in uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
                 if m.system == "notifications" and contact in m.payload.get("to", {}).values()]
    assert texts, f"no code sent to {contact}"
    found = re.search(r"验证码 (\d{6})", texts[-1])
    assert found, texts[-1]
    return found.group(1)


def register_institution(site: Site, credit_code: str, contact: str, username: str,
                         name: str = "示例机构") -> TestClient:
    """A portal client signed in as a new account of the institution, registered with the code the sandbox got."""
    client = TestClient(site.app, follow_redirects=False)
    form = client.get("/portal/register")
    assert form.status_code == 200 and "机构注册" in form.text
    sent = client.post("/portal/register", data={"csrf_token": csrf(form.text), "credit_code": credit_code,
                                                 "institution_name": name, "contact": contact})
    assert sent.status_code == 200 and "验证码已发送至" in sent.text, sent.text[-1500:]
    done = client.post("/portal/register/verify", data={
        "csrf_token": csrf(sent.text), "credit_code": credit_code, "institution_name": name, "contact": contact,
        "code": code_sent_to(site, contact), "username": username, "display_name": "王晓梅", "password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/portal/", done.text[-1500:]
    assert PORTAL_COOKIE in done.cookies
    cookie = next(v for v in done.headers.get_list("set-cookie") if v.startswith(PORTAL_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie and "Max-Age=" in cookie
    return client
