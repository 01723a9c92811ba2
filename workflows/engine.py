"""One step of one instance: lock, load, wake timers, apply the event, run the engine, save — in one transaction.

Every change to a case goes through `run_step` (or `start_instance` for a new one): a caseworker completing a task,
an external message, a due timer found by the sweep, a recomputed deadline. Projections (open human tasks, waiting
timers, status) and audit events are written in the same transaction as the state, so they can never disagree.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import uuid4
from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm.exc import StaleDataError

from adapters.outside.db import HumanTask, Instance, MessageWait, OutboxMessage, Timer
from adapters.outside.repository import Repository, StepRow, UnitOfWork
from tasks.access import authority_of
from tasks.calendar import SHANGHAI, WorkingDayCalendar, parse_arrangement
from tasks.errors import ConcurrentChange, NotFound, StepFailed
from workflows import clock
from workflows.definitions import ParsedDefinition, cached_definition, forget_parsed, parsed_if_cached
from workflows.expressions import DATA_ONLY_ENGINE, ExpressionError, script_engine
from workflows.roles import load_added_roles
from workflows.state import dump_state, load_state

clock.install_into_spiff()

_MAX_ENGINE_ROUNDS = 50
# However a diagram is drawn, one step ends: each expression has its own limits (workflows/expressions/limits.py),
# and a step may complete at most so many tasks (a loop drawn back on itself with no wait in it) in so much time.
MAX_TASKS_PER_STEP = 500
MAX_SECONDS_PER_STEP = 30.0
# SpiffWorkflow walks the task tree only to depth 1000 (TaskIterator's max_depth): a task deeper than that is
# invisible, and a case whose open tasks all are would silently count as completed. A loop taken again and again over
# a case's life (resubmissions) deepens the tree, so a step stops well before that depth instead.
MAX_TASK_DEPTH = 900


@dataclass
class StepContext:
    """What a step knows while it runs: passed to events, expression functions and service operators."""

    uow: UnitOfWork
    instance: Instance
    definition: ParsedDefinition
    actor: str
    now: datetime
    _calendar: WorkingDayCalendar | None = None
    fired: list[str] = field(default_factory=list)
    ended_at: str | None = None  # the name of the end event the main process reached in this step
    # The data of the task running a service operator (operators read the case's facts from it).
    task_data: dict[str, Any] = field(default_factory=dict)
    # True while a service operator runs: what it does is the system's, not the person's whose step led to it.
    automatic: bool = False
    # Effects on *other* cases (start one, cancel one), run after this step is saved, in the same transaction:
    # a case must never be changed while its own step is still running further up the stack.
    followups: list[Callable[[], None]] = field(default_factory=list)
    # The ids (→ BPMN element) of the case's projections as the step read them with the case (table name → …): what
    # its save compares with. None: read them when saving.
    stored_projections: dict[str, dict[str, str]] | None = None
    # The tasks that stood (READY or WAITING) when the engine last settled in this step: what the save projects.
    standing: list[Task] | None = None
    _audit_rows: list[dict[str, Any]] = field(default_factory=list)
    _saved: bool = False

    @property
    def repo(self) -> Repository:
        return self.uow.repo

    def __post_init__(self) -> None:
        # A plain copy: after a failed flush the ORM object cannot be read any more, but errors still name the case.
        self.case_id: str = self.instance.case_id

    @property
    def calendar(self) -> WorkingDayCalendar:
        if self._calendar is None:
            self._calendar = load_calendar(self.uow)
        return self._calendar

    @property
    def recorded_actor(self) -> str:
        """Who the history credits: the system for an automatic step (a notice issued, a status set)."""
        return "system" if self.automatic else self.actor

    def audit(self, action: str, summary: str, *, article: str = "", **detail: Any) -> None:
        if self.automatic:
            detail = {**detail, "prompted_by": self.actor}
        self.audit_for(self.case_id, action, summary, article=article, **detail)

    def audit_for(self, case_id: str, action: str, summary: str, *, article: str = "", **detail: Any) -> None:
        """A history row of this case or another (a branch terminated with its head office): kept with the step's
        others and written with them when the step is saved, in the order recorded (at once after that)."""
        self._audit_rows.append({"at": self.now, "case_id": case_id, "actor": self.recorded_actor, "action": action,
                                 "summary": summary, "article": article or "", "detail": detail})
        if self._saved:
            self.write_audit()

    def write_audit(self) -> None:
        """Write the history rows recorded so far (before reading the case's history in the middle of a step)."""
        self.repo.insert_audit(self._audit_rows)
        self._audit_rows.clear()

    def history(self, case_id: str) -> list[Any]:
        """The case's history, with what this step has recorded so far."""
        self.write_audit()
        return self.repo.history(case_id)

    def enqueue(self, system: str, path: str, summary: str, payload: dict[str, Any], *,
                case_id: str | None = None, filing_id: int | None = None) -> None:
        """Record a side effect on an outside system in this step's transaction (the outbox); it is delivered
        after commit, so a step that rolls back never reaches the outside world."""
        case = case_id or self.case_id
        self.uow.repo.add(OutboxMessage(
            key=f"{case}/{system}/{uuid4().hex}", case_id=case, filing_id=filing_id, system=system, path=path,
            summary=summary, payload={**payload, "case": case, "occurred_at": self.now.isoformat()},
            status="pending", attempts=0, next_attempt_at=self.now, created_at=self.now))


def load_calendar(uow: UnitOfWork) -> WorkingDayCalendar:
    """The database's working-day calendar. Held per database (engine) while its fingerprint stays the same: a step
    that counts working days reads one small row instead of every year's arrangement; a year loaded by any process
    changes the fingerprint, and the calendar is read again."""
    fingerprint = uow.repo.calendar_fingerprint()
    database = uow.session.get_bind()
    with _calendars_lock:
        held = _calendars.get(database)
    if held is not None and held[0] == fingerprint:
        return held[1]
    arrangements = {row.year: parse_arrangement(row.arrangement) for row in uow.repo.calendar_years()}
    calendar = WorkingDayCalendar(arrangements)
    with _calendars_lock:
        _calendars[database] = (fingerprint, calendar)
    return calendar


_calendars: WeakKeyDictionary[Any, tuple[tuple[Any, ...], WorkingDayCalendar]] = WeakKeyDictionary()
_calendars_lock = threading.Lock()


class Event(Protocol):
    """Something that happens to an instance; `apply` changes the restored workflow (and may audit)."""

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None: ...


class Wake:
    """No outside event: only the timers that fell due (the sweep)."""

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        return None


@dataclass(frozen=True)
class Cancel:
    """End the case without finishing it (e.g. its filing was terminated by another case): open tasks and timers
    go away, the history says why."""

    reason: str
    article: str = ""

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        workflow.cancel()
        ctx.instance.status, ctx.instance.status_reason = "cancelled", self.reason
        ctx.instance.status_article, ctx.instance.status_since = self.article, ctx.now
        ctx.instance.completed_at = ctx.now
        ctx.audit("process_cancelled", f"流程终止办理：{self.reason}", article=self.article)


EnvironmentFactory = Callable[[StepContext], tuple[dict[str, Callable[..., Any]], Callable[..., Any]]]
_environment_factory: EnvironmentFactory | None = None


def register_environment(factory: EnvironmentFactory) -> None:
    """The service layer registers the expression functions and service operators (kept out of the engine room
    so the engine does not import the domain's side effects)."""
    global _environment_factory
    _environment_factory = factory


def definition_of(uow: UnitOfWork, definition_id: int, sha256: str | None = None) -> ParsedDefinition:
    """The parsed version `definition_id`. Its content hash (`sha256`, when the caller read it with the instance) is
    the cache key, so a step reads neither the version's row nor its XML unless this process has not parsed it yet."""
    digest = sha256 if sha256 is not None else uow.repo.definition_digest(definition_id)
    parsed = parsed_if_cached(definition_id, digest)
    if parsed is None:
        row = uow.repo.definition(definition_id)
        parsed = cached_definition(row.id, row.sha256, row.process_id, row.bpmn_xml, row.file_name, row.forms)
    if any(info.lane and info.role is None for info in parsed.user_tasks.values()) and load_added_roles(uow):
        # A lane this process did not know when it parsed the diagram: a role added since (perhaps by another
        # process). Parsed again with it; the check made sure every deployed lane is a role.
        row = uow.repo.definition(definition_id)
        forget_parsed(row.id, row.sha256)
        parsed = cached_definition(row.id, row.sha256, row.process_id, row.bpmn_xml, row.file_name, row.forms)
    return parsed


def _attach_engine(workflow: BpmnWorkflow, ctx: StepContext) -> None:
    if _environment_factory is None:
        raise RuntimeError("no environment registered; import workflows.service first")
    functions, services = _environment_factory(ctx)
    workflow.script_engine = script_engine(functions, services)


class StepTooLong(Exception):
    """The engine ran past a step's allowance (see MAX_TASKS_PER_STEP)."""


def _run_engine(workflow: BpmnWorkflow, ctx: StepContext) -> None:
    started, completed = time.monotonic(), [0]
    depths: dict[Any, int] = {}

    def depth_of(task: Task) -> int:
        # A task's depth in the tree is its parent's plus one: counted once from the root per step, then carried
        # down, instead of walking up to the root for every task the step completes.
        parent = task.parent
        depth = depths[parent.id] + 1 if parent is not None and parent.id in depths else task.depth
        depths[task.id] = depth
        return depth

    def did_complete(task: Task) -> None:
        completed[0] += 1
        if completed[0] > MAX_TASKS_PER_STEP:
            raise StepTooLong(f"一次处理中执行的环节超过 {MAX_TASKS_PER_STEP:,} 个（流程图中可能有没有等待的循环）")
        if time.monotonic() - started > MAX_SECONDS_PER_STEP:
            raise StepTooLong(f"一次处理超过 {MAX_SECONDS_PER_STEP:g} 秒")
        if depth_of(task) > MAX_TASK_DEPTH:
            raise StepTooLong(f"案件的流程已循环往复过多次（办理环节嵌套超过 {MAX_TASK_DEPTH} 层），"
                              "为免流程被误判为已结束而停止；请联系运维人员")
        spec = task.task_spec
        if timer_definition(spec) is not None and fired_by_timer(task):
            ctx.fired.append(spec.bpmn_id)
            ctx.audit("timer_fired", f"定时事件到期：{spec.bpmn_name or spec.bpmn_id}", bpmn_id=spec.bpmn_id,
                      due=task.internal_data.get("event_value"))
        elif isinstance(spec, EndEvent) and task.workflow is workflow:
            ctx.ended_at = spec.bpmn_name or spec.bpmn_id

    standing = run_to_wait(workflow, did_complete)
    if standing is None:
        raise StepFailed(f"案件 {ctx.case_id} 的流程在一次处理中循环超过 {_MAX_ENGINE_ROUNDS} 轮，"
                         "已停止；请检查流程定义")
    ctx.standing = standing


def run_to_wait(workflow: BpmnWorkflow, did_complete: Callable[[Task], None] | None = None) -> list[Task] | None:
    """Run the engine until only human tasks and real waits remain, and return the tasks that stand (READY or
    WAITING); None if it did not settle.

    Timers are woken first so a user can never beat a deadline that already passed. do_engine_steps() ends by
    refreshing timers, which can leave a timer that is already due READY (e.g. a publicity whose end passed during
    an objection review), hence the rounds."""
    for _ in range(_MAX_ENGINE_ROUNDS):
        workflow.refresh_timers()
        workflow.do_engine_steps(did_complete_task=did_complete)
        standing = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        if not any(t.state == TaskState.READY and not t.task_spec.manual for t in standing):
            return standing
    return None


def start_instance(uow: UnitOfWork, instance: Instance, data: dict[str, Any], actor: str) -> StepContext:
    """Create the workflow for a new instance row (already added to the session) and run it to its first wait."""
    definition = definition_of(uow, instance.definition_id)
    workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=DATA_ONLY_ENGINE)
    # A new case has no projections yet: its save need not read any.
    ctx = StepContext(uow, instance, definition, actor, clock.now(),
                      stored_projections={table.__tablename__: {} for table in (HumanTask, Timer, MessageWait)})
    uow.repo.note_authority(instance.case_id, authority_of(instance.region, instance.authority_level))
    _attach_engine(workflow, ctx)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    _guarded(lambda: _run_engine(workflow, ctx), ctx)
    _save(workflow, ctx)
    _run_followups(ctx)
    return ctx


