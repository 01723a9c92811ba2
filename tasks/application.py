"""Intake validation of a filing application (备案申请).

``validate_application`` is the gate at submission: it returns a normalised copy of a well-formed
application, or raises ``ApplicationError`` listing *every* problem in Chinese, so the institution can
correct everything in one go (一次性告知). It checks the JSON Schema (``schemas/application.schema.json``)
and the rules a schema cannot express: the credit code's check characters (GB 32100-2015), that the
region is a real province-level area and fits the authority level, that occupation codes are not listed
twice, and that every assessor examines one of the application's occupations.

Substantive conditions that a caseworker weighs (enough assessors, no active filing, the batch window)
are pre-checks (``tasks/prechecks.py``): they are shown to the intake clerk, not enforced here.

Every object in the schema is closed (``additionalProperties: false``), so no key the schema does not
name can reach the workflow's task data; in particular ``typename``, which breaks SpiffWorkflow's
serializer, is refused wherever it appears.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from tasks.credit_code import credit_code_problem, normalize_credit_code
from tasks.regions import PROVINCES

# 5 is the lowest level (五级/初级工), 1 the highest (一级/高级技师): 川人社办发〔2019〕94号 三.
LEVEL_NAMES: Final = {
    5: "五级/初级工", 4: "四级/中级工", 3: "三级/高级工", 2: "二级/技师", 1: "一级/高级技师",
}

RESERVED_KEYS: Final = frozenset({"typename"})

_ROOT_LABEL = "申请"

_TYPE_NAMES: Final = {
    "string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否（true 或 false）",
    "object": "对象", "array": "列表", "null": "空值",
}

_OCCUPATION_CODE = re.compile(r"^[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}(-[0-9]{2})?$")
_REGION_CODE = re.compile(r"^[0-9]{6}$")


class ApplicationError(ValueError):
    """The application is not well-formed. ``problems`` holds one Chinese sentence per problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        listed = "；".join(f"{i}. {p}" for i, p in enumerate(self.problems, start=1))
        super().__init__(f"申请材料有 {len(self.problems)} 处问题：{listed}")


def application_schema() -> dict[str, Any]:
    """The application's JSON Schema (draft 2020-12), a fresh copy the caller may change."""
    return copy.deepcopy(_schema())


def validate_application(data: object) -> dict[str, Any]:
    """A normalised copy of ``data`` if it is a well-formed application; else ApplicationError.

    Normalisation: the credit code is upper-cased with all whitespace removed (full-width characters
    folded to ASCII); identity-card numbers get an upper-case ``X``. Nothing else is changed.
    """
    if not isinstance(data, Mapping):
        raise ApplicationError([f"{_ROOT_LABEL}：应为 JSON 对象，实为{_python_type_name(data)}"])
    normalized = _normalize(copy.deepcopy(dict(data)))
    problems = _schema_problems(normalized)
    problems.extend(_rule_problems(normalized))
    if problems:
        raise ApplicationError(problems)
    return normalized


def occupation_codes(application: Mapping[str, Any]) -> list[str]:
    """The occupation codes of a validated application, in their order."""
    return [occupation["code"] for occupation in application["occupations"]]


# ---------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    institution = data.get("institution")
    if isinstance(institution, dict) and isinstance(institution.get("credit_code"), str):
        institution["credit_code"] = normalize_credit_code(institution["credit_code"])
    for group in ("assessors", "experts", "quality_supervisors"):
        people = data.get(group)
        if isinstance(people, list):
            for person in people:
                if isinstance(person, dict) and isinstance(person.get("id_number"), str):
                    person["id_number"] = person["id_number"].upper()
    return data


# ---------------------------------------------------------------------------------------------------------
# Schema problems, in Chinese
# ---------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("tasks").joinpath("schemas/application.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


