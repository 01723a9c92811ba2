"""Where a case stands in its process (workflows/progress.py): the current and completed elements and the sequence
flows passed, read from a real case's saved state. The case page's diagram marks exactly these
(tests/browser/test_diagram.py).

Expectations are read from the BPMN files with plain lxml here, not through the module under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from workflows import clock
from workflows.engine import definition_of
from workflows.progress import progress_of, read_process_model
from workflows.service import Beian
from workflows.state import load_state

ROOT = Path(__file__).resolve().parents[2]
RECEIVED = "2026-09-24T10:00:00+08:00"  # a Thursday, away from holidays
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
FLOW_NODES = ("task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask",
              "businessRuleTask", "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent",
              "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
              "eventBasedGateway", "complexGateway")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Beian]:
    service = Beian(f"sqlite:///{tmp_path / 'beian.sqlite3'}")
    with clock.using_clock(clock.VirtualClock(datetime.fromisoformat(RECEIVED))):
        service.init()
        yield service
    service.close()


def case_progress(app: Beian, case: str) -> tuple[set[str], set[str], set[str], str]:
    with app.uow() as uow:
        instance = uow.repo.instance(case)
        assert instance is not None
        definition = definition_of(uow, instance.definition_id)
        workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, uow.repo.state_values)
        xml = uow.repo.definition(instance.definition_id).bpmn_xml
        return *progress_of(workflow, xml), xml


def model_ids(xml: str) -> set[str]:
    """The ids of the file's flow nodes and sequence flows, read with plain lxml."""
    model = etree.fromstring(xml.encode("utf-8"))
    return {str(e.get("id")) for kind in (*FLOW_NODES, "sequenceFlow") for e in model.iterfind(f".//bpmn:{kind}", NS)}


def flow_between(xml: str, source: str, target: str) -> str:
    model = etree.fromstring(xml.encode("utf-8"))
    found = model.xpath("//bpmn:sequenceFlow[@sourceRef=$s and @targetRef=$t]/@id", namespaces=NS, s=source,
                        t=target)
    assert len(found) == 1, (source, target)
    return str(found[0])


def open_task_id(app: Beian, case: str, bpmn_id: str) -> str:
    ids = [t["id"] for t in app.cases.tasks(case) if t["bpmn_id"] == bpmn_id]
    assert len(ids) == 1, app.cases.tasks(case)
    return ids[0]


@pytest.mark.parametrize("path", sorted((ROOT / "bpmn").glob("*.bpmn")), ids=lambda p: p.stem)
def test_the_model_holds_every_flow_node_and_sequence_flow(path: Path) -> None:
    xml = path.read_text(encoding="utf-8")
    model = read_process_model(xml)
    root = etree.fromstring(xml.encode("utf-8"))
    nodes = {str(n.get("id")): (n.get("name") or "").strip() for kind in FLOW_NODES
             for n in root.iterfind(f".//bpmn:{kind}", NS)}
    assert model.nodes == nodes
    assert model.kinds == {str(n.get("id")): etree.QName(n).localname for kind in FLOW_NODES
                           for n in root.iterfind(f".//bpmn:{kind}", NS)}
    assert {(f.id, f.source, f.target) for f in model.flows} == {
        (str(f.get("id")), f.get("sourceRef"), f.get("targetRef")) for f in root.iterfind(".//bpmn:sequenceFlow", NS)}


def test_the_model_refuses_what_is_not_xml_and_a_doctype() -> None:
    with pytest.raises(ValueError, match="XML"):
        read_process_model("<bpmn:definitions")
    entity = ('<!DOCTYPE d [<!ENTITY x "EXPANDED">]><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">'
              '<process id="p"><task id="t" name="&x;"/></process></definitions>')
    with pytest.raises(ValueError, match="DOCTYPE"):
        read_process_model(entity)
    assert read_process_model(entity.split("]>", 1)[1].replace("&x;", "审查")).nodes == {"t": "审查"}


def test_progress_of_a_real_case(app: Beian) -> None:
    application = json.loads((ROOT / "examples" / "application.json").read_text(encoding="utf-8"))
    case = app.cases.apply(application)["case"]

    current, done, passed, xml = case_progress(app, case)
    assert "acceptance" in current and "acceptance" not in done
    assert "acceptance_overdue" in current  # the deadline timer on it is armed
    # A step, not the timer.
    assert app.cases.progress(case)["current_steps"] == [{"id": "acceptance", "name": "受理审查"}]
    assert {"start", "prechecks", "acceptance_merge", "set_acceptance_deadline"} <= done
    assert flow_between(xml, "set_acceptance_deadline", "acceptance") in passed  # through the boundary split
    assert not passed & {flow_between(xml, "acceptance", "acceptance_decision")}

    app.cases.complete(open_task_id(app, case, "acceptance"), {"decision": "accept"})
    current, done, passed, xml = case_progress(app, case)
    assert current == {"expert_review"}
    assert {"acceptance", "acceptance_decision", "status_under_review"} <= done
    path = ["acceptance", "acceptance_decision", "status_under_review", "needs_preliminary_opinion",
            "preliminary_merge", "expert_review"]
    for source, target in zip(path, path[1:], strict=False):
        assert flow_between(xml, source, target) in passed
    # The branches not taken, and what lies ahead, are not passed.
    for source, target in (("acceptance_decision", "notice_rejection"), ("acceptance_decision", "notice_supplement"),
                           ("needs_preliminary_opinion", "preliminary_opinion"), ("expert_review", "expert_result")):
        assert flow_between(xml, source, target) not in passed
    assert "expert_result" not in done | current
    assert (current | done | passed) <= model_ids(xml)  # only BPMN ids; never Start, End, *.EndJoin, splits
    assert "acceptance_overdue" not in done  # the cancelled deadline timer did not happen
    # What the case page is given: the same ids, and the current step's name.
    shown = app.cases.progress(case)
    assert (shown["current"], shown["done"], shown["done_flows"]) == (current, done, passed)
    assert shown["current_steps"] == [{"id": "expert_review", "name": "专家评估"}]


def test_progress_through_a_loop(app: Beian) -> None:
    application = json.loads((ROOT / "examples" / "application.json").read_text(encoding="utf-8"))
    case = app.cases.apply(application)["case"]
    app.cases.complete(open_task_id(app, case, "acceptance"), {"decision": "supplement", "reasons": "缺少场地证明材料"})
    current, done, passed, xml = case_progress(app, case)
    assert current == {"await_resubmission"}
    assert flow_between(xml, "acceptance_decision", "notice_supplement") in passed

    app.cases.send("resubmission", case, {"received_at": "2026-09-28T09:00:00+08:00"})
    current, done, passed, xml = case_progress(app, case)
    assert "acceptance" in current and "acceptance" in done  # again at the task it completed once
    for source, target in (("await_resubmission", "restart_acceptance_clock"),
                           ("restart_acceptance_clock", "acceptance_merge"),
                           ("acceptance_decision", "notice_supplement")):
        assert flow_between(xml, source, target) in passed
    assert flow_between(xml, "acceptance_decision", "status_under_review") not in passed
