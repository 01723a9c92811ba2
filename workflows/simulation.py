"""What-if simulation (`beian simulate`): synthetic cases run through one or more versions of a process on the
virtual clock, so a process owner can compare versions before deploying.

Each version runs in its own scratch SQLite database in a temporary directory, with that version deployed as the
process's latest definition, through the same service layer as real work (`Beian.apply`, `complete`, `send`,
`sweep`). The user's database is only read (its deployed versions and loaded holiday arrangements).

The run is a discrete-event simulation: a heap of the next events (an application arrives, a caseworker completes a
task, an outside party sends a message, a timer falls due); the virtual clock jumps from one to the next. Every
random draw is keyed by (seed, case, step, occurrence), not taken from one shared stream, so the same case gets the
same durations and decisions in every version: a difference in the figures comes from the change to the process,
not from the luck of the draw. `docs/simulation.md` documents the profile and every figure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import random
import statistics
import tempfile
import time as timer
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters.outside.db import AuditEvent, CalendarYear, Document, ProcessDefinition
from adapters.outside.settings import outside_systems_off
from tasks.calendar import SHANGHAI
from tasks.errors import BeianError, DefinitionError, InvalidInput, NotFound
from workflows import clock
from workflows.definitions import DefinitionSource, bpmn_dir, read_source
from workflows.messages import MESSAGES
from workflows.on_progress import OnProgress, no_progress
from workflows.simulation_plan import Arrival, Plan, plan_arrivals, plan_for
from workflows.simulation_profile import (
    OfficeTime,
    Profile,
    checked,
    choose,
    generate,
)
from workflows.simulation_report import STEP_LABELS, difference

DEFAULT_SEED = 20260101
MAX_CASES = 5000
SIMULATABLE = {"filing_application"}
# The engine steps the run counts, by how the run drives the service (the report names them in Chinese).
STEP_KINDS = tuple(STEP_LABELS)
_ACTOR = "模拟"
# Where the simulation runs, as the report says it: never on the database it reads the versions from.
SCRATCH_DATABASES = "每个版本一个临时练习数据库（SQLite，运行后删除）；--db 只读取已部署的版本与节假日安排"


# --- which versions -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One version to simulate: deployed in the user's database, a file not deployed yet, or the bundled file.

    It is named by what it is (`label`: "第 1 版（已部署，filing_application.bpmn）", "文件 bpmn/x.bpmn（未部署）"), so
    a process owner reading the report knows which column is which without looking back at the command line."""

    name: str  # "第 1 版", "文件 bpmn/x.bpmn" (the path as given), "内置文件 filing_application.bpmn"
    notes: tuple[str, ...]  # what else tells it apart: "已部署", its file, "未部署", a hash prefix, a repeat
    heading: str  # short, for a table column beside its number: "第 1 版", "文件 x.bpmn"
    origin: str  # "deployed" | "file" | "bundled"
    version: int | None
    file: str | None
    source: DefinitionSource

    @property
    def label(self) -> str:
        return f"{self.name}（{'，'.join(self.notes)}）" if self.notes else self.name

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "heading": self.heading, "origin": self.origin, "version": self.version,
                "file": self.file, "file_name": self.source.file_name, "sha256": self.source.sha256}


def _deployed_variant(number: int, source: DefinitionSource) -> Variant:
    notes = ("已部署", source.file_name) if source.file_name else ("已部署",)
    return Variant(f"第 {number} 版", notes, f"第 {number} 版", "deployed", number, None, source)


def _file_variant(given: str, source: DefinitionSource, deployed: Deployed) -> Variant:
    # A file identical to a deployed version is not "a version not deployed yet": saying so spares the process owner
    # comparing a version with itself by mistake (e.g. the edit was not saved).
    same = sorted(number for number, d in deployed.versions.items() if d.sha256 == source.sha256)
    note = f"与已部署的第 {'、'.join(str(n) for n in same)} 版内容相同" if same else "未部署"
    return Variant(f"文件 {given}", (note,), f"文件 {Path(given).name}", "file", None, given, source)


