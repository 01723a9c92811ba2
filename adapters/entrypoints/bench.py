"""`beian bench`: figures for the README, measured on real code paths and printed as one JSON document.

(a) **One persisted step against bare SpiffWorkflow.** A fresh filing application is completed at its acceptance
    task ("accept": the case moves on to the expert review). Persisted = the service call a caseworker makes
    (`app.cases.complete`: lock and load the instance from a SQLite file, restore the state, run the engine, save state,
    projections and audit, commit). Bare = the same `BpmnWorkflow` calls in memory on the same restored workflow,
    with the same restricted script engine and expression functions, and no serialisation, no database. The ratio is
    what persistence and our engine layer cost on top of the library.
(b) **Finding due work does not grow with the number of instances.** One real application is made through the
    service; then N − 1 copies of its rows (instance, state, open task, timer projection) are bulk-inserted, a
    handful M with the timer due, the others due in the coming year. For each N the indexed due query
    (`Repository.due_cases`) is timed and its query plan read, then a real sweep (`workflows.sweep.sweep`) fires the M
    due timers. Copies get their own case numbers and SpiffWorkflow task ids, so each is a case the engine can step.
(c) **Delivery throughput.** K outbox rows for the national registry are delivered to the sandbox server over HTTP
    by `workflows.delivery.deliver_due`, and every one is checked as delivered (in the database and in the sandbox).
(d) **What an expression costs.** The kinds of expression the bundled diagrams hold (a gateway condition, a service
    parameter, a conditional value, a script), each evaluated many times over a real case's task data by the bounded
    interpreter (workflows/expressions), and by CPython's own eval/exec of the same source, compiled once, for
    comparison; both must give the same result.

Every instant comes from the virtual clock, so the figures do not depend on the day the bench runs. The databases
live in a temporary directory (deleted afterwards) unless `--db DIR` is given; `--postgres URL` also runs (b) on a
fresh database created on that server (a role allowed to CREATE DATABASE) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine, make_url

from adapters.entrypoints.demo import EXAMPLE
from adapters.outside.db import HumanTask, Instance, MessageWait, OutboxMessage, Timer
from tasks.calendar import SHANGHAI

if TYPE_CHECKING:
    from workflows.engine import StepContext
    from workflows.service import Beian

DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_DUE = 50
DEFAULT_STEPS = 200
DEFAULT_DELIVERIES = 1_000
FIND_REPETITIONS = 30
SWEEP_LIMIT = 1_000  # the sweep's own default batch
INSERT_BATCH = 1_000
DUE_INDEX = "ix_timers_due_at"
PROCESS = "filing_application"
ACCEPT = {"decision": "accept", "reasons": "材料齐全，予以受理"}

# A Monday in a month the bundled calendar knows: the acceptance deadline (10 working days) ends with 16 November.
RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI)
STEP_AT = RECEIVED + timedelta(days=1)  # the caseworker accepts the next day, well within the deadline
SWEEP_AT = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)  # after the deadline: the overdue timer is due
DELIVER_AT = SWEEP_AT

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PROJECTIONS = (HumanTask.__table__, Timer.__table__, MessageWait.__table__)

Say = Callable[[str], None]


class BenchError(ValueError):
    """Options the bench cannot run with (the message is for the person at the terminal)."""


# --- figures --------------------------------------------------------------------------------------------------

def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (a value that was measured, not an interpolation)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def _ms(seconds: Sequence[float]) -> dict[str, float]:
    values = [s * 1000 for s in seconds]
    return {"median": round(statistics.median(values), 3), "p90": round(_percentile(values, 0.9), 3),
            "min": round(min(values), 3), "max": round(max(values), 3)}


def machine_facts() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "spiffworkflow": importlib.metadata.version("SpiffWorkflow"),
        "sqlalchemy": importlib.metadata.version("SQLAlchemy"),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


# --- copies of a real case --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseTemplate:
    """The rows of one real case, ready to be copied many times.

    A copy gets its own case number and its own SpiffWorkflow task ids (the open task and the timer are primary keys
    named by task id): every UUID in the state and the projections is rewritten, `xxxxxxxx-` replaced by the copy's
    index in hex and the version digit set to 0, so a copy's ids never meet another copy's nor an original's
    (SpiffWorkflow's ids are version 4)."""

    case_id: str
    instance: dict[str, Any]  # the instance row without id, case_id and state
    state: str
    projections: dict[str, list[dict[str, Any]]]  # table name → the case's rows
    _pattern: re.Pattern[str]
    _parts: tuple[str, ...]  # the state split around UUIDs and the case number (odd positions)

    @classmethod
    def read(cls, engine: Engine, case_id: str) -> CaseTemplate:
        with engine.connect() as conn:
            row = dict(conn.execute(select(Instance.__table__).where(Instance.case_id == case_id)).mappings().one())
            projections = {table.name: [dict(r) for r in conn.execute(
                select(table).where(table.c.instance_id == row["id"])).mappings()] for table in _PROJECTIONS}
        state = row.pop("state")
        for column in ("id", "case_id"):
            row.pop(column)
        pattern = re.compile(f"({_UUID}|{re.escape(case_id)})")
        return cls(case_id, row, state, projections, pattern, tuple(pattern.split(state)))

    @staticmethod
    def case_of(index: int) -> str:
        return f"BENCH-{index:07d}"

    def _token(self, token: str, index: int) -> str:
        if token == self.case_id:
            return self.case_of(index)
        return f"{index:08x}{token[8:14]}0{token[15:]}"

    def copy_id(self, original: str, index: int) -> str:
        """The id in copy `index` of an id (or any text holding ids) of the template."""
        return self._pattern.sub(lambda m: self._token(m.group(0), index), original)

    def copy_state(self, index: int) -> str:
        parts = self._parts
        return "".join(part if i % 2 == 0 else self._token(part, index) for i, part in enumerate(parts))

    def task_id(self, bpmn_id: str) -> str:
        """The template's open human task `bpmn_id`."""
        ids = [r["id"] for r in self.projections[HumanTask.__tablename__] if r["bpmn_id"] == bpmn_id]
        if len(ids) != 1:
            raise RuntimeError(f"template case {self.case_id} has {len(ids)} open '{bpmn_id}' tasks")
        return ids[0]

    def timer_due(self) -> datetime:
        timers = self.projections[Timer.__tablename__]
        if len(timers) != 1:
            raise RuntimeError(f"template case {self.case_id} waits on {len(timers)} timers, expected 1")
        return timers[0]["due_at"]


def insert_copies(engine: Engine, template: CaseTemplate, indices: range,
                  timer_due: Callable[[int], datetime | None] = lambda _index: None) -> None:
    """Bulk-insert copies `indices` of the template (SQLAlchemy Core, one transaction per batch). `timer_due(index)`
    moves the copy's timer projection (None: keep the template's due time)."""
    with engine.connect() as conn:
        next_id = (conn.scalar(select(func.max(Instance.id))) or 0) + 1
    for start in range(indices.start, indices.stop, INSERT_BATCH):
        instances: list[dict[str, Any]] = []
        projections: dict[str, list[dict[str, Any]]] = {table.name: [] for table in _PROJECTIONS}
        for index in range(start, min(start + INSERT_BATCH, indices.stop)):
            case_id = template.case_of(index)
            instances.append({**template.instance, "id": next_id, "case_id": case_id,
                              "state": template.copy_state(index)})
            for name, rows in template.projections.items():
                for row in rows:
                    copy = {**row, "id": template.copy_id(row["id"], index), "instance_id": next_id,
                            "case_id": case_id}
                    if name == Timer.__tablename__ and (due := timer_due(index)) is not None:
                        copy["due_at"] = due
                    projections[name].append(copy)
            next_id += 1
        with engine.begin() as conn:
            conn.execute(insert(Instance.__table__), instances)
            for table in _PROJECTIONS:
                if projections[table.name]:
                    conn.execute(insert(table), projections[table.name])
    if engine.dialect.name == "postgresql":
        # Explicit ids do not move the id sequence; later inserts through the ORM must not collide with them.
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('instances', 'id'), "
                              "(SELECT max(id) FROM instances))"))


