"""A case tried on a new version before it moves there: the migration run for real inside a transaction, then every
way the case can go on from where it stands tried once and undone, so a preview says exactly what migrating does
and a case that the new version would break stays where it is.

The static plan (workflows/migration.plan_case) says what the diagrams allow. What only running shows — a boundary
timer added to the task a case stands on (SpiffWorkflow: "BoundaryEventSplit was not reached" at the next
completion), an expression that fails on every case (`region['articles']['acceptance'] + 1`), a claim released
because the task moved to another role — is found here by doing it:

- the migration step itself (`MigrateTo`, the same event `migrate` applies), with its audit lines (a released claim);
- then, each in a savepoint rolled back at once: every open task completed with synthetic data (once for each value
  of its form's first choice field, so each branch after it is taken), every armed timer fired at its due time, and
  every awaited message received with a synthetic payload.

A failure of the diagram there (StepFailed) is the case's problem, named with the step and the engine's words; a
refusal of the synthetic input itself (a rule of the form or of the service) is not: a person would have typed
something else. Nothing of a rehearsal is kept unless the caller commits the migration step (the savepoints are
always undone)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select

from adapters.outside.db import AuditEvent
from adapters.outside.repository import UnitOfWork
from tasks import form_choices
from tasks.errors import BeianError, StepFailed
from workflows import clock
from workflows.engine import Event, Wake, definition_of, run_step
from workflows.messages import MESSAGES
from workflows.service.commands import CompleteTask, SendMessage
from workflows.simulation_profile import choice_fields, generate

MAX_PROBES: Final = 12
"""Ways on tried per case: enough for every task, timer and wait a case stands on with the choices of a decision;
bounded so a preview of many cases stays quick."""
_AFTER_DUE: Final = timedelta(seconds=1)


@dataclass(frozen=True)
class Failure:
    """The diagram failing on the case: where (the element the engine stood on, when it says) and why."""

    element_id: str | None
    message: str


@dataclass
class Rehearsal:
    migrated: bool = False
    problems: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    """The problems that are the new diagram failing (not a case that cannot move as it stands)."""
    released: list[str] = field(default_factory=list)
    """Each claim the migration releases (the task moved to another role or authority), as the history says it."""


def rehearse(uow: UnitOfWork, case_id: str, event: Event, actor: str) -> Rehearsal:
    """Apply the migration `event` to the case in `uow` (the caller commits or rolls back), then try each way on,
    undone. The case is migratable when `problems` is empty."""
    found = Rehearsal()
    now = clock.now()
    try:
        run_step(uow, case_id, event, actor)
    except BeianError as exc:
        found.problems.append(exc.message)
        if isinstance(exc, StepFailed):
            found.failures.append(Failure(failed_element(exc), exc.message))
        return found
    found.migrated = True
    found.released = [e.summary for e in uow.session.scalars(select(AuditEvent).where(
        AuditEvent.case_id == case_id, AuditEvent.action == "task_released", AuditEvent.at == now))]
    for way in ways_on(uow, case_id, now):
        savepoint = uow.session.begin_nested()
        try:
            with clock.using_clock(clock.VirtualClock(way.at)):
                run_step(uow, case_id, way.event, actor)
        except StepFailed as exc:
            said = exc.message.removeprefix(f"案件 {case_id} 的流程执行出错").removesuffix("；案件保持原状态")
            message = f"迁移后{way.what}时流程出错{said}"
            found.problems.append(message)
            found.failures.append(Failure(failed_element(exc) or way.element_id, message))
        except BeianError:
            pass  # the synthetic input was refused, not the diagram: a person would have typed something else
        finally:
            savepoint.rollback()
    return found


def failed_element(exc: StepFailed) -> str | None:
    """The element the engine failed on: SpiffWorkflow's error carries the task (workflows.engine._guarded)."""
    task = getattr(exc.__cause__, "task", None)
    return getattr(getattr(task, "task_spec", None), "bpmn_id", None)


@dataclass(frozen=True)
class Way:
    """One way a case can go on: what it is (in words), the element it starts from, the event, when, and the choice
    it makes (a task's field and value: what may route the case later, where it stands the same)."""

    what: str
    element_id: str
    event: Event
    at: datetime
    choice: str = ""


def ways_on(uow: UnitOfWork, case_id: str, now: datetime, *, limit: int = MAX_PROBES,
            every_field: bool = False) -> Iterator[Way]:
    """The ways a case can go on from where it stands (at most `limit`): each open task completed with synthetic data
    (once per value of its form's first choice field, or with `every_field` of each choice field in turn), each
    armed timer fired, each awaited message received."""
    instance = uow.repo.instance(case_id)
    if instance is None or instance.completed_at is not None:
        return
    definition = definition_of(uow, instance.definition_id)
    ways: list[Way] = []
    for row in uow.repo.human_tasks(instance.id):
        # The form as this case may fill it: a choice the case's region does not offer would only be refused.
        schema = form_choices.for_case(definition.form_schema(row.bpmn_id) or {}, instance.region,
                                       instance.application or {})
        for chosen in _branches(schema, every_field):
            said = "、".join(_title(schema, path, value) for path, value in chosen.items())
            ways.append(Way(f"办理“{row.name}”{f'（{said}）' if said else ''}", row.bpmn_id,
                             CompleteTask(row.id, generate(schema, chosen, now, row.name)), now,
                             "、".join(f"{row.bpmn_id}.{path}={value!r}" for path, value in chosen.items())))
    for timer in uow.repo.timers(instance.id):
        ways.append(Way(f"定时“{timer.name}”到期", timer.bpmn_id, Wake(), max(now, timer.due_at + _AFTER_DUE)))
    for wait in uow.repo.message_waits(instance.id):
        schema = definition.message_schema(wait.message) or {}
        payload = generate(schema, _branches(schema)[0], now, wait.message)
        ways.append(Way(f"收到“{MESSAGES.get(wait.message, wait.message)}”", wait.bpmn_id,
                         SendMessage(wait.message, payload), now))
    yield from ways[:limit]


def _branches(schema: dict[str, Any], every_field: bool = False) -> list[dict[str, Any]]:
    """One choice per value of the form's first choice field (a decision: each branch after the task), or of each
    choice field in turn (the others left at their first value), else one."""
    fields = list(choice_fields(schema, case_choices=every_field)) if schema else []
    if not fields:
        return [{}]
    return [{path: value} for path, values in (fields if every_field else fields[:1]) for value in values]


def _title(schema: dict[str, Any], path: str, value: Any) -> str:
    """A choice as the form shows it (its oneOf title), for a top-level field; else the value itself."""
    spec = (schema.get("properties") or {}).get(path) or {}
    titles = {c.get("const"): c.get("title") for c in spec.get("oneOf", []) if isinstance(c, dict)}
    return str(titles.get(value) or value)
