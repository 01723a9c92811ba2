"""Process 1 (备案申请): bpmn/filing_application.bpmn validates, is completely drawn, and every path runs.

The paths run in memory (no database) on the project's own engine pieces, driven by tests/support/bpmn_harness.py: only
the domain side is replaced, by expression functions that count calendar days (the working-day calendar is tested
elsewhere) and by service operators that return canned results and record their calls.
"""

from __future__ import annotations

import ast
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from tasks.forms import schema_problems
from tasks.roles import role_for_lane
from tests.support.bpmn_harness import (
    FORMS_DIR,
    FUNCTIONS,
    NS,
    BpmnCase,
    Services,
    bpmn_doc,
    expressions,
    flow_nodes,
    inside,
    local,
    parsed,
    process_of,
    sequence_flows,
    shape_boxes,
    text_problems,
)
from workflows import clock
from workflows.definitions import ParsedDefinition
from workflows.expressions import BUILTIN_NAMES, RestrictedEnvironment, problems
from workflows.operators import OPERATORS

PROCESS_ID = "filing_application"

SICHUAN = "川人社办发〔2019〕94号"
START = datetime(2026, 9, 1, 9, 0, tzinfo=clock.SHANGHAI)

# The ids other code relies on, with their BPMN element types.
REQUIRED_IDS = {
    "start": "startEvent",
    "prechecks": "serviceTask",
    "set_acceptance_deadline": "scriptTask",
    "acceptance": "userTask",
    "acceptance_overdue": "boundaryEvent",
    "escalate_acceptance": "serviceTask",
    "escalation_recorded": "endEvent",
    "acceptance_decision": "exclusiveGateway",
    "status_under_review": "serviceTask",
    "notice_rejection": "serviceTask",
    "notice_supplement": "serviceTask",
    "await_resubmission": "intermediateCatchEvent",
    "restart_acceptance_clock": "scriptTask",
    "expert_review": "userTask",
    "expert_result": "exclusiveGateway",
    "notice_expert_fail": "serviceTask",
    "site_inspection": "userTask",
    "inspection_result": "exclusiveGateway",
    "notice_inspection_fail": "serviceTask",
    "needs_higher_review": "exclusiveGateway",
    "higher_review": "userTask",
    "higher_result": "exclusiveGateway",
    "notice_higher_fail": "serviceTask",
    "set_publicity_deadline": "scriptTask",
    "announce_publicity": "serviceTask",
    "status_publicity": "serviceTask",
    "publicity_wait": "eventBasedGateway",
    "publicity_ends": "intermediateCatchEvent",
    "objection_received": "intermediateCatchEvent",
    "objection_review": "userTask",
    "tell_objector": "serviceTask",
    "objection_outcome": "exclusiveGateway",
    "notice_objection_upheld": "serviceTask",
    "issue_receipt": "serviceTask",
    "status_filed": "serviceTask",
    "filed": "endEvent",
    "not_filed_merge": "exclusiveGateway",
    "status_not_filed": "serviceTask",
    "not_filed": "endEvent",
    # The regions' branches (tasks/regions.toml: the shape of each region's procedure).
    "needs_preliminary_opinion": "exclusiveGateway",
    "preliminary_opinion": "userTask",
    "needs_site_inspection": "exclusiveGateway",
    "has_publicity": "exclusiveGateway",
    "needs_administrative_review": "exclusiveGateway",
    "administrative_review": "userTask",
    "administrative_result": "exclusiveGateway",
    "notice_administrative_fail": "serviceTask",
}
USER_TASK_LANES = {
    "acceptance": "受理人员",
    "expert_review": "专家评估协调员",
    "site_inspection": "现场考察组",
    "higher_review": "复核人员",
    "objection_review": "监管人员",
    "preliminary_opinion": "复核人员",
    "administrative_review": "审批人员",
    "national_filing_returned": "受理人员",
}
# Service operators the engine provides, with the exact parameters each one takes.
OPERATOR_PARAMS: dict[str, set[str]] = {
    "run_prechecks": set(),
    "set_status": {"status", "reason", "article"},
    "issue_notice": {"kind", "stage", "reasons", "article"},
    "escalate": {"reason", "article"},
    "notify_objector": {"objection", "upheld", "opinion", "article"},
    "publish_publicity": {"deadline", "article"},
    "issue_filing": {"article"},
    "record_national_filing": {"reply", "article"},
    "report_national_filing": {"note", "article"},
}
# Parameters an operator may also be given: a supplementation notice's checklist items, the authority that decided.
OPTIONAL_PARAMS: dict[str, set[str]] = {"issue_notice": {"items", "jurisdiction"}}

