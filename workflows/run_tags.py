"""Tags for the Prefect runs of a case, so that Prefect's own filters (Runs → Tags) find them by BPMN process,
deployed version and step: `流程:filing_application`, `版本:3`, `环节:acceptance`.

The step is what the run works on: for the sweep, the timers due (the step they end); for a retry, where the case
stands (its open tasks and waiting timers). A delivery has no step of its own (the step that recorded it is long
done), so its runs carry the process and version only. One query per kind for all the cases of a run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from adapters.outside.db import HumanTask, Instance, ProcessDefinition, Timer
from adapters.outside.repository import UnitOfWork, UnitsOfWork

PROCESS_TAG = "流程:"
VERSION_TAG = "版本:"
STEP_TAG = "环节:"


def case_tags(app: UnitsOfWork, cases: Iterable[str], *, due_at: datetime | None = None,
              current_step: bool = False) -> dict[str, list[str]]:
    """Per case: its process and version tags, and its step tags — the timers due at `due_at` (the sweep's), or
    with `current_step` its open tasks and waiting timers (a retry's). Cases without an instance get none."""
    case_ids = sorted(set(cases))
    if not case_ids:
        return {}
    with app.uow() as uow:
        tags: dict[str, list[str]] = {
            case: [f"{PROCESS_TAG}{process}", f"{VERSION_TAG}{version}"]
            for case, process, version in uow.session.execute(
                select(Instance.case_id, Instance.process_id, ProcessDefinition.version)
                .join(ProcessDefinition, ProcessDefinition.id == Instance.definition_id)
                .where(Instance.case_id.in_(case_ids)))}
        steps = _steps(uow, case_ids, due_at, current_step)
    for case, bpmn_ids in steps.items():
        if case in tags:
            tags[case] += [f"{STEP_TAG}{bpmn_id}" for bpmn_id in sorted(bpmn_ids)]
    return tags


def _steps(uow: UnitOfWork, case_ids: list[str], due_at: datetime | None, current: bool) -> dict[str, set[str]]:
    steps: dict[str, set[str]] = defaultdict(set)
    if due_at is None and not current:
        return steps
    timers = select(Timer.case_id, Timer.bpmn_id).where(Timer.case_id.in_(case_ids))
    if due_at is not None:
        timers = timers.where(Timer.due_at <= due_at)
    for case, bpmn_id in uow.session.execute(timers):
        steps[case].add(bpmn_id)
    if current:
        for case, bpmn_id in uow.session.execute(
                select(HumanTask.case_id, HumanTask.bpmn_id).where(HumanTask.case_id.in_(case_ids))):
            steps[case].add(bpmn_id)
    return steps
