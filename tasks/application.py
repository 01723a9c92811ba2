"""Intake validation of a filing application (备案申请).

``validate_application`` is the gate at submission: it returns a normalised copy of a well-formed
application, or raises ``ApplicationError`` listing *every* problem in Chinese, so the institution can
correct everything in one go (一次性告知). It checks the JSON Schema (``schemas/application.schema.json``)
and the rules a schema cannot express: the credit code's check characters (GB 32100-2015), the legal
representative's identity number (GB 11643-1999: birth date and check character), that the region is a real
province-level area and fits the authority level, that occupation codes are not listed twice, and that every
assessor examines one of the application's occupations.

A *new* application (``new=True``: registered through ``app.cases.apply``, whatever the way in) must also give
what the schema leaves optional only because applications stored before it was asked for lack it
(``NEW_APPLICATION_REQUIRED``: the legal representative and the identity number, without which the credit
pre-check cannot look the person up). A resubmission or a change report of such an older case is checked as
before; a missing number then reaches the intake clerk as a credit check to do by hand (``tasks.prechecks``).

The identity number is personal data: the schema gives it no ``pattern`` (a pattern's message quotes the value),
and ``tasks.id_number`` words its problems without repeating the number.

Substantive conditions that a caseworker weighs (enough assessors, no active filing, the batch window)
are pre-checks (``tasks/prechecks.py``): they are shown to the intake clerk, not enforced here.

Before anything else the application's size is checked (``tasks.limits.MAX_APPLICATION_BYTES``), then the
counts of its lists (the schema's ``maxItems``) before their items: an oversized application is refused in
milliseconds. Every text must be clean (``tasks.text``) and every number finite, as in every form.

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

from tasks.credit_code import credit_code_problem, normalize_credit_code
from tasks.forms import RESERVED_KEYS as RESERVED_KEYS  # re-exported: part of this module's API
from tasks.forms import field_reference, json_type_name, schema_problems
from tasks.id_number import id_number_problem, normalize_id_number
from tasks.limits import MAX_APPLICATION_BYTES, MAX_ASSESSORS_PER_OCCUPATION, submission_size_problem
from tasks.regions import INSTITUTION_TYPES, PROVINCES, profile_for_region

# 5 is the lowest level (五级/初级工), 1 the highest (一级/高级技师): 川人社办发〔2019〕94号 三.
LEVEL_NAMES: Final = {
    5: "五级/初级工", 4: "四级/中级工", 3: "三级/高级工", 2: "二级/技师", 1: "一级/高级技师",
}

_ROOT_LABEL = "申请"

# Fields of ``institution`` a new application must give, though the schema allows stored ones without them.
NEW_APPLICATION_REQUIRED: Final = ("legal_representative", "legal_representative_id_number")

_OCCUPATION_CODE = re.compile(r"^[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}(-[0-9]{2})?$")
_REGION_CODE = re.compile(r"^[0-9]{6}$")


class ApplicationError(ValueError):
    """The application is not well-formed. ``problems`` holds one Chinese sentence per problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        listed = "；".join(f"{i}. {p}" for i, p in enumerate(self.problems, start=1))
        super().__init__(f"申请材料有 {len(self.problems)} 处问题：{listed}")


def application_schema(*, new: bool = False) -> dict[str, Any]:
    """The application's JSON Schema (draft 2020-12), a fresh copy the caller may change; with ``new``, as a new
    application must meet it (``NEW_APPLICATION_REQUIRED`` required of the institution)."""
    return _requiring_new(copy.deepcopy(_schema())) if new else copy.deepcopy(_schema())


def validate_application(data: object, *, new: bool = False) -> dict[str, Any]:
    """A normalised copy of ``data`` if it is a well-formed application; else ApplicationError.

    ``new``: ``data`` is a new application (not a resubmission or a changed record of one received earlier), which
    must give everything ``NEW_APPLICATION_REQUIRED`` names.

    Normalisation: the credit code and the legal representative's identity number are upper-cased with all
    whitespace removed (full-width characters folded to ASCII); identity-card numbers get an upper-case ``X``.
    Nothing else is changed.
    """
    if not isinstance(data, Mapping):
        raise ApplicationError([f"{_ROOT_LABEL}：应为 JSON 对象，实为{json_type_name(data)}"])
    too_many = _count_problems(data)  # first: len() of each list, however long it is
    if too_many:
        raise ApplicationError(too_many)
    too_large = submission_size_problem(data, MAX_APPLICATION_BYTES, "申请材料")
    if too_large:
        raise ApplicationError([f"{_ROOT_LABEL}：{too_large}"])
    normalized = _normalize(copy.deepcopy(dict(data)))
    problems = schema_problems(_validation_schema(new), normalized, root_label=_ROOT_LABEL)
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
    if isinstance(institution, dict) and isinstance(institution.get("legal_representative_id_number"), str):
        institution["legal_representative_id_number"] = normalize_id_number(
            institution["legal_representative_id_number"])
    for group in ("assessors", "experts", "quality_supervisors"):
        people = data.get(group)
        if isinstance(people, list):
            for person in people:
                if isinstance(person, dict) and isinstance(person.get("id_number"), str):
                    person["id_number"] = person["id_number"].upper()
    return data


