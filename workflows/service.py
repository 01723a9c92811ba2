"""The service layer: what a user can do, each in one unit of work. The CLI, the web app and the Prefect flows
all call these and nothing below them."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

import workflows.operators  # noqa: F401  (registers the expression functions and service operators)
from adapters.db import (
    AuditEvent,
    CalendarYear,
    Filing,
    HumanTask,
    Instance,
    ProcessDefinition,
    Timer,
    make_engine,
    make_session_factory,
)
from adapters.repository import UnitOfWork
from adapters.schema import upgrade
from adapters.settings import Settings, load_settings
from tasks.access import authority_of
from tasks.application import ApplicationError, validate_application
from tasks.calendar import SHANGHAI, ArrangementError, Deadline, arrangement_to_dict, parse_arrangement
from tasks.forms import schema_problems
from tasks.limits import MAX_FORM_BYTES, MAX_MESSAGE_BYTES, submission_size_problem
from tasks.regions import profile_for_region
from tasks.text import text_problem
from workflows import clock
from workflows.bpmn_check import Finding, check_source, has_errors, size_findings
from workflows.definitions import DefinitionSource, bundled_sources, main_process_id
from workflows.engine import (
    StepContext,
    Wake,
    definition_of,
    load_calendar,
    run_step,
    start_instance,
    sync_message_waits,
)
from workflows.errors import (
    BeianError,
    DefinitionError,
    IllegalEvent,
    InvalidInput,
    NotFound,
    ReceivedInFuture,
    StepFailed,
)
from workflows.filings import FILING_STATUSES, TERMINATION_KINDS, filing_facts
from workflows.lifecycle import STARTERS, new_case_id, open_procedure, procedure_ground, start_case
from workflows.migration import CasePlan, MigrateTo, plan_case, version_diff
from workflows.operators import STATUSES
from workflows.progress import progress_of, read_process_model
from workflows.state import load_state
from workflows.transient import rerun_if_transient

FILING_PROCESS = "filing_application"

# External messages a case can receive, with the Chinese name people see.
MESSAGES: dict[str, str] = {
    "resubmission": "补正材料重新提交",
    "objection": "公示期异议",
    "statement": "陈述申辩",
    "wrapup_done": "收尾工作完成报告",
    "rectification_done": "整改完成报告",
    **STARTERS,
    "rating": "红黑榜评定结果",
}


@dataclass(frozen=True)
class CompleteTask:
    task_id: str
    data: dict[str, Any]

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        task = _open_task(workflow, self.task_id)
        info = ctx.definition.user_tasks[task.task_spec.bpmn_id]
        # A task without a form still takes only clean texts and finite numbers (schema None).
        problems = schema_problems(ctx.definition.form_schema(info.bpmn_id), self.data)
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


@dataclass
class _Failing:
    case_id: str | None = None


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
        """Create or upgrade the schema and deploy every bundled BPMN file whose content was never deployed.

        Never deployed, not merely different from the latest: a process owner's version deployed since (from the
        web modeller, say) stays the latest across restarts; only a bundled file that changed, with an upgrade of
        the software, becomes a new version."""
        upgrade(self.engine)
        deployed = [self._deploy_bundled(source, actor) for source in bundled_sources()]
        self._watch_unwatched_filings(actor)
        self._project_message_waits(actor)
        return deployed

    def _deploy_bundled(self, source: DefinitionSource, actor: str) -> dict[str, Any]:
        with self.uow() as uow:
            rows = uow.repo.definitions(source.process_id)
            if any(row.sha256 == source.sha256 for row in rows):
                return {"process": source.process_id, "version": rows[-1].version, "deployed": False}
        return self.deploy(source, actor)

    def _project_message_waits(self, actor: str) -> None:
        """Once per database: cases that were running before the message-wait projection existed (migration 0003)
        get their rows. A wait's start is not in the state, so it is taken as the case's last step (no earlier
        than the truth: the stuck watch may report such a wait late, never early)."""
        with self.uow() as uow:
            if uow.repo.next_value("projection:message_waits") == 1:
                for instance in uow.repo.open_instances():
                    definition = definition_of(uow, instance.definition_id)
                    try:
                        workflow = load_state(instance.state, definition.spec, definition.subprocess_specs)
                    except Exception:  # noqa: BLE001 — a state that cannot be restored fails its next step, visibly
                        continue  # (the stuck watch reports it); it must not stop the upgrade of every other case
                    sync_message_waits(workflow, StepContext(uow, instance, definition, actor, instance.updated_at))
            uow.commit()

    def _watch_unwatched_filings(self, actor: str) -> None:
        """Open the validity watch of every live filing that has none (filings made before the lifecycle existed)."""
        today = clock.now().astimezone(SHANGHAI).date()
        with self.uow() as uow:
            for filing in uow.repo.filings():
                if filing.termination_kind or filing.valid_until < today:
                    continue
                watched = {c.process_id for c in uow.repo.open_cases_of_filing(filing.id)}
                if not watched & {"filing_validity", "renewal", "automatic_termination", "ordered_termination",
                                  "voluntary_termination"}:
                    start_case(uow, filing, "filing_validity", procedure_ground("renewal", filing.region), {}, actor)
            uow.commit()

    def deploy(self, source: DefinitionSource, actor: str) -> dict[str, Any]:
        """Deploy a new version, after the same checks as `beian bpmn check`: a file with errors is refused."""
        with self.uow() as uow:
            latest = uow.repo.latest_definition(source.process_id)
            if latest is not None and latest.sha256 == source.sha256:  # deployed already: checked then
                return {"process": source.process_id, "version": latest.version, "deployed": False}
            findings = check_source(source.bpmn_xml, source.file_name, source.forms,
                                    set(uow.repo.running_positions(source.process_id)))
            if has_errors(findings):
                errors = [f.message for f in findings if f.severity == "error"]
                raise DefinitionError(f"{source.file_name} 有 {len(errors)} 处错误，未部署：" + "；".join(errors),
                                      problems=errors)
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

    def versions(self, process_id: str) -> list[dict[str, Any]]:
        """Every deployed version of a process, oldest first, with its running and total instances."""
        with self.uow() as uow:
            rows = uow.repo.definitions(process_id)
            if not rows:
                raise NotFound(f"流程 {process_id} 尚未部署")
            counts = uow.repo.instance_counts(process_id)
            latest = rows[-1].version
            return [{"process": row.process_id, "version": row.version, "name": row.name, "file": row.file_name,
                     "sha256": row.sha256, "deployed_at": _local(row.deployed_at), "deployed_by": row.deployed_by,
                     "running": counts.get(row.id, (0, 0))[0], "instances": counts.get(row.id, (0, 0))[1],
                     "latest": row.version == latest} for row in rows]

    def check_definition(self, xml: str, file_name: str, forms: dict[str, Any]) -> list[Finding]:
        """`beian bpmn check` for one file, with the element ids the running cases of its process stand on."""
        too_large = size_findings(xml, file_name, forms)
        if too_large:  # before anything parses it
            return too_large
        try:
            process_id = main_process_id(xml, file_name)
        except DefinitionError:
            process_id = None  # the check itself reports why the file does not parse
        return check_source(xml, file_name, forms, self.running_ids(process_id) if process_id else set())

    def running_ids(self, process_id: str) -> set[str]:
        """The element ids running cases of the process stand on (open tasks, armed timers, awaited messages)."""
        with self.uow() as uow:
            return set(uow.repo.running_positions(process_id))

    def process_ids(self) -> list[str]:
        """Every process with at least one deployed version."""
        with self.uow() as uow:
            return uow.repo.process_ids()

    def definition_version(self, process_id: str, version: int | None = None) -> dict[str, Any]:
        """One deployed version (the latest when `version` is None) with its BPMN and forms."""
        with self.uow() as uow:
            row = self._version(uow, process_id, version)
            return {"process": row.process_id, "version": row.version, "name": row.name, "file": row.file_name,
                    "bpmn_xml": row.bpmn_xml, "forms": dict(row.forms), "sha256": row.sha256}

    def _version(self, uow: UnitOfWork, process_id: str, version: int | None) -> ProcessDefinition:
        rows = uow.repo.definitions(process_id)
        if not rows:
            raise NotFound(f"流程 {process_id} 尚未部署")
        row = rows[-1] if version is None else next((r for r in rows if r.version == version), None)
        if row is None:
            raise NotFound(f"流程 {process_id} 没有第 {version} 版（已有：{'、'.join(str(r.version) for r in rows)}）")
        return row

    def diff(self, process_id: str, from_version: int, to_version: int) -> dict[str, Any]:
        """What changed between two versions, element by element, with the running cases on each changed one."""
        with self.uow() as uow:
            old, new = self._version(uow, process_id, from_version), self._version(uow, process_id, to_version)
            return version_diff(old, definition_of(uow, old.id), new, definition_of(uow, new.id),
                                uow.repo.running_positions(process_id, old.id))

    def migration_preview(self, process_id: str, from_version: int, to_version: int,
                          case_ids: Sequence[str] | None = None) -> dict[str, Any]:
        return self.migrate(process_id, from_version, to_version, actor="preview", dry_run=True, case_ids=case_ids)

    def migrate(self, process_id: str, from_version: int, to_version: int, actor: str,
                dry_run: bool = False, case_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """Move the running cases of one version to another (each case in its own step, so one case that cannot
        move leaves the others moved), or with `dry_run` say what that would do to each case and position.
        `case_ids` limits it to those cases (each must be running on the source version)."""
        if from_version == to_version:
            raise InvalidInput(f"迁移的源版本与目标版本相同（第 {from_version} 版）")
        with self.uow() as uow:
            source, target = self._version(uow, process_id, from_version), self._version(uow, process_id, to_version)
            old_definition, new_definition = definition_of(uow, source.id), definition_of(uow, target.id)
            event = MigrateTo(source.id, from_version, target.id, to_version, new_definition)
            plans: list[CasePlan] = []
            running = uow.repo.running_instances(source.id)
            if case_ids is not None:
                wanted = set(case_ids)
                missing = sorted(wanted - {instance.case_id for instance in running})
                if missing:
                    raise InvalidInput(f"以下案件不是第 {from_version} 版上运行中的案件：{'、'.join(missing)}")
                running = [instance for instance in running if instance.case_id in wanted]
            for instance in running:
                try:
                    workflow = load_state(instance.state, old_definition.spec, old_definition.subprocess_specs)
                except Exception as exc:  # noqa: BLE001 — reported as this case's problem; the others still move
                    plans.append(CasePlan(instance.case_id, instance.status, problems=[f"案件状态无法恢复：{exc}"]))
                    continue
                plans.append(plan_case(instance.case_id, instance.status, workflow, new_definition))
        migrated: list[str] = []
        if not dry_run:
            for plan in plans:
                if not plan.migratable:
                    continue
                try:
                    self._step(plan.case_id, event, actor)
                    migrated.append(plan.case_id)
                except BeianError as exc:
                    plan.problems.append(str(exc))
            with self.uow() as uow:
                _audit_system(uow, actor, "process_migration",
                              f"迁移流程 {process_id}：第 {from_version} 版 → 第 {to_version} 版，"
                              f"迁移 {len(migrated)} 件，未迁移 {len(plans) - len(migrated)} 件",
                              process=process_id, from_version=from_version, to_version=to_version,
                              migrated=migrated)
                uow.commit()
        return {"process": process_id, "from_version": from_version, "to_version": to_version, "dry_run": dry_run,
                "cases": [plan.to_dict() for plan in plans], "migrated": migrated,
                "migratable": sum(1 for plan in plans if plan.migratable),
                "blocked": sum(1 for plan in plans if not plan.migratable)}

    @rerun_if_transient
    def _step(self, case_id: str, event: Any, actor: str) -> None:
        with self.uow() as uow:
            run_step(uow, case_id, event, actor)
            uow.commit()

    @contextlib.contextmanager
    def _failures_shown(self, actor: str) -> Iterator[_Failing]:
        """Around a user's step: when the engine fails on it (the diagram, not the user's input: an expression over
        its limits, a broken service), the user is told why and nothing of the step is saved; the case also shows
        the failure to ops (the stuck list: 流程出错) until a later step succeeds. Unlike the sweep's failures it
        does not count towards the sweep's attempts, which must keep firing the case's statutory timers."""
        failing = _Failing()
        try:
            yield failing
        except StepFailed as exc:
            if failing.case_id is not None:
                with self.uow() as uow:
                    instance = uow.repo.instance(failing.case_id, for_update=True)
                    if instance is not None:
                        instance.error, instance.error_at = exc.message, clock.now()
                        _audit_system(uow, actor, "step_failed", f"办理失败：{exc.message}",
                                      case_id=failing.case_id)
                        uow.commit()
            raise

    # --- intake ------------------------------------------------------------------------------------------
    @rerun_if_transient
    def apply(self, application: object, received_at: datetime | None = None,
              actor: str = "applicant") -> dict[str, Any]:
        try:
            normalised = validate_application(application)
        except ApplicationError as exc:
            raise InvalidInput(f"申请材料不符合要求：{'；'.join(exc.problems)}", problems=exc.problems) from None
        now = clock.now()
        received = received_at or now
        if received > now:
            raise ReceivedInFuture(
                f"收件时间 {_minute(received)} 晚于现在（{_minute(now)}），收件时间不能是将来的时间；未登记")
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

    def task(self, task_id: str) -> dict[str, Any]:
        """One open task with what its form needs: the schema, the deadline and how it was computed, the context."""
        now = clock.now()
        with self.uow() as uow:
            row = uow.repo.human_task(task_id)
            if row is None:
                raise NotFound("该待办已不存在（可能已办结，或因期限届满被取消）")
            instance = uow.repo.instance(row.case_id)
            definition = definition_of(uow, instance.definition_id) if instance else None
            return {
                "id": row.id, "case": row.case_id, "process": row.process_id, "bpmn_id": row.bpmn_id, "name": row.name,
                "role": row.role, "region": row.region, "authority": getattr(row, "authority", None),
                "due": _local(row.due_at), "provisional": row.provisional,
                "overdue": bool(row.due_at and row.due_at <= now), "deadline": row.deadline, "article": row.article,
                "context": row.context or {}, "claimed_by": row.claimed_by, "created_at": _local(row.created_at),
                "schema": definition.form_schema(row.bpmn_id) if definition else None,
                "institution": instance.institution_name if instance else "",
                "draft": _draft(instance, definition, row.id) if instance and definition else None,
            }

    def task_authorities(self, case_id: str) -> list[str]:
        """The authorities the process has given a task on this case, open or done (from its history): a provincial
        caseworker may open a municipal case only where the province had a task on it (e.g. higher-level review).
        Derived from the diagram's tasks the history says were opened, so tasks done before the authority column
        existed count too."""
        with self.uow() as uow:
            instance = uow.repo.instance(case_id)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            definition = definition_of(uow, instance.definition_id)
            opened = {e.detail.get("bpmn_id") for e in uow.repo.history(case_id) if e.action == "task_opened"}
            return sorted({authority_of(instance.region, instance.authority_level, info.jurisdiction)
                           for bpmn_id, info in definition.user_tasks.items() if bpmn_id in opened})

    def progress(self, case_id: str) -> dict[str, Any]:
        """Where the case stands in its diagram: the BPMN of its own version, the current and completed elements and
        the flows taken, and the current steps with their names (for the case page's diagram and its text)."""
        with self.uow() as uow:
            instance = uow.repo.instance(case_id)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            definition = definition_of(uow, instance.definition_id)
            row = uow.repo.definition(instance.definition_id)
            workflow = load_state(instance.state, definition.spec, definition.subprocess_specs)
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
                _audit_system(uow, username, "task_claimed", f"认领待办：{row.name}", case_id=row.case_id,
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
                raise IllegalEvent("只能退回自己认领的待办，未作任何更改")
            row.claimed_by = None
            _audit_system(uow, username, "task_released", f"退回待办：{row.name}", case_id=row.case_id,
                          task_id=task_id)
            uow.commit()
            return {"task": task_id, "claimed_by": None}

    @rerun_if_transient
    def complete(self, task_id: str, data: object, actor: str = "caseworker") -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InvalidInput("表单数据必须是一个 JSON 对象，例如 {\"decision\": \"accept\"}")
        too_large = submission_size_problem(data, MAX_FORM_BYTES, "表单数据")
        if too_large:
            raise InvalidInput(f"{too_large}，未作任何更改")
        with self._failures_shown(actor) as failing, self.uow() as uow:
            row = uow.repo.human_task(task_id)
            if row is None:
                raise NotFound(f"待办 {task_id} 不存在或已办结")
            case_id = failing.case_id = row.case_id
            ctx = run_step(uow, case_id, CompleteTask(task_id, data), actor)
            uow.commit()
            return {"case": case_id, "status": ctx.instance.status}

    @rerun_if_transient
    def save_draft(self, task_id: str, values: object, actor: str = "caseworker") -> dict[str, Any]:
        """Save an open task's form as typed so far (input name → text); `task()` returns it as `draft`."""
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
        """Record the red/black list rating (XPCC 第二十二条) and let the filing's open cases see it."""
        profile = profile_for_region(filing.region)
        if not profile.red_list_continuation:
            raise IllegalEvent(f"{profile.name}未实行红黑榜连续备案制度，未作任何更改")
        rating = payload.get("rating")
        if rating not in ("red", "black"):
            raise InvalidInput("红黑榜评定结果 rating 应为 red（红色）或 black（黑色）")
        filing.rating = rating
        colour = "红色" if rating == "red" else "黑色"
        _audit_system(uow, actor, "filing_rated", f"备案 {filing.filing_number} 评为“{colour}”",
                      case_id=filing.case_id, rating=rating)
        for case in uow.repo.open_cases_of_filing(filing.id):
            run_step(uow, case.case_id, RefreshFiling(), actor)
        return {"case": None, "filing": filing.filing_number, "status": filing.status, "rating": rating}

    def sweep(self, limit: int = 1000, actor: str = "timer", max_attempts: int | None = None) -> dict[str, Any]:
        """Fire every timer due at the clock's now, one case per transaction (see workflows.sweep)."""
        from workflows.sweep import sweep

        return sweep(self, limit=limit, max_attempts=max_attempts, actor=actor)

    def retry(self, case_id: str, actor: str = "ops", settings: Settings | None = None) -> dict[str, Any]:
        """Run a stuck case again now (`beian retry CASE`, the Prefect "beian-retry" deployment): clear its failure
        count and fire what is due, queue its failed deliveries again, and deliver everything it has pending."""
        from workflows.delivery import deliver_case, requeue_failed
        from workflows.sweep import advance_case

        settings = settings or load_settings()
        with self.uow() as uow:
            instance = uow.repo.instance(case_id, for_update=True)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            instance_id, previous_error = instance.id, instance.error
            instance.error_count = 0
            _audit_system(uow, actor, "retry_requested",
                          "要求重新处理" + (f"（上次出错：{previous_error}）" if previous_error else ""),
                          case_id=case_id)
            uow.commit()
        step = advance_case(self, instance_id, case_id, clock.now(), actor)
        if step.skipped and previous_error:  # nothing due any more, but the last attempt failed: step it anyway
            step = self._wake(instance_id, case_id, actor)
        requeued = requeue_failed(self, case_id, actor)
        with self.uow() as uow:
            pending = [row.id for row in uow.repo.outbox_of_case(case_id) if row.status == "pending"]
        delivery = deliver_case(self, settings, case_id, pending)
        return {"case": case_id, "step": step.to_dict(), "requeued": requeued, "delivery": delivery.to_dict(),
                "ok": step.error is None and delivery.ok}

    def _wake(self, instance_id: int, case_id: str, actor: str) -> Any:
        from workflows.sweep import CaseAdvance, record_failure

        try:
            with self.uow() as uow:
                ctx = run_step(uow, case_id, Wake(), actor)
                uow.commit()
                return CaseAdvance(case_id, fired=list(ctx.fired), status=ctx.instance.status)
        except BeianError as exc:
            return record_failure(self, instance_id, case_id, exc.message, actor)

    # --- looking -----------------------------------------------------------------------------------------
    def show(self, target: str) -> dict[str, Any]:
        """A case, or a filing with all its cases: status, why, since when, what it waits for and by when."""
        now = clock.now()
        with self.uow() as uow:
            instance = uow.repo.instance(target)
            filing = uow.repo.filing_for_case(target) if instance else uow.repo.filing_by_number(target)
            if instance is None and filing is not None:
                instance = uow.repo.instance(filing.case_id)
            if instance is None:
                raise NotFound(f"案件或备案 {target} 不存在")
            cases = uow.repo.cases_of_filing(filing) if filing else [instance]
            case_ids = [c.case_id for c in cases]
            tasks = [t for case in case_ids for t in uow.repo.open_tasks(case)]
            timers = [t for case in cases for t in uow.repo.timers(case.id)]
            subject = filing if filing else instance
            view: dict[str, Any] = {
                "case": instance.case_id,
                "process": instance.process_id,
                "status": subject.status,
                "status_label": (FILING_STATUSES if filing else STATUSES).get(subject.status, subject.status),
                "status_reason": subject.status_reason,
                "status_article": subject.status_article,
                "status_since": _local(subject.status_since),
                "termination_kind": filing.termination_kind if filing else None,
                "case_status": instance.status,
                "case_status_label": STATUSES.get(instance.status, instance.status),
                "institution": (filing.record if filing else instance.application)["institution"],
                "region": instance.region,
                "authority_level": instance.authority_level,
                "received_at": _local(instance.received_at),
                "filing_number": filing.filing_number if filing else None,
                "valid_from": filing.valid_from.isoformat() if filing else None,
                "valid_until": filing.valid_until.isoformat() if filing else None,
                "filing": _filing_view(uow, filing) if filing else None,
                "cases": [{"case": c.case_id, "process": c.process_id, "status": c.status,
                           "status_label": STATUSES.get(c.status, c.status), "open": c.completed_at is None,
                           "started_at": _local(c.started_at)} for c in cases],
                "waiting_for": [{"case": t.case_id, "task": t.name, "role": t.role, "due": _local(t.due_at)}
                                for t in tasks]
                + [{"case": t.case_id, "timer": t.name, "due": _local(t.due_at)} for t in timers],
                "deadlines": _pending_deadlines(tasks, timers, now),
                "documents": [{"id": d.id, "case": d.case_id, "kind": d.kind, "title": d.title, "number": d.number,
                               "issued_at": _local(d.issued_at)} for d in uow.repo.documents(case_ids)],
                "error": next((c.error for c in cases if c.error), None),
                "history": [{"at": _local(e.at), "case": e.case_id, "actor": e.actor, "action": e.action,
                             "summary": e.summary, "article": e.article} for e in uow.repo.history(case_ids)],
            }
            return view

    def filings(self, status: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        if status is not None and status not in FILING_STATUSES:
            raise InvalidInput(f"未知的备案状态“{status}”；可选：{'、'.join(FILING_STATUSES)}")
        with self.uow() as uow:
            return [_filing_view(uow, f, brief=True) for f in uow.repo.filings(status, region)]

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


def _draft(instance: Instance, definition: Any, task_id: str) -> dict[str, str] | None:
    """The values saved with 暂存 on this open task, if any (read from the case's state)."""
    workflow = load_state(instance.state, definition.spec, definition.subprocess_specs)
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


def _filing_view(uow: UnitOfWork, filing: Filing, brief: bool = False) -> dict[str, Any]:
    parent = uow.repo.filing(filing.parent_id) if filing.parent_id else None
    view: dict[str, Any] = {
        "filing_number": filing.filing_number,
        "case": filing.case_id,
        "institution": filing.institution_name,
        "credit_code": filing.credit_code,
        "region": filing.region,
        "authority_level": filing.authority_level,
        "status": filing.status,
        "status_label": FILING_STATUSES.get(filing.status, filing.status),
        "status_reason": filing.status_reason,
        "status_article": filing.status_article,
        "status_since": _local(filing.status_since),
        "termination_kind": filing.termination_kind,
        "terminated_on": filing.terminated_on.isoformat() if filing.terminated_on else None,
        "valid_from": filing.valid_from.isoformat(),
        "valid_until": filing.valid_until.isoformat(),
        "occupations": [o["code"] for o in filing.record["occupations"]],
        "parent": parent.filing_number if parent else None,
        "rating": filing.rating,
        "suspended_by": list(filing.suspended_by),
    }
    if brief:
        return view
    view["periods"] = [{"period": p.period, "valid_from": p.valid_from.isoformat(),
                        "valid_until": p.valid_until.isoformat(), "case": p.case_id}
                       for p in uow.repo.filing_periods(filing.id)]
    view["branches"] = [{"filing_number": b.filing_number, "institution": b.institution_name, "status": b.status}
                        for b in uow.repo.branches(filing.id)]
    view["changes"] = [{"case": c.case_id, "approved": c.approved, "changes": c.changes,
                        "decided_at": _local(c.decided_at)} for c in uow.repo.filing_changes(filing.id)]
    view["violations"] = [{"case": v.case_id, "ground": v.ground, "ground_label": v.ground_label,
                           "article": v.article, "measure": v.measure, "summary": v.summary,
                           "decided_at": _local(v.decided_at)} for v in uow.repo.violations(filing.id)]
    view["termination"] = filing.termination
    return view


def _audit_system(uow: UnitOfWork, actor: str, action: str, summary: str, case_id: str | None = None,
                  **detail: Any) -> None:
    uow.repo.add(AuditEvent(at=clock.now(), case_id=case_id, actor=actor, action=action, summary=summary,
                            article="", detail=detail))


def _minute(value: datetime) -> str:
    """A moment as people read it: Beijing time to the minute."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


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
