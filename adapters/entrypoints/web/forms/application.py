"""The intake clerk's form for a paper filing application (登记纸质备案申请): fields, and the posted form back.

The application schema (``tasks/schemas/application.schema.json``) has two shapes the generic task-form layer
(``adapters.entrypoints.web.forms``) has no widget for: ``occupations[].levels``, a list of integers chosen from
1–5, and ``sites[].equipment``, a list inside a list. Everything else is left to ``forms``:

- the top of the application (institution, region, authority level) and the flat lists (assessors, quality
  supervisors, experts, materials) are a schema ``webforms`` supports as it is (the application's schema without
  ``occupations`` and ``sites``);
- one occupation and one site are each such a schema too, read as a sub-form under the row's name prefix
  (``occupations[0]``, ``sites[1]``); a site's equipment is then a plain list of objects, i.e. a ``webforms``
  table;
- ``levels`` is a ``checkboxes`` field (one checkbox per level), posted as several ``occupations[0][levels]``
  pairs; it is built here because the levels are integers named by ``LEVEL_NAMES``;
- the occupation and site lists are a fieldset per item (``RecordsField``, kind ``records``), since an item holds
  a textarea, a checkbox group or a table that does not fit in a table row.

``templates/web/application_form.html`` renders the kinds ``webforms`` knows with its macro and these two itself.

The posted form is checked by ``tasks.application.validate_application``, the same gate as every other way in, and
its Chinese messages are put beside the field they are about (the path each message starts with says which).
Blank rows are dropped and the rest renumbered, so the names of messages, of redisplayed values and of the data
agree (as in ``webforms``).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple, cast

from adapters.entrypoints.web.forms.fields import ADD_ROW_FIELD, Field, Kind
from adapters.entrypoints.web.forms.task_form import form_fields, parse_form, submitted_values
from tasks.application import LEVEL_NAMES, ApplicationError, application_schema, validate_application
from tasks.calendar import SHANGHAI
from tasks.forms import field_reference
from workflows import clock

__all__ = [
    "ADD_ROW_FIELD", "BLANK_ROWS", "LISTS", "RECEIVED_AT_FIELD", "RecordsField", "Section",
    "adding_row", "application_fields", "list_field", "posted_values", "read_application", "read_list",
    "read_received_at",
]

RECEIVED_AT_FIELD: Final = "received_at"
"""The 收件日期 input: not part of the application, it is ``apply``'s ``received_at`` (``read_received_at``)."""

BLANK_ROWS: Final = {
    "occupations": 3,
    "assessors": 9,  # three occupations, three assessors each: the usual minimum (川人社办发〔2019〕94号 二（五）)
    "quality_supervisors": 2,
    "experts": 3,
    "sites": 2,
    "equipment": 3,  # per site
    "materials": 8,  # the eight items of 川人社办发〔2019〕94号 五（一）至（八）
}
"""Rows a list shows at least: a paper application is typed in one go, without a round trip per row. A list with
more filled rows shows them and one blank row; the "添加一行" button (``ADD_ROW_FIELD``) adds one more."""

RECEIVED_AT_LOOKBACK_DAYS: Final = 366
"""A 收件日期 further back than this is refused as a likely typo (2025 for 2026): the statutory clock would have run
out long ago, and such a case is for a supervisor to look into, not for routine intake."""

RECORDS: Final = cast(Kind, "records")
"""This module's kind for a list whose items are shown as one fieldset each."""

