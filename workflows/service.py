"""The service layer: what a user can do, each in one unit of work. The CLI, the web app and the Prefect flows
all call these and nothing below them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

import workflows.operators  # noqa: F401  (registers the expression functions and service operators)
from adapters.db import (
    AuditEvent,
    CalendarYear,
    HumanTask,
    Instance,
    ProcessDefinition,
    Timer,
    make_engine,
    make_session_factory,
)
from adapters.repository import UnitOfWork
from adapters.schema import upgrade
from tasks.application import ApplicationError, validate_application
from tasks.calendar import SHANGHAI, ArrangementError, Deadline, arrangement_to_dict, parse_arrangement
from tasks.forms import schema_problems
from tasks.regions import profile_for_region
from workflows import clock
from workflows.definitions import DefinitionSource, bundled_sources
from workflows.engine import StepContext, Wake, definition_of, load_calendar, run_step, start_instance
from workflows.errors import IllegalEvent, InvalidInput, NotFound, StepFailed
from workflows.operators import STATUSES

FILING_PROCESS = "filing_application"

# External messages a case can receive, with the Chinese name people see.
MESSAGES: dict[str, str] = {
    "resubmission": "补正材料重新提交",
    "objection": "公示期异议",
}


@dataclass(frozen=True)
class CompleteTask:
    task_id: str
    data: dict[str, Any]

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        task = workflow.get_task_from_id(UUID(self.task_id))
        if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
            raise IllegalEvent("该待办已不再有效（可能已被他人办理，或因期限届满被取消），未作任何更改")
        info = ctx.definition.user_tasks[task.task_spec.bpmn_id]
        schema = ctx.definition.form_schema(info.bpmn_id)
        if schema is not None:
            problems = schema_problems(schema, self.data)
            if problems:
                raise InvalidInput(f"{info.name}表单填写有误：" + "；".join(problems), problems=problems)
        task.data[info.bpmn_id] = self.data
        task.run()
        ctx.audit("task_completed", f"办结：{info.name}" + _summary(self.data), article=info.article,
                  task_id=self.task_id, bpmn_id=info.bpmn_id, data=self.data)


def _summary(data: dict[str, Any]) -> str:
    labels = {"accept": "受理", "reject": "不予受理", "supplement": "一次性告知补正", "pass": "通过", "fail": "不通过"}
    for key in ("decision", "result"):
        if key in data:
            return f"（{labels.get(data[key], data[key])}）"
    if "upheld" in data:
        return "（异议成立）" if data["upheld"] else "（异议不成立）"
    return ""


@dataclass(frozen=True)
class SendMessage:
    name: str
    payload: dict[str, Any]

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        label = MESSAGES.get(self.name, self.name)
        if self.name not in ctx.definition.messages:
            raise IllegalEvent(f"案件 {ctx.case_id} 的流程不接收“{label}”消息")
        schema = ctx.definition.message_schema(self.name)
        if schema is not None:
            problems = schema_problems(schema, self.payload)
            if problems:
                raise InvalidInput(f"“{label}”消息内容有误：" + "；".join(problems), problems=problems)
        try:
            workflow.send_event(BpmnEvent(MessageEventDefinition(self.name), self.payload))
        except WorkflowException:
            status = STATUSES.get(ctx.instance.status, ctx.instance.status)
            raise IllegalEvent(f"案件 {ctx.case_id} 当前不在等待“{label}”（状态：{status}），未作任何更改") from None
        ctx.audit("message_received", f"收到：{label}", message=self.name, payload=self.payload)


@dataclass(frozen=True)
class RecomputeDeadlines:
    """Recompute every provisional deadline of the case with the calendar as it now stands, and re-arm timers."""

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        changed: dict[str, dict[str, Any]] = {}
        tasks = workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)
        for task in tasks:
            for value in task.data.values():
                if _is_deadline(value) and value.get("provisional") and value["due"] not in changed:
                    changed[value["due"]] = ctx.calendar.recompute(Deadline.from_dict(value)).to_dict()
        if not changed:
            return
        # Rewrite the deadline in every task of the tree, finished ones included: SpiffWorkflow re-merges a
        # waiting task's data from its parent, which would otherwise bring the old deadline back.
        for task in workflow.get_tasks():
            for key, value in list(task.data.items()):
                if _is_deadline(value) and value["due"] in changed:
                    task.data[key] = changed[value["due"]]
            event_value = task.internal_data.get("event_value")
            if isinstance(event_value, str) and event_value in changed:
                task.internal_data["event_value"] = changed[event_value]["due"]
                task.internal_data["event_fired"] = False
        for old_due, new in changed.items():
            ctx.audit("deadline_recomputed",
                      f"节假日安排已载入，重新计算暂定期限：{old_due[:10]} → {new['due'][:10]}"
                      + ("" if new["provisional"] else "（已确定）"),
                      old_due=old_due, deadline=new)


def _is_deadline(value: Any) -> bool:
    return isinstance(value, dict) and "due" in value and "rule" in value and "days" in value


class Beian:
    """The application, bound to one database."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        self._sessions = make_session_factory(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)

    def close(self) -> None:
        self.engine.dispose()

    # --- set-up ------------------------------------------------------------------------------------------
    def init(self, actor: str = "system") -> list[dict[str, Any]]:
        """Create or upgrade the schema and deploy every bundled BPMN file whose content changed."""
        upgrade(self.engine)
        return [self.deploy(source, actor) for source in bundled_sources()]

    def deploy(self, source: DefinitionSource, actor: str) -> dict[str, Any]:
        with self.uow() as uow:
            latest = uow.repo.latest_definition(source.process_id)
            if latest is not None and latest.sha256 == source.sha256:
                return {"process": source.process_id, "version": latest.version, "deployed": False}
            version = (latest.version + 1) if latest else 1
            row = ProcessDefinition(process_id=source.process_id, version=version, name=source.name,
                                    file_name=source.file_name, bpmn_xml=source.bpmn_xml, forms=source.forms,
                                    sha256=source.sha256, deployed_at=clock.now(), deployed_by=actor)
            uow.repo.add(row)
            uow.session.flush()
            definition_of(uow, row.id)  # refuse to deploy what does not parse
            _audit_system(uow, actor, "definition_deployed",
                          f"部署流程 {source.process_id} 第 {version} 版（{source.file_name}）",
                          process=source.process_id, version=version, sha256=source.sha256)
            uow.commit()
            return {"process": source.process_id, "version": version, "deployed": True}

    # --- intake ------------------------------------------------------------------------------------------
    def apply(self, application: object, received_at: datetime | None = None,
              actor: str = "applicant") -> dict[str, Any]:
        try:
            normalised = validate_application(application)
        except ApplicationError as exc:
            raise InvalidInput(f"申请材料不符合要求：{'；'.join(exc.problems)}", problems=exc.problems) from None
        now = clock.now()
        received = received_at or now
        profile = profile_for_region(normalised["region"])
        with self.uow() as uow:
            definition = uow.repo.latest_definition(FILING_PROCESS)
            if definition is None:
                raise NotFound("尚未部署备案申请流程，请先运行 beian init")
            year = received.astimezone(SHANGHAI).year
            case_id = f"BA{year}-{uow.repo.next_value(f'case:{year}'):05d}"
            institution = normalised["institution"]
            instance = Instance(
                case_id=case_id, process_id=FILING_PROCESS, definition_id=definition.id, state="",
                status="applied", status_reason=STATUSES["applied"], status_article=profile.article("acceptance"),
                status_since=now, institution_name=institution["name"], credit_code=institution["credit_code"],
                region=normalised["region"], authority_level=normalised["authority_level"], application=normalised,
                received_at=received, started_at=now, updated_at=now)
            uow.repo.add(instance)
            uow.session.flush()
            ctx = StepContext(uow, instance, definition_of(uow, definition.id), actor, now)
            ctx.audit("application_received", f"收到备案申请：{institution['name']}（{institution['credit_code']}）",
                      received_at=received.isoformat(), region=normalised["region"], profile=profile.key)
            start_instance(uow, instance, {
                "case": case_id, "application": normalised, "received_at": received.astimezone(SHANGHAI).isoformat(),
                "region": profile.to_dict(),
            }, actor)
            uow.commit()
            return {"case": case_id, "instance": instance.id, "status": instance.status}

    # --- work --------------------------------------------------------------------------------------------
    def tasks(self, case_id: str | None = None) -> list[dict[str, Any]]:
        now = clock.now()
        with self.uow() as uow:
            return [{
                "id": t.id, "case": t.case_id, "bpmn_id": t.bpmn_id, "name": t.name, "role": t.role,
                "region": t.region, "due": t.due_at.astimezone(SHANGHAI).isoformat() if t.due_at else None,
                "provisional": t.provisional, "overdue": bool(t.due_at and t.due_at <= now),
                "article": t.article, "form": t.form, "context": t.context or {},
            } for t in uow.repo.open_tasks(case_id)]

    def complete(self, task_id: str, data: object, actor: str = "caseworker") -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InvalidInput("表单数据必须是一个 JSON 对象，例如 {\"decision\": \"accept\"}")
        with self.uow() as uow:
            row = uow.repo.human_task(task_id)
            if row is None:
                raise NotFound(f"待办 {task_id} 不存在或已办结")
            case_id = row.case_id
            ctx = run_step(uow, case_id, CompleteTask(task_id, data), actor)
            uow.commit()
            return {"case": case_id, "status": ctx.instance.status}

    def send(self, message: str, case_id: str, data: object | None = None, actor: str = "external") -> dict[str, Any]:
        payload: dict[str, Any] = dict(data) if isinstance(data, dict) else {}
        if data is not None and not isinstance(data, dict):
            raise InvalidInput("消息内容必须是一个 JSON 对象")
        if message == "resubmission":
            payload.setdefault("received_at", clock.now().astimezone(SHANGHAI).isoformat())
        with self.uow() as uow:
            ctx = run_step(uow, case_id, SendMessage(message, payload), actor)
            uow.commit()
            return {"case": case_id, "status": ctx.instance.status}

    def sweep(self, limit: int = 1000, actor: str = "timer") -> dict[str, Any]:
        """Fire every timer due at the clock's now, one instance per transaction."""
        now = clock.now()
        with self.uow() as uow:
            due = uow.repo.due_instances(now, limit)
        fired: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for instance_id in due:
            try:
                with self.uow() as uow:
                    instance = uow.repo.instance_by_id(instance_id)
                    if instance is None:
                        continue
                    ctx = run_step(uow, instance.case_id, Wake(), actor)
                    uow.commit()
                    fired.append({"case": instance.case_id, "timers": ctx.fired, "status": ctx.instance.status})
            except StepFailed as exc:
                self._record_error(instance_id, exc.message)
                failed.append({"instance": instance_id, "error": exc.message})
        return {"now": now.isoformat(), "fired": fired, "failed": failed}

    def _record_error(self, instance_id: int, message: str) -> None:
        with self.uow() as uow:
            instance = uow.repo.instance_by_id(instance_id)
            if instance is not None:
                instance.error, instance.error_at = message, clock.now()
                _audit_system(uow, "timer", "step_failed", message, case_id=instance.case_id)
                uow.commit()

    # --- looking -----------------------------------------------------------------------------------------
    def show(self, case_id: str) -> dict[str, Any]:
        now = clock.now()
        with self.uow() as uow:
            instance = uow.repo.instance(case_id)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            filing = uow.repo.filing_for_case(case_id)
            tasks = uow.repo.open_tasks(case_id)
            timers = uow.repo.timers(instance.id)
            deadlines = _pending_deadlines(tasks, timers, now)
            return {
                "case": case_id,
                "process": instance.process_id,
                "status": instance.status,
                "status_label": STATUSES.get(instance.status, instance.status),
                "status_reason": instance.status_reason,
                "status_article": instance.status_article,
                "status_since": _local(instance.status_since),
                "institution": instance.application["institution"],
                "region": instance.region,
                "authority_level": instance.authority_level,
                "received_at": _local(instance.received_at),
                "filing_number": filing.filing_number if filing else None,
                "valid_from": filing.valid_from.isoformat() if filing else None,
                "valid_until": filing.valid_until.isoformat() if filing else None,
                "waiting_for": [{"task": t.name, "role": t.role, "due": _local(t.due_at)} for t in tasks]
                + [{"timer": t.name, "due": _local(t.due_at)} for t in timers],
                "deadlines": deadlines,
                "documents": [{"id": d.id, "kind": d.kind, "title": d.title, "number": d.number,
                               "issued_at": _local(d.issued_at)} for d in uow.repo.documents(case_id)],
                "error": instance.error,
                "history": [{"at": _local(e.at), "actor": e.actor, "action": e.action, "summary": e.summary,
                             "article": e.article} for e in uow.repo.history(case_id)],
            }

    def document(self, document_id: int) -> dict[str, Any]:
        with self.uow() as uow:
            document = uow.repo.document(document_id)
            if document is None:
                raise NotFound(f"文书 {document_id} 不存在")
            return {"id": document.id, "case": document.case_id, "kind": document.kind, "title": document.title,
                    "number": document.number, "html": document.html}

    # --- calendar ----------------------------------------------------------------------------------------
    def calendar_add(self, start: date | datetime, days: int) -> dict[str, Any]:
        with self.uow() as uow:
            calendar = load_calendar(uow)
        return calendar.within_working_days(start, days).to_dict()

    def calendar_load(self, data: object, actor: str = "admin") -> dict[str, Any]:
        """Store a year's official arrangement, then recompute every pending provisional deadline."""
        if not isinstance(data, dict):
            raise InvalidInput("节假日安排文件必须是一个 JSON 对象")
        try:
            arrangement = parse_arrangement(data)
        except ArrangementError as exc:
            raise InvalidInput(f"节假日安排文件有误：{exc}") from None
        with self.uow() as uow:
            uow.repo.delete_calendar_year(arrangement.year)  # a reload replaces the year
            stored = arrangement_to_dict(arrangement)
            uow.repo.add(CalendarYear(year=arrangement.year, arrangement=stored, source=arrangement.source,
                                      loaded_at=clock.now(), loaded_by=actor))
            digest = hashlib.sha256(repr(sorted(stored.items())).encode()).hexdigest()[:12]
            _audit_system(uow, actor, "calendar_loaded",
                          f"载入 {arrangement.year} 年节假日安排：{arrangement.source or '（未注明来源）'}",
                          year=arrangement.year, holidays=len(arrangement.holidays),
                          workdays=len(arrangement.workdays), digest=digest)
            uow.commit()
            instance_ids = uow.repo.instances_with_provisional_deadlines()
        recomputed: list[str] = []
        for instance_id in instance_ids:
            with self.uow() as uow:
                instance = uow.repo.instance_by_id(instance_id)
                if instance is None:
                    continue
                run_step(uow, instance.case_id, RecomputeDeadlines(), actor)
                uow.commit()
                recomputed.append(instance.case_id)
        return {"year": arrangement.year, "recomputed_cases": recomputed}

    def calendar_years(self) -> list[dict[str, Any]]:
        with self.uow() as uow:
            return [{"year": r.year, "source": r.source, "loaded_at": _local(r.loaded_at), "loaded_by": r.loaded_by}
                    for r in uow.repo.calendar_years()]


