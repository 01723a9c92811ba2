"""A caseworker's morning in real Chromium: sign in, see the acceptance task of a fresh application, claim it,
complete it with the form, see the case advance; later, when the filing is made, open its receipt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_APPLICATION
from tests.support.served import PASSWORD, Served, served_site
from workflows import clock
from workflows.service import Beian


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Beian, Served, str]]:
    with served_site(tmp_path / "beian.sqlite3", {"li.na": ("李娜", ["intake"], "510100")}) as (service, served):
        case = service.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"]
        yield service, served, case


def test_sign_in_complete_the_acceptance_and_open_the_receipt(site: tuple[Beian, Served, str], browser: Any,
                                                              screenshots: Path) -> None:
    service, served, case = site
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{served.url}/tasks")
    assert page.url.startswith(f"{served.url}/login")
    page.screenshot(path=str(screenshots / "01-login.png"), full_page=True)
    page.fill("#username", "li.na")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    page.click("text=本角色未认领")
    row = page.locator("table.worklist tr", has_text=case)
    assert row.count() == 1 and "受理审查" in row.inner_text() and "剩" in row.inner_text()
    page.screenshot(path=str(screenshots / "02-worklist.png"), full_page=True)
    row.locator("button", has_text="认领").click()

    page.click("text=受理审查")
    assert page.locator("h1").inner_text() == "受理审查"
    page.check("input[name=decision][value=accept]")
    page.fill("textarea[name=reasons], input[name=reasons]", "材料齐全，予以受理")
    page.screenshot(path=str(screenshots / "03-task-form.png"), full_page=True)
    page.click("text=提交办结")

    assert f"/cases/{case}" in page.url
    assert "已办结：受理审查" in page.inner_text("body")
    assert "评估审查中" in page.inner_text("dl.facts")
    page.screenshot(path=str(screenshots / "04-case.png"), full_page=True)
    assert service.records.show(case)["case_status"] == "under_review"

    # The rest of the filing as other caseworkers and the clock would do it; then the receipt from the case page.
    for bpmn_id, data in (("expert_review", {"result": "pass", "opinion": "符合要求"}),
                          ("site_inspection", {"result": "pass", "opinion": "符合要求"}),
                          ("higher_review", {"result": "pass"})):
        (task,) = [t for t in service.cases.tasks(case) if t["bpmn_id"] == bpmn_id]
        service.cases.complete(task["id"], data)
    (publicity_end,) = [d for d in service.records.show(case)["deadlines"]]
    with clock.using_clock(clock.VirtualClock(clock.parse_instant(publicity_end["due"]) + timedelta(seconds=1))):
        service.operations.sweep()
    page.reload()
    page.click("text=职业技能等级评价机构备案回执")
    body = page.inner_text("body")
    assert "备案回执" in body and "成都锦城精工机械制造有限公司" in body
    page.screenshot(path=str(screenshots / "05-receipt.png"), full_page=True)
    page.close()