# ---------------------------------------------------------------------------------------------------------
# The schema; its problems are worded by tasks.forms, like every form's
# ---------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("tasks").joinpath("schemas/application.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    from jsonschema import Draft202012Validator  # when an application is first checked, not by every command

    Draft202012Validator.check_schema(schema)
    return schema


def _requiring_new(schema: dict[str, Any]) -> dict[str, Any]:
    institution = schema["properties"]["institution"]
    institution["required"] = [*institution["required"],
                               *(key for key in NEW_APPLICATION_REQUIRED if key not in institution["required"])]
    return schema


@lru_cache(maxsize=2)
@lru_cache(maxsize=2)
def _validation_schema(new: bool = False) -> dict[str, Any]:
    """The schema with its local ``$ref``s written out in place: the same rules, validated about three times faster
    (resolving a reference costs more than checking a field, and an application names thousands of people).
    ``new``: as a new application must meet it. Built once and shared (its validator with it: tasks.forms keeps one
    per schema object): read it, never change it."""
    schema = application_schema(new=new)

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = schema["$defs"][ref.removeprefix("#/$defs/")]
            return inline({**target, **{k: v for k, v in node.items() if k != "$ref"}})
        return {key: inline(value) for key, value in node.items()}

    return inline(schema)


def _where(path: list[str | int]) -> str:
    return field_reference(_schema(), path, root_label=_ROOT_LABEL)


# ---------------------------------------------------------------------------------------------------------
# Rules beyond the schema
# ---------------------------------------------------------------------------------------------------------


def _rule_problems(data: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    problems.extend(_credit_code_problems(data))
    problems.extend(_legal_representative_problems(data))
    problems.extend(_region_problems(data))
    codes = _occupation_codes_by_index(data)
    problems.extend(_duplicate_occupation_problems(codes))
    problems.extend(_assessor_problems(data, codes))
    problems.extend(_material_problems(data))
    return problems


def _count_problems(data: Mapping[str, Any]) -> list[str]:
    """The lists of the application longer than the schema allows (the schema's check says the same later, but only
    after looking at every item)."""
    problems = []
    for key, node in _validation_schema()["properties"].items():
        value, limit = data.get(key), node.get("maxItems")
        if isinstance(value, list) and isinstance(limit, int) and len(value) > limit:
            problems.append(f"{_where([key])}：最多 {limit} 项，实有 {len(value)} 项")
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


def _legal_representative_problems(data: Mapping[str, Any]) -> list[str]:
    institution = data.get("institution")
    if not isinstance(institution, Mapping):
        return []
    number = institution.get("legal_representative_id_number")
    if not isinstance(number, str) or not number:
        return []  # the schema already reports a wrong type, an empty number, or one missing from a new application
    problem = id_number_problem(number)
    return [f"{_where(['institution', 'legal_representative_id_number'])}：{problem}"] if problem else []


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


def _material_problems(data: Mapping[str, Any]) -> list[str]:
    """Each declared material is an item of the checklist of the application's region and institution type: the
    schema knows every region's items, only the region knows which of them it asks for."""
    region, institution = data.get("region"), data.get("institution")
    materials = data.get("materials")
    institution_type = institution.get("type") if isinstance(institution, Mapping) else None
    if _region_problems(data) or not isinstance(region, str) or not _REGION_CODE.match(region) \
            or institution_type not in INSTITUTION_TYPES or not isinstance(materials, list):
        return []  # reported by the schema or the region's own check
    profile = profile_for_region(region)
    offered = {item.key: item for item in profile.materials_for(institution_type)}
    problems = []
    for index, material in enumerate(materials):
        kind = material.get("kind") if isinstance(material, Mapping) else None
        if isinstance(kind, str) and kind not in offered:
            names = "、".join(item.name for item in offered.values())
            problems.append(f"{_where(['materials', index, 'kind'])}：「{kind}」不在{profile.name}的申请材料清单中"
                            f"（可选：{names}）")
    return problems


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
    problems = _assessor_count_problems(assessors)
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


def _assessor_count_problems(assessors: list[Any]) -> list[str]:
    counts: dict[str, int] = {}
    for assessor in assessors:
        if isinstance(assessor, Mapping) and isinstance(assessor.get("occupation"), str):
            counts[assessor["occupation"]] = counts.get(assessor["occupation"], 0) + 1
    return [f"{_where(['assessors'])}：职业 {code} 的考评人员有 {count} 名，每个职业（工种）最多 "
            f"{MAX_ASSESSORS_PER_OCCUPATION} 名" for code, count in counts.items()
            if count > MAX_ASSESSORS_PER_OCCUPATION]