def run_step(uow: UnitOfWork, case_id: str, event: Event, actor: str, *,
             locked: StepRow | None = None) -> StepContext:
    """Apply `event` to the case and save everything; the caller commits the unit of work. `locked`: the case as the
    caller already read it with `Repository.instance_for_step` (found by a task)."""
    found = locked or uow.repo.instance_for_step(case_id)
    if found is None:
        raise NotFound(f"案件 {case_id} 不存在")
    instance = found.instance
    definition = definition_of(uow, instance.definition_id, found.digest)
    workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, uow.repo.state_values)
    ctx = StepContext(uow, instance, definition, actor, clock.now(), stored_projections=found.projections)
    _attach_engine(workflow, ctx)

    def step() -> None:
        # Timers that fell due fire before the event, so no one beats a deadline that passed; an event that takes
        # the state as it is (a migration: the old version may be what fails) says so with `engine_first`.
        if getattr(event, "engine_first", True):
            _run_engine(workflow, ctx)
        event.apply(workflow, ctx)
        _run_engine(workflow, ctx)

    _guarded(step, ctx)
    _save(workflow, ctx)
    _run_followups(ctx)
    return ctx


def _run_followups(ctx: StepContext) -> None:
    while ctx.followups:
        ctx.followups.pop(0)()


