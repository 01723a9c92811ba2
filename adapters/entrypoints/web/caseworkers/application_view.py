"""The application laid out for reading (the case page's 申请 section and the task pages): its parts under the
headings the schema gives them, each value as people call it — a choice by its title (用人单位, not ``employer``),
levels by name, a region by its authority's name — and each list as a table.

It is read from the application's own schema (``tasks/schemas/application.schema.json``), so a field added there is
shown here without a change to this module or the template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tasks.access import authority_name
from tasks.application import LEVEL_NAMES, application_schema

# Shown in the materials section of the case page, by checklist item, rather than here.
_ELSEWHERE = frozenset({"materials"})
# How the nested list of a site (its equipment) is said in one cell.
_EQUIPMENT_PARTS = ("name", "brand", "model")


@dataclass(frozen=True)
class Part:
    """One heading of the application: facts (label, value) and/or a table (columns, rows of cells)."""

    key: str
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def application_parts(application: Mapping[str, Any]) -> list[Part]:
    """The application's parts in the schema's order: the institution, where it is filed, then each list."""
    schema = _schema()
    properties = schema["properties"]
    institution = Part("institution", str(properties["institution"]["title"]),
                       facts=_facts(properties["institution"], application.get("institution", {})))
    region = str(application.get("region", ""))
    institution.facts.append((str(properties["region"]["title"]).removesuffix("代码"),
                              f"{authority_name(region)}（{region}）" if region else ""))
    for key in ("authority_level", "parent_filing_number"):
        if application.get(key):
            institution.facts.append((str(properties[key]["title"]), _said(properties[key], application[key])))
    parts = [institution]
    for key, prop in properties.items():
        if prop.get("type") != "array" or key in _ELSEWHERE:
            continue
        item = _resolved(prop["items"])
        columns = [k for k, p in item["properties"].items()]
        rows = [[_said(_resolved(item["properties"][c]), row.get(c)) for c in columns]
                for row in application.get(key, ()) if isinstance(row, Mapping)]
        parts.append(Part(key, str(prop["title"]), columns=[_title(item["properties"][c], c) for c in columns],
                          rows=rows))
    return parts


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return application_schema()


def _resolved(prop: Mapping[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**_schema()["$defs"][ref.removeprefix("#/$defs/")], **{k: v for k, v in prop.items() if k != "$ref"}}
    return dict(prop)


def _title(prop: Mapping[str, Any], key: str) -> str:
    return str(_resolved(prop).get("title", key))


def _facts(schema: Mapping[str, Any], values: Any) -> list[tuple[str, str]]:
    values = values if isinstance(values, Mapping) else {}
    return [(_title(prop, key), _said(_resolved(prop), values.get(key)))
            for key, prop in schema["properties"].items() if values.get(key) not in (None, "")]


def _said(prop: Mapping[str, Any], value: Any) -> str:
    """A value as people read it."""
    if value is None:
        return ""
    choices = {choice.get("const"): choice.get("title") for choice in prop.get("oneOf", ())}
    if isinstance(value, str) and value in choices:
        return str(choices[value])
    if isinstance(value, list):
        if all(isinstance(v, int) and v in LEVEL_NAMES for v in value):
            return "、".join(LEVEL_NAMES[v] for v in sorted(value, reverse=True))
        if all(isinstance(v, Mapping) for v in value):
            return "；".join(_equipment(v) for v in value)
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _equipment(entry: Mapping[str, Any]) -> str:
    said = " ".join(str(entry[k]) for k in _EQUIPMENT_PARTS if entry.get(k))
    if entry.get("quantity") is not None:
        said += f" ×{entry['quantity']}"
    if entry.get("owner"):
        said += f"（{entry['owner']}）"
    return said
