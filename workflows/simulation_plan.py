"""What a simulation plays: each task's outcomes and durations from the profile, checked against the version's forms
(`plan_for`), and the synthetic applications arriving over the working days (`plan_arrivals`)."""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tasks.application import ApplicationError, validate_application
from tasks.calendar import SHANGHAI
from tasks.credit_code import check_character, organization_code_check_character
from tasks.errors import InvalidInput
from workflows.definitions import DefinitionSource, ParsedDefinition, parse_definition
from workflows.simulation_profile import (
    Applicant,
    Distribution,
    OfficeTime,
    Profile,
    ProfileError,
    Weights,
    choice_fields,
    choice_key,
    choose,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "application.json"


# --- what each task does -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskPlan:
    bpmn_id: str
    name: str
    role: str | None
    duration: Distribution
    # dotted field → (weights, profile choice name → form value)
    choices: dict[str, tuple[Weights, dict[str, Any]]]
    schema: dict[str, Any] | None


@dataclass
class Plan:
    """How one version's user tasks and messages are simulated, and which settings came from a default."""

    tasks: dict[str, TaskPlan]
    messages: dict[str, Any]
    message_choices: dict[str, dict[str, tuple[Weights, dict[str, Any]]]]
    definition: ParsedDefinition
    defaults: list[dict[str, str]] = field(default_factory=list)
    unprofiled_messages: list[str] = field(default_factory=list)
    unused_profile_tasks: list[str] = field(default_factory=list)


def plan_for(source: DefinitionSource, profile: Profile) -> Plan:
    """Resolve every user task's duration and choice weights before running, so a profile that cannot drive the
    version fails at once, saying which task and which key."""
    definition = parse_definition(source.process_id, source.bpmn_xml, source.file_name, source.forms)
    plan = Plan({}, {}, {}, definition)
    for bpmn_id, info in definition.user_tasks.items():
        what = f"任务“{info.name}”（{bpmn_id}）"
        found = profile.duration_for(bpmn_id, info.role)
        if found is None:
            raise ProfileError(f"模拟配置没有{what}的办理时长：请在 tasks.{bpmn_id}.duration 中给出，"
                               f"或为其角色（{info.role or '未知角色'}）在 roles 中给出默认值")
        if found.default:
            plan.defaults.append({"task": bpmn_id, "name": info.name, "setting": "duration", "from": found.key})
        schema = definition.form_schema(bpmn_id)
        choices: dict[str, tuple[Weights, dict[str, Any]]] = {}
        for path, values in choice_fields(schema or {}):
            if len(values) < 2:
                continue
            weights = profile.weights_for(bpmn_id, info.role, path)
            if weights is None:
                allowed = "、".join(choice_key(v) for v in values)
                raise ProfileError(f"模拟配置没有{what}表单字段 {path} 的取值权重（可选：{allowed}）：请在 "
                                   f"tasks.{bpmn_id}.outcomes.{path}、roles.{info.role}.outcomes.{path} 或 "
                                   f"outcomes.{path} 中给出")
            choices[path] = (_checked_weights(weights.value, values, weights.key), _by_key(values))
            if weights.default:
                plan.defaults.append({"task": bpmn_id, "name": info.name, "setting": f"outcomes.{path}",
                                      "from": weights.key})
        plan.tasks[bpmn_id] = TaskPlan(bpmn_id, info.name, info.role, found.value, choices, schema)
    for message in sorted(definition.messages):
        behaviour = profile.messages.get(message)
        if behaviour is None:
            plan.unprofiled_messages.append(message)
            continue
        plan.messages[message] = behaviour
        plan.message_choices[message] = {}
        for path, values in choice_fields(definition.message_schema(message) or {}):
            if len(values) < 2:
                continue
            if path not in profile.outcomes:
                raise ProfileError(f"模拟配置没有消息“{message}”字段 {path} 的取值权重：请在 outcomes.{path} 中给出")
            plan.message_choices[message][path] = (
                _checked_weights(profile.outcomes[path], values, f"outcomes.{path}"), _by_key(values))
    plan.unused_profile_tasks = sorted(set(profile.tasks) - set(definition.user_tasks))
    return plan


def _by_key(values: list[Any]) -> dict[str, Any]:
    return {choice_key(v): v for v in values}


def _checked_weights(weights: Weights, values: list[Any], key: str) -> Weights:
    allowed = {choice_key(v) for v in values}
    for choice, _ in weights:
        if choice not in allowed:
            raise ProfileError(f"模拟配置 {key} 中的选项“{choice}”不是表单允许的取值（{'、'.join(sorted(allowed))}）")
    return weights


# --- arrivals ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    index: int
    received_at: datetime
    applicant: Applicant
    application: dict[str, Any]


def synthetic_application(base: dict[str, Any], index: int, applicant: Applicant) -> dict[str, Any]:
    """The example application as case `index` of the simulation: its own name and a valid, unique credit code, the
    applicant's region, level and type. Marked as simulated data in the institution's name."""
    application = copy.deepcopy(base)
    institution = application["institution"]
    institution["name"] = f"【模拟数据】{institution['name']}（第 {index + 1} 家）"[:200]
    body = f"{index + 1:08d}"
    first17 = f"91{applicant.region}{body}{organization_code_check_character(body)}"
    institution["credit_code"] = first17 + check_character(first17)
    institution["type"] = applicant.institution_type
    application["region"], application["authority_level"] = applicant.region, applicant.authority_level
    return application


def plan_arrivals(profile: Profile, office: OfficeTime, cases: int, first: date, last: date,
                  seed: int) -> list[Arrival]:
    """`cases` applications on the working days of [first, last], during office hours: uniformly at random
    ("uniform") or evenly spaced ("even"); each with an applicant drawn by the profile's weights."""
    days = office.working_days(first, last)
    if not days:
        raise InvalidInput(f"{first.isoformat()} 至 {last.isoformat()} 之间没有工作日，无法安排申请")
    rng = random.Random(f"{seed}|arrivals")
    hours = profile.hours_per_day
    opening = datetime.combine(days[0], profile.office_start, tzinfo=SHANGHAI)
    instants: list[datetime] = []
    for k in range(cases):
        if profile.arrival_pattern == "even":
            instants.append(office.add(opening, (k + 0.5) * len(days) * hours / cases))
        else:
            day = days[rng.randrange(len(days))]
            instants.append(office.add(datetime.combine(day, profile.office_start, tzinfo=SHANGHAI),
                                       rng.random() * hours))
    weights = tuple((str(i), a.weight) for i, a in enumerate(profile.applicants))
    applicants = [profile.applicants[int(choose(weights, rng))] for _ in range(cases)]
    base = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for index, applicant in enumerate(profile.applicants):
        try:
            validate_application(synthetic_application(base, 0, applicant), new=True)
        except ApplicationError as exc:
            raise ProfileError(f"模拟配置 arrivals.applicants[{index}] 生成的申请不符合要求："
                               + "；".join(exc.problems)) from None
    order = sorted(range(cases), key=lambda k: instants[k])
    return [Arrival(i, instants[k], applicants[k], synthetic_application(base, i, applicants[k]))
            for i, k in enumerate(order)]
