"""Finding cases (workflows/service/search.py): by part of the name, the credit code, the case or filing number, with
plain filters, only among the cases the viewer may see (tasks/access.py may_see_case), a page at a time. SQLite and
PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tasks.access import Caseworker
from tasks.errors import InvalidInput
from tasks.regions import profile_for_region
from tests.support.scenarios import apply_by_service, at, file_by_service
from workflows.service import Beian
from workflows.service.search import CaseQuery

RECEIVED = "2026-09-24T10:00:00+08:00"
CHENGDU_CLERK = Caseworker("li.na", "李娜", ("intake",), "510100")
PROVINCE_REVIEWER = Caseworker("zhao.lei", "赵磊", ("provincial_reviewer",), "510000")
SICHUAN_ADMIN = Caseworker("admin", "管理员", (), "510000", is_admin=True)
MIANYANG_CLERK = Caseworker("chen.jie", "陈杰", ("intake",), "510700")


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    with at(RECEIVED):
        service.init()
    try:
        yield service
    finally:
        service.close()


def _moved(application: dict[str, Any], name: str, credit_code: str, region: str, level: str) -> dict[str, Any]:
    moved = copy.deepcopy(application)
    moved["institution"].update(name=name, credit_code=credit_code)
    offered = {item.key for item in profile_for_region(region).materials_for(moved["institution"]["type"])}
    moved.update(region=region, authority_level=level,
                 materials=[m for m in moved["materials"] if m["kind"] in offered])
    return moved


def _found(app: Beian, viewer: Caseworker | None = None, **query: Any) -> list[str]:
    return [row["case"] for row in app.search.cases(CaseQuery(**query), viewer)["cases"]]


@pytest.fixture
def cases(app: Beian, application: dict[str, Any]) -> dict[str, str]:
    # 成都锦城精工机械制造有限公司, Chengdu, municipal: the province reviews it.
    jincheng = apply_by_service(app, application, RECEIVED)
    file_by_service(app, jincheng)
    # The filing's validity is watched by a case of its own, opened when the filing was issued (2026-10-17).
    [validity] = _found(app, process="filing_validity")
    tianfu = apply_by_service(app, _moved(application, "四川天府职业技能评价中心", "91510100MA61R8XK10", "510000",
                                  "provincial"), "2026-10-20T10:00:00+08:00")
    mianyang = apply_by_service(app, _moved(application, "绵阳精工职业培训学校", "52510700MJQ01234XU", "510703",
                                    "municipal"), "2026-10-21T10:00:00+08:00")
    haidian = apply_by_service(app, _moved(application, "北京海淀精工机械有限公司", "91110108MA01ABCD5T", "110108",
                                   "municipal"), "2026-10-22T10:00:00+08:00")
    return {"jincheng": jincheng, "validity": validity, "tianfu": tianfu, "mianyang": mianyang, "haidian": haidian}


def test_found_by_part_of_the_name_the_credit_code_the_case_or_the_filing_number(
        app: Beian, cases: dict[str, str]) -> None:
    assert _found(app, text="精工") == [cases["haidian"], cases["mianyang"], cases["validity"], cases["jincheng"]]
    assert _found(app, text="  锦城 ") == [cases["validity"], cases["jincheng"]]  # newest received first
    assert _found(app, text="91510100ma61r8xk10") == [cases["tianfu"]]  # the whole code, any case
    assert _found(app, text="91510100") == []  # part of a credit code is not a match: too many would be
    assert _found(app, text=cases["mianyang"].lower()) == [cases["mianyang"]]
    shown = app.search.cases(CaseQuery(text="锦城", process="filing_application"))["cases"][0]
    assert shown["filing_number"] and shown["status"] == "filed" and shown["status_label"] == "已备案"
    assert shown["institution"] == "成都锦城精工机械制造有限公司"
    assert shown["received_at"].startswith("2026-09-24T10:00")
    assert _found(app, text=shown["filing_number"][-6:]) == [cases["validity"], cases["jincheng"]]
    assert _found(app, text="%") == [] and _found(app, text="_") == []  # LIKE's wildcards are plain characters


def test_filters_in_plain_words(app: Beian, cases: dict[str, str]) -> None:
    assert _found(app, group="finished") == [cases["jincheng"]]
    assert set(_found(app, group="open")) == {cases["validity"], cases["tianfu"], cases["mianyang"], cases["haidian"]}
    assert _found(app, group="publicity") == [] and _found(app, group="failed") == []
    assert _found(app, region="510700") == [cases["mianyang"]]  # a city covers its districts
    assert _found(app, region="510000") == [cases["mianyang"], cases["tianfu"], cases["validity"], cases["jincheng"]]
    assert _found(app, received_from=date(2026, 10, 21), received_to=date(2026, 10, 21)) == [cases["mianyang"]]
    assert _found(app, process="filing_application", text="海淀") == [cases["haidian"]]
    page = app.search.cases(CaseQuery(per_page=3, page=2))
    assert (page["total"], page["pages"], [row["case"] for row in page["cases"]]) == (
        5, 2, [cases["validity"], cases["jincheng"]])


def test_each_viewer_finds_only_the_cases_they_may_open(app: Beian, cases: dict[str, str]) -> None:
    assert _found(app, CHENGDU_CLERK) == [cases["validity"], cases["jincheng"]]
    assert _found(app, MIANYANG_CLERK) == [cases["mianyang"]]
    # The province: its own provincial-level case, and the Chengdu case it reviewed (a task done long ago).
    assert _found(app, PROVINCE_REVIEWER) == [cases["tianfu"], cases["jincheng"]]
    # An administrator sees every case of the province, none of Beijing's.
    assert _found(app, SICHUAN_ADMIN) == [cases["mianyang"], cases["tianfu"], cases["validity"], cases["jincheng"]]
    retired = Caseworker("li.na", "李娜", ("intake",), "510100", active=False)
    assert _found(app, retired) == []
    assert _found(app, CHENGDU_CLERK, text="绵阳") == []


@pytest.mark.parametrize(("query", "message"), [
    ({"text": "锦" * 101}, "搜索内容过长（101 字），最多 100 字"),
    ({"text": "锦城\x00"}, "搜索内容"),
    ({"group": "done"}, "未知的案件状态分组“done”；可选：open（办理中）"),
    ({"region": "5101"}, "地区“5101”应为 6 位行政区划代码"),
    ({"region": "990000"}, "地区“990000”应为 6 位行政区划代码"),
    ({"received_from": date(2026, 10, 2), "received_to": date(2026, 10, 1)}, "收件日期的起始日晚于截止日"),
    ({"page": 0}, "页码应从 1 起"),
    ({"per_page": 201}, "每页 1 至 200 件"),
])
def test_a_query_that_cannot_be_run_says_why(app: Beian, query: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("（", r"\（").replace("）", r"\）")):
        app.search.cases(CaseQuery(**query))