def _new_application(app: Beian) -> str:
    """One real filing application through the service layer, received at RECEIVED; returns its case."""
    from workflows import clock

    application = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    with clock.using_clock(clock.VirtualClock(RECEIVED)):
        return str(app.cases.apply(application, actor="bench")["case"])


def _initialised(url: str) -> Beian:
    from workflows import clock
    from workflows.database_clock import mark_practice
    from workflows.service import Beian

    app = Beian(url)
    with clock.using_clock(clock.VirtualClock(RECEIVED)):
        app.init(actor="bench")
        mark_practice(app, "bench")  # a scratch database of the virtual clock (workflows/database_clock.py)
    return app


# --- (a) one persisted step against bare SpiffWorkflow -----------------------------------------------------------

@dataclass(frozen=True)
class _BareContext:
    """What the expression functions read from a step: the working-day calendar and the instant."""

    calendar: Any
    now: datetime


def bench_step(url: str, steps: int, say: Say) -> dict[str, Any]:
    from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    from workflows import clock
    from workflows.definitions import bpmn_dir
    from workflows.engine import load_calendar, run_to_wait
    from workflows.expressions import script_engine
    from workflows.operators import expression_functions
    from workflows.state import dump_state, load_state

    warmup = min(20, max(3, steps // 10))
    total = warmup + steps
    app = _initialised(url)
    try:
        template = CaseTemplate.read(app.engine, _new_application(app))
        acceptance = template.task_id("acceptance")
        insert_copies(app.engine, template, range(total))

        persisted: list[float] = []
        statuses: set[str] = set()
        with clock.using_clock(clock.VirtualClock(STEP_AT)):
            for index in range(total):
                task_id = template.copy_id(acceptance, index)
                started = time.perf_counter()
                result = app.cases.complete(task_id, dict(ACCEPT), actor="bench")
                persisted.append(time.perf_counter() - started)
                statuses.add(result["status"])
        with app.uow() as uow:
            open_after = sorted(t.bpmn_id for t in uow.repo.open_tasks(template.case_of(0)))
            calendar = load_calendar(uow)

        # Bare: the library's own parser on the same file, the same restricted engine and expression functions;
        # service tasks answer in memory (the only one on this path, set_status, returns {} in the engine too).
        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_file(str(bpmn_dir() / f"{PROCESS}.bpmn"))
        spec, subprocess_specs = parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)
        services_called: set[str] = set()

        def services(operator: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
            services_called.add(operator)
            return {}

        functions = expression_functions(cast("StepContext", _BareContext(calendar, STEP_AT)))
        engine = script_engine(functions, services)
        bare: list[float] = []
        loads: list[float] = []
        dumps: list[float] = []
        bare_open: list[str] = []
        with clock.using_clock(clock.VirtualClock(STEP_AT)):
            for _ in range(total):
                started = time.perf_counter()
                workflow = load_state(template.state, spec, subprocess_specs)
                loads.append(time.perf_counter() - started)
                workflow.script_engine = engine
                started = time.perf_counter()
                run_to_wait(workflow)
                task = workflow.get_task_from_id(UUID(acceptance))
                task.data["acceptance"] = dict(ACCEPT)
                task.run()
                run_to_wait(workflow)
                bare.append(time.perf_counter() - started)
                started = time.perf_counter()
                dump_state(workflow)
                dumps.append(time.perf_counter() - started)
                bare_open = sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True))
    finally:
        app.close()

    persisted, bare, loads, dumps = persisted[warmup:], bare[warmup:], loads[warmup:], dumps[warmup:]
    figures = {
        "process": PROCESS,
        "step": "受理审查：予以受理（acceptance → expert_review）",
        "database": "sqlite file",
        "repetitions": steps,
        "warmup": warmup,
        "persisted_ms": _ms(persisted),
        "bare_ms": _ms(bare),
        "ratio": round(statistics.median(persisted) / statistics.median(bare), 2),
        "ratio_p90": round(_percentile(persisted, 0.9) / _percentile(bare, 0.9), 2),
        # Where the difference goes, measured in memory: restoring and serialising the state alone.
        "load_state_ms": _ms(loads)["median"],
        "dump_state_ms": _ms(dumps)["median"],
        "state_bytes": len(template.state.encode("utf-8")),
        "status_after": sorted(statuses),
        "open_after": open_after,
        "bare_open_after": bare_open,
        "bare_services_called": sorted(services_called),
        "same_outcome": open_after == bare_open and statuses == {"under_review"},
    }
    say(f"单步（{figures['step']}）：持久化 中位 {figures['persisted_ms']['median']} ms、"
        f"p90 {figures['persisted_ms']['p90']} ms；纯 SpiffWorkflow 内存 中位 {figures['bare_ms']['median']} ms → "
        f"{figures['ratio']} 倍（{steps} 次）")
    return figures


