"""A new version tried on the running cases before it is deployed or they move (issue 17): what the static check
cannot see is found by doing it in a transaction that is rolled back — the migration itself, then each way on from
where the case stands. SQLite and PostgreSQL.

- a boundary timer added to the task a case stands on: the preview says the case cannot move as it stands (before,
  it said "可迁移" and the case could never complete after moving);
- `region['articles']['acceptance'] + 1` (passes every static rule, fails every case reaching it): the check and
  the deploy refuse the file, naming the element and the running case it failed on;
- a task moved to another role: the preview says the claim will be released, as migrating then does;
- a case the replaced version failed on moves to the fixed version without setting the clock back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tasks.errors import DefinitionError
from tests.conftest import EXAMPLE_APPLICATION, ROOT
from tests.support.scenarios import at, open_task
from workflows.definitions import DefinitionSource, read_source
from workflows.service import Beian

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"bpmn": BPMN}
BROKEN = "region['articles']['acceptance'] + 1"


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    with at("2026-09-24T09:00:00+08:00"):
        service.init()
    yield service
    service.close()


@pytest.fixture
def version(tmp_path: Path) -> Callable[[Callable[[etree._Element], None]], DefinitionSource]:
    """filing_application.bpmn as the process owner changed it (`edit` on its XML tree), read as a deployable
    source with the bundled forms."""
    (tmp_path / "forms").symlink_to(ROOT / "bpmn" / "forms")
    made = [0]

    def make(edit: Callable[[etree._Element], None]) -> DefinitionSource:
        root = etree.fromstring((ROOT / "bpmn" / "filing_application.bpmn").read_bytes())
        edit(root)
        made[0] += 1
        folder = tmp_path / f"v{made[0]}"
        folder.mkdir()
        (folder / "forms").symlink_to(ROOT / "bpmn" / "forms")
        path = folder / "filing_application.bpmn"
        path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        return read_source(path)

    return make


def _new_case(app: Beian) -> str:
    return str(app.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"])


def _at_expert_review(app: Beian) -> str:
    with at("2026-09-24T10:00:00+08:00"):
        case = _new_case(app)
    with at("2026-09-28T10:00:00+08:00"):
        app.cases.complete(open_task(app, case, "acceptance")["id"], {"decision": "accept"})
    return case


def _boundary_timer_on_expert_review(root: etree._Element) -> None:
    """What the issue's process owner did: a working-day reminder on the expert review, into the system lane."""
    (process,) = root.xpath("//bpmn:process", namespaces=NS)
    event = etree.SubElement(process, f"{{{BPMN}}}boundaryEvent", id="expert_overdue", name="专家评估期限届满",
                             cancelActivity="false", attachedToRef="expert_review")
    etree.SubElement(event, f"{{{BPMN}}}outgoing").text = "flow_expert_overdue"
    definition = etree.SubElement(event, f"{{{BPMN}}}timerEventDefinition", id="expert_overdue_timer")
    when = etree.SubElement(definition, f"{{{BPMN}}}timeDate")
    when.set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
    when.text = "within_working_days(today(), 20)['due']"
    end = etree.SubElement(process, f"{{{BPMN}}}endEvent", id="expert_overdue_end", name="已提醒")
    etree.SubElement(end, f"{{{BPMN}}}incoming").text = "flow_expert_overdue"
    etree.SubElement(process, f"{{{BPMN}}}sequenceFlow", id="flow_expert_overdue", sourceRef="expert_overdue",
                     targetRef="expert_overdue_end")
    (lane,) = root.xpath("//bpmn:lane[@name='系统']", namespaces=NS)
    for element in ("expert_overdue", "expert_overdue_end"):
        etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = element


def _broken_escalation(root: etree._Element) -> None:
    (parameter,) = root.xpath("//*[@id='escalate_acceptance']//*[local-name()='parameter'][@id='article']")
    parameter.set("value", BROKEN)


def _expert_review_to_reviewers(root: etree._Element) -> None:
    (ref,) = root.xpath("//bpmn:lane[@name='专家评估协调员']/bpmn:flowNodeRef[text()='expert_review']",
                        namespaces=NS)
    ref.getparent().remove(ref)
    (reviewers,) = root.xpath("//bpmn:lane[@name='复核人员']", namespaces=NS)
    etree.SubElement(reviewers, f"{{{BPMN}}}flowNodeRef").text = "expert_review"