def _schema_problems(data: Any) -> list[str]:
    errors = list(_validator().iter_errors(data))
    # A value of the wrong type also fails its other keywords (e.g. the allowed values); the type
    # error is the one to fix, so the others at the same place are dropped.
    typed_paths = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    errors = [e for e in errors if e.validator == "type" or tuple(e.absolute_path) not in typed_paths]
    errors.sort(key=lambda e: (_sort_key(e.absolute_path), str(e.validator)))
    problems: list[str] = []
    for error in errors:
        for message in _messages(error):
            if message not in problems:
                problems.append(message)
    return problems


def _sort_key(path: Iterable[str | int]) -> list[tuple[int, str]]:
    return [(0, f"{p:09d}") if isinstance(p, int) else (1, p) for p in path]


def _messages(error: ValidationError) -> list[str]:
    path = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = [p for p in error.validator_value if f"{p!r} is a required property" == error.message]
        name = missing[0] if missing else str(error.message)
        return [f"{_where(path + [name])}：缺少必填项"]
    if kind == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extras = sorted(k for k in error.instance if k not in allowed)
        where = _dotted(path) or _ROOT_LABEL
        return [
            f"{where}：不允许的字段「{key}」" + ("（系统保留字段名）" if key in RESERVED_KEYS else "")
            for key in extras
        ]
    where = _where(path)
    value = error.instance
    if kind == "type":
        expected = error.validator_value
        expected_list = expected if isinstance(expected, list) else [expected]
        names = "或".join(_TYPE_NAMES.get(t, t) for t in expected_list)
        return [f"{where}：类型错误，应为{names}，实为{_python_type_name(value)}"]
    if kind == "oneOf" and _is_choice(error.schema):
        choices = "、".join(f"{o['const']}（{o['title']}）" for o in error.schema["oneOf"])
        return [f"{where}：取值「{value}」不在允许范围内，应为以下之一：{choices}"]
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
        seen: list[Any] = []
        repeated: list[str] = []
        for item in value:
            if item in seen and str(item) not in repeated:
                repeated.append(str(item))
            seen.append(item)
        return [f"{where}：存在重复项（{'、'.join(repeated)}）"]
    if kind in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        if low is not None and high is not None:
            return [f"{where}：取值 {value} 超出范围，应在 {low} 至 {high} 之间"]
        bound = f"不小于 {low}" if kind == "minimum" else f"不大于 {high}"
        return [f"{where}：取值 {value} 超出范围，应{bound}"]
    if kind == "exclusiveMinimum":
        return [f"{where}：取值 {value} 应大于 {error.validator_value}"]
    return [f"{where}：不符合要求（{error.message}）"]


def _is_choice(schema: Mapping[str, Any]) -> bool:
    options = schema.get("oneOf")
    return isinstance(options, list) and all(isinstance(o, dict) and "const" in o for o in options)


def _dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _where(path: list[str | int]) -> str:
    """``occupations[1].code（职业（工种）第2项·职业编码）``: the path, then what a person calls it."""
    if not path:
        return _ROOT_LABEL
    label = _label(path)
    dotted = _dotted(path)
    return f"{dotted}（{label}）" if label else dotted


def _label(path: list[str | int]) -> str:
    parts: list[str] = []
    node: Any = _schema()
    for index, part in enumerate(path):
        node = _resolve(node)
        if isinstance(part, int):
            node = node.get("items") if isinstance(node, dict) else None
            item = _resolve(node) if node is not None else None
            title = item.get("title") if isinstance(item, dict) else None
            if title:
                parts.append(f"{title}第{part + 1}项")
        else:
            properties = node.get("properties", {}) if isinstance(node, dict) else {}
            node = properties.get(part)
            resolved = _resolve(node) if node is not None else None
            last = index == len(path) - 1
            if last and isinstance(resolved, dict) and resolved.get("title"):
                parts.append(resolved["title"])
        if node is None:
            break
    return "·".join(parts)


