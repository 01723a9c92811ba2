"""One shard of one version's simulation: some of the synthetic cases run through the service on the virtual clock,
in a scratch database of its own (workflows/simulation.py says what the simulation is; workflows/simulation_workers.py
splits the cases over processes and puts the shards' results together).

Cases do not see each other, so a shard's cases take the same course whichever other cases share its database: every
random draw is keyed by (seed, case, step, occurrence); a case's number is the one it gets when all cases run in one
database (`case_numbers`); and a timer due within a second fires at the start of the next second, which does not
depend on the other cases' timers.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import statistics
import time as timer
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, event, func, literal, null, select, text, union_all

from adapters.outside.db import (
    READ_ONLY,
    AuditEvent,
    Document,
    Filing,
    HumanTask,
    Instance,
    MessageWait,
    ProcessDefinition,
    Timer,
)
from adapters.outside.db import Sequence as SequenceRow
from tasks.calendar import SHANGHAI
from tasks.errors import BeianError
from workflows import clock
from workflows.definitions import DefinitionSource
from workflows.messages import MESSAGES
from workflows.on_progress import OnProgress, no_progress
from workflows.scratch import Scratch
from workflows.simulation_plan import Arrival, Plan
from workflows.simulation_profile import OfficeTime, Profile, checked, choose, generate
from workflows.simulation_report import STEP_LABELS

# The engine steps the run counts, by how the run drives the service (the report names them in Chinese).
STEP_KINDS = tuple(STEP_LABELS)
ACTOR = "模拟"
# The counter `new_case_id` takes a filing application's number from, by the year it was received.
CASE_COUNTER = "case:{year}"


@dataclass
class _Case:
    index: int
    case_id: str
    instance_id: int
    received_at: datetime
    applicant: str
    tasks: set[str] = field(default_factory=set)  # human task ids already scheduled
    waits: set[str] = field(default_factory=set)  # message waits already decided
    occurrences: Counter[str] = field(default_factory=Counter)
    # What the case waits on now, as the last refresh after its last step read it: every step on a case is followed
    # by a refresh, so the events need not ask the database again whether their task or wait is still open.
    open_tasks: dict[str, datetime | None] = field(default_factory=dict)  # task id → due
    open_waits: set[str] = field(default_factory=set)
    error: str | None = None


@dataclass
class ShardResult:
    """What one shard measured, to be put together with the other shards of its version."""

    records: list[dict[str, Any]]  # one per case, with its arrival index under "index"
    open_overdue: Counter[str]
    late: Counter[str]
    escalations: int
    steps: Counter[str]
    messages_sent: Counter[str]
    messages_dropped: Counter[str]
    state_bytes: list[int]  # each case's stored engine state at the end, in UTF-8 bytes
    engine_cpu: float
    engine_wall: float
    cpu: float  # this shard's whole run on CPU time: preparing, bookkeeping and steps
    seconds: float  # and on the wall clock


# A counter set to a value, made if missing, in one statement (a scratch database is always SQLite). Text, as the
# repository's upserts are: SQLAlchemy's INSERT … ON CONFLICT construct would be compiled at every arrival.
_SET_COUNTER = text(f"INSERT INTO {SequenceRow.__tablename__} (name, value) VALUES (:name, :value) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value")

# What a case waits on, as `_refresh` reads it in one statement: its open tasks, armed timers and message waits (the
# projections), only the columns the schedule needs. (kind, id, BPMN element or message, opened or due, due)
_WAITS_ON = union_all(
    select(literal("task"), HumanTask.id, HumanTask.bpmn_id, HumanTask.created_at, HumanTask.due_at)
    .where(HumanTask.instance_id == bindparam("instance")),
    select(literal("timer"), Timer.id, Timer.bpmn_id, Timer.due_at, Timer.due_at)
    .where(Timer.instance_id == bindparam("instance")),
    select(literal("wait"), MessageWait.id, MessageWait.message, MessageWait.since, null())
    .where(MessageWait.instance_id == bindparam("instance")),
)


def as_scratch(app: Any) -> None:
    """A scratch database is thrown away after the run: no fsync at commit (a crash loses only the scratch run). Set
    on every connection, the ones the application may have opened already included (the pool is emptied)."""
    event.listen(app.engine, "connect", _scratch_pragmas)
    app.engine.dispose()


def _scratch_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


class ShardRun:
    """Some cases of one version, in their own scratch database."""

    def __init__(self, source: DefinitionSource, label: str, plan: Plan, profile: Profile, arrivals: list[Arrival],
                 case_numbers: dict[int, int], seed: int, window: tuple[datetime, datetime], horizon: datetime,
                 database_url: str, scratch: Scratch,
                 on_progress: OnProgress = no_progress) -> None:
        self.source, self.label, self.plan, self.profile, self.arrivals = source, label, plan, profile, arrivals
        self.case_numbers = case_numbers  # arrival index → its number among the applications received that year
        self.counters: dict[str, int] = {}  # the case counters as this shard's database holds them
        self.window_start, self.until_end = window  # --from at 00:00, the day after --until at 00:00
        self.seed, self.horizon, self.database_url, self.scratch = seed, horizon, database_url, scratch
        self.on_progress = on_progress
        self.heap: list[tuple[datetime, int, str, Any]] = []
        self.sequence = 0
        self.cases: dict[str, _Case] = {}
        self.sweeps: set[datetime] = set()
        self.late: Counter[str] = Counter()
        # Engine steps by kind (each one service call that ran the engine on a case and committed, failed ones
        # included: their failure is recorded too), and the time spent inside those calls only.
        self.steps: Counter[str] = Counter({kind: 0 for kind in STEP_KINDS})
        self.engine_cpu = 0.0
        self.engine_wall = 0.0
        self.messages_sent: Counter[str] = Counter()
        self.messages_dropped: Counter[str] = Counter()
        self.messages_withheld: dict[str, str] = {}  # wait id → message the profile says never comes

    def _push(self, when: datetime, kind: str, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.heap, (when, self.sequence, kind, payload))

    def _rng(self, case: _Case, *key: object) -> random.Random:
        return random.Random("|".join(str(k) for k in (self.seed, case.index, *key)))

    @contextlib.contextmanager
    def _engine(self) -> Iterator[None]:
        """Time one service call: CPU time (this process's: other work on the machine hardly moves it), wall time."""
        cpu, wall = timer.process_time(), timer.perf_counter()
        try:
            yield
        finally:
            self.engine_cpu += timer.process_time() - cpu
            self.engine_wall += timer.perf_counter() - wall

    def run(self) -> ShardResult:
        from workflows.engine import load_calendar
        from workflows.service import Beian

        started, started_cpu = timer.perf_counter(), timer.process_time()
        self.app = Beian(self.database_url)
        as_scratch(self.app)
        # The simulator's own reads, straight on a connection (no session): one follows every step.
        self.reader = self.app.engine.execution_options(**{READ_ONLY: True})
        try:
            self._prepare()
            with self.app.reading() as uow:
                calendar = load_calendar(uow)
            self.office = OfficeTime(calendar, self.profile.office_start, self.profile.office_end)
            for arrival in self.arrivals:
                self._push(arrival.received_at, "arrive", arrival)
            days = (self.horizon - self.window_start).days
            reported = -1
            while self.heap and self.heap[0][0] <= self.horizon:
                when, _, kind, payload = heapq.heappop(self.heap)
                if (day := max(0, (when - self.window_start).days)) != reported:  # simulated days, not events
                    self.on_progress(day, days, self.label)
                    reported = day
                with clock.using_clock(clock.VirtualClock(when)):
                    getattr(self, f"_on_{kind}")(when, payload)
            self.on_progress(days, days, self.label)
            result = self._result()
        finally:
            self.app.close()
        result.cpu = timer.process_time() - started_cpu
        result.seconds = timer.perf_counter() - started
        return result

    def _prepare(self) -> None:
        """Schema, bundled definitions, the user's holiday arrangements and added roles, and this version as the
        latest."""
        from workflows.database_clock import mark_practice

        source = self.source
        before = self.arrivals[0].received_at - timedelta(days=1) if self.arrivals else self.horizon
        with clock.using_clock(clock.VirtualClock(before)):
            self.app.init(actor=ACTOR)
            mark_practice(self.app, ACTOR)  # a scratch database of the virtual clock (workflows/database_clock.py)
            with self.app.uow() as uow:
                self.scratch.put_into(uow)
            with self.app.uow() as uow:
                latest = uow.repo.latest_definition(source.process_id)
                if latest is None or latest.sha256 != source.sha256:
                    uow.repo.add(ProcessDefinition(
                        process_id=source.process_id, version=(latest.version + 1) if latest else 1, name=source.name,
                        file_name=source.file_name, bpmn_xml=source.bpmn_xml, forms=source.forms,
                        sha256=source.sha256, deployed_at=clock.now(), deployed_by=ACTOR))
                uow.commit()

    # -- events --

    def _number_next_case(self, when: datetime, arrival: Arrival) -> None:
        """Let the next application take the number it gets when every case runs in one database (one write when
        other shards' cases came in between; none when this shard has every case, or the one before it)."""
        name = CASE_COUNTER.format(year=when.astimezone(SHANGHAI).year)
        number = self.case_numbers[arrival.index]
        if self.counters.get(name, 0) != number - 1:
            with self.app.engine.begin() as connection:
                connection.execute(_SET_COUNTER, {"name": name, "value": number - 1})
        self.counters[name] = number

    def _on_arrive(self, when: datetime, arrival: Arrival) -> None:
        self._number_next_case(when, arrival)
        with self._engine():
            result = self.app.cases.apply(arrival.application, received_at=when, actor=f"{ACTOR}-申请机构")
        self.steps["apply"] += 1
        case = _Case(arrival.index, result["case"], result["instance"], when, arrival.applicant.label)
        self.cases[case.case_id] = case
        self._refresh(case)

    def _on_complete(self, when: datetime, item: tuple[str, str, str]) -> None:
        case_id, task_id, bpmn_id = item
        case = self.cases[case_id]
        if case.error:
            return
        if task_id not in case.open_tasks:  # the task went away (e.g. cancelled by a boundary event): nothing to do
            return
        due = case.open_tasks[task_id]
        plan = self.plan.tasks[bpmn_id]
        chosen = {path: values[choose(weights, self._rng(case, bpmn_id, case.occurrences[task_id], path))]
                  for path, (weights, values) in plan.choices.items()}
        data = checked(plan.schema, generate(plan.schema or {}, chosen, when, plan.name),
                       f"任务“{plan.name}”（{bpmn_id}）")
        try:
            with self._engine():
                self.app.cases.complete(task_id, data, actor=f"{ACTOR}-{plan.role or '办事员'}")
        except BeianError as exc:
            case.error = exc.message
            return
        finally:
            self.steps["complete"] += 1
        if due is not None and when >= due:
            self.late[bpmn_id] += 1
        self._refresh(case)

    def _on_send(self, when: datetime, item: tuple[str, str, str]) -> None:
        case_id, wait_id, message = item
        case = self.cases[case_id]
        if case.error:
            return
        if wait_id not in case.open_waits:  # the case moved on (e.g. the publicity ended before the objection came)
            self.messages_dropped[message] += 1
            return
        chosen = {path: values[choose(weights, self._rng(case, "message", wait_id, path))]
                  for path, (weights, values) in self.plan.message_choices[message].items()}
        schema = self.plan.definition.message_schema(message)
        payload = checked(schema, generate(schema or {}, chosen, when, message), f"消息“{message}”")
        try:
            with self._engine():
                self.app.cases.send(message, case_id, payload, actor=f"{ACTOR}-外部")
        except BeianError as exc:
            case.error = exc.message
            return
        finally:
            self.steps["send"] += 1
        self.messages_sent[message] += 1
        self._refresh(case)

    def _on_sweep(self, when: datetime, _: None) -> None:
        # A sweep that fires nothing (its timer went with a completed task) still counts in the engine's time.
        with self._engine():
            result = self.app.operations.sweep(max_attempts=3, actor=f"{ACTOR}-定时")
        for item in result["fired"] + result["failed"]:
            self.steps["timer"] += 1
            case = self.cases.get(item["case"])
            if case is None:
                continue
            if "error" in item:
                case.error = item["error"]
            else:
                self._refresh(case)

    # -- what comes next for a case --

    def _refresh(self, case: _Case) -> None:
        """Read what the case waits on after a step (one read of its three projections) and schedule what comes
        next: a task's completion, a sweep for a timer, an outside message."""
        with self.reader.connect() as connection:
            rows = connection.execute(_WAITS_ON, {"instance": case.instance_id}).all()
        tasks = [(id_, bpmn_id, opened, due) for kind, id_, bpmn_id, opened, due in rows if kind == "task"]
        dues = [due for kind, _, _, due, _ in rows if kind == "timer"]
        waits = [(id_, message, since) for kind, id_, message, since, _ in rows if kind == "wait"]
        case.open_tasks = {task_id: due for task_id, _, _, due in tasks}
        case.open_waits = {wait_id for wait_id, _, _ in waits}
        for task_id, bpmn_id, opened, _due in tasks:
            if task_id in case.tasks or bpmn_id not in self.plan.tasks:
                continue
            case.tasks.add(task_id)
            occurrence = case.occurrences[bpmn_id]
            case.occurrences[bpmn_id] += 1
            case.occurrences[task_id] = occurrence
            hours = self.plan.tasks[bpmn_id].duration.draw_hours(
                self._rng(case, bpmn_id, occurrence, "duration"), self.profile.hours_per_day)
            self._push(self.office.add(aware(opened), hours), "complete", (case.case_id, task_id, bpmn_id))
        for due in dues:
            # The sweep fires timers due strictly before its now: the start of the second after the due one, so the
            # instant a timer fires does not depend on which other cases' timers share the database.
            fire_at = aware(due).replace(microsecond=0) + timedelta(seconds=1)
            if fire_at not in self.sweeps:
                self.sweeps.add(fire_at)
                self._push(fire_at, "sweep", None)
        for wait_id, message, since in waits:
            if wait_id in case.waits:
                continue
            case.waits.add(wait_id)
            behaviour = self.plan.messages.get(message)
            occurrence = case.occurrences[f"message:{message}"]
            case.occurrences[f"message:{message}"] += 1
            rng = self._rng(case, "message", message, occurrence)
            if behaviour is None or rng.random() >= behaviour.probability:
                self.messages_withheld[wait_id] = message
                continue
            hours = behaviour.delay.draw_hours(rng, self.profile.hours_per_day)
            self._push(self.office.add(aware(since), hours), "send", (case.case_id, wait_id, message))

    # -- what the shard saw --

    def _result(self) -> ShardResult:
        from workflows.operators import STATUSES

        pending_sends = {item[1] for _, _, kind, item in self.heap if kind == "send"}
        records: list[dict[str, Any]] = []
        open_overdue: Counter[str] = Counter()
        state_bytes: list[int] = []
        with self.app.reading() as uow:
            end = _EndOfRun.read(uow, list(self.cases))
        for case in self.cases.values():
            instance = end.instances[case.case_id]
            state_bytes.append(len(instance.state.encode("utf-8")))
            open_tasks = end.tasks.get(case.instance_id, [])
            for task in open_tasks:
                if task.due_at is not None and aware(task.due_at) <= self.horizon:
                    open_overdue[task.bpmn_id] += 1
            record: dict[str, Any] = {"index": case.index, "case": case.case_id, "applicant": case.applicant,
                                      "received_at": local(case.received_at), "status": instance.status,
                                      "status_label": STATUSES.get(instance.status, instance.status)}
            if instance.completed_at is not None:
                record["ended_at"] = local(instance.completed_at)
                filing = end.filing_of(instance)
                if filing is not None:
                    issued = aware(filing.issued_at)
                    record.update(outcome="filed", filed_at=local(issued),
                                  calendar_days=round((issued - case.received_at).total_seconds() / 86400, 2),
                                  working_days=round(self.office.between(case.received_at, issued)
                                                     / self.profile.hours_per_day, 2))
                else:
                    # Ended without a receipt: named by the last notice it was issued (不予受理, 不予备案).
                    title = end.last_document.get(case.case_id)
                    record.update(outcome="ended",
                                  ending=title.removesuffix("通知书") if title else record["status_label"])
            else:
                waits = end.waits.get(case.instance_id, [])
                reason = _stuck_reason(case, instance.error, open_tasks, case.instance_id in end.timed, waits,
                                       pending_sends, self.messages_withheld)
                record.update(outcome="stuck" if reason else "in_progress")
                if reason:
                    record["stuck_reason"] = reason
                record["waiting_for"] = [t.name for t in open_tasks] + [w.message for w in waits]
            records.append(record)
        return ShardResult(records, open_overdue, self.late, end.escalations, self.steps, self.messages_sent,
                           self.messages_dropped, state_bytes, self.engine_cpu, self.engine_wall, 0.0, 0.0)


@dataclass
class _EndOfRun:
    """What a shard's database holds at the horizon, read table by table in a few statements (not case by case):
    the simulated cases, the filings, and the open tasks, timers and message waits of every instance."""

    instances: dict[str, Any]  # case → (id, status, completed_at, error, filing_id, state)
    filings_by_id: dict[int, Any]  # filing id → (id, case_id, issued_at)
    filings_by_case: dict[str, Any]  # the case a filing was created by → that filing (the first)
    tasks: dict[int, list[Any]]  # instance id → its open tasks (bpmn_id, name, due_at), as the table holds them
    timed: set[int]  # instances with an armed timer
    waits: dict[int, list[Any]]  # instance id → its message waits (id, message)
    last_document: dict[str, str]  # case → the title of the last document issued on it
    escalations: int

    @classmethod
    def read(cls, uow: Any, case_ids: list[str]) -> _EndOfRun:
        session, wanted = uow.session, set(case_ids)
        instances = {row.case_id: row for row in session.execute(select(
            Instance.case_id, Instance.id, Instance.status, Instance.completed_at, Instance.error, Instance.filing_id,
            Instance.state)) if row.case_id in wanted}
        filings_by_id: dict[int, Any] = {}
        filings_by_case: dict[str, Any] = {}
        for row in session.execute(select(Filing.id, Filing.case_id, Filing.issued_at).order_by(Filing.id)):
            filings_by_id[row.id] = row
            filings_by_case.setdefault(row.case_id, row)
        tasks: dict[int, list[Any]] = {}
        for row in session.execute(select(HumanTask.instance_id, HumanTask.bpmn_id, HumanTask.name,
                                          HumanTask.due_at)):
            tasks.setdefault(row.instance_id, []).append(row)
        waits: dict[int, list[Any]] = {}
        for row in session.execute(select(MessageWait.instance_id, MessageWait.id, MessageWait.message)):
            waits.setdefault(row.instance_id, []).append(row)
        last_document = {row.case_id: row.title for row in session.execute(
            select(Document.case_id, Document.title).order_by(Document.id))}
        escalations = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "escalated", AuditEvent.case_id.in_(case_ids))) or 0
        return cls(instances, filings_by_id, filings_by_case, tasks, set(session.scalars(select(Timer.instance_id))),
                   waits, last_document, escalations)

    def filing_of(self, instance: Any) -> Any:
        """The filing a case created or concerns (as Repository.filing_for_case finds it)."""
        if instance.filing_id is not None:
            return self.filings_by_id.get(instance.filing_id)
        return self.filings_by_case.get(instance.case_id)


