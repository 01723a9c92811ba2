"""The modeller's properties panel in real Chromium (issue 17): a process owner drops a plain task on a flow (the live
lint marks it at once), turns it into a user task with bpmn-js's own replace menu, and in the panel's 办理设置 picks
its role (the task moves into that lane), builds its form in the form editor and sets a deadline of 7 working days —
all clicks, no XML. The check passes, the version deploys, a running case migrates to it and reaches the new task:
with that role, that form (validated by the server), and its deadline computed on the official calendar. A timer set
to working days in 定时设置, a service's parameter and a message wait are written as the engine reads them.

The bundle comes from `npm ci --prefix tools/bpmnio` (tools/bpmnio/build-modeller.mjs); without it these tests skip
locally and fail on CI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.errors import InvalidInput
from tests.conftest import EXAMPLE_APPLICATION
from tests.support.scenarios import open_task
from tests.support.served import Served, served_site, sign_in
from workflows.service import Beian

OWNER = "zhou.liu"
NEW_TASK = "法制审核"


pytestmark = pytest.mark.usefixtures("modeller_bundle")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Beian, Served]]:
    with served_site(tmp_path / "beian.sqlite3", {OWNER: ("周流程", ["process_owner"], "510000")}) as site:
        yield site


def _open_modeller(page: Any, served: Served) -> None:
    sign_in(page, served, OWNER, "/processes/filing_application/modeller")
    page.wait_for_selector("#modeller[data-ready=true]", timeout=20000)


def _plain_task_on_the_expert_pass_flow(page: Any) -> str:
    """A palette task dropped between the expert review's 通过 branch and the next gateway: the flow now ends on it
    and it leads on (what dropping a shape on a flow does, done through bpmn-js's modeling API)."""
    return str(page.evaluate("""(name) => {
        const modeler = window.beianModeler;
        const registry = modeler.get('elementRegistry');
        const modeling = modeler.get('modeling');
        const flow = registry.get('flow_expert_passed');
        const next = registry.get('needs_site_inspection');
        const source = registry.get('expert_result');
        const task = modeler.get('elementFactory').createShape({ type: 'bpmn:Task' });
        const at = { x: (source.x + next.x) / 2 + 50, y: source.y + source.height / 2 };
        const created = modeling.createShape(task, at, source.parent);
        modeling.updateLabel(created, name);
        modeling.reconnectEnd(flow, created, { x: created.x, y: created.y + created.height / 2 });
        modeling.connect(created, next);
        return created.id;
    }""", NEW_TASK))


def _click(page: Any, element_id: str) -> None:
    """Zoom to 100 % on the element, as a person does before working on one step of a large diagram, and click
    the middle of its shape."""
    box = page.evaluate("""(id) => {
        const modeler = window.beianModeler;
        const canvas = modeler.get('canvas');
        const element = modeler.get('elementRegistry').get(id);
        canvas.zoom(1);
        canvas.scrollToElement(element, { top: 200, left: 300 });
        const rect = modeler.get('elementRegistry').getGraphics(element).getBoundingClientRect();
        return { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 };
    }""", element_id)
    page.mouse.click(box["x"], box["y"])


def _element_named(page: Any, name: str) -> str:
    return str(page.evaluate("""(name) => window.beianModeler.get('elementRegistry')
        .filter((e) => e.businessObject && e.businessObject.name === name && !e.labelTarget)[0].id""", name))


def _open_group(page: Any, group: str) -> None:
    header = page.locator(f"[data-group-id='group-{group}'] .bio-properties-panel-group-header")
    header.wait_for(timeout=10000)
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def test_a_plain_task_becomes_a_user_task_with_a_role_a_form_and_seven_working_days(
        site: tuple[Beian, Served], browser: Any, screenshots: Path) -> None:
    service, served = site
    application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    case = service.cases.apply(application)["case"]
    service.cases.complete(open_task(service, case, "acceptance")["id"], {"decision": "accept"})
    page = browser.new_page(locale="zh-CN", viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _open_modeller(page, served)
    plain = _plain_task_on_the_expert_pass_flow(page)
    # Live lint marks it at once, before any check (bpmnlint with beian's rules, tools/bpmnio/src/lint/rules.mjs).
    page.wait_for_selector(f".djs-overlays[data-container-id={plain}] .bjsl-overlay", timeout=10000)
    assert page.locator(".djs-overlay .bjsl-overlay").count() == 1, "the bundled diagram itself lints clean"

    # The plain task is refused by the check, named.
    page.click("#modeller-check")
    page.wait_for_selector(f".djs-element.beian-error[data-element-id={plain}]", timeout=20000)
    assert "task-kind" in page.inner_text("#modeller-findings")

    # Turn it into a user task: the wrench of its context pad, then 用户任务 (User Task) in bpmn-js's replace menu.
    _click(page, plain)
    page.click(".djs-context-pad .entry[data-action='replace']")
    page.click(".djs-popup [data-id='replace-with-user-task']")
    task_id = _element_named(page, NEW_TASK)  # the replaced task stays selected: the panel shows its settings
    _open_group(page, "beian-user-task")
    page.select_option("select[name='beian-role']", "监管人员")
    # A form of its own, built in the form editor: a required choice and a long text.
    page.click(".beian-new-form")
    page.fill("#form-editor input[name='form-file']", "legal_review.schema.json")
    page.fill("#form-editor input[name='form-title']", "法制审核意见")
    page.click("#form-editor-save")
    assert "表单至少要有一个字段" in page.inner_text("#form-editor-problems"), "refused with the reason"
    for name, title, kind in (("conclusion", "审核结论", "choice"), ("opinion", "审核意见", "textarea")):
        page.click("#form-editor-add")
        row = page.locator("#form-editor tbody tr").last
        row.locator("input[name='field-name']").fill(name)
        row.locator("input[name='field-title']").fill(title)
        row.locator("select[name='field-kind']").select_option(kind)
    first = page.locator("#form-editor tbody tr").first
    first.locator("input[name='field-required']").check()
    first.locator("textarea[name='field-choices']").fill("pass=同意\nfail=不同意")
    page.screenshot(path=str(screenshots / "modeller-properties-00-form-editor.png"))
    page.click("#form-editor-save")
    page.wait_for_selector("#form-editor", state="detached", timeout=10000)
    assert page.input_value("select[name='beian-form']") == "legal_review.schema.json"
    page.fill("input[name='beian-deadline']", "7")
    page.keyboard.press("Tab")
    page.wait_for_function("""(id) => {
        const bo = window.beianModeler.get('elementRegistry').get(id).businessObject;
        const props = (bo.extensionElements && bo.extensionElements.values[0] || {}).properties || [];
        return props.some((p) => p.name === 'deadlineWorkingDays' && p.value === '7');
    }""", arg=task_id, timeout=10000)
    lane = page.evaluate("""(id) => window.beianModeler.get('elementRegistry').get(id).businessObject.lanes
        .map((l) => l.name)""", task_id)
    assert "监管人员" in lane, "the role is the lane the task now stands in"
    page.screenshot(path=str(screenshots / "modeller-properties-01-user-task.png"))
    page.wait_for_function(f"!document.querySelector('.djs-overlays[data-container-id={task_id}] .bjsl-overlay')",
                           timeout=10000)  # the live lint has nothing left to say about it

    page.click("#modeller-check")
    page.wait_for_function("document.querySelector('#modeller-status').textContent.includes('没有错误')",
                           timeout=20000)
    page.click("#modeller-deploy")
    page.wait_for_selector("#modeller-deployed-link", timeout=30000)
    assert "已部署为第 2 版" in page.inner_text("#modeller-status")
    assert errors == []
    page.close()

    # The running case moves to version 2 and reaches the new task after the expert review passes.
    assert service.processes.migrate("filing_application", 1, 2, actor=OWNER)["migrated"] == [case]
    service.cases.complete(open_task(service, case, "expert_review")["id"], {"result": "pass", "opinion": "符合"})
    task = service.cases.task(open_task(service, case, task_id)["id"])
    assert task["name"] == NEW_TASK and task["role"] == "supervision" and task["schema"]["title"] == "法制审核意见"
    assert task["due"] and "7个工作日" in task["deadline"]["explanation"]
    assert service.processes.version("filing_application", 2)["forms"]["legal_review.schema.json"] == {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "法制审核意见", "type": "object",
        "additionalProperties": False, "required": ["conclusion"],
        "properties": {"conclusion": {"title": "审核结论", "type": "string", "oneOf": [
                           {"const": "pass", "title": "同意"}, {"const": "fail", "title": "不同意"}]},
                       "opinion": {"title": "审核意见", "type": "string", "maxLength": 4000}}}
    # The server validates the task against the form built in the editor.
    with pytest.raises(InvalidInput):
        service.cases.complete(task["id"], {"opinion": "缺少结论"})
    service.cases.complete(task["id"], {"conclusion": "pass", "opinion": "合法"})


def test_a_timer_set_to_working_days_is_written_as_the_engine_reads_it(
        site: tuple[Beian, Served], browser: Any) -> None:
    _, served = site
    page = browser.new_page(locale="zh-CN", viewport={"width": 1600, "height": 1000})
    _open_modeller(page, served)
    _click(page, "acceptance_overdue")
    _open_group(page, "beian-timer")
    assert page.input_value("select[name='beian-timer-kind']") == "expression", "acceptance_deadline['due']"
    page.select_option("select[name='beian-timer-kind']", "working")
    page.fill("input[name='beian-timer-days']", "15")
    page.keyboard.press("Tab")
    page.wait_for_function("""() => {
        const bo = window.beianModeler.get('elementRegistry').get('acceptance_overdue').businessObject;
        const timer = bo.eventDefinitions[0].timeDate;
        return timer && timer.body === "within_working_days(today(), 15)['due']";
    }""", timeout=10000)
    page.select_option("select[name='beian-timer-kind']", "calendar")
    page.wait_for_function("""() => {
        const bo = window.beianModeler.get('elementRegistry').get('acceptance_overdue').businessObject;
        const timer = bo.eventDefinitions[0];
        const props = (bo.extensionElements && bo.extensionElements.values.find(
            (v) => v.$type === 'spiffworkflow:properties') || {}).properties || [];
        return !timer.timeDate && timer.timeDuration && timer.timeDuration.body === '"P15D"'
            && props.some((p) => p.name === 'calendarDays' && p.value === 'true');
    }""", timeout=10000)
    page.click("#modeller-check")
    page.wait_for_function("document.querySelector('#modeller-status').textContent.includes('检查')"
                           " && !document.querySelector('#modeller-status').textContent.includes('正在')",
                           timeout=20000)
    assert "timer-calendar-days" not in page.inner_text("#modeller-findings"), "calendarDays silences the warning"
    page.close()


def test_a_service_tasks_operator_and_parameters_and_a_message_wait_are_chosen_in_the_panel(
        site: tuple[Beian, Served], browser: Any) -> None:
    _, served = site
    page = browser.new_page(locale="zh-CN", viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _open_modeller(page, served)
    assert "基本信息" in page.inner_text("#modeller-properties"), "the panel speaks Chinese"

    _click(page, "escalate_acceptance")
    _open_group(page, "beian-service-task")
    assert page.input_value("select[name='beian-operator']") == "escalate"
    assert page.input_value("input[name='beian-parameter-reason']") == "'受理期限已届满，尚未作出受理决定'"
    page.fill("input[name='beian-parameter-reason']", "'受理期限届满，请即督办'")
    page.keyboard.press("Tab")
    page.wait_for_function("""() => {
        const bo = window.beianModeler.get('elementRegistry').get('escalate_acceptance').businessObject;
        const operator = bo.extensionElements.values.find((v) => v.$type === 'spiffworkflow:serviceTaskOperator');
        return operator.parameterList.parameters.some(
            (p) => p.id === 'reason' && p.value === "'受理期限届满，请即督办'");
    }""", timeout=10000)

    _click(page, "await_resubmission")
    _open_group(page, "beian-message")
    assert page.input_value("select[name='beian-message-name']") == "resubmission"
    page.select_option("select[name='beian-message-name']", "statement")
    page.wait_for_function("""() => {
        const bo = window.beianModeler.get('elementRegistry').get('await_resubmission').businessObject;
        return bo.eventDefinitions[0].messageRef.name === 'statement';
    }""", timeout=10000)
    xml = page.evaluate("window.beianModeler.saveXML({ format: true }).then((r) => r.xml)")
    assert '<bpmn:message id="message_statement" name="statement" />' in xml
    assert "受理期限届满，请即督办" in xml  # the quotes are written as &#39; in the attribute
    assert errors == []
    page.close()