def _guarded(action: Callable[[], None], ctx: StepContext) -> None:
    """Run the engine; a failure inside it (a diagram's expression, a service, a runaway loop) fails the step with
    a reason in Chinese, and the case keeps the state it had."""
    try:
        action()
    except (SpiffWorkflowException, ExpressionError, StepTooLong) as exc:
        task = getattr(exc, "task", None)
        where = f"（环节 {task.task_spec.bpmn_name or task.task_spec.bpmn_id}）" if task is not None else ""
        reason = _expression_error(exc) or exc
        raise StepFailed(f"案件 {ctx.case_id} 的流程执行出错{where}：{reason}；案件保持原状态") from exc


def _expression_error(exc: BaseException) -> ExpressionError | None:
    """The expression error behind an engine error (SpiffWorkflow wraps it, in English, keeping it as the context)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None or isinstance(seen, ExpressionError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _save(workflow: BpmnWorkflow, ctx: StepContext) -> None:
    instance = ctx.instance
    try:
        dumped = dump_state(workflow)
        ctx.repo.keep_state_values(dumped.values, ctx.now)
        values: dict[str, Any] = {"state": dumped.text, "updated_at": ctx.now}
        if instance.error is not None or instance.error_at is not None or instance.error_count:
            # A step that succeeds clears an earlier failure (only then: an indexed column written again costs its
            # index an update even when the value stays the same).
            values.update(error=None, error_at=None, error_count=0)
        # The engine's last walk of the task tree found what the projections show (the engine runs last in every
        # step); a case with a task ready or waiting has not ended, so only one without walks the tree again to tell.
        standing = (ctx.standing if ctx.standing is not None
                    else workflow.get_tasks(state=TaskState.READY | TaskState.WAITING))
        if not standing and workflow.is_completed() and instance.completed_at is None:
            values["completed_at"] = ctx.now
            ctx.audit("process_completed", f"流程结束：{ctx.ended_at or ctx.definition.name}")
        session = ctx.uow.session
        # The projections are compared in memory with the ids the step read with the case: only rows that stay open
        # are loaded, gone ones are deleted and new ones inserted with one statement per table, and nothing is
        # flushed until all are settled (a query in between would otherwise flush half the changes first).
        ready = [t for t in standing if t.state == TaskState.READY and t.task_spec.manual]
        waiting = [t for t in standing if t.state == TaskState.WAITING]
        new_rows: dict[type[Any], list[dict[str, Any]]] = {HumanTask: [], Timer: [], MessageWait: []}
        with session.no_autoflush:
            existing = (ctx.stored_projections if ctx.stored_projections is not None
                        else ctx.repo.projection_ids(instance.id))
            _sync_human_tasks(ready, ctx, existing[HumanTask.__tablename__], new_rows[HumanTask])
            _sync_timers(waiting, ctx, existing[Timer.__tablename__], new_rows[Timer])
            sync_message_waits(workflow, ctx, existing[MessageWait.__tablename__], waiting, new_rows[MessageWait])
        # The step's changes to the instance and its state in one UPDATE that checks the row_version it was read
        # with: a writer that changed the case since it was read (the step holds the case's lock, so that would be
        # a bug) makes it match nothing, and the whole transaction is refused.
        if not ctx.repo.update_instance(instance, values):
            raise ConcurrentChange(f"案件 {ctx.case_id} 已被他人同时修改，本次操作未保存，请刷新后重试")
        session.flush()  # what else the step changed through the ORM (its outbox, filing, rows that stay)
        for table, rows in new_rows.items():
            ctx.repo.insert_rows(table, rows)
        ctx.write_audit()
        ctx._saved = True
    except StaleDataError as exc:  # a row the ORM writes (a filing, a task that stays open) changed under the step
        raise ConcurrentChange(f"案件 {ctx.case_id} 已被他人同时修改，本次操作未保存，请刷新后重试") from exc


def deadline_of(task: Task, variable: str | None) -> dict[str, Any] | None:
    if not variable:
        return None
    value = task.data.get(variable)
    return value if isinstance(value, dict) and "due" in value else None


def _task_region(ctx: StepContext, jurisdiction: str) -> str:
    region = ctx.instance.region
    return region[:2] + "0000" if jurisdiction == "province" else region


def _sync_human_tasks(ready_tasks: list[Task], ctx: StepContext, stored: dict[str, str],
                      new_rows: list[dict[str, Any]]) -> None:
    ready = {str(t.id): t for t in ready_tasks}
    own_authority = authority_of(ctx.instance.region, ctx.instance.authority_level)
    ctx.repo.remove_projections(HumanTask, (task_id for task_id in stored if task_id not in ready))
    existing = ctx.repo.projection_rows(HumanTask, (task_id for task_id in ready if task_id in stored))
    for task_id, task in ready.items():
        info = ctx.definition.user_tasks.get(task.task_spec.bpmn_id)
        if info is None:
            continue
        row = existing.get(task_id)
        deadline = deadline_of(task, info.deadline_variable)
        if deadline is None and info.deadline_days:
            # Counted from the day the task opened, again at every step: a provisional deadline becomes exact once
            # the year's official calendar is loaded.
            opened = (row.created_at if row is not None else ctx.now).astimezone(SHANGHAI).date()
            deadline = ctx.calendar.within_working_days(opened, info.deadline_days).to_dict()
        due_at = datetime.fromisoformat(deadline["due"]) if deadline else None
        jurisdiction = info.jurisdiction_in(ctx.instance.region)
        authority = authority_of(ctx.instance.region, ctx.instance.authority_level, jurisdiction)
        # Who may see the case, for lists of cases (CaseAuthority): the case's own authority was noted when it
        # started; another one (a provincial task on a city's case) is noted when a task first goes to it.
        if (row is None or row.authority != authority) and authority != own_authority:
            ctx.repo.note_authority(ctx.case_id, authority)
        if row is not None:  # still open; its deadline may have been recomputed, its version migrated
            row.due_at, row.deadline = due_at, deadline
            row.provisional = bool(deadline and deadline.get("provisional"))
            _refresh_from_definition(row, info, authority, ctx)
            continue
        new_rows.append(dict(
            id=task_id, instance_id=ctx.instance.id, case_id=ctx.case_id, process_id=ctx.instance.process_id,
            bpmn_id=info.bpmn_id, name=info.name, role=info.role or "", region=_task_region(ctx, jurisdiction),
            authority=authority, form=info.form, article=info.article_in(ctx.instance.region), due_at=due_at,
            provisional=bool(deadline and deadline.get("provisional")), deadline=deadline, created_at=ctx.now,
            context={name: task.data.get(name) for name in info.context} or None, claimed_by=None))
        due_text = f"，法定期限至 {due_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if due_at else ""
        ctx.audit("task_opened", f"待办：{info.name}{due_text}", article=info.article_in(ctx.instance.region),
                  task_id=task_id,
                  # The authority stays in the history after the task is done: who saw the case (tasks/access.py).
                  bpmn_id=info.bpmn_id, role=info.role, authority=authority, deadline=deadline)


def _refresh_from_definition(row: HumanTask, info: Any, authority: str, ctx: StepContext) -> None:
    """An open task whose diagram changed under it (a migrated version) shows the new name, form and citation.
    A claim stays unless the task moved to another role or authority: then its holder may no longer do it."""
    if (row.role, row.authority) != (info.role or "", authority):
        if row.claimed_by:
            ctx.audit("task_released", f"待办“{info.name}”的办理角色或机关已变更，"
                      f"原认领人 {row.claimed_by} 的认领已解除", task_id=row.id, released=row.claimed_by)
        row.claimed_by = None
    row.bpmn_id, row.name, row.role, row.form = info.bpmn_id, info.name, info.role or "", info.form
    row.authority, row.region = authority, _task_region(ctx, info.jurisdiction_in(ctx.instance.region))
    row.article = info.article_in(ctx.instance.region)


def timer_definition(spec: Any) -> TimerEventDefinition | None:
    """The timer a catching event waits for, also inside an event-based gateway, where SpiffWorkflow moves the
    definitions of the gateway's target events onto the gateway itself."""
    definition = getattr(spec, "event_definition", None) if isinstance(spec, CatchingEvent) else None
    if isinstance(definition, TimerEventDefinition):
        return definition
    if isinstance(definition, MultipleEventDefinition):
        return next((d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)), None)
    return None