# --- (b) finding and sweeping due work among N instances ---------------------------------------------------------

@contextlib.contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) the engine sends while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def query_plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """The database's plan for exactly the statement the repository sent."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            return [str(row[-1]) for row in rows]
        return [str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()]


def _far_future(index: int) -> datetime:
    """Not-yet-due timers spread over the coming year (a realistic index, not one repeated value)."""
    return SWEEP_AT + timedelta(days=1, seconds=(index * 7919) % (365 * 86400))


def _check_sizes(sizes: Sequence[int], due: int) -> list[int]:
    ordered = sorted(set(sizes))
    if due < 1:
        raise BenchError("到期实例数 --due 至少为 1")
    if due > SWEEP_LIMIT:
        raise BenchError(f"到期实例数 --due 不能超过一次清扫的上限 {SWEEP_LIMIT}")
    if not ordered:
        raise BenchError("--sizes 至少给出一个实例数")
    previous = 0
    for size in ordered:
        # Each size adds M fresh due copies to what the previous size left (its M were swept).
        if size - previous < due:
            raise BenchError(f"实例数 {size} 与上一档 {previous} 相差不足到期数 {due}")
        previous = size
    return ordered


def bench_sweep(url: str, sizes: Sequence[int], due: int, say: Say, *, analyze: bool = False) -> dict[str, Any]:
    from adapters.outside.settings import Settings
    from workflows import clock
    from workflows.sweep import sweep

    max_attempts = Settings().sweep_max_attempts
    app = _initialised(url)
    engine = app.engine
    backend = engine.dialect.name
    levels: list[dict[str, Any]] = []
    try:
        template = CaseTemplate.read(engine, _new_application(app))
        real_due = template.timer_due()
        if real_due >= SWEEP_AT:
            raise RuntimeError(f"the template's timer is due {real_due}, not before the sweep at {SWEEP_AT}")
        alive, due_now, next_index = 1, 1, 0  # the real application is alive and its timer is due at SWEEP_AT
        for size in sizes:
            added = size - alive
            fresh_due = due - due_now
            first = next_index
            started = time.perf_counter()
            insert_copies(engine, template, range(first, first + added),
                          lambda index, first=first, fresh_due=fresh_due:
                          None if index - first < fresh_due else _far_future(index))
            insert_seconds = time.perf_counter() - started
            next_index += added
            alive = size
            if analyze:
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE"))

            with app.uow() as uow, _statements(engine) as sent:
                found = uow.repo.due_cases(SWEEP_AT, SWEEP_LIMIT, max_attempts)
            statement, parameters = next((s, p) for s, p in sent if "timers" in s and "due_at" in s)
            plan = query_plan(engine, statement, parameters)
            timings: list[float] = []
            with app.uow() as uow:
                uow.repo.due_cases(SWEEP_AT, SWEEP_LIMIT, max_attempts)  # the transaction's first statement
                for _ in range(FIND_REPETITIONS):
                    started = time.perf_counter()
                    uow.repo.due_cases(SWEEP_AT, SWEEP_LIMIT, max_attempts)
                    timings.append(time.perf_counter() - started)

            worklist = _worklist_timing(app)  # every copy has its open acceptance task: N open tasks
            with clock.using_clock(clock.VirtualClock(SWEEP_AT)):
                started = time.perf_counter()
                result = sweep(app, limit=SWEEP_LIMIT, max_attempts=max_attempts, actor="bench")
                sweep_seconds = time.perf_counter() - started
            with app.uow() as uow:
                left = len(uow.repo.due_cases(SWEEP_AT, SWEEP_LIMIT, max_attempts))
            due_now = left
            fired = [f for f in result["fired"] if "acceptance_overdue" in f["timers"]]
            level = {
                "n": size,
                "due": due,
                "found": len(found),
                "find_ms": _ms(timings),
                "plan": plan,
                "uses_due_index": any(DUE_INDEX in line for line in plan),
                "swept": len(fired),
                "failed": len(result["failed"]),
                "skipped": len(result["skipped"]),
                "left_due": left,
                "sweep_ms": round(sweep_seconds * 1000, 3),
                "sweep_ms_per_case": round(sweep_seconds * 1000 / max(1, len(result["fired"])), 3),
                "insert_seconds": round(insert_seconds, 2),
                "worklist": worklist,
            }
            if backend == "sqlite":
                level["database_mb"] = round(_sqlite_bytes(url) / 1e6, 1)
            levels.append(level)
            say(f"  {backend} N={size:>7}：查找 {level['find_ms']['median']:.3f} ms（找到 {len(found)}/{due}），"
                f"推进 {level['sweep_ms_per_case']:.1f} ms/件（{len(fired)} 件），"
                f"使用索引 {DUE_INDEX}：{'是' if level['uses_due_index'] else '否'}；"
                f"待办列表首页 {worklist['first_page_ms']['median']:.2f} ms（共 {worklist['open_tasks']} 件），"
                f"第 {WORKLIST_DEEP_PAGE} 页 {worklist['deep_page_ms']['median']:.2f} ms")
    finally:
        app.close()
    return {"backend": backend, "due": due, "limit": SWEEP_LIMIT, "max_attempts": max_attempts,
            "find_repetitions": FIND_REPETITIONS, "index": DUE_INDEX, "analyzed": analyze,
            "query_plan": levels[-1]["plan"] if levels else [],
            "uses_due_index": bool(levels) and levels[-1]["uses_due_index"], "sizes": levels}


WORKLIST_PAGE = 25
WORKLIST_DEEP_PAGE = 40


def _worklist_timing(app: Any) -> dict[str, Any]:
    """The intake clerk's worklist of the template's authority over every open task: the first page with its total
    (what the web app shows on opening), and a page deep into the list."""
    kwargs: dict[str, Any] = {"roles": ["intake"], "authority": "510100", "limit": WORKLIST_PAGE}
    first: list[float] = []
    deep: list[float] = []
    with app.uow() as uow:
        rows, total = uow.repo.worklist(offset=0, **kwargs)
        for _ in range(FIND_REPETITIONS):
            started = time.perf_counter()
            uow.repo.worklist(offset=0, **kwargs)
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            uow.repo.worklist(offset=(WORKLIST_DEEP_PAGE - 1) * WORKLIST_PAGE, **kwargs)
            deep.append(time.perf_counter() - started)
    return {"open_tasks": total, "page_size": WORKLIST_PAGE, "first_page_rows": len(rows),
            "first_page_ms": _ms(first), "deep_page": WORKLIST_DEEP_PAGE, "deep_page_ms": _ms(deep)}


def _sqlite_bytes(url: str) -> int:
    database = make_url(url).database or ""
    return sum(os.path.getsize(p) for p in (database, f"{database}-wal") if os.path.exists(p))


# --- (c) delivery throughput against the sandbox -----------------------------------------------------------------

def bench_delivery(url: str, deliveries: int, sandbox: Any, say: Say) -> dict[str, Any]:
    from adapters.outside.settings import load_settings
    from workflows import clock
    from workflows.delivery import deliver_due

    app = _initialised(url)
    try:
        with app.uow() as uow:
            for index in range(deliveries):
                case_id = CaseTemplate.case_of(index)
                uow.repo.add(OutboxMessage(
                    key=f"{case_id}/national_registry/{uuid.uuid4().hex}", case_id=case_id, filing_id=None,
                    system="national_registry", path="filing-events", summary="报送备案信息（基准测试）",
                    payload={"event": "filed", "case": case_id, "filing_number": f"BENCH-{index:07d}",
                             "institution": "成都锦城精工机械制造有限公司", "credit_code": "91510104MA6C8H2K5N",
                             "occurred_at": DELIVER_AT.isoformat()},
                    status="pending", attempts=0, next_attempt_at=DELIVER_AT, created_at=DELIVER_AT))
            uow.commit()
        settings = load_settings({"BEIAN_SANDBOX_URL": sandbox.url})
        with clock.using_clock(clock.VirtualClock(DELIVER_AT)):
            started = time.perf_counter()
            result = deliver_due(app, settings, limit=deliveries)
            seconds = time.perf_counter() - started
        with app.uow() as uow:
            counts = dict(uow.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        received = len(sandbox.received("national_registry"))
    finally:
        app.close()
    delivered = counts.get("delivered", 0)
    figures = {
        "system": "national_registry",
        "messages": deliveries,
        "delivered": delivered,
        "statuses": counts,
        "sandbox_received": received,
        "all_delivered": delivered == deliveries == received and result["delivered"] == deliveries,
        "seconds": round(seconds, 3),
        "per_second": round(deliveries / seconds, 1),
        "ms_per_delivery": round(seconds * 1000 / deliveries, 3),
    }
    say(f"送达：{deliveries} 条 / {figures['seconds']} s = {figures['per_second']} 条/秒；"
        f"全部送达：{'是' if figures['all_delivered'] else '否'}（沙箱收到 {received} 条）")
    return figures


# --- running it -----------------------------------------------------------------------------------------------

# (kind, mode, source): as the bundled diagrams write them.
_EXPRESSIONS = (
    ("condition", "eval", "acceptance['decision'] == 'accept'"),
    ("parameter", "eval", "'调查核实自动终止备案情形：' + ground['label']"),
    ("conditional", "eval", "change_review['opinion'] if 'opinion' in change_review else ''"),
    ("script", "exec", "assessment = continuation_review if filing['simplified_continuation'] else renewal_assessment"),
)


def bench_expressions(repetitions: int, say: Say) -> dict[str, Any]:
    """Microseconds per evaluation, bounded interpreter against CPython's eval/exec, over a case's task data."""
    application = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data: dict[str, Any] = {
        "application": application, "acceptance": {"decision": "accept"}, "ground": {"label": "主体注销"},
        "change_review": {"result": "pass", "opinion": "同意"}, "filing": {"simplified_continuation": False},
        "continuation_review": {"result": "pass"}, "renewal_assessment": {"result": "pass"},
    }
    figures: dict[str, Any] = {}
    same = True
    for kind, mode, source in _EXPRESSIONS:
        ours, python = _evaluators(mode, source, dict(data), dict(data))
        same = same and ours() == python()
        timings = {name: _median_us(action, repetitions) for name, action in (("bounded_us", ours),
                                                                              ("python_us", python))}
        timings["ratio"] = round(timings["bounded_us"] / max(timings["python_us"], 0.01), 1)
        figures[kind] = timings
        say(f"表达式（{kind}）：受限解释器 中位 {timings['bounded_us']} µs，"
            f"CPython eval/exec {timings['python_us']} µs")
    return {"repetitions": repetitions, "same_results": same, **figures}


def _evaluators(mode: str, source: str, ours_data: dict[str, Any],
                python_data: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The same source run by the bounded interpreter and by CPython (compiled once, no builtins)."""
    from workflows.expressions import evaluate, execute

    code = compile(source, "<bench>", mode)
    if mode == "eval":
        return (lambda: evaluate(source, ours_data),
                lambda: eval(code, {"__builtins__": {}}, python_data))  # noqa: S307 — our own constant source

    def ours() -> Any:
        execute(source, ours_data)
        return ours_data.get("assessment")

    def python() -> Any:
        exec(code, {"__builtins__": {}}, python_data)  # noqa: S102 — our own constant source
        return python_data.get("assessment")

    return ours, python


