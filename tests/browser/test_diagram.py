"""The process diagrams drawn by bpmn-js (static/diagram.js, bpmn-js's NavigatedViewer) in real Chromium at a
laptop's 1366 px: the case page marks the current step, the completed ones and the flows taken, brings the current
step into view at a readable size, zooms, and tells an element's name and status on a click; the process owners'
version page draws every bundled file completely; the upload check marks the findings; the diff marks what a
version added and changed; names that look like markup stay text.

bpmn-js comes from the npm registry (`npm ci --prefix tools/bpmnio` copies its bundles into the web app's static
folder); without it these tests skip locally and fail on CI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters.entrypoints.web.diagram import VIEWER_BUNDLE
from tests.conftest import EXAMPLE_APPLICATION, ROOT, _on_ci
from tests.support.served import Served, served_site, sign_in
from workflows.service import Beian

CASEWORKER = "li.na"
OWNER = "zhou.liu"
LAPTOP = {"width": 1366, "height": 768}
FILING = ROOT / "bpmn" / "filing_application.bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
FLOW_NODES = ("task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask",
              "businessRuleTask", "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent",
              "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
              "eventBasedGateway", "complexGateway")

# A small file whose names try to break out of the page: a task named like a script and a pool like an image.
CRAFTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="https://beian.example/test">
  <bpmn:collaboration id="collab">
    <bpmn:participant id="authority" name="备案机关&lt;img src=x onerror=alert(1)&gt;" processRef="p" />
  </bpmn:collaboration>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" name="收到申请" />
    <bpmn:userTask id="review" name="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;审查" />
    <bpmn:endEvent id="end" name="办结" />
    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="flow_review" sourceRef="review" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d">
    <bpmndi:BPMNPlane id="plane" bpmnElement="collab">
      <bpmndi:BPMNShape id="authority_di" bpmnElement="authority" isHorizontal="true">
        <dc:Bounds x="100" y="100" width="600" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="172" y="182" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review"><dc:Bounds x="300" y="160" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="500" y="182" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_start_di" bpmnElement="flow_start">
        <di:waypoint x="208" y="200" /><di:waypoint x="300" y="200" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_review_di" bpmnElement="flow_review">
        <di:waypoint x="400" y="200" /><di:waypoint x="500" y="200" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@pytest.fixture(scope="module", autouse=True)
def bundle_installed() -> None:
    if VIEWER_BUNDLE.is_file():
        return
    missing = (f"the bpmn-js viewer is missing ({VIEWER_BUNDLE}): "
               "run `npm ci --prefix tools/bpmnio --no-audit --no-fund`")
    if _on_ci():
        pytest.fail(f"{missing} but CI=true: CI must draw the diagrams in the browser", pytrace=False)
    pytest.skip(missing)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Beian, Served, str]]:
    people = {CASEWORKER: ("李娜", ["intake"], "510100"), OWNER: ("周流程", ["process_owner"], "510000")}
    with served_site(tmp_path / "beian.sqlite3", people) as (service, served):
        case = service.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"]
        yield service, served, case


def _open(browser: Any, served: Served, user: str, target: str) -> tuple[Any, list[str]]:
    """A laptop-sized page signed in as `user` at `target`, with the page's script errors collected."""
    page = browser.new_page(locale="zh-CN", viewport=LAPTOP)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    sign_in(page, served, user, target)
    _wait_drawn(page)
    return page, errors


def _wait_drawn(page: Any) -> None:
    page.wait_for_selector("#diagram[data-ready=true]", timeout=20000)


def _markers(page: Any, element_id: str, diagram: str = "#diagram") -> set[str]:
    classes = page.get_attribute(f"{diagram} .djs-element[data-element-id='{element_id}']", "class") or ""
    return {c for c in classes.split() if c.startswith("beian-")}