def _distinct(variants: list[Variant]) -> list[Variant]:
    """Variants that would read the same are told apart by what differs: their content (a hash prefix, as
    `beian bpmn versions` shows it) when a file changed between two reads, else which run of the same thing it is."""
    labels = Counter(v.label for v in variants)
    hashes = {label: {v.source.sha256 for v in variants if v.label == label} for label in labels}
    repeats = Counter((v.label, v.source.sha256) for v in variants)
    seen: Counter[tuple[str, str]] = Counter()
    named = []
    for v in variants:
        key = (v.label, v.source.sha256)
        extra: tuple[str, ...] = ()
        if labels[v.label] > 1 and len(hashes[v.label]) > 1:
            extra += (f"sha256 {v.source.sha256[:12]}",)
        if repeats[key] > 1:
            seen[key] += 1
            extra += (f"第 {seen[key]} 次运行",)
        named.append(dataclasses.replace(v, notes=v.notes + extra) if extra else v)
    # Short column headings of different things that collide (two files of the same name in different folders) fall
    # back to the name; a repeat of the same thing keeps its heading (its number and the legend tell them apart).
    names = {heading: {v.name for v in named if v.heading == heading} for heading in {v.heading for v in named}}
    return [dataclasses.replace(v, heading=v.name) if len(names[v.heading]) > 1 else v for v in named]


@dataclass(frozen=True)
class Deployed:
    """What the simulation reads from the user's database."""

    versions: dict[int, DefinitionSource]
    calendar_years: list[dict[str, Any]]


def read_deployed(database_url: str | None, process: str) -> Deployed:
    """The deployed versions of `process` and the loaded holiday arrangements, read without writing anything: a
    SQLite file is opened read-only (and not created when missing); a database without the tables has none."""
    if not database_url:
        return Deployed({}, [])
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not url.database or not path.is_file():
            return Deployed({}, [])
        engine = create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    else:
        text_url = database_url
        if text_url.startswith("postgresql://"):
            text_url = "postgresql+psycopg://" + text_url.removeprefix("postgresql://")
        engine = create_engine(text_url)
    table = ProcessDefinition
    columns = (table.process_id, table.version, table.name, table.file_name, table.bpmn_xml, table.forms, table.sha256)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(*columns).where(ProcessDefinition.process_id == process)).all()
            versions = {row.version: DefinitionSource(row.process_id, row.name, row.file_name, row.bpmn_xml, row.forms,
                                                      row.sha256) for row in rows}
            try:
                years = [dict(r) for r in connection.execute(select(
                    CalendarYear.year, CalendarYear.arrangement, CalendarYear.source, CalendarYear.loaded_at,
                    CalendarYear.loaded_by)).mappings().all()]
            except SQLAlchemyError:
                years = []
    except SQLAlchemyError:  # not initialised (no tables): nothing deployed there
        return Deployed({}, [])
    finally:
        engine.dispose()
    return Deployed(versions, years)


def resolve_variants(process: str, requested: Sequence[tuple[str, str]], deployed: Deployed) -> list[Variant]:
    """The versions to run, in the order asked: ("version", "3") from the database, ("file", PATH) not deployed.
    Nothing asked: the latest deployed version, else the bundled file."""
    from workflows.bpmn_check import check_source, has_errors
    from workflows.lifecycle import PROCESS_LABELS

    known = set(PROCESS_LABELS) | {p.stem for p in bpmn_dir().glob("*.bpmn")}
    if process not in known and not deployed.versions:
        raise NotFound(f"未知的流程“{process}”；已知的流程：{'、'.join(sorted(known))}")
    if process not in SIMULATABLE:
        label = PROCESS_LABELS.get(process, process)
        raise InvalidInput(
            f"流程“{process}”（{label}）不能单独模拟：它依附于一件已取得的备案，由备案后的事件（续期申请、变更报告、"
            "违规线索、有效期届满等）启动，合成案件无法给出有意义的结果。目前可模拟的流程：filing_application"
            "（职业技能等级评价机构备案申请，由机构提交申请启动）")
    variants: list[Variant] = []
    for kind, value in requested:
        if kind == "version":
            try:
                number = int(value)
            except ValueError:
                raise InvalidInput(f"--version 应为版本号（整数），实为“{value}”") from None
            if number not in deployed.versions:
                have = "、".join(f"第 {v} 版" for v in sorted(deployed.versions)) or "没有任何已部署的版本"
                raise NotFound(f"数据库中没有流程 {process} 的第 {number} 版（该数据库中：{have}）")
            variants.append(_deployed_variant(number, deployed.versions[number]))
        else:
            path = Path(value)
            if not path.is_file():
                raise NotFound(f"BPMN 文件 {path} 不存在")
            source = read_source(path)
            if source.process_id != process:
                raise InvalidInput(f"文件 {path.name} 定义的是流程 {source.process_id}，不是 {process}")
            findings = check_source(source.bpmn_xml, source.file_name, source.forms)
            if has_errors(findings):
                errors = [f.message for f in findings if f.severity == "error"]
                raise DefinitionError(f"{path.name} 有 {len(errors)} 处错误，不能模拟：" + "；".join(errors),
                                      problems=errors)
            variants.append(_file_variant(value, source, deployed))
    if not variants:
        if deployed.versions:
            latest = max(deployed.versions)
            variants.append(_deployed_variant(latest, deployed.versions[latest]))
        else:
            path = bpmn_dir() / f"{process}.bpmn"
            variants.append(Variant(f"内置文件 {path.name}", ("未部署",), f"内置 {path.name}", "bundled", None,
                                    str(path), read_source(path)))
    return _distinct(variants)