def fired_by_timer(task: Task) -> bool:
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return True
    if isinstance(definition, MultipleEventDefinition):
        seen = task.internal_data.get("seen_events", [])
        return any(isinstance(getattr(e, "event_definition", None), TimerEventDefinition) for e in seen)
    return False


def awaited_messages(spec: Any) -> list[str]:
    """The names of the outside messages a catching event waits for (also behind an event-based gateway)."""
    definition = getattr(spec, "event_definition", None) if isinstance(spec, CatchingEvent) else None
    definitions = (definition.event_definitions if isinstance(definition, MultipleEventDefinition)
                   else [definition])
    return [d.name for d in definitions if isinstance(d, MessageEventDefinition)]


def sync_message_waits(workflow: BpmnWorkflow, ctx: StepContext, stored: dict[str, str] | None = None,
                       waiting_tasks: list[Task] | None = None, new_rows: list[dict[str, Any]] | None = None) -> None:
    """Project the case's waits for outside messages; a wait keeps the instant it began. `stored`: the ids (→ BPMN
    element) the database holds, and `waiting_tasks` the workflow's WAITING tasks, when the caller has them; new
    waits go to `new_rows` for the caller to insert, else they are inserted here."""
    if stored is None:
        stored = ctx.repo.projection_ids(ctx.instance.id)[MessageWait.__tablename__]
    if waiting_tasks is None:
        waiting_tasks = workflow.get_tasks(state=TaskState.WAITING)
    waiting: dict[str, tuple[Task, str]] = {}
    for task in waiting_tasks:
        for name in awaited_messages(task.task_spec):
            waiting[f"{task.id}:{name}"] = (task, name)
    ctx.repo.remove_projections(MessageWait, (wait_id for wait_id in stored if wait_id not in waiting))
    # A migrated version may have renamed the element a wait stands on: only then is its row loaded and changed.
    renamed = ctx.repo.projection_rows(MessageWait, (wait_id for wait_id, (task, _name) in waiting.items()
                                                     if wait_id in stored
                                                     and stored[wait_id] != task.task_spec.bpmn_id))
    added: list[dict[str, Any]] = []
    for wait_id, (task, name) in waiting.items():
        if wait_id in renamed:
            renamed[wait_id].bpmn_id = task.task_spec.bpmn_id
        elif wait_id not in stored:
            added.append(dict(id=wait_id, instance_id=ctx.instance.id, case_id=ctx.case_id, message=name,
                              bpmn_id=task.task_spec.bpmn_id, since=ctx.now))
    if new_rows is None:
        ctx.repo.insert_rows(MessageWait, added)
    else:
        new_rows.extend(added)


