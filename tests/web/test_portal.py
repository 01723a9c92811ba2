"""The institution portal over HTTP (issue 16): registering with the credit code and a contact proven by a one-time
code, signing in, the institution's own cases, deadlines and documents, a reply its case waits for (recorded as
机构（用户名）), inviting a colleague — and what it must never do: open another institution's case or document, pass
for a caseworker, or take a form without its CSRF token."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient

from adapters.entrypoints.web.app import SESSION_COOKIE
from adapters.entrypoints.web.guards import APPLICATION_BODY_BYTES, FORM_BODY_BYTES, body_limit
from adapters.entrypoints.web.portal.pages import PORTAL_COOKIE
from tasks.materials import MAX_MATERIAL_BYTES
from tests.support.material_files import PDF, PNG
from tests.support.web import post_application_with_files
from tests.web.conftest import (
    EXAMPLE_CODE,
    EXAMPLE_EMAIL,
    NEW_PASSWORD,
    OTHER_CODE,
    PASSWORD,
    Site,
    code_sent_to,
    csrf,
    filed,
    register_institution,
)


def test_an_institution_registers_with_a_code_sent_to_its_contact_and_sees_its_own(site: Site) -> None:
    client = TestClient(site.app, follow_redirects=False)
    form = client.get("/portal/register")
    token = csrf(form.text)
    bad = client.post("/portal/register", data={"csrf_token": token, "credit_code": "91510104MA6C8H2K5X",
                                                "institution_name": "成都锦城", "contact": EXAMPLE_EMAIL})
    assert bad.status_code == 422 and "统一社会信用代码有误：校验码错误" in bad.text
    stranger = client.post("/portal/register", data={"csrf_token": token, "credit_code": EXAMPLE_CODE,
                                                     "institution_name": "成都锦城", "contact": "13800000000"})
    assert stranger.status_code == 422 and "申请中登记的联系电话或电子邮箱" in stranger.text
    sent = client.post("/portal/register", data={"csrf_token": token, "credit_code": EXAMPLE_CODE,
                                                 "institution_name": "成都锦城", "contact": EXAMPLE_EMAIL})
    assert "验证码已发送至 h***@jincheng-jg.example.cn" in sent.text
    code = code_sent_to(site, EXAMPLE_EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    fields = {"csrf_token": csrf(sent.text), "credit_code": EXAMPLE_CODE, "institution_name": "成都锦城",
              "contact": EXAMPLE_EMAIL, "username": "wang.xm", "display_name": "王晓梅", "password": NEW_PASSWORD}
    refused = client.post("/portal/register/verify", data={**fields, "code": wrong})
    assert refused.status_code == 422 and "验证码不正确，还可尝试 4 次" in refused.text
    done = client.post("/portal/register/verify", data={**fields, "code": code})
    assert done.status_code == 303
    home = client.get("/portal/")
    assert home.status_code == 200
    assert "成都锦城" in home.text and site.case in home.text and "备案申请" in home.text
    # The code works once; the institution registers once (its administrator invites the others).
    again = TestClient(site.app, follow_redirects=False)
    page = again.get("/portal/register")
    taken = again.post("/portal/register", data={"csrf_token": csrf(page.text), "credit_code": EXAMPLE_CODE,
                                                 "institution_name": "成都锦城", "contact": EXAMPLE_EMAIL})
    assert taken.status_code == 422 and "已开通账户" in taken.text


def test_the_institution_reads_its_documents_and_never_anothers(site: Site) -> None:
    ours = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    filed(site)
    home = ours.get("/portal/")
    links = re.findall(r'href="/portal/documents/(\d+)"', home.text)
    assert links and "职业技能等级评价机构备案回执" in home.text
    receipt = ours.get(f"/portal/documents/{links[0]}")
    assert receipt.status_code == 200 and "default-src 'none'" in receipt.headers["content-security-policy"]

    theirs = register_institution(site, OTHER_CODE, "13912345678", "li.other", name="另一家机构")
    assert theirs.get("/portal/").text.count("/portal/documents/") == 0
    for document_id in links + ["999999"]:
        answer = theirs.get(f"/portal/documents/{document_id}")
        assert answer.status_code == 404 and "不属于本机构" in answer.text, "the same answer as a missing one"
    assert theirs.get(f"/portal/cases/{site.case}/statement").status_code == 404
    assert site.case not in theirs.get("/portal/").text


def test_a_portal_session_is_never_a_caseworkers_and_back(site: Site) -> None:
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    portal_token = client.cookies.get(PORTAL_COOKIE)
    caseworker = TestClient(site.app, follow_redirects=False)
    caseworker.cookies.set(SESSION_COOKIE, portal_token)
    assert caseworker.get("/tasks").headers["location"].startswith("/login")
    staff = site.client("li.na")
    staff_token = staff.cookies.get(SESSION_COOKIE)
    impostor = TestClient(site.app, follow_redirects=False)
    impostor.cookies.set(PORTAL_COOKIE, staff_token, path="/portal")
    assert impostor.get("/portal/").headers["location"].startswith("/portal/login")
    # A caseworker's name is not a portal account, and the same password does not open the portal.
    page = impostor.get("/portal/login")
    denied = impostor.post("/portal/login", data={"csrf_token": csrf(page.text), "username": "li.na",
                                                  "password": PASSWORD})
    assert denied.status_code == 401


def test_every_portal_form_needs_its_csrf_token(site: Site) -> None:
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    register = {"credit_code": OTHER_CODE, "institution_name": "某", "contact": "x@y.cn"}
    for path, data in (("/portal/staff", {"username": "x.y", "display_name": "某", "contact": "13700000000"}),
                       ("/portal/logout", {}), ("/portal/login", {"username": "wang.xm", "password": NEW_PASSWORD}),
                       ("/portal/register", register)):
        refused = client.post(path, data={**data, "csrf_token": "x" * 43})
        assert refused.status_code == 403 and "安全校验未通过" in refused.text, path
    assert client.get("/portal/").status_code == 200, "still signed in: the forged logout did nothing"


def test_a_statement_sent_from_the_portal_reaches_the_case_as_the_institutions(site: Site) -> None:
    number = filed(site)
    opened = site.service.cases.send("violation_report", number, {"ground": "false_advertising",
                                                                  "facts": "官网宣传“包过”"}, actor="qian.jian")
    (task,) = site.service.cases.tasks(opened["case"])
    site.service.cases.complete(task["id"], {"decision": "interview", "opinion": "属实", "facts": "官网宣传“包过”"},
                                actor="qian.jian")
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    home = client.get("/portal/")
    link = f"/portal/cases/{opened['case']}/statement"
    assert link in home.text and "告知期间" in home.text and "拟作出处理决定告知书" in home.text
    assert re.search(r"告知期间：[^<]*（剩 [0-5] 个工作日）", home.text), "what is left, in working days"
    form = client.get(link)
    assert form.status_code == 200 and "陈述" in form.text
    empty = client.post(link, data={"csrf_token": csrf(form.text), "text": "  "})
    assert empty.status_code == 422
    sent = client.post(link, data={"csrf_token": csrf(form.text), "text": "宣传页面系他人仿冒"})
    assert sent.status_code == 303, sent.text[-1500:]
    (decide,) = site.service.cases.tasks(opened["case"])
    assert decide["bpmn_id"] == "decide_sanction"
    assert site.service.cases.task(decide["id"])["context"]["statement"]["text"] == "宣传页面系他人仿冒"
    history = site.service.records.show(opened["case"])["history"]
    assert any(h["actor"] == "portal:wang.xm" for h in history)
    page = site.client("qian.jian").get(f"/cases/{opened['case']}")
    assert "机构（wang.xm）" in page.text
    # Nothing waits for it any more: the same reply is refused with the reason, nothing changed.
    assert client.get(link).status_code == 404


def test_the_administrator_invites_a_colleague_who_joins_with_the_code(site: Site) -> None:
    admin = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    page = admin.get("/portal/staff")
    assert "王晓梅" in page.text and "管理员" in page.text
    invited = admin.post("/portal/staff", data={"csrf_token": csrf(page.text), "username": "zhao.kj",
                                                "display_name": "赵会计", "contact": "13698765432"})
    assert invited.status_code == 200 and "已邀请 zhao.kj" in invited.text
    colleague = TestClient(site.app, follow_redirects=False)
    form = colleague.get("/portal/invitation")
    fields: dict[str, Any] = {"csrf_token": csrf(form.text), "credit_code": EXAMPLE_CODE, "username": "zhao.kj",
                              "contact": "13698765432", "password": "colleague-pass-1"}
    wrong_name = colleague.post("/portal/invitation", data={**fields, "username": "zhao.x",
                                                            "code": code_sent_to(site, "13698765432")})
    assert wrong_name.status_code == 422 and "用户名与邀请不符" in wrong_name.text
    # A fresh invitation sends a new code: the newest one counts.
    admin.post("/portal/staff", data={"csrf_token": csrf(page.text), "username": "zhao.kj", "display_name": "赵会计",
                                      "contact": "13698765432"})
    joined = colleague.post("/portal/invitation", data={**fields, "code": code_sent_to(site, "13698765432")})
    assert joined.status_code == 303
    assert EXAMPLE_CODE in colleague.get("/portal/").text
    assert "邀请本机构人员" not in colleague.get("/portal/staff").text, "only the administrator invites"
    refused = colleague.post("/portal/staff", data={"csrf_token": csrf(colleague.get("/portal/staff").text),
                                                    "username": "q.q", "display_name": "某", "contact": "13511112222"})
    assert refused.status_code == 422 and "只有本机构的管理员" in refused.text
    # Disabling the colleague ends the colleague's session at once.
    staff_page = admin.get("/portal/staff")
    assert admin.post("/portal/staff/zhao.kj/disable", data={"csrf_token": csrf(staff_page.text)}).status_code == 303
    assert colleague.get("/portal/").headers["location"].startswith("/portal/login")


def test_repeated_wrong_passwords_lock_the_portal_account(site: Site) -> None:
    register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    client = TestClient(site.app, follow_redirects=False)
    page = client.get("/portal/login")
    for _ in range(5):
        wrong = client.post("/portal/login", data={"csrf_token": csrf(page.text), "username": "wang.xm",
                                                   "password": "not-the-password"})
        assert wrong.status_code == 401
    locked = client.post("/portal/login", data={"csrf_token": csrf(page.text), "username": "wang.xm",
                                                "password": NEW_PASSWORD})
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text


def test_the_institution_starts_what_it_is_entitled_to_on_its_own_filing(site: Site) -> None:
    number = filed(site)
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    assert "/portal/start/change_report?filing=" in client.get("/portal/").text
    form = client.get("/portal/start/change_report", params={"filing": number})
    assert form.status_code == 200 and '<option value="address"' in form.text
    assert '<option value="assessors"' not in form.text, "a list is changed on its own form"
    assert f"/portal/start/change_report/assessors?filing={quote(number)}" in form.text
    token = csrf(form.text)
    reported = client.post("/portal/start/change_report", data={
        "csrf_token": token, "filing": number, "field": "address", "after": "四川省成都市锦江区东大街 1 号",
        "explanation": "办公场所搬迁"})
    assert reported.status_code == 303, reported.text[-1500:]
    [change] = [c for c in site.service.records.show(number)["cases"] if c["process"] == "change_report"]
    assert any(h["actor"] == "portal:wang.xm" for h in site.service.records.show(change["case"])["history"])
    # What the process does not allow now is refused with the reason, and nothing changes.
    early = client.post("/portal/start/renewal_application", data={"csrf_token": token, "filing": number,
                                                                   "summary": "申请续期"})
    assert early.status_code == 422 and "续期申请应在届满前三个月内提出" in early.text and "未作任何更改" in early.text
    other = client.post("/portal/start/renewal_application",
                        data={"csrf_token": token, "filing": "川技评备〔2026〕9999号", "summary": "x"})
    assert other.status_code == 404 and "不属于本机构" in other.text
    bogus = client.post("/portal/start/change_report", data={"csrf_token": token, "filing": number,
                                                             "field": "experts", "after": "x"})
    assert bogus.status_code == 422 and "请选择要变更的事项" in bogus.text
    assert client.get("/portal/start/rating").status_code == 404


def test_an_application_filed_online_reaches_intake_marked_as_such(site: Site) -> None:
    """The same form and checks as intake's, without its 收件日期 (the moment of filing is the date); for the
    institution's own credit code only; the intake clerk's worklist says 网上申请; the history 机构（用户名）."""
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    form = client.get("/portal/apply")
    assert form.status_code == 200 and "网上备案申请" in form.text and "收件日期" not in form.text
    assert f'value="{EXAMPLE_CODE}"' in form.text, "the institution's own code, filled in"
    token = csrf(form.text)
    other = post_application_with_files(client, token, [], url="/portal/apply",
                                        **{"institution[credit_code]": OTHER_CODE})
    assert other.status_code == 422 and "网上申请只能为本机构提交" in other.text
    broken = post_application_with_files(client, token, [], url="/portal/apply", **{"institution[name]": ""})
    assert broken.status_code == 422
    before = {t["case"] for t in site.service.cases.tasks()}
    filed_online = post_application_with_files(client, token, [("application_form", "备案申请表.pdf", PDF)],
                                               url="/portal/apply")
    assert filed_online.status_code == 303, filed_online.text[-2000:]
    case = filed_online.headers["location"].split("applied=")[1]
    assert case not in before and case in {t["case"] for t in site.service.cases.tasks()}
    assert case in client.get("/portal/").text
    worklist = site.client("li.na").get("/tasks")
    row = worklist.text.split(case)[0].rsplit("<tr", 1)[-1] + worklist.text.split(case)[1].split("</tr>")[0]
    assert "网上申请" in row
    history = site.service.records.show(case)["history"]
    assert history[0]["actor"] == "portal:wang.xm"
    materials = {m["item"]: m for m in site.service.materials.of_case(case)}
    assert materials["application_form"]["versions"][0]["file_name"] == "备案申请表.pdf"


def test_the_institution_answers_a_supplementation_with_corrected_fields_and_files(site: Site) -> None:
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    site.service.cases.complete(site.open_task("acceptance")["id"], {
        "decision": "supplement", "missing_items": ["legal_person_certificate"], "reasons": "营业执照复印件不清晰"},
        actor="li.na")
    home = client.get("/portal/")
    link = f"/portal/cases/{site.case}/resubmission"
    assert link in home.text and "提交补正材料" in home.text and "补正材料通知书" in home.text
    form = client.get(link)
    assert form.status_code == 200 and "营业执照复印件不清晰" in form.text and "收件日期" not in form.text
    assert 'value="成都锦城精工机械制造有限公司"' in form.text
    token = csrf(form.text)
    swapped = post_application_with_files(client, token, [], url=link, **{"institution[credit_code]": OTHER_CODE})
    assert swapped.status_code == 422 and "补正不能改变申请机构" in swapped.text
    assert site.service.supplements.requested(site.case)["waiting"], "nothing kept"
    sent = post_application_with_files(client, token, [("legal_person_certificate", "营业执照.png", PNG)], url=link,
                                       extra=(("note", "已补交清晰的营业执照"),),
                                       **{"institution[phone]": "028-87654321"})
    assert sent.status_code == 303, sent.text[-2000:]
    assert not site.service.supplements.requested(site.case)["waiting"]
    assert site.service.records.show(site.case)["application"]["institution"]["phone"] == "028-87654321"
    assert any(h["actor"] == "portal:wang.xm" for h in site.service.records.show(site.case)["history"])
    assert client.get(link).status_code == 404, "nothing waits for a resubmission any more"
    theirs = register_institution(site, OTHER_CODE, "13912345678", "li.other", name="另一家机构")
    assert theirs.get(link).status_code == 404


def test_an_online_application_is_saved_as_a_draft_and_found_again(site: Site) -> None:
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    token = csrf(client.get("/portal/apply").text)
    saved = post_application_with_files(client, token, [], url="/portal/apply", extra=(("_save_draft", "1"),),
                                        **{"institution[address]": "四川省成都市锦江区暂存路 9 号"})
    assert saved.status_code == 200 and "已暂存" in saved.text
    assert {t["case"] for t in site.service.cases.tasks()} == {site.case}, "a draft files nothing"
    again = client.get("/portal/apply")
    assert "四川省成都市锦江区暂存路 9 号" in again.text and "已暂存" in again.text
    # Another institution's person never sees it.
    theirs = register_institution(site, OTHER_CODE, "13912345678", "li.other", name="另一家机构")
    assert "暂存路" not in theirs.get("/portal/apply").text
    sent = post_application_with_files(client, csrf(again.text), [], url="/portal/apply",
                                       **{"institution[address]": "四川省成都市锦江区暂存路 9 号"})
    assert sent.status_code == 303
    assert "暂存路" not in client.get("/portal/apply").text, "sent: the draft is gone"


def test_an_online_application_and_the_portals_forms_are_bounded(site: Site) -> None:
    """The portal's bodies are bounded as intake's and the forms' (the guard, before reading); a file over the
    material limit is refused by name and nothing is filed."""
    assert body_limit("/portal/apply") == APPLICATION_BODY_BYTES
    assert body_limit(f"/portal/cases/{site.case}/resubmission") == APPLICATION_BODY_BYTES
    assert body_limit("/portal/login") == body_limit("/portal/staff") == FORM_BODY_BYTES
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    token = csrf(client.get("/portal/apply").text)
    too_big = b"%PDF-" + b"0" * (MAX_MATERIAL_BYTES + 1)
    big = post_application_with_files(client, token, [("application_form", "big.pdf", too_big)], url="/portal/apply")
    assert big.status_code == 422 and "big.pdf" in big.text
    assert {t["case"] for t in site.service.cases.tasks()} == {site.case}


def test_an_investigation_is_not_shown_before_the_institution_is_told(site: Site) -> None:
    number = filed(site)
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    opened = site.service.cases.send("violation_report", number, {"ground": "false_advertising",
                                                                  "facts": "官网宣传“包过”"}, actor="qian.jian")
    assert opened["case"] not in client.get("/portal/").text, "a report must not tip the institution off"
    assert client.get(f"/portal/cases/{opened['case']}/statement").status_code == 404
    (task,) = site.service.cases.tasks(opened["case"])
    site.service.cases.complete(task["id"], {"decision": "warning", "opinion": "属实", "facts": "官网宣传“包过”",
                                             "rectification_days": 10}, actor="qian.jian")
    home = client.get("/portal/").text
    assert opened["case"] in home and "拟作出处理决定告知书" in home