_ROOT_LABEL: Final = "申请"  # as tasks.application words its messages
_ROW_LISTS: Final = ("occupations", "sites")  # lists whose items are read as sub-forms
_TABLE_LISTS: Final = ("assessors", "quality_supervisors", "experts", "materials")  # webforms tables
LISTS: Final = ("occupations", "assessors", "quality_supervisors", "experts", "sites")
"""The lists of the filed particulars a change report may give anew, each on a form of its own (``list_field``,
``read_list``); the declared materials are not a particular of the filing."""
_MAX_INDEX_DIGITS: Final = 6  # as in webforms: a longer row index is not a row of ours
_INDEX: Final = rf"\[(\d{{1,{_MAX_INDEX_DIGITS}}})\]"
_ADDABLE: Final = re.compile(rf"(?:{'|'.join(_ROW_LISTS + _TABLE_LISTS)})|sites{_INDEX}\[equipment\]")
# The path at the start of a message of tasks.application: ``occupations[1].code（…）：``, ``region（…）：``.
_MESSAGE_PATH: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)(?=（|：)")
# A place named inside a message (``与 occupations[0] 重复``): said as a person would, ``职业（工种）第1项``.
_INNER_PATH: Final = re.compile(
    rf" ?\b((?:{'|'.join(_ROW_LISTS + _TABLE_LISTS)})\[\d+\](?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*) ?"
)
_PATH_STEP: Final = re.compile(r"\[(\d+)\]|\[([^\[\]]+)\]|\.?([A-Za-z_][A-Za-z0-9_]*)")


# ---------------------------------------------------------------------------------------------------------
# What the template renders
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordsField(Field):
    """A list shown as one fieldset per item (kind ``records``): ``children`` holds one tuple of fields per item."""

    item_label: str = ""
    """What one item is called: the legend of item 2 is ``{item_label}第2项``."""
    item_required: tuple[str, ...] = ()
    """The labels of the fields an item must have once it is filled. They are said once, above the items, rather
    than beside each field: a blank item is allowed (and dropped), so its fields carry no HTML ``required``."""


class Section(NamedTuple):
    """A part of the form under its own heading."""

    title: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class _Schemas:
    full: dict[str, Any]
    flat: dict[str, Any]
    """The application without ``occupations`` and ``sites``: a schema ``webforms`` supports."""
    rows: Mapping[str, dict[str, Any]]
    """One item of ``occupations`` (without ``levels``) and of ``sites``, each as a schema of its own."""


@lru_cache(maxsize=2)
def _schemas(new: bool = False) -> _Schemas:
    """``new``: as a new application must fill it (``tasks.application.NEW_APPLICATION_REQUIRED`` required); the
    resubmission of a case received before those fields were asked for may leave them out."""
    full = application_schema(new=new)
    flat = copy.deepcopy(full)
    for key in _ROW_LISTS:
        del flat["properties"][key]
    flat["required"] = [key for key in flat["required"] if key not in _ROW_LISTS]
    rows: dict[str, dict[str, Any]] = {}
    for key in _ROW_LISTS:
        item = copy.deepcopy(full["properties"][key]["items"])
        item["$defs"] = copy.deepcopy(full.get("$defs", {}))
        rows[key] = item
    occupation = rows["occupations"]
    del occupation["properties"]["levels"]
    occupation["required"] = [key for key in occupation["required"] if key != "levels"]
    return _Schemas(full=full, flat=flat, rows=rows)


# ---------------------------------------------------------------------------------------------------------
# The form
# ---------------------------------------------------------------------------------------------------------


def application_fields(values: Mapping[str, Any] | None = None, errors: Mapping[str, str] | None = None, *,
                       add_row: str | None = None, today: date | None = None, new: bool = False) -> list[Section]:
    """The application form's sections, filled from ``values``, with ``errors`` beside their fields.

    ``values`` may be an application (nested, as ``read_application`` returns it) or what was posted, by input
    name (``posted_values``), or both mixed; a value by input name wins. ``values=None`` is a fresh form.
    ``errors`` are ``read_application``'s field errors (plus ``read_received_at``'s under ``RECEIVED_AT_FIELD``).
    ``add_row``: the list whose "添加一行" button was pressed (``adding_row``) gets one more blank row.
    ``today`` (Beijing; the clock's by default) is the 收件日期's default and latest allowed value.
    ``new``: the form registers a new application (not a resubmission): what only a new one must give is marked
    required.
    """
    schemas = _schemas(new)
    fresh = values is None
    shown: Mapping[str, Any] = values or {}
    problems: Mapping[str, str] = errors or {}
    flat = {f.name: f for f in form_fields(schemas.flat, None if fresh else shown, problems)}
    for name in _TABLE_LISTS:
        flat[name] = _padded(flat[name], BLANK_ROWS[name], adding=add_row == name)
    properties = schemas.full["properties"]
    return [
        Section("收件信息", (_received_at_field(shown, problems, today or clock.today_in_shanghai()),)),
        Section("机构信息", flat["institution"].children[0]),
        Section("所在地区与备案层级", (flat["region"], flat["authority_level"], flat["parent_filing_number"])),
        Section("申报职业", (_records("occupations", properties["occupations"], shown, problems, fresh,
                                      add_row, _occupation_row),)),
        Section("评价人员", (flat["assessors"], flat["quality_supervisors"], flat["experts"])),
        Section("场地与设施设备", (_records("sites", properties["sites"], shown, problems, fresh, add_row,
                                            _site_row),)),
        Section("材料清单", (flat["materials"],)),
    ]


