"""Choices that depend on the case: a property marked ``"x-choices": "checklist"`` (a list of checklist items, such as
the materials a supplementation asks for) offers only the items of the case's own checklist, named as its region's
text names them. The narrowed schema is the one the form is built from and the submission checked against."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Final

CHECKLIST: Final = "checklist"


def needs_checklist(schema: dict[str, Any]) -> bool:
    return any(isinstance(prop, dict) and prop.get("x-choices") == CHECKLIST
               for prop in schema.get("properties", {}).values())


def narrowed_to_checklist(schema: dict[str, Any], checklist: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A copy of `schema` whose checklist properties offer exactly `checklist` ((key, name) in checklist order), each
    value kept only where the schema allows it."""
    narrowed = copy.deepcopy(schema)
    for prop in narrowed.get("properties", {}).values():
        if not (isinstance(prop, dict) and prop.get("x-choices") == CHECKLIST):
            continue
        items = prop.get("items")
        if not isinstance(items, dict) or not isinstance(items.get("oneOf"), list):
            continue
        allowed = {choice.get("const") for choice in items["oneOf"] if isinstance(choice, dict)}
        items["oneOf"] = [{"const": key, "title": name} for key, name in checklist if key in allowed]
    return narrowed
