"""What the server reads from a BPMN's diagram information for the bpmn-js viewer
(adapters/entrypoints/web/diagram.py): which
elements the file draws, marks only on those, a Chinese reason instead of a diagram for a file without shapes or
one that is not (safe) XML, and where a case stands as marks. The drawing itself is checked in Chromium
(tests/browser/test_diagram.py).

Expectations are read from the BPMN files with plain lxml here, not through the module under test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from adapters.entrypoints.web.diagram import NO_SHAPES, DiagramError, case_marks, diagram_for, drawn_ids

ROOT = Path(__file__).resolve().parents[2]
BPMN_FILES = sorted((ROOT / "bpmn").glob("*.bpmn"))
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
SMALL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="https://beian.example/test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" name="收到申请" />
    <bpmn:userTask id="review" name="审查" />
    <bpmn:userTask id="undrawn" name="没有图形的任务" />
    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="review" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d">
    <bpmndi:BPMNPlane id="plane" bpmnElement="p">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="172" y="182" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review"><dc:Bounds x="300" y="160" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_start_di" bpmnElement="flow_start">
        <di:waypoint x="208" y="200" /><di:waypoint x="300" y="200" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_the_drawn_ids_are_the_elements_placed_by_the_first_diagram(path: Path) -> None:
    xml = path.read_text(encoding="utf-8")
    root = etree.fromstring(xml.encode("utf-8"))
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    placed = {str(n.get("bpmnElement")) for n in plane.iterfind(".//bpmndi:BPMNShape", NS)} | {
        str(n.get("bpmnElement")) for n in plane.iterfind(".//bpmndi:BPMNEdge", NS)}
    ids = drawn_ids(xml)
    assert ids == placed
    assert {str(e.get("id")) for e in root.iterfind(".//bpmn:userTask", NS)} <= ids
    assert not any(i.endswith("_di") for i in ids)  # diagram elements are not model elements


def test_marks_and_focus_only_on_drawn_elements_and_an_unknown_kind_shown_as_an_error() -> None:
    diagram, problem = diagram_for(SMALL, "测试", marks={"review": "changed", "undrawn": "added", "start": "odd",
                                                        "no_such": "error"},
                                   notes={"review": "改动：名称", "undrawn": "新增"}, focus=["undrawn", "review"],
                                   legend=("added", "changed", "nonsense"))
    assert problem == "" and diagram is not None
    assert diagram.marks == {"review": "changed", "start": "error"}
    assert diagram.notes == {"review": "改动：名称"} and diagram.focus == ["review"]
    assert diagram.legend == [("added", "新增"), ("changed", "有改动")]
    payload = diagram.payload()
    assert payload["xml"] == SMALL and payload["labels"]["error"] == "有错误" and payload["unmarked"] == ""
    with_unmarked, _ = diagram_for(SMALL, "测试", legend=("current",), unmarked="未到达")
    assert with_unmarked is not None and with_unmarked.legend == [("current", "当前环节"), ("", "未到达")]


def test_a_file_without_shapes_gets_a_reason_not_a_diagram() -> None:
    xml = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", SMALL, flags=re.DOTALL)
    assert drawn_ids(xml) == frozenset()
    assert diagram_for(xml, "测试", marks={"review": "error"}) == (None, NO_SHAPES)
    assert "没有图形信息" in NO_SHAPES


def test_not_xml_entities_and_doctype_are_refused_with_a_chinese_reason(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    external = SMALL.replace('<?xml version="1.0" encoding="UTF-8"?>',
                             f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
                             ).replace('name="审查"', 'name="&x;"')
    with pytest.raises(DiagramError) as refused:
        drawn_ids(external)
    assert "TOPSECRET" not in str(refused.value)
    internal = SMALL.replace('<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">]>')
    with pytest.raises(DiagramError, match="DOCTYPE"):
        drawn_ids(internal)
    bomb = SMALL.replace('<?xml version="1.0" encoding="UTF-8"?>',
                         '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>')
    with pytest.raises(DiagramError):
        drawn_ids(bomb)
    with pytest.raises(DiagramError, match="XML"):
        drawn_ids("<bpmn:definitions")
    for bad in (external, internal, "<bpmn:definitions"):
        diagram, problem = diagram_for(bad, "测试")
        assert diagram is None and problem and "TOPSECRET" not in problem


def test_where_a_case_stands_as_marks_current_wins_over_done() -> None:
    marks = case_marks(current={"acceptance", "acceptance_overdue"}, done={"acceptance", "prechecks"},
                       done_flows={"flow_start_to_prechecks"})
    assert marks == {"acceptance": "current", "acceptance_overdue": "current", "prechecks": "done",
                     "flow_start_to_prechecks": "taken"}
    assert case_marks((), (), ()) == {}
