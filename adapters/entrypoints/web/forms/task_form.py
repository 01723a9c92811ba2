"""Task forms in the browser: HTML fields from a task's JSON Schema, and the posted form back to JSON data.

Three steps, all driven by the schema beside the user task (``bpmn/forms/*.schema.json``):

1. ``form_fields`` turns the schema into ``Field`` objects that ``templates/_form_fields.html`` renders as
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

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.entrypoints.web.forms.building import build_field, flatten_values
from adapters.entrypoints.web.forms.fields import ADD_ROW_FIELD, Field, Submission
from adapters.entrypoints.web.forms.reading import field_path, input_name, path_label, read_form
from adapters.entrypoints.web.forms.schema import object_specs

# The translator's placed sentences, so that every message here is word for word what ``schema_problems`` says.
from tasks.forms import field_reference, located_problems


def form_fields(schema: dict[str, Any], values: Mapping[str, Any] | None = None,
                problems_by_field: Mapping[str, str] | None = None) -> list[Field]:
    """The fields of the form for ``schema``, filled from ``values``, with ``problems_by_field`` beside them.

    ``values`` may be the JSON data (nested, as the process sees it: ``{"refunds": [{"amount": 5}]}``) or the
    posted values by input name (``{"refunds[0][amount]": "5"}``, as ``submitted_values`` gives them), or
    both mixed; a value by input name wins. With ``values=None`` (a fresh form) the schema's ``default``s
    are shown.
    """
    specs = object_specs(schema, schema, in_row=False)
    fresh = values is None
    return [build_field(spec, (spec.key,), values or {}, problems_by_field or {}, fresh) for spec in specs]


def form_values(schema: dict[str, Any], data: Mapping[str, Any]) -> dict[str, str]:
    """``data`` as the inputs show it, by input name: the form a browser would post back for ``data``."""
    values: dict[str, str] = {}
    for spec in object_specs(schema, schema, in_row=False):
        flatten_values(spec, (spec.key,), data, values)
    return values


def parse_form(schema: dict[str, Any], items: Sequence[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted ``(name, value)`` pairs as the JSON data the process sees, and conversion problems by name.

    Only names the schema knows are read (``csrf_token`` and anything else are ignored). Empty optional
    fields are left out; list rows whose inputs are all empty are dropped. A value that cannot be converted
    (``abc`` for a number, ``2026-02-30`` for a date) is left out of the data and reported instead; the
    schema's own rules (required fields, lengths, allowed values) are for ``problems_by_field``.
    """
    reading = read_form(schema, items)
    return reading.data, reading.problems


def submitted_values(schema: dict[str, Any], items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """What was posted for the schema's fields, by input name, numbered as ``parse_form`` numbers rows.

    Pass it to ``form_fields`` to show the form again with what the caseworker typed, even where it could not
    be converted.
    """
    return read_form(schema, items).values


def problems_by_field(schema: dict[str, Any], data: Any) -> tuple[dict[str, str], list[str]]:
    """The messages of ``schema_problems(schema, data)``, by the input name they are about, and the rest.

    A field's message names it by its title (``退费第1项·退费金额（元）：取值 -1 超出范围，应不小于 0``); several
    messages for one field are joined with ``；``. Messages about no field of the form (the whole form, a
    field the form does not show) are returned in full, in ``schema_problems`` order.
    """
    specs = object_specs(schema, schema, in_row=False)
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for path, message in located_problems(schema, data):
        target = field_path(specs, path)
        if target is None:
            if message not in general:
                general.append(message)
            continue
        where = field_reference(schema, path)
        if message.startswith(f"{where}："):
            message = f"{path_label(schema, path)}：{message[len(where) + 1:]}"
        messages = by_field.setdefault(input_name(target), [])
        if message not in messages:
            messages.append(message)
    return {name: "；".join(messages) for name, messages in by_field.items()}, general


def check_submission(schema: dict[str, Any], items: Sequence[tuple[str, str]]) -> Submission:
    """``parse_form`` and ``problems_by_field`` at once, with what was typed for showing the form again.

    A field that could not be converted keeps its conversion message (the schema would only add that it is
    missing).
    """
    reading = read_form(schema, items)
    by_field, general = problems_by_field(schema, reading.data)
    errors = dict(reading.problems)
    for name, message in by_field.items():
        errors.setdefault(name, message)
    adding = next((value for name, value in items if name == ADD_ROW_FIELD), None)
    return Submission(data=reading.data, values=reading.values, field_errors=errors, form_errors=general,
                      adding_row=adding)
