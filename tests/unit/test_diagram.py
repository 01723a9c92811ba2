"""The case page's process diagram (adapters/diagram.py): every bundled BPMN file drawn from its own DI as safe,
self-contained SVG; where a case stands marked on it (workflows/progress.py computes it: tests/unit/test_progress.py).

Expectations are read from the BPMN files with plain lxml here, not through the module under test, so a drawing
that drops or invents an element fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from adapters.diagram import (
    CURRENT_STROKE,
    DONE_FILL,
    DiagramError,
    diagram_svg,
    element_ids,
    text_width,
    wrap_text,
)

ROOT = Path(__file__).resolve().parents[2]
BPMN_FILES = sorted((ROOT / "bpmn").glob("*.bpmn"))
SVG = "http://www.w3.org/2000/svg"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "svg": SVG,
}
FLOW_NODES = ("task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask",
              "businessRuleTask", "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent",
              "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
              "eventBasedGateway", "complexGateway")

# A small hand-made file with one of each thing the bundled files do not all have: two pools (one an outside party),
# a message flow, a default flow, a parallel gateway, and names that try to break out of the SVG.
CRAFTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="https://beian.example/test">
  <bpmn:collaboration id="collab">
    <bpmn:participant id="authority" name="备案机关" processRef="p" />
    <bpmn:participant id="applicant" name="申请机构&lt;img src=x onerror=alert(1)&gt;" />
    <bpmn:messageFlow id="mf" name="提交材料" sourceRef="applicant" targetRef="start" />
  </bpmn:collaboration>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_a" name="受理人员">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_b" name="系统 &amp; &lt;b&gt;后台&lt;/b&gt;">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>notify</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>split</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>wait</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="收到申请" />
    <bpmn:userTask id="review" name="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;审查" />
    <bpmn:exclusiveGateway id="decide" name="是否通过？" default="flow_no" />
    <bpmn:serviceTask id="notify" name="出具一次性补正告知书并同时通知申请机构（含全部材料清单）" />
    <bpmn:parallelGateway id="split" />
    <bpmn:intermediateCatchEvent id="wait" name="等待期满">
      <bpmn:timerEventDefinition id="wait_timer" />
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end" name="办结" />
    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="flow_review" sourceRef="review" targetRef="decide" />
    <bpmn:sequenceFlow id="flow_yes" name="通过" sourceRef="decide" targetRef="split">
      <bpmn:conditionExpression>ok</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_no" name="不通过" sourceRef="decide" targetRef="notify" />
    <bpmn:sequenceFlow id="flow_split" sourceRef="split" targetRef="wait" />
    <bpmn:sequenceFlow id="flow_wait" sourceRef="wait" targetRef="end" />
    <bpmn:sequenceFlow id="flow_notify" sourceRef="notify" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d">
    <bpmndi:BPMNPlane id="plane" bpmnElement="collab">
      <bpmndi:BPMNShape id="authority_di" bpmnElement="authority" isHorizontal="true">
        <dc:Bounds x="100" y="100" width="800" height="300" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_a_di" bpmnElement="lane_a" isHorizontal="true">
        <dc:Bounds x="130" y="100" width="770" height="120" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_b_di" bpmnElement="lane_b" isHorizontal="true">
        <dc:Bounds x="130" y="220" width="770" height="180" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="applicant_di" bpmnElement="applicant" isHorizontal="true">
        <dc:Bounds x="100" y="-20" width="800" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="172" y="282" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="160" y="325" width="60" height="14" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review">
        <dc:Bounds x="250" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="decide_di" bpmnElement="decide" isMarkerVisible="true">
        <dc:Bounds x="395" y="275" width="50" height="50" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="notify_di" bpmnElement="notify">
        <dc:Bounds x="500" y="310" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="split_di" bpmnElement="split">
        <dc:Bounds x="505" y="235" width="50" height="50" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="wait_di" bpmnElement="wait">
        <dc:Bounds x="632" y="242" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="782" y="282" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="mf_di" bpmnElement="mf">
        <di:waypoint x="190" y="60" />
        <di:waypoint x="190" y="282" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_start_di" bpmnElement="flow_start">
        <di:waypoint x="208" y="300" />
        <di:waypoint x="230" y="300" />
        <di:waypoint x="230" y="160" />
        <di:waypoint x="250" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_review_di" bpmnElement="flow_review">
        <di:waypoint x="350" y="160" />
        <di:waypoint x="420" y="160" />
        <di:waypoint x="420" y="275" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_yes_di" bpmnElement="flow_yes">
        <di:waypoint x="445" y="300" />
        <di:waypoint x="470" y="300" />
        <di:waypoint x="470" y="260" />
        <di:waypoint x="505" y="260" />
        <bpmndi:BPMNLabel><dc:Bounds x="450" y="240" width="30" height="14" /></bpmndi:BPMNLabel>
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_no_di" bpmnElement="flow_no">
        <di:waypoint x="420" y="325" />
        <di:waypoint x="420" y="350" />
        <di:waypoint x="500" y="350" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_split_di" bpmnElement="flow_split">
        <di:waypoint x="555" y="260" />
        <di:waypoint x="632" y="260" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_wait_di" bpmnElement="flow_wait">
        <di:waypoint x="668" y="260" />
        <di:waypoint x="800" y="260" />
        <di:waypoint x="800" y="282" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_notify_di" bpmnElement="flow_notify">
        <di:waypoint x="600" y="350" />
        <di:waypoint x="800" y="350" />
        <di:waypoint x="800" y="318" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def parse_svg(svg: str) -> etree._Element:
    root = etree.fromstring(svg.encode("utf-8"))  # raises if the output is not well-formed XML
    assert root.tag == f"{{{SVG}}}svg"
    return root


def by_id(root: etree._Element, bpmn_id: str) -> etree._Element:
    found = root.xpath("//svg:g[@data-bpmn-id=$id]", namespaces=NS, id=bpmn_id)
    assert len(found) == 1, (bpmn_id, len(found))
    return found[0]


def classes(node: etree._Element) -> set[str]:
    return set((node.get("class") or "").split())


def texts(node: etree._Element) -> list[str]:
    """Every <text> element's visible content (its tspans joined)."""
    return ["".join(t.itertext()) for t in node.iter(f"{{{SVG}}}text")]