def _median_us(action: Callable[[], Any], repetitions: int) -> float:
    runs = []
    for _ in range(repetitions):
        began = time.perf_counter()
        action()
        runs.append(time.perf_counter() - began)
    return round(statistics.median(runs) * 1e6, 2)


@contextlib.contextmanager
def _sandbox_everywhere() -> Iterator[Any]:
    """The sandbox on a free loopback port, and every outside system of this process pointed at it (a step's
    pre-check asks the credit registry through the settings of the environment)."""
    from adapters.outside.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        previous = os.environ.get("BEIAN_SANDBOX_URL")
        os.environ["BEIAN_SANDBOX_URL"] = sandbox.url
        try:
            yield sandbox
        finally:
            if previous is None:
                os.environ.pop("BEIAN_SANDBOX_URL", None)
            else:
                os.environ["BEIAN_SANDBOX_URL"] = previous


@contextlib.contextmanager
def _directory(path: Path | None) -> Iterator[Path]:
    if path is None:
        with tempfile.TemporaryDirectory(prefix="beian-bench-") as temporary:
            yield Path(temporary)
        return
    path.mkdir(parents=True, exist_ok=True)
    existing = [p.name for p in path.glob("bench-*.sqlite3*")]
    if existing:
        raise BenchError(f"目录 {path} 中已有基准数据库（{'、'.join(sorted(existing))}），请换一个空目录或先删除")
    yield path


