"""Task forms in the browser: HTML fields from a task's JSON Schema, and the posted form back to JSON data.

Three steps, all driven by the schema beside the user task (``bpmn/forms/*.schema.json``):

1. ``form_fields`` turns the schema into ``Field`` objects that ``templates/web/_form_fields.html`` renders as
   plain HTML (no JavaScript needed).
2. ``parse_form`` turns the posted ``(name, value)`` pairs back into the JSON data the process sees, typed per
   schema, and says in Chinese what could not be converted (a letter in a number, an impossible date).
3. ``problems_by_field`` runs the schema check of ``tasks.forms`` on that data and puts each message beside
   the field it is about; ``check_submission`` does 2 and 3 at once.

Input names follow the data's shape: ``decision``, ``refunds[0][amount]``, ``institution[name]``. Rows of a
list that are left entirely blank are dropped and the remaining rows renumbered, so the names of messages,
of redisplayed values and of the parsed data always agree.

Widget rules (where the schema says nothing about widgets):
- a string is a ``textarea`` when its ``maxLength`` is over 200 characters, otherwise a one-line ``text``:
  every prose field in the project states a ``maxLength`` (storage is bounded), while strings without one are
  identifiers and codes; guessing prose from a description's wording would be unpredictable;
- a ``oneOf``/``enum`` choice is a ``radio`` group with up to 4 choices, else a ``select``; inside a list's
  table it is always a ``select`` so that a row stays one line;
- a boolean with ``oneOf`` titles is a ``radio`` group (``true``/``false``); a plain boolean is a ``checkbox``,
  unchecked meaning ``false`` (a browser does not send an unchecked box);
- ``format: date`` is a ``date`` input kept as ``YYYY-MM-DD``; ``format: date-time`` is a ``datetime-local``
  input read as Beijing time and stored as ISO-8601 with its offset (``2026-09-30T10:00:00+08:00``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, Literal

from tasks.calendar import SHANGHAI

# The translator's placed sentences, so that every message here is word for word what ``schema_problems`` says.
from tasks.forms import DEFAULT_ROOT_LABEL, field_reference, located_problems
from tasks.text import MULTILINE_OVER

Kind = Literal["text", "textarea", "radio", "select", "checkbox", "date", "datetime-local", "number",
               "integer", "group", "object"]

TEXTAREA_OVER: Final = MULTILINE_OVER
"""Strings whose ``maxLength`` is over this many characters get a ``textarea`` (and only they may hold line breaks:
``tasks.text``)."""
RADIO_AT_MOST: Final = 4
"""Choices shown as radio buttons up to this many; more become a ``select``."""
ADD_ROW_FIELD: Final = "_add_row"
"""Name of the optional "添加一行" submit button (its value is the list's input name)."""

SCALAR_KINDS: Final = frozenset({"text", "textarea", "radio", "select", "checkbox", "date", "datetime-local",
                                 "number", "integer"})
_TRUE_WORDS: Final = frozenset({"true", "on", "1"})
_FALSE_WORDS: Final = frozenset({"false", "off", "0"})
_MAX_INDEX_DIGITS: Final = 6  # a row index longer than this is not a row of ours (and would be costly to parse)


class UnsupportedFormSchema(ValueError):
    """The schema has a shape no form widget here stands for (a list of plain values, a list inside a list)."""


# ---------------------------------------------------------------------------------------------------------
# What the template renders
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One input (or one list/sub-object of inputs) of a task form, ready for ``render_fields``."""

    name: str
    """The HTML input name: ``decision``, ``refunds[0][amount]``."""
    label: str
    """The schema's ``title`` (the property name when there is none)."""
    kind: Kind
    help: str | None = None
    """The schema's ``description`` (with the format hint of a ``pattern``, or the time zone of a date-time)."""
    required: bool = False
    """Always required: the input gets the HTML ``required`` attribute (never in a list's rows)."""
    condition: str | None = None
    """For fields required only in some cases (``if``/``then``): when, e.g. ``受理决定为「不予受理」时必填``."""
    choices: tuple[tuple[str, str], ...] = ()
    """``(value, title)`` for radio and select; ``value`` is what the browser posts."""
    value: str = ""
    """The current value, as the input shows it (``true`` for a checked box)."""
    error: str | None = None
    """What is wrong with this field, in Chinese, or ``None``."""
    constraints: Mapping[str, str] = field(default_factory=dict)
    """HTML attributes: ``maxlength``, ``min``, ``max``, ``step``, ``pattern`` (and ``title`` explaining it)."""
    children: tuple[tuple[Field, ...], ...] = ()
    """For a ``group``: one tuple of fields per row shown; for an ``object``: a single row."""
    add_rows: int = 0
    """For a ``group``: how many rows it shows, i.e. the filled rows and one blank row (at least 1)."""

    @property
    def id(self) -> str:
        """The element id: ``f-refunds-0-amount`` for ``refunds[0][amount]``."""
        return "f-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", self.name).strip("-") or "field")

    @property
    def help_id(self) -> str:
        return f"{self.id}-help"

    @property
    def condition_id(self) -> str:
        return f"{self.id}-condition"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def described_by(self) -> str:
        """The ids for ``aria-describedby``: help, condition and error, those that are shown."""
        ids = [self.help_id if self.help else "", self.condition_id if self.condition else "",
               self.error_id if self.error else ""]
        return " ".join(i for i in ids if i)


