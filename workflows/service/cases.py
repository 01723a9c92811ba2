"""Cases: an application received, the tasks caseworkers do on it (claim, release, complete, keep a draft), and the
outside events it receives (a resubmission, an objection, a statement, …) or that open a procedure on a filing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from adapters.outside.db import Filing, Instance
from adapters.outside.repository import UnitOfWork
from adapters.outside.worklist import cursor_of
from tasks.calendar import SHANGHAI
from tasks.errors import IllegalEvent, InvalidInput, NotFound, ReceivedInFuture
from tasks.limits import MAX_FORM_BYTES, MAX_MESSAGE_BYTES, submission_size_problem
from tasks.text import text_problem
from workflows import clock
from workflows.messages import MESSAGES, STARTERS
from workflows.service.base import Capability, audit_system, local, minute
from workflows.transient import rerun_if_transient

if TYPE_CHECKING:
    from workflows.service.materials import Upload

# The engine (SpiffWorkflow, the expressions, the service operators), the form and region modules and JSON Schema
# are imported by the methods that use them: listing the open tasks (`beian tasks`) reads one table and needs none
# of them, and they are most of a cold command's start. A method that runs a step imports a command of
# workflows.service.commands or workflows.operators, either of which registers the operators the engine calls.

FILING_PROCESS = "filing_application"


class Cases(Capability):
    """What happens to a case: applying, its tasks, and the outside events it receives."""

    @rerun_if_transient
    def apply(self, application: object, received_at: datetime | None = None,
              actor: str = "applicant", files: Sequence[Upload] = (), *, online: bool = False) -> dict[str, Any]:
        """Register an application with its files (each a first version of its checklist item, kept before the
        pre-checks run, which then see them); all of it or nothing. `online`: filed by the institution in the portal
        (the worklist says 网上申请)."""
        from tasks.application import ApplicationError, validate_application
        from tasks.regions import profile_for_region
        from workflows.engine import start_instance
        from workflows.lifecycle import new_case_id
        from workflows.operators import STATUSES
        from workflows.service.materials import check_items, store

        try:
            normalised = validate_application(application, new=True)
        except ApplicationError as exc:
            raise InvalidInput(f"申请材料不符合要求：{'；'.join(exc.problems)}", problems=exc.problems) from None
        check_items(files, normalised["region"], normalised["institution"]["type"])
        now = clock.now()
        received = received_at or now
        if received > now:
            raise ReceivedInFuture(
                f"收件时间 {minute(received)} 晚于现在（{minute(now)}），收件时间不能是将来的时间；未登记")
        profile = profile_for_region(normalised["region"])
        with self.uow() as uow:
            definition = uow.repo.latest_definition(FILING_PROCESS)
            if definition is None:
                raise NotFound("尚未部署备案申请流程，请先运行 beian init")
            _check_branch(uow, normalised, profile.article("branch"))
            case_id = new_case_id(uow, FILING_PROCESS, received)
            institution = normalised["institution"]
            instance = Instance(
                case_id=case_id, process_id=FILING_PROCESS, definition_id=definition.id, state="",
                status="applied", status_reason=STATUSES["applied"], status_article=profile.article("acceptance"),
                status_since=now, institution_name=institution["name"], credit_code=institution["credit_code"],
                region=normalised["region"], authority_level=normalised["authority_level"], application=normalised,
                received_at=received, started_at=now, updated_at=now, channel="online" if online else None)
            uow.repo.add(instance)
            uow.session.flush()
            uow.repo.audit(at=now, case_id=case_id, actor=actor, action="application_received",
                           summary=f"收到备案申请：{institution['name']}（{institution['credit_code']}）",
                           detail={"received_at": received.isoformat(), "region": normalised["region"],
                                   "profile": profile.key})
            for upload in files:
                store(uow, instance, upload, actor)
            start_instance(uow, instance, {
                "case": case_id, "application": normalised, "received_at": received.astimezone(SHANGHAI).isoformat(),
                "region": profile.to_dict(),
            }, actor)
            uow.commit()
            return {"case": case_id, "instance": instance.id, "status": instance.status}

    def tasks(self, case_id: str | None = None, *, limit: int | None = None,
              after: str | None = None) -> list[dict[str, Any]]:
        """The open tasks (of one case), most urgent first; with `limit`, one page of them after the cursor `after`
        (each task carries its own cursor: the last one's leads to the next page)."""
        now = clock.now()
        with self.reading() as uow:
            rows = (uow.repo.open_tasks(case_id) if limit is None
                    else uow.repo.open_tasks_page(case_id, limit=limit, after=after).rows)
            return [{
                "id": t.id, "case": t.case_id, "bpmn_id": t.bpmn_id, "name": t.name, "role": t.role,
                "region": t.region, "due": t.due_at.astimezone(SHANGHAI).isoformat() if t.due_at else None,
                "provisional": t.provisional, "overdue": bool(t.due_at and t.due_at <= now),
                "article": t.article, "form": t.form, "context": t.context or {}, "cursor": cursor_of(t),
            } for t in rows]

    def task(self, task_id: str) -> dict[str, Any]:
        """One open task with what its form needs: the schema, the deadline and how it was computed, the context."""
        from workflows.engine import definition_of

        now = clock.now()
        with self.reading() as uow:
            row = uow.repo.human_task(task_id)
            if row is None:
                raise NotFound("该待办已不存在（可能已办结，或因期限届满被取消）")
            instance = uow.repo.instance(row.case_id)
            definition = definition_of(uow, instance.definition_id) if instance else None
            return {
                "id": row.id, "case": row.case_id, "process": row.process_id, "bpmn_id": row.bpmn_id, "name": row.name,
                "role": row.role, "region": row.region, "authority": getattr(row, "authority", None),
                "due": local(row.due_at), "provisional": row.provisional,
                "overdue": bool(row.due_at and row.due_at <= now), "deadline": row.deadline, "article": row.article,
                "context": row.context or {}, "claimed_by": row.claimed_by, "created_at": local(row.created_at),
                # An earlier step's form result is read with that form's own titles (决定：作出处理, not "impose").
                "context_forms": {key: schema for key in (row.context or {})
                                  if definition and (schema := definition.form_schema(key)) is not None},
                "schema": _case_schema(definition.form_schema(row.bpmn_id), instance) if definition else None,
                "institution": instance.institution_name if instance else "",
                "draft": _draft(uow, instance, definition, row.id) if instance and definition else None,
            }

    def task_authorities(self, case_id: str) -> list[str]:
        """The authorities that may see the case: its own and each the process has given a task on it, open or done
        (a provincial caseworker may open a municipal case only where the province had a task on it, e.g. the
        higher-level review)."""
        with self.reading() as uow:
            if uow.repo.instance(case_id) is None:
                raise NotFound(f"案件 {case_id} 不存在")
            return uow.repo.case_authorities(case_id)

    def progress(self, case_id: str) -> dict[str, Any]:
        """Where the case stands in its diagram: the BPMN of its own version, the current and completed elements and
        the flows taken, and the current steps with their names (for the case page's diagram and its text)."""
        from workflows.engine import definition_of
        from workflows.progress import progress_of, read_process_model
        from workflows.state import load_state

        with self.reading() as uow:
            instance = uow.repo.instance(case_id)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            definition = definition_of(uow, instance.definition_id)
            row = uow.repo.definition(instance.definition_id)
            workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, uow.repo.state_values)
            current, done, flows = progress_of(workflow, row.bpmn_xml)
            model = read_process_model(row.bpmn_xml)
            # A step is what the case is at; an armed boundary timer on it is a deadline (listed with the others).
            steps = [{"id": i, "name": name or i} for i, name in model.nodes.items()
                     if i in current and model.kinds[i] != "boundaryEvent"]
            return {"case": case_id, "process": instance.process_id, "version": row.version, "name": row.name,
                    "bpmn_xml": row.bpmn_xml, "current": current, "done": done, "done_flows": flows,
                    "current_steps": steps}

    @rerun_if_transient
    def claim(self, task_id: str, username: str) -> dict[str, Any]:
        """Take a task: others of the role see it as someone's until it is released or completed."""
        with self.uow() as uow:
            row = uow.repo.human_task(task_id, for_update=True)
            if row is None:
                raise NotFound("该待办已不存在（可能已办结，或因期限届满被取消）")
            if row.claimed_by not in (None, username):
                raise IllegalEvent(f"该待办已由 {row.claimed_by} 认领，未作任何更改")
            if row.claimed_by is None:
                row.claimed_by = username
                audit_system(uow, username, "task_claimed", f"认领待办：{row.name}", case_id=row.case_id,
                              task_id=task_id)
            uow.commit()
            return {"task": task_id, "claimed_by": username}

    @rerun_if_transient
    def release(self, task_id: str, username: str) -> dict[str, Any]:
        with self.uow() as uow:
            row = uow.repo.human_task(task_id, for_update=True)
            if row is None:
                raise NotFound("该待办已不存在（可能已办结，或因期限届满被取消）")
            if row.claimed_by != username:
                raise IllegalEvent("只能把自己认领的待办放回待认领，未作任何更改")
            row.claimed_by = None
            audit_system(uow, username, "task_released", f"放回待认领：{row.name}", case_id=row.case_id,
                          task_id=task_id)
            uow.commit()
            return {"task": task_id, "claimed_by": None}

    @rerun_if_transient
    def complete(self, task_id: str, data: object, actor: str = "caseworker") -> dict[str, Any]:
        from workflows.engine import run_step
        from workflows.service.commands import CompleteTask

        if not isinstance(data, dict):
            raise InvalidInput("表单数据必须是一个 JSON 对象，例如 {\"decision\": \"accept\"}")
        too_large = submission_size_problem(data, MAX_FORM_BYTES, "表单数据")
        if too_large:
            raise InvalidInput(f"{too_large}，未作任何更改")
        with self._failures_shown(actor) as failing, self.uow() as uow:
            found = uow.repo.instance_for_step(task_id=task_id)  # the task's case, locked, in one statement
            if found is None:
                raise NotFound(f"待办 {task_id} 不存在或已办结")
            case_id = failing.case_id = found.instance.case_id
            ctx = run_step(uow, case_id, CompleteTask(task_id, data), actor, locked=found)
            uow.commit()
            return {"case": case_id, "status": ctx.instance.status}

    @rerun_if_transient
    def save_draft(self, task_id: str, values: object, actor: str = "caseworker") -> dict[str, Any]:
        """Save an open task's form as typed so far (input name → text); `task()` returns it as `draft`."""
        from workflows.engine import run_step
        from workflows.service.commands import SaveDraft

        if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in values.items()):
            raise InvalidInput("暂存的表单内容必须是“栏目名 → 文字”的对应关系")
        too_large = submission_size_problem(values, MAX_FORM_BYTES, "暂存的表单内容")
        if too_large:
            raise InvalidInput(f"{too_large}，未暂存")
        problems = [f"栏目 {name}：{problem}" for name, value in values.items()
                    if (problem := text_problem(name) or text_problem(value, multiline=True))]
        if problems:
            raise InvalidInput("暂存的表单内容有误，未暂存：" + "；".join(problems), problems=problems)
        with self._failures_shown(actor) as failing, self.uow() as uow:
            row = uow.repo.human_task(task_id)
            if row is None:
                raise NotFound(f"待办 {task_id} 不存在或已办结")
            case_id = failing.case_id = row.case_id
            run_step(uow, case_id, SaveDraft(task_id, values), actor)
            uow.commit()
            return {"case": case_id, "task": task_id, "saved": len(values)}

    @rerun_if_transient
    def send(self, message: str, target: str, data: object | None = None, actor: str = "external") -> dict[str, Any]:
        """Deliver an outside event. `target` is a case number or a filing number.

        Events that open a procedure on a filing (STARTERS) are checked and open a new case; the others go to the
        case that waits for them — the target case itself, or the open case of the target's filing that does."""
        from tasks.forms import schema_problems
        from workflows.engine import run_step
        from workflows.lifecycle import open_procedure
        from workflows.service.commands import SendMessage

        if data is not None and not isinstance(data, dict):
            raise InvalidInput("消息内容必须是一个 JSON 对象")
        payload: dict[str, Any] = dict(data) if isinstance(data, dict) else {}
        if message not in MESSAGES:
            known = "、".join(f"{k}（{v}）" for k, v in MESSAGES.items())
            raise InvalidInput(f"未知的消息“{message}”；可用的消息：{known}")
        # Every message, whatever opens or receives it: bounded, clean texts, finite numbers (its schema, if it has
        # one, is checked where it arrives).
        problems = [problem] if (problem := submission_size_problem(payload, MAX_MESSAGE_BYTES, "消息内容")) \
            else schema_problems(None, payload, root_label="消息内容")
        if problems:
            raise InvalidInput(f"“{MESSAGES[message]}”消息内容有误，未作任何更改：" + "；".join(problems),
                               problems=problems)
        if message == "resubmission":
            payload.setdefault("received_at", clock.now().astimezone(SHANGHAI).isoformat())
        if message == "statement":
            payload.setdefault("submitted_on", clock.now().astimezone(SHANGHAI).date().isoformat())
        with self._failures_shown(actor) as failing, self.uow() as uow:
            if message in STARTERS or message == "rating":
                filing = self._filing_of(uow, target, lock=True)
                result = (self._rate(uow, filing, payload, actor) if message == "rating"
                          else open_procedure(uow, filing, message, payload, actor))
                uow.commit()
                return result
            case_id = failing.case_id = self._waiting_case(uow, target, message)
            ctx = run_step(uow, case_id, SendMessage(message, payload), actor)
            uow.commit()
            return {"case": case_id, "status": ctx.instance.status}

    def _filing_of(self, uow: UnitOfWork, target: str, lock: bool = False) -> Filing:
        filing = uow.repo.filing_by_number(target) or uow.repo.filing_for_case(target)
        if filing is None:
            if uow.repo.instance(target) is not None:
                raise IllegalEvent(f"案件 {target} 尚未取得备案，不能办理备案后的事项")
            raise NotFound(f"备案或案件 {target} 不存在")
        return uow.repo.filing(filing.id, for_update=True) if lock else filing

    def _waiting_case(self, uow: UnitOfWork, target: str, message: str) -> str:
        """The case a reply message is for: the target case if its process takes the message, else the one open case
        of the target's filing whose process does."""
        from workflows.engine import definition_of
        from workflows.filings import TERMINATION_KINDS

        instance = uow.repo.instance(target)
        if instance is not None and message in definition_of(uow, instance.definition_id).messages \
                and instance.completed_at is None:
            return instance.case_id
        filing = uow.repo.filing_by_number(target) or uow.repo.filing_for_case(target)
        if filing is None:
            if instance is None:
                raise NotFound(f"备案或案件 {target} 不存在")
            return instance.case_id  # SendMessage says why the case does not take it
        candidates = [c for c in uow.repo.open_cases_of_filing(filing.id)
                      if message in definition_of(uow, c.definition_id).messages]
        if not candidates:
            ended = f"（备案已{TERMINATION_KINDS[filing.termination_kind]}）" if filing.termination_kind else ""
            raise IllegalEvent(f"备案 {filing.filing_number} 当前没有等待“{MESSAGES[message]}”的案件{ended}，"
                               "未作任何更改")
        return candidates[0].case_id

    def _rate(self, uow: UnitOfWork, filing: Filing, payload: dict[str, Any], actor: str) -> dict[str, Any]:
        """Record the red/black list rating (XPCC 第二十二条) as a step of the case that watches the filing (a black
        one serves the delisting decision there), and let the filing's other open cases see it."""
        from tasks.regions import profile_for_region
        from workflows.engine import run_step
        from workflows.filings import RATINGS
        from workflows.lifecycle import refuse_if_terminated
        from workflows.service.commands import RateFiling, RefreshFiling

        profile = profile_for_region(filing.region)
        if not profile.red_list_continuation:
            raise IllegalEvent(f"{profile.name}未实行红黑榜连续备案制度，未作任何更改")
        rating = payload.get("rating")
        if rating not in RATINGS:
            raise InvalidInput("红黑榜评定结果 rating 应为 red（红色）或 black（黑色）")
        reasons = payload.get("reasons", "")
        if not isinstance(reasons, str):
            raise InvalidInput("评定理由 reasons 应为文字")
        refuse_if_terminated(filing, "红黑榜评定")
        cases = uow.repo.open_cases_of_filing(filing.id)
        if not cases:
            raise IllegalEvent(f"备案 {filing.filing_number} 没有在办的案件可以记录评定结果，未作任何更改")
        # The validity watch carries the filing through its period; a renewal or another procedure otherwise.
        watch = next((c for c in cases if c.process_id == "filing_validity"), cases[0])
        ctx = run_step(uow, watch.case_id, RateFiling(rating, reasons.strip()), actor)
        for case in cases:
            if case.case_id != watch.case_id:
                run_step(uow, case.case_id, RefreshFiling(), actor)
        return {"case": ctx.case_id, "filing": filing.filing_number, "status": filing.status, "rating": rating}


