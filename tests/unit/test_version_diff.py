"""The version diff says what changed with both values (name, lane, properties, conditions, timers, messages, service
parameters, scripts, the type; a form's fields) and lists nothing that only SpiffWorkflow's bookkeeping changed: a
shape moved in the drawing (which reorders a gateway's outgoing flows) or a neighbour's new id."""

from __future__ import annotations

import copy
import threading
from typing import Any

from lxml import etree

from adapters.outside.db import ProcessDefinition
from tests.conftest import ROOT
from tests.support.diagram_edits import BPMN, mirrored, without
from workflows.definitions import ParsedDefinition, bundled_sources, parse_definition, read_source
from workflows.migration import version_diff
from workflows.state import spec_diff

FILING = ROOT / "bpmn" / "filing_application.bpmn"


def _diff(xml: str, new_xml: str, forms: dict[str, Any], new_forms: dict[str, Any] | None = None,
          process: str = "filing_application", running: dict[str, int] | None = None) -> dict[str, Any]:
    new_forms = forms if new_forms is None else new_forms
    old = parse_definition(process, xml, f"{process}.bpmn", forms)
    new = parse_definition(process, new_xml, f"{process}.bpmn", new_forms)
    return version_diff(_row(process, 1, forms), old, _row(process, 2, new_forms), new, running or {})


def _row(process: str, version: int, forms: dict[str, Any]) -> ProcessDefinition:
    return ProcessDefinition(process_id=process, version=version, forms=forms)