@dataclass(frozen=True)
class Submission:
    """A posted form checked against its schema: ``check_submission``."""

    data: dict[str, Any]
    """The JSON data the process would see."""
    values: dict[str, str]
    """What was typed, by input name (blank rows dropped, rows renumbered): redisplay it with ``form_fields``."""
    field_errors: dict[str, str]
    """Chinese messages by input name: conversion problems first, then the schema's."""
    form_errors: list[str]
    """Messages about no particular field."""
    adding_row: str | None = None
    """The list whose "添加一行" button was pressed (the form is to be shown again, not completed)."""

    @property
    def ok(self) -> bool:
        return not self.field_errors and not self.form_errors


# ---------------------------------------------------------------------------------------------------------
# The public functions
# ---------------------------------------------------------------------------------------------------------


def form_fields(schema: dict[str, Any], values: Mapping[str, Any] | None = None,
                problems_by_field: Mapping[str, str] | None = None) -> list[Field]:
    """The fields of the form for ``schema``, filled from ``values``, with ``problems_by_field`` beside them.

    ``values`` may be the JSON data (nested, as the process sees it: ``{"refunds": [{"amount": 5}]}``) or the
    posted values by input name (``{"refunds[0][amount]": "5"}``, as ``submitted_values`` gives them), or
    both mixed; a value by input name wins. With ``values=None`` (a fresh form) the schema's ``default``s
    are shown.
    """
    specs = _object_specs(schema, schema, in_row=False)
    fresh = values is None
    return [_build_field(spec, (spec.key,), values or {}, problems_by_field or {}, fresh) for spec in specs]


def form_values(schema: dict[str, Any], data: Mapping[str, Any]) -> dict[str, str]:
    """``data`` as the inputs show it, by input name: the form a browser would post back for ``data``."""
    values: dict[str, str] = {}
    for spec in _object_specs(schema, schema, in_row=False):
        _flatten(spec, (spec.key,), data, values)
    return values


