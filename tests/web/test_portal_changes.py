"""A change report of a list of the filed particulars from the portal (issue 16): the site, staff and occupation
lists are given anew on the application form's own fields, filled from the filing record; the whole record with
the new list is checked as every way in checks an application; the caseworker reviewing it reads each field before
and after; approved, the filing record holds the new list."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.support.forms import browser_post
from tests.support.web import post_pairs
from tests.web.conftest import (
    EXAMPLE_CODE,
    EXAMPLE_EMAIL,
    OTHER_CODE,
    Site,
    csrf,
    filed,
    register_institution,
)

FORM = "//form[contains(@class, 'application-form')]"


def _form(client: TestClient, name: str, number: str) -> str:
    page = client.get(f"/portal/start/change_report/{name}", params={"filing": number})
    assert page.status_code == 200, page.text[-1500:]
    return page.text


def _replaced(pairs: list[tuple[str, str]], changes: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, changes.get(name, value)) for name, value in pairs]


def _change_cases(site: Site, number: str) -> list[dict[str, Any]]:
    return [c for c in site.service.records.show(number)["cases"] if c["process"] == "change_report"]


def test_a_site_list_is_edited_from_the_filing_record_reviewed_field_by_field_and_filed(site: Site) -> None:
    number = filed(site)
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    page = _form(client, "sites", number)
    assert "变更考核场地及设施设备" in page and "锦城精工技能实训中心" in page and "CA6140" in page, \
        "the form starts from what is on file"
    pairs = browser_post(page, FORM)
    pairs = _replaced(pairs, {"sites[0][address]": "四川省成都市锦江区东大街 1 号", "explanation": "考核场地搬迁"})
    sent = post_pairs(client, "/portal/start/change_report/sites", pairs)
    assert sent.status_code == 303 and sent.headers["location"] == "/portal/?sent=1", sent.text[-2000:]
    [case] = _change_cases(site, number)
    assert any(h["actor"] == "portal:wang.xm" for h in site.service.records.show(case["case"])["history"])

    # The reviewer reads the change field by field, before and after; the other fields are not listed as changed.
    reported = site.service.records.reported_changes(case["case"])
    assert reported is not None and reported["note"] == "考核场地搬迁"
    assert [(c["field"], c["before"], c["after"]) for c in reported["fields"]] == [
        ("场地第1项·场地地址", "四川省成都市锦江区三色路 88 号 3 号厂房", "四川省成都市锦江区东大街 1 号")]
    [review] = [t for t in site.service.cases.tasks(case["case"]) if t["bpmn_id"] == "change_review"]
    task_page = site.client("li.na").get(f"/tasks/{review['id']}").text
    assert "报告的变更事项" in task_page and "四川省成都市锦江区东大街 1 号" in task_page
    assert "field：sites" not in task_page, "the raw request is not shown"

    site.service.cases.complete(review["id"], {"result": "pass", "opinion": "同意"})
    with site.service.reading() as uow:
        record = uow.repo.filing_by_number(number).record
    assert record["sites"][0]["address"] == "四川省成都市锦江区东大街 1 号"
    assert record["sites"][0]["equipment"][0]["model"] == "CA6140", "what was not changed stays as it was"


def test_an_assessor_added_and_one_removed(site: Site) -> None:
    number = filed(site)
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    pairs = browser_post(_form(client, "assessors", number), FORM)
    blank = next(name for name, value in pairs if name.endswith("[name]") and not value)
    row = blank.removesuffix("[name]")
    added = {f"{row}[name]": "陈新", f"{row}[occupation]": "6-18-01-01", f"{row}[organization]": "锦城精工",
             f"{row}[title]": "技师", f"{row}[education]": "大专"}
    removed = {name: "" for name, _ in pairs if name.startswith("assessors[1][")}
    sent = post_pairs(client, "/portal/start/change_report/assessors", _replaced(pairs, {**added, **removed}))
    assert sent.status_code == 303, sent.text[-2000:]
    [case] = _change_cases(site, number)
    reported = site.service.records.reported_changes(case["case"])
    assert reported is not None and any(c["after"] == "陈新" for c in reported["fields"])
    assert any(c["before"] == "刘海波" for c in reported["fields"]), "the second assessor is gone"


@pytest.mark.parametrize(("name", "changes", "said"), [
    # A value the schema refuses: the message beside the field, in words.
    ("assessors", {"assessors[0][id_number]": "123"}, "身份证号：格式不正确"),
    # An occupation left without its assessors: about the record as a whole.
    ("occupations", {"occupations[1][code]": "", "occupations[1][name]": "", "occupations[1][basis]": "",
                     "occupations[1][standard_name]": "", "occupations[1][question_bank]": ""}, None),
    # Nothing changed: nothing to report.
    ("experts", {}, "与备案信息相同"),
])
def test_a_list_that_cannot_be_filed_is_refused_with_the_reason_and_nothing_starts(
        site: Site, name: str, changes: dict[str, str], said: str | None) -> None:
    number = filed(site)
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    pairs = _replaced(browser_post(_form(client, name, number), FORM), changes)
    if name == "occupations":  # unticked levels post nothing
        pairs = [(k, v) for k, v in pairs if not k.startswith("occupations[1][levels]")]
    refused = post_pairs(client, f"/portal/start/change_report/{name}", pairs)
    assert refused.status_code == 422 and "本次未作任何更改" in refused.text, refused.text[-1500:]
    if said:
        assert said in refused.text
    else:
        assert "考评" in refused.text.split("本次未作任何更改")[1].split("</ul>")[0], \
            "the assessors of the dropped occupation are named"
    assert _change_cases(site, number) == []


def test_another_institutions_filing_or_an_unknown_list_is_not_found(site: Site) -> None:
    number = filed(site)
    owner = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    stranger = register_institution(site, OTHER_CODE, "13800001111", "li.other", name="另一机构")
    assert stranger.get("/portal/start/change_report/sites", params={"filing": number}).status_code == 404
    page = _form(owner, "sites", number)
    stolen = post_pairs(stranger, "/portal/start/change_report/sites",
                        _replaced(browser_post(page, FORM), {"csrf_token": csrf(stranger.get("/portal/").text)}))
    assert stolen.status_code == 404 and "锦城精工" not in stolen.text
    assert owner.get("/portal/start/change_report/materials", params={"filing": number}).status_code == 404
    assert owner.get(f"/portal/start/change_report/sites?filing={quote(number)}x").status_code == 404
    no_token = post_pairs(owner, "/portal/start/change_report/sites",
                          [(k, v) for k, v in browser_post(page, FORM) if k != "csrf_token"])
    assert no_token.status_code == 403
    assert _change_cases(site, number) == []


def test_add_a_row_keeps_what_was_typed(site: Site) -> None:
    number = filed(site)
    client = register_institution(site, EXAMPLE_CODE, EXAMPLE_EMAIL, "wang.xm")
    pairs = _replaced(browser_post(_form(client, "experts", number), FORM), {"experts[0][name]": "改过的名字"})
    again = post_pairs(client, "/portal/start/change_report/experts", [*pairs, ("_add_row", "experts")])
    assert again.status_code == 200 and "改过的名字" in again.text and "本次未作任何更改" not in again.text
    assert _change_cases(site, number) == []
