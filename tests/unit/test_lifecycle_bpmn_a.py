"""Issue 3, part A: the diagrams of a filing's validity, renewal, changes and voluntary termination.

bpmn/filing_validity.bpmn, renewal.bpmn, change_report.bpmn and voluntary_termination.bpmn validate, are completely
drawn, use only the operators and expression functions of the issue 3 design (its operator table is in
tests/support/bpmn_harness.py) and every path runs. As in test_filing_bpmn.py the paths run in memory on the
project's own engine pieces, driven by the harness; only the domain side is replaced by expression functions that
count calendar days and by service operators that check their parameters against the design, record each call with the
virtual time it ran at, and answer with canned results.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from jsonschema import Draft202012Validator
from SpiffWorkflow.exceptions import WorkflowException

from tasks.articles import ARTICLE_KEYS, COMMON
from tasks.forms import schema_problems
from tasks.regions import profile_by_key, profile_for_region
from tasks.roles import role_for_lane
from tests.support.bpmn_harness import (
    BPMN_DIR,
    CASE_STATUSES,
    DESIGN_OPERATORS,
    FORMS_DIR,
    FUNCTIONS,
    NS,
    BpmnCase,
    Services,
    apart,
    bounds,
    bpmn_doc,
    chinese,
    design_problems,
    expressions,
    flow_nodes,
    inside,
    local,
    parsed,
    process_of,
    read_form,
    sequence_flows,
    service_operators,
    shape_boxes,
    within_working_days,
)
from workflows.definitions import read_source
from workflows.expressions import BUILTIN_NAMES, RestrictedEnvironment, problems
from workflows.operators import OPERATORS, STATUSES, expression_functions


@dataclass(frozen=True)
class Process:
    name: str
    lanes: frozenset[str]
    required_ids: dict[str, str]             # ids other code relies on -> BPMN element type
    user_tasks: dict[str, tuple[str, str, tuple[str, ...]]]  # id -> (lane, article key, context)
    messages: frozenset[str] = frozenset()
    ends: frozenset[str] = frozenset()


PROCESSES: dict[str, Process] = {
    "filing_validity": Process(
        "备案有效期与续期提醒", frozenset({"系统"}),
        {"start": "startEvent", "window_opens": "intermediateCatchEvent",
         "second_reminder": "intermediateCatchEvent", "validity_expires": "intermediateCatchEvent",
         "continuation_decision": "exclusiveGateway"},
        {}, ends=frozenset({"continuation_started", "automatic_termination_started"})),
    "renewal": Process(
        "续期备案", frozenset({"系统", "专家评估协调员", "复核人员", "审批人员"}),
        {"start": "startEvent", "continuation_review": "userTask", "renewal_assessment": "userTask",
         "assessment_result": "exclusiveGateway", "notice_intended_decision": "serviceTask",
         "statement_wait": "eventBasedGateway", "decide_renewal": "userTask", "renewal_decision": "exclusiveGateway"},
        {"continuation_review": ("复核人员", "red_black_list", ("filing",)),
         "renewal_assessment": ("专家评估协调员", "renewal", ("filing", "request")),
         "decide_renewal": ("审批人员", "renewal", ("assessment", "statement", "statement_deadline"))},
        messages=frozenset({"statement"}), ends=frozenset({"renewed", "renewal_refused"})),
    "change_report": Process(
        "备案事项变更", frozenset({"系统", "受理人员"}),
        {"start": "startEvent", "change_review": "userTask", "change_result": "exclusiveGateway"},
        {"change_review": ("受理人员", "changes", ("request",))},
        ends=frozenset({"change_approved", "change_refused"})),
    "voluntary_termination": Process(
        "自愿终止备案", frozenset({"系统", "监管人员"}),
        {"start": "startEvent", "risk_assessment": "userTask", "wrapup_wait": "eventBasedGateway",
         "wrapup_done_received": "intermediateCatchEvent", "wrapup_overdue": "intermediateCatchEvent",
         "wrapup_done_late": "intermediateCatchEvent"},
        {"risk_assessment": ("监管人员", "voluntary_termination", ("request",))},
        messages=frozenset({"wrapup_done"}), ends=frozenset({"terminated"})),
}
PROCESS_IDS = sorted(PROCESSES)

START_KEYS = {"case", "filing", "region", "ground", "request", "source_case"}
ARTICLE_PATTERN = re.compile(r"region\['articles'\]\['(\w+)'\]")

SICHUAN = profile_by_key("sichuan").to_dict()
XPCC = profile_by_key("xpcc").to_dict()


# ---------------------------------------------------------------------------------------- environment


def _filing(**overrides: Any) -> dict[str, Any]:
    return {"number": "川技评备〔2026〕0001号", "valid_from": "2026-10-01", "valid_until": "2029-09-30",
            "window_opens": "2029-07-01", "second_reminder_on": "2029-08-31", "expires_on": "2029-10-01",
            "region": "510100", "authority_level": "provincial",
            "institution": {"name": "成都示例技能评价有限公司", "credit_code": "91350100M000100Y43",
                            "type": "employer"},
            "rating": None, "simplified_continuation": False, "parent_number": None, "status": "filed",
            **overrides}


def _start_data(*, filing: dict[str, Any] | None = None, region: dict[str, Any] | None = None,
                ground: dict[str, Any] | None = None, request: dict[str, Any] | None = None) -> dict[str, Any]:
    region = region or SICHUAN
    return {"case": "BA2029-00001", "filing": filing or _filing(), "region": region,
            "ground": ground or {"code": "renewal", "label": "续期", "article": region["articles"]["renewal"]},
            "request": request or {}, "source_case": None}


class Case(BpmnCase):
    """An instance of `process_id` with its start data, started at the instant `start`."""

    def __init__(self, process_id: str, services: Services, data: dict[str, Any], start: str) -> None:
        super().__init__(parsed(process_id), services, data, start=datetime.fromisoformat(start),
                         ends=PROCESSES[process_id].ends)


@pytest.fixture
def services() -> Services:
    return Services()


# ---------------------------------------------------------------------------------------- the files


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_file_reads_parses_and_names_its_process(process_id: str) -> None:
    source = read_source(BPMN_DIR / f"{process_id}.bpmn")
    assert source.process_id == process_id
    definition = parsed(process_id)
    assert definition.name == PROCESSES[process_id].name
    doc = bpmn_doc(process_id)
    assert len(doc.findall("bpmn:process", NS)) == 1
    process = process_of(doc)
    assert process.get("isExecutable") == "true"
    assert chinese(process.findtext("bpmn:documentation", namespaces=NS))
    participant = doc.find("bpmn:collaboration/bpmn:participant", NS)
    assert participant is not None and participant.get("processRef") == process_id
    assert chinese(participant.get("name"))


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_required_ids_have_their_types(process_id: str) -> None:
    found = {e.get("id"): local(e) for e in flow_nodes(bpmn_doc(process_id))}
    required = PROCESSES[process_id].required_ids | {end: "endEvent" for end in PROCESSES[process_id].ends}
    assert {k: found.get(k) for k in required} == required
    assert [k for k, kind in found.items() if kind == "endEvent"] != [], "a process ends somewhere"
    assert {k for k, kind in found.items() if kind == "endEvent"} == PROCESSES[process_id].ends


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_every_node_and_every_branch_is_named_in_chinese(process_id: str) -> None:
    doc = bpmn_doc(process_id)
    for element in flow_nodes(doc):
        name = element.get("name")
        if not name:  # converging gateways stay unlabelled, as modellers draw them
            converging = len(element.findall("bpmn:outgoing", NS)) == 1
            assert local(element) == "exclusiveGateway" and converging, element.get("id")
            continue
        assert chinese(name), (element.get("id"), name)
    flows = {f.get("id"): f for f in sequence_flows(doc)}
    for gateway in process_of(doc).findall("bpmn:exclusiveGateway", NS):
        outgoing = gateway.findall("bpmn:outgoing", NS)
        if len(outgoing) > 1:
            for ref in outgoing:
                assert chinese(flows[ref.text].get("name")), ref.text


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_lanes_are_roles_and_partition_the_nodes(process_id: str) -> None:
    doc = bpmn_doc(process_id)
    lanes = process_of(doc).findall("bpmn:laneSet/bpmn:lane", NS)
    assert {lane.get("name") for lane in lanes} == PROCESSES[process_id].lanes
    assert all(role_for_lane(lane.get("name")) for lane in lanes)
    refs = [ref.text for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)]
    assert sorted(refs) == sorted(e.get("id") for e in flow_nodes(doc)), "every node in exactly one lane"
    definition = parsed(process_id)
    expected = {bpmn_id: lane for bpmn_id, (lane, _, _) in PROCESSES[process_id].user_tasks.items()}
    assert {bpmn_id: info.lane for bpmn_id, info in definition.user_tasks.items()} == expected
    assert all(info.role for info in definition.user_tasks.values())


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_user_tasks_carry_form_article_and_context(process_id: str) -> None:
    definition = parsed(process_id)
    for bpmn_id, (_, article_key, context) in PROCESSES[process_id].user_tasks.items():
        info = definition.user_tasks[bpmn_id]
        assert info.form == f"{bpmn_id}.schema.json" and (FORMS_DIR / info.form).exists(), info.form
        Draft202012Validator.check_schema(definition.form_schema(bpmn_id))
        # The task names a citation key, resolved in the case's region (own article, else marked 参照).
        assert article_key in ARTICLE_KEYS
        assert info.article_key == article_key and info.article == ""
        if COMMON[article_key].startswith("《吉林省"):  # Jilin cites its own text, without 参照
            assert info.article_in("220104").startswith("《吉林省"), info.article_in("220104")
        for region in ("510104", "110105", "310104", "660000"):
            assert info.article_in(region) == profile_for_region(region).article(article_key)
        assert info.context == context
        assert info.jurisdiction == "case"
        assert chinese(definition.spec.task_specs[bpmn_id].extensions.get("instructionsForEndUser")), bpmn_id


FORM_FILES = ["renewal_assessment", "continuation_review", "change_review", "risk_assessment",
              "wrapup_done.message"]


@pytest.mark.parametrize("name", FORM_FILES)
def test_form_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((FORMS_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{name}.schema.json")
    Draft202012Validator.check_schema(schema)
    assert chinese(schema["title"]) and chinese(schema["description"])
    assert schema.get("additionalProperties") is False
    for prop in schema["properties"].values():
        assert chinese(prop["title"]), prop


@pytest.mark.parametrize(("form", "instance", "valid"), [
    *[(form, case, valid) for form in ("renewal_assessment", "continuation_review", "change_review")
      for case, valid in (
          ({"result": "pass"}, True),
          ({"result": "pass", "opinion": "工作开展规范"}, True),
          ({"result": "fail", "opinion": "备案期内未开展评价工作"}, True),
          ({"result": "fail"}, False),
          ({"result": "fail", "opinion": "  "}, False),
          ({"result": "fail", "opinion": "长" * 4001}, False),
          ({"result": "maybe"}, False),
          ({}, False),
          ({"result": "pass", "extra": 1}, False),
      )],
    ("risk_assessment", {"opinion": "在评考生12人，须完成证书数据上报", "wrapup_days": 20}, True),
    ("risk_assessment", {"opinion": "无在评考生", "wrapup_days": 1}, True),
    ("risk_assessment", {"opinion": "无在评考生", "wrapup_days": 120}, True),
    ("risk_assessment", {"opinion": "无在评考生", "wrapup_days": 0}, False),
    ("risk_assessment", {"opinion": "无在评考生", "wrapup_days": 121}, False),
    ("risk_assessment", {"opinion": "无在评考生", "wrapup_days": 2.5}, False),
    ("risk_assessment", {"opinion": "无在评考生", "wrapup_days": True}, False),
    ("risk_assessment", {"wrapup_days": 20}, False),
    ("risk_assessment", {"opinion": " ", "wrapup_days": 20}, False),
    ("wrapup_done.message", {"summary": "证书数据已上传，资料已移交"}, True),
    ("wrapup_done.message", {"summary": "已退费", "refunds": [{"candidates": 12, "amount": 3600.5,
                                                             "note": "已原路退回"}]}, True),
    ("wrapup_done.message", {"summary": "已退费", "refunds": [{"candidates": 3, "amount": 900}]}, True),
    ("wrapup_done.message", {"summary": "已退费", "refunds": [{"candidates": 3}]}, False),
    ("wrapup_done.message", {"summary": "已退费", "refunds": [{"candidates": -1, "amount": 0}]}, False),
    ("wrapup_done.message", {"summary": "已退费", "refunds": [{"candidates": 1, "amount": 1, "x": 1}]}, False),
    ("wrapup_done.message", {"refunds": []}, False),
    ("wrapup_done.message", {"summary": ""}, False),
])
def test_form_schemas_accept_and_refuse(form: str, instance: dict[str, Any], valid: bool) -> None:
    assert (schema_problems(read_form(form), instance) == []) is valid


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_messages_carry_their_variables(process_id: str) -> None:
    doc = bpmn_doc(process_id)
    definition = parsed(process_id)
    names = {m.get("name") for m in doc.findall("bpmn:message", NS)}
    assert names == definition.messages == PROCESSES[process_id].messages
    for event in process_of(doc).iter(f"{{{NS['bpmn']}}}messageEventDefinition"):
        message = doc.find(f"bpmn:message[@id='{event.get('messageRef')}']", NS).get("name")
        variable = event.find("bpmn:extensionElements/spiffworkflow:messageVariable", NS)
        assert variable is not None and variable.text == message, "the payload is kept under the message's name"
    for message in names:
        assert definition.message_schema(message) is not None, message


def _literal_or_text(source: str) -> Any:
    """A parameter's value where the diagram gives a literal (status, kind, process), else a stand-in text."""
    try:
        return ast.literal_eval(source)
    except ValueError:
        return "…"


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_service_tasks_use_the_designs_operators(process_id: str) -> None:
    doc = bpmn_doc(process_id)
    kept = START_KEYS | set(PROCESSES[process_id].user_tasks) | PROCESSES[process_id].messages
    for task_id, operator, params, result in service_operators(doc):
        assert operator in DESIGN_OPERATORS, (task_id, operator)
        values = {name: _literal_or_text(source) for name, source in params.items()}
        assert not design_problems(operator, values), (task_id, design_problems(operator, values))
        article = ARTICLE_PATTERN.fullmatch(params["article"])
        assert article is not None and article.group(1) in ARTICLE_KEYS, (task_id, params["article"])
        assert result, f"{task_id} needs an explicit resultVariable"
        assert result not in kept, f"{task_id} would overwrite {result}"