REGION_ARTICLES = {
    "acceptance": f"{SICHUAN} 附件3 一.2、二.2",
    "publicity": f"{SICHUAN} 四",
    "expert_review": f"{SICHUAN} 附件3 一.3、二.3",
    "site_inspection": f"{SICHUAN} 四、附件3 一.3、二.3",
    "higher_review": f"{SICHUAN} 附件3 二.4",
    "receipt": f"{SICHUAN} 附件3 一.4、二.5",
    "validity": f"{SICHUAN} 附件3 一.4",
    "assessors": f"{SICHUAN} 二（五）",
    "administrative_review": "参照《兵团职业技能等级认定工作规程》第十三条（四）",
    "national_registry": "参照《兵团职业技能等级认定工作规程》第十三条（四）、（五）",
}


# ---------------------------------------------------------------------------------------- environment


def _call_problems(operator: str, params: dict[str, Any]) -> list[str]:
    """Process 1's operators take exactly their parameters (OPERATOR_PARAMS, and those of OPTIONAL_PARAMS)."""
    expected = OPERATOR_PARAMS.get(operator)
    given = set(params) - OPTIONAL_PARAMS.get(operator, set())
    problems = [] if expected == given else [f"{operator}: parameters {sorted(params)}, expected {expected}"]
    return problems + text_problems(params)


def _region(**overrides: Any) -> dict[str, Any]:
    return {"name": "四川省", "authority_name": "四川省人力资源和社会保障厅", "acceptance_days": 10,
            "publicity_days": 5, "higher_review_on_municipal_path": True, "higher_review_institution_types": [],
            "publicity": True, "site_inspection": True, "preliminary_opinion_on_municipal_path": False,
            "administrative_review_before_filing": False, "articles": dict(REGION_ARTICLES), **overrides}


def _application(authority_level: str, institution_type: str = "employer") -> dict[str, Any]:
    return {
        "institution": {"name": "成都示例技能评价有限公司", "credit_code": "91350100M000100Y43",
                        "type": institution_type},
        "region": "510100",
        "authority_level": authority_level,
        "occupations": [{"code": "6-18-01-01", "name": "车工", "levels": [5, 4, 3]}],
        "assessors": [{"name": n, "occupation": "6-18-01-01"} for n in ("张三", "李四", "王五")],
    }


class Case(BpmnCase):
    """An application received on 1 September 2026 by Sichuan (the region profile can be changed)."""

    def __init__(self, definition: ParsedDefinition, services: Services, *, authority_level: str = "municipal",
                 region: dict[str, Any] | None = None, received_at: str = "2026-09-01T09:00:00+08:00",
                 institution_type: str = "employer") -> None:
        start_data = {"case": "C-2026-0001", "application": _application(authority_level, institution_type),
                      "received_at": received_at, "region": region or _region()}
        super().__init__(definition, services, start_data, start=START, ends={"filed", "not_filed", "filed_nationally"})

    def pass_reviews(self, *, higher: bool = True) -> None:
        self.complete("acceptance", {"decision": "accept"})
        self.complete("expert_review", {"result": "pass", "opinion": "材料齐全，评估通过"})
        self.complete("site_inspection", {"result": "pass"})
        if higher:
            self.complete("higher_review", {"result": "pass"})


@pytest.fixture(scope="module")
def doc() -> etree._ElementTree:
    return bpmn_doc(PROCESS_ID)


@pytest.fixture(scope="module")
def definition() -> ParsedDefinition:
    return parsed(PROCESS_ID)


@pytest.fixture
def services() -> Services:
    return Services(_call_problems)


# ---------------------------------------------------------------------------------------- the file itself

def test_process_header(doc: etree._ElementTree, definition: ParsedDefinition) -> None:
    process = process_of(doc)
    assert process.get("name") == "职业技能等级评价机构备案申请"
    assert process.get("isExecutable") == "true"
    assert (definition.process_id, definition.name) == (PROCESS_ID, "职业技能等级评价机构备案申请")
    participant = doc.find("bpmn:collaboration/bpmn:participant", NS)
    assert participant is not None and participant.get("processRef") == PROCESS_ID


def test_required_ids_have_their_types(doc: etree._ElementTree) -> None:
    found = {e.get("id"): local(e) for e in flow_nodes(doc)}
    assert {k: found.get(k) for k in REQUIRED_IDS} == REQUIRED_IDS


def test_every_name_is_chinese(doc: etree._ElementTree) -> None:
    unnamed_ok = {"exclusiveGateway"}  # converging gateways stay unlabelled, as modellers draw them
    for element in flow_nodes(doc):
        name = element.get("name") or ""
        if not name:
            converging = len(element.findall("bpmn:outgoing", NS)) == 1
            assert local(element) in unnamed_ok and converging, element.get("id")
            continue
        assert any("\u4e00" <= ch <= "\u9fff" for ch in name), (element.get("id"), name)
    for flow in sequence_flows(doc):
        if flow.find("bpmn:conditionExpression", NS) is not None:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in flow.get("name") or ""), flow.get("id")


