"""The simulation profile: how long caseworkers and outside parties take, and what they decide.

A profile is JSON (`bpmn/simulation/profile.json` is the default; `docs/simulation.md` documents every setting). A
user's profile is merged over the default: sections and entries are merged key by key, while a distribution, a set
of outcome weights and the list of applicants are replaced as a whole (half of one distribution merged with half of
another would be neither); `null` removes an entry (e.g. a task, so that its role's default applies).

Everything here is pure: no database, no clock. It also holds the office-time arithmetic (caseworkers act during
office hours on working days) and the generation of form data from a JSON Schema and the profile's choices.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tasks.calendar import SHANGHAI, WorkingDayCalendar
from tasks.errors import InvalidInput
from tasks.form_choices import KEYWORD as CASE_CHOICES
from tasks.forms import schema_problems
from tasks.reasons import file_reason, json_reason
from tasks.roles import ROLES
from workflows.messages import MESSAGES

DEFAULT_PROFILE_PATH = Path(__file__).resolve().parent.parent / "bpmn" / "simulation" / "profile.json"

# z of the 90th percentile of the standard normal distribution: lognormal(median, p90) has sigma = ln(p90/median)/Z90.
Z90 = 1.2815515655446004
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "lognormal": ("median", "p90"),
    "triangular": ("low", "mode", "high"),
    "uniform": ("low", "high"),
    "fixed": ("value",),
}
UNITS = ("working_days", "working_hours")
ARRIVAL_PATTERNS = ("uniform", "even")
ROLE_KEYS = tuple(role.key for role in ROLES if role.key != "system")
# Keys that hold a whole value a user's profile replaces instead of merging into.
_REPLACED = ("duration", "delay", "applicants")
_MAX_HORIZON_DAYS = 3650

Weights = tuple[tuple[str, float], ...]


class ProfileError(InvalidInput):
    """A profile that cannot be used; the message names the key."""


# --- distributions -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    kind: str
    params: tuple[tuple[str, float], ...]
    unit: str

    def draw_hours(self, rng: random.Random, hours_per_day: float) -> float:
        """One draw, in office hours."""
        p = dict(self.params)
        if self.kind == "lognormal":
            sigma = math.log(p["p90"] / p["median"]) / Z90
            value = p["median"] * math.exp(sigma * rng.normalvariate(0.0, 1.0))
        elif self.kind == "triangular":
            value = rng.triangular(p["low"], p["high"], p["mode"])
        elif self.kind == "uniform":
            value = rng.uniform(p["low"], p["high"])
        else:
            value = p["value"]
        return value * hours_per_day if self.unit == "working_days" else value

    def describe(self) -> str:
        p = dict(self.params)
        unit = "个工作日" if self.unit == "working_days" else "个工作小时"
        if self.kind == "lognormal":
            return f"对数正态：中位数 {p['median']:g}、第90百分位 {p['p90']:g}{unit}"
        if self.kind == "triangular":
            return f"三角分布：最短 {p['low']:g}、最可能 {p['mode']:g}、最长 {p['high']:g}{unit}"
        if self.kind == "uniform":
            return f"均匀分布：{p['low']:g} 至 {p['high']:g}{unit}"
        return f"固定 {p['value']:g}{unit}"


@dataclass(frozen=True)
class Behaviour:
    """How a task (or a role's tasks by default) is worked: its duration and the weights of its choice fields."""

    duration: Distribution | None
    outcomes: dict[str, Weights]


@dataclass(frozen=True)
class MessageBehaviour:
    probability: float
    delay: Distribution


@dataclass(frozen=True)
class Applicant:
    region: str
    authority_level: str
    institution_type: str
    weight: float

    @property
    def label(self) -> str:
        return f"{self.region}/{self.authority_level}/{self.institution_type}"


@dataclass(frozen=True)
class Resolved:
    """A setting found for a task, with the profile key it came from (to report defaults)."""

    value: Any
    key: str
    default: bool


@dataclass(frozen=True)
class Profile:
    source: str
    data: dict[str, Any]
    office_start: time
    office_end: time
    arrival_pattern: str
    applicants: tuple[Applicant, ...]
    roles: dict[str, Behaviour]
    tasks: dict[str, Behaviour]
    outcomes: dict[str, Weights]
    messages: dict[str, MessageBehaviour]
    days_after_until: int

    @property
    def hours_per_day(self) -> float:
        start = datetime.combine(date(2000, 1, 1), self.office_start)
        return (datetime.combine(date(2000, 1, 1), self.office_end) - start).total_seconds() / 3600

    def check_roles(self, added: Iterable[str]) -> None:
        """Each key of `roles` is a role a lane may stand for: a built-in one or one the database's administrator
        added (`added`); ProfileError names the first that is not."""
        _refuse_unknown_keys(self.roles, {*ROLE_KEYS, *added}, "roles")

    def duration_for(self, bpmn_id: str, role: str | None) -> Resolved | None:
        task = self.tasks.get(bpmn_id)
        if task is not None and task.duration is not None:
            return Resolved(task.duration, f"tasks.{bpmn_id}.duration", False)
        behaviour = self.roles.get(role or "")
        if behaviour is not None and behaviour.duration is not None:
            return Resolved(behaviour.duration, f"roles.{role}.duration", True)
        return None

    def weights_for(self, bpmn_id: str, role: str | None, field: str) -> Resolved | None:
        task = self.tasks.get(bpmn_id)
        if task is not None and field in task.outcomes:
            return Resolved(task.outcomes[field], f"tasks.{bpmn_id}.outcomes.{field}", False)
        behaviour = self.roles.get(role or "")
        if behaviour is not None and field in behaviour.outcomes:
            return Resolved(behaviour.outcomes[field], f"roles.{role}.outcomes.{field}", True)
        if field in self.outcomes:
            return Resolved(self.outcomes[field], f"outcomes.{field}", True)
        return None


# --- loading -----------------------------------------------------------------------------------------------------


def load_profile(path: Path | None = None) -> Profile:
    """The default profile, with the file at `path` (if any) merged over it."""
    default = _read(DEFAULT_PROFILE_PATH)
    if path is None:
        return profile_from_data(default, "默认配置")
    return profile_from_data(merge(default, _read(path)), str(path))


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"无法读取模拟配置文件 {path}：{file_reason(exc)}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"模拟配置文件 {path} 不是有效的 JSON：{json_reason(exc)}") from None


def merge(base: Any, override: Any, key: str = "") -> Any:
    """`override` over `base`: dicts merged key by key, except distributions, outcome weights and lists, which are
    replaced; a `null` in `override` removes the key."""
    if not isinstance(base, dict) or not isinstance(override, dict) or key in _REPLACED or key.startswith("outcomes."):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for name, value in override.items():
        if value is None:
            merged.pop(name, None)
        elif name in merged:
            child = f"outcomes.{name}" if key == "outcomes" else name
            merged[name] = merge(merged[name], value, child)
        else:
            merged[name] = copy.deepcopy(value)
    return merged


def profile_from_data(data: Any, source: str) -> Profile:
    """Check a (merged) profile and build it; ProfileError names the first wrong key."""
    top = _object(data, "模拟配置", {"description", "office_hours", "arrivals", "roles", "tasks", "outcomes",
                                       "messages", "horizon"},
                  {"office_hours", "arrivals", "roles", "tasks", "messages", "horizon"})
    office = _object(top["office_hours"], "office_hours", {"start", "end"}, {"start", "end"})
    start, end = _clock_time(office["start"], "office_hours.start"), _clock_time(office["end"], "office_hours.end")
    if start >= end:
        raise ProfileError("模拟配置 office_hours：start 应早于 end")
    arrivals = _object(top["arrivals"], "arrivals", {"pattern", "applicants"}, {"pattern", "applicants"})
    if arrivals["pattern"] not in ARRIVAL_PATTERNS:
        raise ProfileError(f"模拟配置 arrivals.pattern 应为 {'、'.join(ARRIVAL_PATTERNS)} 之一，"
                           f"实为 {arrivals['pattern']!r}")
    roles_raw = _object(top["roles"], "roles", None, set())  # which keys are roles: check_roles, with the database
    roles = {key: _behaviour(value, f"roles.{key}", require_duration=True) for key, value in roles_raw.items()}
    tasks = {key: _behaviour(value, f"tasks.{key}", require_duration=False)
             for key, value in _object(top["tasks"], "tasks", None, set()).items()}
    outcomes = {key: _weights(value, f"outcomes.{key}")
                for key, value in _object(top.get("outcomes", {}), "outcomes", None, set()).items()}
    messages = {key: _message(value, f"messages.{key}")
                for key, value in _object(top["messages"], "messages", set(MESSAGES), set()).items()}
    horizon = _object(top["horizon"], "horizon", {"days_after_until"}, {"days_after_until"})
    days = horizon["days_after_until"]
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= _MAX_HORIZON_DAYS:
        raise ProfileError(f"模拟配置 horizon.days_after_until 应为 0 至 {_MAX_HORIZON_DAYS} 的整数（天），"
                           f"实为 {days!r}")
    return Profile(source=source, data=top, office_start=start, office_end=end, arrival_pattern=arrivals["pattern"],
                   applicants=_applicants(arrivals["applicants"]), roles=roles, tasks=tasks, outcomes=outcomes,
                   messages=messages, days_after_until=days)


def _object(value: Any, where: str, allowed: set[str] | None, required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(f"模拟配置 {where} 应为 JSON 对象，实为 {type(value).__name__}")
    if allowed is not None:
        _refuse_unknown_keys(value, allowed, where)
    missing = sorted(required - set(value))
    if missing:
        raise ProfileError(f"模拟配置 {where} 缺少键“{missing[0]}”")
    return value


def _refuse_unknown_keys(value: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """ProfileError naming the first key of `value` not in `allowed`, and the keys that are."""
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ProfileError(f"模拟配置 {where} 中的键“{unknown[0]}”无效；可用的键：{'、'.join(sorted(allowed))}")


def _number(value: Any, where: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < minimum:
        raise ProfileError(f"模拟配置 {where} 应为不小于 {minimum:g} 的数，实为 {value!r}")
    return float(value)


def _clock_time(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ProfileError(f"模拟配置 {where} 应为“HH:MM”格式的时刻，实为 {value!r}") from None


def distribution(value: Any, where: str) -> Distribution:
    raw = _object(value, where, None, {"distribution"})
    kind = raw["distribution"]
    if kind not in DISTRIBUTIONS:
        raise ProfileError(f"模拟配置 {where}.distribution 应为 {'、'.join(DISTRIBUTIONS)} 之一，实为 {kind!r}")
    names = DISTRIBUTIONS[kind]
    _object(raw, where, {"distribution", "unit", *names}, set(names))
    unit = raw.get("unit", "working_days")
    if unit not in UNITS:
        raise ProfileError(f"模拟配置 {where}.unit 应为 {'、'.join(UNITS)} 之一，实为 {unit!r}")
    p = {name: _number(raw[name], f"{where}.{name}") for name in names}
    if kind == "lognormal" and not 0 < p["median"] < p["p90"]:
        raise ProfileError(f"模拟配置 {where}：对数正态分布要求 0 < median < p90（相等时请用 fixed）")
    if (kind == "triangular" and not p["low"] <= p["mode"] <= p["high"]) \
            or (kind in ("triangular", "uniform") and p["low"] >= p["high"]):
        raise ProfileError(f"模拟配置 {where}：应满足 low ≤ mode ≤ high 且 low < high")
    return Distribution(kind, tuple(p.items()), unit)


def _weights(value: Any, where: str) -> Weights:
    raw = _object(value, where, None, set())
    weights = tuple((str(choice), _number(weight, f"{where}.{choice}")) for choice, weight in raw.items())
    if not weights or sum(w for _, w in weights) <= 0:
        raise ProfileError(f"模拟配置 {where}：至少要有一个选项的权重大于 0")
    return weights


def _behaviour(value: Any, where: str, require_duration: bool) -> Behaviour:
    raw = _object(value, where, {"duration", "outcomes"}, {"duration"} if require_duration else set())
    outcomes = _object(raw.get("outcomes", {}), f"{where}.outcomes", None, set())
    return Behaviour(duration=distribution(raw["duration"], f"{where}.duration") if "duration" in raw else None,
                     outcomes={name: _weights(w, f"{where}.outcomes.{name}") for name, w in outcomes.items()})


def _message(value: Any, where: str) -> MessageBehaviour:
    raw = _object(value, where, {"probability", "delay"}, {"probability", "delay"})
    probability = _number(raw["probability"], f"{where}.probability")
    if probability > 1:
        raise ProfileError(f"模拟配置 {where}.probability 应在 0 至 1 之间，实为 {probability:g}")
    return MessageBehaviour(probability, distribution(raw["delay"], f"{where}.delay"))


def _applicants(value: Any) -> tuple[Applicant, ...]:
    if not isinstance(value, list) or not value:
        raise ProfileError("模拟配置 arrivals.applicants 应为非空列表")
    applicants = []
    for index, item in enumerate(value):
        where = f"arrivals.applicants[{index}]"
        raw = _object(item, where, {"region", "authority_level", "institution_type", "weight"},
                      {"region", "authority_level", "institution_type", "weight"})
        for key in ("region", "authority_level", "institution_type"):
            if not isinstance(raw[key], str):
                raise ProfileError(f"模拟配置 {where}.{key} 应为文本")
        applicants.append(Applicant(raw["region"], raw["authority_level"], raw["institution_type"],
                                    _number(raw["weight"], f"{where}.weight")))
    if sum(a.weight for a in applicants) <= 0:
        raise ProfileError("模拟配置 arrivals.applicants：至少要有一类申请机构的权重大于 0")
    return tuple(applicants)


def choose(weights: Weights, rng: random.Random) -> str:
    """One choice, with probability proportional to its weight."""
    total = sum(w for _, w in weights)
    point = rng.random() * total
    for choice, weight in weights:
        point -= weight
        if point < 0:
            return choice
    return next(choice for choice, weight in reversed(weights) if weight > 0)


# --- office time -------------------------------------------------------------------------------------------------


class OfficeTime:
    """Office hours on working days (Asia/Shanghai): when caseworkers act and outside parties are heard."""

    def __init__(self, calendar: WorkingDayCalendar, start: time, end: time) -> None:
        self.calendar, self.start, self.end = calendar, start, end
        self._working: dict[date, bool] = {}

    def working(self, day: date) -> bool:
        if day not in self._working:
            self._working[day] = self.calendar.is_working_day(day)
        return self._working[day]

    def _open(self, day: date) -> datetime:
        return datetime.combine(day, self.start, tzinfo=SHANGHAI)

    def _close(self, day: date) -> datetime:
        return datetime.combine(day, self.end, tzinfo=SHANGHAI)

    def next_open(self, instant: datetime) -> datetime:
        """`instant` if the office is open then, else the next opening."""
        local = instant.astimezone(SHANGHAI)
        day = local.date()
        if self.working(day) and local < self._close(day):
            return max(local, self._open(day))
        day += timedelta(days=1)
        while not self.working(day):
            day += timedelta(days=1)
        return self._open(day)

    def add(self, instant: datetime, hours: float) -> datetime:
        """The instant `hours` of office time after `instant`."""
        at = self.next_open(instant)
        remaining = timedelta(hours=max(hours, 0.0))
        while True:
            left_today = self._close(at.date()) - at
            if remaining <= left_today:
                return at + remaining
            remaining -= left_today
            at = self.next_open(self._close(at.date()))

    def between(self, first: datetime, last: datetime) -> float:
        """Office hours from `first` to `last`."""
        a, b = first.astimezone(SHANGHAI), last.astimezone(SHANGHAI)
        hours, day = 0.0, a.date()
        while day <= b.date():
            if self.working(day):
                lo, hi = max(a, self._open(day)), min(b, self._close(day))
                if hi > lo:
                    hours += (hi - lo).total_seconds() / 3600
            day += timedelta(days=1)
        return hours

    def working_days(self, first: date, last: date) -> list[date]:
        days, day = [], first
        while day <= last:
            if self.working(day):
                days.append(day)
            day += timedelta(days=1)
        return days


# --- form data from a schema --------------------------------------------------------------------------------------


def resolve(schema: Mapping[str, Any], node: Any) -> Any:
    """Follow local `$ref`s."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        if node["$ref"] in seen:
            return {}
        seen.add(node["$ref"])
        target: Any = schema
        for token in filter(None, node["$ref"].removeprefix("#").split("/")):
            target = target.get(token.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        node = target
    return node if isinstance(node, dict) else {}


def choices_of(node: Mapping[str, Any]) -> list[Any] | None:
    """The values a field allows, when it is a choice (enum, oneOf/anyOf of consts, const, boolean); else None."""
    if "const" in node:
        return [node["const"]]
    if isinstance(node.get("enum"), list):
        return list(node["enum"])
    for keyword in ("oneOf", "anyOf"):
        options = node.get(keyword)
        if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
            return [o["const"] for o in options]
    if node.get("type") == "boolean":
        return [True, False]
    return None


def choice_key(value: Any) -> str:
    """How a choice is named in the profile: booleans as "true"/"false", others as their text."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def choice_fields(schema: Mapping[str, Any], node: Mapping[str, Any] | None = None,
                  prefix: str = "", *, case_choices: bool = False) -> Iterator[tuple[str, list[Any]]]:
    """(dotted field path, allowed values) of every choice field, nested objects included. A choice that depends on
    the case (`x-choices`, tasks/form_choices.py: the region's inspection methods, its ladder of measures) is not the
    profile's to weigh: the simulation fills in the form's default, or its first choice. `case_choices`: those too
    (in a schema already narrowed to the case, as a check's trial run tries each)."""
    current = resolve(schema, schema if node is None else node)
    for name, sub in (current.get("properties") or {}).items():
        sub = resolve(schema, sub)
        path = f"{prefix}{name}"
        values = choices_of(sub)
        if values is not None and CASE_CHOICES in sub and not case_choices:
            continue
        if values is not None:
            yield path, values
        elif sub.get("type") == "object" or "properties" in sub:
            yield from choice_fields(schema, sub, f"{path}.", case_choices=case_choices)


def generate(schema: Mapping[str, Any], chosen: Mapping[str, Any], now: datetime, label: str) -> dict[str, Any]:
    """Data for a form or message: every property filled (choices from `chosen`, by dotted path; text as a marked
    placeholder; dates as `now`), so conditional requirements (`if`/`then`) are met whatever the choice."""
    value = _value(schema, resolve(schema, schema), "", chosen, now, label)
    return value if isinstance(value, dict) else {}


def _value(schema: Mapping[str, Any], node: Mapping[str, Any], path: str, chosen: Mapping[str, Any], now: datetime,
           label: str) -> Any:
    values = choices_of(node)
    if values is not None:
        return chosen[path] if path in chosen else node.get("default", values[0])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {name: _value(schema, resolve(schema, sub), f"{path}.{name}" if path else name, chosen, now,
                             str(resolve(schema, sub).get("title") or name))
                for name, sub in (node.get("properties") or {}).items()}
    if kind == "array":
        item = resolve(schema, node.get("items", {}))
        return [_value(schema, item, f"{path}[]", chosen, now, label) for _ in range(int(node.get("minItems", 0)))]
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in node else 0)
        return int(low) if kind == "integer" else float(low)
    local = now.astimezone(SHANGHAI)
    if node.get("format") == "date-time":
        return local.isoformat(timespec="seconds")
    if node.get("format") == "date":
        return local.date().isoformat()
    text = f"【模拟】{label}"
    text += "。" * max(0, int(node.get("minLength", 0)) - len(text))
    return text[: int(node["maxLength"])] if "maxLength" in node else text


def checked(schema: Mapping[str, Any] | None, data: dict[str, Any], what: str) -> dict[str, Any]:
    """`data` if it satisfies `schema`; else a loud error: the profile cannot produce valid data for `what`."""
    if schema is None:
        return data
    problems = schema_problems(schema, data)  # the plan's own schema object: its validator is built once
    if problems:
        raise ProfileError(f"模拟无法为{what}生成符合表单的数据（请在模拟配置中给出取值权重或修改表单）："
                           + "；".join(problems))
    return data
