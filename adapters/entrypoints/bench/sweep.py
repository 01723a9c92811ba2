"""(b) Finding due work (and the worklist's first page) does not grow with the number of instances.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.entrypoints.bench.common import (
    DUE_INDEX,
    FIND_REPETITIONS,
    SWEEP_AT,
    SWEEP_LIMIT,
    BenchError,
    CaseTemplate,
    Say,
    initialised,
    insert_copies,
    ms,
    new_application,
    query_plan,
    statements,
)
from workflows.on_progress import OnProgress, no_progress


def _far_future(index: int) -> datetime:
    """Not-yet-due timers spread over the coming year (a realistic index, not one repeated value)."""
    return SWEEP_AT + timedelta(days=1, seconds=(index * 7919) % (365 * 86400))


def check_sizes(sizes: Sequence[int], due: int) -> list[int]:
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


def bench_sweep(url: str, sizes: Sequence[int], due: int, say: Say, *, analyze: bool = False,
                on_progress: OnProgress = no_progress) -> dict[str, Any]:
    from adapters.outside.settings import Settings
    from workflows import clock
    from workflows.sweep import sweep

    max_attempts = Settings().sweep_max_attempts
    app = initialised(url)
    engine = app.engine
    backend = engine.dialect.name
    levels: list[dict[str, Any]] = []
    try:
        template = CaseTemplate.read(engine, new_application(app))
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
                          None if index - first < fresh_due else _far_future(index),
                          on_progress=on_progress, label=f"{backend}：生成 N={size} 的实例")
            insert_seconds = time.perf_counter() - started
            next_index += added
            alive = size
            if analyze:
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE"))

            with app.uow() as uow, statements(engine) as sent:
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

            worklist = worklist_timing(app)  # every copy has its open acceptance task: N open tasks
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
                "find_ms": ms(timings),
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
                level["database_mb"] = round(sqlite_bytes(url) / 1e6, 1)
            levels.append(level)
            say(f"  {backend} N={size:>7}：查找 {level['find_ms']['median']:.3f} ms（找到 {len(found)}/{due}），"
                f"推进 {level['sweep_ms_per_case']:.1f} ms/件（{len(fired)} 件），"
                f"使用索引 {DUE_INDEX}：{'是' if level['uses_due_index'] else '否'}；"
                f"待办列表首页 {worklist['first_page_ms']['median']:.2f} ms（计数 {worklist['counted']}），"
                f"第 {WORKLIST_DEEP_PAGE} 页 {worklist['deep_page_ms']['median']:.2f} ms")
    finally:
        app.close()
    return {"backend": backend, "due": due, "limit": SWEEP_LIMIT, "max_attempts": max_attempts,
            "find_repetitions": FIND_REPETITIONS, "index": DUE_INDEX, "analyzed": analyze,
            "query_plan": levels[-1]["plan"] if levels else [],
            "uses_due_index": bool(levels) and levels[-1]["uses_due_index"], "sizes": levels}


WORKLIST_PAGE = 25


WORKLIST_DEEP_PAGE = 40


def worklist_timing(app: Any) -> dict[str, Any]:
    """The intake clerk's worklist of the template's authority over every open task: the first page with its
    (bounded) count, what the web app shows on opening, and a page deep into the list (by its cursor, found by
    walking the pages once before timing)."""
    from adapters.outside.worklist import COUNT_BOUND, WorklistFilter

    where = WorklistFilter(roles=["intake"], authority="510100")
    first: list[float] = []
    deep: list[float] = []
    with app.uow() as uow:
        total = uow.repo.worklist_count(where)
        rows = uow.repo.worklist(where, limit=WORKLIST_PAGE).rows
        cursor: str | None = None
        for _ in range(WORKLIST_DEEP_PAGE - 1):
            cursor = uow.repo.worklist(where, limit=WORKLIST_PAGE, after=cursor).after
            if cursor is None:
                break
        for _ in range(FIND_REPETITIONS):
            started = time.perf_counter()
            uow.repo.worklist_count(where)
            uow.repo.worklist(where, limit=WORKLIST_PAGE)
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            uow.repo.worklist(where, limit=WORKLIST_PAGE, after=cursor)
            deep.append(time.perf_counter() - started)
    counted = f"{COUNT_BOUND}+" if total > COUNT_BOUND else str(total)  # the count stops reading at the bound
    return {"counted": counted, "page_size": WORKLIST_PAGE, "first_page_rows": len(rows),
            "first_page_ms": ms(first), "deep_page": WORKLIST_DEEP_PAGE, "deep_page_ms": ms(deep)}


def sqlite_bytes(url: str) -> int:
    database = make_url(url).database or ""
    return sum(os.path.getsize(p) for p in (database, f"{database}-wal") if os.path.exists(p))