def test_the_engines_operators_take_what_the_diagrams_pass() -> None:
    """Where workflows.operators already has an operator of the design, it accepts every parameter the diagrams
    pass and the diagrams pass every parameter it requires. (Operators the engine does not have yet are held to
    the design's table alone, by test_service_tasks_use_the_designs_operators.)"""
    passed: dict[str, list[tuple[str, set[str]]]] = {}
    for process_id in PROCESS_IDS:
        for task_id, operator, params, _ in service_operators(bpmn_doc(process_id)):
            passed.setdefault(operator, []).append((f"{process_id}:{task_id}", set(params)))
    assert set(passed) <= set(DESIGN_OPERATORS)
    for operator in sorted(set(passed) & set(OPERATORS)):
        signature = inspect.signature(OPERATORS[operator])
        accepted = list(signature.parameters.values())[1:]  # the step context comes first
        any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted)
        names = {p.name for p in accepted if p.kind is not inspect.Parameter.VAR_KEYWORD}
        required = {p.name for p in accepted if p.default is inspect.Parameter.empty
                    and p.kind is not inspect.Parameter.VAR_KEYWORD}
        for where, params in passed[operator]:
            assert any_keyword or params <= names, (where, operator, sorted(params - names))
            assert required <= params, (where, operator, sorted(required - params))


