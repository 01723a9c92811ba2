"""Issue 3, diagrams 4–6: bpmn/sanction.bpmn, bpmn/ordered_termination.bpmn, bpmn/automatic_termination.bpmn.

Each file validates, is read and parsed by `workflows.definitions`, is completely and tidily drawn, and every path
runs in memory on the project's engine pieces (restricted expressions, the virtual clock, the settle loop and the
state round trip of `workflows.state`), driven by tests/support/bpmn_harness.py. Only the domain side is replaced:
expression functions that count calendar days instead of working days, and operators that check their parameters
against the design (its operator table is in the harness), record the call and answer with a canned result.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from tasks.articles import ARTICLE_KEYS, JILIN
from tasks.forms import schema_problems
from tasks.regions import load_profiles, profile_by_key, profile_for_region
from tasks.roles import role_for_lane
from tests.support.bpmn_harness import (
    BPMN_DIR,
    CASE_STATUSES,
    DESIGN_OPERATORS,
    FORMS_DIR,
    FUNCTIONS,
    NS,
    Box,
    BpmnCase,
    Services,
    bounds,
    bpmn_doc,
    chinese,
    design_problem,
    expressions,
    flow_nodes,
    inside,
    local,
    overlap,
    parsed,
    process_of,
    sequence_flows,
    service_operators,
    shape_boxes,
    waypoints,
)
from workflows import clock
from workflows.definitions import ParsedDefinition, read_source
from workflows.expressions import BUILTIN_NAMES, RestrictedEnvironment, problems
from workflows.operators import OPERATORS

PROCESSES = ("sanction", "ordered_termination", "automatic_termination")

START = datetime(2026, 10, 12, 9, 0, tzinfo=clock.SHANGHAI)  # a Monday
PROCESS_NAMES = {
    "sanction": "违规查处（约谈、警告、限期整改）",
    "ordered_termination": "责令终止备案",
    "automatic_termination": "自动终止备案",
}

# ---------------------------------------------------------------------------------------- the design (issue 3)

# The ids other code and the paths below rely on, with their BPMN element types.
REQUIRED_IDS: dict[str, dict[str, str]] = {
    "sanction": {
        "start": "startEvent",
        "status_investigating": "serviceTask",
        "sanction_investigation": "userTask",
        "sanction_decision": "exclusiveGateway",
        "document_verification_opinion": "serviceTask",
        "dismissed": "endEvent",
        "record_interview": "serviceTask",
        "notice_interview": "serviceTask",
        "sanctioned": "endEvent",
        "set_rectification_deadline": "scriptTask",
        "record_warning": "serviceTask",
        "suspend_for_rectification": "serviceTask",
        "notice_warning": "serviceTask",
        "rectification_wait": "eventBasedGateway",
        "rectification_reported": "intermediateCatchEvent",
        "rectification_overdue": "intermediateCatchEvent",
        "rectification_check": "userTask",
        "rectification_result": "exclusiveGateway",
        "lift_after_rectification": "serviceTask",
        "closed": "endEvent",
        "transfer_rectification_failed": "serviceTask",
        "transfer_rectification_overdue": "serviceTask",
        "transferred": "endEvent",
        "revokes_certificate_data": "exclusiveGateway",
        "revoke_certificate_data": "serviceTask",
        "notice_correct_now": "serviceTask",
        "corrected_now": "endEvent",
        "transfer_especially_serious": "serviceTask",
        "transferred_serious": "endEvent",
        "set_statement_deadline": "scriptTask",
        "notice_intended_decision": "serviceTask",
        "statement_wait": "eventBasedGateway",
        "statement_received": "intermediateCatchEvent",
        "statement_period_ends": "intermediateCatchEvent",
        "decide_sanction": "userTask",
        "sanction_outcome": "exclusiveGateway",
        "dropped": "endEvent",
        "measure_decided": "exclusiveGateway",
        "set_review_request_deadline": "scriptTask",
        "review_request_wait": "eventBasedGateway",
        "review_request_received": "intermediateCatchEvent",
        "review_request_period_ends": "intermediateCatchEvent",
        "rectification_statement": "intermediateCatchEvent",
        "statement_review": "userTask",
        "document_review_decision": "serviceTask",
        "review_outcome": "exclusiveGateway",
        "revoke_decision": "serviceTask",
        "upheld": "endEvent",
        "sanction_revoked": "endEvent",
    },
    "ordered_termination": {
        "start": "startEvent",
        "status_investigating": "serviceTask",
        "suspend_during_investigation": "serviceTask",
        "termination_investigation": "userTask",
        "document_verification_opinion": "serviceTask",
        "termination_decision": "exclusiveGateway",
        "lift_after_dismissal": "serviceTask",
        "dismissed": "endEvent",
        "set_statement_deadline": "scriptTask",
        "notice_intended_decision": "serviceTask",
        "statement_wait": "eventBasedGateway",
        "statement_received": "intermediateCatchEvent",
        "statement_period_ends": "intermediateCatchEvent",
        "statement_review": "userTask",
        "document_review_decision": "serviceTask",
        "review_outcome": "exclusiveGateway",
        "lift_after_revocation": "serviceTask",
        "revoked": "endEvent",
        "terminate_ordered": "serviceTask",
        "terminated": "endEvent",
        "set_review_request_deadline": "scriptTask",
        "review_request_wait": "eventBasedGateway",
        "review_request_received": "intermediateCatchEvent",
        "review_request_period_ends": "intermediateCatchEvent",
        "status_upheld": "serviceTask",
        "reinstate_ordered": "serviceTask",
        "reinstated": "endEvent",
    },
    "automatic_termination": {
        "start": "startEvent",
        "status_investigating": "serviceTask",
        "suspend_during_investigation": "serviceTask",
        "automatic_verification": "userTask",
        "document_verification_opinion": "serviceTask",
        "automatic_decision": "exclusiveGateway",
        "terminate_automatic": "serviceTask",
        "terminated": "endEvent",
        "lift_after_verification": "serviceTask",
        "lifted": "endEvent",
    },
}
END_EVENTS = {process: {i for i, kind in ids.items() if kind == "endEvent"} for process, ids in REQUIRED_IDS.items()}

# user task -> (lane, article key, the task-data variables shown with it)
USER_TASKS: dict[str, dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "sanction": {
        "sanction_investigation": ("监管人员", "sanctions", ("request", "ground", "prior_sanctions")),
        "rectification_check": ("监管人员", "sanctions",
                                ("rectification_done", "sanction_investigation", "rectification_deadline")),
        "decide_sanction": ("审批人员", "sanctions", ("sanction_investigation", "statement", "statement_deadline")),
        "statement_review": ("复核人员", "statement",
                             ("review_statement", "sanction_investigation", "decide_sanction")),
    },
    "ordered_termination": {
        "termination_investigation": ("监管人员", "ordered_termination", ("request", "ground")),
        "statement_review": ("复核人员", "statement",
                             ("review_statement", "termination_investigation", "decide_termination")),
        "decide_termination": ("审批人员", "ordered_termination",
                               ("termination_investigation", "statement", "statement_deadline")),
    },
    "automatic_termination": {
        "automatic_verification": ("监管人员", "automatic_termination", ("ground", "request")),
    },
}
MESSAGES = {
    "sanction": {"rectification_reported": "rectification_done", "statement_received": "statement"},
    "ordered_termination": {"statement_received": "statement"},
    "automatic_termination": {},
}
LANES = {
    "sanction": ["监管人员", "审批人员", "系统", "复核人员"],
    "ordered_termination": ["监管人员", "复核人员", "系统", "审批人员"],
    "automatic_termination": ["监管人员", "系统"],
}

PROCESS_IDS = {"filing_validity", "renewal", "change_report", "sanction", "ordered_termination",
               "automatic_termination", "voluntary_termination"}
# Variables of the case's start data, forms and messages: a service result must never overwrite one of them.
START_VARIABLES = {"case", "filing", "region", "ground", "request", "source_case", "prior_sanctions"}

FILING: dict[str, Any] = {
    "number": "吉技评备〔2025〕0007号", "valid_from": "2025-03-01", "valid_until": "2028-02-29",
    "window_opens": "2027-11-29", "second_reminder_on": "2028-01-30", "expires_on": "2028-03-01",
    "region": "220100", "authority_level": "provincial",
    "institution": {"name": "长春示例职业技能评价有限公司", "credit_code": "91220100MA0000001X", "type": "employer"},
    "rating": None, "simplified_continuation": False, "parent_number": None, "status": "filed",
}
GROUNDS: dict[str, dict[str, str]] = {
    "sanction": {"code": "false_advertising", "label": "“包过”“保过”等虚假宣传",
                 "article": f"{JILIN}第二十六条（三）", "procedure": "sanction"},
    "ordered_termination": {"code": "beyond_scope", "label": "超出备案范围开展评价工作",
                            "article": f"{JILIN}第二十七条（二）", "procedure": "ordered_termination"},
    "automatic_termination": {"code": "deregistered", "label": "出现破产、关闭、注销等主体灭失情形未主动提出终止备案",
                              "article": f"{JILIN}第三十条（三）", "procedure": "automatic_termination"},
}
REGION = profile_by_key("jilin").to_dict()
ARTICLES = REGION["articles"]


class Case(BpmnCase):
    """A case of the definition's process against FILING in Jilin, started on Monday 12 October 2026; keyword
    arguments replace start data."""

    def __init__(self, definition: ParsedDefinition, services: Services, **start: Any) -> None:
        data = {"case": "C-2026-0101", "filing": FILING, "region": REGION,
                "ground": GROUNDS[definition.process_id], "request": {"reporter": "群众举报", "content": "举报内容"},
                "source_case": None, "prior_sanctions": [], **start}
        super().__init__(definition, services, data, start=START, ends=END_EVENTS[definition.process_id])


@pytest.fixture(params=PROCESSES)
def process_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def doc(process_id: str) -> etree._ElementTree:
    return bpmn_doc(process_id)


@pytest.fixture
def definition(process_id: str) -> ParsedDefinition:
    return parsed(process_id)


@pytest.fixture
def services() -> Services:
    return Services()


# ---------------------------------------------------------------------------------------- the files themselves


def test_each_file_validates_and_parses(process_id: str, doc: etree._ElementTree,
                                        definition: ParsedDefinition) -> None:
    source = read_source(BPMN_DIR / f"{process_id}.bpmn")
    assert (source.process_id, source.name) == (process_id, PROCESS_NAMES[process_id])
    assert (definition.process_id, definition.name) == (process_id, PROCESS_NAMES[process_id])
    process = process_of(doc)
    assert len(doc.findall("bpmn:process", NS)) == 1
    assert process.get("id") == process_id and process.get("isExecutable") == "true"
    participant = doc.find("bpmn:collaboration/bpmn:participant", NS)
    assert participant is not None and participant.get("processRef") == process_id
    assert chinese(participant.get("name"))
    documentation = process.findtext("bpmn:documentation", namespaces=NS)
    assert chinese(documentation) and len(documentation) > 100


def test_required_ids_have_their_types(process_id: str, doc: etree._ElementTree) -> None:
    found = {e.get("id"): local(e) for e in flow_nodes(doc)}
    assert {k: found.get(k) for k in REQUIRED_IDS[process_id]} == REQUIRED_IDS[process_id]


def test_every_name_is_chinese(doc: etree._ElementTree) -> None:
    flows = {f.get("id"): f for f in sequence_flows(doc)}
    for element in flow_nodes(doc):
        outgoing = element.findall("bpmn:outgoing", NS)
        if not element.get("name"):
            # Only converging gateways stay unlabelled, as modellers draw them.
            assert local(element) == "exclusiveGateway" and len(outgoing) == 1, element.get("id")
            continue
        assert chinese(element.get("name")), element.get("id")
        if local(element) == "exclusiveGateway" and len(outgoing) > 1:
            for flow_id in (o.text for o in outgoing):
                assert chinese(flows[flow_id].get("name")), flow_id


def test_lanes_are_roles_and_partition_the_nodes(process_id: str, doc: etree._ElementTree,
                                                 definition: ParsedDefinition) -> None:
    lanes = process_of(doc).findall("bpmn:laneSet/bpmn:lane", NS)
    assert [lane.get("name") for lane in lanes] == LANES[process_id]
    assert all(role_for_lane(lane.get("name")) for lane in lanes)
    refs = [ref.text for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)]
    assert sorted(refs) == sorted(e.get("id") for e in flow_nodes(doc)), "every node in exactly one lane"
    system = {ref.text for lane in lanes if lane.get("name") == "系统" for ref in lane.findall("bpmn:flowNodeRef", NS)}
    for element in flow_nodes(doc):
        if local(element) in {"serviceTask", "scriptTask", "startEvent", "endEvent", "intermediateCatchEvent",
                               "eventBasedGateway"}:
            assert element.get("id") in system, f"{element.get('id')} is the system's work"
    assert {bpmn_id: info.lane for bpmn_id, info in definition.user_tasks.items()} == {
        bpmn_id: lane for bpmn_id, (lane, _, _) in USER_TASKS[process_id].items()}


def test_user_tasks_carry_form_article_context_and_instructions(process_id: str,
                                                                definition: ParsedDefinition) -> None:
    for bpmn_id, (_, article_key, context) in USER_TASKS[process_id].items():
        info = definition.user_tasks[bpmn_id]
        assert info.form == f"{bpmn_id}.schema.json" and (FORMS_DIR / info.form).exists()
        assert definition.form_schema(bpmn_id) is not None
        # The task names a citation key, resolved in the case's region (own article, else marked 参照).
        assert info.article_key == article_key and info.article == "", (bpmn_id, info.article)
        assert info.article_in("220104").startswith("《吉林省"), info.article_in("220104")
        for region in ("510104", "110105", "310104", "660000"):
            assert info.article_in(region) == profile_for_region(region).article(article_key)
        assert info.context == context
        assert info.deadline_variable is None and info.jurisdiction == "case"
        assert chinese(definition.spec.task_specs[bpmn_id].extensions.get("instructionsForEndUser")), bpmn_id


def test_messages_are_declared_and_stored_under_their_names(process_id: str, doc: etree._ElementTree,
                                                            definition: ParsedDefinition) -> None:
    expected = MESSAGES[process_id]
    assert {m.get("name") for m in doc.findall("bpmn:message", NS)} == set(expected.values())
    assert definition.messages == set(expected.values())
    for bpmn_id, message in expected.items():
        element = process_of(doc).find(f"bpmn:intermediateCatchEvent[@id='{bpmn_id}']", NS)
        event = element.find("bpmn:messageEventDefinition", NS)
        assert doc.find(f"bpmn:message[@id='{event.get('messageRef')}']", NS).get("name") == message
        variable = event.find("bpmn:extensionElements/spiffworkflow:messageVariable", NS)
        assert variable is not None and variable.text == message
        assert definition.message_schema(message) is not None, message
        incoming = element.find("bpmn:incoming", NS).text
        source = next(f for f in sequence_flows(doc) if f.get("id") == incoming).get("sourceRef")
        assert local(process_of(doc).find(f"*[@id='{source}']")) == "eventBasedGateway", "caught while waiting"


FORM_FILES = [
    "sanction_investigation.schema.json", "rectification_check.schema.json", "termination_investigation.schema.json",
    "statement_review.schema.json", "automatic_verification.schema.json", "statement.message.schema.json",
    "decide_sanction.schema.json", "decide_termination.schema.json",
    "rectification_done.message.schema.json",
]


@pytest.mark.parametrize("name", FORM_FILES)
def test_form_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((FORMS_DIR / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{name}")
    Draft202012Validator.check_schema(schema)
    assert chinese(schema["title"]) and chinese(schema["description"])
    assert schema.get("additionalProperties") is False
    for field, spec in schema["properties"].items():
        assert chinese(spec.get("title")), (name, field)


SANCTION_WARNING = {"decision": "warning", "opinion": "经查，该机构在招生简章中宣称“包过”",
                    "facts": "招生简章宣称“包过”", "rectification_days": 20}


@pytest.mark.parametrize(("form", "instance", "valid"), [
    ("sanction_investigation", {"decision": "no_violation", "opinion": "经核查，举报不属实"}, True),
    ("sanction_investigation", {"decision": "no_violation"}, False),
    ("sanction_investigation", {"decision": "no_violation", "opinion": "   "}, False),
    ("sanction_investigation", {"decision": "interview", "opinion": "情节轻微", "facts": "考场秩序混乱"}, True),
    ("sanction_investigation", {"decision": "interview", "opinion": "情节轻微", "facts": "考场秩序混乱",
                                "invalid_results": True}, True),
    ("sanction_investigation", {"decision": "interview", "opinion": "情节轻微"}, False),
    ("sanction_investigation", {"decision": "interview", "opinion": "情节轻微", "facts": "x",
                                "invalid_results": "yes"}, False),
    ("sanction_investigation", SANCTION_WARNING, True),
    ("sanction_investigation", {**SANCTION_WARNING, "rectification_days": None}, False),
    ("sanction_investigation", {k: v for k, v in SANCTION_WARNING.items() if k != "rectification_days"}, False),
    ("sanction_investigation", {**SANCTION_WARNING, "rectification_days": 0}, False),
    ("sanction_investigation", {**SANCTION_WARNING, "rectification_days": 181}, False),
    ("sanction_investigation", {**SANCTION_WARNING, "rectification_days": 7.5}, False),
    ("sanction_investigation", {**SANCTION_WARNING, "facts": ""}, False),
    ("sanction_investigation", {"decision": "terminate", "opinion": "x"}, False),
    ("sanction_investigation", {"decision": "no_violation", "opinion": "x", "typename": "x"}, False),
    # Certificate data is revoked with an interview or a warning, told to the institution first (Jilin 第三十五条).
    ("sanction_investigation",
     {**SANCTION_WARNING, "certificate_data": "revoke", "certificate_data_detail": "证书12份"}, True),
    ("sanction_investigation", {"decision": "correct_now", "opinion": "x", "facts": "x", "certificate_data": "revoke",
                                "certificate_data_detail": "证书12份"}, False),
    ("sanction_investigation", {"decision": "terminate", "opinion": "x", "facts": "x", "certificate_data": "revoke",
                                "certificate_data_detail": "证书12份"}, False),
    ("decide_sanction", {"decision": "impose", "reasons": "申辩理由不成立"}, True),
    ("decide_sanction", {"decision": "drop", "reasons": "机构已证明宣传材料系他人冒用"}, True),
    ("decide_sanction", {"decision": "drop"}, False),
    ("decide_sanction", {"decision": "impose", "reasons": " "}, False),
    ("decide_sanction", {"decision": "warning", "reasons": "x"}, False),
    ("rectification_check", {"result": "pass"}, True),
    ("rectification_check", {"result": "fail", "opinion": "仍在宣传“包过”"}, True),
    ("rectification_check", {"result": "fail"}, False),
    ("rectification_check", {"result": "ok"}, False),
    ("termination_investigation", {"decision": "dismiss", "opinion": "未发现超范围评价"}, True),
    ("termination_investigation", {"decision": "propose", "opinion": "查实", "facts": "超出备案职业开展评价"}, True),
    ("termination_investigation", {"decision": "propose", "opinion": "查实"}, False),
    ("termination_investigation", {"decision": "dismiss"}, False),
    ("statement_review", {"decision": "uphold", "opinion": "申辩理由不成立"}, True),
    ("statement_review", {"decision": "revoke", "opinion": "申辩理由成立"}, True),
    ("statement_review", {"decision": "revoke"}, False),
    ("statement_review", {"decision": "dismiss", "opinion": "x"}, False),
    ("automatic_verification", {"decision": "terminate", "opinion": "已注销"}, True),
    ("automatic_verification", {"decision": "lift", "opinion": "仍在存续"}, True),
    ("automatic_verification", {"decision": "lift"}, False),
    ("automatic_verification", {"decision": "propose", "opinion": "x"}, False),
    ("statement.message", {"text": "我方未超范围评价", "submitted_on": "2026-10-14"}, True),
    ("statement.message", {"text": "我方未超范围评价"}, True),
    ("statement.message", {"text": " "}, False),
    ("statement.message", {"text": "x", "submitted_on": "14/10/2026"}, False),
    ("statement.message", {"submitted_on": "2026-10-14"}, False),
    ("rectification_done.message", {"summary": "已撤下全部宣传材料"}, True),
    ("rectification_done.message", {}, False),
    ("rectification_done.message", {"summary": "已整改", "note": "x"}, False),
])
def test_form_schemas_accept_and_refuse(form: str, instance: dict[str, Any], valid: bool) -> None:
    schema = json.loads((FORMS_DIR / f"{form}.schema.json").read_text(encoding="utf-8"))
    problems = schema_problems(schema, instance)
    assert (problems == []) is valid, problems
    assert all(chinese(p) for p in problems)


def test_service_tasks_call_the_designs_operators(doc: etree._ElementTree, definition: ParsedDefinition) -> None:
    protected = START_VARIABLES | set(definition.user_tasks) | definition.messages
    for process in doc.iter(f"{{{NS['bpmn']}}}script"):
        protected |= {t.id for node in ast.walk(ast.parse(process.text)) if isinstance(node, ast.Assign)
                      for t in node.targets if isinstance(t, ast.Name)}
    for task_id, operator, params, result in service_operators(doc):
        environment = RestrictedEnvironment(FUNCTIONS)
        literal = {k: environment.evaluate(v, {}) for k, v in params.items() if k in {"kind", "status", "process"}}
        assert design_problem(operator, {**params, **literal}) is None, (task_id, design_problem(operator, params))
        assert result, f"{task_id} needs an explicit resultVariable"
        assert result not in protected, f"{task_id} would overwrite {result}"
        if operator == "set_status":
            assert literal["status"] in CASE_STATUSES, task_id
        if operator == "start_process":
            assert literal["process"] in PROCESS_IDS, task_id


def test_operators_exist_in_the_engine_with_these_parameters(doc: etree._ElementTree) -> None:
    """Against the engine's table as soon as it has the lifecycle operators; the design's table meanwhile."""
    used = {operator for _, operator, _, _ in service_operators(doc)}
    assert used <= set(DESIGN_OPERATORS)
    lifecycle = set(DESIGN_OPERATORS) - {"set_status", "escalate"}
    if not lifecycle & set(OPERATORS):
        pytest.skip("workflows.operators.OPERATORS has no lifecycle operators yet; checked against the design only")
    for task_id, operator, params, _ in service_operators(doc):
        assert operator in OPERATORS, (task_id, operator)
        signature = inspect.signature(OPERATORS[operator])
        signature.bind(None, **params)  # raises TypeError if the handler does not take these parameters


def test_articles_are_region_citations_known_to_every_region(doc: etree._ElementTree) -> None:
    pattern = re.compile(r"region\['articles'\]\['(\w+)'\]")
    keys: set[str] = set()
    for task_id, _, params, _ in service_operators(doc):
        match = pattern.fullmatch(params["article"])
        assert match and match.group(1) in ARTICLE_KEYS, (task_id, params["article"])
        keys.add(match.group(1))
    for key, profile in load_profiles().items():
        articles = profile.to_dict()["articles"]
        assert keys <= set(articles), (key, sorted(keys - set(articles)))


def test_no_flow_node_shares_an_id_with_an_extension_element(doc: etree._ElementTree) -> None:
    """SpiffWorkflow indexes every element with an `id` in the process, extension elements included: a task whose
    id equals an operator's (or a parameter's) id is silently replaced by that element."""
    extension_ids = {e.get("id") for e in process_of(doc).iter(f"{{{NS['spiffworkflow']}}}*") if e.get("id")}
    assert not extension_ids & {e.get("id") for e in flow_nodes(doc)}


def test_expressions_stay_inside_the_restricted_environment(doc: etree._ElementTree) -> None:
    allowed_calls = set(FUNCTIONS) | set(BUILTIN_NAMES)
    seen = 0
    for where, source, mode in expressions(doc):
        seen += 1
        assert problems(source, mode) == (), (where, source)
        for node in ast.walk(ast.parse(source, mode=mode)):  # no method calls, only the allowed functions
            if isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Name) and node.func.id in allowed_calls, (where, source)
    assert seen > 20


def test_timers_wait_for_a_deadline_computed_in_the_process(process_id: str, doc: etree._ElementTree) -> None:
    timers = {e.getparent().getparent().get("id"): e.text for e in process_of(doc).iter(f"{{{NS['bpmn']}}}timeDate")}
    expected = {"sanction": {"rectification_overdue": "rectification_deadline['due']",
                             "statement_period_ends": "statement_deadline['due']",
                             "review_request_period_ends": "review_request_deadline['due']"},
                "ordered_termination": {"statement_period_ends": "statement_deadline['due']",
                                        "review_request_period_ends": "review_request_deadline['due']"},
                "automatic_termination": {}}[process_id]
    assert timers == expected


def test_gateways_have_a_default_or_exhaustive_conditions(doc: etree._ElementTree) -> None:
    flows = {f.get("id"): f for f in sequence_flows(doc)}
    for gateway in process_of(doc).findall("bpmn:exclusiveGateway", NS):
        outgoing = [flows[o.text] for o in gateway.findall("bpmn:outgoing", NS)]
        if len(outgoing) < 2:
            continue
        default = gateway.get("default")
        conditional = [f for f in outgoing if f.find("bpmn:conditionExpression", NS) is not None]
        assert len(conditional) == len(outgoing) - (1 if default else 0), gateway.get("id")


DECISIONS = {  # gateway -> (process, form, field its conditions read)
    "sanction_decision": ("sanction", "sanction_investigation", "decision"),
    "sanction_outcome": ("sanction", "decide_sanction", "decision"),
    "rectification_result": ("sanction", "rectification_check", "result"),
    "termination_decision": ("ordered_termination", "termination_investigation", "decision"),
    "review_outcome": ("ordered_termination", "statement_review", "decision"),
    "automatic_decision": ("automatic_termination", "automatic_verification", "decision"),
}


@pytest.mark.parametrize("gateway", sorted(DECISIONS))
def test_decision_conditions_cover_each_form_value_once(gateway: str) -> None:
    """SpiffWorkflow takes the first true condition, so conditions must not overlap; without a default every value
    the form allows needs its branch, and every branch must be reachable."""
    process_id, form, field = DECISIONS[gateway]
    definition = parsed(process_id)
    doc = etree.parse(str(BPMN_DIR / f"{process_id}.bpmn"))
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
        taken.update(matching or [element.get("default")])
    assert taken == set(conditions), f"{gateway}: a branch no form value reaches"


# ---------------------------------------------------------------------------------------- the drawing


def test_every_element_is_drawn_with_right_angled_flows(doc: etree._ElementTree) -> None:
    shapes = shape_boxes(doc)
    lanes = [lane.get("id") for lane in process_of(doc).iterfind("bpmn:laneSet/bpmn:lane", NS)]
    participant = doc.find("bpmn:collaboration/bpmn:participant", NS).get("id")
    assert set(shapes) == {e.get("id") for e in flow_nodes(doc)} | set(lanes) | {participant}
    plane = doc.find(".//bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == doc.find("bpmn:collaboration", NS).get("id")
    edges = {e.get("bpmnElement"): e for e in doc.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert set(edges) == {f.get("id") for f in sequence_flows(doc)}
    for flow in sequence_flows(doc):
        points = waypoints(edges[flow.get("id")])
        assert len(points) >= 2
        assert inside(points[0], shapes[flow.get("sourceRef")]), flow.get("id")
        assert inside(points[-1], shapes[flow.get("targetRef")]), flow.get("id")
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            assert x0 == x1 or y0 == y1, f"{flow.get('id')} is not drawn with straight, right-angled segments"
        if flow.get("name"):
            assert edges[flow.get("id")].find("bpmndi:BPMNLabel", NS) is not None, flow.get("id")


# The sanction diagram carries four measures, the notice before the decision and the review after it (Jilin
# 第三十五、三十六条): taller than the others, it still fits a 1920×1080 screen at 80 %.
SCREEN = {"sanction": (2400, 1100)}


def test_layout_is_tidy_and_fits_one_screen(doc: etree._ElementTree) -> None:
    shapes = shape_boxes(doc)
    nodes = [e.get("id") for e in flow_nodes(doc)]
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            assert not overlap(shapes[a], shapes[b]), f"{a} overlaps {b}"
    pool = shapes[doc.find("bpmn:collaboration/bpmn:participant", NS).get("id")]
    width, height = SCREEN.get(process_of(doc).get("id"), (2400, 800))
    assert pool[2] <= width and pool[3] <= height, f"pool {pool[2]}×{pool[3]} does not fit one screen"
    for lane in process_of(doc).iterfind("bpmn:laneSet/bpmn:lane", NS):
        box = shapes[lane.get("id")]
        assert inside((box[0], box[1]), pool) and inside((box[0] + box[2], box[1] + box[3]), pool)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = shapes[ref.text]
            assert inside((x, y), box, slack=0) and inside((x + w, y + h), box, slack=0), ref.text
    # No flow runs through a shape it does not connect.
    for edge in doc.iterfind(".//bpmndi:BPMNEdge", NS):
        flow = process_of(doc).find(f"bpmn:sequenceFlow[@id='{edge.get('bpmnElement')}']", NS)
        ends = {flow.get("sourceRef"), flow.get("targetRef")}
        points = waypoints(edge)
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            segment = (min(x0, x1), min(y0, y1), abs(x1 - x0) or 0.001, abs(y1 - y0) or 0.001)
            for node in nodes:
                if node not in ends:
                    assert not overlap(segment, shapes[node]), f"{flow.get('id')} runs through {node}"
    # Labels cover no shape but their own and no other label.
    labels: list[tuple[str, Box]] = []
    for drawn in doc.iterfind(".//bpmndi:BPMNShape", NS):
        label = drawn.find("bpmndi:BPMNLabel", NS)
        if label is not None:
            labels.append((drawn.get("bpmnElement"), bounds(label)))
    for drawn in doc.iterfind(".//bpmndi:BPMNEdge", NS):
        label = drawn.find("bpmndi:BPMNLabel", NS)
        if label is not None:
            labels.append((drawn.get("bpmnElement"), bounds(label)))
    for owner, box in labels:
        for node in nodes:
            if node != owner:
                assert not overlap(box, shapes[node]), f"the label of {owner} covers {node}"
    for i, (a, box_a) in enumerate(labels):
        for b, box_b in labels[i + 1:]:
            assert not overlap(box_a, box_b), f"the labels of {a} and {b} overlap"


# ---------------------------------------------------------------------------------------- sanction paths


@pytest.fixture
def sanction() -> ParsedDefinition:
    return parsed("sanction")


SANCTION_STATEMENT = {"text": "宣传材料系代理机构擅自发布，我方已要求撤下", "submitted_on": "2026-10-12"}
SANCTION_NOTICE_DUE = "2026-10-17T23:59:59+08:00"  # today + region['statement_days'] (5) in the stand-in calendar


def _decided(definition: ParsedDefinition, services: Services, form: dict[str, Any], *,
             decision: str = "impose") -> Case:
    """Investigated, told (the institution answers the same day) and decided by the approver."""
    case = Case(definition, services)
    case.complete("sanction_investigation", form)
    case.send("statement", SANCTION_STATEMENT)
    case.complete("decide_sanction", {"decision": decision, "reasons": "机构的意见不能否定查明的事实"})
    return case


def _warned(definition: ParsedDefinition, services: Services, days: int = 20) -> Case:
    return _decided(definition, services, {**SANCTION_WARNING, "rectification_days": days})


TOLD = ["set_status", "issue_document", "set_status"]  # investigating; the notice of the intended decision; its period


def test_sanction_opens_the_investigation_with_its_context(sanction: ParsedDefinition, services: Services) -> None:
    prior = [{"measure": "interview", "ground": "考场秩序混乱", "decided_at": "2026-03-02", "case": "C-2026-0007"}]
    case = Case(sanction, services, prior_sanctions=prior)
    assert case.open_tasks() == ["sanction_investigation"]
    assert services.calls == [("set_status", {"status": "investigating",
                                              "reason": "对违规线索立案调查核实：“包过”“保过”等虚假宣传",
                                              "article": ARTICLES["sanctions"]})]
    data = case.task("sanction_investigation").data
    assert data["prior_sanctions"] == prior and data["ground"]["code"] == "false_advertising"
    assert "suspend_filing" not in services.operators(), "an investigation alone does not suspend here"


def test_sanction_no_violation_is_dismissed_with_an_opinion(sanction: ParsedDefinition, services: Services) -> None:
    case = Case(sanction, services)
    case.complete("sanction_investigation", {"decision": "no_violation", "opinion": "经核查，举报不属实"})
    assert case.ended_at() == ["dismissed"] and case.workflow.is_completed()
    assert services.operators() == ["set_status", "issue_document", "set_status"]
    assert services.params_of("issue_document") == [{"kind": "verification_opinion", "opinion": "经核查，举报不属实",
                                                     "conclusion": "经调查核实，未发现违规行为，不予处理",
                                                     "article": ARTICLES["sanctions"]}]
    assert services.statuses() == ["investigating", "dismissed"]


def test_a_proposed_sanction_is_told_before_anyone_decides(sanction: ParsedDefinition, services: Services) -> None:
    """Jilin 第三十五条: the intended decision with its facts, reasons and basis, and a period for views; the
    investigator proposes, nothing is imposed yet."""
    case = Case(sanction, services)
    case.complete("sanction_investigation", {**SANCTION_WARNING, "certificate_data": "revoke",
                                             "certificate_data_detail": "超范围上传的证书12份"})
    assert services.operators() == TOLD and case.open_tasks() == []
    deadline = case.data()["statement_deadline"]
    assert (deadline["days"], deadline["due"]) == (REGION["statement_days"], SANCTION_NOTICE_DUE)
    assert services.params_of("issue_document") == [{
        "kind": "intended_decision", "measure": "warning", "facts": "招生简章宣称“包过”",
        "reasons": "经查，该机构在招生简章中宣称“包过”", "invalid_results": False, "rectification_days": 20,
        "certificate_data_detail": "超范围上传的证书12份", "statement_deadline": deadline,
        "article": ARTICLES["statement"]}]
    assert services.statuses() == ["investigating", "awaiting_statement"]
    assert case.due("statement_wait") == SANCTION_NOTICE_DUE
    assert not {"record_sanction", "suspend_filing", "revoke_certificates"} & set(services.operators())


def test_the_institutions_views_go_to_the_approver_who_may_drop_the_sanction(sanction: ParsedDefinition,
                                                                            services: Services) -> None:
    case = Case(sanction, services)
    case.complete("sanction_investigation", {"decision": "interview", "opinion": "情节轻微", "facts": "考场秩序混乱"})
    case.send("statement", SANCTION_STATEMENT)
    assert case.open_tasks() == ["decide_sanction"]
    assert case.task("decide_sanction").data["statement"] == SANCTION_STATEMENT
    case.complete("decide_sanction", {"decision": "drop", "reasons": "机构提供的监控录像证明考场秩序正常"})
    assert case.ended_at() == ["dropped"] and case.workflow.is_completed()
    assert services.operators() == [*TOLD, "issue_document", "set_status"]
    assert services.params_of("issue_document")[1] == {
        "kind": "verification_opinion", "opinion": "机构提供的监控录像证明考场秩序正常",
        "conclusion": "经审查机构的陈述和申辩意见，决定不予处理", "article": ARTICLES["statement"]}
    assert services.statuses()[-1] == "sanction_dropped"
    assert "record_sanction" not in services.operators()


def test_a_lapsed_notice_period_opens_the_decision_never_makes_it(sanction: ParsedDefinition,
                                                                 services: Services) -> None:
    case = Case(sanction, services)
    case.complete("sanction_investigation", {"decision": "interview", "opinion": "情节轻微", "facts": "考场秩序混乱"})
    case.at("2026-10-17T23:59:00+08:00")
    case.wake()
    assert case.open_tasks() == [] and "statement_wait" in case.waiting()
    case.at("2026-10-18T00:00:01+08:00")
    case.wake()
    assert case.open_tasks() == ["decide_sanction"] and services.operators() == TOLD
    assert "statement" not in case.task("decide_sanction").data


@pytest.mark.parametrize("invalid_results", [True, False, None])
def test_sanction_interview_is_archived_and_notified(sanction: ParsedDefinition, services: Services,
                                                     invalid_results: bool | None) -> None:
    form: dict[str, Any] = {"decision": "interview", "opinion": "情节轻微", "facts": "考场秩序混乱"}
    if invalid_results is not None:
        form["invalid_results"] = invalid_results
    case = _decided(sanction, services, form)
    invalid = bool(invalid_results)
    assert services.operators() == [*TOLD, "record_sanction", "issue_document", "set_status"]
    assert services.params_of("record_sanction") == [{"measure": "interview", "invalid_results": invalid,
                                                      "article": ARTICLES["violations_archive"]}]
    assert services.params_of("issue_document")[1] == {"kind": "interview_notice", "facts": "考场秩序混乱",
                                                       "invalid_results": invalid, "article": ARTICLES["sanctions"]}
    final = services.params_of("set_status")[-1]
    assert final["status"] == "sanctioned"
    assert ("评价结果无效" in final["reason"]) is invalid
    # Jilin 第三十六条: the institution may still state its case against the decision served; the case waits.
    assert case.ended_at() == [] and "review_request_wait" in case.waiting()
    due = case.due("review_request_wait")
    assert due == "2026-10-27T23:59:59+08:00"  # today + review_request_days (15) in the stand-in calendar
    case.at("2026-10-28T00:00:01+08:00")
    case.wake()
    assert case.ended_at() == ["sanctioned"] and case.workflow.is_completed()


@pytest.mark.parametrize(("decision", "end", "status"), [("uphold", "upheld", "sanctioned"),
                                                          ("revoke", "sanction_revoked", "sanction_revoked")])
def test_a_statement_against_an_interview_is_reviewed(sanction: ParsedDefinition, services: Services,
                                                      decision: str, end: str, status: str) -> None:
    case = _decided(sanction, services, {"decision": "interview", "opinion": "情节轻微", "facts": "考场秩序混乱"})
    case.at("2026-10-20T10:00:00+08:00")
    case.send("statement", {"text": "约谈所依据的事实有误", "submitted_on": "2026-10-20"})
    assert case.open_tasks() == ["statement_review"]
    assert case.task("statement_review").data["review_statement"]["text"] == "约谈所依据的事实有误"
    calls = len(services.calls)
    case.complete("statement_review", {"decision": decision, "opinion": "复核意见"})
    assert case.ended_at() == [end] and case.workflow.is_completed()
    assert services.calls[calls][0] == "issue_document"
    assert services.calls[calls][1] == {
        "kind": "review_decision", "measure": "interview", "decision": decision, "opinion": "复核意见",
        "invalid_results": False, "rectification_days": None, "certificate_data_detail": None,
        "article": ARTICLES["statement"]}
    assert services.statuses()[-1] == status
    assert ("revoke_sanction" in services.operators()) is (decision == "revoke")


def test_sanction_warning_suspends_and_waits_for_the_rectification(sanction: ParsedDefinition,
                                                                   services: Services) -> None:
    case = _warned(sanction, services)
    assert case.open_tasks() == []
    assert services.operators() == [*TOLD, "record_sanction", "suspend_filing", "issue_document", "set_status"]
    deadline = case.data()["rectification_deadline"]
    assert (deadline["start"], deadline["days"], deadline["due"]) == ("2026-10-12", 20, "2026-11-01T23:59:59+08:00")
    assert services.params_of("record_sanction") == [{"measure": "warning", "invalid_results": False,
                                                      "article": ARTICLES["violations_archive"]}]
    assert services.params_of("suspend_filing") == [{"reason": "予以警告、限期整改，整改期间暂停评价活动",
                                                     "article": ARTICLES["sanctions"]}]
    assert services.params_of("issue_document")[1] == {"kind": "warning_notice", "facts": "招生简章宣称“包过”",
                                                       "rectification_deadline": deadline,
                                                       "article": ARTICLES["sanctions"]}
    assert services.statuses() == ["investigating", "awaiting_statement", "rectifying"]
    assert case.waiting()["rectification_wait"].internal_data["event_value"] == "2026-11-01T23:59:59+08:00"


def test_a_statement_during_the_rectification_upheld_goes_back_to_the_rectification(sanction: ParsedDefinition,
                                                                                  services: Services) -> None:
    case = _warned(sanction, services)
    case.at("2026-10-15T10:00:00+08:00")
    case.send("statement", {"text": "警告过重", "submitted_on": "2026-10-15"})
    assert case.open_tasks() == ["statement_review"] and "rectification_wait" not in case.waiting()
    case.complete("statement_review", {"decision": "uphold", "opinion": "事实清楚，维持警告"})
    assert case.open_tasks() == [] and case.ended_at() == []
    assert case.due("rectification_wait") == "2026-11-01T23:59:59+08:00", "the same rectification period"
    assert services.statuses()[-1] == "rectifying"
    assert "lift_suspension" not in services.operators()
    case.send("rectification_done", {"summary": "已撤下全部宣传材料"})
    case.complete("rectification_check", {"result": "pass"})
    assert case.ended_at() == ["closed"]


def test_a_warning_revoked_on_review_ends_the_rectification(sanction: ParsedDefinition, services: Services) -> None:
    case = _warned(sanction, services)
    case.send("statement", {"text": "宣传材料系他人冒用"})
    case.complete("statement_review", {"decision": "revoke", "opinion": "经核实宣传材料系他人冒用"})
    assert case.ended_at() == ["sanction_revoked"] and case.workflow.is_completed()
    assert services.operators()[-3:] == ["issue_document", "revoke_sanction", "set_status"]
    assert services.params_of("revoke_sanction") == [{"reason": "经复核撤销处理决定：经核实宣传材料系他人冒用",
                                                      "article": ARTICLES["statement"]}]
    assert services.statuses()[-1] == "sanction_revoked"
    assert "rectification_wait" not in case.waiting()


def test_sanction_rectification_done_and_passed_lifts_the_suspension(sanction: ParsedDefinition,
                                                                     services: Services) -> None:
    case = _warned(sanction, services)
    case.at("2026-10-28T10:00:00+08:00")
    case.send("rectification_done", {"summary": "已撤下全部宣传材料并公开更正"})
    assert case.open_tasks() == ["rectification_check"]
    data = case.task("rectification_check").data
    assert data["rectification_done"] == {"summary": "已撤下全部宣传材料并公开更正"}
    assert "rectification_wait" not in case.waiting()

    case.at("2026-11-05T10:00:00+08:00")  # the check may end after the deadline: the timer went with the report
    case.wake()
    assert case.open_tasks() == ["rectification_check"] and "start_process" not in services.operators()
    case.complete("rectification_check", {"result": "pass"})
    assert case.ended_at() == ["closed"] and case.workflow.is_completed()
    assert services.params_of("lift_suspension") == [{"reason": "整改验收合格，解除暂停评价",
                                                      "article": ARTICLES["sanctions"]}]
    assert services.statuses() == ["investigating", "awaiting_statement", "rectifying", "closed"]
    assert "start_process" not in services.operators()


def test_sanction_rectification_failed_goes_to_ordered_termination(sanction: ParsedDefinition,
                                                                   services: Services) -> None:
    case = _warned(sanction, services)
    case.send("rectification_done", {"summary": "已整改"})
    case.complete("rectification_check", {"result": "fail", "opinion": "仍在网站宣称“包过”"})
    assert case.ended_at() == ["transferred"] and case.workflow.is_completed()
    assert services.params_of("start_process") == [{"process": "ordered_termination",
                                                    "ground": "rectification_failed",
                                                    "reason": "限期整改验收不合格：仍在网站宣称“包过”",
                                                    "article": ARTICLES["ordered_termination"]}]
    assert services.statuses() == ["investigating", "awaiting_statement", "rectifying", "transferred"]
    assert "lift_suspension" not in services.operators(), "the suspension is handed over, not lifted"


def test_sanction_rectification_overdue_goes_to_ordered_termination(sanction: ParsedDefinition,
                                                                    services: Services) -> None:
    case = _warned(sanction, services)
    case.at("2026-11-01T23:59:00+08:00")
    case.wake()
    assert case.ended_at() == [] and "rectification_wait" in case.waiting()

    case.at("2026-11-02T00:00:01+08:00")
    case.wake()
    assert case.ended_at() == ["transferred"] and case.workflow.is_completed()
    assert services.params_of("start_process") == [{"process": "ordered_termination",
                                                    "ground": "rectification_failed",
                                                    "reason": "整改期限届满，未报告整改完成",
                                                    "article": ARTICLES["ordered_termination"]}]
    assert services.statuses() == ["investigating", "awaiting_statement", "rectifying", "transferred"]

    with pytest.raises(WorkflowException):  # a report after the deadline finds nothing waiting for it
        case.send("rectification_done", {"summary": "迟交的整改报告"})
    assert services.operators().count("start_process") == 1


def test_sanction_late_report_is_refused_even_before_the_sweep(sanction: ParsedDefinition,
                                                               services: Services) -> None:
    """The report arrives after the deadline but before any wake-up: the step first fires the due timer, so the
    report is refused and the whole step rolls back; the next wake-up transfers the case."""
    case = _warned(sanction, services)
    case.at("2026-11-03T09:00:00+08:00")
    with pytest.raises(WorkflowException):
        case.send("rectification_done", {"summary": "迟交的整改报告"})
    assert "rectification_wait" in case.waiting() and "start_process" not in services.operators()
    case.wake()
    assert case.ended_at() == ["transferred"]


# ---------------------------------------------------------------------------------------- ordered termination paths


@pytest.fixture
def ordered() -> ParsedDefinition:
    return parsed("ordered_termination")


PROPOSAL = {"decision": "propose", "opinion": "经查，该机构超出备案职业开展评价",
            "facts": "2026年9月对未备案职业“电工”开展评价"}


def _proposed(definition: ParsedDefinition, services: Services) -> Case:
    case = Case(definition, services)
    case.complete("termination_investigation", PROPOSAL)
    return case


STATEMENT_DUE = "2026-10-17T23:59:59+08:00"  # today + region['statement_days'] (5) in the stand-in calendar


def test_ordered_termination_suspends_while_investigating(ordered: ParsedDefinition, services: Services) -> None:
    case = Case(ordered, services)
    assert case.open_tasks() == ["termination_investigation"]
    assert services.calls == [
        ("set_status", {"status": "investigating", "reason": "调查核实责令终止备案情形：超出备案范围开展评价工作",
                        "article": ARTICLES["ordered_termination"]}),
        ("suspend_filing", {"reason": "调查期间暂停报名及评价工作，暂缓证书数据审核上网",
                            "article": ARTICLES["suspension"]}),
    ]


def test_ordered_termination_dismissed_lifts_the_suspension(ordered: ParsedDefinition, services: Services) -> None:
    case = Case(ordered, services)
    case.complete("termination_investigation", {"decision": "dismiss", "opinion": "未发现超范围评价"})
    assert case.ended_at() == ["dismissed"] and case.workflow.is_completed()
    assert services.operators() == ["set_status", "suspend_filing", "issue_document", "lift_suspension",
                                    "set_status"]
    assert services.params_of("issue_document") == [{
        "kind": "verification_opinion", "opinion": "未发现超范围评价",
        "conclusion": "经调查核实，不存在责令终止备案情形，解除暂停", "article": ARTICLES["ordered_termination"]}]
    assert services.params_of("lift_suspension") == [{"reason": "经调查核实不存在责令终止备案情形，解除暂停",
                                                      "article": ARTICLES["suspension"]}]
    assert services.statuses() == ["investigating", "dismissed"]
    assert "terminate_filing" not in services.operators()


def test_ordered_termination_proposal_is_told_before_deciding(ordered: ParsedDefinition, services: Services) -> None:
    case = _proposed(ordered, services)
    assert case.open_tasks() == []
    assert services.operators() == ["set_status", "suspend_filing", "issue_document", "issue_document",
                                    "set_status"]
    opinion, intended = services.params_of("issue_document")
    assert opinion == {"kind": "verification_opinion", "opinion": PROPOSAL["opinion"],
                       "conclusion": "经调查核实，存在责令终止备案情形，拟作出责令终止备案决定",
                       "article": ARTICLES["ordered_termination"]}
    deadline = case.data()["statement_deadline"]
    assert (deadline["days"], deadline["due"]) == (REGION["statement_days"], STATEMENT_DUE)
    assert intended == {"kind": "intended_decision", "measure": "ordered_termination", "facts": PROPOSAL["facts"],
                        "reasons": PROPOSAL["opinion"], "statement_deadline": deadline,
                        "article": ARTICLES["statement"]}
    assert services.statuses() == ["investigating", "awaiting_statement"]
    assert case.waiting()["statement_wait"].internal_data["event_value"] == STATEMENT_DUE


@pytest.mark.parametrize("region_days", [5, 10])
def test_the_statement_period_is_the_regions_setting(ordered: ParsedDefinition, services: Services,
                                                     region_days: int) -> None:
    case = Case(ordered, services, region={**REGION, "statement_days": region_days})
    case.complete("termination_investigation", PROPOSAL)
    assert case.data()["statement_deadline"]["days"] == region_days


def _terminated(ordered: ParsedDefinition, services: Services) -> Case:
    """The 告知 period lapsed and the approver decided to terminate: the window for a statement against it is open."""
    case = _proposed(ordered, services)
    case.at("2026-10-18T00:00:01+08:00")
    case.wake()
    case.complete("decide_termination", {"decision": "terminate", "reasons": "超出备案范围开展评价，情节严重"})
    return case


def test_views_during_the_notice_go_to_the_person_who_decides(ordered: ParsedDefinition, services: Services) -> None:
    """Jilin 第三十五条: told before the decision; what the institution answers is put before the approver, who decides
    (there is no review before a decision exists)."""
    case = _proposed(ordered, services)
    case.at("2026-10-14T15:00:00+08:00")
    statement = {"text": "我方对“电工”的评价系受委托的培训考核，不属于职业技能等级评价", "submitted_on": "2026-10-14"}
    case.send("statement", statement)
    assert case.open_tasks() == ["decide_termination"]
    assert case.task("decide_termination").data["statement"] == statement
    assert "statement_wait" not in case.waiting() and "terminate_filing" not in services.operators()
    case.complete("decide_termination", {"decision": "terminate", "reasons": "申辩所称与考生档案记载不符"})
    assert services.params_of("terminate_filing") == [{
        "kind": "ordered", "reason": "经调查核实存在责令终止备案情形（超出备案范围开展评价工作），责令终止备案",
        "article": ARTICLES["ordered_termination"]}]
    assert services.statuses() == ["investigating", "awaiting_statement", "terminated"]
    assert "review_request_wait" in case.waiting(), "the institution may now state its case against the decision"


def test_a_statement_against_the_termination_is_reviewed_and_may_be_upheld(ordered: ParsedDefinition,
                                                                          services: Services) -> None:
    """Jilin 第三十六条: 对处理决定存在异议的机构，可以…进行陈述和申辩。经复核后，作出复核决定."""
    case = _terminated(ordered, services)
    deadline = case.data()["review_request_deadline"]
    assert deadline["days"] == REGION.get("review_request_days", REGION["statement_days"])
    case.at("2026-10-20T10:00:00+08:00")
    statement = {"text": "终止决定认定的事实有误", "submitted_on": "2026-10-20"}
    case.send("statement", statement)
    assert case.open_tasks() == ["statement_review"]
    assert case.task("statement_review").data["review_statement"] == statement
    case.complete("statement_review", {"decision": "uphold", "opinion": "经复核，评价记录显示颁发了职业技能等级证书"})
    assert case.ended_at() == ["terminated"] and case.workflow.is_completed()
    assert services.params_of("issue_document")[-1] == {
        "kind": "review_decision", "measure": "ordered_termination", "decision": "uphold",
        "opinion": "经复核，评价记录显示颁发了职业技能等级证书", "article": ARTICLES["statement"]}
    assert services.statuses() == ["investigating", "awaiting_statement", "terminated", "statement_review",
                                   "terminated"]
    assert services.operators().count("terminate_filing") == 1 and "reinstate_filing" not in services.operators()


def test_a_review_that_revokes_the_termination_reinstates_the_filing(ordered: ParsedDefinition,
                                                                     services: Services) -> None:
    case = _terminated(ordered, services)
    case.send("statement", {"text": "所涉评价为企业内部培训考核"})
    case.complete("statement_review", {"decision": "revoke", "opinion": "申辩理由成立"})
    assert case.ended_at() == ["reinstated"] and case.workflow.is_completed()
    assert services.params_of("issue_document")[-1]["decision"] == "revoke"
    assert services.params_of("reinstate_filing") == [{
        "reason": "经复核撤销责令终止备案决定：申辩理由成立", "article": ARTICLES["statement"]}]
    assert services.statuses()[-2:] == ["statement_review", "revoked"]


def test_a_lapsed_statement_period_opens_the_decision_never_makes_it(ordered: ParsedDefinition,
                                                                   services: Services) -> None:
    case = _proposed(ordered, services)
    case.at("2026-10-17T23:59:00+08:00")
    case.wake()
    assert case.ended_at() == [] and "terminate_filing" not in services.operators()

    case.at("2026-10-18T00:00:01+08:00")
    case.wake()
    assert case.open_tasks() == ["decide_termination"], "the timer opens the decision for a person"
    assert case.ended_at() == [] and "terminate_filing" not in services.operators()
    case.complete("decide_termination", {"decision": "terminate", "reasons": "超出备案范围开展评价，情节严重"})
    assert services.params_of("terminate_filing")[0]["kind"] == "ordered"
    assert case.ended_at() == [], "the window for a statement against the decision is open"
    due = case.data()["review_request_deadline"]["due"]
    case.at((datetime.fromisoformat(due) + timedelta(seconds=1)).isoformat())
    case.wake()
    assert case.ended_at() == ["terminated"] and case.workflow.is_completed()
    assert services.statuses() == ["investigating", "awaiting_statement", "terminated"]
    assert "review_decision" not in services.documents()


def test_the_decision_may_drop_the_termination(ordered: ParsedDefinition, services: Services) -> None:
    case = _proposed(ordered, services)
    case.at("2026-10-18T00:00:01+08:00")
    case.wake()
    case.complete("decide_termination", {"decision": "drop", "reasons": "违规情节轻微，已自行纠正"})
    assert case.ended_at() == ["revoked"] and "terminate_filing" not in services.operators()
    assert services.params_of("lift_suspension")[0]["reason"] == "决定不予责令终止备案，解除暂停"
    assert services.statuses()[-1] == "dropped"


def test_a_statement_after_the_notice_period_waits_for_the_decision(ordered: ParsedDefinition,
                                                                    services: Services) -> None:
    case = _proposed(ordered, services)
    case.at("2026-10-19T09:00:00+08:00")
    with pytest.raises(WorkflowException):  # the period ended first: nothing waits for a statement until decided
        case.send("statement", {"text": "迟交的陈述申辩"})
    assert "statement_wait" in case.waiting(), "the refused step changed nothing"
    assert "terminate_filing" not in services.operators()

    case.wake()
    assert case.open_tasks() == ["decide_termination"]
    with pytest.raises(WorkflowException):
        case.send("statement", {"text": "再次提交"})
    case.complete("decide_termination", {"decision": "terminate", "reasons": "逾期未陈述申辩，事实清楚"})
    assert services.operators().count("terminate_filing") == 1


# ---------------------------------------------------------------------------------------- automatic termination paths


@pytest.fixture
def automatic() -> ParsedDefinition:
    return parsed("automatic_termination")


def test_automatic_termination_terminates_once_confirmed(automatic: ParsedDefinition, services: Services) -> None:
    case = Case(automatic, services)
    assert case.open_tasks() == ["automatic_verification"]
    assert services.params_of("suspend_filing") == [{"reason": "调查期间暂停报名及评价工作，暂缓证书数据审核上网",
                                                     "article": ARTICLES["suspension"]}]
    case.complete("automatic_verification", {"decision": "terminate", "opinion": "经查询，该公司已于2026年9月注销"})
    assert case.ended_at() == ["terminated"] and case.workflow.is_completed()
    assert services.operators() == ["set_status", "suspend_filing", "issue_document", "terminate_filing",
                                    "set_status"]
    assert services.params_of("issue_document") == [{
        "kind": "verification_opinion", "opinion": "经查询，该公司已于2026年9月注销",
        "conclusion": "经调查核实，符合自动终止备案情形，予以终止备案", "article": ARTICLES["automatic_termination"]}]
    assert services.params_of("terminate_filing") == [{
        "kind": "automatic",
        "reason": f"经调查核实符合自动终止备案情形（{GROUNDS['automatic_termination']['label']}），自动终止备案",
        "article": ARTICLES["automatic_termination"]}]
    assert services.statuses() == ["investigating", "terminated"]


def test_automatic_termination_not_confirmed_lifts_the_suspension(automatic: ParsedDefinition,
                                                                  services: Services) -> None:
    case = Case(automatic, services)
    case.complete("automatic_verification", {"decision": "lift", "opinion": "经核实，该公司仍正常存续"})
    assert case.ended_at() == ["lifted"] and case.workflow.is_completed()
    assert services.params_of("lift_suspension") == [{"reason": "经调查核实不符合自动终止备案情形，解除暂停",
                                                      "article": ARTICLES["suspension"]}]
    assert services.statuses() == ["investigating", "lifted"]
    assert "terminate_filing" not in services.operators()


def test_automatic_termination_receives_no_messages(automatic: ParsedDefinition, services: Services) -> None:
    case = Case(automatic, services)
    with pytest.raises(WorkflowException):
        case.step(lambda: case.workflow.send_event(BpmnEvent(MessageEventDefinition("statement"), {"text": "x"})))
    assert case.open_tasks() == ["automatic_verification"]


@pytest.mark.parametrize(("process", "form", "values"), [
    ("sanction", "sanction_investigation", {"decision": "maybe", "opinion": "x"}),
    ("ordered_termination", "termination_investigation", {"decision": "maybe", "opinion": "x"}),
    ("automatic_termination", "automatic_verification", {"decision": "maybe", "opinion": "x"}),
])
def test_an_unknown_decision_fails_loudly(services: Services, process: str, form: str,
                                          values: dict[str, Any]) -> None:
    """The conditions are exhaustive over the form's values and there is no default: a value the form would refuse
    stops the engine instead of picking a branch, and the step changes nothing."""
    case = Case(parsed(process), services)
    calls = list(services.calls)

    def fill() -> None:
        task = case.task(form)
        task.data[form] = values
        task.run()

    with pytest.raises(WorkflowException):
        case.step(fill)
    assert case.open_tasks() == [form] and services.calls == calls


def test_sanction_correct_now_asks_for_an_immediate_correction_and_archives_nothing(
        sanction: ParsedDefinition, services: Services) -> None:
    """Shanghai 三（四）2: not yet a violation — 即知即改、立行立改, no measure, nothing in the violations archive."""
    case = Case(sanction, services)
    case.complete("sanction_investigation", {"decision": "correct_now", "opinion": "尚未构成违纪违规",
                                             "facts": "考场公告张贴位置不显著"})
    assert case.ended_at() == ["corrected_now"]
    assert services.operators() == ["set_status", "issue_document", "set_status"]
    assert services.params_of("issue_document") == [{"kind": "correct_now_notice", "facts": "考场公告张贴位置不显著",
                                                     "article": ARTICLES["sanctions"]}]
    assert services.statuses() == ["investigating", "closed"]


def test_certificate_data_is_revoked_once_decided_and_the_especially_serious_go_to_termination(
        sanction: ParsedDefinition, services: Services) -> None:
    case = _decided(sanction, services, {"decision": "interview", "opinion": "情节较轻", "facts": "超范围上传",
                                         "certificate_data": "revoke", "certificate_data_detail": "证书12份"})
    assert services.operators()[len(TOLD):] == ["revoke_certificates", "record_sanction", "issue_document",
                                                "set_status"]
    assert services.params_of("revoke_certificates") == [{"detail": "证书12份", "article": ARTICLES["sanctions"]}]
    assert "review_request_wait" in case.waiting()

    serious = Services()
    case = Case(sanction, serious)
    case.complete("sanction_investigation", {"decision": "terminate", "opinion": "情节特别严重", "facts": "有组织舞弊"})
    assert case.ended_at() == ["transferred_serious"]
    assert serious.operators() == ["set_status", "start_process", "set_status"], "its own procedure tells first"
    [started] = serious.params_of("start_process")
    assert (started["process"], started["ground"]) == ("ordered_termination", "especially_serious")
    assert started["reason"] == "经调查核实存在特别严重违纪违规情形：有组织舞弊"
