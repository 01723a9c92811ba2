"""Driving a bundled BPMN process in memory, without a database, for the diagram tests (test_*_bpmn*.py).

The paths run on the project's own engine pieces: the definition is read and parsed by `workflows.definitions`,
expressions run in `workflows.expressions`' restricted environment, SpiffWorkflow's timers read `workflows.clock`, and
each step ends with the `workflows.state` round trip the engine stores. Only the domain side is replaced: expression
functions that count calendar days (the working-day calendar is tested elsewhere) and service operators that check
their parameters, record each call with the virtual time it ran at and answer with a canned result of the shape the
real operator returns.

Also here: reading the files (`parsed`, `bpmn_doc`), the XML helpers the structural tests share, and the operator
table of the lifecycle design (issue 3) that the lifecycle diagrams are held to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from tasks.forms import schema_problems
from workflows import clock
from workflows.definitions import ParsedDefinition, parse_definition, read_source
from workflows.engine import run_to_wait
from workflows.expressions import script_engine
from workflows.state import dump_state, load_state

clock.install_into_spiff()  # idempotent; done by workflows.engine too, but say it where the timers depend on it

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
FORMS_DIR = BPMN_DIR / "forms"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

# ---------------------------------------------------------------------------------------- the files


@cache
def parsed(process_id: str) -> ParsedDefinition:
    """bpmn/<process_id>.bpmn with its forms, read and parsed once per test run."""
    source = read_source(BPMN_DIR / f"{process_id}.bpmn")
    return parse_definition(source.process_id, source.bpmn_xml, source.file_name, source.forms)


def bpmn_doc(process_id: str) -> etree._ElementTree:
    return etree.parse(str(BPMN_DIR / f"{process_id}.bpmn"))


def read_form(name: str) -> dict[str, Any]:
    """bpmn/forms/<name>.schema.json (a user task's form, or `<message>.message` for a message's payload)."""
    return json.loads((FORMS_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def process_of(doc: etree._ElementTree) -> etree._Element:
    """The file's process (each bundled file holds exactly one; the tests check that)."""
    return doc.find("bpmn:process", NS)


def flow_nodes(doc: etree._ElementTree) -> list[etree._Element]:
    return [e for e in process_of(doc) if isinstance(e.tag, str)
            and local(e) not in {"laneSet", "sequenceFlow", "documentation", "extensionElements"}]


def sequence_flows(doc: etree._ElementTree) -> list[etree._Element]:
    return process_of(doc).findall("bpmn:sequenceFlow", NS)


def chinese(text: str | None) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text or "")


def service_operators(doc: etree._ElementTree) -> Iterator[tuple[str, str, dict[str, str], str | None]]:
    """(task id, operator, {parameter: expression}, resultVariable) for every service task."""
    for task in process_of(doc).findall("bpmn:serviceTask", NS):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        assert operator is not None, task.get("id")
        params = {p.get("id"): p.get("value")
                  for p in operator.findall("spiffworkflow:parameters/spiffworkflow:parameter", NS)}
        yield task.get("id"), operator.get("id"), params, operator.get("resultVariable")


def expressions(doc: etree._ElementTree) -> Iterator[tuple[str, str, str]]:
    """(where, source, mode) for every piece of Python in the process."""
    process = process_of(doc)
    for flow in sequence_flows(doc):
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None:
            yield flow.get("id"), condition.text, "eval"
    for timer in process.iter(f"{{{NS['bpmn']}}}timeDate"):
        yield "timeDate", timer.text, "eval"
    for script in process.iter(f"{{{NS['bpmn']}}}script"):
        yield "script", script.text, "exec"
    for param in process.iter(f"{{{NS['spiffworkflow']}}}parameter"):
        yield f"parameter {param.get('id')}", param.get("value"), "eval"


# ---------------------------------------------------------------------------------------- the drawing

Box = tuple[float, float, float, float]  # x, y, width, height


def bounds(element: etree._Element) -> Box:
    b = element.find("dc:Bounds", NS)
    return float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height"))


def shape_boxes(doc: etree._ElementTree) -> dict[str, Box]:
    return {s.get("bpmnElement"): bounds(s) for s in doc.iterfind(".//bpmndi:BPMNShape", NS)}


def inside(point: tuple[float, float], box: Box, slack: float = 1.0) -> bool:
    x, y, w, h = box
    return x - slack <= point[0] <= x + w + slack and y - slack <= point[1] <= y + h + slack


