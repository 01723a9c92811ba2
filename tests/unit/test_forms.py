"""``schema_problems``: JSON Schema errors of task forms and message payloads, in Chinese."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasks.forms import field_reference, json_type_name, schema_problems

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"

# A closed object with a list of items defined once under $defs, as the application schema does it.
PEOPLE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "person": {
            "title": "人员",
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"title": "姓名", "type": "string", "minLength": 1},
                "role": {"title": "职责", "enum": ["lead", "member"]},
            },
        }
    },
    "type": "object",
    "additionalProperties": False,
    "properties": {"people": {"title": "人员名单", "type": "array", "items": {"$ref": "#/$defs/person"}}},
}


@pytest.fixture(scope="module")
def acceptance() -> dict[str, Any]:
    return json.loads((FORMS / "acceptance.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "form",
    [{"decision": "accept"}, {"decision": "reject", "reasons": "不属于本机关备案范围"},
     {"decision": "supplement", "reasons": "缺考评人员名单"}],
)
def test_conforming_forms_have_no_problems(acceptance: dict[str, Any], form: dict[str, Any]) -> None:
    assert schema_problems(acceptance, form) == []


@pytest.mark.parametrize("decision", ["reject", "supplement"])
def test_then_branch_requires_reasons(acceptance: dict[str, Any], decision: str) -> None:
    assert schema_problems(acceptance, {"decision": decision}) == ["reasons（理由或需补正的材料）：缺少必填项"]


def test_empty_reasons_are_said_once(acceptance: dict[str, Any]) -> None:
    # "" fails both minLength and the pattern \S; only the first is worth saying.
    assert schema_problems(acceptance, {"decision": "reject", "reasons": ""}) == [
        "reasons（理由或需补正的材料）：不能为空"
    ]


def test_one_of_const_lists_the_choices_with_their_titles(acceptance: dict[str, Any]) -> None:
    assert schema_problems(acceptance, {"decision": "maybe"}) == [
        "decision（受理决定）：取值「maybe」不在允许范围内，应为以下之一："
        "accept（予以受理）、reject（不予受理）、supplement（材料不全，一次性告知补正）"
    ]


def test_plain_enum_lists_the_values() -> None:
    assert schema_problems(PEOPLE, {"people": [{"name": "张三", "role": "boss"}]}) == [
        "people[0].role（人员第1项·职责）：取值「boss」不在允许范围内，应为以下之一：lead、member"
    ]


def test_wrong_type_is_reported_once(acceptance: dict[str, Any]) -> None:
    assert schema_problems(acceptance, {"decision": 5}) == ["decision（受理决定）：类型错误，应为文本，实为整数"]
    assert schema_problems(acceptance, [1]) == ["表单：类型错误，应为对象，实为列表"]


def test_extra_fields_are_named_and_typename_is_explained(acceptance: dict[str, Any]) -> None:
    assert schema_problems(acceptance, {"decision": "accept", "remark": "x", "typename": "y"}) == [
        "表单：不允许的字段「remark」",
        "表单：不允许的字段「typename」（系统保留字段名）",
    ]


def test_labels_follow_refs_and_items_in_numeric_order() -> None:
    people = [{"name": "某人"} for _ in range(11)]
    people[2] = {"name": 1}
    people[10] = {"colour": "red"}
    assert schema_problems(PEOPLE, {"people": people}) == [
        "people[2].name（人员第3项·姓名）：类型错误，应为文本，实为整数",
        "people[10]：不允许的字段「colour」",
        "people[10].name（人员第11项·姓名）：缺少必填项",
    ]


def test_field_reference_and_type_names() -> None:
    assert field_reference(PEOPLE, ["people", 0, "name"]) == "people[0].name（人员第1项·姓名）"
    assert field_reference(PEOPLE, [], root_label="名单") == "名单"
    assert field_reference(PEOPLE, ["unknown"]) == "unknown"
    assert [json_type_name(v) for v in (None, True, 1, 1.5, "a", [], {})] == [
        "空值", "是/否", "整数", "小数", "文本", "列表", "对象"
    ]