def test_the_case_statuses_the_diagrams_set_are_known_to_the_engine() -> None:
    statuses = {_literal_or_text(params["status"]) for process_id in PROCESS_IDS
                for _, operator, params, _ in service_operators(bpmn_doc(process_id)) if operator == "set_status"}
    assert statuses <= CASE_STATUSES
    assert statuses <= set(STATUSES), sorted(statuses - set(STATUSES))


def test_expression_functions_are_the_engines() -> None:
    """The stand-in functions carry the engine's names; start_of_day is the one the design adds."""
    engine_functions = set(expression_functions(cast(Any, None)))  # the closures do not touch ctx until called
    assert engine_functions <= set(FUNCTIONS)
    assert set(FUNCTIONS) - engine_functions <= {"start_of_day"}


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_no_flow_node_shares_an_id_with_an_extension_element(process_id: str) -> None:
    """SpiffWorkflow indexes every element with an `id` attribute in the process, extension elements included:
    a task whose id equals an operator's (or a parameter's) id is silently replaced by that element."""
    doc = bpmn_doc(process_id)
    extension_ids = {e.get("id") for e in process_of(doc).iter(f"{{{NS['spiffworkflow']}}}*") if e.get("id")}
    assert not extension_ids & {e.get("id") for e in flow_nodes(doc)}


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_expressions_stay_inside_the_restricted_environment(process_id: str) -> None:
    allowed_calls = set(FUNCTIONS) | set(BUILTIN_NAMES)
    for where, source, mode in expressions(bpmn_doc(process_id)):
        assert problems(source, mode) == (), (where, source)
        for node in ast.walk(ast.parse(source, mode=mode)):  # and no method calls, only the allowed functions
            if isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Name) and node.func.id in allowed_calls, (where, source)


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_gateways_have_a_default_or_exhaustive_conditions(process_id: str) -> None:
    doc = bpmn_doc(process_id)
    flows = {f.get("id"): f for f in sequence_flows(doc)}
    for gateway in process_of(doc).findall("bpmn:exclusiveGateway", NS):
        outgoing = [flows[o.text] for o in gateway.findall("bpmn:outgoing", NS)]
        if len(outgoing) < 2:
            continue
        default = gateway.get("default")
        conditional = [f for f in outgoing if f.find("bpmn:conditionExpression", NS) is not None]
        assert len(conditional) == len(outgoing) - (1 if default else 0), gateway.get("id")
        if default:
            assert flows[default].find("bpmn:conditionExpression", NS) is None
    for gateway in process_of(doc).findall("bpmn:eventBasedGateway", NS):
        for ref in gateway.findall("bpmn:outgoing", NS):
            target = process_of(doc).find(f"*[@id='{flows[ref.text].get('targetRef')}']", NS)
            assert local(target) == "intermediateCatchEvent", ref.text