def _case_schema(schema: dict[str, Any] | None, instance: Instance | None) -> dict[str, Any] | None:
    """The form as this case may fill it (choices narrowed to its checklist and region, as the step checks them)."""
    from tasks import form_choices

    if schema is None or instance is None:
        return schema
    return form_choices.for_case(schema, instance.region, instance.application)


def _draft(uow: UnitOfWork, instance: Instance, definition: Any, task_id: str) -> dict[str, str] | None:
    """The values saved with 暂存 on this open task, if any (read from the case's state)."""
    from SpiffWorkflow.exceptions import TaskNotFoundException

    from workflows.service.commands import DRAFT_KEY
    from workflows.state import load_state

    workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, uow.repo.state_values)
    try:
        draft = workflow.get_task_from_id(UUID(task_id)).data.get(DRAFT_KEY)
    except TaskNotFoundException:  # the projection is a step behind the state: no draft to show
        return None
    return draft if isinstance(draft, dict) else None


def _check_branch(uow: UnitOfWork, application: dict[str, Any], article: str) -> None:
    """A branch files with its municipal authority, presenting its head office's provincial receipt."""
    number = application.get("parent_filing_number")
    if not number:
        return
    parent = uow.repo.filing_by_number(number)
    problems = []
    if parent is None:
        problems.append(f"上级机构备案编号“{number}”不存在，请核对省级备案回执")
    else:
        if application["authority_level"] != "municipal":
            problems.append("分支机构应向所在市（州）人社部门申请备案，备案层级应为 municipal")
        if parent.authority_level != "provincial":
            problems.append(f"备案 {number} 不是省级备案，分支机构须持省级备案回执申请")
        if parent.region[:2] != application["region"][:2]:
            problems.append(f"备案 {number} 不属于本省，分支机构应在总部备案的省内申请")
        if parent.termination_kind:
            problems.append(f"上级机构备案 {number} 已终止，分支机构不能据此申请备案")
    if problems:
        raise InvalidInput(f"分支机构申请不符合要求（{article}）：" + "；".join(problems), problems=problems)