def _marked(page: Any) -> dict[str, str]:
    """Element id → marker class, for every marked element on the canvas."""
    found: dict[str, str] = page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('.djs-element')].flatMap(g => [...g.classList]
            .filter(c => c.startsWith('beian-')).map(c => [g.dataset.elementId, c])))""")
    return found


def _scale(page: Any) -> float:
    scale: float = page.evaluate("() => window.beianDiagram.get('canvas').zoom()")
    return scale


def _flow_between(xml: str, source: str, target: str) -> str:
    root = etree.fromstring(xml.encode("utf-8"))
    (found,) = root.xpath("//bpmn:sequenceFlow[@sourceRef=$s and @targetRef=$t]/@id", namespaces=NS, s=source,
                          t=target)
    return str(found)


def _upload(page: Any, process: str, name: str, xml: str) -> None:
    page.goto(page.url.split("/processes")[0] + f"/processes/{process}/upload")
    page.set_input_files("#bpmn", files=[{"name": name, "mimeType": "application/xml", "buffer": xml.encode()}])
    page.click("text=上传并检查")
    page.wait_for_load_state("load")  # the check (and its trial run) can take a while on a busy machine


# --- the case page -------------------------------------------------------------------------------------------------

def test_the_case_page_draws_where_the_case_stands_readably(site: tuple[Beian, Served, str], browser: Any,
                                                            screenshots: Path) -> None:
    service, served, case = site
    xml = FILING.read_text(encoding="utf-8")
    page, errors = _open(browser, served, CASEWORKER, f"/cases/{case}")

    # Drawn by bpmn-js, marked where the case stands: at acceptance, after the prechecks, along the flows taken.
    assert page.locator(".diagram-canvas .djs-element[data-element-id='acceptance']").count() == 1
    assert _markers(page, "acceptance") == {"beian-current"}
    assert _markers(page, "prechecks") == {"beian-done"}
    assert _markers(page, _flow_between(xml, "set_acceptance_deadline", "acceptance")) == {"beian-taken"}
    assert _markers(page, "expert_review") == set()
    marked = _marked(page)
    progress = service.cases.progress(case)
    assert {k for k, v in marked.items() if v == "beian-current"} == progress["current"]
    assert {k for k, v in marked.items() if v == "beian-done"} == progress["done"] - progress["current"]
    assert {k for k, v in marked.items() if v == "beian-taken"} == progress["done_flows"]
    badge = page.locator(".beian-badge-current[data-element-id='acceptance']")
    assert badge.inner_text() == "当前环节" and badge.is_visible()
    assert "当前环节" in page.inner_text(".legend") and "未到达" in page.inner_text(".legend")

    # Readable at 1366 px: a wide canvas, and the current step in view at a size its name can be read at.
    canvas = page.locator(".diagram-canvas").bounding_box()
    assert canvas["width"] >= 1000 and canvas["height"] >= 450
    shape = page.locator(".djs-element[data-element-id='acceptance'] .djs-visual").bounding_box()
    assert canvas["x"] <= shape["x"] and shape["x"] + shape["width"] <= canvas["x"] + canvas["width"]
    assert canvas["y"] <= shape["y"] and shape["y"] + shape["height"] <= canvas["y"] + canvas["height"]
    assert shape["width"] >= 75, shape  # a 100-unit task at 3/4 scale or more
    page.screenshot(path=str(screenshots / "diagram-01-case.png"))

    # Clicking the current step tells its name and status.
    page.locator(".djs-element[data-element-id='acceptance']").click()
    info = page.inner_text(".diagram-info")
    assert "受理审查" in info and "当前环节" in info
    page.locator(".djs-element[data-element-id='expert_review']").scroll_into_view_if_needed()

    # The zoom buttons: in, out, and the whole diagram in the window.
    start = _scale(page)
    page.click("button[data-zoom=in]")
    assert _scale(page) > start
    page.click("button[data-zoom=out]")
    page.click("button[data-zoom=out]")
    assert _scale(page) < start
    page.click("button[data-zoom=fit]")
    box = page.evaluate("() => window.beianDiagram.get('canvas').viewbox()")
    inner, slack = box["inner"], box["inner"]["width"] * 0.01  # bpmn-js rounds the scale to 3 digits
    assert box["x"] <= inner["x"] + slack and box["x"] + box["width"] >= inner["x"] + inner["width"] - slack
    assert box["y"] <= inner["y"] + slack and box["y"] + box["height"] >= inner["y"] + inner["height"] - slack
    assert _scale(page) < start
    page.screenshot(path=str(screenshots / "diagram-02-case-fit.png"))

    # The case moves on: the next step is current, the one done is shaded, the path to it drawn as taken.
    (task,) = service.cases.tasks(case)
    service.cases.complete(task["id"], {"decision": "accept"})
    page.reload()
    _wait_drawn(page)
    assert _markers(page, "expert_review") == {"beian-current"}
    assert _markers(page, "acceptance") == {"beian-done"}
    for source, target in (("acceptance", "acceptance_decision"), ("preliminary_merge", "expert_review")):
        assert _markers(page, _flow_between(xml, source, target)) == {"beian-taken"}
    assert _markers(page, _flow_between(xml, "acceptance_decision", "notice_rejection")) == set()
    assert "当前环节：专家评估" in page.inner_text(".current-steps")
    box = page.locator(".djs-element[data-element-id='expert_review'] .djs-visual").bounding_box()
    canvas = page.locator(".diagram-canvas").bounding_box()
    assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"]
    page.screenshot(path=str(screenshots / "diagram-03-case-moved-on.png"))
    assert errors == []
    page.close()


# --- the process owners' pages ---------------------------------------------------------------------------------------

def test_every_bundled_file_is_drawn_completely_on_its_version_page(site: tuple[Beian, Served, str], browser: Any,
                                                                    screenshots: Path) -> None:
    _, served, _ = site
    page, errors = _open(browser, served, OWNER, "/processes/filing_application")
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        page.goto(f"{served.url}/processes/{path.stem}")
        _wait_drawn(page)
        root = etree.fromstring(path.read_bytes())
        expected = {str(e.get("id")) for kind in (*FLOW_NODES, "sequenceFlow", "lane", "participant")
                    for e in root.iterfind(f".//bpmn:{kind}", NS)}
        drawn = set(page.evaluate("() => window.beianDiagram.get('elementRegistry').getAll().map(e => e.id)"))
        assert expected <= drawn, (path.stem, expected - drawn)
        assert page.inner_text(".diagram-status") == "", path.stem  # no import warnings
        assert _marked(page) == {}
    page.goto(f"{served.url}/processes/filing_application")
    _wait_drawn(page)
    page.screenshot(path=str(screenshots / "diagram-04-version.png"))
    assert errors == []
    page.close()


def test_the_upload_check_marks_the_findings_on_the_diagram(site: tuple[Beian, Served, str], browser: Any,
                                                            screenshots: Path) -> None:
    _, served, _ = site
    page, errors = _open(browser, served, OWNER, "/processes/filing_application")
    broken = FILING.read_text(encoding="utf-8").replace('value="acceptance.schema.json"',
                                                        'value="nowhere.schema.json"', 1)
    _upload(page, "filing_application", "filing_application.bpmn", broken)
    _wait_drawn(page)
    assert _markers(page, "acceptance") == {"beian-error"}
    assert page.locator(".beian-badge-error[data-element-id='acceptance']").inner_text() == "有错误"
    shape = page.locator(".djs-element[data-element-id='acceptance'] .djs-visual").bounding_box()
    canvas = page.locator(".diagram-canvas").bounding_box()
    assert canvas["x"] <= shape["x"] and shape["x"] + shape["width"] <= canvas["x"] + canvas["width"]
    page.locator(".djs-element[data-element-id='acceptance']").click()
    assert "nowhere.schema.json" in page.inner_text(".diagram-info")
    assert page.locator("tr.diagram-picked[data-element-id='acceptance']").count() == 1
    page.screenshot(path=str(screenshots / "diagram-05-upload-findings.png"))

    # A file without diagram information: a note in Chinese instead of a canvas.
    no_di = (ROOT / "tests" / "fixtures" / "bpmn" / "lane_unknown.bpmn").read_text(encoding="utf-8")
    _upload(page, "filing_application", "lane_unknown.bpmn", no_di)
    assert "没有图形信息" in page.inner_text(".diagram-problem")
    assert page.locator("#diagram").count() == 0

    # Names that look like markup stay text: no script runs, no image loads, the name reads as written.
    _upload(page, "filing_application", "crafted.bpmn", CRAFTED)
    _wait_drawn(page)
    assert page.locator("#diagram img, #diagram script").count() == 0
    canvas_text = page.inner_text(".diagram-canvas")
    assert '<script>alert("x")</script>审查' in canvas_text.replace("\n", "")
    page.locator(".djs-element[data-element-id='review']").click()
    assert '<script>alert("x")</script>审查' in page.inner_text(".diagram-info")
    assert errors == []
    page.close()


def test_the_diff_marks_what_a_version_added_and_changed(site: tuple[Beian, Served, str], browser: Any,
                                                         screenshots: Path) -> None:
    service, served, _ = site
    page, errors = _open(browser, served, OWNER, "/processes/filing_application")
    # Version 2: acceptance renamed, and a new step (with its shape and edge) before the higher-review gateway.
    xml = FILING.read_text(encoding="utf-8")
    for old, new in (
            ('<bpmn:userTask id="acceptance" name="受理审查">',
             '<bpmn:userTask id="acceptance" name="受理审查（新）">'),
            ('sourceRef="inspection_merge" targetRef="needs_higher_review"',
             'sourceRef="inspection_merge" targetRef="extra_review"'),
            ("<bpmn:incoming>flow_inspection_merge_to_needs_higher_review</bpmn:incoming>",
             "<bpmn:incoming>flow_extra_review_done</bpmn:incoming>"),
            ("<bpmn:flowNodeRef>higher_review</bpmn:flowNodeRef>",
             "<bpmn:flowNodeRef>higher_review</bpmn:flowNodeRef><bpmn:flowNodeRef>extra_review</bpmn:flowNodeRef>"),
            ('<bpmn:exclusiveGateway id="needs_higher_review"',
             '<bpmn:userTask id="extra_review" name="处室会审"><bpmn:extensionElements><spiffworkflow:properties>'
             '<spiffworkflow:property name="formJsonSchemaFilename" value="higher_review.schema.json" />'
             '</spiffworkflow:properties></bpmn:extensionElements>'
             '<bpmn:incoming>flow_inspection_merge_to_needs_higher_review</bpmn:incoming>'
             '<bpmn:outgoing>flow_extra_review_done</bpmn:outgoing></bpmn:userTask>'
             '<bpmn:sequenceFlow id="flow_extra_review_done" sourceRef="extra_review" '
             'targetRef="needs_higher_review" />'
             '\n    <bpmn:exclusiveGateway id="needs_higher_review"'),
            ("</bpmndi:BPMNPlane>",
             '<bpmndi:BPMNShape id="extra_review_di" bpmnElement="extra_review">'
             '<dc:Bounds x="2230" y="1010" width="100" height="80" /></bpmndi:BPMNShape>'
             '<bpmndi:BPMNEdge id="flow_extra_review_done_di" bpmnElement="flow_extra_review_done">'
             '<di:waypoint x="2330" y="1050" /><di:waypoint x="2380" y="1050" /><di:waypoint x="2380" y="1025" />'
             '</bpmndi:BPMNEdge></bpmndi:BPMNPlane>')):
        assert xml.count(old) == 1, old
        xml = xml.replace(old, new)
    _upload(page, "filing_application", "filing_application.bpmn", xml)
    assert "没有错误" in page.inner_text("body") or "检查通过" in page.inner_text("body"), page.inner_text("body")
    page.click("text=部署为新版本")
    page.wait_for_url("**/processes/filing_application?version=2&deployed=2")
    assert [v["version"] for v in service.processes.versions("filing_application")] == [1, 2]

    page.goto(f"{served.url}/processes/filing_application/diff?from_version=1&to_version=2")
    _wait_drawn(page)
    page.wait_for_selector("#diagram-old[data-ready=true]", timeout=20000)
    assert _markers(page, "acceptance") == {"beian-changed"}
    assert _markers(page, "extra_review") == {"beian-added"}
    assert page.locator("#diagram .beian-badge-added[data-element-id='extra_review']").inner_text() == "新增"
    assert page.locator("#diagram .beian-badge-changed[data-element-id='acceptance']").inner_text() == "有改动"
    assert _markers(page, "expert_review") == set()
    # Beside it, version 1 as it was: the old name, no new step, nothing removed to mark.
    assert page.locator("#diagram-old .djs-element[data-element-id='extra_review']").count() == 0
    assert _markers(page, "acceptance", "#diagram-old") == set()
    assert "受理审查（新）" not in page.inner_text("#diagram-old .diagram-canvas")
    page.locator("#diagram .djs-element[data-element-id='acceptance']").scroll_into_view_if_needed()
    page.click("#diagram button[data-zoom=fit]")
    page.locator("#diagram .djs-element[data-element-id='acceptance']").click()
    info = page.inner_text("#diagram .diagram-info")
    assert "有改动" in info and "名称：受理审查 → 受理审查（新）" in info
    assert page.locator("tr.diagram-picked[data-bpmn-id='acceptance']").count() == 1
    page.screenshot(path=str(screenshots / "diagram-06-diff.png"), full_page=True)

    # The other way round, version 2 → 1: the step version 1 lacks is marked removed on version 2's diagram.
    page.goto(f"{served.url}/processes/filing_application/diff?from_version=2&to_version=1")
    _wait_drawn(page)
    page.wait_for_selector("#diagram-old[data-ready=true]", timeout=20000)
    assert _markers(page, "extra_review", "#diagram-old") == {"beian-removed"}
    assert page.locator("#diagram-old .beian-badge-removed[data-element-id='extra_review']").inner_text() == "已删除"
    assert page.locator("#diagram .djs-element[data-element-id='extra_review']").count() == 0
    assert errors == []
    page.close()
