"""What the figures share: options' defaults and instants, timing helpers, the machine, and copies of a real
case inserted in bulk (CaseTemplate).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import re
import sqlite3
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine

from adapters.entrypoints.demo import EXAMPLE
from adapters.outside.db import HumanTask, Instance, MessageWait, Timer
from tasks.calendar import SHANGHAI
from workflows.on_progress import OnProgress, no_progress

if TYPE_CHECKING:
    from workflows.service import Beian


Say = Callable[[str], None]


class BenchError(ValueError):
    """Options the bench cannot run with (the message is for the person at the terminal)."""


INSERT_BATCH = 1_000


DUE_INDEX = "ix_timers_due_at"


PROCESS = "filing_application"


ACCEPT = {"decision": "accept", "reasons": "材料齐全，予以受理"}


# A Monday in a month the bundled calendar knows: the acceptance deadline (10 working days) ends with 16 November.
RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI)


STEP_AT = RECEIVED + timedelta(days=1)  # the caseworker accepts the next day, well within the deadline


SWEEP_AT = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)  # after the deadline: the overdue timer is due


DELIVER_AT = SWEEP_AT


UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


PROJECTIONS = (HumanTask.__table__, Timer.__table__, MessageWait.__table__)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (a value that was measured, not an interpolation)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def ms(seconds: Sequence[float]) -> dict[str, float]:
    values = [s * 1000 for s in seconds]
    return {"median": round(statistics.median(values), 3), "p90": round(percentile(values, 0.9), 3),
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
            # Without the columns the database computes (the worklist's sort_due): a copy cannot write them.
            projections = {table.name: [dict(r) for r in conn.execute(
                select(*(c for c in table.c if c.computed is None)).where(table.c.instance_id == row["id"]))
                .mappings()] for table in PROJECTIONS}
        state = row.pop("state")
        for column in ("id", "case_id"):
            row.pop(column)
        pattern = re.compile(f"({UUID_PATTERN}|{re.escape(case_id)})")
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
                  timer_due: Callable[[int], datetime | None] = lambda _index: None, *,
                  on_progress: OnProgress = no_progress, label: str = "生成实例") -> None:
    """Bulk-insert copies `indices` of the template (SQLAlchemy Core, one transaction per batch). `timer_due(index)`
    moves the copy's timer projection (None: keep the template's due time); each batch is reported to `on_progress`."""
    with engine.connect() as conn:
        next_id = (conn.scalar(select(func.max(Instance.id))) or 0) + 1
    for start in range(indices.start, indices.stop, INSERT_BATCH):
        instances: list[dict[str, Any]] = []
        projections: dict[str, list[dict[str, Any]]] = {table.name: [] for table in PROJECTIONS}
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
            for table in PROJECTIONS:
                if projections[table.name]:
                    conn.execute(insert(table), projections[table.name])
        on_progress(min(start + INSERT_BATCH, indices.stop) - indices.start, len(indices), label)
    if engine.dialect.name == "postgresql":
        # Explicit ids do not move the id sequence; later inserts through the ORM must not collide with them.
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('instances', 'id'), "
                              "(SELECT max(id) FROM instances))"))


def new_application(app: Beian) -> str:
    """One real filing application through the service layer, received at RECEIVED; returns its case."""
    from workflows import clock

    application = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    with clock.using_clock(clock.VirtualClock(RECEIVED)):
        return str(app.cases.apply(application, actor="bench")["case"])


def initialised(url: str) -> Beian:
    from workflows import clock
    from workflows.database_clock import mark_practice
    from workflows.service import Beian

    app = Beian(url)
    with clock.using_clock(clock.VirtualClock(RECEIVED)):
        app.init(actor="bench")
        mark_practice(app, "bench")  # a scratch database of the virtual clock (workflows/database_clock.py)
    return app


@contextlib.contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
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
