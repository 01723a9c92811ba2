"""A simulation profile measured from the history instead of assumed (`beian simulate-profile`).

The history records when each human task opened (`task_opened`) and was completed (`task_completed`, with the form
data). For every task of a process with enough completions, this gives how long caseworkers took, in office time
(working days of `office_hours`, as the simulation counts it), summarised as the lognormal distribution the profile
uses (median and 90th percentile), and how often each choice of its form was made. The result is a profile file to
pass to `beian simulate --profile`; it is merged over the default, so what the history cannot tell (messages, roles,
arrivals) keeps the default's assumptions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time
from typing import Any

from tasks.calendar import SHANGHAI
from tasks.errors import InvalidInput, NotFound
from workflows.engine import definition_of, load_calendar
from workflows.service import Beian
from workflows.simulation_profile import OfficeTime, Profile, choice_fields, choice_key, merge, profile_from_data
from workflows.simulation_run import spread

MIN_SAMPLES = 5
# The lognormal needs p90 > median > 0: a task always done at once, or always in the same time, is given these.
_SHORTEST_DAYS = 0.01
_NARROWEST_SPREAD = 1.05


def calibrate(app: Beian, process_id: str, base: Profile, since: date | None = None,
              min_samples: int = MIN_SAMPLES) -> dict[str, Any]:
    """A profile fragment (`tasks`) from the process's history, with a description saying what it rests on."""
    if min_samples < 1:
        raise InvalidInput("--min-samples 至少为 1")
    start = datetime.combine(since, time(0), tzinfo=SHANGHAI) if since else None
    with app.uow() as uow:
        latest = uow.repo.latest_definition(process_id)
        if latest is None:
            raise NotFound(f"流程 {process_id} 尚未部署")
        definition = definition_of(uow, latest.id)
        office = OfficeTime(load_calendar(uow), base.office_start, base.office_end)
        history = [(event.action, event.at, dict(event.detail)) for event in uow.repo.task_history(process_id, start)]
    opened: dict[str, datetime] = {}
    days: dict[str, list[float]] = defaultdict(list)
    chosen: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for action, at, detail in history:
        task_id = detail.get("task_id")
        if action == "task_opened":
            opened[task_id] = at
            continue
        bpmn_id, began = detail.get("bpmn_id"), opened.pop(task_id, None)
        if began is None or not bpmn_id:
            continue  # opened before `since`: its duration is not known whole
        days[bpmn_id].append(office.between(began, at) / base.hours_per_day)
        schema = definition.form_schema(bpmn_id) or {}
        for path, _values in choice_fields(schema):
            value = _at(detail.get("data") or {}, path)
            if value is not _MISSING:
                chosen[bpmn_id][path][choice_key(value)] += 1
    tasks: dict[str, Any] = {}
    used: list[str] = []
    for bpmn_id in sorted(days):
        samples = days[bpmn_id]
        if len(samples) < min_samples:
            continue
        figures = spread(samples)
        median = max(figures["median"] or 0.0, _SHORTEST_DAYS)
        p90 = max(figures["p90"] or 0.0, median * _NARROWEST_SPREAD)
        entry: dict[str, Any] = {"duration": {"distribution": "lognormal", "median": round(median, 2),
                                              "p90": round(p90, 2)}}
        if chosen[bpmn_id]:
            entry["outcomes"] = {path: dict(sorted(counts.items())) for path, counts in chosen[bpmn_id].items()}
        tasks[bpmn_id] = entry
        name = definition.user_tasks[bpmn_id].name if bpmn_id in definition.user_tasks else bpmn_id
        used.append(f"{name}（{bpmn_id}）{len(samples)} 件")
    if not tasks:
        raise InvalidInput(f"流程 {process_id} 的历史中没有哪个环节办结满 {min_samples} 件"
                           + (f"（自 {since} 起）" if since else "") + "，无法估算；可降低 --min-samples")
    period = f"自 {since} 起" if since else "全部历史"
    fragment = {"description": f"由 {process_id} 的办理历史（{period}）估算：" + "；".join(used)
                + f"。未满 {min_samples} 件的环节沿用默认配置。", "tasks": tasks}
    profile_from_data(merge(base.data, fragment), "估算的配置")  # refuse to print what `--profile` would refuse
    return fragment


_MISSING = object()


def _at(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value