def title_of(node: etree._Element) -> str:
    title = node.find(f"{{{SVG}}}title")
    assert title is not None
    return title.text or ""


def assert_safe(root: etree._Element) -> None:
    """Nothing that runs or loads: no script or foreign content, no event handler, no link, no style sheet."""
    for node in root.iter():
        assert etree.QName(node).localname not in {"script", "foreignObject", "a", "image", "use", "style", "iframe"}
        for name, value in node.attrib.items():
            assert not name.lower().startswith("on"), name
            assert "href" not in name, name
            assert "url(" not in value and "javascript:" not in value.lower(), (name, value)
        assert node.get("id") is None  # ids would clash with a second diagram on the page


# --- every bundled file --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_every_bundled_file_is_drawn_completely_from_its_di(path: Path) -> None:
    xml = path.read_text(encoding="utf-8")
    model = etree.fromstring(xml.encode("utf-8"))
    shapes = {s.get("bpmnElement"): s for s in model.iterfind(".//bpmndi:BPMNShape", NS)}
    nodes = {n.get("id"): n for kind in FLOW_NODES for n in model.iterfind(f".//bpmn:process//bpmn:{kind}", NS)}
    flows = {f.get("id") for f in model.iterfind(".//bpmn:sequenceFlow", NS)}
    edges = {e.get("bpmnElement") for e in model.iterfind(".//bpmndi:BPMNEdge", NS)}
    lanes = {lane.get("id"): lane.get("name") for lane in model.iterfind(".//bpmn:lane", NS)}
    assert nodes and flows and lanes

    root = parse_svg(diagram_svg(xml, title=path.stem))
    assert_safe(root)
    assert root.get("width") == "100%"

    drawn_shapes = root.xpath("//svg:g[contains(concat(' ', @class, ' '), ' bpmn-shape ')]/@data-bpmn-id",
                              namespaces=NS)
    assert len(drawn_shapes) == len(set(drawn_shapes))  # one shape per element
    # Every flow node with DI is drawn (and the bundled files draw every flow node).
    assert set(nodes) <= set(shapes)
    for node_id in nodes:
        group = by_id(root, node_id)
        assert "bpmn-shape" in classes(group)
        assert group.get("data-bpmn-type") == etree.QName(nodes[node_id]).localname
        assert title_of(group).startswith(nodes[node_id].get("name") or "")
    # Every sequence flow has its edge, drawn as a line with an arrowhead.
    assert flows <= edges
    for flow_id in flows:
        group = by_id(root, flow_id)
        assert "bpmn-sequenceFlow" in classes(group)
        assert group.find("svg:polyline", NS) is not None and group.find("svg:polygon", NS) is not None
    # Pools and lanes with their names written out.
    all_text = texts(root)
    for lane_id, name in lanes.items():
        assert "bpmn-lane" in classes(by_id(root, lane_id))
        assert name in all_text
    for participant in model.iterfind(".//bpmn:participant", NS):
        assert participant.get("name") in texts(by_id(root, participant.get("id")))
    # The view box holds everything the DI places, within the margin.
    x, y, width, height = (float(v) for v in root.get("viewBox").split())
    for bounds in model.iterfind(".//dc:Bounds", NS):
        bx, by, bw, bh = (float(bounds.get(k)) for k in ("x", "y", "width", "height"))
        assert x <= bx and bx + bw <= x + width and y <= by and by + bh <= y + height
    for point in model.iterfind(".//di:waypoint", NS):
        assert x <= float(point.get("x")) <= x + width and y <= float(point.get("y")) <= y + height
    xs = [float(b.get("x")) for b in model.iterfind(".//dc:Bounds", NS)]
    assert x == pytest.approx(min(xs) - 20)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_element_ids_are_the_models_drawable_elements(path: Path) -> None:
    xml = path.read_text(encoding="utf-8")
    model = etree.fromstring(xml.encode("utf-8"))
    expected = {e.get("id") for kind in (*FLOW_NODES, "sequenceFlow", "lane", "participant")
                for e in model.iterfind(f".//bpmn:{kind}", NS)}
    ids = element_ids(xml)
    assert expected <= ids
    assert not {"Start", "End", "Root"} & ids
    assert not any(i.endswith("_di") for i in ids)  # diagram elements are not model elements