def _audit_system(uow: UnitOfWork, actor: str, action: str, summary: str, case_id: str | None = None,
                  **detail: Any) -> None:
    uow.repo.add(AuditEvent(at=clock.now(), case_id=case_id, actor=actor, action=action, summary=summary,
                            article="", detail=detail))


def _local(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


def _pending_deadlines(tasks: list[HumanTask], timers: list[Timer], now: datetime) -> list[dict[str, Any]]:
    """Each pending deadline once: a task and the escalation timer armed on its deadline are one legal period."""
    views: dict[tuple[Any, ...], dict[str, Any]] = {}
    for kind, rows in (("task", [t for t in tasks if t.deadline]), ("timer", timers)):
        for row in rows:
            deadline = row.deadline
            key = (row.due_at, deadline["start"], deadline["rule"]) if deadline else (row.due_at, row.name)
            views.setdefault(key, _deadline_view(row.name, row.deadline, row.due_at, now, kind))
    return list(views.values())


def _deadline_view(name: str, deadline: dict[str, Any] | None, due_at: datetime | None, now: datetime,
                   kind: str) -> dict[str, Any]:
    deadline = deadline or {}
    return {"name": name, "kind": kind, "due": _local(due_at), "last_day": deadline.get("last_day"),
            "provisional": bool(deadline.get("provisional")), "overdue": bool(due_at and due_at <= now),
            "explanation": deadline.get("explanation", "")}
