"""Checking submitted data against a JSON Schema, with every problem said in Chinese.

Used for task forms and message payloads: the caseworker (or the institution) reads these messages, so each one
names the field by its title where the schema gives one and says what was expected.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否（true 或 false）",
               "object": "对象", "array": "列表", "null": "空值"}


def _field_label(error: ValidationError, schema: dict[str, Any]) -> str:
    path = [str(p) for p in error.absolute_path]
    if not path:
        return "表单"
    node: Any = schema
    for part in path:
        if isinstance(node, dict) and "properties" in node and part in node["properties"]:
            node = node["properties"][part]
        elif isinstance(node, dict) and "items" in node and part.isdigit():
            node = node["items"]
        else:
            node = None
            break
    title = node.get("title") if isinstance(node, dict) else None
    dotted = ".".join(path)
    return f"{dotted}（{title}）" if title else dotted


def _allowed_values(error: ValidationError) -> str:
    options = error.schema.get("oneOf") or error.schema.get("anyOf") or []
    labels = [f"{o['const']}（{o.get('title', '')}）" if o.get("title") else str(o["const"])
              for o in options if isinstance(o, dict) and "const" in o]
    if not labels and "enum" in error.schema:
        labels = [str(v) for v in error.schema["enum"]]
    return "、".join(labels)


def _message(error: ValidationError, schema: dict[str, Any]) -> str:
    label = _field_label(error, schema)
    validator = error.validator
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        title = error.schema.get("properties", {}).get(missing, {}).get("title")
        parent = f"{label}." if label != "表单" else ""
        return f"缺少必填项 {parent}{missing}" + (f"（{title}）" if title else "")
    if validator == "additionalProperties":
        extra = ", ".join(sorted(set(error.instance) - set(error.schema.get("properties", {}))))
        return f"{label}：含有不允许的字段 {extra}"
    if validator == "type":
        expected = error.validator_value
        names = "或".join(_TYPE_NAMES.get(t, t) for t in (expected if isinstance(expected, list) else [expected]))
        return f"{label}：应为{names}，收到的是 {error.instance!r}"
    if validator in ("enum", "const", "oneOf", "anyOf"):
        allowed = _allowed_values(error)
        return f"{label}：取值 {error.instance!r} 无效" + (f"，可选：{allowed}" if allowed else "")
    if validator == "minLength":
        return f"{label}：不能为空" if error.validator_value == 1 else f"{label}：至少 {error.validator_value} 个字"
    if validator == "maxLength":
        return f"{label}：最多 {error.validator_value} 个字"
    if validator == "pattern":
        return f"{label}：格式不正确（{error.instance!r}）"
    if validator == "minItems":
        return f"{label}：至少需要 {error.validator_value} 项"
    if validator in ("minimum", "maximum"):
        bound = "不小于" if validator == "minimum" else "不大于"
        return f"{label}：应{bound} {error.validator_value}"
    if validator == "uniqueItems":
        return f"{label}：含有重复项"
    if validator == "format":
        return f"{label}：格式不正确，应为 {error.validator_value}"
    return f"{label}：{error.message}"


def _leaves(error: ValidationError) -> list[ValidationError]:
    """if/then and allOf report through their sub-errors; the leaves are what a person can fix."""
    if error.validator in ("allOf", "if", "then") and error.context:
        return [leaf for sub in error.context for leaf in _leaves(sub)]
    return [error]


def schema_problems(schema: dict[str, Any], data: Any) -> list[str]:
    """Every way `data` fails `schema`, as Chinese sentences; empty when it conforms."""
    validator = Draft202012Validator(schema)
    problems: list[str] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        for leaf in _leaves(error):
            message = _message(leaf, schema)
            if message not in problems:
                problems.append(message)
    return problems