DECISIONS = {  # gateway -> the variable its conditions read, the field, and the forms whose values reach it
    ("renewal", "assessment_result"): ("assessment", "result", ("renewal_assessment", "continuation_review")),
    ("change_report", "change_result"): ("change_review", "result", ("change_review",)),
}


@pytest.mark.parametrize(("process_id", "gateway"), sorted(DECISIONS))
def test_decision_conditions_cover_each_form_value_once(process_id: str, gateway: str) -> None:
    """SpiffWorkflow takes the first true condition, so conditions must not overlap; without a default every value
    the forms allow must have its branch."""
    variable, field, forms = DECISIONS[(process_id, gateway)]
    values = {option["const"] for form in forms for option in read_form(form)["properties"][field]["oneOf"]}
    doc = bpmn_doc(process_id)
    element = process_of(doc).find(f"bpmn:exclusiveGateway[@id='{gateway}']", NS)
    flows = {f.get("id"): f for f in sequence_flows(doc)}
    conditions = {o.text: flows[o.text].findtext("bpmn:conditionExpression", namespaces=NS)
                  for o in element.findall("bpmn:outgoing", NS)}
    environment = RestrictedEnvironment(FUNCTIONS)
    taken: set[str] = set()
    for value in sorted(values):
        matching = [fid for fid, cond in conditions.items()
                    if cond and environment.evaluate(cond, {variable: {field: value}})]
        assert len(matching) <= 1, (gateway, value, matching)
        if not matching:
            assert element.get("default"), (gateway, value)
            matching = [element.get("default")]
        taken.update(matching)
    assert taken == set(conditions), f"{gateway}: a branch no form value reaches"


