"""Fields from the spec and the values to show in them (``form_fields``' work).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from adapters.entrypoints.web.forms.fields import CHOICES_SEPARATOR, MAX_INDEX_DIGITS, TRUE_WORDS, Field
from adapters.entrypoints.web.forms.reading import input_name
from adapters.entrypoints.web.forms.schema import Spec
from tasks.calendar import SHANGHAI

# The translator's placed sentences, so that every message here is word for word what ``schema_problems`` says.

_MISSING: Final = object()


def build_field(spec: Spec, path: tuple[str | int, ...], values: Mapping[str, Any], problems: Mapping[str, str],
                 fresh: bool, optional_parent: str | None = None) -> Field:
    """``optional_parent``: the title of an optional sub-object this field is in, whose required fields are
    required only once it is filled (so the browser must not insist on them)."""
    name = input_name(path)
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
            tuple(build_field(child, (*path, index, child.key), values, problems, fresh) for child in spec.children)
            for index in range(shown)
        )
        return Field(children=rows, add_rows=shown, **common)
    if spec.kind == "object":
        parent = None if required else spec.title
        row = tuple(build_field(child, (*path, child.key), values, problems, fresh, parent)
                    for child in spec.children)
        return Field(children=(row,), **common)
    raw = _lookup(values, name, path)
    if raw is _MISSING and fresh and spec.has_default:
        raw = spec.default
    if spec.kind == "checkboxes":
        return Field(choices=tuple((c.value, c.title) for c in spec.choices), checked=checked_values(spec, raw),
                     **common)
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
    row = re.compile(re.escape(name) + rf"\[(\d{{1,{MAX_INDEX_DIGITS}}})\]\[")
    for key, value in values.items():
        match = row.match(key) if isinstance(key, str) else None
        if match and _filled(value):
            count = max(count, int(match.group(1)) + 1)
    return count


def _filled(value: Any) -> bool:
    return value.strip() != "" if isinstance(value, str) else value is not None and value is not False


def checked_values(spec: Spec, raw: Any) -> tuple[str, ...]:
    """The values of the boxes to check: from nested data (a list of the schema's values) or from what was posted
    or saved (the input values, one per line)."""
    if raw is _MISSING or raw is None:
        return ()
    if isinstance(raw, str):
        return tuple(v for v in (part.strip() for part in raw.split(CHOICES_SEPARATOR)) if v)
    by_const = {_choice_key(c.const): c.value for c in spec.choices}
    items = raw if isinstance(raw, list | tuple) else [raw]
    return tuple(by_const.get(_choice_key(item), str(item)) for item in items)


def _choice_key(value: Any) -> str:
    return f"{type(value).__name__}:{value}"


def _display(spec: Spec, raw: Any) -> str:
    if raw is _MISSING or raw is None:
        return ""
    if spec.kind == "checkboxes":
        return CHOICES_SEPARATOR.join(checked_values(spec, raw))
    if spec.kind == "checkbox":
        return "true" if raw is True or (isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS) else ""
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


def flatten_values(spec: Spec, path: tuple[str | int, ...], data: Any, out: dict[str, str]) -> None:
    raw = _at(data, path)
    if spec.kind == "group":
        for index, _row in enumerate(raw if isinstance(raw, list) else []):
            for child in spec.children:
                flatten_values(child, (*path, index, child.key), data, out)
        return
    if spec.kind == "object":
        for child in spec.children:
            flatten_values(child, (*path, child.key), data, out)
        return
    shown = _display(spec, raw)
    if shown:
        out[input_name(path)] = shown