def overlap(a: Box, b: Box) -> bool:
    """The interiors meet (touching edges do not count)."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def apart(a: Box, b: Box) -> bool:
    return not overlap(a, b)


def waypoints(edge: etree._Element) -> list[tuple[float, float]]:
    return [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]


# ---------------------------------------------------------------------------------------- expression functions


def day_of(start: str) -> date:
    """The calendar day a deadline counts from: a date as given, an instant's day in China (as the engine reads it)."""
    if len(start) == 10:
        return date.fromisoformat(start)
    instant = datetime.fromisoformat(start)
    assert instant.tzinfo is not None, f"start without offset: {start}"
    return instant.astimezone(clock.SHANGHAI).date()


def _deadline(rule: str, start: str, days: int, last_day: date) -> dict[str, Any]:
    return {"due": f"{last_day.isoformat()}T23:59:59+08:00", "provisional": False, "start": start, "days": days,
            "rule": rule}


def within_working_days(start: str, days: int) -> dict[str, Any]:
    """n calendar days after the start, ending with the end of the last day: a stand-in the tests can count, and
    one where a restarted clock shows."""
    return _deadline("within_working_days", start, int(days), day_of(start) + timedelta(days=int(days)))


def publicity_period(start: str, days: int) -> dict[str, Any]:
    """n calendar days, the start day the first of them."""
    return _deadline("publicity_period", start, int(days), day_of(start) + timedelta(days=int(days) - 1))


def start_of_day(day: str) -> str:
    return datetime.combine(date.fromisoformat(day[:10]), time(0), tzinfo=clock.SHANGHAI).isoformat()


# The expression functions the engine provides (workflows.operators.expression_functions), with the same names,
# answering from the project's clock.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "within_working_days": within_working_days,
    "publicity_period": publicity_period,
    "today": lambda: clock.today_in_shanghai().isoformat(),
    "now": lambda: clock.now().astimezone(clock.SHANGHAI).isoformat(),
    "start_of_day": start_of_day,
    "acceptance_clock_start": lambda received_at: received_at,  # continuous intake: the clock starts on receipt
}

# ---------------------------------------------------------------------------------------- the lifecycle design

# The operators of the lifecycle design (issue 3): name -> (parameters a diagram must pass, parameters it may pass).
# Every call cites an article.
DESIGN_OPERATORS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "set_status": (frozenset({"status", "reason", "article"}), frozenset()),
    "filing_status": (frozenset({"status", "reason", "article"}), frozenset()),
    "suspend_filing": (frozenset({"reason", "article"}), frozenset()),
    "lift_suspension": (frozenset({"reason", "article"}), frozenset()),
    "issue_document": (frozenset({"kind", "article"}), frozenset()),  # + the fields of its kind, below
    "record_sanction": (frozenset({"measure", "article"}), frozenset({"invalid_results"})),
    "apply_change": (frozenset({"article"}), frozenset({"opinion"})),
    "renew_filing": (frozenset({"article"}), frozenset({"opinion", "simplified"})),
    "terminate_filing": (frozenset({"kind", "reason", "article"}), frozenset()),
    "start_process": (frozenset({"process", "ground", "reason", "article"}), frozenset()),
    "escalate": (frozenset({"reason", "article"}), frozenset()),
    "revoke_certificates": (frozenset({"detail", "article"}), frozenset()),
    "reinstate_filing": (frozenset({"reason", "article"}), frozenset()),
    "revoke_sanction": (frozenset({"reason", "article"}), frozenset()),
}
DOCUMENT_FIELDS: dict[str, frozenset[str]] = {
    "renewal_reminder": frozenset({"reminder"}),
    "renewal_refusal": frozenset({"reasons"}),
    "verification_opinion": frozenset({"opinion", "conclusion"}),
    "intended_decision": frozenset({"measure", "facts", "reasons", "statement_deadline"}),
    "review_decision": frozenset({"measure", "decision", "opinion"}),
    "interview_notice": frozenset({"facts", "invalid_results"}),
    "warning_notice": frozenset({"facts", "rectification_deadline"}),
    "wrapup_notice": frozenset({"wrapup_deadline", "opinion"}),
    "correct_now_notice": frozenset({"facts"}),
    "change_decision": frozenset({"approved", "reasons"}),
}
# What a decision's notice and review decision may also say of a sanction (the measure's particulars).
DOCUMENT_OPTIONAL: dict[str, frozenset[str]] = {
    "intended_decision": frozenset({"invalid_results", "rectification_days", "certificate_data_detail"}),
    "review_decision": frozenset({"invalid_results", "rectification_days", "certificate_data_detail"}),
}
CASE_STATUSES = {
    "monitoring", "renewal_review", "renewed", "renewal_refused", "change_review", "change_approved",
    "change_refused", "investigating", "rectifying", "awaiting_statement", "statement_review", "risk_assessment",
    "winding_up", "terminated", "dismissed", "revoked", "lifted", "sanctioned", "transferred", "closed", "dropped",
    "sanction_dropped", "sanction_revoked",
}
FILING_STATUSES = {"filed", "renewal_window", "renewal_review", "winding_up"}
PROCESSES_STARTED = {"renewal", "automatic_termination", "ordered_termination"}


