"""角色管理 in the browser's pages: an administrator sees every role a lane may stand for and adds one (as `beian roles
add` does, audited); a caseworker is refused; what is wrong is said beside the form with what was typed kept, and
nothing is written."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from adapters.outside.db import AddedRole, AuditEvent
from tasks.roles import use_added_roles
from tests.web.conftest import Site, csrf
from workflows.roles import list_roles


def _form(site: Site) -> tuple[TestClient, str]:
    client = site.client("admin")
    page = client.get("/admin/roles")
    assert page.status_code == 200
    return client, csrf(page.text)


def test_the_administrator_sees_the_roles_and_adds_one(site: Site) -> None:
    try:
        client, token = _form(site)
        page = client.get("/admin/roles").text
        assert "角色管理" in page and "受理人员" in page and "<code>intake</code>" in page and "内置" in page
        assert '<a href="/admin/roles">角色管理</a>' in page  # in the administrator's menu
        added = client.post("/admin/roles", data={
            "csrf_token": token, "key": "legal_review", "label": "法制审核员", "level": "province",
            "description": "审核处理决定的合法性"})
        assert added.status_code == 303 and added.headers["location"].startswith("/admin/roles?done=")
        shown = client.get(added.headers["location"]).text
        assert "已新增角色：法制审核员（legal_review）" in shown and "管理员新增" in shown
        assert "审核处理决定的合法性" in shown
        assert {"key": "legal_review", "label": "法制审核员", "level": "province"}.items() <= next(
            r for r in list_roles(site.service) if r["key"] == "legal_review").items()
        with site.service.reading() as uow:
            (event,) = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "role_added"))
            assert event.actor == "admin" and event.detail["key"] == "legal_review"
    finally:
        use_added_roles([])  # this process's view of the added roles, for the next test's database


def test_a_caseworker_is_refused(site: Site) -> None:
    assert site.client("li.na").get("/admin/roles").status_code == 403
    client = site.client("li.na")
    token = csrf(client.get("/tasks").text)
    refused = client.post("/admin/roles", data={"csrf_token": token, "key": "x_role", "label": "某角色",
                                                "level": "any"})
    assert refused.status_code == 403 and "只有管理员可以管理角色" in refused.text
    assert "/admin/roles" not in site.client("li.na").get("/tasks").text  # no link in a caseworker's menu
    with site.service.reading() as uow:
        assert list(uow.session.scalars(select(AddedRole))) == []


def test_what_is_wrong_is_said_beside_the_form_and_nothing_is_written(site: Site) -> None:
    client, token = _form(site)
    for sent, said in [
        ({"key": "Legal Review", "label": "法制审核员", "level": "any"}, "角色代码“Legal Review”应为"),
        ({"key": "legal_review", "label": "受理人员", "level": "any"}, "角色名称“受理人员”已有（代码 intake）"),
        ({"key": "intake", "label": "新角色", "level": "any"}, "角色代码“intake”已被“受理人员”使用"),
        ({"key": "legal_review", "label": "法" * 200, "level": "any"}, "角色名称应为 1 至 20 个字"),
        ({"key": "legal_review", "label": "法制\u202e审核员", "level": "any"}, "角色名称"),
        ({"key": "legal_review", "label": "法制审核员", "level": "galaxy"}, "角色层级应为"),
    ]:
        refused = client.post("/admin/roles", data={"csrf_token": token, **sent})
        assert refused.status_code == 422 and said in refused.text, (sent, refused.text[-2000:])
        assert 'role="alert"' in refused.text
        assert f'value="{sent["key"]}"' in refused.text  # what was typed is kept
    forged = client.post("/admin/roles", data={"csrf_token": "forged", "key": "legal_review",
                                               "label": "法制审核员", "level": "any"})
    assert forged.status_code == 403
    with site.service.reading() as uow:
        assert list(uow.session.scalars(select(AddedRole))) == []
