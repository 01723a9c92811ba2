"""Where a case stands in its process: the BPMN elements it is at now, those it has completed and the sequence flows
it has passed, read from its saved workflow and the BPMN text of the definition version it runs on.

Engine logic, not drawing: the web app's case page hands these ids to the diagram viewer in the browser
(adapters/entrypoints/web/diagram.py, static/diagram.js), which marks them on bpmn-js's own drawing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree
from SpiffWorkflow.util.task import TaskState

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.task import Task

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODE_KINDS = frozenset({
    "task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask", "businessRuleTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
})
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# A deployed version was checked before it was stored; still, nothing in it is ever expanded or fetched.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True)


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str


@dataclass
class ProcessModel:
    """The flow nodes (id → name, id → kind) and sequence flows of a BPMN file, in document order."""

    nodes: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)


def read_process_model(bpmn_xml: str) -> ProcessModel:
    """The flow nodes and sequence flows of every process in the file (raises ValueError if it is not XML)."""
    try:
        root = etree.fromstring(_XML_DECLARATION.sub("", bpmn_xml, count=1), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"BPMN 文件不是有效的 XML：{exc}") from exc
    if root.getroottree().docinfo.doctype:  # a DTD has no business in a BPMN file
        raise ValueError("BPMN 文件含有 DOCTYPE 声明，不予读取")
    model = ProcessModel()
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        kind, node_id = etree.QName(node).localname, node.get("id")
        if not node_id:
            continue
        if kind in FLOW_NODE_KINDS:
            model.nodes.setdefault(node_id, (node.get("name") or "").strip())
            model.kinds.setdefault(node_id, kind)
        elif kind == "sequenceFlow" and node.get("sourceRef") and node.get("targetRef"):
            model.flows.append(Flow(node_id, node.get("sourceRef", ""), node.get("targetRef", "")))
    return model


def _real_ancestor(task: Task, node_ids: set[str]) -> Task | None:
    """The nearest task above `task` that stands for a BPMN element (skipping the engine's own joins and splits,
    e.g. `acceptance.BoundaryEventSplit`)."""
    parent = task.parent
    while parent is not None and getattr(parent.task_spec, "bpmn_id", None) not in node_ids:
        parent = parent.parent
    return parent


def progress_of(workflow: BpmnWorkflow, bpmn_xml: str) -> tuple[set[str], set[str], set[str]]:
    """Where a case stands, in BPMN ids of `bpmn_xml` (the definition version the workflow runs on):
    (elements it is at now: READY, WAITING or STARTED; elements completed at least once; sequence flows passed).

    SpiffWorkflow does not keep sequence flow ids on its specs, so a passed flow is found from the task tree: a
    reached task (current or completed) whose nearest BPMN ancestor completed came along the flow between those two
    elements in the file. Where the file has no such direct flow, every flow into the task from a completed element
    counts. The engine's internal tasks (Start, End, *.EndJoin, boundary splits and joins) are left out."""
    model = read_process_model(bpmn_xml)
    node_ids = set(model.nodes)
    between: dict[tuple[str, str], set[str]] = {}
    into: dict[str, list[Flow]] = {}
    for flow in model.flows:
        between.setdefault((flow.source, flow.target), set()).add(flow.id)
        into.setdefault(flow.target, []).append(flow)
    reached_mask = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    current: set[str] = set()
    done: set[str] = set()
    passed: set[str] = set()
    unmatched: set[str] = set()
    for process in (workflow, *workflow.subprocesses.values()):
        for task in process.tasks.values():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id not in node_ids:
                continue
            if task.state & reached_mask:
                current.add(bpmn_id)
            elif task.state == TaskState.COMPLETED:
                done.add(bpmn_id)
            else:
                continue
            source = _real_ancestor(task, node_ids)
            if source is None or source.state != TaskState.COMPLETED:
                continue
            flows = between.get((source.task_spec.bpmn_id, bpmn_id))
            if flows:
                passed |= flows
            else:
                unmatched.add(bpmn_id)
    for target in unmatched:
        passed |= {flow.id for flow in into.get(target, []) if flow.source in done}
    return current, done, passed
