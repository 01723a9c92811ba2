"""Find any case in the browser: /cases?q= by part of the name, the credit code or the case number, with filters in
plain words, within what the caseworker may see; a query that cannot be run says why."""

from __future__ import annotations

import re

from tests.support.scenarios import filed_now
from tests.web.conftest import Site


def _found(html: str) -> list[str]:
    return re.findall(r'<td><a href="/cases/([^"]+)">', html)


def test_a_case_is_found_by_part_of_its_name_its_credit_code_or_its_number(site: Site) -> None:
    client = site.client("li.na")
    credit_code = site.service.records.show(site.case)["institution"]["credit_code"]
    for text in ("锦城", credit_code, site.case[-5:]):
        page = client.get("/cases", params={"q": text})
        assert page.status_code == 200 and _found(page.text) == [site.case], text
        assert "共 1 件" in page.text
    assert _found(client.get("/cases", params={"q": "不存在的机构"}).text) == []


def test_only_cases_the_caseworker_may_see_are_found(site: Site) -> None:
    assert _found(site.client("wang.fang").get("/cases", params={"q": "锦城"}).text) == []  # another city
    assert _found(site.client("admin").get("/cases", params={"q": "锦城"}).text) == [site.case]  # the province


def test_filters_in_plain_words(site: Site) -> None:
    client = site.client("li.na")
    assert _found(client.get("/cases", params={"group": "open"}).text) == [site.case]
    assert _found(client.get("/cases", params={"group": "finished"}).text) == []
    assert _found(client.get("/cases", params={"process": "renewal"}).text) == []
    received = site.service.records.show(site.case)["received_at"][:10]
    assert _found(client.get("/cases", params={"received_from": received, "received_to": received}).text) == \
        [site.case]
    admin = site.client("admin").get("/cases").text
    assert '<option value="510100">成都市</option>' in admin
    assert _found(site.client("admin").get("/cases", params={"region": "510700"}).text) == []
    assert _found(site.client("admin").get("/cases", params={"region": "510100"}).text) == [site.case]


def test_a_query_that_cannot_be_run_says_why(site: Site) -> None:
    client = site.client("li.na")
    bad_day = client.get("/cases", params={"received_from": "2026-13-01"})
    assert bad_day.status_code == 422 and "不是日期" in bad_day.text
    backwards = client.get("/cases", params={"received_from": "2026-10-02", "received_to": "2026-10-01"})
    assert backwards.status_code == 422 and "起始日晚于截止日" in backwards.text
    assert client.get("/cases", params={"group": "whatever"}).status_code == 422
    assert client.get("/cases", params={"q": "x" * 101}).status_code == 422
    assert site.client().get("/cases").status_code == 303  # sign in first


def test_the_list_of_filings_shows_each_filings_status_and_validity(site: Site) -> None:
    client = site.client("li.na")
    assert _found(client.get("/cases", params={"filed": "1"}).text) == []  # applied, not filed
    filed_now(site.service, site.case)
    page = client.get("/cases", params={"filed": "1", "q": "锦城"}).text
    shown = site.service.records.show(site.case)
    assert _found(page) == [site.case] and "备案查询" in page
    assert shown["filing_number"] in page and "有效期至" in page
    valid_until = shown["valid_until"]
    year, month, day = (int(part) for part in valid_until.split("-"))
    assert f"{year}年{month}月{day}日" in page