# --- the shapes of the notation ------------------------------------------------------------------------------------

def test_the_notation_distinguishes_kinds() -> None:
    root = parse_svg(diagram_svg(CRAFTED))
    assert_safe(root)

    def icon_shape(bpmn_id: str) -> list[str]:
        icon = by_id(root, bpmn_id).find(".//svg:g[@class='bpmn-icon']", NS)
        assert icon is not None, bpmn_id
        return [etree.QName(child).localname for child in icon]

    assert icon_shape("review") != icon_shape("notify")  # user task and service task look different
    for task in ("review", "notify"):
        body = by_id(root, task).find("svg:rect[@class='bpmn-body']", NS)
        assert body is not None and float(body.get("rx")) > 0  # rounded
    start = by_id(root, "start").find("svg:circle[@class='bpmn-body']", NS)
    end = by_id(root, "end").find("svg:circle[@class='bpmn-body']", NS)
    assert float(end.get("stroke-width")) > float(start.get("stroke-width"))  # end thick, start thin
    assert len(by_id(root, "wait").findall("svg:circle", NS)) == 2  # intermediate: a double ring
    assert by_id(root, "wait").find(".//svg:g[@class='bpmn-icon']", NS) is not None  # the clock
    for gateway, mark in (("decide", "path"), ("split", "path")):
        group = by_id(root, gateway)
        assert len(group.find("svg:polygon", NS).get("points").split()) == 4  # a diamond
        assert group.find(f"svg:{mark}", NS) is not None
    # X and + are different marks.
    assert by_id(root, "decide").find("svg:path", NS).get("d") != by_id(root, "split").find("svg:path", NS).get("d")
    # The default flow carries its slash; the conditional one from a gateway stays plain.
    assert by_id(root, "flow_no").find("svg:line[@class='bpmn-default-marker']", NS) is not None
    assert "bpmn-default-flow" in classes(by_id(root, "flow_no"))
    assert by_id(root, "flow_yes").find("svg:line", NS) is None
    # Message flows are dashed with an open start circle; sequence flows are solid.
    message = by_id(root, "mf")
    assert message.find("svg:polyline", NS).get("stroke-dasharray")
    assert message.find("svg:circle", NS) is not None
    assert by_id(root, "flow_start").find("svg:polyline", NS).get("stroke-dasharray") is None
    # The outside party is a pool with its name in it.
    assert "申请机构<img src=x onerror=alert(1)>" in texts(by_id(root, "applicant"))
    # Flow names are written (label bounds where given, else beside the line).
    assert "通过" in texts(by_id(root, "flow_yes")) and "不通过" in texts(by_id(root, "flow_no"))