def list_field(name: str, values: Mapping[str, Any], errors: Mapping[str, str] | None = None, *,
               add_row: str | None = None) -> Field:
    """List ``name`` (one of ``LISTS``) as the application form shows it, filled from ``values``: a filed record
    (nested) or what was posted (by input name)."""
    if name not in LISTS:
        raise KeyError(name)
    for section in application_fields(values, errors, add_row=add_row):
        for found in section.fields:
            if found.name == name:
                return found
    raise AssertionError(name)


def _received_at_field(values: Mapping[str, Any], errors: Mapping[str, str], today: date) -> Field:
    value = values.get(RECEIVED_AT_FIELD, today.isoformat())
    return Field(name=RECEIVED_AT_FIELD, label="收件日期", kind="date", required=True,
                 help="收到纸质申请材料的日期，法定办理期限自此起算；不能晚于今天",
                 value=str(value), error=errors.get(RECEIVED_AT_FIELD), constraints={"max": today.isoformat()})


_RowBuilder = Callable[[int, Mapping[str, Any] | None, Mapping[str, str], str | None], tuple[Field, ...]]


def _records(name: str, schema: Mapping[str, Any], values: Mapping[str, Any], errors: Mapping[str, str],
             fresh: bool, add_row: str | None, build: _RowBuilder) -> RecordsField:
    rows = max(_filled_rows(values, name) + 1, BLANK_ROWS[name]) + (1 if add_row == name else 0)
    built = [build(index, None if fresh else _within(values, name, index), _within(errors, name, index), add_row)
             for index in range(rows)]
    return RecordsField(name=name, label=str(schema["title"]), kind=RECORDS, help=schema.get("description"),
                        required=name in _schemas().full["required"], error=errors.get(name),
                        children=tuple(tuple(replace(f, required=False) for f in row) for row in built),
                        add_rows=rows, item_label=str(schema["items"]["title"]),
                        item_required=tuple(f.label for f in built[0] if f.required))


def _occupation_row(index: int, values: Mapping[str, Any] | None, errors: Mapping[str, str],
                    _add_row: str | None) -> tuple[Field, ...]:
    prefix = f"occupations[{index}]"
    fields = [_prefixed(f, prefix) for f in form_fields(_schemas().rows["occupations"], values, errors)]
    levels_schema = _schemas().full["properties"]["occupations"]["items"]["properties"]["levels"]
    levels = Field(
        name=f"{prefix}[levels]", label=str(levels_schema["title"]), kind="checkboxes", help="可多选",
        required=levels_schema.get("minItems", 0) > 0, error=errors.get("levels"),
        # Lowest level first, as the schema's description and the notices list them.
        choices=tuple((str(level), LEVEL_NAMES[level]) for level in sorted(LEVEL_NAMES, reverse=True)),
        checked=_checked((values or {}).get("levels")),
    )
    after_name = next((i + 1 for i, f in enumerate(fields) if f.name == f"{prefix}[name]"), len(fields))
    return (*fields[:after_name], levels, *fields[after_name:])