def test_lanes_are_roles_and_partition_the_nodes(doc: etree._ElementTree, definition: ParsedDefinition) -> None:
    lane_set = process_of(doc).find("bpmn:laneSet", NS)
    assert lane_set is not None
    lanes = lane_set.findall("bpmn:lane", NS)
    assert all(role_for_lane(lane.get("name")) for lane in lanes), [lane.get("name") for lane in lanes]
    refs = [ref.text for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)]
    assert sorted(refs) == sorted(e.get("id") for e in flow_nodes(doc)), "every node in exactly one lane"
    assert {bpmn_id: info.lane for bpmn_id, info in definition.user_tasks.items()} == USER_TASK_LANES


def test_user_tasks_carry_form_article_and_deadline(definition: ParsedDefinition) -> None:
    for bpmn_id, info in definition.user_tasks.items():
        assert info.form == f"{bpmn_id}.schema.json" and (FORMS_DIR / info.form).exists(), info.form
        Draft202012Validator.check_schema(definition.form_schema(bpmn_id))
        # By key, so each case shows its own region's article (a Beijing case never cites Sichuan's).
        assert info.article == "" and info.article_key is not None, bpmn_id
        assert info.article_in("510100").startswith((SICHUAN, "参照"))
        assert not info.article_in("110108").startswith(SICHUAN)
        assert definition.spec.task_specs[bpmn_id].extensions.get("instructionsForEndUser"), bpmn_id
    assert definition.user_tasks["acceptance"].deadline_variable == "acceptance_deadline"
    assert definition.user_tasks["higher_review"].jurisdiction == "province"
    # Beijing 六（二）、（三）: the city assesses and the 市人社局 confirms, whichever authority took the application.
    assert definition.user_tasks["expert_review"].jurisdiction_in("110108") == "province"
    assert definition.user_tasks["expert_review"].jurisdiction_in("510100") == "case"
    assert definition.user_tasks["administrative_review"].jurisdiction_in("660100") == "case"
    assert definition.user_tasks["administrative_review"].jurisdiction_in("220100") == "province"


@pytest.mark.parametrize("path", sorted(FORMS_DIR.glob("*.json")), ids=lambda p: p.name)
def test_form_schemas_are_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in schema["title"])
    assert schema.get("additionalProperties") is False


@pytest.mark.parametrize(("form", "instance", "valid"), [
    ("acceptance", {"decision": "accept"}, True),
    ("acceptance", {"decision": "reject", "reasons": "申请材料不属于本机关管辖"}, True),
    ("acceptance", {"decision": "reject"}, False),
    ("acceptance", {"decision": "supplement", "reasons": "  "}, False),
    ("acceptance", {"decision": "maybe"}, False),
    ("acceptance", {"decision": "accept", "extra": 1}, False),
    ("expert_review", {"result": "pass"}, True),
    ("expert_review", {"result": "fail"}, False),
    ("site_inspection", {"result": "fail", "opinion": "场地与申报不符"}, True),
    ("higher_review", {"result": "ok"}, False),
    ("objection_review", {"upheld": False, "opinion": "异议不属实"}, True),
    ("objection_review", {"upheld": "no", "opinion": "异议不属实"}, False),
    ("objection_review", {"upheld": True}, False),
    ("resubmission.message", {"received_at": "2026-09-10T10:00:00+08:00", "note": "已补齐"}, True),
    ("resubmission.message", {"received_at": "2026-09-10T10:00:00"}, False),
    ("objection.message", {"objector": "某培训学校", "content": "考评人员资质造假"}, True),
    ("objection.message", {"objector": "某培训学校"}, False),
])
def test_form_schemas_accept_and_refuse(definition: ParsedDefinition, form: str, instance: dict[str, Any],
                                        valid: bool) -> None:
    assert (schema_problems(definition.forms[f"{form}.schema.json"], instance) == []) is valid


def test_messages_carry_their_variables(doc: etree._ElementTree, definition: ParsedDefinition) -> None:
    names = {m.get("name") for m in doc.findall("bpmn:message", NS)}
    assert names == definition.messages == {"resubmission", "objection", "national_filing"}
    variables = {"resubmission": "resubmission", "objection": "objection", "national_filing": "national_filing_reply"}
    for bpmn_id, message in (("await_resubmission", "resubmission"), ("objection_received", "objection"),
                             ("national_filing_received", "national_filing")):
        element = process_of(doc).find(f"bpmn:intermediateCatchEvent[@id='{bpmn_id}']", NS)
        event = element.find("bpmn:messageEventDefinition", NS)
        ref = doc.find(f"bpmn:message[@id='{event.get('messageRef')}']", NS)
        assert ref.get("name") == message
        variable = event.find("bpmn:extensionElements/spiffworkflow:messageVariable", NS)
        assert variable is not None and variable.text == variables[message]
        assert definition.message_schema(message) is not None, message


