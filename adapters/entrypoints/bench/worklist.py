"""The worklist's first page does not grow with the number of open tasks (issue 19: first page at 100k ÷ 1k ≤ 1.5).

For each size N a database of its own gets one real filing application (through the service) and N − 1 bulk copies
of its rows (adapters/entrypoints/bench/common.py CaseTemplate), so it holds N open acceptance tasks of the Chengdu
intake clerks, all due at the same instant (only the id orders them: the keyset's worst case). "The first page" is
what the web worklist reads on opening: the four tabs' bounded counts, one page of 25 in urgency order and the
statuses its status filter offers. The sizes are measured interleaved (A B A B …) on CPU time, so that a busy
machine slows both sides alike; the figure is the ratio of the medians, largest size over smallest.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from adapters.entrypoints.bench.common import (
    CaseTemplate,
    Say,
    initialised,
    insert_copies,
    ms,
    new_application,
)
from workflows.on_progress import OnProgress, no_progress

PAGE = 25
REPETITIONS = 30
GOAL_RATIO = 1.5
AUTHORITY, ROLES, CLERK = "510100", ("intake",), "bench.clerk"


def build_open_tasks(url: str, n: int, *, on_progress: OnProgress = no_progress) -> Any:
    """A fresh database at `url` with `n` open tasks (one real case and n − 1 copies); returns the application."""
    app = initialised(url)
    template = CaseTemplate.read(app.engine, new_application(app))
    if n > 1:
        insert_copies(app.engine, template, range(1, n), on_progress=on_progress, label="生成待办")
    return app


def first_page(app: Any) -> int:
    """What the web worklist reads on opening (adapters/entrypoints/web/caseworkers/worklist.py): the four tabs'
    bounded counts, the first page of the landing tab and the statuses its status filter offers; returns the rows
    read."""
    from adapters.outside.worklist import WorklistFilter
    from workflows import clock
    from workflows.operators import STATUSES

    now = clock.now()
    views = {"mine": WorklistFilter(roles=ROLES, authority=AUTHORITY, claimed_by=CLERK),
             "unclaimed": WorklistFilter(roles=ROLES, authority=AUTHORITY, unclaimed_only=True),
             "overdue": WorklistFilter(roles=ROLES, authority=AUTHORITY, overdue_at=now),
             "all": WorklistFilter(roles=ROLES, authority=AUTHORITY)}
    with app.reading() as uow:
        counts = {key: uow.repo.worklist_count(where) for key, where in views.items()}
        landing = next((key for key in ("mine", "unclaimed", "overdue") if counts[key]), "all")
        rows = len(uow.repo.worklist(views[landing], limit=PAGE).rows)
        uow.repo.worklist_statuses(roles=ROLES, authority=AUTHORITY, among=STATUSES)
        return rows


def measure_worklist(sizes: Sequence[int], url_for: Callable[[int], str], say: Say = lambda _text: None, *,
                     repetitions: int = REPETITIONS, on_progress: OnProgress = no_progress) -> dict[str, Any]:
    """The first page's CPU time at each size (databases at `url_for(n)`, built here), measured interleaved; the
    result has each size's figures and `worklist_ratio` (largest ÷ smallest median) with its goal."""
    ordered = sorted(set(sizes))
    if len(ordered) < 2:
        raise ValueError("measure_worklist needs at least two sizes")
    apps = {}
    try:
        for n in ordered:
            apps[n] = build_open_tasks(url_for(n), n, on_progress=on_progress)
            say(f"  待办列表：{n} 件待办的数据库已建好")
        rows = {n: first_page(app) for n, app in apps.items()}  # warm: the first query of a connection
        cpu: dict[int, list[float]] = {n: [] for n in ordered}
        wall: dict[int, list[float]] = {n: [] for n in ordered}
        for _ in range(repetitions):
            for n in ordered:
                started, started_wall = time.process_time(), time.perf_counter()
                first_page(apps[n])
                cpu[n].append(time.process_time() - started)
                wall[n].append(time.perf_counter() - started_wall)
    finally:
        for app in apps.values():
            app.close()
    small, large = ordered[0], ordered[-1]
    ratio = statistics.median(cpu[large]) / statistics.median(cpu[small])
    # On PostgreSQL the server's work is not this process's CPU time: the wall-clock ratio shows it.
    wall_ratio = statistics.median(wall[large]) / statistics.median(wall[small])
    say(f"  待办列表首页：{large} 件 ÷ {small} 件 = {ratio:.2f}（目标 ≤ {GOAL_RATIO}）")
    return {"page_size": PAGE, "repetitions": repetitions, "clock": "cpu",
            "sizes": [{"n": n, "first_page_rows": rows[n], "first_page_cpu_ms": ms(cpu[n]),
                       "first_page_wall_ms": ms(wall[n])} for n in ordered],
            "worklist_ratio": round(ratio, 3), "worklist_wall_ratio": round(wall_ratio, 3), "goal": GOAL_RATIO,
            "within_goal": ratio <= GOAL_RATIO}