def text_problems(params: dict[str, Any]) -> list[str]:
    """Citations, reasons and reasons given must be text that says something; an opinion may be empty, but text."""
    return [f"{name} must be text: {params[name]!r}" for name in ("article", "reason", "reasons", "opinion")
            if name in params and not (isinstance(params[name], str) and (params[name].strip() or name == "opinion"))]


def design_problems(operator: str, params: dict[str, Any]) -> list[str]:
    """Why a call does not fit the lifecycle design's operator table (none when it fits)."""
    if operator not in DESIGN_OPERATORS:
        return [f"{operator} is not an operator of the design"]
    required, optional = DESIGN_OPERATORS[operator]
    if operator == "issue_document":
        required = required | DOCUMENT_FIELDS.get(params.get("kind"), frozenset({"<unknown kind>"}))
        optional = optional | DOCUMENT_OPTIONAL.get(params.get("kind"), frozenset())
    problems = [f"missing {name}" for name in sorted(required - set(params))]
    problems += [f"unexpected {name}" for name in sorted(set(params) - required - optional)]
    problems += text_problems(params)
    if not str(params.get("article", "")).strip():
        problems.append("no article cited")
    status = params.get("status")
    if operator == "set_status" and status not in CASE_STATUSES:
        problems.append(f"unknown case status {status!r}")
    if operator == "filing_status" and status not in FILING_STATUSES:
        problems.append(f"unknown filing status {status!r}")
    if operator == "start_process" and params.get("process") not in PROCESSES_STARTED:
        problems.append(f"unknown process {params.get('process')!r}")
    return problems


def design_problem(operator: str, params: dict[str, Any]) -> str | None:
    """`design_problems` in one line, or None when the call fits."""
    return "; ".join(design_problems(operator, params)) or None


# ---------------------------------------------------------------------------------------- service operators

CallCheck = Callable[[str, dict[str, Any]], list[str]]


class Call(tuple[str, dict[str, Any]]):
    """One recorded operator call. It is the pair (operator, params), so a test can compare calls with plain pairs;
    `at`, the virtual time it ran at, rides along outside that comparison."""

    at: datetime

    def __new__(cls, operator: str, params: dict[str, Any], at: datetime) -> Call:
        call = super().__new__(cls, (operator, params))
        call.at = at
        return call

    @property
    def operator(self) -> str:
        return self[0]

    @property
    def params(self) -> dict[str, Any]:
        return self[1]


def _answer(operator: str, params: dict[str, Any], data: dict[str, Any], n: int, precheck: dict[str, Any]) -> Any:
    """A canned result of the shape workflows.operators' operator returns; n numbers the call (document ids)."""
    match operator:
        case "run_prechecks":
            return precheck
        case "issue_notice":
            return {"document_id": n, "reasons": str(params.get("reasons", ""))}
        case "issue_document" | "suspend_filing" | "lift_suspension":
            return {"document_id": n}
        case "issue_filing":
            return {"filing_number": "川技评备〔2026〕0001号", "valid_from": "2026-09-30", "valid_until": "2029-09-29",
                    "document_id": n}
        case "record_national_filing":
            return {"national_number": params["reply"]["national_number"],
                    "acknowledged_on": params["reply"]["acknowledged_on"]}
        case "report_national_filing":
            return {"resubmitted": True}
        case "renew_filing":
            return {"valid_until": "2032-09-30"}
        case "notify_objector":
            return {"told": bool(params["objection"].get("contact"))}
        case "terminate_filing":
            return {"terminated": [data["filing"]["number"]]}
        case "revoke_certificates":
            return {"document_id": n}
        case "reinstate_filing":
            return {"reinstated": [data["filing"]["number"]]}
        case "revoke_sanction":
            return {"revoked": ["warning"]}
        case ("set_status" | "filing_status" | "escalate" | "publish_publicity" | "record_sanction" | "apply_change"
              | "start_process"):
            return {}
    raise AssertionError(f"no canned result for {operator}")