def _site_row(index: int, values: Mapping[str, Any] | None, errors: Mapping[str, str],
              add_row: str | None) -> tuple[Field, ...]:
    prefix = f"sites[{index}]"
    built: list[Field] = []
    for f in form_fields(_schemas().rows["sites"], values, errors):
        if f.kind == "group":  # the equipment table
            f = _padded(f, BLANK_ROWS["equipment"], adding=add_row == f"{prefix}[{f.name}]")
        built.append(_prefixed(f, prefix))
    return tuple(built)


def _checked(raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list | tuple) else [] if raw is None else [raw]
    return tuple(str(item).strip() for item in items if str(item).strip())


def _prefixed(f: Field, prefix: str) -> Field:
    """``f`` with its names under ``prefix``: ``code`` → ``occupations[0][code]``, ``equipment[1][name]`` →
    ``sites[0][equipment][1][name]``."""
    return _renamed(f, lambda name: _prefixed_name(prefix, name))


def _renamed(f: Field, rename: Callable[[str], str]) -> Field:
    children = tuple(tuple(_renamed(cell, rename) for cell in row) for row in f.children)
    return replace(f, name=rename(f.name), children=children)


def _padded(group: Field, at_least: int, *, adding: bool = False) -> Field:
    """A ``webforms`` table (the filled rows and one blank) with blank rows up to ``at_least`` rows, and one more
    when its "添加一行" button was pressed."""
    rows_wanted = max(len(group.children), at_least) + (1 if adding else 0)
    if len(group.children) >= rows_wanted or not group.children:
        return group
    last = len(group.children) - 1
    template = group.children[-1]  # blank: webforms shows one row more than the filled ones
    old = f"{group.name}[{last}]"

    def blank_row(index: int) -> tuple[Field, ...]:
        new = f"{group.name}[{index}]"
        return tuple(replace(_renamed(cell, lambda name: new + name[len(old):] if name.startswith(old) else name),
                             value="", error=None) for cell in template)

    rows = group.children + tuple(blank_row(i) for i in range(len(group.children), rows_wanted))
    return replace(group, children=rows, add_rows=len(rows))


def _filled_rows(values: Mapping[str, Any], name: str) -> int:
    """How many items of list ``name`` ``values`` holds (nested, or by input name up to the last filled one)."""
    nested = values.get(name)
    count = len(nested) if isinstance(nested, list) else 0
    row = re.compile(re.escape(name) + _INDEX + r"\[")
    for key, value in values.items():
        match = row.match(key) if isinstance(key, str) else None
        if match and _filled(value):
            count = max(count, int(match.group(1)) + 1)
    return count


def _filled(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_filled(item) for item in value)
    return value.strip() != "" if isinstance(value, str) else value is not None and value is not False


def _within(values: Mapping[str, Any], name: str, index: int) -> dict[str, Any]:
    """Item ``index`` of list ``name`` in ``values``, as its own sub-form's values: nested data and by input name
    (``occupations[0][code]`` → ``code``, ``sites[0][equipment][1][name]`` → ``equipment[1][name]``)."""
    found: dict[str, Any] = {}
    nested = values.get(name)
    if isinstance(nested, list) and index < len(nested) and isinstance(nested[index], Mapping):
        found.update(nested[index])
    prefix = f"{name}[{index}]["
    for key, value in values.items():
        if isinstance(key, str) and key.startswith(prefix):
            found[_unprefixed(key[len(prefix) - 1:])] = value
    return found


def _unprefixed(rest: str) -> str:
    """``[code]`` → ``code``; ``[equipment][1][name]`` → ``equipment[1][name]``."""
    close = rest.index("]")
    return rest[1:close] + rest[close + 1:]


# ---------------------------------------------------------------------------------------------------------
# The posted form
# ---------------------------------------------------------------------------------------------------------


@dataclass
class _Reading:
    data: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    """Conversion problems by input name (worded ``label：problem``)."""
    renumbered: dict[str, dict[int, int]] = field(default_factory=dict)
    """For ``occupations`` and ``sites``: posted item index → index after blank items are dropped."""