def waiting_timers(waiting: list[Task]) -> list[Task]:
    """Those of the WAITING tasks that wait for a timer."""
    return [t for t in waiting if timer_definition(t.task_spec) is not None]


def timer_due(task: Task) -> datetime | None:
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # a cycle timer keeps its next occurrence
        value = value.get("next")
    if not isinstance(value, str):
        return None
    return TimerEventDefinition.parse_time_or_duration(value) if not value.upper().startswith("P") else None


def matching_deadline(task: Task, due: str) -> dict[str, Any] | None:
    """The deadline dict in the task's data whose due time armed this timer (for its provisional flag)."""
    for value in task.data.values():
        if isinstance(value, dict) and value.get("due") == due and "rule" in value:
            return value
    return None


def _sync_timers(waiting_tasks: list[Task], ctx: StepContext, stored: dict[str, str],
                 new_rows: list[dict[str, Any]]) -> None:
    waiting = {str(t.id): t for t in waiting_timers(waiting_tasks)}
    ctx.repo.remove_projections(Timer, (timer_id for timer_id in stored if timer_id not in waiting))
    existing = ctx.repo.projection_rows(Timer, (timer_id for timer_id in waiting if timer_id in stored))
    for timer_id, task in waiting.items():
        due_at = timer_due(task)
        if due_at is None:
            continue
        deadline = matching_deadline(task, task.internal_data.get("event_value", ""))
        name = task.task_spec.bpmn_name or task.task_spec.bpmn_id
        facts = {"due_at": due_at, "bpmn_id": task.task_spec.bpmn_id, "name": name,
                 "provisional": bool(deadline and deadline.get("provisional")), "deadline": deadline}
        row = existing.get(timer_id)
        if row is not None:
            for key, value in facts.items():
                setattr(row, key, value)
            continue
        new_rows.append({"id": timer_id, "instance_id": ctx.instance.id, "case_id": ctx.case_id, "armed_at": ctx.now,
                         **facts})
        ctx.audit("timer_armed", f"定时事件：{name}，到期 {due_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
                  bpmn_id=facts["bpmn_id"], due=due_at.isoformat(), deadline=deadline)