def test_long_names_are_wrapped_inside_the_task_with_the_full_name_on_hover() -> None:
    root = parse_svg(diagram_svg(CRAFTED))
    group = by_id(root, "notify")
    name = "出具一次性补正告知书并同时通知申请机构（含全部材料清单）"
    assert title_of(group) == name
    text = group.find("svg:text[@class='bpmn-name']", NS)
    lines = ["".join(span.itertext()) for span in text.findall("svg:tspan", NS)]
    assert len(lines) > 1
    font = float(text.get("font-size"))
    for line in lines:
        assert text_width(line, font) <= 100  # the shape's width
    assert "".join(lines) == name or "".join(lines).endswith("…")
    ys = [float(span.get("y")) for span in text.findall("svg:tspan", NS)]
    assert ys == sorted(ys) and ys[0] > 310 and ys[-1] < 390  # inside the shape, top to bottom


def test_wrapping_chinese_by_width_keeps_punctuation_off_line_starts() -> None:
    name = "出具不予备案通知书（现场考察），并告知申请机构。"
    lines = wrap_text(name, 88, 12)
    assert "".join(lines) == name
    assert len(lines) == 4
    assert all(text_width(line, 12) <= 88 for line in lines)
    assert not any(line[0] in "，。）" for line in lines)
    assert wrap_text("Send notice to applicant", 60, 12) == ["Send", "notice to", "applicant"]
    assert wrap_text("第一行\n第二行", 200, 12) == ["第一行", "第二行"]


# --- where the case stands -----------------------------------------------------------------------------------------

