"""The case file (卷宗) in real Chromium, as caseworkers use it: the intake clerk registers a paper application with
its files, asks for supplementation naming two checklist items, registers the resubmission with corrected fields and
files and sees what changed; accepts; the expert opens a material inline from the task page; the current-step panel
shows a step without a deadline; the search finds the case by part of its name; at the end the receipt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_APPLICATION
from tests.support.forms import flattened
from tests.support.material_files import PDF, png_image
from tests.support.scenarios import filed_now
from tests.support.served import Served, served_site, sign_in
from workflows import clock
from workflows.service import Beian

# Sets each named control of the form as a browser user would: text, select, one radio of a group, the checkboxes.
FILL = """([form, pairs]) => {
  const f = document.querySelector(form);
  for (const [name, value] of pairs) {
    const controls = [...f.elements].filter(e => e.name === name);
    if (!controls.length) throw new Error('no control ' + name);
    for (const c of controls) {
      if (c.type === 'radio' || c.type === 'checkbox') { if (c.value === value) c.checked = true; }
      else c.value = value;
    }
  }
}"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Beian, Served]]:
    with served_site(tmp_path / "beian.sqlite3", {"li.na": ("李娜", ["intake"], "510100"),
                                                   "zhao.lei": ("赵磊", ["expert"], "510100")}) as (service, served):
        yield service, served


def _signed_in(browser: Any, served: Served, username: str) -> Any:
    page = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, served, username)
    return page


def test_the_case_file_from_paper_intake_to_receipt(site: tuple[Beian, Served], browser: Any, screenshots: Path,
                                                    tmp_path: Path) -> None:
    service, served = site
    licence, image, plan = tmp_path / "营业执照.pdf", tmp_path / "场地照片.png", tmp_path / "工作方案（修订）.pdf"
    licence.write_bytes(PDF)
    image.write_bytes(png_image())
    plan.write_bytes(PDF)
    clerk = _signed_in(browser, served, "li.na")

    # Intake: the paper application with two of its files.
    clerk.goto(f"{served.url}/applications/new")
    application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    today = clock.today_in_shanghai().isoformat()
    pairs = [(n, today if n == "received_at" else v) for n, v in flattened(application, blank_rows=False)
             if n != "csrf_token"]
    clerk.evaluate(FILL, ["form.application-form", pairs])
    clerk.select_option("#mf-item-1", "legal_person_certificate")
    clerk.set_input_files("#mf-file-1", str(licence))
    clerk.select_option("#mf-item-2", "site_equipment_proof")
    clerk.set_input_files("#mf-file-2", str(image))
    clerk.screenshot(path=str(screenshots / "14-01-intake-with-files.png"), full_page=False)
    clerk.click("button.primary")
    assert "/cases/" in clerk.url, clerk.inner_text("body")[:2000]
    case = clerk.url.split("/cases/")[1].split("?")[0]
    materials = clerk.inner_text("#materials")
    assert "营业执照.pdf" in materials and "场地照片.png" in materials

    # Acceptance: supplementation naming two checklist items.
    clerk.goto(f"{served.url}/tasks")
    clerk.locator("table.worklist tr", has_text=case).locator("button", has_text="认领").click()
    clerk.click("text=受理审查")
    clerk.check("input[name=decision][value=supplement]")
    clerk.check("input[name=missing_items][value=legal_person_certificate]")
    clerk.check("input[name=missing_items][value=work_plan]")
    clerk.fill("[name=reasons]", "营业执照复印件不清晰；工作方案缺考评人员安排")
    clerk.screenshot(path=str(screenshots / "14-02-supplement-form.png"), full_page=False)
    clerk.click("text=提交办结")
    assert "等待补正" in clerk.inner_text("#application")

    # The resubmission: a corrected phone number and the two files asked for.
    clerk.click("text=登记补正材料")
    assert clerk.input_value("#mf-item-1") == "legal_person_certificate"
    assert clerk.input_value("#mf-item-2") == "work_plan"
    clerk.fill("[name='institution[phone]']", "028-87654321")
    clerk.fill("[name=received_at]", today)
    clerk.set_input_files("#mf-file-1", str(licence))
    clerk.set_input_files("#mf-file-2", str(plan))
    clerk.click("button.primary")
    changes = clerk.inner_text("#changes")
    assert "联系电话" in changes and "028-87654321" in changes and "工作方案（修订）.pdf" in changes
    clerk.locator("#changes").screenshot(path=str(screenshots / "14-03-what-changed.png"))

    # Decided again, on what changed: accepted.
    clerk.goto(f"{served.url}/tasks")
    clerk.locator("table.worklist tr", has_text=case).locator("button", has_text="认领").click()
    clerk.click("text=受理审查")
    assert "与上次提交相比" in clerk.inner_text("#case-file")
    clerk.check("input[name=decision][value=accept]")
    clerk.click("text=提交办结")
    assert service.records.show(case)["case_status"] == "under_review"

    # The expert opens a material inline from the task page; the expert review has no statutory deadline.
    expert = _signed_in(browser, served, "zhao.lei")
    expert.goto(f"{served.url}/tasks")
    expert.locator("table.worklist a", has_text="专家评估").click()
    expert.wait_for_selector("#case-file")
    expert.screenshot(path=str(screenshots / "14-04-expert-task-file.png"), full_page=True)
    with expert.context.expect_page() as opened:
        expert.locator("#case-file a", has_text="场地照片.png").click()
    shown = opened.value
    shown.wait_for_load_state()
    assert shown.evaluate("document.images.length") == 1 and shown.evaluate("document.images[0].naturalWidth") == 64
    shown.screenshot(path=str(screenshots / "14-05-material-inline.png"))
    expert.goto(f"{served.url}/cases/{case}")
    current = expert.inner_text("#current")
    assert "专家评估" in current and "无法定期限" in current
    expert.locator("#current").screenshot(path=str(screenshots / "14-06-current-step.png"))

    # The search finds it by part of the name.
    clerk.goto(f"{served.url}/cases?q=锦城精工")
    assert case in clerk.inner_text("table.cases")
    clerk.screenshot(path=str(screenshots / "14-07-search.png"), full_page=False)

    # The rest by others and the clock; the receipt on the case page.
    filed_now(service, case, skip=1)
    clerk.goto(f"{served.url}/cases/{case}")
    assert "备案回执" in clerk.inner_text("#documents")
    clerk.screenshot(path=str(screenshots / "14-08-filed-case.png"), full_page=True)
