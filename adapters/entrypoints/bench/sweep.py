"""What must not grow with the number of instances — the worklist's first page (measured by
adapters/entrypoints/bench/worklist.py) and a sweep with nothing due — and what a sweep of K due timers costs against
K steps.

The databases hold copies of one real application (adapters/entrypoints/bench/common.py): each copy has its open
acceptance task (N copies are N open tasks on the intake clerk's worklist) and its acceptance timer, due after the
instant the empty sweep runs at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from adapters.entrypoints.bench.common import DUE_INDEX, STEP_AT, SWEEP_AT, CaseTemplate, query_plan, statements
from adapters.entrypoints.bench.goals import cpu_now, interleaved, ratio
from adapters.entrypoints.bench.worklist import measure_worklist
from adapters.outside.db import Timer
from workflows.on_progress import OnProgress

SWEEP_LIMIT = 1_000  # the sweep's own default batch


def far_future(index: int) -> datetime:
    """Not-yet-due timers spread over the coming year (a realistic index, not one repeated value)."""
    return SWEEP_AT + timedelta(days=1, seconds=(index * 7919) % (365 * 86400))


def _max_attempts() -> int:
    from adapters.outside.settings import Settings

    return Settings().sweep_max_attempts


def timed_sweep(app: Any, at: datetime) -> tuple[float, dict[str, Any]]:
    from workflows import clock
    from workflows.sweep import sweep

    with clock.using_clock(clock.VirtualClock(at)):
        started = cpu_now()
        result = sweep(app, limit=SWEEP_LIMIT, max_attempts=_max_attempts(), actor="bench")
        return cpu_now() - started, result


def worklist_ratio(sizes: tuple[int, int], url_for: Callable[[int], str], rounds: int,
                   on_progress: OnProgress) -> dict[str, Any]:
    """The worklist's first page on the large ÷ the small database (built at `url_for(n)` by the worklist measure)."""
    from workflows import clock

    with clock.using_clock(clock.VirtualClock(STEP_AT)):
        measured = measure_worklist(list(sizes), url_for, repetitions=rounds, on_progress=on_progress)
    small, large = measured["sizes"][0], measured["sizes"][-1]

    def side(level: dict[str, Any]) -> dict[str, Any]:
        cpu = level["first_page_cpu_ms"]
        return {"what": f"首页，{level['n']} 件未办", "median": cpu["median"], "min": cpu["min"], "max": cpu["max"],
                "rounds": rounds}

    return {"value": measured["worklist_ratio"], "a": side(large), "b": side(small),
            "wall_ratio": measured["worklist_wall_ratio"], "open_tasks": [small["n"], large["n"]],
            "rows": [small["first_page_rows"], large["first_page_rows"]]}


def sweep_flat_ratio(small: Any, large: Any, sizes: tuple[int, int], rounds: int) -> dict[str, Any]:
    """A sweep with nothing due on the large ÷ the small database, in turn, with the due query's plan."""

    def empty_sweep(app: Any) -> Callable[[int], float]:
        def measure(_index: int) -> float:
            spent, result = timed_sweep(app, STEP_AT)  # before any copy's timer: nothing is due
            if result["fired"] or result["failed"]:
                raise RuntimeError(f"the empty sweep fired {len(result['fired']) + len(result['failed'])} cases")
            return spent
        return measure

    big, little = interleaved(empty_sweep(large), empty_sweep(small), rounds)
    with large.reading() as uow, statements(large.engine) as sent:
        uow.repo.due_cases(STEP_AT, SWEEP_LIMIT, _max_attempts())
    statement, parameters = next((s, p) for s, p in sent if "timers" in s and "due_at" in s)
    plan = query_plan(large.engine, statement, parameters)
    return ratio("sweep_flat_ratio", big, little, f"无到期清扫，{sizes[1]} 件", f"无到期清扫，{sizes[0]} 件",
                 plan=plan, uses_due_index=any(DUE_INDEX in line for line in plan))


def sweep_vs_steps(sweeping: Any, template: CaseTemplate, steps: Any, first_step: int, batch: int,
                   rounds: int) -> dict[str, Any]:
    """A sweep firing `batch` due timers ÷ `batch` persisted steps, per round; the copies made due for a round are
    copies [round × batch, (round + 1) × batch) of `sweeping`, whose timers are moved to before the sweep first."""
    from workflows import clock

    fired_counts: list[int] = []
    due_at = SWEEP_AT - timedelta(hours=1)

    def sweep_round(index: int) -> float:
        cases = [template.case_of(i) for i in range(index * batch, (index + 1) * batch)]
        with sweeping.engine.begin() as conn:
            conn.execute(update(Timer.__table__).where(Timer.case_id.in_(cases)).values(due_at=due_at))
        spent, result = timed_sweep(sweeping, SWEEP_AT)
        fired_counts.append(len(result["fired"]))
        return spent

    def step_round(index: int) -> float:
        start = first_step + index * batch
        with clock.using_clock(clock.VirtualClock(STEP_AT)):
            return sum(steps.persisted(i) for i in range(start, start + batch))

    swept, stepped = interleaved(sweep_round, step_round, rounds)
    return ratio("sweep_vs_steps_ratio", swept, stepped, f"清扫 {batch} 件到期", f"{batch} 个持久化步骤",
                 batch=batch, fired=fired_counts, all_fired=all(n == batch for n in fired_counts))
