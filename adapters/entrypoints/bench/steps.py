"""One persisted step against the same step in bare SpiffWorkflow, measured interleaved.

Persisted = the service call a caseworker makes (`app.cases.complete`: lock and load the instance, restore the state,
run the engine, save state, projections and audit, commit) on a fresh copy of a filing application at its acceptance
task. Bare = the same diagram parsed by the library's own parser, the same restricted script engine and expression
functions, and the state deserialised, stepped and serialised again, in memory, no database. Both end at the
expert review; the ratio is what persistence and our engine layer cost on top of the library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

if TYPE_CHECKING:
    from workflows.engine import StepContext

from adapters.entrypoints.bench.common import ACCEPT, PROCESS, STEP_AT, CaseTemplate
from adapters.entrypoints.bench.goals import cpu_now, interleaved, ratio


@dataclass(frozen=True)
class _BareContext:
    """What the expression functions read from a step: the working-day calendar and the instant."""

    calendar: Any
    now: datetime


class StepBench:
    """A database of copies of one application, each completed once by `persisted(i)`, and the bare step."""

    def __init__(self, app: Any, template: CaseTemplate) -> None:
        from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

        from workflows.definitions import bpmn_dir
        from workflows.engine import load_calendar
        from workflows.expressions import script_engine
        from workflows.operators import expression_functions

        self.app, self.template = app, template
        self.acceptance = template.task_id("acceptance")
        self.statuses: set[str] = set()
        self.services_called: set[str] = set()
        self.bare_open: list[str] = []
        from workflows.state import load_state

        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_file(str(bpmn_dir() / f"{PROCESS}.bpmn"))
        self.spec, self.subprocess_specs = parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)
        with app.reading() as uow:
            calendar = load_calendar(uow)
            # The region's profile the state refers to, read once: the bare step never reads the database.
            load_state(template.state, self.spec, self.subprocess_specs, uow.repo.state_values)

        def services(operator: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
            self.services_called.add(operator)
            return {}  # the only service on this path, set_status, returns {} in the engine too

        functions = expression_functions(cast("StepContext", _BareContext(calendar, STEP_AT)))
        self.script_engine = script_engine(functions, services)

    def persisted(self, index: int) -> float:
        task_id = self.template.copy_id(self.acceptance, index)
        started = cpu_now()
        result = self.app.cases.complete(task_id, dict(ACCEPT), actor="bench")
        spent = cpu_now() - started
        self.statuses.add(result["status"])
        return spent

    def bare(self, _index: int) -> float:
        from SpiffWorkflow.util.task import TaskState

        from workflows.engine import run_to_wait
        from workflows.state import dump_state, load_state

        started = cpu_now()
        workflow = load_state(self.template.state, self.spec, self.subprocess_specs)
        workflow.script_engine = self.script_engine
        run_to_wait(workflow)
        task = workflow.get_task_from_id(UUID(self.acceptance))
        task.data["acceptance"] = dict(ACCEPT)
        task.run()
        run_to_wait(workflow)
        dump_state(workflow)
        spent = cpu_now() - started
        self.bare_open = sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True))
        return spent


def step_ratio(bench: StepBench, first: int, rounds: int, warmup: int) -> dict[str, Any]:
    """Persisted ÷ bare over copies [first, first + warmup + rounds), the first `warmup` rounds not counted."""
    from workflows import clock

    with clock.using_clock(clock.VirtualClock(STEP_AT)):
        persisted, bare = interleaved(lambda i: bench.persisted(first + i), bench.bare, warmup + rounds)
    with bench.app.reading() as uow:
        open_after = sorted(t.bpmn_id for t in uow.repo.open_tasks(bench.template.case_of(first)))
    same = open_after == bench.bare_open and bench.statuses == {"under_review"}
    return ratio("step_ratio", persisted[warmup:], bare[warmup:], "持久化的一步（app.cases.complete）",
                 "纯 SpiffWorkflow：反序列化 + 执行 + 序列化", warmup=warmup,
                 state_bytes=len(bench.template.state.encode("utf-8")), open_after=open_after,
                 bare_open_after=bench.bare_open, bare_services_called=sorted(bench.services_called),
                 same_outcome=same)
