"""Intake validation of the application JSON: schema, Chinese messages, rules beyond the schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tasks.application import (
    LEVEL_NAMES,
    ApplicationError,
    application_schema,
    occupation_codes,
    validate_application,
)
from tasks.regions import load_profiles

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "examples" / "application.json"


@pytest.fixture()
def example() -> dict[str, Any]:
    return json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))


def problems_of(data: object) -> list[str]:
    with pytest.raises(ApplicationError) as caught:
        validate_application(data)
    return caught.value.problems


# ---------------------------------------------------------------------------------------------------------
# The example and normalisation
# ---------------------------------------------------------------------------------------------------------


def test_example_is_valid_and_as_briefed(example: dict[str, Any]) -> None:
    result = validate_application(example)
    assert result == example
    assert result is not example
    assert example["region"] in ("510100", "510104")
    assert example["authority_level"] == "municipal"
    assert len(example["occupations"]) == 2
    for code in occupation_codes(result):
        assert sum(1 for a in example["assessors"] if a["occupation"] == code) >= 3


def test_result_is_an_independent_copy(example: dict[str, Any]) -> None:
    result = validate_application(example)
    result["occupations"][0]["levels"].append(1)
    assert example["occupations"][0]["levels"] == [5, 4, 3]


def test_credit_code_is_normalised_in_the_copy_only(example: dict[str, Any]) -> None:
    example["institution"]["credit_code"] = " 91510104ma6c8h2k5n "
    result = validate_application(example)
    assert result["institution"]["credit_code"] == "91510104MA6C8H2K5N"
    assert example["institution"]["credit_code"] == " 91510104ma6c8h2k5n "


def test_id_number_x_is_upper_cased(example: dict[str, Any]) -> None:
    example["assessors"][0]["id_number"] = "51010419800101123x"
    result = validate_application(example)
    assert result["assessors"][0]["id_number"] == "51010419800101123X"


def test_occupation_code_may_carry_a_work_type_suffix(example: dict[str, Any]) -> None:
    example["occupations"][0]["code"] = "6-18-01-01-01"
    for assessor in example["assessors"]:
        if assessor["occupation"] == "6-18-01-01":
            assessor["occupation"] = "6-18-01-01-01"
    assert occupation_codes(validate_application(example))[0] == "6-18-01-01-01"


def test_minimal_application_is_valid() -> None:
    minimal = {
        "institution": {"name": "某职业技能培训学校", "credit_code": "52510000MJ0012342F", "type": "social"},
        "region": "510000",
        "authority_level": "provincial",
        "occupations": [
            {"code": "4-03-02-01", "name": "中式烹调师", "levels": [5], "basis": "national_standard"}
        ],
        "assessors": [],
    }
    assert validate_application(minimal) == minimal


# ---------------------------------------------------------------------------------------------------------
# Schema violations, in Chinese
# ---------------------------------------------------------------------------------------------------------


def test_missing_required_fields_are_named(example: dict[str, Any]) -> None:
    del example["institution"]["credit_code"]
    del example["region"]
    del example["occupations"][1]["basis"]
    problems = problems_of(example)
    assert "institution.credit_code（统一社会信用代码）：缺少必填项" in problems
    assert "region（所在行政区划代码）：缺少必填项" in problems
    assert "occupations[1].basis（职业（工种）第2项·评价依据）：缺少必填项" in problems


def test_wrong_types_say_expected_and_found(example: dict[str, Any]) -> None:
    example["occupations"][0]["levels"] = "5,4,3"
    example["assessors"][1]["name"] = 3
    problems = problems_of(example)
    assert "occupations[0].levels（职业（工种）第1项·等级）：类型错误，应为列表，实为文本" in problems
    assert "assessors[1].name（考评人员第2项·姓名）：类型错误，应为文本，实为整数" in problems
    # The wrong type is reported once, not again as "not one of the allowed values".
    assert len([p for p in problems if p.startswith("assessors[1].name")]) == 1


def test_values_outside_the_allowed_set_list_the_choices(example: dict[str, Any]) -> None:
    example["institution"]["type"] = "company"
    example["authority_level"] = "county"
    example["occupations"][0]["basis"] = "enterprise_standard"
    problems = problems_of(example)
    assert (
        "institution.type（机构类型）：取值「company」不在允许范围内，应为以下之一："
        "employer（用人单位）、social（社会培训评价组织）、school（院校）"
    ) in problems
    assert any(p.startswith("authority_level（备案层级）：取值「county」") and "municipal（市（州）级）" in p
               for p in problems)
    assert any("national_standard（国家职业技能标准）" in p for p in problems)


def test_pattern_violations_explain_the_format(example: dict[str, Any]) -> None:
    example["region"] = "5101"
    example["occupations"][0]["code"] = "6-18-1-01"
    example["assessors"][0]["id_number"] = "5101041980"
    problems = problems_of(example)
    assert "region（所在行政区划代码）：格式不正确（「5101」），应为6 位数字，如 510104" in problems
    assert any(p.startswith("occupations[0].code（职业（工种）第1项·职业编码）：格式不正确（「6-18-1-01」）")
               for p in problems)
    assert any(p.startswith("assessors[0].id_number（考评人员第1项·身份证号）：格式不正确") for p in problems)


def test_occupation_code_major_group_must_exist(example: dict[str, Any]) -> None:
    example["occupations"][0]["code"] = "9-18-01-01"
    assert any("格式不正确（「9-18-01-01」）" in p for p in problems_of(example))


def test_levels_are_one_to_five_distinct_and_not_empty(example: dict[str, Any]) -> None:
    example["occupations"][0]["levels"] = [5, 5, 7]
    example["occupations"][1]["levels"] = []
    problems = problems_of(example)
    assert "occupations[0].levels（职业（工种）第1项·等级）：存在重复项（5）" in problems
    out_of_range = (
        "occupations[0].levels[2]（职业（工种）第1项·等级第3项）：取值 7 超出范围，应在 1 至 5 之间"
    )
    assert out_of_range in problems
    assert "occupations[1].levels（职业（工种）第2项·等级）：至少需要 1 项，实有 0 项" in problems


def test_at_least_one_occupation(example: dict[str, Any]) -> None:
    example["occupations"] = []
    example["assessors"] = []
    assert problems_of(example) == ["occupations（申请认定的职业（工种））：至少需要 1 项，实有 0 项"]


def test_empty_strings_are_refused(example: dict[str, Any]) -> None:
    example["institution"]["name"] = ""
    assert problems_of(example) == ["institution.name（机构名称）：不能为空"]


def test_unknown_fields_are_refused_at_every_level(example: dict[str, Any]) -> None:
    example["note"] = "x"
    example["institution"]["website"] = "x"
    example["sites"][0]["equipment"][0]["colour"] = "red"
    problems = problems_of(example)
    assert "申请：不允许的字段「note」" in problems
    assert "institution：不允许的字段「website」" in problems
    assert "sites[0].equipment[0]：不允许的字段「colour」" in problems


@pytest.mark.parametrize(
    "where",
    [
        (), ("institution",), ("occupations", 0), ("assessors", 2), ("sites", 0, "equipment", 1),
        ("materials", 0), ("experts", 1), ("quality_supervisors", 0),
    ],
)
def test_typename_is_refused_anywhere(example: dict[str, Any], where: tuple[Any, ...]) -> None:
    target: Any = example
    for step in where:
        target = target[step]
    target["typename"] = "BpmnWorkflow"
    problems = problems_of(example)
    assert len(problems) == 1
    assert problems[0].endswith("不允许的字段「typename」（系统保留字段名）")


def test_typename_nested_in_a_value_is_refused(example: dict[str, Any]) -> None:
    example["institution"]["name"] = {"typename": "x"}
    assert problems_of(example) == ["institution.name（机构名称）：类型错误，应为文本，实为对象"]


def test_not_an_object() -> None:
    assert problems_of([1, 2]) == ["申请：应为 JSON 对象，实为列表"]
    assert problems_of(None) == ["申请：应为 JSON 对象，实为空值"]


# ---------------------------------------------------------------------------------------------------------
# Rules beyond the schema
# ---------------------------------------------------------------------------------------------------------


def test_credit_code_check_character(example: dict[str, Any]) -> None:
    example["institution"]["credit_code"] = "91510104MA6C8H2K5M"
    assert problems_of(example) == ["institution.credit_code（统一社会信用代码）：校验码错误，应为 N，实为 M"]


def test_credit_code_length_and_characters(example: dict[str, Any]) -> None:
    example["institution"]["credit_code"] = "91510104MA6C8H2K5"
    assert problems_of(example) == ["institution.credit_code（统一社会信用代码）：长度应为 18 位，实为 17 位"]
    example["institution"]["credit_code"] = "91510104MA6C8H2I5N"
    (problem,) = problems_of(example)
    assert "第 16 位「I」" in problem


LEGAL_ID = "institution.legal_representative_id_number（法定代表人身份证件号码）"


@pytest.mark.parametrize(("number", "expected"), [
    ("510104197203151237", "校验码错误：第 18 位应为 2，实为 7（请逐位核对号码）"),
    ("51010419720315123", "长度应为 18 位，实为 17 位"),
    ("510104197202301232", "第 7–14 位（出生日期）不是有效的日期：该月的日应为 01–29"),
])
def test_legal_representative_id_number_is_checked(example: dict[str, Any], number: str, expected: str) -> None:
    example["institution"]["legal_representative_id_number"] = number
    assert problems_of(example) == [f"{LEGAL_ID}：{expected}"]


def test_a_wrong_legal_representative_id_number_is_not_repeated_in_full(example: dict[str, Any]) -> None:
    # Personal data: the message says what is wrong, never the whole number (as a schema pattern's message would).
    example["institution"]["legal_representative_id_number"] = "5101041972031512"
    (problem,) = problems_of(example)
    assert "5101041972031512" not in problem and "19720315" not in problem


def test_legal_representative_id_number_is_normalised(example: dict[str, Any]) -> None:
    example["institution"]["legal_representative_id_number"] = " １１０１０５ 19491231002x"
    assert validate_application(example)["institution"]["legal_representative_id_number"] == "11010519491231002X"


def test_a_new_application_must_name_and_identify_its_legal_representative(example: dict[str, Any]) -> None:
    assert validate_application(example, new=True) == example
    del example["institution"]["legal_representative_id_number"]
    with pytest.raises(ApplicationError) as caught:
        validate_application(example, new=True)
    assert caught.value.problems == [f"{LEGAL_ID}：缺少必填项"]
    del example["institution"]["legal_representative"]
    with pytest.raises(ApplicationError) as caught:
        validate_application(example, new=True)
    assert "institution.legal_representative（法定代表人）：缺少必填项" in caught.value.problems
    # What was received before the number was asked for stays valid (a resubmission, a change report of it).
    assert validate_application(example) == example


def test_the_new_application_schema_requires_more_of_the_institution() -> None:
    stored, new = application_schema(), application_schema(new=True)
    assert "legal_representative_id_number" not in stored["properties"]["institution"]["required"]
    assert {"legal_representative", "legal_representative_id_number"} <= set(
        new["properties"]["institution"]["required"])
    assert stored["properties"]["institution"]["properties"] == new["properties"]["institution"]["properties"]


def test_region_must_be_a_known_province(example: dict[str, Any]) -> None:
    example["region"] = "991234"
    assert problems_of(example) == ["region（所在行政区划代码）：「991234」的前两位 99 不是省级行政区划代码"]


def test_municipal_path_needs_a_municipal_region(example: dict[str, Any]) -> None:
    example["region"] = "510000"
    (problem,) = problems_of(example)
    assert problem.startswith("region（所在行政区划代码）：「510000」是四川省的省级代码")
    example["authority_level"] = "provincial"
    assert validate_application(example)["region"] == "510000"


def test_duplicate_occupation_codes(example: dict[str, Any]) -> None:
    duplicate = copy.deepcopy(example["occupations"][0])
    example["occupations"].append(duplicate)
    assert problems_of(example) == [
        "occupations[2].code（职业（工种）第3项·职业编码）：职业编码 6-18-01-01 与 occupations[0] 重复"
    ]


def test_assessor_occupation_must_be_applied_for(example: dict[str, Any]) -> None:
    example["assessors"][4]["occupation"] = "6-20-01-01"
    assert problems_of(example) == [
        "assessors[4].occupation（考评人员第5项·考评职业编码）：6-20-01-01 不是本申请所列的职业"
        "（本申请的职业编码：6-18-01-01、6-31-01-03）"
    ]


def test_duplicate_assessors(example: dict[str, Any]) -> None:
    example["assessors"].append(dict(example["assessors"][0]))
    (problem,) = problems_of(example)
    assert problem.startswith("assessors[6]（考评人员第7项）：与 assessors[0]（张志强）重复")
    assert "请填写身份证号" in problem


def test_namesakes_with_id_numbers_are_different_people(example: dict[str, Any]) -> None:
    twin = dict(example["assessors"][0], id_number="510104198001011234")
    example["assessors"][0]["id_number"] = "510104198502025678"
    example["assessors"].append(twin)
    validate_application(example)
    example["assessors"][0]["id_number"] = "510104198001011234"
    (problem,) = problems_of(example)
    assert "同一职业下重复填写同一考评人员" in problem


def test_all_problems_are_reported_together(example: dict[str, Any]) -> None:
    example["institution"]["credit_code"] = "91510104MA6C8H2K5M"
    example["institution"]["type"] = "company"
    del example["occupations"][0]["name"]
    example["assessors"][0]["occupation"] = "6-20-01-01"
    example["sites"][0]["typename"] = "x"
    with pytest.raises(ApplicationError) as caught:
        validate_application(example)
    error = caught.value
    assert len(error.problems) == 5
    summary = str(error)
    assert "\n" not in summary
    assert summary.startswith("申请材料有 5 处问题：1. ")
    for problem in error.problems:
        assert problem in summary
    assert isinstance(error, ValueError)


# ---------------------------------------------------------------------------------------------------------
# The schema itself
# ---------------------------------------------------------------------------------------------------------


def _objects(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append((path, node))
        for key, value in node.items():
            found.extend(_objects(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_objects(value, f"{path}/{i}"))
    return found


def test_schema_is_draft_2020_12_and_closed_everywhere() -> None:
    schema = application_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    objects = _objects(schema)
    assert len(objects) >= 8
    for path, node in objects:
        assert node.get("additionalProperties") is False, path
        assert "typename" not in node.get("properties", {}), path


def test_schema_titles_are_chinese() -> None:
    def has_cjk(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    schema = application_schema()
    assert has_cjk(schema["title"]) and has_cjk(schema["description"])
    for path, node in _objects(schema):
        for name, prop in node.get("properties", {}).items():
            if "$ref" in prop:
                target = schema
                for part in prop["$ref"].removeprefix("#/").split("/"):
                    target = target[part]
                prop = target
            assert has_cjk(prop.get("title", "")), f"{path}/{name}"


def test_schema_copy_can_be_changed_safely() -> None:
    schema = application_schema()
    schema["required"].clear()
    assert "institution" in application_schema()["required"]


def test_level_names() -> None:
    assert LEVEL_NAMES[5] == "五级/初级工"
    assert LEVEL_NAMES[1] == "一级/高级技师"
    assert sorted(LEVEL_NAMES) == [1, 2, 3, 4, 5]


def test_the_schema_offers_every_regions_checklist_items_and_nothing_else() -> None:
    kinds = {choice["const"] for choice in
             application_schema()["properties"]["materials"]["items"]["properties"]["kind"]["oneOf"]}
    on_checklists = {item.key for profile in load_profiles().values() for item in profile.materials}
    assert kinds == on_checklists


def test_a_material_must_be_on_the_checklist_of_the_applications_region(example: dict[str, Any]) -> None:
    beijing = {**example, "region": "110108", "authority_level": "municipal"}
    problems = problems_of(beijing)
    assert len(problems) == 4
    assert problems[0].startswith(
        "materials[1].kind（材料第2项·材料类别）：「legal_person_certificate」不在北京市的申请材料清单中")
    assert "企业培训与认定工作的相关政策" in problems[0]

    beijing["materials"] = [{"kind": "training_and_pay_policies", "title": "培训与薪酬挂钩办法"}]
    assert validate_application(beijing)["materials"] == beijing["materials"]
    # Shanghai borrows Sichuan's list (参照) and adds its consent letters; Sichuan has no such letter.
    shanghai = {**example, "region": "310104", "authority_level": "municipal",
                "materials": [*example["materials"], {"kind": "district_hr_consent", "title": "徐汇区人社局同意意见"}]}
    assert validate_application(shanghai)["materials"][-1]["kind"] == "district_hr_consent"
    sichuan = {**example, "materials": shanghai["materials"]}
    assert ["「district_hr_consent」不在四川省的申请材料清单中" in p for p in problems_of(sichuan)] == [True]
