"""What a task form is made of: the kinds of field, ``Field`` (one field as the template renders it) and
``Submission`` (a posted form read and checked).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

# The translator's placed sentences, so that every message here is word for word what ``schema_problems`` says.
from tasks.text import MULTILINE_OVER

Kind = Literal["text", "textarea", "radio", "select", "checkbox", "checkboxes", "date", "datetime-local", "number",
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


TRUE_WORDS: Final = frozenset({"true", "on", "1"})


FALSE_WORDS: Final = frozenset({"false", "off", "0"})


MAX_INDEX_DIGITS: Final = 6  # a row index longer than this is not a row of ours (and would be costly to parse)


CHOICES_SEPARATOR: Final = "\n"
"""How the values checked in a ``checkboxes`` field are kept as one text (a draft, a redisplayed form)."""


class UnsupportedFormSchema(ValueError):
    """The schema has a shape no form widget here stands for (a list of free values, a list inside a list)."""


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
    """``(value, title)`` for radio, select and checkboxes; ``value`` is what the browser posts."""
    checked: tuple[str, ...] = ()
    """For ``checkboxes`` (a list of values chosen from ``choices``, posted as one pair per checked box): the values
    of the checked boxes."""
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
