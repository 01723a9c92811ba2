"""Every route of the web app, for every kind of caseworker: what is allowed works, what is not is refused with a
reason in Chinese and changes nothing. Server-side only (the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD, Site, csrf

ANONYMOUS_GETS = ("/tasks", "/tasks/some-task", "/cases/BA2026-00001", "/documents/1", "/documents/1.pdf")


@pytest.mark.parametrize("path", ANONYMOUS_GETS)
def test_every_page_needs_a_signed_in_caseworker(site: Site, path: str) -> None:
    response = site.client().get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_posts_need_a_signed_in_caseworker_and_change_nothing(site: Site) -> None:
    task = site.open_task("acceptance")
    client = site.client()
    for path in (f"/tasks/{task['id']}", f"/tasks/{task['id']}/claim", f"/tasks/{task['id']}/release"):
        response = client.post(path, data={"decision": "accept"})
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert site.open_task("acceptance")["claimed_by"] is None


def test_sign_in_refuses_a_wrong_password_and_a_disabled_account(site: Site) -> None:
    client = site.client()
    token = csrf(client.get("/login").text)
    wrong = client.post("/login", data={"username": "li.na", "password": "wrong-password", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.text
    from workflows.users import set_active

    set_active(site.service, "li.na", False, actor="test")
    disabled = client.post("/login", data={"username": "li.na", "password": PASSWORD, "csrf_token": token})
    assert disabled.status_code == 401


def test_repeated_wrong_passwords_pause_the_sign_in_with_a_chinese_reason(site: Site) -> None:
    from workflows.users import MAX_FAILURES

    client = site.client()
    token = csrf(client.get("/login").text)
    for _ in range(MAX_FAILURES):
        wrong = client.post("/login", data={"username": "li.na", "password": "wrong-password", "csrf_token": token})
        assert wrong.status_code == 401
    paused = client.post("/login", data={"username": "li.na", "password": PASSWORD, "csrf_token": token})
    assert paused.status_code == 429 and "登录失败次数过多，已暂停登录，请 15 分钟后再试" in paused.text
    assert client.get("/tasks").status_code == 303  # not signed in
    other = site.client("li.wei")  # another account from the same address still signs in
    assert other.get("/tasks").status_code == 200


def test_a_form_without_the_session_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    task = site.open_task("acceptance")
    client = site.client("li.na")
    for token in ("", "forged"):
        response = client.post(f"/tasks/{task['id']}", data={"decision": "accept", "csrf_token": token})
        assert response.status_code == 403 and "安全校验未通过" in response.text
    assert site.service.records.show(site.case)["case_status"] == "applied"
    login = site.client().post("/login", data={"username": "li.na", "password": PASSWORD})  # no token: no sign-in
    assert login.status_code == 403


def test_sign_out_ends_the_session(site: Site) -> None:
    client = site.client("li.na")
    token = csrf(client.get("/tasks").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/tasks").status_code == 303


@pytest.mark.parametrize(("username", "sees"), [("li.na", True), ("li.wei", True), ("wang.fang", False),
                                                ("zhao.lei", False), ("sun.qiang", False), ("admin", False)])
def test_the_worklist_shows_a_task_only_to_its_role_in_its_region(site: Site, username: str, sees: bool) -> None:
    page = site.client(username).get("/tasks?view=unclaimed")
    assert page.status_code == 200
    assert (site.case in page.text) is sees
    assert ("<table class=\"worklist\">" in page.text) is sees


@pytest.mark.parametrize(("username", "status"), [("li.na", 200), ("li.wei", 200), ("wang.fang", 403),
                                                  ("zhao.lei", 403), ("sun.qiang", 403), ("admin", 403)])
def test_a_task_page_is_for_its_role_and_region_only(site: Site, username: str, status: int) -> None:
    task = site.open_task("acceptance")
    page = site.client(username).get(f"/tasks/{task['id']}")
    assert page.status_code == status
    if status == 403:
        assert "无权办理" in page.text
    else:
        assert 'name="decision"' in page.text and "予以受理" in page.text


@pytest.mark.parametrize("username", ["wang.fang", "zhao.lei", "sun.qiang", "admin"])
def test_completing_or_claiming_someone_elses_task_is_refused_and_changes_nothing(site: Site, username: str) -> None:
    task = site.open_task("acceptance")
    client = site.client(username)
    token = csrf(client.get("/tasks").text)
    for path in (f"/tasks/{task['id']}", f"/tasks/{task['id']}/claim"):
        response = client.post(path, data={"decision": "accept", "csrf_token": token})
        assert response.status_code == 403 and "无权办理" in response.text
    assert site.open_task("acceptance")["claimed_by"] is None
    assert site.service.records.show(site.case)["case_status"] == "applied"


def test_a_claimed_task_is_its_claimants_until_released(site: Site) -> None:
    task = site.open_task("acceptance")
    li, li2 = site.client("li.na"), site.client("li.wei")
    li_token, li2_token = csrf(li.get("/tasks").text), csrf(li2.get("/tasks").text)
    assert li.post(f"/tasks/{task['id']}/claim", data={"csrf_token": li_token}).status_code == 303
    assert site.open_task("acceptance")["claimed_by"] == "li.na"
    assert site.case in li.get("/tasks?view=mine").text
    assert site.case not in li2.get("/tasks?view=unclaimed").text
    refused = li2.post(f"/tasks/{task['id']}", data={"decision": "accept", "csrf_token": li2_token})
    assert refused.status_code == 403 and "已由 li.na 认领" in refused.text
    assert li2.post(f"/tasks/{task['id']}/release", data={"csrf_token": li2_token}).status_code == 409
    assert li.post(f"/tasks/{task['id']}/release", data={"csrf_token": li_token}).status_code == 303
    assert site.open_task("acceptance")["claimed_by"] is None


def test_bad_form_values_are_refused_with_chinese_messages_and_nothing_changes(site: Site) -> None:
    task = site.open_task("acceptance")
    client = site.client("li.na")
    token = csrf(client.get(f"/tasks/{task['id']}").text)
    missing = client.post(f"/tasks/{task['id']}", data={"csrf_token": token})
    assert missing.status_code == 422 and "受理决定" in missing.text
    no_reason = client.post(f"/tasks/{task['id']}", data={"decision": "reject", "csrf_token": token})
    assert no_reason.status_code == 422 and "理由或需补正的材料" in no_reason.text
    unknown = client.post(f"/tasks/{task['id']}", data={"decision": "maybe", "csrf_token": token})
    assert unknown.status_code == 422
    assert site.service.records.show(site.case)["case_status"] == "applied"


def test_completing_moves_the_case_on_and_a_stale_form_is_refused(site: Site) -> None:
    task = site.open_task("acceptance")
    client = site.client("li.na")
    token = csrf(client.get(f"/tasks/{task['id']}").text)
    done = client.post(f"/tasks/{task['id']}", data={"decision": "accept", "reasons": "材料齐全", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"].startswith(f"/cases/{site.case}")
    assert site.service.records.show(site.case)["case_status"] == "under_review"
    assert "专家评估" in site.client("zhao.lei").get("/tasks?view=unclaimed").text
    # The same form sent again (a second tab, a double click): the task is gone; nothing changes.
    stale = client.post(f"/tasks/{task['id']}", data={"decision": "reject", "reasons": "x", "csrf_token": token})
    assert stale.status_code == 409 and "不再有效" in stale.text
    assert site.service.records.show(site.case)["case_status"] == "under_review"


def _to_higher_review(site: Site) -> None:
    for bpmn_id, data in (("acceptance", {"decision": "accept"}),
                          ("expert_review", {"result": "pass", "opinion": "符合要求"}),
                          ("site_inspection", {"result": "pass", "opinion": "符合要求"})):
        site.service.cases.complete(site.open_task(bpmn_id)["id"], data)


@pytest.mark.parametrize(("username", "before", "after"), [
    ("li.na", 200, 200), ("zhao.lei", 200, 200), ("wang.fang", 403, 403), ("sun.qiang", 403, 200), ("admin", 200, 200)])
def test_a_case_page_is_for_its_region_and_for_the_province_once_it_has_a_task(
        site: Site, username: str, before: int, after: int) -> None:
    client = site.client(username)
    assert client.get(f"/cases/{site.case}").status_code == before
    _to_higher_review(site)
    page = client.get(f"/cases/{site.case}")
    assert page.status_code == after
    if after == 200:
        assert "<h2>历史</h2>" in page.text and "上级复核" in page.text


def test_the_provincial_reviewer_works_on_the_higher_review(site: Site) -> None:
    _to_higher_review(site)
    task = site.open_task("higher_review")
    assert site.client("li.na").get(f"/tasks/{task['id']}").status_code == 403
    sun = site.client("sun.qiang")
    token = csrf(sun.get(f"/tasks/{task['id']}").text)
    assert sun.post(f"/tasks/{task['id']}", data={"result": "pass", "csrf_token": token}).status_code == 303
    assert site.service.records.show(site.case)["case_status"] == "publicity"


@pytest.mark.parametrize(("username", "status"), [("li.na", 200), ("wang.fang", 403), ("sun.qiang", 403)])
def test_documents_as_html_and_pdf_for_those_who_may_see_the_case(site: Site, username: str, status: int) -> None:
    site.service.cases.complete(site.open_task("acceptance")["id"],
                                {"decision": "reject", "reasons": "不属于技能类职业"})
    (document,) = site.service.records.show(site.case)["documents"]
    client = site.client(username)
    html = client.get(f"/documents/{document['id']}")
    pdf = client.get(f"/documents/{document['id']}.pdf")
    assert html.status_code == pdf.status_code == status
    if status == 200:
        assert "不予受理通知书" in html.text
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get("/documents/999999").status_code == 404


def test_the_worklist_filters_by_process_case_status_and_region(site: Site) -> None:
    client = site.client("li.na")

    def shows(**query: str) -> bool:
        page = client.get("/tasks", params={"view": "all", **query})
        assert page.status_code == 200
        return site.case in page.text

    assert shows() and shows(process="filing_application") and not shows(process="renewal")
    assert shows(status="applied") and not shows(status="filed")
    assert shows(region="510104") and shows(region="510100") and shows(region="510000")
    assert not shows(region="510700") and not shows(region="110000")
    assert shows(region="not-a-code")  # ignored, not an error