def parse_form(schema: dict[str, Any], items: Sequence[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted ``(name, value)`` pairs as the JSON data the process sees, and conversion problems by name.

    Only names the schema knows are read (``csrf_token`` and anything else are ignored). Empty optional
    fields are left out; list rows whose inputs are all empty are dropped. A value that cannot be converted
    (``abc`` for a number, ``2026-02-30`` for a date) is left out of the data and reported instead; the
    schema's own rules (required fields, lengths, allowed values) are for ``problems_by_field``.
    """
    reading = _read_form(schema, items)
    return reading.data, reading.problems


def submitted_values(schema: dict[str, Any], items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """What was posted for the schema's fields, by input name, numbered as ``parse_form`` numbers rows.

    Pass it to ``form_fields`` to show the form again with what the caseworker typed, even where it could not
    be converted.
    """
    return _read_form(schema, items).values


def problems_by_field(schema: dict[str, Any], data: Any) -> tuple[dict[str, str], list[str]]:
    """The messages of ``schema_problems(schema, data)``, by the input name they are about, and the rest.

    A field's message names it by its title (``退费第1项·退费金额（元）：取值 -1 超出范围，应不小于 0``); several
    messages for one field are joined with ``；``. Messages about no field of the form (the whole form, a
    field the form does not show) are returned in full, in ``schema_problems`` order.
    """
    specs = _object_specs(schema, schema, in_row=False)
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for path, message in located_problems(schema, data):
        target = _field_path(specs, path)
        if target is None:
            if message not in general:
                general.append(message)
            continue
        where = field_reference(schema, path)
        if message.startswith(f"{where}："):
            message = f"{_path_label(schema, path)}：{message[len(where) + 1:]}"
        messages = by_field.setdefault(_input_name(target), [])
        if message not in messages:
            messages.append(message)
    return {name: "；".join(messages) for name, messages in by_field.items()}, general


def check_submission(schema: dict[str, Any], items: Sequence[tuple[str, str]]) -> Submission:
    """``parse_form`` and ``problems_by_field`` at once, with what was typed for showing the form again.

    A field that could not be converted keeps its conversion message (the schema would only add that it is
    missing).
    """
    reading = _read_form(schema, items)
    by_field, general = problems_by_field(schema, reading.data)
    errors = dict(reading.problems)
    for name, message in by_field.items():
        errors.setdefault(name, message)
    adding = next((value for name, value in items if name == ADD_ROW_FIELD), None)
    return Submission(data=reading.data, values=reading.values, field_errors=errors, form_errors=general,
                      adding_row=adding)


# ---------------------------------------------------------------------------------------------------------
# The schema, read once into field specifications
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Choice:
    value: str  # what the browser posts
    const: Any  # what the data holds
    title: str


@dataclass(frozen=True)
class _Spec:
    key: str
    title: str
    kind: Kind
    help: str | None
    required: bool
    condition: str | None
    choices: tuple[_Choice, ...] = ()
    constraints: Mapping[str, str] = field(default_factory=dict)
    children: tuple[_Spec, ...] = ()
    max_items: int | None = None
    default: Any = None
    has_default: bool = False


def _object_specs(node: Any, root: Mapping[str, Any], *, in_row: bool) -> tuple[_Spec, ...]:
    resolved = _resolved(root, node)
    properties = resolved.get("properties", {})
    if not isinstance(properties, dict):
        return ()
    required = {name for name in resolved.get("required", []) if isinstance(name, str)}
    conditions = _conditions(resolved, root, properties)
    return tuple(
        _spec(key, sub, root, required=key in required,
              condition=None if key in required else conditions.get(key), in_row=in_row)
        for key, sub in properties.items() if isinstance(sub, dict)
    )


def _spec(key: str, node: Mapping[str, Any], root: Mapping[str, Any], *, required: bool, condition: str | None,
          in_row: bool) -> _Spec:
    n = _resolved(root, node)
    title = str(n.get("title") or key)
    description = str(n["description"]) if n.get("description") else None
    kind_of_json = _json_type(n)
    base: dict[str, Any] = {"key": key, "title": title, "help": description, "required": required,
                            "condition": condition, "default": n.get("default"), "has_default": "default" in n}
    choices = _choices(n)
    if choices:
        kind: Kind = "select" if in_row or len(choices) > RADIO_AT_MOST else "radio"
        return _Spec(kind=kind, choices=choices, **base)
    if kind_of_json == "boolean":
        return _Spec(kind="checkbox", **base)
    if kind_of_json in ("integer", "number"):
        return _Spec(kind=kind_of_json, constraints=_number_constraints(n, kind_of_json), **base)
    if kind_of_json == "string":
        return _string_spec(n, base)
    where = f"property {key!r} ({title})"
    if kind_of_json == "array":
        items = _resolved(root, n.get("items"))
        if in_row or _json_type(items) != "object":
            raise UnsupportedFormSchema(f"{where}: only a list of objects, not inside another list, has a form")
        children = _object_specs(items, root, in_row=True)
        if any(child.kind not in SCALAR_KINDS for child in children):
            raise UnsupportedFormSchema(f"{where}: the rows of a list may hold plain fields only")
        max_items = n.get("maxItems")
        return _Spec(kind="group", children=children,
                     max_items=max_items if isinstance(max_items, int) else None, **base)
    if kind_of_json == "object" and not in_row:
        return _Spec(kind="object", children=_object_specs(n, root, in_row=False), **base)
    raise UnsupportedFormSchema(f"{where}: no form widget for type {kind_of_json!r}")


def _string_spec(n: Mapping[str, Any], base: dict[str, Any]) -> _Spec:
    hint = n.get("x-pattern-hint")
    if n.get("format") == "date":
        return _Spec(kind="date", **(base | {"help": _joined(base["help"], hint)}))
    if n.get("format") == "date-time":
        return _Spec(kind="datetime-local", **(base | {"help": _joined(base["help"], "按北京时间填写")}))
    constraints: dict[str, str] = {}
    max_length = n.get("maxLength")
    if isinstance(max_length, int):
        constraints["maxlength"] = str(max_length)
    if isinstance(max_length, int) and max_length > TEXTAREA_OVER:
        return _Spec(kind="textarea", constraints=constraints, **base)
    pattern = n.get("pattern")
    html_pattern = html_pattern_of(pattern) if isinstance(pattern, str) else None
    if html_pattern is not None:
        constraints["pattern"] = html_pattern
        title = hint or ("不能只填空格" if pattern == r"\S" else None)
        if title:
            constraints["title"] = str(title)
    return _Spec(kind="text", constraints=constraints, **(base | {"help": _joined(base["help"], hint)}))


def _number_constraints(n: Mapping[str, Any], kind: str) -> dict[str, str]:
    # A number input's default step is 1: without step="any" a browser refuses 12.5 in a "number" field.
    constraints = {"step": "1" if kind == "integer" else "any"}
    for keyword in ("minimum", "maximum"):
        bound = n.get(keyword)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            constraints[keyword[:3]] = str(bound)
    return constraints


def _choices(n: Mapping[str, Any]) -> tuple[_Choice, ...]:
    options = n.get("oneOf") or n.get("anyOf")
    if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
        return tuple(_Choice(_choice_value(o["const"]), o["const"], str(o.get("title") or _plain(o["const"])))
                     for o in options)
    enum = n.get("enum")
    if isinstance(enum, list) and enum:
        return tuple(_Choice(_choice_value(v), v, _plain(v)) for v in enum if v is not None)
    return ()


def _choice_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _json_type(n: Mapping[str, Any]) -> str | None:
    declared = n.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    return declared if isinstance(declared, str) else None


def _joined(first: str | None, second: Any) -> str | None:
    parts = [str(p) for p in (first, second) if p]
    return "；".join(parts) if parts else None


def _resolved(root: Mapping[str, Any], node: Any) -> dict[str, Any]:
    """``node`` with local ``$ref``s followed; keywords beside a ``$ref`` win (a title describes this use)."""
    if not isinstance(node, dict):
        return {}
    merged: dict[str, Any] = {}
    seen: set[str] = set()
    current: Any = node
    while isinstance(current, dict):
        merged = {**{k: v for k, v in current.items() if k != "$ref"}, **merged}
        ref = current.get("$ref")
        if not (isinstance(ref, str) and ref.startswith("#")) or ref in seen:
            break
        seen.add(ref)
        target: Any = root
        for token in filter(None, ref.removeprefix("#").split("/")):
            key = token.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, dict) else None
        current = target
    return merged


# ---------------------------------------------------------------------------------------------------------
# Conditional requirements (if/then) in Chinese
# ---------------------------------------------------------------------------------------------------------


def _conditions(node: Mapping[str, Any], root: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, str]:
    """``{field: "受理决定为「不予受理」或「材料不全…」时必填"}`` for the ``if``/``then`` rules simple enough to say.

    Simple means: ``if`` requires some fields and may pin them to values (``const``/``enum``); the fields are
    this object's own. Anything else is not described, and the field is shown as optional (the server still
    checks the rule).
    """
    rules = [node] + [_resolved(root, sub) for sub in node.get("allOf", []) if isinstance(sub, dict)]
    found: dict[str, list[str]] = {}
    for rule in rules:
        then = _resolved(root, rule.get("then"))
        needed = [name for name in then.get("required", []) if isinstance(name, str)]
        if not needed or "if" not in rule:
            continue
        when = _describe_if(_resolved(root, rule["if"]), root, properties)
        if when is None:
            continue
        for name in needed:
            found.setdefault(name, []).append(when)
    dependent = node.get("dependentRequired", {})
    if isinstance(dependent, dict):
        for trigger, names in dependent.items():
            if trigger in properties and isinstance(names, list):
                title = _resolved(root, properties[trigger]).get("title") or trigger
                for name in names:
                    found.setdefault(name, []).append(f"填写了「{title}」")
    return {name: "；".join(f"{when}时必填" for when in whens) for name, whens in found.items()}


def _describe_if(condition: Mapping[str, Any], root: Mapping[str, Any], properties: Mapping[str, Any]) -> str | None:
    if not condition or set(condition) - {"required", "properties"}:
        return None
    required = [name for name in condition.get("required", []) if isinstance(name, str)]
    pinned = condition.get("properties", {})
    # A pinned field that is not also required matches when it is absent too: not a simple sentence.
    if not isinstance(pinned, dict) or not set(pinned) <= set(required) or not required:
        return None
    phrases: list[str] = []
    for name in required:
        if name not in properties:
            return None
        field_schema = _resolved(root, properties[name])
        title = field_schema.get("title") or name
        if name not in pinned:
            phrases.append(f"填写了「{title}」")
            continue
        rule = pinned[name]
        if not isinstance(rule, dict) or set(rule) - {"const", "enum"}:
            return None
        wanted = [rule["const"]] if "const" in rule else rule.get("enum")
        if not isinstance(wanted, list) or not wanted:
            return None
        titles = {_choice_value(c.const): c.title for c in _choices(field_schema)}
        shown = "或".join(f"「{titles.get(_choice_value(v), _plain(v))}」" for v in wanted)
        phrases.append(f"{title}为{shown}")
    return "且".join(phrases)


# ---------------------------------------------------------------------------------------------------------
# Building the fields
# ---------------------------------------------------------------------------------------------------------

_MISSING: Final = object()


def _build_field(spec: _Spec, path: tuple[str | int, ...], values: Mapping[str, Any], problems: Mapping[str, str],
                 fresh: bool, optional_parent: str | None = None) -> Field:
    """``optional_parent``: the title of an optional sub-object this field is in, whose required fields are
    required only once it is filled (so the browser must not insist on them)."""
    name = _input_name(path)
    required, condition = spec.required, spec.condition
    if required and optional_parent is not None:
        required, condition = False, f"填写「{optional_parent}」时必填"
    common: dict[str, Any] = {"name": name, "label": spec.title, "kind": spec.kind, "help": spec.help,
                              "required": required, "condition": condition, "error": problems.get(name)}
    if spec.kind == "group":
        filled = _row_count(values, name, path)
        shown = filled if spec.max_items is not None and filled >= spec.max_items else filled + 1
        shown = max(shown, 1)
        rows = tuple(
            tuple(_build_field(child, (*path, index, child.key), values, problems, fresh) for child in spec.children)
            for index in range(shown)
        )
        return Field(children=rows, add_rows=shown, **common)
    if spec.kind == "object":
        parent = None if required else spec.title
        row = tuple(_build_field(child, (*path, child.key), values, problems, fresh, parent)
                    for child in spec.children)
        return Field(children=(row,), **common)
    raw = _lookup(values, name, path)
    if raw is _MISSING and fresh and spec.has_default:
        raw = spec.default
    return Field(choices=tuple((c.value, c.title) for c in spec.choices), value=_display(spec, raw),
                 constraints=dict(spec.constraints), **common)


def _lookup(values: Mapping[str, Any], name: str, path: tuple[str | int, ...]) -> Any:
    """The value posted under ``name``, else the one at ``path`` in nested data, else ``_MISSING``."""
    return values[name] if name in values else _at(values, path)


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    current: Any = data
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return _MISSING
        elif not isinstance(current, Mapping) or step not in current:
            return _MISSING
        current = current[step]
    return current


def _row_count(values: Mapping[str, Any], name: str, path: tuple[str | int, ...]) -> int:
    nested = _lookup(values, name, path)
    count = len(nested) if isinstance(nested, list) else 0
    row = re.compile(re.escape(name) + rf"\[(\d{{1,{_MAX_INDEX_DIGITS}}})\]\[")
    for key, value in values.items():
        match = row.match(key) if isinstance(key, str) else None
        if match and _filled(value):
            count = max(count, int(match.group(1)) + 1)
    return count


def _filled(value: Any) -> bool:
    return value.strip() != "" if isinstance(value, str) else value is not None and value is not False


def _display(spec: _Spec, raw: Any) -> str:
    if raw is _MISSING or raw is None:
        return ""
    if spec.kind == "checkbox":
        return "true" if raw is True or (isinstance(raw, str) and raw.strip().lower() in _TRUE_WORDS) else ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if spec.kind == "datetime-local" and isinstance(raw, str):
        return _local_datetime_text(raw)
    if isinstance(raw, float):
        return str(raw)
    return str(raw)


def _local_datetime_text(text: str) -> str:
    """``2026-09-30T02:00:00Z`` → ``2026-09-30T10:00`` (Beijing time, as a datetime-local input shows it)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text  # not a time we can read: show it as it is, so nothing is silently changed
    if moment.tzinfo is not None:
        moment = moment.astimezone(SHANGHAI)
    shown = moment.strftime("%Y-%m-%dT%H:%M")
    if moment.second or moment.microsecond:
        shown += moment.strftime(":%S")
    return shown


def _flatten(spec: _Spec, path: tuple[str | int, ...], data: Any, out: dict[str, str]) -> None:
    raw = _at(data, path)
    if spec.kind == "group":
        for index, _row in enumerate(raw if isinstance(raw, list) else []):
            for child in spec.children:
                _flatten(child, (*path, index, child.key), data, out)
        return
    if spec.kind == "object":
        for child in spec.children:
            _flatten(child, (*path, child.key), data, out)
        return
    shown = _display(spec, raw)
    if shown:
        out[_input_name(path)] = shown


# ---------------------------------------------------------------------------------------------------------
# Reading the posted form
# ---------------------------------------------------------------------------------------------------------

_OMIT: Final = object()


@dataclass
class _Reading:
    root: Mapping[str, Any]
    posted: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def _read_form(schema: dict[str, Any], items: Sequence[tuple[str, str]]) -> _Reading:
    posted: dict[str, str] = {}
    for name, value in items:
        if isinstance(name, str) and isinstance(value, str):
            # Browsers post a textarea's line breaks as CRLF; the process and its documents use LF.
            posted[name] = value.replace("\r\n", "\n").replace("\r", "\n")
    reading = _Reading(root=schema, posted=posted)
    reading.data = _read_object(_object_specs(schema, schema, in_row=False), (), (), reading)
    return reading


def _read_object(specs: Iterable[_Spec], source: tuple[str | int, ...], target: tuple[str | int, ...],
                 reading: _Reading) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for spec in specs:
        value = _read(spec, (*source, spec.key), (*target, spec.key), reading)
        if value is not _OMIT:
            result[spec.key] = value
    return result


def _read(spec: _Spec, source: tuple[str | int, ...], target: tuple[str | int, ...], reading: _Reading) -> Any:
    if spec.kind == "group":
        return _read_rows(spec, source, target, reading)
    if spec.kind == "object":
        if _blank(spec.children, source, reading) and not spec.required:
            return _OMIT
        return _read_object(spec.children, source, target, reading)
    name = _input_name(target)
    text = reading.posted.get(_input_name(source), "").strip()
    if spec.kind == "checkbox":
        reading.values[name] = "true" if text.lower() in _TRUE_WORDS else text
    elif text:
        reading.values[name] = text
    converted, problem = _convert(spec, text)
    if problem is not None:
        reading.problems[name] = f"{_path_label(reading.root, target)}：{problem}"
        return _OMIT
    return converted


def _read_rows(spec: _Spec, source: tuple[str | int, ...], target: tuple[str | int, ...],
               reading: _Reading) -> Any:
    prefix = re.compile(re.escape(_input_name(source)) + rf"\[(\d{{1,{_MAX_INDEX_DIGITS}}})\]\[")
    indexes = sorted({int(m.group(1)) for name in reading.posted if (m := prefix.match(name))})
    rows: list[dict[str, Any]] = []
    for index in indexes:
        if _blank(spec.children, (*source, index), reading):
            continue  # the spare blank row the form always shows, or a row the caseworker emptied
        rows.append(_read_object(spec.children, (*source, index), (*target, len(rows)), reading))
    if not rows and not spec.required:
        return _OMIT
    return rows


def _blank(specs: Iterable[_Spec], source: tuple[str | int, ...], reading: _Reading) -> bool:
    for spec in specs:
        if spec.kind in ("group", "object"):
            inside = _input_name((*source, spec.key)) + "["
            if any(name.startswith(inside) and value.strip() for name, value in reading.posted.items()):
                return False
        elif reading.posted.get(_input_name((*source, spec.key)), "").strip():
            return False
    return True


def _convert(spec: _Spec, text: str) -> tuple[Any, str | None]:
    """The JSON value for ``text`` posted in ``spec``'s input, or ``_OMIT``; and what is wrong, if anything."""
    if spec.kind == "checkbox":
        word = text.lower()
        if word in _TRUE_WORDS:
            return True, None
        if word in _FALSE_WORDS or not word:
            return False, None
        return _OMIT, f"应为是或否，实为「{text}」"
    if not text:
        return _OMIT, None
    if spec.choices:
        for choice in spec.choices:
            if choice.value == text:
                return choice.const, None
        if all(isinstance(c.const, str) for c in spec.choices):
            return text, None  # the schema check names the allowed values in its own words
        allowed = "、".join(f"「{c.title}」" for c in spec.choices)
        return _OMIT, f"取值「{text}」不在允许范围内，应为以下之一：{allowed}"
    if spec.kind == "integer":
        digits = unicodedata.normalize("NFKC", text).strip()
        if re.fullmatch(r"[+-]?[0-9]+", digits):
            return int(digits), None
        return _OMIT, f"应为整数，实为「{text}」"
    if spec.kind == "number":
        return _number(text)
    if spec.kind == "date":
        return _date(text)
    if spec.kind == "datetime-local":
        return _datetime(text)
    return text, None


def _number(text: str) -> tuple[Any, str | None]:
    written = unicodedata.normalize("NFKC", text).strip()
    if re.fullmatch(r"[+-]?[0-9]+", written):
        return int(written), None
    if re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", written):
        number = float(written)
        if math.isfinite(number):
            return number, None
    return _OMIT, f"应为数字，实为「{text}」"


def _date(text: str) -> tuple[Any, str | None]:
    written = unicodedata.normalize("NFKC", text).strip()
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", written):
        try:
            return date.fromisoformat(written).isoformat(), None
        except ValueError:
            pass
    return _OMIT, f"不是有效的日期（「{text}」），应为 年-月-日，如 2026-10-15"


def _datetime(text: str) -> tuple[Any, str | None]:
    written = unicodedata.normalize("NFKC", text).strip()
    shape = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
    if re.fullmatch(shape, written):
        try:
            moment = datetime.fromisoformat(written.replace(" ", "T"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:  # what a datetime-local input posts: Beijing time
                moment = moment.replace(tzinfo=SHANGHAI)
            return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds"), None
    return _OMIT, f"不是有效的日期时间（「{text}」），应为 年-月-日 时:分，如 2026-09-30 10:00"


# ---------------------------------------------------------------------------------------------------------
# Schema problems, placed
# ---------------------------------------------------------------------------------------------------------


def _field_path(specs: tuple[_Spec, ...], path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The deepest prefix of ``path`` that is a field of the form (a row's field, else its list), or None."""
    found: tuple[str | int, ...] | None = None
    level = specs
    i = 0
    while i < len(path) and isinstance(path[i], str):
        spec = next((s for s in level if s.key == path[i]), None)
        if spec is None:
            break
        found = path[: i + 1]
        if spec.kind == "group" and i + 1 < len(path) and isinstance(path[i + 1], int):
            level, i = spec.children, i + 2
        elif spec.kind == "object":
            level, i = spec.children, i + 1
        else:
            break
    return found


def _path_label(root: Mapping[str, Any], path: Sequence[str | int]) -> str:
    """What a person calls the place: ``退费第1项·退费金额（元）`` (worded like ``field_reference``'s label)."""
    parts: list[str] = []
    node: dict[str, Any] = _resolved(root, root)
    for index, step in enumerate(path):
        if isinstance(step, int):
            node = _resolved(root, node.get("items"))
            if node.get("title"):
                parts.append(f"{node['title']}第{step + 1}项")
        else:
            properties = node.get("properties", {})
            node = _resolved(root, properties.get(step) if isinstance(properties, dict) else None)
            if index == len(path) - 1:
                parts.append(str(node.get("title") or step))
    return "·".join(parts) or DEFAULT_ROOT_LABEL


def _input_name(path: Sequence[str | int]) -> str:
    """``("refunds", 0, "amount")`` → ``refunds[0][amount]``."""
    if not path:
        return ""
    return str(path[0]) + "".join(f"[{step}]" for step in path[1:])


# ---------------------------------------------------------------------------------------------------------
# JSON Schema patterns as HTML pattern attributes
# ---------------------------------------------------------------------------------------------------------

_CLASS_SYNTAX: Final = frozenset("()[]{}/|")
_DOUBLE_PUNCTUATORS: Final = ("&&", "!!", "##", "$$", "%%", "**", "++", ",,", "..", "::", ";;", "<<", "==", ">>",
                              "??", "@@", "^^", "``", "~~")


def html_pattern_of(pattern: str) -> str | None:
    """The HTML ``pattern`` attribute that accepts what the JSON Schema ``pattern`` accepts, or None.

    A JSON Schema pattern searches (unanchored) while an HTML pattern must match the whole value, and
    browsers compile it with the ``v`` flag, where ``( ) [ { } / - |`` inside a character class must be
    escaped. Patterns this cannot translate faithfully (alternation at the top, Python-only syntax, reserved
    double punctuation in a class) give None: the server checks them anyway.
    """
    if "|" in pattern or "(?P" in pattern or "(?#" in pattern:
        return None
    body = pattern
    starts = body.startswith("^")
    ends = body.endswith("$") and not body.endswith("\\$")
    body = body[1 if starts else 0: len(body) - 1 if ends else len(body)]
    escaped = _escape_classes(body)
    if escaped is None:
        return None
    return ("" if starts else ".*") + (f"(?:{escaped})" if not (starts and ends) else escaped) + \
        ("" if ends else ".*")


def _escape_classes(body: str) -> str | None:
    out: list[str] = []
    i = 0
    in_class = False
    class_start = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            out.append(body[i: i + 2])
            i += 2
            continue
        if not in_class:
            if char == "[":
                in_class, class_start = True, len(out) + 1
                out.append(char)
                if body[i + 1: i + 2] == "^":
                    out.append("^")
                    class_start += 1
                    i += 1
            else:
                out.append(char)
            i += 1
            continue
        if char == "]":
            in_class = False
            out.append(char)
        elif body[i: i + 2] in _DOUBLE_PUNCTUATORS:
            return None
        elif char in _CLASS_SYNTAX:
            out.append("\\" + char)
        elif char == "-":
            # A range's dash stays; a dash at either end of the class is a literal and must be escaped.
            at_start = len(out) == class_start
            at_end = body[i + 1: i + 2] == "]"
            out.append("\\-" if at_start or at_end else "-")
        else:
            out.append(char)
        i += 1
    return None if in_class else "".join(out)