@contextlib.contextmanager
def _fresh_postgres(server_url: str) -> Iterator[tuple[str, str]]:
    """A new database on the server (dropped afterwards); yields its URL and the server's version."""
    import psycopg
    from psycopg import sql

    admin = make_url(server_url).set(drivername="postgresql")
    name = f"beian_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False), version
    finally:
        # A plain DROP first: the server itself stops an autovacuum worker busy on the fresh tables, which FORCE
        # would try to terminate and fail for a role that is not a superuser. FORCE only for our own leftovers.
        drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            try:
                conn.execute(drop)
            except psycopg.errors.ObjectInUse:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run_bench(*, sizes: Sequence[int] = DEFAULT_SIZES, due: int = DEFAULT_DUE, steps: int = DEFAULT_STEPS,
              deliveries: int = DEFAULT_DELIVERIES, directory: Path | None = None, postgres_url: str | None = None,
              say: Say | None = None) -> dict[str, Any]:
    """Run (a), (b) and (c) and return every figure; `say` receives short progress lines for people."""
    say = say or (lambda _line: None)
    ordered = _check_sizes(sizes, due)
    if steps < 1:
        raise BenchError("重复次数 --steps 至少为 1")
    if deliveries < 1:
        raise BenchError("送达条数 --deliveries 至少为 1")
    began = time.perf_counter()
    facts = machine_facts()
    say(f"机器：{facts['cpu_count']} 个 CPU（{facts['cpu_model'] or facts['machine']}），Python {facts['python']}，"
        f"SQLite {facts['sqlite']}，SpiffWorkflow {facts['spiffworkflow']}")
    with _directory(directory) as folder, _sandbox_everywhere() as sandbox:
        say(f"基准数据库：{folder}" + ("（保留）" if directory else "（临时目录，结束后删除）")
            + ("；PostgreSQL 上另建临时数据库，结束后删除" if postgres_url else "")
            + "。不动 ./beian.sqlite3 或 BEIAN_DATABASE_URL 所指的数据库")

        def sqlite_url(name: str) -> str:
            return f"sqlite:///{(folder / f'bench-{name}.sqlite3').resolve()}"

        step = bench_step(sqlite_url("step"), steps, say)
        say(f"到期查找与清扫（M={due}）：")
        sweeps = {"sqlite": bench_sweep(sqlite_url("sweep"), ordered, due, say)}
        if postgres_url:
            with _fresh_postgres(postgres_url) as (url, version):
                facts["postgresql"] = version
                # Analysed after each bulk insert, as autovacuum would have done in a database in steady use.
                sweeps["postgresql"] = bench_sweep(url, ordered, due, say, analyze=True)
        delivery = bench_delivery(sqlite_url("delivery"), deliveries, sandbox, say)
    expressions = bench_expressions(steps * 25, say)

    checks = {
        "step_same_outcome": step["same_outcome"],
        "due_found_equals_m": all(level["found"] == due for s in sweeps.values() for level in s["sizes"]),
        "all_due_fired": all(level["swept"] == due and level["failed"] == 0 and level["left_due"] == 0
                             for s in sweeps.values() for level in s["sizes"]),
        "due_query_uses_index": all(s["uses_due_index"] for s in sweeps.values()),
        "all_delivered": delivery["all_delivered"],
        "expressions_agree_with_python": expressions["same_results"],
    }
    return {
        "machine": facts,
        "options": {"sizes": ordered, "due": due, "steps": steps, "deliveries": deliveries,
                    "postgres": bool(postgres_url), "database_directory": str(directory) if directory else None},
        "clock": {"received": RECEIVED.isoformat(), "step_at": STEP_AT.isoformat(), "sweep_at": SWEEP_AT.isoformat()},
        "step": step,
        "sweep": sweeps,
        "delivery": delivery,
        "expressions": expressions,
        "checks": checks,
        "ok": all(checks.values()),
        "elapsed_seconds": round(time.perf_counter() - began, 1),
    }


