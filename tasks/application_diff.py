"""What changed between two submissions of an application (a resubmission after 补正): each field that differs, named
as people call it, with the value before and after, so that the caseworker decides again on what is new.

Lists are compared item by item (an occupation added at the end shows as that item's fields, from empty); a list of
plain values (an occupation's levels) is one field, said as its values joined."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tasks.application import LEVEL_NAMES, application_schema
from tasks.forms import field_reference

Path = tuple[str | int, ...]
# Declared materials are compared as files and routes on the case's checklist, not as fields.
_NOT_COMPARED: Final = frozenset({"materials"})


def application_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, str]]:
    """[{"field": 职业（工种）第1项·等级, "path": occupations[0].levels, "before": …, "after": …}] in the schema's
    order; empty when nothing changed."""
    old, new = _flat(before), _flat(after)
    schema = application_schema()
    changes = []
    for path in sorted(old.keys() | new.keys(), key=lambda p: _order(schema, p)):
        if path and path[0] in _NOT_COMPARED:
            continue
        if old.get(path) != new.get(path):
            reference = field_reference(schema, path)
            dotted, _, label = reference.partition("（")
            changes.append({"field": label.removesuffix("）") or dotted, "path": dotted,
                            "before": _said(path, old.get(path)), "after": _said(path, new.get(path))})
    return changes


def _flat(value: Any, path: Path = ()) -> dict[Path, Any]:
    if isinstance(value, Mapping):
        found: dict[Path, Any] = {}
        for key, item in value.items():
            found |= _flat(item, (*path, str(key)))
        return found
    if isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
        found = {}
        for index, item in enumerate(value):
            found |= _flat(item, (*path, index))
        return found
    return {path: value}


def _order(schema: Mapping[str, Any], path: Path) -> list[tuple[int, str]]:
    """The schema's order of properties (institution before occupations), then the item number."""
    keys: list[tuple[int, str]] = []
    node: Any = schema
    for step in path:
        if isinstance(step, int):
            keys.append((step, ""))
            node = node.get("items", {}) if isinstance(node, Mapping) else {}
            continue
        properties = node.get("properties", {}) if isinstance(node, Mapping) else {}
        names = list(properties)
        keys.append((names.index(step) if step in names else len(names), step))
        node = properties.get(step, {})
    return keys


def _said(path: Path, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        if path and path[-1] == "levels":
            return "、".join(LEVEL_NAMES.get(v, str(v)) for v in sorted(value, reverse=True))
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)
