"""The steps the service layer runs on a case's workflow, each applied by the engine inside one transaction
(`workflows.engine.run_step`): complete a task, keep a draft, receive an outside message, recompute provisional
deadlines once a year's calendar is loaded, and show a filing's new facts to its open cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from tasks import form_choices
from tasks.calendar import Deadline
from tasks.errors import IllegalEvent, InvalidInput
from tasks.forms import schema_problems
from workflows.engine import StepContext
from workflows.filings import filing_facts, rate
from workflows.messages import MESSAGES
from workflows.operators import STATUSES


@dataclass(frozen=True)
class CompleteTask:
    task_id: str
    data: dict[str, Any]

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        task = _open_task(workflow, self.task_id)
        info = ctx.definition.user_tasks[task.task_spec.bpmn_id]
        # A task without a form still takes only clean texts and finite numbers (schema None); a form's choices that
        # depend on the case (its checklist, the region's inspection methods) are narrowed to this case's.
        schema = ctx.definition.form_schema(info.bpmn_id)
        if schema is not None:
            schema = form_choices.for_case(schema, ctx.instance.region, ctx.instance.application)
        problems = schema_problems(schema, self.data)
        if problems:
            raise InvalidInput(f"{info.name}表单填写有误：" + "；".join(problems), problems=problems)
        task.data.pop(DRAFT_KEY, None)  # the draft ends with the task; it must not flow on into the case's data
        task.data[info.bpmn_id] = self.data
        task.run()
        ctx.audit("task_completed", f"办结：{info.name}" + _summary(self.data),
                  article=info.article_in(ctx.instance.region),
                  task_id=self.task_id, bpmn_id=info.bpmn_id, data=self.data)


# Where an open task keeps the values a caseworker saved without submitting (the form's inputs by name, unchecked):
# in the task's own data, so it is part of the case's state and survives a restart or a version migration.
DRAFT_KEY = "form_draft"


def _open_task(workflow: BpmnWorkflow, task_id: str) -> Any:
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        task = None
    if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
        raise IllegalEvent("该待办已不再有效（可能已被他人办理，或因期限届满被取消），未作任何更改")
    return task


@dataclass(frozen=True)
class SaveDraft:
    """Keep what a caseworker has typed into an open task's form so far, without checking or submitting it."""

    task_id: str
    values: dict[str, str]

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        task = _open_task(workflow, self.task_id)
        task.data[DRAFT_KEY] = dict(self.values)
        info = ctx.definition.user_tasks[task.task_spec.bpmn_id]
        ctx.audit("task_draft_saved", f"暂存：{info.name}", task_id=self.task_id, bpmn_id=info.bpmn_id)


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
        problems = schema_problems(ctx.definition.message_schema(self.name), self.payload, root_label="消息内容")
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


@dataclass(frozen=True)
class RateFiling:
    """Record a red/black list rating on the case that watches the filing (its document is that case's), and give
    the case's waiting tasks the filing's new facts."""

    rating: str
    reasons: str = ""

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        filing = ctx.repo.filing(ctx.instance.filing_id, for_update=True) if ctx.instance.filing_id else None
        if filing is None:
            raise IllegalEvent(f"案件 {ctx.case_id} 没有关联的备案，未作任何更改")
        rate(ctx, filing, self.rating, self.reasons)
        RefreshFiling().apply(workflow, ctx)


@dataclass(frozen=True)
class RefreshFiling:
    """Give the case's waiting tasks the filing's facts as they now stand (e.g. after a red-list rating)."""

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        filing = ctx.repo.filing(ctx.instance.filing_id) if ctx.instance.filing_id else None
        if filing is None:
            return
        parent = ctx.repo.filing(filing.parent_id) if filing.parent_id else None
        facts = filing_facts(filing, parent)
        for task in workflow.get_tasks():
            if isinstance(task.data.get("filing"), dict):
                task.data["filing"] = facts


def _is_deadline(value: Any) -> bool:
    return isinstance(value, dict) and "due" in value and "rule" in value and "days" in value


