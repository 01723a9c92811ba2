"""The form's spec read from a task's JSON Schema: each property's kind, title, choices and conditions (``Spec``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.entrypoints.web.forms.fields import (
    RADIO_AT_MOST,
    SCALAR_KINDS,
    TEXTAREA_OVER,
    Kind,
    UnsupportedFormSchema,
)
from adapters.entrypoints.web.forms.patterns import html_pattern_of

# The translator's placed sentences, so that every message here is word for word what ``schema_problems`` says.


@dataclass(frozen=True)
class _Choice:
    """One choice of a radio group or select: what the browser posts, what the data holds, what people read."""

    value: str  # what the browser posts
    const: Any  # what the data holds
    title: str


@dataclass(frozen=True)
class Spec:
    """One property of a form's schema as the form needs it: its widget (``kind``), label, help, whether it is
    required or shown only on a condition, its choices and HTML constraints, and the specs of its children (an
    object's properties, a list's row). Built once from the schema; fields and readings are made from it."""

    key: str
    title: str
    kind: Kind
    help: str | None
    required: bool
    condition: str | None
    choices: tuple[_Choice, ...] = ()
    constraints: Mapping[str, str] = field(default_factory=dict)
    children: tuple[Spec, ...] = ()
    max_items: int | None = None
    default: Any = None
    has_default: bool = False


def object_specs(node: Any, root: Mapping[str, Any], *, in_row: bool) -> tuple[Spec, ...]:
    resolved = resolved_node(root, node)
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
          in_row: bool) -> Spec:
    n = resolved_node(root, node)
    title = str(n.get("title") or key)
    description = str(n["description"]) if n.get("description") else None
    kind_of_json = _json_type(n)
    base: dict[str, Any] = {"key": key, "title": title, "help": description, "required": required,
                            "condition": condition, "default": n.get("default"), "has_default": "default" in n}
    choices = _choices(n)
    if choices:
        kind: Kind = "select" if in_row or len(choices) > RADIO_AT_MOST else "radio"
        return Spec(kind=kind, choices=choices, **base)
    if kind_of_json == "boolean":
        return Spec(kind="checkbox", **base)
    if kind_of_json in ("integer", "number"):
        return Spec(kind=kind_of_json, constraints=_number_constraints(n, kind_of_json), **base)
    if kind_of_json == "string":
        return _string_spec(n, base)
    where = f"property {key!r} ({title})"
    if kind_of_json == "array":
        items = resolved_node(root, n.get("items"))
        item_choices = _choices(items)
        if item_choices and not in_row:  # several values chosen from a list: one checkbox each
            return Spec(kind="checkboxes", choices=item_choices, **base)
        if in_row or _json_type(items) != "object":
            raise UnsupportedFormSchema(f"{where}: only a list of objects, not inside another list, has a form")
        children = object_specs(items, root, in_row=True)
        if any(child.kind not in SCALAR_KINDS for child in children):
            raise UnsupportedFormSchema(f"{where}: the rows of a list may hold plain fields only")
        max_items = n.get("maxItems")
        return Spec(kind="group", children=children,
                     max_items=max_items if isinstance(max_items, int) else None, **base)
    if kind_of_json == "object" and not in_row:
        return Spec(kind="object", children=object_specs(n, root, in_row=False), **base)
    raise UnsupportedFormSchema(f"{where}: no form widget for type {kind_of_json!r}")


def _string_spec(n: Mapping[str, Any], base: dict[str, Any]) -> Spec:
    hint = n.get("x-pattern-hint")
    if n.get("format") == "date":
        return Spec(kind="date", **(base | {"help": _joined(base["help"], hint)}))
    if n.get("format") == "date-time":
        return Spec(kind="datetime-local", **(base | {"help": _joined(base["help"], "按北京时间填写")}))
    constraints: dict[str, str] = {}
    max_length = n.get("maxLength")
    if isinstance(max_length, int):
        constraints["maxlength"] = str(max_length)
    if isinstance(max_length, int) and max_length > TEXTAREA_OVER:
        return Spec(kind="textarea", constraints=constraints, **base)
    pattern = n.get("pattern")
    html_pattern = html_pattern_of(pattern) if isinstance(pattern, str) else None
    if html_pattern is not None:
        constraints["pattern"] = html_pattern
        title = hint or ("不能只填空格" if pattern == r"\S" else None)
        if title:
            constraints["title"] = str(title)
    return Spec(kind="text", constraints=constraints, **(base | {"help": _joined(base["help"], hint)}))


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


def resolved_node(root: Mapping[str, Any], node: Any) -> dict[str, Any]:
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


def _conditions(node: Mapping[str, Any], root: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, str]:
    """``{field: "受理决定为「不予受理」或「材料不全…」时必填"}`` for the ``if``/``then`` rules simple enough to say.

    Simple means: ``if`` requires some fields and may pin them to values (``const``/``enum``); the fields are
    this object's own. Anything else is not described, and the field is shown as optional (the server still
    checks the rule).
    """
    rules = [node] + [resolved_node(root, sub) for sub in node.get("allOf", []) if isinstance(sub, dict)]
    found: dict[str, list[str]] = {}
    for rule in rules:
        then = resolved_node(root, rule.get("then"))
        needed = [name for name in then.get("required", []) if isinstance(name, str)]
        if not needed or "if" not in rule:
            continue
        when = _describe_if(resolved_node(root, rule["if"]), root, properties)
        if when is None:
            continue
        for name in needed:
            found.setdefault(name, []).append(when)
    dependent = node.get("dependentRequired", {})
    if isinstance(dependent, dict):
        for trigger, names in dependent.items():
            if trigger in properties and isinstance(names, list):
                title = resolved_node(root, properties[trigger]).get("title") or trigger
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
        field_schema = resolved_node(root, properties[name])
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
        if titles:
            # A form narrowed to the case's choices (tasks/form_choices.py) names only the values it offers; a rule
            # on none of them never applies to this case.
            wanted = [v for v in wanted if _choice_value(v) in titles]
            if not wanted:
                return None
        shown = "或".join(f"「{titles.get(_choice_value(v), _plain(v))}」" for v in wanted)
        phrases.append(f"{title}为{shown}")
    return "且".join(phrases)
