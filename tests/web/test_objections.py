"""Objections in the browser: the publicity officer sees the cases of their authority in publicity and registers an
objection as it arrives (objector, contact, content, files); it reaches the supervision officer's review, and the
objector is told the conclusion by the contact they left. What cannot be taken keeps nothing."""

from __future__ import annotations

from sqlalchemy import select

from adapters.outside.db import OutboxMessage
from tests.support.material_files import PDF
from tests.support.scenarios import to_publicity_now
from tests.web.conftest import Site, csrf


def _in_publicity(site: Site) -> None:
    to_publicity_now(site.service, site.case)
    assert site.service.records.show(site.case)["case_status"] == "publicity"


def _object(site: Site, **fields: str) -> object:
    client = site.client("zhou.gong")
    form = client.get(f"/cases/{site.case}/objections/new")
    assert form.status_code == 200
    data = {"csrf_token": csrf(form.text), "objector": "某职业培训学校", "contact": "jubao@example.cn",
            "content": "该机构考评人员资格证书存疑", **fields}
    return client.post(f"/cases/{site.case}/objections/new", data=data,
                       files=[("evidence", ("证书照片.pdf", PDF, "application/pdf"))])


def test_the_publicity_officer_sees_the_cases_in_publicity(site: Site) -> None:
    client = site.client("zhou.gong")
    assert site.case not in client.get("/publicity").text
    _in_publicity(site)
    page = client.get("/publicity").text
    assert site.case in page and f'href="/cases/{site.case}/objections/new"' in page and "公示" in page
    assert site.client("li.na").get("/publicity").status_code == 403
    assert 'href="/publicity"' in client.get("/tasks").text


def test_an_objection_reaches_the_review_and_the_objector_is_told(site: Site) -> None:
    _in_publicity(site)
    sent = _object(site)
    assert sent.status_code == 303, sent.text[-2000:]
    review = site.open_task("objection_review")
    assert "证书照片.pdf" in site.client("qian.jian").get(f"/tasks/{review['id']}").text  # in the review's file
    materials = {m["item"]: m for m in site.service.materials.of_case(site.case)}
    evidence = materials["objection_evidence"]
    assert evidence["name"] == "公示异议材料" and evidence["versions"][0]["file_name"] == "证书照片.pdf"
    site.service.cases.complete(review["id"], {"upheld": False, "opinion": "经核查，证书真实有效"}, actor="qian.jian")
    with site.service.reading() as uow:
        told = [m.payload for m in uow.session.scalars(select(OutboxMessage)) if m.summary.startswith("告知异议人")]
    assert len(told) == 1 and told[0]["to"] == {"name": "某职业培训学校", "email": "jubao@example.cn"}
    assert "异议不成立" in told[0]["text"] and "经核查，证书真实有效" in told[0]["text"]
    history = [h["summary"] for h in site.service.records.show(site.case)["history"]]
    assert any(s.startswith("已告知异议人某职业培训学校") for s in history)


def test_without_a_contact_the_history_says_the_objector_could_not_be_told(site: Site) -> None:
    _in_publicity(site)
    assert _object(site, contact="").status_code == 303
    review = site.open_task("objection_review")
    site.service.cases.complete(review["id"], {"upheld": False, "opinion": "不成立"}, actor="qian.jian")
    history = [h["summary"] for h in site.service.records.show(site.case)["history"]]
    assert any("未留联系方式" in s for s in history)


def test_an_objection_that_cannot_be_taken_keeps_nothing(site: Site) -> None:
    client = site.client("zhou.gong")
    form = client.get(f"/cases/{site.case}/objections/new")  # the case is not in publicity yet
    refused = client.post(f"/cases/{site.case}/objections/new",
                          data={"csrf_token": csrf(form.text), "objector": "甲", "content": "乙"},
                          files=[("evidence", ("证据.pdf", PDF, "application/pdf"))])
    assert refused.status_code == 422 and "公示异议" in refused.text and "未登记" in refused.text
    assert all(m["item"] != "objection_evidence" for m in site.service.materials.of_case(site.case))
    _in_publicity(site)
    blank = _object(site, objector="   ")
    assert blank.status_code == 422 and "异议人不能为空" in blank.text
    wrong_type = client.post(f"/cases/{site.case}/objections/new",
                             data={"csrf_token": csrf(form.text), "objector": "甲", "content": "乙"},
                             files=[("evidence", ("证据.exe", b"MZ", "application/octet-stream"))])
    assert wrong_type.status_code == 422 and "只接受 PDF" in wrong_type.text
    assert all(m["item"] != "objection_evidence" for m in site.service.materials.of_case(site.case))
    assert site.client("li.na").get(f"/cases/{site.case}/objections/new").status_code == 403