def test_current_done_and_passed_flows_are_marked_on_the_right_elements() -> None:
    xml = (ROOT / "bpmn" / "filing_application.bpmn").read_text(encoding="utf-8")
    root = parse_svg(diagram_svg(xml, current={"expert_review", "acceptance"}, done={"acceptance", "prechecks"},
                                 done_flows={"flow_start_to_prechecks"}, title="BA2026-00001 备案申请"))
    current = by_id(root, "expert_review")
    assert {"bpmn-current"} <= classes(current) and current.get("aria-current") == "step"
    assert current.get("data-state") == "current"
    assert "当前环节" in title_of(current)
    assert current.find("svg:rect[@class='bpmn-body']", NS).get("stroke") == CURRENT_STROKE
    # Done before and current again (a loop): current wins.
    assert "bpmn-current" in classes(by_id(root, "acceptance"))
    done = by_id(root, "prechecks")
    assert "bpmn-done" in classes(done) and done.get("aria-current") is None
    assert done.find("svg:rect[@class='bpmn-body']", NS).get("fill") == DONE_FILL
    assert "已完成" in title_of(done)
    untouched = by_id(root, "site_inspection")
    assert not classes(untouched) & {"bpmn-current", "bpmn-done"} and untouched.get("data-state") is None
    assert "当前环节" not in title_of(untouched)
    passed, other = by_id(root, "flow_start_to_prechecks"), by_id(root, "flow_prechecks_to_acceptance_merge")
    assert "bpmn-flow-done" in classes(passed) and "bpmn-flow-done" not in classes(other)
    assert (float(passed.find("svg:polyline", NS).get("stroke-width"))
            > float(other.find("svg:polyline", NS).get("stroke-width")))
    # Only the named elements are marked.
    assert {g.get("data-bpmn-id") for g in root.xpath("//svg:g[@data-state]", namespaces=NS)} == {
        "expert_review", "acceptance", "prechecks", "flow_start_to_prechecks"}
    assert title_of(root) == "BA2026-00001 备案申请" and root.get("aria-label") == "BA2026-00001 备案申请"
    assert "专家评估" in "".join(root.find("svg:desc", NS).itertext())


def test_unknown_ids_are_ignored() -> None:
    root = parse_svg(diagram_svg(CRAFTED, current={"no_such_task"}, done={"Start"}, done_flows={"x"}))
    assert root.xpath("//svg:g[@data-state]", namespaces=NS) == []


# --- safety --------------------------------------------------------------------------------------------------------

def test_names_stay_text_and_nothing_can_run() -> None:
    svg = diagram_svg(CRAFTED, current={"review"}, title='<script>alert("t")</script>')
    assert "<script" not in svg and "<img" not in svg and "<b>" not in svg
    root = parse_svg(svg)
    assert_safe(root)
    review = by_id(root, "review")
    assert title_of(review) == '<script>alert("x")</script>审查（当前环节）'
    assert any("<script>" in line for line in texts(review))
    assert "系统 & <b>后台</b>" in texts(root)
    assert title_of(root) == '<script>alert("t")</script>'
    # The serialised form escapes markup characters in text.
    assert "&lt;script&gt;" in svg


def test_entities_and_doctype_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    external = CRAFTED.replace('<?xml version="1.0" encoding="UTF-8"?>',
                               f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
                               ).replace('name="收到申请"', 'name="&x;"')
    with pytest.raises(DiagramError) as refused:
        diagram_svg(external)
    assert "TOPSECRET" not in str(refused.value)
    in_text = external.replace('name="&x;"', 'name="收到申请"').replace(
        '<bpmn:endEvent id="end" name="办结" />', '<bpmn:endEvent id="end"><bpmn:documentation>&x;</bpmn:documentation>'
        '</bpmn:endEvent>')
    with pytest.raises(DiagramError, match="DOCTYPE"):
        diagram_svg(in_text)
    bomb = CRAFTED.replace('<?xml version="1.0" encoding="UTF-8"?>',
                           '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>')
    with pytest.raises(DiagramError):
        diagram_svg(bomb)
    with pytest.raises(DiagramError, match="XML"):
        diagram_svg("<bpmn:definitions")


def test_a_file_without_diagram_information_gives_an_empty_picture() -> None:
    xml = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", CRAFTED, flags=re.DOTALL)
    root = parse_svg(diagram_svg(xml))
    assert root.xpath("//svg:g[@data-bpmn-id]", namespaces=NS) == []
    assert element_ids(xml) >= {"start", "review", "flow_start", "lane_a", "mf"}
