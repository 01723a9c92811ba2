"""What a migration would do to one case, decided from its state: a removed step it stands on or passed through
blocks it; a renamed step is followed (SpiffWorkflow aligns it by structure); the moved task keeps its id and data."""

from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from workflows.definitions import ParsedDefinition, parse_definition
from workflows.migration import _migrate, plan_case

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>"""
TAIL = """    <bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def chain(*tasks: str) -> ParsedDefinition:
    """start → each user task in turn → end."""
    flows = ["f0", *(f"f{i}" for i in range(1, len(tasks))), "f9"]
    nodes = [f'<bpmn:userTask id="{t}" name="环节{t}"><bpmn:incoming>{flows[i]}</bpmn:incoming>'
             f'<bpmn:outgoing>{flows[i + 1]}</bpmn:outgoing></bpmn:userTask>' for i, t in enumerate(tasks)]
    ends = ["start", *tasks, "end"]
    links = [f'<bpmn:sequenceFlow id="{flow}" sourceRef="{ends[i]}" targetRef="{ends[i + 1]}" />'
             for i, flow in enumerate(flows)]
    return parse_definition("p", "\n".join([HEAD, *nodes, *links, TAIL]), "p.bpmn", {})


def workflow_at(definition: ParsedDefinition, done: int) -> BpmnWorkflow:
    workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs)
    workflow.do_engine_steps()
    for _ in range(done):
        (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
        task.data["entered"] = task.task_spec.bpmn_id
        task.run()
        workflow.do_engine_steps()
    return workflow


def test_a_case_on_a_removed_step_is_blocked() -> None:
    plan = plan_case("C1", "applied", workflow_at(chain("a", "b"), 0), chain("b"))
    assert not plan.migratable
    assert plan.problems == ["案件所在的环节“环节a”（a）在新版本中已删除"]
    assert [(p.bpmn_id, p.kind, p.outcome) for p in plan.positions] == [("a", "待办", "removed")]


def test_a_case_that_passed_a_removed_step_is_blocked_because_its_history_would_not_restore() -> None:
    plan = plan_case("C2", "applied", workflow_at(chain("a", "b"), 1), chain("b"))
    assert plan.problems == ["已办理的环节“环节a（a）”在新版本中已删除，案件的历史无法对应到新版本"]


def test_a_renamed_step_is_followed_and_the_open_task_keeps_its_id_and_data() -> None:
    workflow = workflow_at(chain("a", "b"), 1)
    (open_task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    open_task.data["draft"] = "半成品"
    new = chain("a", "b2")
    plan = plan_case("C3", "applied", workflow, new)
    assert plan.migratable
    (position,) = plan.positions
    assert (position.bpmn_id, position.outcome) == ("b", "changed") and position.detail.endswith("id 改为 b2")

    _migrate(workflow, new)
    (moved,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert moved.id == open_task.id and moved.task_spec.bpmn_id == "b2"
    assert moved.data["draft"] == "半成品" and moved.data["entered"] == "a"
    moved.run()
    workflow.do_engine_steps()
    assert workflow.is_completed()


def test_an_unchanged_version_moves_every_position_unchanged() -> None:
    plan = plan_case("C4", "applied", workflow_at(chain("a", "b"), 1), chain("a", "b"))
    assert plan.migratable and [(p.bpmn_id, p.outcome) for p in plan.positions] == [("b", "unchanged")]