def test_a_boundary_timer_added_to_the_task_a_case_stands_on_blocks_that_case(app: Beian, version: Any) -> None:
    case = _at_expert_review(app)
    edited = version(_boundary_timer_on_expert_review)
    with at("2026-10-12T10:00:00+08:00"):
        (blocked,) = app.processes.check(edited.bpmn_xml, edited.file_name, edited.forms)
        assert (blocked.code, blocked.severity, blocked.element_id) == (
            "running-case-blocked", "warning", "expert_review")
        assert case in blocked.message and "增加了边界事件" in blocked.message
        assert app.processes.deploy(edited, actor="po")["version"] == 2
        preview = app.processes.migration_preview("filing_application", 1, 2)
        result = app.processes.migrate("filing_application", 1, 2, actor="po")
    (plan,) = preview["cases"]
    assert plan["migratable"] is False and "增加了边界事件" in plan["problems"][0]
    assert "专家评估" in plan["problems"][0]
    assert result["migrated"] == [] and result["blocked"] == 1, "the preview and the migration agree"
    with at("2026-10-13T10:00:00+08:00"):  # the case goes on, on its version
        app.cases.complete(open_task(app, case, "expert_review")["id"], {"result": "pass", "opinion": "符合"})
        assert [t["bpmn_id"] for t in app.cases.tasks(case)] == ["site_inspection"]


def test_an_expression_failing_on_every_case_is_refused_naming_the_element_and_the_case(
        app: Beian, version: Any) -> None:
    with at("2026-09-24T10:00:00+08:00"):
        case = _new_case(app)  # on the acceptance task, its 10-working-day timer armed
    broken = version(_broken_escalation)
    with at("2026-09-25T10:00:00+08:00"):
        findings = app.processes.check(broken.bpmn_xml, broken.file_name, broken.forms)
        assert [(f.code, f.severity) for f in findings] == [("running-case-fails", "error")]
        (finding,) = findings
        assert finding.element_id in {"escalate_acceptance", "acceptance_overdue"}
        assert case in finding.message and "受理期限届满" in finding.message and "受理审查" in finding.message
        with pytest.raises(DefinitionError) as refused:
            app.processes.deploy(broken, actor="po")
        assert "running" not in refused.value.message and case in refused.value.message
        assert [v["version"] for v in app.processes.versions("filing_application")] == [1], "nothing deployed"
        shown = app.records.show(case)  # the rehearsal changed nothing
        assert shown["error"] is None and [t["bpmn_id"] for t in app.cases.tasks(case)] == ["acceptance"]
        assert not [h for h in shown["history"] if h["action"] in ("process_migrated", "timer_fired")]


def test_the_preview_says_a_claim_is_released_as_migrating_then_does(app: Beian, version: Any) -> None:
    case = _at_expert_review(app)
    task = open_task(app, case, "expert_review")
    app.cases.claim(task["id"], "zhao.lei")
    with at("2026-10-12T10:00:00+08:00"):
        assert app.processes.deploy(version(_expert_review_to_reviewers), actor="po")["version"] == 2
        preview = app.processes.migration_preview("filing_application", 1, 2)
        assert app.cases.task(task["id"])["claimed_by"] == "zhao.lei", "a preview changes nothing"
        result = app.processes.migrate("filing_application", 1, 2, actor="po")
    (plan,) = preview["cases"]
    assert plan["migratable"] is True
    (note,) = plan["notes"]
    assert "zhao.lei" in note and "认领已解除" in note
    assert result["migrated"] == [case]
    moved = app.cases.task(task["id"])
    assert moved["claimed_by"] is None and moved["role"] == "reviewer"
    released = [h["summary"] for h in app.records.show(case)["history"] if h["action"] == "task_released"]
    assert released == [note], "the preview said what the migration did"


def test_a_case_the_replaced_version_failed_on_moves_to_the_fixed_one(app: Beian, version: Any) -> None:
    broken, fixed = version(_broken_escalation), version(lambda root: None)
    with at("2026-09-24T09:30:00+08:00"):
        # No running case stands where it breaks, but synthetic cases run through its paths reach it: refused.
        with pytest.raises(DefinitionError) as refused:
            app.processes.deploy(broken, actor="po")
        assert "试运行" in refused.value.message and "受理逾期督办" in refused.value.message
        # As deployed by a beian before that trial (or by an administrator who bypassed it): it gets in.
        assert app.processes.deploy(broken, actor="po", trial=False)["version"] == 2
    with at("2026-09-24T10:00:00+08:00"):
        case = _new_case(app)
    with at("2026-10-19T10:00:00+08:00"):  # the acceptance deadline passed: the escalation fails on version 2
        app.operations.sweep()
        assert app.records.show(case)["error"], "the broken version failed the case"
        assert app.processes.deploy(fixed, actor="po")["version"] == 3
        result = app.processes.migrate("filing_application", 2, 3, actor="po")
        assert result["migrated"] == [case], result["cases"]
        shown = app.records.show(case)
        assert shown["error"] is None
        assert any(h["action"] == "timer_fired" for h in shown["history"])
        assert [t["bpmn_id"] for t in app.cases.tasks(case)] == ["acceptance"], "still to be decided, escalated"