def read_application(items: Sequence[tuple[str, str]], *,
                     new: bool = False) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The posted ``(name, value)`` pairs as an application, checked by ``validate_application`` (as a new
    application with ``new``).

    Returns the application, Chinese messages by input name (blank rows dropped and the rest renumbered, as
    ``posted_values`` numbers them), and messages about no particular field. With no messages at all the
    application is ``validate_application``'s normalised copy, ready for ``app.cases.apply``; otherwise it is what
    could be read (values that could not be converted left out) and is not to be filed.
    ``csrf_token``, ``received_at`` (see ``read_received_at``) and ``_add_row`` are not part of it.
    """
    reading = _read(items)
    field_errors = dict(reading.problems)
    form_errors: list[str] = []
    try:
        application = validate_application(reading.data, new=new)
    except ApplicationError as exc:
        application = reading.data
        placed: dict[str, list[str]] = {}
        for problem in exc.problems:
            name, message = _placed(problem)
            if name is None:
                if message not in form_errors:
                    form_errors.append(message)
            elif name not in reading.problems:  # a value that could not be converted keeps that message only
                messages = placed.setdefault(name, [])
                if message not in messages:
                    messages.append(message)
        field_errors.update({name: "；".join(messages) for name, messages in placed.items()})
    return application, field_errors, form_errors


def read_list(items: Sequence[tuple[str, str]], name: str,
              record: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str], list[str]]:
    """List ``name`` (one of ``LISTS``) as posted on its own form, and the whole ``record`` with it in place checked
    by ``validate_application`` (a change must leave a filing every way in would accept).

    Returns the list (normalised when there are no messages), messages by input name about the list's fields, and
    messages about the rest (e.g. an occupation left without assessors). Pairs of other fields are ignored."""
    if name not in LISTS:
        raise KeyError(name)
    reading = _read([(key, value) for key, value in items if _in_list(key, name)])
    rows: list[dict[str, Any]] = list(reading.data.get(name) or [])
    field_errors = {key: message for key, message in reading.problems.items() if _in_list(key, name)}
    form_errors: list[str] = []
    try:
        checked = validate_application({**record, name: rows})
    except ApplicationError as exc:
        for problem in exc.problems:
            place, message = _placed(problem)
            if place is not None and _in_list(place, name):
                if place not in reading.problems:
                    field_errors[place] = "；".join(filter(None, (field_errors.get(place), message))) \
                        if message not in field_errors.get(place, "") else field_errors[place]
            elif message not in form_errors:
                form_errors.append(message)
        return rows, field_errors, form_errors
    return (rows, field_errors, []) if field_errors else (list(checked[name]), {}, [])


def _in_list(input_name: str, name: str) -> bool:
    return input_name == name or input_name.startswith(f"{name}[")


def posted_values(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """What was posted, by input name and numbered as ``read_application`` numbers rows: ``application_fields``'s
    ``values`` for showing the form again as it was typed (a level list is a list of strings)."""
    return _read(items).values


def adding_row(items: Sequence[tuple[str, str]]) -> str | None:
    """The list whose "添加一行" button was pressed (its name as ``application_fields`` takes it), or None.

    The route shows the form again with ``add_row=`` this and without messages, instead of registering.
    """
    pressed = next((value for name, value in reversed(items) if name == ADD_ROW_FIELD), None)
    match = _ADDABLE.fullmatch(pressed) if isinstance(pressed, str) else None
    if match is None:
        return None
    if match.group(1) is None:
        return pressed
    # A site's equipment: follow the site to its number once blank sites are dropped (a dropped site has none).
    site = _read(items).renumbered["sites"].get(int(match.group(1)))
    return None if site is None else f"sites[{site}][equipment]"


def read_received_at(items: Sequence[tuple[str, str]], now: datetime) -> tuple[datetime | None, str | None]:
    """The 收件日期 as ``apply``'s ``received_at``, or what is wrong with it (in Chinese).

    Today means ``now`` (the moment of registration); an earlier day means 09:00 Beijing time that day, the
    convention of ``beian apply --received-at``. Refused: blank, not a date, after today, or more than
    ``RECEIVED_AT_LOOKBACK_DAYS`` days back.
    """
    label = "收件日期"
    text = next((value for name, value in reversed(items) if name == RECEIVED_AT_FIELD), "").strip()
    if not text:
        return None, f"{label}：不能为空"
    written = unicodedata.normalize("NFKC", text)
    try:
        day = date.fromisoformat(written) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", written) else None
    except ValueError:
        day = None
    if day is None:
        return None, f"{label}：不是有效的日期（「{text}」），应为 年-月-日，如 2026-10-15"
    today = now.astimezone(SHANGHAI).date()
    if day > today:
        return None, f"{label}：{_cn_date(day)}晚于今天（{_cn_date(today)}），收件日期不能是将来的日期"
    if day < today - timedelta(days=RECEIVED_AT_LOOKBACK_DAYS):
        return None, f"{label}：{_cn_date(day)}早于一年前，请核对年份"
    if day == today:
        return now, None
    return datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI), None


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _read(items: Sequence[tuple[str, str]]) -> _Reading:
    posted = [(name, value) for name, value in items if isinstance(name, str) and isinstance(value, str)]
    schemas = _schemas()
    reading = _Reading()
    flat_data, flat_problems = parse_form(schemas.flat, posted)
    reading.values.update(submitted_values(schemas.flat, posted))
    for name, message in flat_problems.items():
        reading.problems[name] = _relabelled(name, message)
    rows = {key: _read_rows(key, posted, reading) for key in _ROW_LISTS}
    received = next((value for name, value in reversed(posted) if name == RECEIVED_AT_FIELD), None)
    if received is not None:
        reading.values[RECEIVED_AT_FIELD] = received.strip()
    # The application in the schema's order, as it is stored and shown.
    for key in schemas.full["properties"]:
        if key in rows:
            if rows[key] or key in schemas.full["required"]:
                reading.data[key] = rows[key]
        elif key in flat_data:
            reading.data[key] = flat_data[key]
    return reading


def _read_rows(list_name: str, posted: Sequence[tuple[str, str]], reading: _Reading) -> list[dict[str, Any]]:
    row_name = re.compile(re.escape(list_name) + _INDEX + r"(\[.+)")
    by_index: dict[int, list[tuple[str, str]]] = {}
    for name, value in posted:
        match = row_name.fullmatch(name)
        if match:
            by_index.setdefault(int(match.group(1)), []).append((_unprefixed(match.group(2)), value))
    schema = _schemas().rows[list_name]
    order = list(_schemas().full["properties"][list_name]["items"]["properties"])
    rows: list[dict[str, Any]] = []
    renumbered: dict[int, int] = {}
    for index in sorted(by_index):
        pairs = by_index[index]
        if not any(value.strip() for _, value in pairs):
            continue  # one of the blank items the form always shows, or an item the clerk emptied
        prefix = f"{list_name}[{len(rows)}]"
        renumbered[index] = len(rows)
        row, problems = parse_form(schema, pairs)
        for name, value in submitted_values(schema, pairs).items():
            reading.values[_prefixed_name(prefix, name)] = value
        for name, message in problems.items():
            reading.problems[_prefixed_name(prefix, name)] = _relabelled(_prefixed_name(prefix, name), message)
        if list_name == "occupations":
            levels = _read_levels(prefix, [value for name, value in pairs if name == "levels"], reading)
            if levels:
                row["levels"] = levels
        rows.append({key: row[key] for key in order if key in row})
    reading.renumbered[list_name] = renumbered
    return rows


def _read_levels(prefix: str, posted: list[str], reading: _Reading) -> list[int]:
    name = f"{prefix}[levels]"
    typed = [value.strip() for value in posted if value.strip()]
    if typed:
        reading.values[name] = typed
    levels: list[int] = []
    wrong: list[str] = []
    for text in typed:
        digits = unicodedata.normalize("NFKC", text)
        if re.fullmatch(r"[+-]?[0-9]{1,9}", digits):
            levels.append(int(digits))
        else:
            wrong.append(f"「{text}」")
    if wrong:
        reading.problems[name] = f"{_label(_path_of(name))}：应为整数，实为{'、'.join(wrong)}"
    # Lowest level (5) first, whatever order the boxes were posted in; a repeated level stays for the schema to name.
    return sorted(levels, reverse=True)


def _prefixed_name(prefix: str, name: str) -> str:
    head, bracket, rest = name.partition("[")
    return f"{prefix}[{head}]{bracket}{rest}"


# ---------------------------------------------------------------------------------------------------------
# Messages beside their fields
# ---------------------------------------------------------------------------------------------------------


def _placed(problem: str) -> tuple[str | None, str]:
    """The input name a message of ``validate_application`` is about (None: no field of the form), and the message
    as the clerk reads it there: the titles instead of the data path (``申报机构·统一社会信用代码：…``)."""
    match = _MESSAGE_PATH.match(problem)
    if match is None:
        return None, _spoken(problem)
    path = _path_of(match.group(1))
    reference = field_reference(_schemas().full, path, root_label=_ROOT_LABEL)
    message = problem
    if problem.startswith(f"{reference}："):
        message = f"{_label(path)}：{problem[len(reference) + 1:]}"
    return _field_name(path), _spoken(message)


def _spoken(message: str) -> str:
    """Places named inside a message by their data path (`` occupations[0] ``, spaced as ASCII in Chinese text)
    named by their titles instead (``职业（工种）第1项``)."""
    head, colon, rest = message.partition("：")
    if not colon:
        return message
    return head + colon + _INNER_PATH.sub(lambda m: _label(_path_of(m.group(1))), rest)


def _relabelled(name: str, message: str) -> str:
    """A ``webforms`` conversion message (``label：problem``) with the label of the whole application's field: a
    sub-form's own label lacks the item (``数量`` → ``场地第1项·设施设备第2项·数量``)."""
    _, colon, problem = message.partition("：")
    return f"{_label(_path_of(name))}：{problem}" if colon else message