def _replaced(xml: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert xml.count(old) == 1, old
        xml = xml.replace(old, new)
    return xml


def _raw_changed(old: ParsedDefinition, new: ParsedDefinition) -> set[str]:
    return {spec.bpmn_id for spec in spec_diff(old.spec, new.spec).changed if spec.bpmn_id}


def test_moving_shapes_changes_nothing_in_any_bundled_process() -> None:
    for source in bundled_sources():
        moved = mirrored(source.bpmn_xml)
        assert moved != source.bpmn_xml
        diff = _diff(source.bpmn_xml, moved, source.forms, process=source.process_id)
        assert (diff["added"], diff["removed"], diff["changed"], diff["forms"]) == ([], [], [], []), source.file_name
        same = _diff(source.bpmn_xml, source.bpmn_xml, source.forms, process=source.process_id)
        assert (same["added"], same["removed"], same["changed"], same["forms"]) == ([], [], [], [])


def test_the_moved_gateways_are_what_spiffworkflow_itself_reports_as_changed() -> None:
    """The trap the previous test guards against is real: SpiffWorkflow's own spec diff lists the gateways whose
    flows the move reordered, among them gateways with a flow without condition and an event-based gateway."""
    source = read_source(FILING)
    old = parse_definition(source.process_id, source.bpmn_xml, source.file_name, source.forms)
    new = parse_definition(source.process_id, mirrored(source.bpmn_xml), source.file_name, source.forms)
    assert {"acceptance_decision", "has_publicity", "needs_preliminary_opinion", "publicity_wait"} <= \
        _raw_changed(old, new)


def test_a_neighbours_new_id_is_said_on_the_neighbour_only() -> None:
    source = read_source(FILING)
    renamed = source.bpmn_xml.replace("status_under_review", "mark_under_review")
    diff = _diff(source.bpmn_xml, renamed, source.forms, running={"status_under_review": 3})
    assert [(e["bpmn_id"], e["new_bpmn_id"], e["changes"], e["running"]) for e in diff["changed"]] == [
        ("status_under_review", "mark_under_review", ["id 改为 mark_under_review"], 3)]
    assert diff["changed"][0]["details"] == [
        {"label": "id", "before": "status_under_review", "after": "mark_under_review", "code": False}]


def test_each_change_is_said_with_its_old_and_new_value() -> None:
    source = read_source(FILING)
    xml = _replaced(
        source.bpmn_xml,
        ('name="受理审查">', 'name="受理审查（新版）">'),
        ("<bpmn:flowNodeRef>acceptance</bpmn:flowNodeRef>", ""),  # out of the 受理人员 lane
        ('<spiffworkflow:property name="articleKey" value="acceptance" />',
         '<spiffworkflow:property name="articleKey" value="acceptance_alt" />'),
        ("region['acceptance_days'])</bpmn:script>", "region['acceptance_days'])\nnote = '已计算'</bpmn:script>"),
        ("<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">acceptance_deadline['due']</bpmn:timeDate>",
         '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P5D"</bpmn:timeDuration>'),
        ("<spiffworkflow:parameter id=\"reason\" type=\"any\" value=\"'受理期限已届满，尚未作出受理决定'\" />",
         "<spiffworkflow:parameter id=\"reason\" type=\"any\" value=\"'受理期限已届满'\" />"),
        ('<bpmn:message id="message_resubmission" name="resubmission" />',
         '<bpmn:message id="message_resubmission" name="resubmission_v2" />'),
        ('value="setting:expert_review_level"', 'value="province"'),
        ("acceptance['decision'] == 'accept'</bpmn:conditionExpression>",
         "acceptance['decision'] in ('accept', 'accept_partly')</bpmn:conditionExpression>"))
    diff = _diff(source.bpmn_xml, xml, source.forms, running={"acceptance": 2})
    details = {e["bpmn_id"]: [(d["label"], d["before"], d["after"]) for d in e["details"]] for e in diff["changed"]}
    assert details == {
        "acceptance": [("名称", "受理审查", "受理审查（新版）"), ("办理角色（泳道）", "受理人员", None),
                       ("依据条文（按地区引用）", "acceptance", "acceptance_alt")],
        "acceptance_decision": [("分支条件（通往“标记为审核评估中”（status_under_review））",
                                 "acceptance['decision'] == 'accept'",
                                 "acceptance['decision'] in ('accept', 'accept_partly')")],
        "acceptance_overdue": [("定时", "到期时刻（timeDate） acceptance_deadline['due']",
                                '等待时长（timeDuration） "P5D"')],
        "await_resubmission": [("等待的消息", "消息 resubmission（存入变量 resubmission）",
                                "消息 resubmission_v2（存入变量 resubmission）")],
        "escalate_acceptance": [("服务参数 reason", "'受理期限已届满，尚未作出受理决定'", "'受理期限已届满'")],
        "expert_review": [("管辖", "按地区设置 expert_review_level（setting:expert_review_level）",
                           "省级机关（province）")],
        "set_acceptance_deadline": [(
            "脚本", "acceptance_deadline = within_working_days(acceptance_clock_start(received_at), "
                    "region['acceptance_days'])",
            "acceptance_deadline = within_working_days(acceptance_clock_start(received_at), "
            "region['acceptance_days'])\nnote = '已计算'")],
    }
    # The labels the migration preview uses stay as they were.
    changes = {e["bpmn_id"]: e["changes"] for e in diff["changed"]}
    assert changes["acceptance"] == ["名称", "泳道（角色）", "扩展属性（表单、期限、条款、服务参数）"]
    assert changes["acceptance_decision"] == ["分支条件"] and changes["set_acceptance_deadline"] == ["脚本"]
    assert [e["running"] for e in diff["changed"] if e["bpmn_id"] == "acceptance"] == [2]
    assert {d["code"] for e in diff["changed"] for d in e["details"] if d["label"] in ("脚本", "服务参数 reason")} == {
        True}


def test_a_task_that_changes_type_says_the_type_first_then_what_came_and_went() -> None:
    source = read_source(FILING)
    root = etree.fromstring(source.bpmn_xml.encode("utf-8"))
    (expert,) = root.xpath("//bpmn:userTask[@id='expert_review']", namespaces={"bpmn": BPMN})
    expert.tag = f"{{{BPMN}}}scriptTask"
    expert.set("scriptFormat", "python")
    expert.remove(expert.find(f"{{{BPMN}}}extensionElements"))
    etree.SubElement(expert, f"{{{BPMN}}}script").text = "expert_review = {'result': 'pass'}"
    diff = _diff(source.bpmn_xml, etree.tostring(root, encoding="unicode"), source.forms)
    (entry,) = [e for e in diff["changed"] if e["bpmn_id"] == "expert_review"]
    assert entry["changes"] == ["元素类型"]
    details = [(d["label"], d["before"], d["after"]) for d in entry["details"]]
    assert details[0] == ("元素类型", "用户任务", "脚本任务")
    assert ("表单", "expert_review.schema.json", None) in details
    assert ("脚本", None, "expert_review = {'result': 'pass'}") in details


def test_a_changed_form_says_which_fields_changed_and_how() -> None:
    source = read_source(FILING)
    forms = copy.deepcopy(source.forms)
    form = forms["acceptance.schema.json"]
    form["title"] = "受理审查（2027 版）"
    form["properties"]["decision"]["oneOf"].append({"const": "defer", "title": "暂缓受理"})
    form["properties"]["decision"]["oneOf"][0]["title"] = "同意受理"
    form["properties"]["reasons"]["maxLength"] = 2000
    form["properties"]["remark"] = {"title": "备注", "type": "string"}
    form["required"].append("remark")
    del form["properties"]["missing_items"]
    diff = _diff(source.bpmn_xml, source.bpmn_xml, source.forms, forms)
    assert diff["changed"] == []
    (changed,) = diff["forms"]
    assert (changed["name"], changed["change"], changed["title"]) == (
        "acceptance.schema.json", "changed", "受理审查（2027 版）")
    assert [(d["label"], d["before"], d["after"]) for d in changed["details"]] == [
        ("表单标题", "受理审查", "受理审查（2027 版）")]
    fields = {f["field"]: (f["title"], f["change"], [(d["label"], d["before"], d["after"]) for d in f["details"]])
              for f in changed["fields"]}
    assert fields == {
        "decision": ("受理决定", "changed", [("新增选项", None, "暂缓受理（defer）"),
                                             ("选项 accept 的名称", "予以受理", "同意受理")]),
        "missing_items": ("需补正的材料", "removed", [("类型", "多项（每项：文本）", None),
                                                      ("是否必填", "选填", None)]),
        "reasons": ("理由或需补正的材料", "changed", [("最多字数", "4000", "2000")]),
        "remark": ("备注", "added", [("类型", None, "文本"), ("是否必填", None, "必填")]),
    }


def test_forms_added_and_removed_are_named_with_their_title() -> None:
    source = read_source(FILING)
    forms = dict(source.forms)
    forms["extra.schema.json"] = {"title": "附加核查", "type": "object", "properties": {}}
    removed = dict(source.forms)
    del removed["objection.message.schema.json"]
    added = _diff(source.bpmn_xml, source.bpmn_xml, source.forms, forms)["forms"]
    assert [(f["name"], f["change"], f["title"]) for f in added] == [("extra.schema.json", "added", "附加核查")]
    gone = _diff(source.bpmn_xml, source.bpmn_xml, source.forms, removed)["forms"]
    assert [(f["name"], f["change"]) for f in gone] == [("objection.message.schema.json", "removed")]


def test_a_boundary_event_taken_away_or_added_is_said_on_its_task_not_on_the_rewired_neighbours() -> None:
    source = read_source(FILING)
    gone = ("acceptance_overdue", "escalate_acceptance", "escalation_recorded",
            "flow_acceptance_overdue_to_escalate_acceptance", "flow_escalate_acceptance_to_escalation_recorded")
    fewer = without(source.bpmn_xml, gone)
    removed = _diff(source.bpmn_xml, fewer, source.forms)
    assert [e["bpmn_id"] for e in removed["removed"]] == ["acceptance_overdue", "escalate_acceptance",
                                                          "escalation_recorded"]
    assert [(e["bpmn_id"], e["changes"], [(d["label"], d["before"], d["after"]) for d in e["details"]])
            for e in removed["changed"]] == [
        ("acceptance", ["附加的边界事件（如期限届满）"],
         [("附加的边界事件", "“受理期限届满”（acceptance_overdue）", None)])]
    added = _diff(fewer, source.bpmn_xml, source.forms)
    assert [e["bpmn_id"] for e in added["added"]] == ["acceptance_overdue", "escalate_acceptance",
                                                      "escalation_recorded"]
    assert [(e["bpmn_id"], e["details"][0]["after"]) for e in added["changed"]] == [
        ("acceptance", "“受理期限届满”（acceptance_overdue）")]


def test_a_comparison_waits_for_a_state_being_saved() -> None:
    """Saving a state switches the shared registry to its JSON mode (workflows/state.py); a comparison of two versions
    converts specs with the same registry, so it waits until the save is done and finds what it finds alone."""
    from workflows import state

    source = read_source(FILING)
    old = parse_definition(source.process_id, source.bpmn_xml, source.file_name, source.forms)
    new = parse_definition(source.process_id, mirrored(source.bpmn_xml), source.file_name, source.forms)
    alone = _raw_changed(old, new)
    found: list[set[str]] = []
    comparing = threading.Thread(target=lambda: found.append(_raw_changed(old, new)))
    with state._converting:  # a save in the middle of its conversion
        state._registry._encoder_mode = True
        try:
            comparing.start()
            comparing.join(timeout=0.5)
            assert comparing.is_alive(), "the comparison ran while the state was being converted"
        finally:
            state._registry._encoder_mode = False
    comparing.join(timeout=30)
    assert found == [alone]