class Services:
    """The service-call hook of the restricted environment: checks each call (`check`, the lifecycle design's table
    unless told otherwise), records it with the virtual time it ran at and answers with a canned result.
    `precheck` is what run_prechecks answers (passed, unless told otherwise)."""

    def __init__(self, check: CallCheck = design_problems, *, precheck: dict[str, Any] | None = None) -> None:
        self.check = check
        self.precheck = precheck or {"passed": True, "failures": []}
        self.calls: list[Call] = []

    def __call__(self, operator: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
        problems = self.check(operator, params)
        assert not problems, (operator, params, problems)
        self.calls.append(Call(operator, params, clock.now()))
        return _answer(operator, params, data, len(self.calls), self.precheck)

    def operators(self) -> list[str]:
        return [c.operator for c in self.calls]

    def params_of(self, operator: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.operator == operator]

    def statuses(self) -> list[str]:
        return [p["status"] for p in self.params_of("set_status")]

    def documents(self) -> list[str]:
        return [p["kind"] for p in self.params_of("issue_document")]


# ---------------------------------------------------------------------------------------- a case


class BpmnCase:
    """One instance, driven like `workflows.engine.run_step` drives it: each step runs at the case's virtual `now`,
    wakes due timers, applies the event, runs to the next wait and goes through the stored state. A step that fails
    leaves the case (and the recorded operator calls) as they were, as the rolled-back transaction does.

    `data` is the start data; `ends` are the end events `ended_at` reports."""

    def __init__(self, definition: ParsedDefinition, services: Services, data: dict[str, Any], *, start: datetime,
                 ends: Collection[str]) -> None:
        self.definition = definition
        self.services = services
        self.ends = frozenset(ends)
        self.now = start
        self.engine = script_engine(FUNCTIONS, services)
        self.workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=self.engine)
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        self.wake()

    def at(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso)

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def _restore(self, state: str) -> BpmnWorkflow:
        workflow = load_state(state, self.definition.spec, self.definition.subprocess_specs)
        workflow.script_engine = self.engine
        return workflow

    def step(self, event: Callable[[], None] | None = None) -> None:
        before, calls = dump_state(self.workflow).text, len(self.services.calls)
        try:
            with clock.using_clock(clock.VirtualClock(self.now)):
                assert run_to_wait(self.workflow) is not None, "engine did not settle"
                if event is not None:
                    event()
                    assert run_to_wait(self.workflow) is not None, "engine did not settle"
        except Exception:
            self.workflow = self._restore(before)
            del self.services.calls[calls:]
            raise
        # The engine stores the state between steps; the round trip must not lose anything.
        self.workflow = self._restore(dump_state(self.workflow).text)

    def wake(self) -> None:
        self.step()

    def fill(self, bpmn_id: str, form: dict[str, Any]) -> None:
        """What the engine's CompleteTask does once the form has passed its schema."""
        task = self.task(bpmn_id)
        task.data[bpmn_id] = form  # the engine's convention: form data under the task's id
        task.run()

    def complete(self, bpmn_id: str, form: dict[str, Any]) -> None:
        assert not schema_problems(self.definition.form_schema(bpmn_id), form), form
        self.step(lambda: self.fill(bpmn_id, form))

    def send(self, message: str, payload: dict[str, Any]) -> None:
        assert not schema_problems(self.definition.message_schema(message), payload), payload
        self.step(lambda: self.workflow.send_event(BpmnEvent(MessageEventDefinition(message), payload)))

    def open_tasks(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in self.workflow.get_tasks(state=TaskState.READY, manual=True))

    def task(self, bpmn_id: str) -> Task:
        tasks = [t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
                 if t.task_spec.bpmn_id == bpmn_id]
        assert len(tasks) == 1, f"expected one open {bpmn_id}, open: {self.open_tasks()}"
        return tasks[0]

    def waiting(self) -> dict[str, Task]:
        return {t.task_spec.bpmn_id: t for t in self.workflow.get_tasks(state=TaskState.WAITING)
                if t.task_spec.bpmn_id}

    def due(self, bpmn_id: str) -> str:
        """When the waiting timer (or event-based gateway) `bpmn_id` fires."""
        return self.waiting()[bpmn_id].internal_data["event_value"]

    def ended_at(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
                      if t.task_spec.bpmn_id in self.ends)

    def data(self) -> dict[str, Any]:
        return self.workflow.last_task.data if self.workflow.last_task is not None else {}