def test_service_tasks_use_known_operators(doc: etree._ElementTree) -> None:
    for task in process_of(doc).findall("bpmn:serviceTask", NS):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        assert operator is not None, task.get("id")
        parameters = operator.findall("spiffworkflow:parameters/spiffworkflow:parameter", NS)
        params = {p.get("id") for p in parameters}
        assert params - OPTIONAL_PARAMS.get(operator.get("id"), set()) == OPERATOR_PARAMS[operator.get("id")], \
            task.get("id")
        assert operator.get("resultVariable"), f"{task.get('id')} needs an explicit resultVariable"
    results = {t.get("id"): t.find(".//spiffworkflow:serviceTaskOperator", NS).get("resultVariable")
               for t in process_of(doc).findall("bpmn:serviceTask", NS)}
    assert results["prechecks"] == "precheck"
    assert results["issue_receipt"] == "filing"


def test_no_flow_node_shares_an_id_with_an_extension_element(doc: etree._ElementTree) -> None:
    """SpiffWorkflow indexes every element with an `id` attribute in the process, extension elements included:
    a task whose id equals an operator's (or a parameter's) id is silently replaced by that element."""
    extension_ids = {e.get("id") for e in process_of(doc).iter(f"{{{NS['spiffworkflow']}}}*") if e.get("id")}
    assert not extension_ids & {e.get("id") for e in flow_nodes(doc)}


def test_expressions_stay_inside_the_restricted_environment(doc: etree._ElementTree) -> None:
    allowed_calls = set(FUNCTIONS) | set(BUILTIN_NAMES)
    seen = 0
    for where, source, mode in expressions(doc):
        seen += 1
        assert problems(source, mode) == (), (where, source)
        for node in ast.walk(ast.parse(source, mode=mode)):  # and no method calls, only the allowed functions
            if isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Name) and node.func.id in allowed_calls, (where, source)
    assert seen > 30


def test_gateways_have_a_default_or_exhaustive_conditions(doc: etree._ElementTree) -> None:
    flows = {f.get("id"): f for f in sequence_flows(doc)}
    for gateway in process_of(doc).findall("bpmn:exclusiveGateway", NS):
        outgoing = [flows[o.text] for o in gateway.findall("bpmn:outgoing", NS)]
        if len(outgoing) < 2:
            continue
        default = gateway.get("default")
        conditional = [f for f in outgoing if f.find("bpmn:conditionExpression", NS) is not None]
        # Either one default and conditions on all the others, or conditions on all the flows (exhaustive
        # over the form's values: see test_decision_conditions_cover_each_form_value_once).
        assert len(conditional) == len(outgoing) - (1 if default else 0), gateway.get("id")
        if default:
            assert flows[default].find("bpmn:conditionExpression", NS) is None


# ---------------------------------------------------------------------------------------- the diagram