# --- one version's run -------------------------------------------------------------------------------------------


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
    error: str | None = None


class VariantRun:
    """One version, in its own scratch database."""

    def __init__(self, variant: Variant, plan: Plan, profile: Profile, arrivals: list[Arrival], seed: int,
                 window: tuple[datetime, datetime], horizon: datetime, database_url: str,
                 calendar_years: list[dict[str, Any]], on_progress: OnProgress = no_progress) -> None:
        self.variant, self.plan, self.profile, self.arrivals = variant, plan, profile, arrivals
        self.window_start, self.until_end = window  # --from at 00:00, the day after --until at 00:00
        self.seed, self.horizon, self.database_url, self.calendar_years = seed, horizon, database_url, calendar_years
        self.on_progress = on_progress
        self.heap: list[tuple[datetime, int, str, Any]] = []
        self.sequence = 0
        self.cases: dict[str, _Case] = {}
        self.sweeps: set[datetime] = set()
        self.late: Counter[str] = Counter()
        # Engine steps by kind (each one service call that ran the engine on a case and committed, failed ones
        # included: their failure is recorded too), and the time spent inside those calls only, so the steps per
        # second measure the engine and database, not preparing the scratch database or the simulation's own reads.
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

    def run(self) -> dict[str, Any]:
        from workflows.engine import load_calendar
        from workflows.service import Beian

        started = timer.perf_counter()
        self.app = Beian(self.database_url)
        try:
            self._prepare()
            with self.app.uow() as uow:
                calendar = load_calendar(uow)
            self.office = OfficeTime(calendar, self.profile.office_start, self.profile.office_end)
            for arrival in self.arrivals:
                self._push(arrival.received_at, "arrive", arrival)
            days = (self.horizon - self.window_start).days
            label = f"模拟{self.variant.label}"
            reported = -1
            while self.heap and self.heap[0][0] <= self.horizon:
                when, _, kind, payload = heapq.heappop(self.heap)
                if (day := max(0, (when - self.window_start).days)) != reported:  # simulated days, not events
                    self.on_progress(day, days, label)
                    reported = day
                with clock.using_clock(clock.VirtualClock(when)):
                    getattr(self, f"_on_{kind}")(when, payload)
            self.on_progress(days, days, label)
            result = self._result()
        finally:
            self.app.close()
        result["seconds"] = round(timer.perf_counter() - started, 2)
        return result

    def _prepare(self) -> None:
        """Schema, bundled definitions, the user's holiday arrangements, and this version as the latest."""
        from workflows.database_clock import mark_practice

        source = self.variant.source
        before = self.arrivals[0].received_at - timedelta(days=1) if self.arrivals else self.horizon
        with clock.using_clock(clock.VirtualClock(before)):
            self.app.init(actor=_ACTOR)
            mark_practice(self.app, _ACTOR)  # a scratch database of the virtual clock (workflows/database_clock.py)
            with self.app.uow() as uow:
                for year in self.calendar_years:
                    uow.repo.add(CalendarYear(**year))
                latest = uow.repo.latest_definition(source.process_id)
                if latest is None or latest.sha256 != source.sha256:
                    uow.repo.add(ProcessDefinition(
                        process_id=source.process_id, version=(latest.version + 1) if latest else 1, name=source.name,
                        file_name=source.file_name, bpmn_xml=source.bpmn_xml, forms=source.forms,
                        sha256=source.sha256, deployed_at=clock.now(), deployed_by=_ACTOR))
                uow.commit()

    # -- events --

    def _on_arrive(self, when: datetime, arrival: Arrival) -> None:
        with self._engine():
            result = self.app.cases.apply(arrival.application, received_at=when, actor=f"{_ACTOR}-申请机构")
        self.steps["apply"] += 1
        case = _Case(arrival.index, result["case"], result["instance"], when, arrival.applicant.label)
        self.cases[case.case_id] = case
        self._refresh(case)

    def _on_complete(self, when: datetime, item: tuple[str, str, str]) -> None:
        case_id, task_id, bpmn_id = item
        case = self.cases[case_id]
        if case.error:
            return
        with self.app.uow() as uow:
            row = uow.repo.human_task(task_id)
            due = row.due_at if row is not None else None
        if row is None:  # the task went away (e.g. cancelled by a boundary event): nothing to do
            return
        plan = self.plan.tasks[bpmn_id]
        chosen = {path: values[choose(weights, self._rng(case, bpmn_id, case.occurrences[task_id], path))]
                  for path, (weights, values) in plan.choices.items()}
        data = checked(plan.schema, generate(plan.schema or {}, chosen, when, plan.name),
                       f"任务“{plan.name}”（{bpmn_id}）")
        try:
            with self._engine():
                self.app.cases.complete(task_id, data, actor=f"{_ACTOR}-{plan.role or '办事员'}")
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
        with self.app.uow() as uow:
            waiting = any(w.id == wait_id for w in uow.repo.message_waits(case.instance_id))
        if not waiting:  # the case moved on (e.g. the publicity ended before the objection came)
            self.messages_dropped[message] += 1
            return
        chosen = {path: values[choose(weights, self._rng(case, "message", wait_id, path))]
                  for path, (weights, values) in self.plan.message_choices[message].items()}
        schema = self.plan.definition.message_schema(message)
        payload = checked(schema, generate(schema or {}, chosen, when, message), f"消息“{message}”")
        try:
            with self._engine():
                self.app.cases.send(message, case_id, payload, actor=f"{_ACTOR}-外部")
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
            result = self.app.operations.sweep(max_attempts=3, actor=f"{_ACTOR}-定时")
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
        with self.app.uow() as uow:
            tasks = [(t.id, t.bpmn_id, t.created_at) for t in uow.repo.human_tasks(case.instance_id)]
            dues = [t.due_at for t in uow.repo.timers(case.instance_id)]
            waits = [(w.id, w.message, w.since) for w in uow.repo.message_waits(case.instance_id)]
        for task_id, bpmn_id, opened in tasks:
            if task_id in case.tasks or bpmn_id not in self.plan.tasks:
                continue
            case.tasks.add(task_id)
            occurrence = case.occurrences[bpmn_id]
            case.occurrences[bpmn_id] += 1
            case.occurrences[task_id] = occurrence
            hours = self.plan.tasks[bpmn_id].duration.draw_hours(
                self._rng(case, bpmn_id, occurrence, "duration"), self.profile.hours_per_day)
            self._push(self.office.add(_aware(opened), hours), "complete", (case.case_id, task_id, bpmn_id))
        for due in dues:
            fire_at = _aware(due) + timedelta(seconds=1)  # the sweep fires timers due strictly before its now
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
            self._push(self.office.add(_aware(since), hours), "send", (case.case_id, wait_id, message))

    # -- figures --

    def _result(self) -> dict[str, Any]:
        from workflows.operators import STATUSES

        pending_sends = {item[1] for _, _, kind, item in self.heap if kind == "send"}
        records: list[dict[str, Any]] = []
        open_overdue: Counter[str] = Counter()
        with self.app.uow() as uow:
            escalations = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "escalated", AuditEvent.case_id.in_(list(self.cases)))) or 0
            for case in self.cases.values():
                instance = uow.repo.instance(case.case_id)
                filing = uow.repo.filing_for_case(case.case_id)
                open_tasks = uow.repo.human_tasks(case.instance_id)
                for task in open_tasks:
                    if task.due_at is not None and _aware(task.due_at) <= self.horizon:
                        open_overdue[task.bpmn_id] += 1
                record: dict[str, Any] = {"case": case.case_id, "applicant": case.applicant,
                                          "received_at": _local(case.received_at), "status": instance.status,
                                          "status_label": STATUSES.get(instance.status, instance.status)}
                if instance.completed_at is not None:
                    record["ended_at"] = _local(instance.completed_at)
                    if filing is not None:
                        issued = _aware(filing.issued_at)
                        record.update(outcome="filed", filed_at=_local(issued),
                                      calendar_days=round((issued - case.received_at).total_seconds() / 86400, 2),
                                      working_days=round(self.office.between(case.received_at, issued)
                                                         / self.profile.hours_per_day, 2))
                    else:
                        record.update(outcome="ended", ending=self._ending(uow, case, record["status_label"]))
                else:
                    waits = uow.repo.message_waits(case.instance_id)
                    reason = _stuck_reason(case, instance.error, open_tasks, uow.repo.timers(case.instance_id),
                                           waits, pending_sends, self.messages_withheld)
                    record.update(outcome="stuck" if reason else "in_progress")
                    if reason:
                        record["stuck_reason"] = reason
                    record["waiting_for"] = [t.name for t in open_tasks] + [w.message for w in waits]
                records.append(record)
        return self._figures(records, open_overdue, escalations)

    def _ending(self, uow: Any, case: _Case, status_label: str) -> str:
        documents = uow.session.scalars(select(Document.title).where(Document.case_id == case.case_id)
                                        .order_by(Document.id)).all()
        return documents[-1].removesuffix("通知书") if documents else status_label

    def _engine_figures(self) -> dict[str, Any]:
        """How fast the engine went: steps per second of the time spent in the engine's calls, on CPU time (the
        headline: other load on the machine hardly moves it) and on wall time (which adds waiting for the disk and
        for other processes). None only if a clock measured no time at all."""
        steps = sum(self.steps.values())

        def rate(seconds: float) -> float | None:
            return round(steps / seconds, 1) if seconds > 0 else None

        return {"steps": steps, "steps_by_kind": dict(self.steps),
                "steps_per_second": rate(self.engine_cpu), "steps_per_wall_second": rate(self.engine_wall),
                "engine_seconds": {"cpu": round(self.engine_cpu, 3), "wall": round(self.engine_wall, 3)}}

    def _figures(self, records: list[dict[str, Any]], open_overdue: Counter[str], escalations: int) -> dict[str, Any]:
        filed = [r for r in records if r["outcome"] == "filed"]
        ended = [r for r in records if r["outcome"] != "filed" and "ended_at" in r]
        stuck = [r for r in records if r["outcome"] == "stuck"]
        # Receipts per 30 days while receipts were being issued: from --from to the last receipt. Cases that never
        # end (stuck) or end without a receipt do not stretch the period.
        first = self.window_start
        span_end = max((datetime.fromisoformat(r["filed_at"]) for r in filed), default=first)
        span_days = (span_end - first).total_seconds() / 86400
        names = {bpmn_id: plan.name for bpmn_id, plan in self.plan.tasks.items()}
        breaches = {bpmn_id: {"name": names.get(bpmn_id, bpmn_id), "completed_late": self.late[bpmn_id],
                              "open_overdue": open_overdue[bpmn_id]}
                    for bpmn_id in sorted(set(self.late) | set(open_overdue))}
        return {
            "variant": self.variant.to_dict(),
            "started": len(records),
            "filed": len(filed),
            "filed_by_until": sum(1 for r in filed if datetime.fromisoformat(r["filed_at"]) < self.until_end),
            "other_endings": dict(Counter(r["ending"] for r in ended).most_common()),
            "in_progress": sum(1 for r in records if r["outcome"] == "in_progress"),
            "stuck": len(stuck),
            "stuck_reasons": dict(Counter(r["stuck_reason"] for r in stuck).most_common()),
            "throughput_per_30_days": round(len(filed) / span_days * 30, 2) if span_days > 0 else 0.0,
            "throughput_span": {"from": _local(first), "until": _local(span_end), "days": round(span_days, 2)},
            "time_to_receipt": {"calendar_days": spread([r["calendar_days"] for r in filed]),
                                "working_days": spread([r["working_days"] for r in filed])},
            "breaches": {"total": sum(b["completed_late"] + b["open_overdue"] for b in breaches.values()),
                         "by_task": breaches, "escalations": escalations},
            "defaults_used": self.plan.defaults,
            "unprofiled_messages": self.plan.unprofiled_messages,
            "unused_profile_tasks": self.plan.unused_profile_tasks,
            "messages": {"sent": dict(self.messages_sent), "dropped_wait_over": dict(self.messages_dropped)},
            **self._engine_figures(),
            "cases": records,
        }


