"""Checking submitted data against a JSON Schema, with every problem said in Chinese.

The one translator of JSON Schema errors in the project: task forms and message payloads
(``workflows/service.py``) and the filing application (``tasks/application.py``) all go through
``schema_problems``. A caseworker or the institution reads these sentences, so each one gives the path
of the field, then what a person calls it (the titles along the path, following local ``$ref``), and
says what was expected and what was found.

``format`` is an annotation here (no format checker is enabled): where a format matters the schemas
state it as a ``pattern`` as well, with an ``x-pattern-hint`` saying the format in Chinese.

Before the schema, every submission is held to what any submission must be (``located_problems``): no deeper than
``tasks.limits.MAX_NESTING``, no list longer than its schema's ``maxItems`` (checked before the items are, so an
oversized list is refused at once), every text clean (``tasks.text``: no control or bidirectional override
characters, something visible where the schema requires a non-empty text), every number finite. This holds for data
without a schema too (a message or a task without one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from tasks.identity_cache import IdentityCache
from tasks.limits import MAX_NESTING
from tasks.text import MULTILINE_OVER, number_problem, text_problem

# Key names that must never reach a workflow's task data: SpiffWorkflow's serializer treats a dict
# carrying ``typename`` as one of its own objects. Closed schemas refuse them; the message says why.
RESERVED_KEYS: Final = frozenset({"typename"})

DEFAULT_ROOT_LABEL: Final = "表单"

_TYPE_NAMES: Final = {
    "string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否（true 或 false）",
    "object": "对象", "array": "列表", "null": "空值",
}


Path = tuple[str | int, ...]


def schema_problems(schema: Mapping[str, Any] | None, data: Any, *, root_label: str = DEFAULT_ROOT_LABEL) -> list[str]:
    """Every way ``data`` fails ``schema`` (draft 2020-12), as Chinese sentences; empty when it conforms.

    ``root_label`` names the whole document in messages about it (``表单``, ``申请``). With ``schema=None`` only what
    every submission must be is checked (bounds, clean texts, finite numbers).
    """
    return [message for _path, message in located_problems(schema, data, root_label=root_label)]


def located_problems(schema: Mapping[str, Any] | None, data: Any, *,
                     root_label: str = DEFAULT_ROOT_LABEL) -> list[tuple[Path, str]]:
    """``schema_problems`` with the path each sentence is about (the missing field's own path for a missing field).

    Bounds come first and alone: when the data nests too deep or a list is longer than its ``maxItems``, only that
    is said, without looking at the items. Then unclean texts and non-finite numbers; then the schema's problems,
    except at a place that already has an unclean text (removing the character is what to do there).
    """
    bounds, dirty = _walk(schema, data, root_label)
    if bounds:
        return [(path, message) for _key, path, message in bounds]
    located = list(dirty)
    if schema is not None:
        places = {path for _key, path, _message in dirty}
        located += [entry for entry in _schema_located(schema, data, root_label) if entry[1] not in places]
    located.sort(key=lambda entry: entry[0])  # stable: the schema's own order within one place
    problems: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for _key, path, message in located:
        if message not in seen:  # each sentence once
            seen.add(message)
            problems.append((path, message))
    return problems


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """One validator per schema (building one walks the schema): schemas are a deployed version's, never changed."""
    from jsonschema import Draft202012Validator  # when data is first checked (JSON Schema loads its metaschemas)

    return _validators.get((schema,), (), lambda: Draft202012Validator(schema))


_validators: IdentityCache[Draft202012Validator] = IdentityCache(1024)


def _schema_located(schema: Mapping[str, Any], data: Any, root_label: str) -> list[tuple[Any, Path, str]]:
    errors = _worth_reporting(list(_validator(schema).iter_errors(data)))
    located: list[tuple[Any, Path, str]] = []
    for error in errors:
        path: Path = tuple(error.absolute_path)
        sort_key = (_sort_key(path), 1, str(error.validator))
        if error.validator == "required":
            missing = [p for p in error.validator_value if f"{p!r} is a required property" == error.message]
            if missing:
                path = (*path, missing[0])
        for message in _messages(error, schema, root_label):
            located.append((sort_key, path, message))
    return located


# ---------------------------------------------------------------------------------------------------------
# What every submission must be: bounded, clean texts, finite numbers
# ---------------------------------------------------------------------------------------------------------


def _walk(schema: Mapping[str, Any] | None, data: Any,
          root_label: str) -> tuple[list[tuple[Any, Path, str]], list[tuple[Any, Path, str]]]:
    """The bound problems and the unclean values of ``data``, each with its sort key and path.

    Iterative (a hostile submission may nest as deep as its parser allowed), and a list over its ``maxItems`` is not
    entered.
    """
    root: Mapping[str, Any] = schema or {}
    bounds: list[tuple[Any, Path, str]] = []
    dirty: list[tuple[Any, Path, str]] = []

    def add(into: list[tuple[Any, Path, str]], path: Path, problem: str) -> None:
        where = field_reference(root, path, root_label=root_label)
        into.append(((_sort_key(path), 0, ""), path, f"{where}：{problem}"))

    stack: list[tuple[Path, Any, Any]] = [((), data, schema)]
    while stack:
        path, value, node = stack.pop()
        node = _resolve(root, node) if node is not None else None
        if isinstance(value, str):
            problem = text_problem(value, multiline=_multiline(node), required=_required_text(node))
            if problem:
                add(dirty, path, problem)
        elif isinstance(value, float):
            problem = number_problem(value)
            if problem:
                add(dirty, path, problem)
        elif isinstance(value, (dict, list)):
            if len(path) >= MAX_NESTING:
                add(bounds, path, f"嵌套层数过多（超过 {MAX_NESTING} 层）")
                return bounds, dirty  # said once: the rest is the same problem
            if isinstance(value, list):
                limit = node.get("maxItems") if isinstance(node, dict) else None
                if isinstance(limit, int) and len(value) > limit:
                    add(bounds, path, f"最多 {limit} 项，实有 {len(value)} 项")
                    continue
                items = node.get("items") if isinstance(node, dict) else None
                stack.extend(((*path, index), item, items) for index, item in reversed(list(enumerate(value))))
            else:
                for key in reversed(list(value)):
                    if isinstance(key, str) and (problem := text_problem(key)):
                        add(dirty, path, f"字段名{problem}")
                        continue
                    stack.append(((*path, key), value[key], _property_node_of(root, node, key)))
    return bounds, dirty


def _multiline(node: Any) -> bool:
    """A text without a schema may hold line breaks; one with a schema only if it is a long (prose) field."""
    if not isinstance(node, dict):
        return True
    limit = node.get("maxLength")
    return isinstance(limit, int) and limit > MULTILINE_OVER


def _required_text(node: Any) -> bool:
    limit = node.get("minLength") if isinstance(node, dict) else None
    return isinstance(limit, int) and limit >= 1


def _property_node_of(root: Mapping[str, Any], node: Any, key: str) -> Any:
    """``_property_node``, worked out once per schema node and key: a deployed schema is never changed, and a
    submission's objects (an application's, each item of a list) ask the same nodes for the same keys again."""
    if not isinstance(node, dict):
        return None
    return _property_nodes.get((root, node), (key,), lambda: _property_node(root, node, key))


_property_nodes: IdentityCache[Any] = IdentityCache(8192)


def _property_node(root: Mapping[str, Any], node: Any, key: str) -> Any:
    """The schema of property ``key`` of an object described by ``node``, with what conditional branches add to it
    (``then: {properties: {reasons: {minLength: 1}}}`` makes a text one that must not be left blank)."""
    if not isinstance(node, dict):
        return None
    found: dict[str, Any] | None = None
    properties = node.get("properties")
    if isinstance(properties, dict) and isinstance(declared := _resolve(root, properties.get(key)), dict):
        found = dict(declared)
    for branch_key in ("allOf", "anyOf", "oneOf", "then", "else"):
        branches = node.get(branch_key)
        for branch in branches if isinstance(branches, list) else [branches]:
            branch = _resolve(root, branch)
            branch_properties = branch.get("properties") if isinstance(branch, dict) else None
            if isinstance(branch_properties, dict) and isinstance(more := _resolve(root, branch_properties.get(key)),
                                                                  dict):
                found = {**more, **(found or {})}  # what the property itself says wins
    if found is None:
        extra = node.get("additionalProperties")
        return extra if isinstance(extra, dict) else None
    return found


def field_reference(schema: Mapping[str, Any], path: Iterable[str | int], *,
                    root_label: str = DEFAULT_ROOT_LABEL) -> str:
    """``occupations[1].code（职业（工种）第2项·职业编码）``: the path, then what a person calls it.

    For messages about a field that a rule beyond the schema finds wrong, worded like ``schema_problems``.
    """
    steps = list(path)
    if not steps:
        return root_label
    label = _label(schema, steps)
    dotted = _dotted(steps)
    return f"{dotted}（{label}）" if label else dotted


def json_type_name(value: object) -> str:
    """What kind of JSON value ``value`` is, in Chinese (``整数``, ``文本``, …)."""
    if value is None:
        return "空值"
    if isinstance(value, bool):
        return "是/否"
    if isinstance(value, int):
        return "整数"
    if isinstance(value, float):
        return "小数"
    if isinstance(value, str):
        return "文本"
    if isinstance(value, list):
        return "列表"
    if isinstance(value, dict):
        return "对象"
    return type(value).__name__


# ---------------------------------------------------------------------------------------------------------
# Which errors to report
# ---------------------------------------------------------------------------------------------------------


def _worth_reporting(errors: list[ValidationError]) -> list[ValidationError]:
    """Drop errors that only echo the one a person has to fix at the same place.

    A value of the wrong type also fails its other keywords (allowed values, length, pattern): the type
    error is the one to fix. An empty text also fails its pattern: "不能为空" says it all.
    """
    typed = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    empty = {tuple(e.absolute_path) for e in errors if e.validator == "minLength" and e.instance == ""}
    kept: list[ValidationError] = []
    for error in errors:
        where = tuple(error.absolute_path)
        if where in typed and error.validator != "type":
            continue
        if where in empty and error.validator != "minLength":
            continue
        kept.append(error)
    return kept


def _sort_key(path: Iterable[str | int]) -> list[tuple[int, str]]:
    # Items in their numeric order (2 before 10), and an item's fields after the item itself.
    return [(0, f"{p:09d}") if isinstance(p, int) else (1, p) for p in path]


# ---------------------------------------------------------------------------------------------------------
# One error, in Chinese
# ---------------------------------------------------------------------------------------------------------


def _messages(error: ValidationError, schema: Mapping[str, Any], root_label: str) -> list[str]:
    path: list[str | int] = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = [p for p in error.validator_value if f"{p!r} is a required property" == error.message]
        name = missing[0] if missing else str(error.message)
        return [f"{_where_missing(schema, error, path, name, root_label)}：缺少必填项"]
    if kind == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extras = sorted(k for k in error.instance if k not in allowed)
        where = _dotted(path) or root_label
        return [
            f"{where}：不允许的字段「{key}」" + ("（系统保留字段名）" if key in RESERVED_KEYS else "")
            for key in extras
        ]
    where = field_reference(schema, path, root_label=root_label)
    value = error.instance
    if kind == "type":
        expected = error.validator_value
        expected_list = expected if isinstance(expected, list) else [expected]
        names = "或".join(_TYPE_NAMES.get(t, t) for t in expected_list)
        return [f"{where}：类型错误，应为{names}，实为{json_type_name(value)}"]
    if kind in ("oneOf", "anyOf", "enum") and (choices := _choices(error)):
        return [f"{where}：取值「{value}」不在允许范围内，应为以下之一：{choices}"]
    if kind == "const":
        return [f"{where}：取值「{value}」不符合要求，应为「{error.validator_value}」"]
    if kind == "pattern":
        hint = error.schema.get("x-pattern-hint")
        return [f"{where}：格式不正确（「{value}」）" + (f"，应为{hint}" if hint else "")]
    if kind == "minLength":
        if error.validator_value == 1:
            return [f"{where}：不能为空"]
        return [f"{where}：至少 {error.validator_value} 个字符，实为 {len(value)} 个"]
    if kind == "maxLength":
        return [f"{where}：最多 {error.validator_value} 个字符，实为 {len(value)} 个"]
    if kind == "minItems":
        return [f"{where}：至少需要 {error.validator_value} 项，实有 {len(value)} 项"]
    if kind == "maxItems":
        return [f"{where}：最多 {error.validator_value} 项，实有 {len(value)} 项"]
    if kind == "uniqueItems":
        return [f"{where}：存在重复项（{'、'.join(_repeated(value))}）"]
    if kind in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        if low is not None and high is not None:
            return [f"{where}：取值 {value} 超出范围，应在 {low} 至 {high} 之间"]
        bound = f"不小于 {low}" if kind == "minimum" else f"不大于 {high}"
        return [f"{where}：取值 {value} 超出范围，应{bound}"]
    if kind == "exclusiveMinimum":
        return [f"{where}：取值 {value} 应大于 {error.validator_value}"]
    if kind == "exclusiveMaximum":
        return [f"{where}：取值 {value} 应小于 {error.validator_value}"]
    # A keyword none of the project's schemas uses yet: still reported, with the validator's own words.
    return [f"{where}：不符合要求（{error.message}）"]


def _where_missing(schema: Mapping[str, Any], error: ValidationError, path: list[str | int], name: str,
                   root_label: str) -> str:
    where = field_reference(schema, path + [name], root_label=root_label)
    if "（" in where:
        return where
    # The field may be declared only where it is required (in ``then`` or an ``allOf`` branch), not
    # along the path from the root: take its title from there.
    declared = _resolve(schema, error.schema.get("properties", {}).get(name))
    title = declared.get("title") if isinstance(declared, dict) else None
    return f"{where}（{title}）" if title else where


def _choices(error: ValidationError) -> str:
    """``accept（予以受理）、reject（不予受理）``, or ``""`` when the keyword is not a list of values."""
    if error.validator == "enum":
        return "、".join(str(v) for v in error.validator_value)
    options = error.validator_value
    if not (isinstance(options, list) and options
            and all(isinstance(o, dict) and "const" in o for o in options)):
        return ""
    return "、".join(f"{o['const']}（{o['title']}）" if o.get("title") else str(o["const"]) for o in options)


def _repeated(items: list[Any]) -> list[str]:
    seen: list[Any] = []
    repeated: list[str] = []
    for item in items:
        if item in seen and str(item) not in repeated:
            repeated.append(str(item))
        seen.append(item)
    return repeated


# ---------------------------------------------------------------------------------------------------------
# Naming a place in the document
# ---------------------------------------------------------------------------------------------------------


def _dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _label(schema: Mapping[str, Any], path: list[str | int]) -> str:
    """The titles along ``path``: each list item's (``等级第3项``) and the field's own, joined by ``·``."""
    parts: list[str] = []
    node: Any = schema
    for index, part in enumerate(path):
        node = _resolve(schema, node)
        if isinstance(part, int):
            list_title = _title(schema, node)
            node = node.get("items") if isinstance(node, dict) else None
            # An item without a title of its own (a value chosen from a list) is named by its list's.
            title = _title(schema, node) or list_title
            if title:
                parts.append(f"{title}第{part + 1}项")
        else:
            properties = node.get("properties", {}) if isinstance(node, dict) else {}
            node = properties.get(part)
            title = _title(schema, node)
            if index == len(path) - 1 and title:
                parts.append(title)
        if node is None:
            break
    return "·".join(parts)


def _title(schema: Mapping[str, Any], node: Any) -> str | None:
    # A title beside a ``$ref`` describes this use of the definition, so it wins over the definition's own.
    if not isinstance(node, dict):
        return None
    if node.get("title"):
        return str(node["title"])
    resolved = _resolve(schema, node)
    return str(resolved["title"]) if isinstance(resolved, dict) and resolved.get("title") else None


def _resolve(schema: Mapping[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers (``#/$defs/...``) within ``schema``; others are left as they are."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        ref = node["$ref"]
        if ref in seen:  # a reference cycle names nothing
            return None
        seen.add(ref)
        target: Any = schema
        for token in filter(None, ref.removeprefix("#").split("/")):
            key = token.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, dict) else None
        node = target
    return node
