"""The posted ``(name, value)`` pairs read back into the JSON data the process sees, typed per schema.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from adapters.entrypoints.web.forms.fields import CHOICES_SEPARATOR, FALSE_WORDS, MAX_INDEX_DIGITS, TRUE_WORDS
from adapters.entrypoints.web.forms.schema import Spec, object_specs, resolved_node
from tasks.calendar import SHANGHAI

# The translator's placed sentences, so that every message here is word for word what ``schema_problems`` says.
from tasks.forms import DEFAULT_ROOT_LABEL

_OMIT: Final = object()


@dataclass
class _Reading:
    root: Mapping[str, Any]
    posted: dict[str, str]
    every: dict[str, list[str]] = field(default_factory=dict)
    """Each name's values in order (a ``checkboxes`` field posts one pair per checked box)."""
    data: dict[str, Any] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def read_form(schema: dict[str, Any], items: Sequence[tuple[str, str]]) -> _Reading:
    posted: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    for name, value in items:
        if isinstance(name, str) and isinstance(value, str):
            # Browsers post a textarea's line breaks as CRLF; the process and its documents use LF.
            posted[name] = value.replace("\r\n", "\n").replace("\r", "\n")
            every.setdefault(name, []).append(posted[name])
    reading = _Reading(root=schema, posted=posted, every=every)
    reading.data = _read_object(object_specs(schema, schema, in_row=False), (), (), reading)
    return reading


def _read_object(specs: Iterable[Spec], source: tuple[str | int, ...], target: tuple[str | int, ...],
                 reading: _Reading) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for spec in specs:
        value = _read(spec, (*source, spec.key), (*target, spec.key), reading)
        if value is not _OMIT:
            result[spec.key] = value
    return result


def _read(spec: Spec, source: tuple[str | int, ...], target: tuple[str | int, ...], reading: _Reading) -> Any:
    if spec.kind == "group":
        return _read_rows(spec, source, target, reading)
    if spec.kind == "object":
        if _blank(spec.children, source, reading) and not spec.required:
            return _OMIT
        return _read_object(spec.children, source, target, reading)
    name = input_name(target)
    if spec.kind == "checkboxes":
        return _read_choices(spec, source, target, reading)
    text = reading.posted.get(input_name(source), "").strip()
    if spec.kind == "checkbox":
        reading.values[name] = "true" if text.lower() in TRUE_WORDS else text
    elif text:
        reading.values[name] = text
    converted, problem = _convert(spec, text)
    if problem is not None:
        reading.problems[name] = f"{path_label(reading.root, target)}：{problem}"
        return _OMIT
    return converted


def _read_choices(spec: Spec, source: tuple[str | int, ...], target: tuple[str | int, ...],
                  reading: _Reading) -> Any:
    """The checked boxes as the list of the schema's values (a value saved as one text, one per line, is read the
    same way); omitted when none is checked, so that a required list is reported as missing."""
    posted = [part.strip() for text in reading.every.get(input_name(source), [])
              for part in text.split(CHOICES_SEPARATOR) if part.strip()]
    posted = list(dict.fromkeys(posted))
    name = input_name(target)
    if posted:
        reading.values[name] = CHOICES_SEPARATOR.join(posted)
    chosen: list[Any] = []
    for text in posted:
        value, problem = _convert(spec, text)
        if problem is not None:
            reading.problems[name] = f"{path_label(reading.root, target)}：{problem}"
            return _OMIT
        chosen.append(value)
    return chosen if chosen else _OMIT


def _read_rows(spec: Spec, source: tuple[str | int, ...], target: tuple[str | int, ...],
               reading: _Reading) -> Any:
    prefix = re.compile(re.escape(input_name(source)) + rf"\[(\d{{1,{MAX_INDEX_DIGITS}}})\]\[")
    indexes = sorted({int(m.group(1)) for name in reading.posted if (m := prefix.match(name))})
    rows: list[dict[str, Any]] = []
    for index in indexes:
        if _blank(spec.children, (*source, index), reading):
            continue  # the spare blank row the form always shows, or a row the caseworker emptied
        rows.append(_read_object(spec.children, (*source, index), (*target, len(rows)), reading))
    if not rows and not spec.required:
        return _OMIT
    return rows


def _blank(specs: Iterable[Spec], source: tuple[str | int, ...], reading: _Reading) -> bool:
    for spec in specs:
        if spec.kind in ("group", "object"):
            inside = input_name((*source, spec.key)) + "["
            if any(name.startswith(inside) and value.strip() for name, value in reading.posted.items()):
                return False
        elif reading.posted.get(input_name((*source, spec.key)), "").strip():
            return False
    return True


def _convert(spec: Spec, text: str) -> tuple[Any, str | None]:
    """The JSON value for ``text`` posted in ``spec``'s input, or ``_OMIT``; and what is wrong, if anything."""
    if spec.kind == "checkbox":
        word = text.lower()
        if word in TRUE_WORDS:
            return True, None
        if word in FALSE_WORDS or not word:
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


def field_path(specs: tuple[Spec, ...], path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
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


def path_label(root: Mapping[str, Any], path: Sequence[str | int]) -> str:
    """What a person calls the place: ``退费第1项·退费金额（元）`` (worded like ``field_reference``'s label)."""
    parts: list[str] = []
    node: dict[str, Any] = resolved_node(root, root)
    for index, step in enumerate(path):
        if isinstance(step, int):
            list_title = node.get("title")
            node = resolved_node(root, node.get("items"))
            # An item without a title of its own (a value chosen from a list) is named by its list's.
            if title := node.get("title") or list_title:
                parts.append(f"{title}第{step + 1}项")
        else:
            properties = node.get("properties", {})
            node = resolved_node(root, properties.get(step) if isinstance(properties, dict) else None)
            if index == len(path) - 1:
                parts.append(str(node.get("title") or step))
    return "·".join(parts) or DEFAULT_ROOT_LABEL


def input_name(path: Sequence[str | int]) -> str:
    """``("refunds", 0, "amount")`` → ``refunds[0][amount]``."""
    if not path:
        return ""
    return str(path[0]) + "".join(f"[{step}]" for step in path[1:])