def _stuck_reason(case: _Case, error: str | None, tasks: list[Any], timers: list[Any], waits: list[Any],
                  pending_sends: set[str], withheld: dict[str, str]) -> str | None:
    """Why an open case will not move any more, or None when something will still move it (a caseworker's task,
    a timer, a message on its way)."""

    if case.error or error:
        return f"流程出错：{case.error or error}"
    if tasks or timers or any(w.id in pending_sends for w in waits):
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


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)


def _local(value: datetime) -> str:
    return _aware(value).astimezone(SHANGHAI).isoformat(timespec="seconds")


# --- the whole simulation ----------------------------------------------------------------------------------------


def simulate(process: str, *, cases: int, first: date, last: date, profile: Profile,
             requested: Sequence[tuple[str, str]] = (), database_url: str | None = None,
             seed: int = DEFAULT_SEED, on_progress: OnProgress = no_progress) -> dict[str, Any]:
    """Run `cases` synthetic applications received on the working days of [first, last] through each version and
    return the report (see docs/simulation.md); the run goes on after `last` until every case has ended, at most
    `profile.days_after_until` days."""
    if isinstance(cases, bool) or not isinstance(cases, int) or not 1 <= cases <= MAX_CASES:
        raise InvalidInput(f"案件数（--cases）应为 1 至 {MAX_CASES} 的整数，实为 {cases}")
    if last < first:
        raise InvalidInput(f"--until（{last.isoformat()}）早于 --from（{first.isoformat()}）")
    deployed = read_deployed(database_url, process)
    variants = resolve_variants(process, requested, deployed)
    plans = [plan_for(v.source, profile) for v in variants]
    until_end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    horizon = until_end + timedelta(days=profile.days_after_until)
    results = []
    with tempfile.TemporaryDirectory(prefix="beian-simulate-") as workdir, outside_systems_off():
        from tasks.calendar import WorkingDayCalendar, parse_arrangement

        calendar = WorkingDayCalendar({y["year"]: parse_arrangement(y["arrangement"]) for y in deployed.calendar_years})
        office = OfficeTime(calendar, profile.office_start, profile.office_end)
        arrivals = plan_arrivals(profile, office, cases, first, last, seed)
        for index, (variant, plan) in enumerate(zip(variants, plans, strict=True)):
            url = f"sqlite:///{Path(workdir) / f'variant-{index + 1}.sqlite3'}"
            window = (datetime.combine(first, time(0), tzinfo=SHANGHAI), until_end)
            results.append(VariantRun(variant, plan, profile, arrivals, seed, window, horizon, url,
                                      deployed.calendar_years, on_progress).run())
    return {
        "process": process,
        "cases": cases,
        "from": first.isoformat(),
        "until": last.isoformat(),
        "horizon": _local(horizon),
        "seed": seed,
        "profile": profile.source,
        "office_hours": f"{profile.office_start:%H:%M}-{profile.office_end:%H:%M}",
        "arrival_pattern": profile.arrival_pattern,
        "databases": SCRATCH_DATABASES,
        "versions": results,
        "differences": [difference(results[0], other) for other in results[1:]],
    }