def _sizes(text_value: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text_value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text_value}”不是以逗号分隔的整数，例如 1000,10000") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("实例数必须是正整数")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="beian bench",
        description="性能基准：单步持久化开销、到期查找随实例数的变化、送达吞吐；结果以 JSON 输出到标准输出")
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES),
                        help="活动实例数 N，逗号分隔（默认 1000,10000,100000）")
    parser.add_argument("--due", type=int, default=DEFAULT_DUE, help=f"每档中到期的实例数 M（默认 {DEFAULT_DUE}）")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"单步测量的重复次数（默认 {DEFAULT_STEPS}）")
    parser.add_argument("--deliveries", type=int, default=DEFAULT_DELIVERIES,
                        help=f"送达测量的消息条数 K（默认 {DEFAULT_DELIVERIES}）")
    parser.add_argument("--db", type=Path, default=None,
                        help="存放基准数据库的目录（保留；默认使用临时目录，结束后删除）")
    parser.add_argument("--postgres", default=None,
                        help="PostgreSQL 服务器 URL（须可 CREATE DATABASE）：在其上新建数据库再测一遍到期查找与清扫")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`beian bench [options]`: JSON on stdout, progress on stderr; exit 1 when a check failed, 2 on bad options."""
    args = build_parser().parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        result = run_bench(sizes=args.sizes, due=args.due, steps=args.steps, deliveries=args.deliveries,
                           directory=args.db, postgres_url=args.postgres, say=say)
    except BenchError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    failed = [name for name, passed in result["checks"].items() if not passed]
    say(f"用时 {result['elapsed_seconds']} s；" + (f"未通过的检查：{'、'.join(failed)}" if failed else "全部检查通过"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
