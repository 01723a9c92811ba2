"""The embedded bpmn.io modeller in real Chromium: a process owner opens the deployed filing process in bpmn-js,
breaks it on purpose (the check marks the element on the canvas with the reason), mends it, renames a task, deploys,
and the new version appears. The saved diagram keeps the SpiffWorkflow extensions: the new version still carries
every user task's form reference, and a new case runs its forms on it.

bpmn-js comes from the npm registry (`npm ci --prefix tools/bpmnio` copies its bundle into the web app's static
folder); without it these tests skip locally and fail on CI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks import form_choices
from tests.conftest import EXAMPLE_APPLICATION
from tests.support.served import Served, served_site, sign_in
from workflows.definitions import parse_definition
from workflows.service import Beian

OWNER = "zhou.liu"
NEW_NAME = "受理审查（网页修改）"


pytestmark = pytest.mark.usefixtures("modeller_bundle")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Beian, Served]]:
    with served_site(tmp_path / "beian.sqlite3", {OWNER: ("周流程", ["process_owner"], "510000")}) as site:
        yield site


def _sign_in(page: Any, served: Served, target: str) -> None:
    sign_in(page, served, OWNER, target)


def _rename(page: Any, element_id: str, name: str) -> None:
    """A label edit as the modeller's direct editing does it, through bpmn-js's own modeling API."""
    page.evaluate("""([id, name]) => {
        const modeler = window.beianModeler;
        modeler.get('modeling').updateLabel(modeler.get('elementRegistry').get(id), name);
    }""", [element_id, name])


def test_edit_check_and_deploy_in_the_browser(site: tuple[Beian, Served], browser: Any, screenshots: Path) -> None:
    service, served = site
    original = service.processes.versions("filing_application")
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, served, "/processes/filing_application")
    page.click("text=在网页建模器中修改第 1 版")
    page.wait_for_selector("#modeller[data-ready=true]", timeout=20000)
    assert page.locator(".djs-element[data-element-id=acceptance]").count() == 1
    assert "已载入" in page.inner_text("#modeller-status")
    page.screenshot(path=str(screenshots / "modeller-01-loaded.png"))

    # A broken change: the intake lane renamed to something that is not a role; its user task is marked.
    _rename(page, "lane_intake", "窗口人员")
    page.click("#modeller-check")
    page.wait_for_selector(".djs-element.beian-error[data-element-id=acceptance]", timeout=20000)
    note = page.locator(".beian-finding-note[data-element-id=acceptance]")
    assert note.count() == 1 and "窗口人员" in note.inner_text()
    assert "处错误" in page.inner_text("#modeller-status")
    assert "lane-role" in page.inner_text("#modeller-findings")
    page.screenshot(path=str(screenshots / "modeller-02-finding-marked.png"))

    # Deploying it is refused by the server's check.
    page.click("#modeller-deploy")
    page.wait_for_function("document.querySelector('#modeller-status').textContent.includes('未部署')")
    assert len(service.processes.versions("filing_application")) == 1

    # Mended, and the task renamed: the check passes, the marks go, and it deploys.
    _rename(page, "lane_intake", "受理人员")
    _rename(page, "acceptance", NEW_NAME)
    page.click("#modeller-check")
    page.wait_for_function("!document.querySelector('#modeller-status').textContent.includes('正在')")
    assert page.locator(".beian-error").count() == 0
    assert "检查通过" in page.inner_text("#modeller-status"), page.inner_text("#modeller-status")
    page.click("#modeller-deploy")
    page.wait_for_selector("#modeller-deployed-link", timeout=20000)
    assert "已部署为第 2 版" in page.inner_text("#modeller-status")
    page.screenshot(path=str(screenshots / "modeller-03-deployed.png"))
    page.click("#modeller-deployed-link")
    page.wait_for_load_state("load")  # the click waits for the navigation to start, not for the page to arrive
    assert "已部署为第 2 版" in page.inner_text("body")
    row = page.locator("table.versions tr", has_text="第 2 版")
    assert "最新" in row.inner_text() and OWNER in row.inner_text()
    page.screenshot(path=str(screenshots / "modeller-04-new-version.png"), full_page=True)
    assert errors == []
    page.close()

    # What bpmn-js saved still carries the SpiffWorkflow extensions the engine needs.
    versions = service.processes.versions("filing_application")
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["deployed_by"] == OWNER
    assert versions[0]["sha256"] == original[0]["sha256"]
    with service.uow() as uow:
        old, new = uow.repo.definitions("filing_application")
        old_parsed = parse_definition("filing_application", old.bpmn_xml, old.file_name, old.forms)
        new_parsed = parse_definition("filing_application", new.bpmn_xml, new.file_name, new.forms)
        assert 'name="formJsonSchemaFilename" value="acceptance.schema.json"' in new.bpmn_xml
        assert new.forms == old.forms
        acceptance_schema = old.forms["acceptance.schema.json"]
    assert new_parsed.user_tasks["acceptance"].name == NEW_NAME
    for bpmn_id, info in old_parsed.user_tasks.items():
        saved = new_parsed.user_tasks[bpmn_id]
        assert (saved.form, saved.role, saved.deadline_variable, saved.article, saved.context) == (
            info.form, info.role, info.deadline_variable, info.article, info.context), bpmn_id

    # A new case runs on version 2 with its forms: the acceptance form is checked and the case moves on.
    application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    case = service.cases.apply(application)["case"]
    assert service.cases.progress(case)["version"] == 2
    (task,) = service.cases.tasks(case)
    assert task["name"] == NEW_NAME and task["form"] == "acceptance.schema.json"
    # The saved form, its checklist choices narrowed to the case's (tasks/form_choices.py).
    assert service.cases.task(task["id"])["schema"] == form_choices.for_case(
        acceptance_schema, application["region"], application)
    service.cases.complete(task["id"], {"decision": "accept"})
    assert [t["bpmn_id"] for t in service.cases.tasks(case)] == ["expert_review"]
