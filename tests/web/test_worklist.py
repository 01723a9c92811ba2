"""The worklist starts where the work is: tabs with counts, the landing view on the first that holds a task, rows that
name the institution, where it is and when it was received, and working days left counted as the task counts them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from tasks.calendar import SHANGHAI
from tests.support.open_tasks import OPENED, OpenTask, insert_open_tasks
from tests.web.conftest import Site, csrf
from workflows import clock

TAB = re.compile(r'<a href="\?view=[^"]*"[^>]*>([^<（]+)（(\d+)）</a>')


def _tabs(html: str) -> dict[str, int]:
    return {label: int(count) for label, count in TAB.findall(html)}


def test_the_landing_view_opens_where_the_work_is_and_each_tab_counts(site: Site) -> None:
    client = site.client("li.na")
    landing = client.get("/tasks")
    assert landing.status_code == 200
    # Nothing claimed yet: it opens on the role's unclaimed tasks, not on an empty 我的待办.
    assert "<h1>本角色未认领" in landing.text and site.case in landing.text
    assert _tabs(landing.text) == {"我的待办": 0, "本角色未认领": 1, "已超期": 0, "全部": 1}
    client.post(f"/tasks/{site.open_task('acceptance')['id']}/claim", data={"csrf_token": csrf(landing.text)})
    landing = client.get("/tasks")
    assert "<h1>我的待办" in landing.text and _tabs(landing.text)["我的待办"] == 1
    assert _tabs(landing.text)["本角色未认领"] == 0
    nothing = site.client("zhao.lei").get("/tasks")  # an expert with no task yet: 全部, empty
    assert "<h1>全部" in nothing.text and "没有待办" in nothing.text


def test_a_row_names_the_institution_its_place_and_received_date(site: Site) -> None:
    page = site.client("li.na").get("/tasks?view=all").text
    shown = site.service.records.show(site.case)
    assert shown["institution"]["name"] in page
    assert "四川省成都市 510104" in page  # the example is located in 锦江区 of 成都市
    received = datetime.fromisoformat(shown["received_at"]).astimezone(SHANGHAI).date()
    assert f"{received.year}年{received.month}月{received.day}日 收件" in page


def test_days_left_on_the_day_of_receipt_is_the_statutory_count(site: Site) -> None:
    """The example's acceptance is 10 working days from receipt (received today by the fixture): the row says 10."""
    task = site.open_task("acceptance")
    with site.service.reading() as uow:
        from workflows.engine import load_calendar

        calendar = load_calendar(uow)
    due = datetime.fromisoformat(task["due"])
    received = datetime.fromisoformat(site.service.records.show(site.case)["received_at"])
    expected = calendar.working_days_left(due, received)
    assert expected == 10
    page = site.client("li.na").get("/tasks?view=all").text
    assert f"剩 {calendar.working_days_left(due, clock.now())} 个工作日" in page
    last_day = (due - timedelta(microseconds=1)).astimezone(SHANGHAI).replace(hour=9)
    assert calendar.working_days_left(due, last_day) == 0  # the last day: 今日到期


def test_the_status_filter_offers_only_the_statuses_of_open_work(site: Site) -> None:
    page = site.client("li.na").get("/tasks?view=all").text
    options = re.findall(r'<option value="([a-z_]+)"', page.split('id="status"')[1].split("</select>")[0])
    assert options == ["applied"]


def test_a_provincial_caseworker_filters_by_city_name(site: Site) -> None:
    page = site.client("admin").get("/tasks?view=all").text
    assert '<option value="510100">成都市</option>' in page and '<option value="510700">绵阳市</option>' in page
    assert 'pattern="[0-9]{6}"' not in page  # no code to type


def test_releasing_a_claim_is_called_what_it_does(site: Site) -> None:
    client = site.client("li.na")
    task = site.open_task("acceptance")
    client.post(f"/tasks/{task['id']}/claim", data={"csrf_token": csrf(client.get("/tasks").text)})
    page = client.get(f"/tasks/{task['id']}").text
    assert "放回待认领" in page and ">退回<" not in page


def test_beyond_a_thousand_tasks_the_count_says_so_and_pages_go_forward_and_back(site: Site) -> None:
    """The counts stop reading at 1000 (the tab says 1000+, the heading 1000 件以上) and the pages follow cursors:
    下一页 and 上一页 lead to the neighbouring pages, numbered, the first one without 上一页."""
    insert_open_tasks(site.service.engine, [
        OpenTask(due_at=OPENED + timedelta(hours=n % 50), authority="510100", located="510104") for n in range(1005)])
    client = site.client("li.na")
    first = client.get("/tasks?view=all").text
    assert re.search(r">全部（1000\+）</a>", first) and "<small>共 1000 件以上</small>" in first
    assert "第 1 页" in first and "上一页" not in first
    second = client.get(_link(first, "下一页")).text
    assert "第 2 页" in second and _rows(second) and set(_rows(second)).isdisjoint(_rows(first))
    assert _rows(client.get(_link(second, "上一页")).text) == _rows(first)
    third = client.get(_link(second, "下一页")).text
    assert "第 3 页" in third and _rows(client.get(_link(third, "上一页")).text) == _rows(second)


def _link(html: str, label: str) -> str:
    match = re.search(rf'<a href="([^"]+)" rel="(?:prev|next)">{label}</a>', html)
    assert match, f"no {label} link"
    return "/tasks" + match.group(1).replace("&amp;", "&")


def _rows(html: str) -> list[str]:
    return re.findall(r'<a href="/tasks/([0-9a-f-]{36})">', html)