# ---------------------------------------------------------------------------------------- the diagrams


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_every_element_is_drawn_with_right_angled_flows(process_id: str) -> None:
    doc = bpmn_doc(process_id)
    shapes = shape_boxes(doc)
    lanes = [lane.get("id") for lane in process_of(doc).iterfind("bpmn:laneSet/bpmn:lane", NS)]
    participant = doc.find("bpmn:collaboration/bpmn:participant", NS).get("id")
    assert set(shapes) == {e.get("id") for e in flow_nodes(doc)} | set(lanes) | {participant}
    plane = doc.find(".//bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == doc.find("bpmn:collaboration", NS).get("id")
    edges = {e.get("bpmnElement"): e for e in doc.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert set(edges) == {f.get("id") for f in sequence_flows(doc)}
    for flow in sequence_flows(doc):
        points = [(float(p.get("x")), float(p.get("y"))) for p in edges[flow.get("id")].iterfind("di:waypoint", NS)]
        assert len(points) >= 2
        assert inside(points[0], shapes[flow.get("sourceRef")]), flow.get("id")
        assert inside(points[-1], shapes[flow.get("targetRef")]), flow.get("id")
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            assert x0 == x1 or y0 == y1, f"{flow.get('id')} is not drawn with straight, right-angled segments"


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_layout_fits_one_screen_without_overlaps(process_id: str) -> None:
    doc = bpmn_doc(process_id)
    shapes = shape_boxes(doc)
    nodes = sorted(e.get("id") for e in flow_nodes(doc))
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            assert apart(shapes[a], shapes[b]), f"{a} overlaps {b}"
    pool = shapes[doc.find("bpmn:collaboration/bpmn:participant", NS).get("id")]
    assert pool[2] <= 2000 and pool[3] <= 600, f"{process_id} does not fit one screen: {pool}"
    lane_boxes = []
    for lane in process_of(doc).iterfind("bpmn:laneSet/bpmn:lane", NS):
        box = shapes[lane.get("id")]
        lane_boxes.append(box)
        assert inside((box[0], box[1]), pool) and inside((box[0] + box[2], box[1] + box[3]), pool)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = shapes[ref.text]
            assert inside((x, y), box, slack=0) and inside((x + w, y + h), box, slack=0), \
                f"{ref.text} is not drawn inside {lane.get('name')}"
    for i, a in enumerate(lane_boxes):
        for b in lane_boxes[i + 1:]:
            assert apart(a, b), "lanes overlap"
    labels = [(e.getparent().get("bpmnElement"), bounds(e)) for e in doc.iterfind(".//bpmndi:BPMNLabel", NS)]
    for i, (owner, box) in enumerate(labels):
        assert inside((box[0], box[1]), pool) and inside((box[0] + box[2], box[1] + box[3]), pool), owner
        for node in nodes:
            assert apart(box, shapes[node]), f"the label of {owner} covers {node}"
        for other, other_box in labels[i + 1:]:
            assert apart(box, other_box), f"the labels of {owner} and {other} overlap"


# ---------------------------------------------------------------------------------------- filing_validity


def test_validity_reminders_fire_at_midnight_in_shanghai_then_the_expiry_starts_automatic_termination(
        services: Services) -> None:
    case = Case("filing_validity", services, _start_data(), "2026-10-01T09:00:00+08:00")
    assert services.operators() == ["set_status"]
    assert services.params_of("set_status") == [{"status": "monitoring", "reason": "备案有效，监控有效期及续期申请期",
                                                 "article": SICHUAN["articles"]["validity"]}]
    assert case.due("window_opens") == "2029-07-01T00:00:00+08:00"

    case.at("2029-06-30T23:59:59+08:00")
    case.wake()
    assert services.operators() == ["set_status"], "the window opens at midnight, not before"
    case.at("2029-07-01T00:00:01+08:00")
    case.wake()
    assert services.operators() == ["set_status", "filing_status", "issue_document"]
    assert services.params_of("filing_status") == [{"status": "renewal_window",
                                                    "reason": "备案有效期届满前三个月，进入续期申请期",
                                                    "article": SICHUAN["articles"]["renewal"]}]
    assert services.params_of("issue_document") == [{"kind": "renewal_reminder", "reminder": "first",
                                                     "article": SICHUAN["articles"]["renewal"]}]
    assert case.due("second_reminder") == "2029-08-31T00:00:00+08:00"

    case.at("2029-08-30T23:59:59+08:00")
    case.wake()
    assert len(services.calls) == 3
    case.at("2029-08-31T00:00:01+08:00")
    case.wake()
    assert services.params_of("issue_document")[1] == {"kind": "renewal_reminder", "reminder": "second",
                                                       "article": SICHUAN["articles"]["renewal"]}
    assert case.due("validity_expires") == "2029-10-01T00:00:00+08:00", "the first day without validity"

    case.at("2029-09-30T23:59:59+08:00")
    case.wake()
    assert "start_process" not in services.operators(), "the last valid day is still valid"
    case.at("2029-10-01T00:00:01+08:00")
    case.wake()
    assert services.params_of("start_process") == [{
        "process": "automatic_termination", "ground": "no_renewal",
        "reason": "备案有效期满前三个月内未书面提出续期备案申请",
        "article": SICHUAN["articles"]["automatic_termination"]}]
    assert case.ended_at() == ["automatic_termination_started"]
    assert case.workflow.is_completed()
    fired = [(c.operator, c.at.isoformat()) for c in services.calls[1:]]
    assert fired == [("filing_status", "2029-07-01T00:00:01+08:00"), ("issue_document", "2029-07-01T00:00:01+08:00"),
                     ("issue_document", "2029-08-31T00:00:01+08:00"), ("start_process", "2029-10-01T00:00:01+08:00")]


def test_a_late_wake_fires_every_due_timer_in_order(services: Services) -> None:
    """A sweep that comes late (a stopped server) still takes the steps in their legal order."""
    case = Case("filing_validity", services, _start_data(), "2026-10-01T09:00:00+08:00")
    case.at("2029-10-05T10:00:00+08:00")
    case.wake()
    assert services.operators() == ["set_status", "filing_status", "issue_document", "issue_document",
                                    "start_process"]
    assert [p["reminder"] for p in services.params_of("issue_document")] == ["first", "second"]
    assert case.ended_at() == ["automatic_termination_started"]


def test_timers_are_instants_with_an_offset_whatever_the_server_zone(services: Services) -> None:
    case = Case("filing_validity", services, _start_data(filing=_filing(window_opens="2029-07-02")),
                "2026-10-01T09:00:00+08:00")
    due = case.due("window_opens")
    assert datetime.fromisoformat(due).utcoffset() == timedelta(hours=8)
    assert datetime.fromisoformat(due) == datetime(2029, 7, 1, 16, 0, tzinfo=UTC)


def test_expiry_of_a_red_listed_filing_starts_the_continuation(services: Services) -> None:
    filing = _filing(region="660000", rating="red", simplified_continuation=True)
    case = Case("filing_validity", services, _start_data(filing=filing, region=XPCC), "2026-10-01T09:00:00+08:00")
    case.at("2029-10-01T00:00:01+08:00")
    case.wake()
    assert services.params_of("start_process") == [{
        "process": "renewal", "ground": "continuation", "reason": "评为“红色”的评价机构备案有效期满，连续备案",
        "article": XPCC["articles"]["red_black_list"]}]
    assert case.ended_at() == ["continuation_started"]
    assert [p["reminder"] for p in services.params_of("issue_document")] == ["first", "second"], \
        "a red-listed institution is reminded too: it may still apply for an ordinary renewal"


# ---------------------------------------------------------------------------------------- renewal

RENEWAL_REQUEST = {"summary": "备案期内共开展评价12批次，无违规记录", "submitted_on": "2029-08-15"}


def _renewal(services: Services, *, simplified: bool) -> Case:
    if simplified:
        data = _start_data(filing=_filing(rating="red", simplified_continuation=True, region="660000"),
                           region=XPCC, ground={"code": "continuation", "label": "红榜连续备案",
                                                "article": XPCC["articles"]["red_black_list"]})
    else:
        data = _start_data(request=RENEWAL_REQUEST)
    return Case("renewal", services, data, "2029-08-15T10:00:00+08:00")


def test_renewal_assessment_passed_renews_the_filing(services: Services) -> None:
    case = _renewal(services, simplified=False)
    assert services.operators() == ["set_status", "filing_status"]
    assert services.statuses() == ["renewal_review"]
    assert services.params_of("filing_status")[0]["status"] == "renewal_review"
    assert case.open_tasks() == ["renewal_assessment"]
    assert case.task("renewal_assessment").data["request"] == RENEWAL_REQUEST

    case.complete("renewal_assessment", {"result": "pass"})
    assert services.params_of("renew_filing") == [{"article": SICHUAN["articles"]["renewal"], "opinion": "",
                                                   "simplified": False}]
    assert services.statuses() == ["renewal_review", "renewed"]
    assert case.ended_at() == ["renewed"]
    assert case.workflow.is_completed()
    assert "start_process" not in services.operators() and "issue_document" not in services.operators()


def _refusal_told(services: Services, opinion: str = "备案期内连续一年未开展评价工作") -> Case:
    case = _renewal(services, simplified=False)
    case.complete("renewal_assessment", {"result": "fail", "opinion": opinion})
    return case


def test_a_failed_assessment_is_told_before_anyone_refuses(services: Services) -> None:
    """Jilin 第三十五条: the intended refusal with its facts and a period for views; the assessor does not refuse."""
    case = _refusal_told(services)
    deadline = case.data()["statement_deadline"]
    assert services.params_of("issue_document") == [{
        "kind": "intended_decision", "measure": "renewal_refusal", "facts": "备案期内连续一年未开展评价工作",
        "reasons": "经评估，不符合续期备案的条件", "statement_deadline": deadline,
        "article": SICHUAN["articles"]["statement"]}]
    assert services.statuses() == ["renewal_review", "awaiting_statement"]
    assert case.open_tasks() == [] and case.due("statement_wait") == deadline["due"]
    assert "start_process" not in services.operators()
    later = datetime.fromisoformat(deadline["due"]) + timedelta(seconds=2)
    case.at(later.isoformat())
    case.wake()
    assert case.open_tasks() == ["decide_renewal"], "a lapsed period opens the decision, never makes it"
    assert "start_process" not in services.operators()


def test_the_approver_refuses_the_renewal_and_ordered_termination_starts(services: Services) -> None:
    case = _refusal_told(services)
    case.send("statement", {"text": "我方2029年已恢复评价工作", "submitted_on": "2029-08-16"})
    assert case.task("decide_renewal").data["statement"]["text"] == "我方2029年已恢复评价工作"
    case.complete("decide_renewal", {"decision": "refuse", "reasons": "恢复评价不足以改变备案期内的评估结论"})
    assert services.params_of("issue_document")[1] == {"kind": "renewal_refusal",
                                                       "reasons": "恢复评价不足以改变备案期内的评估结论",
                                                       "article": SICHUAN["articles"]["renewal"]}
    assert services.statuses() == ["renewal_review", "awaiting_statement", "renewal_refused"]
    assert services.params_of("start_process") == [{"process": "ordered_termination", "ground": "renewal_failed",
                                                    "reason": "续期评估不合格，转入责令终止备案程序",
                                                    "article": SICHUAN["articles"]["ordered_termination"]}]
    assert services.operators()[-3:] == ["issue_document", "set_status", "start_process"]
    assert case.ended_at() == ["renewal_refused"]
    assert "renew_filing" not in services.operators()


def test_views_that_hold_renew_the_filing(services: Services) -> None:
    case = _refusal_told(services)
    case.send("statement", {"text": "评估遗漏了2028年的三批评价记录", "submitted_on": "2029-08-16"})
    case.complete("decide_renewal", {"decision": "renew", "reasons": "补充的评价记录属实，准予续期"})
    assert services.params_of("renew_filing") == [{"article": SICHUAN["articles"]["renewal"],
                                                   "opinion": "补充的评价记录属实，准予续期", "simplified": False}]
    assert services.statuses()[-1] == "renewed" and case.ended_at() == ["renewed"]
    assert "start_process" not in services.operators()


def test_continuation_of_a_red_listed_institution_is_confirmed_by_a_reviewer(services: Services) -> None:
    case = _renewal(services, simplified=True)
    assert case.open_tasks() == ["continuation_review"]
    assert services.params_of("set_status")[0]["reason"] == "评为“红色”的评价机构备案期满，连续备案确认中"
    case.complete("continuation_review", {"result": "pass", "opinion": "2029年红黑榜评为红色"})
    assert services.params_of("renew_filing") == [{"article": XPCC["articles"]["renewal"],
                                                   "opinion": "2029年红黑榜评为红色", "simplified": True}]
    assert services.statuses() == ["renewal_review", "renewed"]
    assert case.ended_at() == ["renewed"]


def test_continuation_refused_takes_the_refusal_path(services: Services) -> None:
    case = _renewal(services, simplified=True)
    case.complete("continuation_review", {"result": "fail", "opinion": "红黑榜评估后发现违规记录"})
    assert services.params_of("issue_document")[0]["facts"] == "红黑榜评估后发现违规记录"
    case.send("statement", {"text": "违规记录已整改完毕"})
    case.complete("decide_renewal", {"decision": "refuse", "reasons": "违规记录属实"})
    assert services.params_of("issue_document")[1]["reasons"] == "违规记录属实"
    assert services.statuses() == ["renewal_review", "awaiting_statement", "renewal_refused"]
    assert [p["process"] for p in services.params_of("start_process")] == ["ordered_termination"]
    assert case.ended_at() == ["renewal_refused"]


def test_an_unknown_assessment_result_fails_loudly(services: Services) -> None:
    """The result conditions are exhaustive over the forms' values and there is no default: a value the form would
    refuse stops the engine instead of picking a branch."""
    case = _renewal(services, simplified=False)
    with pytest.raises(WorkflowException):
        case.step(lambda: case.fill("renewal_assessment", {"result": "maybe"}))


# ---------------------------------------------------------------------------------------- change_report

CHANGE_REQUEST = {"changes": [{"field": "address", "after": "成都市武侯区示例路2号"}], "explanation": "办公场所搬迁"}


def _change(services: Services) -> Case:
    data = _start_data(request=CHANGE_REQUEST,
                       ground={"code": "change", "label": "备案事项变更", "article": SICHUAN["articles"]["changes"]})
    return Case("change_report", services, data, "2027-03-01T10:00:00+08:00")


def test_change_approved_is_applied(services: Services) -> None:
    case = _change(services)
    assert services.statuses() == ["change_review"]
    assert case.open_tasks() == ["change_review"]
    assert case.task("change_review").data["request"] == CHANGE_REQUEST
    case.complete("change_review", {"result": "pass", "opinion": "新场地已核实"})
    assert services.params_of("apply_change") == [{"article": SICHUAN["articles"]["changes"],
                                                   "opinion": "新场地已核实"}]
    assert services.statuses() == ["change_review", "change_approved"]
    assert case.ended_at() == ["change_approved"]
    assert "issue_document" not in services.operators(), "the approval's notice is apply_change's"


def test_change_approved_without_an_opinion(services: Services) -> None:
    case = _change(services)
    case.complete("change_review", {"result": "pass"})
    assert services.params_of("apply_change") == [{"article": SICHUAN["articles"]["changes"], "opinion": ""}]


def test_change_refused_issues_the_decision_and_leaves_the_record(services: Services) -> None:
    case = _change(services)
    case.complete("change_review", {"result": "fail", "opinion": "新场地不具备考试考核条件"})
    assert services.params_of("issue_document") == [{"kind": "change_decision", "approved": False,
                                                     "reasons": "新场地不具备考试考核条件",
                                                     "article": SICHUAN["articles"]["changes"]}]
    assert services.statuses() == ["change_review", "change_refused"]
    assert case.ended_at() == ["change_refused"]
    assert "apply_change" not in services.operators()


# ---------------------------------------------------------------------------------------- voluntary_termination

TERMINATION_REQUEST = {"reason": "业务调整", "plan": "2027年4月底前完成证书数据上报和退费"}
RISK = {"opinion": "在评考生12人，须完成证书数据上报及退费", "wrapup_days": 20}
VOLUNTARY = SICHUAN["articles"]["voluntary_termination"]


def _voluntary(services: Services) -> Case:
    data = _start_data(request=TERMINATION_REQUEST,
                       ground={"code": "voluntary", "label": "自愿终止", "article": VOLUNTARY})
    case = Case("voluntary_termination", services, data, "2027-03-01T10:00:00+08:00")
    assert services.params_of("filing_status") == [{"status": "winding_up",
                                                    "reason": "评价机构申请自愿终止备案，进入收尾",
                                                    "article": VOLUNTARY}]
    assert services.statuses() == ["risk_assessment"]
    assert case.open_tasks() == ["risk_assessment"]
    assert case.task("risk_assessment").data["request"] == TERMINATION_REQUEST
    case.at("2027-03-02T15:00:00+08:00")
    case.complete("risk_assessment", RISK)
    deadline = within_working_days("2027-03-02", 20)
    assert services.params_of("issue_document") == [{"kind": "wrapup_notice", "wrapup_deadline": deadline,
                                                     "opinion": RISK["opinion"], "article": VOLUNTARY}]
    assert services.statuses() == ["risk_assessment", "winding_up"]
    assert case.due("wrapup_wait") == deadline["due"] == "2027-03-22T23:59:59+08:00"
    return case


def test_wrapup_reported_in_time_terminates_the_filing(services: Services) -> None:
    case = _voluntary(services)
    case.at("2027-03-20T11:00:00+08:00")
    payload = {"summary": "证书数据已上传，资料已移交", "refunds": [{"candidates": 12, "amount": 3600}]}
    case.send("wrapup_done", payload)
    assert services.params_of("terminate_filing") == [{"kind": "voluntary",
                                                       "reason": "评价机构自愿终止备案，收尾工作已完成",
                                                       "article": VOLUNTARY}]
    assert services.statuses() == ["risk_assessment", "winding_up", "terminated"]
    assert case.ended_at() == ["terminated"]
    assert case.workflow.is_completed(), "the overdue timer is cancelled with the report"
    assert case.data()["wrapup_done"] == payload
    assert "escalate" not in services.operators()


def test_overdue_wrapup_is_escalated_once_and_still_ends_with_the_report(services: Services) -> None:
    case = _voluntary(services)
    case.at("2027-03-22T23:59:00+08:00")
    case.wake()
    assert "escalate" not in services.operators(), "not overdue before the end of the last day"
    case.at("2027-03-23T00:00:01+08:00")
    case.wake()
    assert services.params_of("escalate") == [{"reason": "收尾期限已届满，评价机构尚未报告收尾完成",
                                               "article": VOLUNTARY}]
    assert "wrapup_done_late" in case.waiting()
    assert not case.workflow.is_completed()
    case.at("2027-05-01T10:00:00+08:00")
    case.wake()
    assert services.operators().count("escalate") == 1, "escalated once, not on every wake-up"
    assert "terminate_filing" not in services.operators(), "overdue is not done: the filing waits for the report"

    case.send("wrapup_done", {"summary": "逾期完成收尾"})
    assert [p["kind"] for p in services.params_of("terminate_filing")] == ["voluntary"]
    assert services.statuses() == ["risk_assessment", "winding_up", "terminated"]
    assert case.ended_at() == ["terminated"]
    assert case.data()["wrapup_done"] == {"summary": "逾期完成收尾"}


def test_a_wrapup_report_before_the_risk_assessment_is_refused(services: Services) -> None:
    data = _start_data(request=TERMINATION_REQUEST,
                       ground={"code": "voluntary", "label": "自愿终止", "article": VOLUNTARY})
    case = Case("voluntary_termination", services, data, "2027-03-01T10:00:00+08:00")
    with pytest.raises(WorkflowException):
        case.send("wrapup_done", {"summary": "已完成"})
    assert case.open_tasks() == ["risk_assessment"]
