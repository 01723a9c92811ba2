"""The public pages, without signing in (issue 16): a receipt's filing number checked, the directory searched and
filtered, the institutions in publicity read and objected to — exactly the published fields (Sichuan 四) and nothing
else, every form CSRF-protected, what the public sends bounded per address and per day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.material_files import PDF
from tests.support.scenarios import filed_now, open_task, to_publicity_now
from tests.web.conftest import Site, csrf
from workflows import clock
from workflows.service.public import PER_ADDRESS_PER_DAY

PRIVATE = ("legal_representative_id_number", "510104197203151232", "李建国", "id_number", "assessors", "考评人员",
           "question_bank", "使用国家题库")


def _filed(site: Site) -> str:
    filed_now(site.service, site.case)
    number = site.service.records.show(site.case)["filing_number"]
    assert number
    return str(number)


def _no_private_field(html: str) -> None:
    for secret in PRIVATE:
        assert secret not in html, secret


def test_a_genuine_receipt_in_force_shows_only_the_published_fields(site: Site) -> None:
    number = _filed(site)
    public = site.client()
    page = public.get(f"/public/verify/{quote(number, safe='')}")
    assert page.status_code == 200
    html = page.text
    assert "该备案回执真实有效" in html and number in html and "成都锦城精工机械制造有限公司" in html
    assert "6-18-01-01" in html and "车工" in html and "国家职业技能标准" in html
    _no_private_field(html)
    assert "我的待办" not in html and "登记纸质申请" not in html, "no caseworker navigation"
    # The form on the page goes to the same place.
    assert public.get("/public/verify", params={"number": number}).headers["location"].endswith(
        quote(number, safe=""))


def test_a_number_this_system_never_issued_is_said_to_be_unknown(site: Site) -> None:
    page = site.client().get(f"/public/verify/{quote('川技评备〔2026〕9999号', safe='')}")
    assert page.status_code == 404 and "不是本系统出具的备案回执编号" in page.text


def test_a_terminated_filing_says_so_with_its_date(site: Site) -> None:
    number = _filed(site)
    service = site.service
    (publicity_end,) = [d for d in service.records.show(site.case)["history"] if d["action"] == "filing_issued"]
    start = clock.parse_instant(publicity_end["at"]) + timedelta(days=3)
    with clock.using_clock(clock.VirtualClock(start)):
        case = service.cases.send("violation_report", number, {"ground": "beyond_scope", "facts": "超范围评价"},
                                  actor="qian.jian")["case"]
        service.cases.complete(open_task(service, case, "termination_investigation")["id"],
                               {"decision": "propose", "opinion": "属实", "facts": "超范围评价"}, actor="qian.jian")
    due = [d for d in service.records.show(case)["deadlines"] if d["kind"] == "timer"][0]["due"]
    with clock.using_clock(clock.VirtualClock(clock.parse_instant(due) + timedelta(seconds=1))):
        service.operations.sweep()
        service.cases.complete(open_task(service, case, "decide_termination")["id"],
                               {"decision": "terminate", "reasons": "超范围评价属实"}, actor="admin")
    html = site.client().get(f"/public/verify/{quote(number, safe='')}").text
    assert "该备案回执真实，但备案目前不在有效状态：已终止备案（责令终止" in html
    assert "该备案回执真实有效" not in html
    # Out of the directory, too.
    assert number not in site.client().get("/public/directory").text


def test_the_directory_finds_and_filters_filed_institutions(site: Site) -> None:
    number = _filed(site)
    public = site.client()
    listed = public.get("/public/directory").text
    assert number in listed and "共 1 家机构" in listed
    _no_private_field(listed)
    for params in ({"q": "锦城精工"}, {"q": "91510104ma6c8h2k5n"}, {"q": number}, {"region": "51"},
                   {"occupation": "6-18-01-01"}, {"status": "filed"}):
        assert number in public.get("/public/directory", params=params).text, params
    for params in ({"q": "不存在的机构"}, {"region": "11"}, {"occupation": "4-01-01-01"}, {"status": "suspended"}):
        assert "共 0 家机构" in public.get("/public/directory", params=params).text, params
    refused = public.get("/public/directory", params={"region": "成都", "status": "terminated"})
    assert refused.status_code == 422 and "地区应为行政区划代码" in refused.text and "备案状态应为" in refused.text
    assert public.get("/public/directory", params={"q": "x" * 101}).status_code == 422
    assert "共 0 家机构" in public.get("/public/directory", params={"q": "%"}).text, "a wildcard is a character"


def _objection(site: Site, client: Any, **fields: Any) -> Any:
    form = client.get(f"/public/publicity/{site.case}/objection")
    assert form.status_code == 200, form.text[-500:]
    data = {"csrf_token": csrf(form.text), "objector": "张先生", "contact": "13800000000",
            "content": "该机构公示的考试场地实际为仓库", **fields}
    return client.post(f"/public/publicity/{site.case}/objection", data=data,
                       files=[("evidence", ("现场照片.pdf", PDF, "application/pdf"))])


def test_the_public_reads_the_publicity_and_objects_and_it_reaches_the_review(site: Site) -> None:
    public = site.client()
    assert "目前没有处于公示期的机构" in public.get("/public/publicity").text
    to_publicity_now(site.service, site.case)
    listing = public.get("/public/publicity").text
    assert "成都锦城精工机械制造有限公司" in listing and f"/public/publicity/{site.case}/objection" in listing
    _no_private_field(listing)
    sent = _objection(site, public)
    assert sent.status_code == 200 and "异议已提交" in sent.text
    review = site.open_task("objection_review")
    assert review["context"]["objection"]["objector"] == "张先生"
    assert "该机构公示的考试场地实际为仓库" in site.client("qian.jian").get(f"/tasks/{review['id']}").text
    assert "现场照片.pdf" in site.client("qian.jian").get(f"/tasks/{review['id']}").text
    history = site.service.records.show(site.case)["history"]
    assert any(h["actor"] == "public" for h in history), "the history says the public sent it"


def test_an_objection_needs_its_token_and_is_bounded(site: Site) -> None:
    to_publicity_now(site.service, site.case)
    public = site.client()
    forged = public.post(f"/public/publicity/{site.case}/objection",
                         data={"csrf_token": "x" * 43, "objector": "甲", "contact": "1", "content": "乙"})
    assert forged.status_code == 403
    too_long = _objection(site, public, content="长" * 2001)
    assert too_long.status_code == 422 and "异议内容不能超过 2000 个字符" in too_long.text
    assert _objection(site, public, objector="").status_code == 422
    assert site.service.records.show(site.case)["case_status"] == "publicity", "nothing reached the case"


def test_one_address_may_object_a_few_times_a_day(site: Site) -> None:
    to_publicity_now(site.service, site.case)
    public = site.client()
    for _ in range(PER_ADDRESS_PER_DAY):
        assert _objection(site, public).status_code == 200
        review = site.open_task("objection_review")
        site.service.cases.complete(review["id"], {"upheld": False, "opinion": "不成立"}, actor="qian.jian")
    refused = _objection(site, public)
    assert refused.status_code == 422 and "每天最多提交" in refused.text


def test_an_objection_outside_publicity_is_refused_plainly(site: Site) -> None:
    page = site.client().get(f"/public/publicity/{site.case}/objection")
    assert page.status_code == 404 and "不在公示期内" in page.text


@pytest.mark.parametrize("path", ["/public/directory", "/public/verify", "/public/publicity"])
def test_the_public_pages_need_no_sign_in(site: Site, path: str) -> None:
    page = site.client().get(path)
    assert page.status_code == 200 and "职业技能等级评价机构备案公开查询" in page.text


def test_the_receipt_carries_a_qr_code_to_its_public_check(site: Site) -> None:
    number = _filed(site)
    [receipt] = [d for d in site.service.records.show(site.case)["documents"] if d["kind"] == "filing_receipt"]
    html = site.service.records.document(receipt["id"])["html"]
    url = f"http://127.0.0.1:8000/public/verify/{quote(number, safe='')}"
    assert f"访问 http://127.0.0.1:8000/public/verify/{number}，可核验本回执" in html, "printed as people type it"
    assert 'class="qr" src="data:image/svg+xml;charset=utf-8,%3Csvg' in html
    # The address on the receipt opens the check (the path part, on this test server).
    assert "该备案回执真实有效" in site.client().get(url.removeprefix("http://127.0.0.1:8000")).text
