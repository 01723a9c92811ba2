"""(a) One persisted step against bare SpiffWorkflow.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

if TYPE_CHECKING:
    from workflows.engine import StepContext

from adapters.entrypoints.bench.common import (
    ACCEPT,
    PROCESS,
    STEP_AT,
    CaseTemplate,
    Say,
    initialised,
    insert_copies,
    ms,
    new_application,
    percentile,
)
from workflows.on_progress import OnProgress, no_progress


@dataclass(frozen=True)
class _BareContext:
    """What the expression functions read from a step: the working-day calendar and the instant."""

    calendar: Any
    now: datetime


def bench_step(url: str, steps: int, say: Say, on_progress: OnProgress = no_progress) -> dict[str, Any]:
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
    app = initialised(url)
    try:
        template = CaseTemplate.read(app.engine, new_application(app))
        acceptance = template.task_id("acceptance")
        insert_copies(app.engine, template, range(total), on_progress=on_progress, label="单步：生成实例")

        persisted: list[float] = []
        statuses: set[str] = set()
        with clock.using_clock(clock.VirtualClock(STEP_AT)):
            for index in range(total):
                task_id = template.copy_id(acceptance, index)
                started = time.perf_counter()
                result = app.cases.complete(task_id, dict(ACCEPT), actor="bench")
                persisted.append(time.perf_counter() - started)
                statuses.add(result["status"])
                on_progress(index + 1, total, "单步：持久化的步骤")
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
        engine_only: list[float] = []
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
                engine_only.append(time.perf_counter() - started)
                started = time.perf_counter()
                dump_state(workflow)
                dumps.append(time.perf_counter() - started)
                # The bare step is what a program keeping its workflow in memory between events would pay to do the
                # same: restore, run, serialise (compared with the persisted step as a whole).
                bare.append(loads[-1] + engine_only[-1] + dumps[-1])
                bare_open = sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True))
    finally:
        app.close()

    persisted, bare, loads, dumps = persisted[warmup:], bare[warmup:], loads[warmup:], dumps[warmup:]
    engine_only = engine_only[warmup:]
    figures = {
        "process": PROCESS,
        "step": "受理审查：予以受理（acceptance → expert_review）",
        "database": "sqlite file",
        "repetitions": steps,
        "warmup": warmup,
        "persisted_ms": ms(persisted),
        "bare_ms": ms(bare),
        "ratio": round(statistics.median(persisted) / statistics.median(bare), 2),
        "ratio_p90": round(percentile(persisted, 0.9) / percentile(bare, 0.9), 2),
        # The bare step's parts: restoring the state, the engine alone, serialising the state.
        "bare_engine_ms": ms(engine_only)["median"],
        "load_state_ms": ms(loads)["median"],
        "dump_state_ms": ms(dumps)["median"],
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