def _path_of(text: str) -> tuple[str | int, ...]:
    """``occupations[1].code`` or ``occupations[1][code]`` → ``("occupations", 1, "code")``."""
    path: list[str | int] = []
    for index, key, dotted in _PATH_STEP.findall(text):
        path.append(int(index) if index else key or dotted)
    return tuple(path)


def _label(path: Sequence[str | int]) -> str:
    """What a person calls the place: ``职业（工种）第2项·职业编码`` (``field_reference`` without the data path)."""
    reference = field_reference(_schemas().full, path, root_label=_ROOT_LABEL)
    opening = reference.find("（")
    return reference[opening + 1: -1] if opening >= 0 and reference.endswith("）") else reference


def _field_name(path: Sequence[str | int]) -> str | None:
    """The input name of the deepest field of the form ``path`` is in: a value's own input, the level checkboxes
    for one level, a list for one of its items; None for a place the form shows no field for (the institution as a
    whole, the application)."""
    schema = _schemas().full
    node = schema
    steps: list[str | int] = []
    found: list[str | int] | None = None
    i = 0
    while i < len(path) and isinstance(path[i], str):
        properties = node.get("properties", {})
        if path[i] not in properties:
            break
        node = _resolved(schema, properties[path[i]])
        steps.append(path[i])
        if node.get("type") == "array":
            found = list(steps)
            items = _resolved(schema, node.get("items"))
            if items.get("type") != "object" or i + 1 >= len(path) or not isinstance(path[i + 1], int):
                break
            steps.append(path[i + 1])
            node, i = items, i + 2
        elif node.get("type") == "object":
            i += 1
        else:
            found = list(steps)
            break
    if not found:
        return None
    return str(found[0]) + "".join(f"[{step}]" for step in found[1:])


def _resolved(root: Mapping[str, Any], node: Any) -> dict[str, Any]:
    """``node`` with a local ``$ref`` followed (the application schema's ``$defs`` are one level deep)."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for token in ref[2:].split("/"):
            target = target.get(token) if isinstance(target, dict) else None
        return {**(target if isinstance(target, dict) else {}), **{k: v for k, v in node.items() if k != "$ref"}}
    return node