def _resolve(node: Any) -> Any:
    """Follow a local ``$ref`` (``#/$defs/...``), the only kind the schema uses."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        target: Any = _schema()
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _python_type_name(value: object) -> str:
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
# Rules beyond the schema
# ---------------------------------------------------------------------------------------------------------


def _rule_problems(data: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    problems.extend(_credit_code_problems(data))
    problems.extend(_region_problems(data))
    codes = _occupation_codes_by_index(data)
    problems.extend(_duplicate_occupation_problems(codes))
    problems.extend(_assessor_problems(data, codes))
    return problems


def _credit_code_problems(data: Mapping[str, Any]) -> list[str]:
    institution = data.get("institution")
    if not isinstance(institution, Mapping):
        return []
    code = institution.get("credit_code")
    if not isinstance(code, str) or not code:
        return []  # the schema already reports a missing or empty code
    problem = credit_code_problem(code)
    return [f"{_where(['institution', 'credit_code'])}：{problem}"] if problem else []


def _region_problems(data: Mapping[str, Any]) -> list[str]:
    region = data.get("region")
    if not isinstance(region, str) or not _REGION_CODE.match(region):
        return []
    where = _where(["region"])
    province = region[:2]
    if province not in PROVINCES:
        return [f"{where}：「{region}」的前两位 {province} 不是省级行政区划代码"]
    if data.get("authority_level") == "municipal" and region.endswith("0000"):
        return [
            f"{where}：「{region}」是{PROVINCES[province]}的省级代码；备案层级为市（州）级时，"
            "应填写市（州）或区县的行政区划代码"
        ]
    return []


def _occupation_codes_by_index(data: Mapping[str, Any]) -> dict[int, str]:
    occupations = data.get("occupations")
    if not isinstance(occupations, list):
        return {}
    return {
        i: occupation["code"]
        for i, occupation in enumerate(occupations)
        if isinstance(occupation, Mapping) and isinstance(occupation.get("code"), str)
        and _OCCUPATION_CODE.match(occupation["code"])
    }


def _duplicate_occupation_problems(codes: Mapping[int, str]) -> list[str]:
    problems: list[str] = []
    first: dict[str, int] = {}
    for index, code in codes.items():
        if code in first:
            problems.append(
                f"{_where(['occupations', index, 'code'])}：职业编码 {code} "
                f"与 occupations[{first[code]}] 重复"
            )
        else:
            first[code] = index
    return problems


def _assessor_problems(data: Mapping[str, Any], codes: Mapping[int, str]) -> list[str]:
    assessors = data.get("assessors")
    occupations = data.get("occupations")
    if not isinstance(assessors, list):
        return []
    # With a malformed occupation list the membership check would only add noise.
    occupations_ok = isinstance(occupations, list) and len(codes) == len(occupations)
    listed = "、".join(dict.fromkeys(codes.values()))
    problems: list[str] = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, assessor in enumerate(assessors):
        if not isinstance(assessor, Mapping):
            continue
        occupation = assessor.get("occupation")
        name = assessor.get("name")
        if not isinstance(occupation, str) or not _OCCUPATION_CODE.match(occupation):
            continue
        if occupations_ok and occupation not in codes.values():
            problems.append(
                f"{_where(['assessors', index, 'occupation'])}：{occupation} 不是本申请所列的职业"
                f"（本申请的职业编码：{listed}）"
            )
        if not isinstance(name, str) or not name:
            continue
        id_number = assessor.get("id_number") if isinstance(assessor.get("id_number"), str) else ""
        key = (occupation, name, id_number)
        if key in seen:
            detail = "同一职业下重复填写同一考评人员" if id_number else (
                "同一职业下有同名考评人员且未填身份证号，无法区分；如为不同人员，请填写身份证号"
            )
            problems.append(
                f"{_where(['assessors', index])}：与 assessors[{seen[key]}]（{name}）重复，{detail}"
            )
        else:
            seen[key] = index
    return problems
