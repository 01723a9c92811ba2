"""What a clean text is (tasks/text.py) and how every entry uses it, with the bounds of tasks/limits.py: the filing
application, task forms (also placed beside their field in the browser), the paper application form, data without a
schema, and the diagram size check."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from adapters.entrypoints.web.forms import check_submission
from adapters.entrypoints.web.forms.application import read_application
from tasks.application import ApplicationError, validate_application
from tasks.forms import schema_problems
from tasks.limits import (
    MAX_APPLICATION_BYTES,
    MAX_ASSESSORS_PER_OCCUPATION,
    MAX_DIAGRAM_BYTES,
    MAX_NESTING,
    MAX_WALKED_NESTING,
    nested_deeper_than,
)
from tasks.text import BIDI_CONTROLS, printable, text_problem
from tests.support.forms import flattened
from workflows.bpmn_check import check_source, size_findings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "application.json"
ACCEPTANCE = json.loads((ROOT / "bpmn" / "forms" / "acceptance.schema.json").read_text(encoding="utf-8"))


@pytest.fixture()
def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def problems_of(data: object) -> list[str]:
    with pytest.raises(ApplicationError) as caught:
        validate_application(data)
    return caught.value.problems


# --- the rule ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["成都锦城精工机械制造有限公司", "O'Brien-李", "𠀀字", "👩‍🔧 技师",
                                  "عربي\u200f 中文", "ＡＢＣ１２３"])
def test_ordinary_texts_are_clean(text: str) -> None:
    assert text_problem(text, required=True) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("李\x00娜", "含有控制字符 U+0000"),
    ("李\x1b[31m娜", "含有控制字符 U+001B"),
    ("李\x85娜", "含有控制字符 U+0085"),
    ("李\ud800娜", "含有无效字符 U+D800"),
    ("李\n娜", "不能含有换行或制表符（U+000A），本栏只能填一行"),
    ("李\t娜", "不能含有换行或制表符（U+0009）"),
])
def test_control_characters_are_refused(text: str, expected: str) -> None:
    problem = text_problem(text)
    assert problem is not None and expected in problem


@pytest.mark.parametrize("char", sorted(BIDI_CONTROLS))
def test_every_bidirectional_override_embedding_and_isolate_is_refused(char: str) -> None:
    listed = {chr(c) for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069)}
    assert listed == BIDI_CONTROLS
    problem = text_problem(f"发票{char}fdp.exe", multiline=True)
    assert problem == (f"含有改变文字显示方向的控制字符 U+{ord(char):04X}，会使内容显示得与实际不同，"
                       "请删去后重新填写")


def test_line_breaks_and_tabs_only_in_multiline_texts() -> None:
    assert text_problem("第一行\r\n第二行\t完", multiline=True) is None
    assert text_problem("第一行\x00", multiline=True) is not None


@pytest.mark.parametrize("text", ["", "   ", "\u3000", "\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u200b\n",
                                  "\u00ad\u200e"])
def test_a_required_text_needs_something_visible(text: str) -> None:
    problem = text_problem(text, multiline=True, required=True)
    assert problem is not None and problem.startswith("不能为空")
    assert text_problem(text, multiline=True) is None  # an optional field may be left blank


def test_printable_replaces_what_may_not_be_recorded() -> None:
    assert printable("li\x00na\u202e") == "li\ufffdna\ufffd"


# --- the filing application ---------------------------------------------------------------------------------------


def test_the_application_names_the_field_of_each_unclean_text(example: dict[str, Any]) -> None:
    example["institution"]["name"] = "成都\x00精工"
    example["assessors"][1]["name"] = "\u202e强志张"
    example["experts"][0]["name"] = "\u200b \u200b"
    example["institution"]["contact"] = "王晓梅\n李娜"  # 50 characters at most: a one-line field
    example["occupations"][0]["question_bank"] = "使用国家题库\n补充实操试题"  # 500: prose, may break lines
    example["institution"]["address"] = "四川省成都市\n锦江区三色路 88 号"  # 300: a textarea too
    assert problems_of(example) == [
        "assessors[1].name（考评人员第2项·姓名）：含有改变文字显示方向的控制字符 U+202E，会使内容显示得与实际不同，"
        "请删去后重新填写",
        "experts[0].name（专家第1项·姓名）：不能为空（只填了空格或不可见字符）",
        "institution.contact（联系人）：不能含有换行或制表符（U+000A），本栏只能填一行",
        "institution.name（机构名称）：含有控制字符 U+0000，这不是能录入的文字，请删去后重新填写",
    ]


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(example: dict[str, Any], number: float) -> None:
    example["sites"][0]["area_m2"] = number
    assert problems_of(example) == [
        "sites[0].area_m2（场地第1项·面积（平方米））：不是有效的数字（NaN 或无穷大），请填写具体数值"]


def test_100000_assessors_are_refused_by_their_count_without_looking_at_any(example: dict[str, Any]) -> None:
    # Every one of them is malformed: had they been validated, there would be 100,000 more problems.
    example["assessors"] = [{"occupation": "不是编码", "名字": i} for i in range(100_000)]
    assert problems_of(example) == ["assessors（考评人员）：最多 3000 项，实有 100000 项"]


def test_assessors_per_occupation_are_bounded(example: dict[str, Any]) -> None:
    code = example["occupations"][0]["code"]
    example["assessors"] = [{"name": f"考评员{i}", "occupation": code, "id_number": f"51010419800101{i:04d}"}
                            for i in range(MAX_ASSESSORS_PER_OCCUPATION + 1)]
    assert problems_of(example) == [
        f"assessors（考评人员）：职业 {code} 的考评人员有 {MAX_ASSESSORS_PER_OCCUPATION + 1} 名，每个职业（工种）最多 "
        f"{MAX_ASSESSORS_PER_OCCUPATION} 名"]


def test_an_application_over_the_size_limit_is_refused_before_it_is_checked(example: dict[str, Any]) -> None:
    example["institution"]["address"] = "成" * (MAX_APPLICATION_BYTES // 3)  # 3 bytes each in UTF-8
    assert problems_of(example) == ["申请：申请材料过大（2.0 MB），上限为 2 MB"]


def test_nested_lists_are_bounded_too(example: dict[str, Any]) -> None:
    example["sites"][0]["equipment"] = [{"name": "车床", "quantity": 1}] * 101
    assert problems_of(example) == ["sites[0].equipment（场地第1项·设施设备）：最多 100 项，实有 101 项"]


# 600: deeper than a deep copy can go on any Python, shallow enough for 3.11's JSON encoder; 5,000: deeper than 3.11's
# JSON encoder goes, not 3.13's. Each was a RecursionError before the depth was counted without recursion.
@pytest.mark.parametrize("depth", [MAX_NESTING + 1, MAX_WALKED_NESTING, MAX_WALKED_NESTING + 1, 600, 5_000])
def test_deep_nesting_is_refused_without_a_recursion_error(example: dict[str, Any], depth: int) -> None:
    nested: Any = "底"
    for _ in range(depth):
        nested = [nested]
    example["materials"] = nested
    problems = problems_of(example)
    assert len(problems) == 1 and "嵌套层数过多" in problems[0]


def test_nesting_is_counted_exactly_and_at_any_depth() -> None:
    assert not nested_deeper_than("底", 0) and not nested_deeper_than({}, 1) and nested_deeper_than({}, 0)
    assert not nested_deeper_than({"a": [1, {"b": []}]}, 4) and nested_deeper_than({"a": [1, {"b": []}]}, 3)
    deep: object = []
    for _ in range(100_000):  # far past any recursion limit
        deep = [deep]
    assert nested_deeper_than(deep, MAX_WALKED_NESTING)


def test_the_largest_accepted_application_is_accepted(example: dict[str, Any]) -> None:
    """Every list at its limit, with realistic texts (about 1.4 MB): what the limits promise is really accepted."""
    big = copy.deepcopy(example)
    codes = [f"6-18-{i // 100:02d}-{i % 100:02d}" for i in range(300)]
    big["occupations"] = [{**example["occupations"][0], "code": code, "name": f"职业{i}"} for i, code in
                          enumerate(codes)]
    big["assessors"] = [{**example["assessors"][0], "name": f"考评员{i}-{j}", "occupation": code}
                        for i, code in enumerate(codes) for j in range(10)]
    big["experts"] = [{**example["experts"][0], "name": f"专家{i}"} for i in range(300)]
    big["quality_supervisors"] = [{**example["quality_supervisors"][0], "name": f"督导{i}"} for i in range(300)]
    site = example["sites"][0]
    big["sites"] = [{**site, "name": f"场地{i}", "equipment": [site["equipment"][0]] * 100} for i in range(50)]
    big["materials"] = [{**example["materials"][0]}] * 200
    size = len(json.dumps(big, ensure_ascii=False).encode())
    assert MAX_APPLICATION_BYTES / 2 < size < MAX_APPLICATION_BYTES
    assert validate_application(big)["assessors"][-1]["name"] == "考评员299-9"


# --- forms and data without a schema ------------------------------------------------------------------------------


def test_a_task_form_refuses_unclean_texts_with_the_field_named() -> None:
    assert schema_problems(ACCEPTANCE, {"decision": "reject", "reasons": "材料\u2066不全"}) == [
        "reasons（理由或需补正的材料）：含有改变文字显示方向的控制字符 U+2066，会使内容显示得与实际不同，"
        "请删去后重新填写"]
    assert schema_problems(ACCEPTANCE, {"decision": "reject", "reasons": "\u200b"}) == [
        "reasons（理由或需补正的材料）：不能为空（只填了空格或不可见字符）"]


def test_the_browser_form_shows_the_message_beside_the_field() -> None:
    submission = check_submission(ACCEPTANCE, [("decision", "reject"), ("reasons", "材料\x00不全")])
    assert not submission.ok
    assert submission.field_errors == {
        "reasons": "理由或需补正的材料：含有控制字符 U+0000，这不是能录入的文字，请删去后重新填写"}


def test_the_paper_application_form_shows_the_message_beside_the_field(example: dict[str, Any]) -> None:
    example["institution"]["name"] = "\u202e司公限有"
    _application, errors, _form_errors = read_application(flattened(example))
    assert "改变文字显示方向的控制字符 U+202E" in errors["institution[name]"]


def test_data_without_a_schema_is_held_to_the_same_rule() -> None:
    assert schema_problems(None, {"note": "第一行\n第二行", "amount": 3.5}) == []
    assert schema_problems(None, {"note": "\u202e", "bad\x00key": 1, "rate": math.nan}, root_label="消息内容") == [
        "消息内容：字段名含有控制字符 U+0000，这不是能录入的文字，请删去后重新填写",
        "note：含有改变文字显示方向的控制字符 U+202E，会使内容显示得与实际不同，请删去后重新填写",
        "rate：不是有效的数字（NaN 或无穷大），请填写具体数值",
    ]


# --- the diagram size --------------------------------------------------------------------------------------------


def test_a_diagram_over_the_limit_is_refused_before_it_is_parsed() -> None:
    at_limit = "<" + "x" * (MAX_DIAGRAM_BYTES - 1)
    assert size_findings(at_limit, "a.bpmn", {}) == []
    (finding,) = check_source(at_limit + "x", "a.bpmn", {})
    assert (finding.code, finding.severity) == ("too-large", "error")
    assert finding.message == "BPMN 文件 a.bpmn 过大（5.0 MB），上限为 5 MB，不能检查或部署"


def test_a_form_schema_over_the_limit_is_refused() -> None:
    huge = {"type": "object", "description": "说明" * 200_000}
    (finding,) = size_findings("<definitions/>", "a.bpmn", {"acceptance.schema.json": huge})
    assert finding.code == "too-large" and "表单 acceptance.schema.json" in finding.message