def _stuck_reason(case: _Case, error: str | None, tasks: list[Any], timed: bool, waits: list[Any],
                  pending_sends: set[str], withheld: dict[str, str]) -> str | None:
    """Why an open case will not move any more, or None when something will still move it (a caseworker's task,
    a timer, a message on its way)."""

    if case.error or error:
        return f"流程出错：{case.error or error}"
    if tasks or timed or any(w.id in pending_sends for w in waits):
        return None
    if waits:
        labels = "、".join(dict.fromkeys(MESSAGES.get(w.message, w.message) for w in waits))
        return f"等待外部消息（{labels}），按模拟配置不会到达"
    return "没有待办、定时事件或等待中的消息，流程无法继续"


def spread(values: list[float]) -> dict[str, float | None]:
    """Median, 90th percentile (nearest rank) and mean, rounded to 2 places; None for no values."""
    if not values:
        return {"median": None, "p90": None, "mean": None}
    ordered = sorted(values)
    p90 = ordered[max(1, -(-len(ordered) * 9 // 10)) - 1]  # nearest rank: a value some case really had
    return {"median": round(statistics.median(ordered), 2), "p90": round(p90, 2),
            "mean": round(statistics.fmean(ordered), 2)}


def aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)


def local(value: datetime) -> str:
    return aware(value).astimezone(SHANGHAI).isoformat(timespec="seconds")