def test_every_element_is_drawn(doc: etree._ElementTree) -> None:
    shapes = shape_boxes(doc)
    lanes = [lane.get("id") for lane in process_of(doc).iterfind("bpmn:laneSet/bpmn:lane", NS)]
    participant = doc.find("bpmn:collaboration/bpmn:participant", NS).get("id")
    expected = {e.get("id") for e in flow_nodes(doc)} | set(lanes) | {participant}
    assert set(shapes) == expected
    plane = doc.find(".//bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == doc.find("bpmn:collaboration", NS).get("id")
    edges = {e.get("bpmnElement"): e for e in doc.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert set(edges) == {f.get("id") for f in sequence_flows(doc)}
    for flow in sequence_flows(doc):
        waypoints = edges[flow.get("id")].iterfind("di:waypoint", NS)
        points = [(float(p.get("x")), float(p.get("y"))) for p in waypoints]
        assert len(points) >= 2
        assert inside(points[0], shapes[flow.get("sourceRef")]), flow.get("id")
        assert inside(points[-1], shapes[flow.get("targetRef")]), flow.get("id")
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            assert x0 == x1 or y0 == y1, f"{flow.get('id')} is not drawn with straight, right-angled segments"


def test_layout_has_no_overlaps_and_nodes_sit_in_their_lanes(doc: etree._ElementTree) -> None:
    shapes = shape_boxes(doc)
    nodes = {e.get("id"): e for e in flow_nodes(doc)}
    attached = {e.get("id"): e.get("attachedToRef") for e in nodes.values() if local(e) == "boundaryEvent"}
    ids = sorted(nodes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if attached.get(a) == b or attached.get(b) == a:
                continue
            ax, ay, aw, ah = shapes[a]
            bx, by, bw, bh = shapes[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, f"{a} overlaps {b}"
    pool = shapes[doc.find("bpmn:collaboration/bpmn:participant", NS).get("id")]
    for lane in process_of(doc).iterfind("bpmn:laneSet/bpmn:lane", NS):
        box = shapes[lane.get("id")]
        assert inside((box[0], box[1]), pool) and inside((box[0] + box[2], box[1] + box[3]), pool)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = shapes[ref.text]
            centre = (x + w / 2, y + h / 2)
            assert inside(centre, box, slack=0), f"{ref.text} is drawn outside {lane.get('name')}"
    host = shapes["acceptance"]
    x, y, w, h = shapes["acceptance_overdue"]
    assert inside((x + w / 2, y + h / 2), host), "the boundary timer sits on the acceptance task's border"


DECISIONS = {  # gateway -> the form field its conditions read
    "acceptance_decision": ("acceptance", "decision"),
    "expert_result": ("expert_review", "result"),
    "inspection_result": ("site_inspection", "result"),
    "higher_result": ("higher_review", "result"),
    "objection_outcome": ("objection_review", "upheld"),
}


@pytest.mark.parametrize("gateway", sorted(DECISIONS))
def test_decision_conditions_cover_each_form_value_once(doc: etree._ElementTree, definition: ParsedDefinition,
                                                        gateway: str) -> None:
    """SpiffWorkflow takes the first true condition top to bottom in the diagram, so the conditions must not
    overlap; and without a default every value the form allows must have its branch."""
    form, field = DECISIONS[gateway]
    values = [option["const"] for option in definition.form_schema(form)["properties"][field]["oneOf"]]
    element = process_of(doc).find(f"bpmn:exclusiveGateway[@id='{gateway}']", NS)
    flows = {f.get("id"): f for f in sequence_flows(doc)}
    conditions = {o.text: flows[o.text].findtext("bpmn:conditionExpression", namespaces=NS)
                  for o in element.findall("bpmn:outgoing", NS)}
    environment = RestrictedEnvironment(FUNCTIONS)
    taken: set[str] = set()
    for value in values:
        data = {form: {field: value}}
        matching = [fid for fid, cond in conditions.items() if cond and environment.evaluate(cond, data)]
        assert len(matching) <= 1, (gateway, value, matching)
        if not matching:
            assert element.get("default"), (gateway, value)
            matching = [element.get("default")]
        taken.update(matching)
    assert taken == set(conditions), f"{gateway}: a branch no form value reaches"


# ---------------------------------------------------------------------------------------- the paths


def test_the_stand_in_operators_are_the_engines() -> None:
    """The canned operators answer for the real ones this diagram uses: a renamed operator must show up here."""
    assert set(OPERATOR_PARAMS) <= set(OPERATORS)


def test_happy_path_on_the_municipal_route_ends_filed(definition: ParsedDefinition, services: Services) -> None:
    case = Case(definition, services)
    assert services.operators() == ["run_prechecks"]
    assert case.open_tasks() == ["acceptance"]
    assert case.task("acceptance").data["acceptance_deadline"]["due"] == "2026-09-11T23:59:59+08:00"
    assert case.waiting()["acceptance_overdue"].internal_data["event_value"] == "2026-09-11T23:59:59+08:00"

    case.complete("acceptance", {"decision": "accept"})
    assert case.open_tasks() == ["expert_review"]
    assert "acceptance_overdue" not in case.waiting(), "the deadline timer ends with the decision"
    case.complete("expert_review", {"result": "pass"})
    assert case.open_tasks() == ["site_inspection"]
    case.complete("site_inspection", {"result": "pass"})
    assert case.open_tasks() == ["higher_review"]
    case.at("2026-09-20T10:00:00+08:00")
    case.complete("higher_review", {"result": "pass"})

    assert case.open_tasks() == []
    publicity = services.params_of("publish_publicity")
    assert publicity == [{"deadline": {"due": "2026-09-24T23:59:59+08:00", "provisional": False,
                                       "start": "2026-09-20", "days": 5, "rule": "publicity_period"},
                          "article": REGION_ARTICLES["publicity"]}]
    assert case.waiting()["publicity_wait"].internal_data["event_value"] == "2026-09-24T23:59:59+08:00"

    case.at("2026-09-24T23:00:00+08:00")
    case.wake()
    assert case.ended_at() == [], "publicity still running"
    case.at("2026-09-25T00:00:01+08:00")
    case.wake()

    assert case.ended_at() == ["filed"]
    assert case.workflow.is_completed()
    assert services.statuses() == ["under_review", "publicity", "filed"]
    assert services.params_of("issue_filing") == [{"article": REGION_ARTICLES["receipt"]}]
    assert case.data()["filing"]["filing_number"] == "川技评备〔2026〕0001号"
    assert "issue_notice" not in services.operators() and "escalate" not in services.operators()
    set_status = services.params_of("set_status")
    expected_articles = [REGION_ARTICLES[k] for k in ("acceptance", "publicity", "receipt")]
    assert [p["article"] for p in set_status] == expected_articles


@pytest.mark.parametrize(("authority_level", "region"), [
    ("provincial", _region()),
    ("municipal", _region(higher_review_on_municipal_path=False)),
])
def test_no_higher_review_unless_municipal_and_required(definition: ParsedDefinition, services: Services,
                                                        authority_level: str, region: dict[str, Any]) -> None:
    case = Case(definition, services, authority_level=authority_level, region=region)
    case.pass_reviews(higher=False)
    assert case.open_tasks() == []
    assert "publicity_wait" in case.waiting()
    case.later(days=30)
    case.wake()
    assert case.ended_at() == ["filed"]
    assert services.statuses() == ["under_review", "publicity", "filed"]


def test_precheck_failures_reach_the_clerk(definition: ParsedDefinition) -> None:
    failure = {"code": "assessors", "message": "职业 6-18-01-01 的考评人员不足3人",
               "article": f"{SICHUAN} 二（五）"}
    services = Services(_call_problems, precheck={"passed": False, "failures": [failure]})
    case = Case(definition, services)
    assert case.open_tasks() == ["acceptance"], "a failed pre-check never rejects by itself"
    assert case.task("acceptance").data["precheck"] == {"passed": False, "failures": [failure]}
    assert services.statuses() == []


def test_rejection_ends_not_filed_with_a_notice(definition: ParsedDefinition, services: Services) -> None:
    case = Case(definition, services)
    case.complete("acceptance", {"decision": "reject", "reasons": "不属于本机关管辖范围"})
    assert case.ended_at() == ["not_filed"]
    assert case.workflow.is_completed()
    assert services.params_of("issue_notice") == [{"kind": "rejection_notice", "stage": "acceptance",
                                                   "reasons": "不属于本机关管辖范围",
                                                   "article": REGION_ARTICLES["acceptance"]}]
    # The status says why: the reasons of the decision, not merely 未予备案.
    assert services.params_of("set_status") == [{"status": "not_filed", "reason": "不属于本机关管辖范围",
                                                 "article": REGION_ARTICLES["receipt"]}]


def test_supplement_restarts_the_acceptance_clock(definition: ParsedDefinition, services: Services) -> None:
    case = Case(definition, services)
    case.complete("acceptance", {"decision": "supplement", "missing_items": ["site_equipment_proof"],
                                 "reasons": "缺少场地权属证明、考评人员资格证明"})
    assert case.open_tasks() == []
    assert services.params_of("issue_notice") == [{"kind": "supplement_notice", "stage": "acceptance",
                                                   "reasons": "缺少场地权属证明、考评人员资格证明",
                                                   "items": ["site_equipment_proof"],
                                                   "article": REGION_ARTICLES["acceptance"]}]
    assert services.statuses() == [], "the application stays 'applied' while materials are awaited"
    assert "await_resubmission" in case.waiting()

    with pytest.raises(WorkflowException):  # nothing else is being waited for
        case.send("objection", {"objector": "x", "content": "y"})

    case.at("2026-09-20T15:00:00+08:00")
    case.send("resubmission", {"received_at": "2026-09-20T15:00:00+08:00", "note": "已补齐全部材料"})
    assert case.open_tasks() == ["acceptance"]
    task = case.task("acceptance")
    assert task.data["received_at"] == "2026-09-20T15:00:00+08:00"
    assert task.data["acceptance_deadline"]["due"] == "2026-09-30T23:59:59+08:00", "counted from resubmission"
    assert case.waiting()["acceptance_overdue"].internal_data["event_value"] == "2026-09-30T23:59:59+08:00"
    assert task.data["resubmission"]["note"] == "已补齐全部材料"
    # The first deadline (11 September) has passed but belongs to the closed round: no escalation.
    assert "escalate" not in services.operators()

    case.complete("acceptance", {"decision": "accept"})
    assert case.open_tasks() == ["expert_review"]
    assert services.statuses() == ["under_review"]


@pytest.mark.parametrize(("stage", "opinion"), [
    ("expert_review", "评价场地与申报职业不相适应"),
    ("site_inspection", "现场设施设备与申报材料不符"),
    ("higher_review", "评价规范未经省级公布"),
])
def test_a_failed_review_ends_not_filed(definition: ParsedDefinition, services: Services, stage: str,
                                        opinion: str) -> None:
    case = Case(definition, services)
    case.complete("acceptance", {"decision": "accept"})
    for step in ("expert_review", "site_inspection", "higher_review"):
        if step == stage:
            case.complete(step, {"result": "fail", "opinion": opinion})
            break
        case.complete(step, {"result": "pass"})
    assert case.ended_at() == ["not_filed"]
    assert case.open_tasks() == []
    assert services.params_of("issue_notice") == [{"kind": "not_filed_notice", "stage": stage,
                                                   "reasons": opinion, "article": REGION_ARTICLES[stage]}]
    assert services.statuses() == ["under_review", "not_filed"]
    assert "publish_publicity" not in services.operators()


def test_dismissed_objection_lets_the_publicity_run_to_its_original_end(definition: ParsedDefinition,
                                                                        services: Services) -> None:
    case = Case(definition, services, authority_level="provincial")
    case.at("2026-09-20T10:00:00+08:00")
    case.pass_reviews(higher=False)
    due = case.waiting()["publicity_wait"].internal_data["event_value"]
    assert due == "2026-09-24T23:59:59+08:00"

    case.at("2026-09-22T10:00:00+08:00")
    case.send("objection", {"objector": "某职业培训学校", "content": "该机构考评人员资格证书存疑"})
    assert case.open_tasks() == ["objection_review"]
    assert case.task("objection_review").data["objection"]["objector"] == "某职业培训学校"
    assert "publicity_wait" not in case.waiting()

    case.at("2026-09-23T16:00:00+08:00")
    case.complete("objection_review", {"upheld": False, "opinion": "经核查，证书真实有效，异议不成立"})
    assert case.open_tasks() == []
    rearmed = case.waiting()["publicity_wait"].internal_data["event_value"]
    assert rearmed == due, "a dismissed objection does not extend the publicity"
    assert services.operators().count("publish_publicity") == 1, "publicity is not published again"

    case.at("2026-09-25T08:00:00+08:00")
    case.wake()
    assert case.ended_at() == ["filed"]
    assert services.statuses() == ["under_review", "publicity", "filed"]


def test_review_outlasting_the_publicity_files_once_dismissed(definition: ParsedDefinition,
                                                              services: Services) -> None:
    """The objection review may end after the publicity period: the re-armed timer is already due."""
    case = Case(definition, services, authority_level="provincial")
    case.at("2026-09-20T10:00:00+08:00")
    case.pass_reviews(higher=False)
    case.send("objection", {"objector": "匿名", "content": "机构存在失信记录"})
    case.at("2026-10-09T10:00:00+08:00")
    case.complete("objection_review", {"upheld": False, "opinion": "经查询信用记录，无失信记录"})
    assert case.ended_at() == ["filed"]


def test_upheld_objection_ends_not_filed(definition: ParsedDefinition, services: Services) -> None:
    case = Case(definition, services)
    case.at("2026-09-20T10:00:00+08:00")
    case.pass_reviews()
    case.send("objection", {"objector": "某公司", "content": "申报的评价场地系临时租用"})
    case.complete("objection_review", {"upheld": True, "opinion": "经现场核实，异议属实"})
    assert case.ended_at() == ["not_filed"]
    assert case.workflow.is_completed(), "the publicity timer is cancelled with the objection"
    assert services.params_of("issue_notice") == [{"kind": "not_filed_notice", "stage": "objection_review",
                                                   "reasons": "经现场核实，异议属实",
                                                   "article": REGION_ARTICLES["publicity"]}]
    assert services.statuses() == ["under_review", "publicity", "not_filed"]
    assert "issue_filing" not in services.operators()


def test_overdue_acceptance_is_escalated_and_stays_open(definition: ParsedDefinition, services: Services) -> None:
    case = Case(definition, services)
    case.at("2026-09-11T23:59:00+08:00")
    case.wake()
    assert "escalate" not in services.operators(), "not overdue before the end of the last day"

    case.at("2026-09-12T00:00:01+08:00")
    case.wake()
    assert services.params_of("escalate") == [{"reason": "受理期限已届满，尚未作出受理决定",
                                               "article": REGION_ARTICLES["acceptance"]}]
    assert case.open_tasks() == ["acceptance"]
    assert case.task("acceptance").state == TaskState.READY
    assert not case.workflow.is_completed()

    case.later(days=5)
    case.wake()
    assert services.operators().count("escalate") == 1, "escalated once, not on every wake-up"

    case.complete("acceptance", {"decision": "accept"})
    assert case.open_tasks() == ["expert_review"]


def test_an_unknown_decision_fails_loudly(definition: ParsedDefinition, services: Services) -> None:
    """The decision conditions are exhaustive over the form's enum and there is no default: a value the form
    would refuse stops the engine instead of picking a branch."""
    case = Case(definition, services)
    with pytest.raises(WorkflowException):
        case.step(lambda: case.fill("acceptance", {"decision": "maybe"}))


# ---------------------------------------------------------------------------------------- each region's shape


def _beijing(**overrides: Any) -> dict[str, Any]:
    """Beijing's shape (京人社职鉴发〔2020〕3号 六): the district's preliminary opinion, one assessment, the 市人社局's
    confirmation, no publicity, no higher review."""
    return _region(higher_review_on_municipal_path=False, preliminary_opinion_on_municipal_path=True,
                   site_inspection=False, publicity=False, administrative_review_before_filing=True, **overrides)


def test_beijing_district_opinion_then_assessment_and_confirmation_without_publicity(
        definition: ParsedDefinition, services: Services) -> None:
    case = Case(definition, services, authority_level="municipal", region=_beijing())
    case.complete("acceptance", {"decision": "accept"})
    assert case.open_tasks() == ["preliminary_opinion"]
    case.complete("preliminary_opinion", {"recommendation": "recommend", "opinion": "材料齐全，建议确认"})
    assert case.open_tasks() == ["expert_review"]
    case.complete("expert_review", {"result": "pass", "opinion": "评估通过"})
    assert case.open_tasks() == ["administrative_review"], "no site inspection, no higher review, no publicity"
    case.complete("administrative_review", {"result": "pass", "meeting": "市人社局确认文件"})
    assert case.ended_at() == ["filed"]
    assert "publish_publicity" not in services.operators()
    assert services.statuses() == ["under_review", "filed"]
    assert services.params_of("set_status")[-1]["reason"] == "经确认，予以备案"


def test_a_city_level_beijing_application_has_no_district_opinion(definition: ParsedDefinition,
                                                                  services: Services) -> None:
    case = Case(definition, services, authority_level="provincial", region=_beijing())
    case.complete("acceptance", {"decision": "accept"})
    assert case.open_tasks() == ["expert_review"]


def test_a_refused_confirmation_is_a_not_filed_notice_of_the_deciding_authority(definition: ParsedDefinition,
                                                                               services: Services) -> None:
    case = Case(definition, services, authority_level="provincial", region=_beijing())
    case.complete("acceptance", {"decision": "accept"})
    case.complete("expert_review", {"result": "pass", "opinion": "评估通过"})
    case.complete("administrative_review", {"result": "fail", "meeting": "市人社局确认文件",
                                            "opinion": "评价规范未经备案"})
    assert case.ended_at() == ["not_filed"]
    [notice] = services.params_of("issue_notice")
    assert notice["stage"] == "administrative_review" and notice["reasons"] == "评价规范未经备案"
    assert notice["jurisdiction"] == "setting:administrative_review_level"


def test_xpcc_deliberates_after_the_publicity(definition: ParsedDefinition, services: Services) -> None:
    case = Case(definition, services, authority_level="provincial",
                region=_region(administrative_review_before_filing=True))
    case.pass_reviews(higher=False)
    assert "publicity_wait" in case.waiting() and case.open_tasks() == []
    case.later(days=30)
    case.wake()
    assert case.open_tasks() == ["administrative_review"], "the 局长办公会 decides on the publicity's result"
    case.complete("administrative_review", {"result": "pass", "meeting": "2026年第12次局长办公会"})
    assert case.ended_at() == ["filed"]
    assert services.statuses() == ["under_review", "publicity", "filed"]


@pytest.mark.parametrize(("institution_type", "reviewed"), [("school", True), ("employer", False)])
def test_shanghai_reviews_only_schools_at_the_higher_level(definition: ParsedDefinition, services: Services,
                                                           institution_type: str, reviewed: bool) -> None:
    case = Case(definition, services, region=_region(higher_review_institution_types=["school"]),
                institution_type=institution_type)
    case.complete("acceptance", {"decision": "accept"})
    case.complete("expert_review", {"result": "pass", "opinion": "评估通过"})
    case.complete("site_inspection", {"result": "pass"})
    assert case.open_tasks() == (["higher_review"] if reviewed else [])


def test_xpcc_waits_for_the_national_filing_reminds_and_takes_a_return_to_a_person(
        definition: ParsedDefinition, services: Services) -> None:
    """兵团、国家双备案 (XPCC 第十三条（四）): after its own receipt the case waits for the national registry; a late
    answer reminds (and the wait goes on), a return goes to the province's intake to correct and report again, an
    acceptance is recorded and ends the case. Without dual filing the case ends at the receipt."""
    case = Case(definition, services, authority_level="provincial",
                region=_region(national_filing=True, national_filing_reminder_days=20))
    case.pass_reviews(higher=False)
    case.later(days=30)
    case.wake()
    assert services.statuses()[-1] == "filed" and "national_filing_wait" in case.waiting()
    case.later(days=40)
    case.wake()
    assert services.operators()[-1] == "escalate" and "national_filing_wait" in case.waiting()
    case.send("national_filing", {"result": "returned", "acknowledged_on": "2026-12-01", "reasons": "编码有误"})
    assert case.open_tasks() == ["national_filing_returned"]
    case.complete("national_filing_returned", {"corrections": "已更正职业编码"})
    assert services.params_of("report_national_filing")[-1]["note"] == "已更正职业编码"
    case.send("national_filing", {"result": "accepted", "acknowledged_on": "2026-12-10", "national_number": "N-1"})
    assert case.ended_at() == ["filed_nationally"]
    assert services.params_of("record_national_filing")[-1]["reply"]["national_number"] == "N-1"


def test_a_region_profile_from_before_dual_filing_ends_at_the_receipt(definition: ParsedDefinition,
                                                                     services: Services) -> None:
    """A running case migrated from an older version carries a region profile without the setting: no dual filing."""
    case = Case(definition, services, authority_level="provincial")
    assert "national_filing" not in _region()
    case.pass_reviews(higher=False)
    case.later(days=30)
    case.wake()
    assert case.ended_at() == ["filed"]
