"""Task forms from JSON Schema: fields, the posted form back to data, messages by field, and the HTML macro."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from lxml import html as lxml_html

from adapters.entrypoints.web.forms import (
    ADD_ROW_FIELD,
    Field,
    UnsupportedFormSchema,
    check_submission,
    form_fields,
    form_values,
    html_pattern_of,
    parse_form,
    problems_by_field,
    submitted_values,
)
from tasks import form_choices
from tasks.forms import schema_problems
from tests.support.forms import browser_post

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "bpmn" / "forms"
TEMPLATES = ROOT / "adapters" / "entrypoints" / "web" / "templates"
SCHEMA_FILES = sorted(p.name for p in FORMS.glob("*.schema.json"))

LONG_OPINION = "经查阅申报材料并现场核实，该机构考评人员数量符合要求；\r\n但评价场地消防验收材料缺失。"

# What a caseworker's browser posts for each bundled form (with the page's CSRF token, which is not data).
SUBMISSIONS: dict[str, list[tuple[str, str]]] = {
    "acceptance.schema.json": [
        ("csrf_token", "t0k"), ("decision", "supplement"),
        ("reasons", "请补正：\r\n1. 考评人员名单及其职业资格证明；\r\n2. 评价场地产权或租赁证明。\r\n"),
    ],
    "automatic_verification.schema.json": [
        ("csrf_token", "t0k"), ("decision", "terminate"),
        ("opinion", "经核查，该机构备案有效期届满前三个月内未提交书面续期申请，符合自动终止情形。"),
    ],
    "change_review.schema.json": [
        ("csrf_token", "t0k"), ("result", "fail"), ("opinion", "新考试考核场地未提供消防验收合格证明。"),
    ],
    "continuation_review.schema.json": [("csrf_token", "t0k"), ("result", "pass"), ("opinion", "")],
    "expert_review.schema.json": [("csrf_token", "t0k"), ("result", "fail"), ("opinion", LONG_OPINION)],
    "higher_review.schema.json": [("csrf_token", "t0k"), ("result", "pass"), ("opinion", "拟备案名单与材料一致。")],
    "decide_termination.schema.json": [("csrf_token", "t0k"), ("decision", "terminate"),
                                         ("reasons", "超出备案范围开展评价，情节严重。")],
    "decide_sanction.schema.json": [("csrf_token", "t0k"), ("decision", "impose"),
                                      ("reasons", "机构的陈述不能否定招生简章宣称“包过”的事实。")],
    "decide_renewal.schema.json": [("csrf_token", "t0k"), ("decision", "refuse"),
                                     ("reasons", "备案期内连续一年未开展评价工作，补充材料不能证明已开展。")],
    "annual_report_review.schema.json": [("csrf_token", "t0k"), ("result", "resubmit"),
                                         ("opinion", "认定计划未列明各批次人数。")],
    "annual_report.message.schema.json": [("csrf_token", "t0k"), ("year", "2026"),
                                          ("summary", "2026年组织电工认定2批次，共86人。"),
                                          ("plan", "2027年计划认定电工三级、四级各1批次，各40人。")],
    "national_filing_returned.schema.json": [("csrf_token", "t0k"),
                                             ("corrections", "已按国家职业分类大典更正电工的职业编码。")],
    "national_filing.message.schema.json": [("csrf_token", "t0k"), ("result", "accepted"),
                                            ("national_number", "NATL-2026-0099"), ("acknowledged_on", "2026-11-20"),
                                            ("reasons", "")],
    "preliminary_opinion.schema.json": [("csrf_token", "t0k"), ("recommendation", "recommend"),
                                        ("opinion", "申报材料齐全，建议市级组织专家评估。")],
    "administrative_review.schema.json": [("csrf_token", "t0k"), ("result", "fail"),
                                          ("meeting", "2026年第12次局长办公会"),
                                          ("opinion", "评价职业超出兵团确定的范围。")],
    "objection.message.schema.json": [
        ("csrf_token", "t0k"), ("objector", "张三（13800000000）"), ("content", "该机构实际无焊工实训场地。"),
    ],
    "objection_review.schema.json": [
        ("csrf_token", "t0k"), ("upheld", "false"), ("opinion", "经现场核实，焊工实训场地真实存在，异议不成立。"),
    ],
    "rectification_check.schema.json": [("csrf_token", "t0k"), ("result", "pass"), ("opinion", "  ")],
    "rectification_done.message.schema.json": [
        ("csrf_token", "t0k"), ("summary", "已逐项整改：补充考评人员3名，完善质量督导制度。"),
    ],
    "renewal_assessment.schema.json": [
        ("csrf_token", "t0k"), ("result", "fail"), ("opinion", "备案期内连续十四个月未开展评价活动。"),
    ],
    "resubmission.message.schema.json": [
        ("csrf_token", "t0k"), ("received_at", "2026-09-30T10:00"), ("note", "补交考评人员名单"),
    ],
    "risk_assessment.schema.json": [
        ("csrf_token", "t0k"), ("opinion", "在评考生12人，须完成评价或退费；证书数据须审核上传。"),
        ("wrapup_days", "20"),
    ],
    "sanction_investigation.schema.json": [
        ("csrf_token", "t0k"), ("decision", "warning"), ("opinion", "经调查核实，存在组织考生集体作弊行为。"),
        ("facts", "2026年9月12日焊工（四级）考核中组织考生集体作弊。"), ("invalid_results", "true"),
        ("rectification_days", "30"),
    ],
    "site_inspection.schema.json": [("csrf_token", "t0k"), ("result", "pass")],
    "statement.message.schema.json": [
        ("csrf_token", "t0k"), ("text", "我单位对认定的事实有异议，理由如下……"), ("submitted_on", "2026-10-15"),
    ],
    "statement_review.schema.json": [
        ("csrf_token", "t0k"), ("decision", "uphold"), ("opinion", "陈述申辩未提出新的事实和证据，不予采纳。"),
    ],
    "termination_investigation.schema.json": [
        ("csrf_token", "t0k"), ("decision", "propose"), ("opinion", "经核查，该机构出租出借评价资质。"),
        ("facts", "2026年8月将焊工评价资质出借给某培训学校使用。"),
    ],
    "wrapup_done.message.schema.json": [
        ("csrf_token", "t0k"), ("summary", "证书数据已审核上传，资料已移交保管。"),
        ("refunds[0][candidates]", "12"), ("refunds[0][amount]", "9600"), ("refunds[0][note]", "焊工四级"),
        ("refunds[1][candidates]", "3"), ("refunds[1][amount]", "2250.5"), ("refunds[1][note]", ""),
        ("refunds[2][candidates]", ""), ("refunds[2][amount]", ""), ("refunds[2][note]", ""),
    ],
}


def load(name: str) -> dict[str, Any]:
    return json.loads((FORMS / name).read_text(encoding="utf-8"))


def environment(*, autoescape: bool = True) -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=autoescape, undefined=StrictUndefined)


def render(fields: list[Field], *, autoescape: bool = True, add_row_button: bool = False) -> str:
    template = environment(autoescape=autoescape).from_string(
        '{% from "_form_fields.html" import render_fields %}'
        "<form>{{ render_fields(fields, add_row_button=add_row_button) }}</form>"
    )
    return template.render(fields=fields, add_row_button=add_row_button)


def parsed(name: str) -> dict[str, Any]:
    data, problems = parse_form(load(name), SUBMISSIONS[name])
    assert problems == {}
    return data


# ---------------------------------------------------------------------------------------------------------
# Every bundled form
# ---------------------------------------------------------------------------------------------------------


def test_every_bundled_form_has_a_realistic_submission() -> None:
    assert set(SCHEMA_FILES) == set(SUBMISSIONS)


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_bundled_form_renders_with_labels_for_every_input(name: str) -> None:
    schema = load(name)
    fields = form_fields(schema)
    page = render(fields)
    document = lxml_html.fromstring(page)
    ids = set(document.xpath("//@id"))
    assert [f.name for f in fields] == list(schema["properties"])
    for control in document.iter("input", "select", "textarea"):
        labelled_by = control.get("aria-labelledby")
        if labelled_by:
            assert set(labelled_by.split()) <= ids
        else:
            assert document.xpath(f'//label[@for="{control.get("id")}"]'), control.get("name")
        assert set((control.get("aria-describedby") or "").split()) <= ids
    for described in document.xpath("//fieldset/@aria-describedby"):
        assert set(described.split()) <= ids
    assert len(set(document.xpath("//@id"))) == len(document.xpath("//@id"))  # ids are unique


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_realistic_submission_passes_the_schema(name: str) -> None:
    schema = load(name)
    data, problems = parse_form(schema, SUBMISSIONS[name])
    assert problems == {}
    assert "csrf_token" not in data
    assert schema_problems(schema, data) == []
    assert problems_by_field(schema, data) == ({}, [])
    assert check_submission(schema, SUBMISSIONS[name]).ok


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_round_trip_through_the_rendered_form(name: str) -> None:
    schema = load(name)
    data = parsed(name)
    values = form_values(schema, data)
    fields = form_fields(schema, values)
    # The data itself (nested) fills the form the same way as its values by input name.
    assert form_fields(schema, data) == fields
    assert parse_form(schema, browser_post(render(fields))) == (data, {})


def test_what_the_submissions_become() -> None:
    assert parsed("acceptance.schema.json") == {
        "decision": "supplement",
        "reasons": "请补正：\n1. 考评人员名单及其职业资格证明；\n2. 评价场地产权或租赁证明。",
    }
    assert parsed("continuation_review.schema.json") == {"result": "pass"}
    assert parsed("rectification_check.schema.json") == {"result": "pass"}
    assert parsed("objection_review.schema.json")["upheld"] is False
    assert parsed("resubmission.message.schema.json")["received_at"] == "2026-09-30T10:00:00+08:00"
    assert parsed("risk_assessment.schema.json")["wrapup_days"] == 20
    sanction = parsed("sanction_investigation.schema.json")
    assert (sanction["invalid_results"], sanction["rectification_days"]) == (True, 30)
    assert parsed("statement.message.schema.json")["submitted_on"] == "2026-10-15"
    assert parsed("wrapup_done.message.schema.json")["refunds"] == [
        {"candidates": 12, "amount": 9600, "note": "焊工四级"},
        {"candidates": 3, "amount": 2250.5},
    ]


def test_unchecked_box_is_false_and_unknown_names_are_dropped() -> None:
    schema = load("sanction_investigation.schema.json")
    data, problems = parse_form(schema, [
        ("decision", "no_violation"), ("opinion", "未发现违规"), ("typename", "x"), ("opinion[0]", "y"),
        ("__proto__", "z"), ("csrf_token", "t"),
    ])
    assert (data, problems) == ({"decision": "no_violation", "opinion": "未发现违规", "invalid_results": False}, {})


# ---------------------------------------------------------------------------------------------------------
# Kinds, requirements and conditions
# ---------------------------------------------------------------------------------------------------------


def by_name(fields: Sequence[Field]) -> dict[str, Field]:
    return {f.name: f for f in fields}


def test_kinds_of_the_bundled_fields() -> None:
    acceptance = by_name(form_fields(load("acceptance.schema.json")))
    assert acceptance["decision"].kind == "radio"
    assert acceptance["decision"].choices == (("accept", "予以受理"), ("reject", "不予受理"),
                                              ("supplement", "材料不全，一次性告知补正"))
    assert acceptance["reasons"].kind == "textarea"
    assert acceptance["reasons"].constraints == {"maxlength": "4000"}
    objection = by_name(form_fields(load("objection.message.schema.json")))
    assert objection["objector"].kind == "text"  # maxLength 200: one line
    assert objection["objector"].constraints == {"maxlength": "200", "pattern": r".*(?:\S).*", "title": "不能只填空格"}
    review = by_name(form_fields(load("objection_review.schema.json")))
    assert review["upheld"].kind == "radio"
    assert review["upheld"].choices == (("true", "异议成立，不予备案"), ("false", "异议不成立，继续公示"))
    sanction = by_name(form_fields(load("sanction_investigation.schema.json")))
    assert sanction["invalid_results"].kind == "checkbox"
    assert sanction["rectification_days"].kind == "integer"
    assert sanction["rectification_days"].constraints == {"step": "1", "min": "1", "max": "180"}
    assert by_name(form_fields(load("statement.message.schema.json")))["submitted_on"].kind == "date"
    received = by_name(form_fields(load("resubmission.message.schema.json")))["received_at"]
    assert received.kind == "datetime-local"
    assert received.help is not None and "北京时间" in received.help
    refunds = by_name(form_fields(load("wrapup_done.message.schema.json")))["refunds"]
    assert refunds.kind == "group"
    assert [c.name for c in refunds.children[0]] == ["refunds[0][candidates]", "refunds[0][amount]", "refunds[0][note]"]
    assert [c.kind for c in refunds.children[0]] == ["integer", "number", "textarea"]
    assert refunds.children[0][1].constraints == {"step": "any", "min": "0"}


def test_required_and_conditionally_required() -> None:
    acceptance = by_name(form_fields(load("acceptance.schema.json")))
    assert acceptance["decision"].required and acceptance["decision"].condition is None
    assert not acceptance["reasons"].required
    assert acceptance["reasons"].condition == "受理决定为「不予受理」或「材料不全，一次性告知补正」时必填"
    expert = by_name(form_fields(load("expert_review.schema.json")))
    assert expert["opinion"].condition == "专家评估结论为「不通过」时必填"
    sanction = by_name(form_fields(load("sanction_investigation.schema.json")))
    assert sanction["facts"].condition == (
        "核查结论为「尚未构成违纪违规：要求即知即改、立行立改」或「情节轻微：约谈主要负责人」或"
        "「情节严重或一年内再次出现：警告、限期整改、暂停评价」或「特别严重：转入终止备案程序」时必填")
    assert sanction["certificate_data_detail"].condition == "违规上传的证书数据为「撤销其上传的违规证书数据」时必填"
    assert sanction["rectification_days"].condition == (
        "核查结论为「情节严重或一年内再次出现：警告、限期整改、暂停评价」时必填")
    assert sanction["opinion"].required and sanction["opinion"].condition is None
    assert sanction["invalid_results"].condition is None and not sanction["invalid_results"].required


def test_conditions_too_complex_to_say_leave_the_field_optional() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "title": "甲"}, "b": {"type": "string", "title": "乙"}},
        # "a" pinned but not required: the rule also holds when "a" is absent.
        "if": {"properties": {"a": {"const": "x"}}},
        "then": {"required": ["b"]},
    }
    b = by_name(form_fields(schema))["b"]
    assert (b.required, b.condition) == (False, None)
    dependent = {"type": "object", "properties": schema["properties"], "dependentRequired": {"a": ["b"]}}
    assert by_name(form_fields(dependent))["b"].condition == "填写了「甲」时必填"


def test_many_choices_make_a_select_and_enum_titles_are_the_values() -> None:
    schema = {
        "type": "object", "required": ["level"],
        "properties": {
            "level": {"title": "等级", "type": "integer", "enum": [5, 4, 3, 2, 1]},
            "basis": {"title": "依据", "type": "string", "enum": ["standard", "specification"]},
        },
    }
    fields = by_name(form_fields(schema, {"level": 3}))
    assert fields["level"].kind == "select"
    assert fields["level"].choices == (("5", "5"), ("4", "4"), ("3", "3"), ("2", "2"), ("1", "1"))
    assert fields["level"].value == "3"
    assert fields["basis"].kind == "radio"
    assert parse_form(schema, [("level", "2"), ("basis", "standard")]) == ({"level": 2, "basis": "standard"}, {})
    page = lxml_html.fromstring(render(form_fields(schema, {"level": 3})))
    select = page.xpath('//select[@name="level"]')[0]
    assert select.get("required") is not None
    assert [o.get("value") for o in select.findall("option")] == ["", "5", "4", "3", "2", "1"]
    assert select.xpath('option[@selected]/@value') == ["3"]
    assert parse_form(schema, [("level", "9")]) == (
        {}, {"level": "等级：取值「9」不在允许范围内，应为以下之一：「5」、「4」、「3」、「2」、「1」"})


def test_defaults_fill_a_fresh_form_only() -> None:
    schema = {"type": "object", "properties": {"notify": {"title": "通知机构", "type": "boolean", "default": True}}}
    assert form_fields(schema)[0].value == "true"
    # Shown again after a post with the box unchecked: it stays unchecked.
    assert form_fields(schema, submitted_values(schema, []))[0].value == ""


def test_a_list_shows_its_rows_and_one_blank_row() -> None:
    schema = load("wrapup_done.message.schema.json")
    refunds = by_name(form_fields(schema))["refunds"]
    assert (refunds.add_rows, len(refunds.children)) == (1, 1)
    data = parsed("wrapup_done.message.schema.json")
    refunds = by_name(form_fields(schema, data))["refunds"]
    assert (refunds.add_rows, len(refunds.children)) == (3, 3)
    assert [c.value for c in refunds.children[1]] == ["3", "2250.5", ""]
    assert [c.value for c in refunds.children[2]] == ["", "", ""]
    full = {"summary": "完成", "refunds": [{"candidates": 1, "amount": 1}] * 200}
    assert by_name(form_fields(schema, full))["refunds"].add_rows == 200  # maxItems: no blank row beyond it


def test_nested_objects_and_refs() -> None:
    schema = {
        "$defs": {"name": {"title": "姓名", "type": "string", "maxLength": 50}},
        "type": "object",
        "properties": {
            "contact": {
                "title": "联系人", "type": "object", "required": ["name"],
                "properties": {"name": {"$ref": "#/$defs/name"}, "phone": {"title": "电话", "type": "string"}},
            },
            "people": {"title": "人员", "type": "array",
                       "items": {"title": "人员", "type": "object", "properties": {"name": {"$ref": "#/$defs/name"}}}},
        },
    }
    fields = by_name(form_fields(schema, {"contact": {"name": "李四"}}))
    contact = fields["contact"]
    assert contact.kind == "object"
    # The sub-object is optional: its required field is required only once it is filled in.
    assert [(c.name, c.label, c.value, c.required, c.condition) for c in contact.children[0]] == [
        ("contact[name]", "姓名", "李四", False, "填写「联系人」时必填"), ("contact[phone]", "电话", "", False, None)]
    assert lxml_html.fromstring(render(form_fields(schema))).xpath("//*[@required]") == []
    data, problems = parse_form(schema, [("contact[name]", "李四"), ("people[0][name]", "王五")])
    assert (data, problems) == ({"contact": {"name": "李四"}, "people": [{"name": "王五"}]}, {})
    assert parse_form(schema, [("contact[name]", ""), ("contact[phone]", "")]) == ({}, {})
    assert problems_by_field(schema, {"contact": {"phone": "1"}}) == ({"contact[name]": "姓名：缺少必填项"}, [])
    required = schema | {"required": ["contact"]}
    assert by_name(form_fields(required))["contact"].children[0][0].required
    assert parse_form(required, [("contact[name]", "")]) == ({"contact": {}}, {})


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}},
    {"type": "object", "properties": {"rows": {"type": "array", "items": {
        "type": "object", "properties": {"inner": {"type": "array", "items": {"type": "object"}}}}}}},
    {"type": "object", "properties": {"anything": {"title": "任意"}}},
])
def test_shapes_without_a_widget_are_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedFormSchema):
        form_fields(schema)


# ---------------------------------------------------------------------------------------------------------
# Bad values: Chinese messages on the right fields
# ---------------------------------------------------------------------------------------------------------


def test_a_letter_in_an_integer_field() -> None:
    schema = load("risk_assessment.schema.json")
    items = [("opinion", "风险可控"), ("wrapup_days", "20天")]
    data, problems = parse_form(schema, items)
    assert data == {"opinion": "风险可控"}
    assert problems == {"wrapup_days": "收尾期限（工作日）：应为整数，实为「20天」"}
    checked = check_submission(schema, items)
    # The conversion message stays; the schema's "missing" for the same field is not added to it.
    assert checked.field_errors == problems and checked.form_errors == [] and not checked.ok
    # Shown again with what was typed and the message beside it.
    field = by_name(form_fields(schema, checked.values, checked.field_errors))["wrapup_days"]
    assert (field.value, field.error) == ("20天", "收尾期限（工作日）：应为整数，实为「20天」")


def test_out_of_range_integer_and_full_width_digits() -> None:
    schema = load("risk_assessment.schema.json")
    assert parse_form(schema, [("opinion", "可控"), ("wrapup_days", "１２０")]) == (
        {"opinion": "可控", "wrapup_days": 120}, {})
    data, _ = parse_form(schema, [("opinion", "可控"), ("wrapup_days", "121")])
    assert problems_by_field(schema, data) == (
        {"wrapup_days": "收尾期限（工作日）：取值 121 超出范围，应在 1 至 120 之间"}, [])


def test_an_unknown_choice() -> None:
    schema = load("acceptance.schema.json")
    data, problems = parse_form(schema, [("decision", "maybe")])
    assert (data, problems) == ({"decision": "maybe"}, {})
    assert problems_by_field(schema, data) == ({
        "decision": "受理决定：取值「maybe」不在允许范围内，应为以下之一："
                    "accept（予以受理）、reject（不予受理）、supplement（材料不全，一次性告知补正）"
    }, [])
    review = load("objection_review.schema.json")
    assert parse_form(review, [("upheld", "perhaps"), ("opinion", "x")])[1] == {
        "upheld": "异议是否成立：取值「perhaps」不在允许范围内，应为以下之一："
                  "「异议成立，不予备案」、「异议不成立，继续公示」"
    }


@pytest.mark.parametrize("reasons", [None, "", "   \r\n "])
def test_a_missing_conditionally_required_field(reasons: str | None) -> None:
    schema = load("acceptance.schema.json")
    items = [("decision", "reject")] + ([("reasons", reasons)] if reasons is not None else [])
    data, problems = parse_form(schema, items)
    assert (data, problems) == ({"decision": "reject"}, {})
    assert problems_by_field(schema, data) == ({"reasons": "理由或需补正的材料：缺少必填项"}, [])


def test_missing_required_fields() -> None:
    schema = load("automatic_verification.schema.json")
    checked = check_submission(schema, [("csrf_token", "t")])
    assert checked.data == {}
    assert checked.field_errors == {"decision": "核查结论：缺少必填项", "opinion": "书面核查意见：缺少必填项"}
    review = load("objection_review.schema.json")  # a yes/no radio left unanswered is missing, not "false"
    assert check_submission(review, [("opinion", "x")]).field_errors == {"upheld": "异议是否成立：缺少必填项"}


def test_an_over_long_text() -> None:
    schema = load("statement_review.schema.json")
    data, problems = parse_form(schema, [("decision", "revoke"), ("opinion", "理" * 4001)])
    assert problems == {}
    assert problems_by_field(schema, data) == ({"opinion": "复核意见：最多 4000 个字符，实为 4001 个"}, [])


@pytest.mark.parametrize("written", ["2026-02-30", "明天", "2026/10/15", "15-10-2026"])
def test_an_invalid_date(written: str) -> None:
    schema = load("statement.message.schema.json")
    data, problems = parse_form(schema, [("text", "意见"), ("submitted_on", written)])
    assert data == {"text": "意见"}
    assert problems == {"submitted_on": f"提交日期：不是有效的日期（「{written}」），应为 年-月-日，如 2026-10-15"}


@pytest.mark.parametrize("written", ["2026-09-31T10:00", "2026-09-30T25:00", "下午三点", "2026-09-30"])
def test_an_invalid_date_time(written: str) -> None:
    schema = load("resubmission.message.schema.json")
    assert parse_form(schema, [("received_at", written)]) == ({}, {
        "received_at": f"收到补正材料时间：不是有效的日期时间（「{written}」），"
                       "应为 年-月-日 时:分，如 2026-09-30 10:00"})


def test_date_times_are_beijing_time_with_their_offset() -> None:
    schema = load("resubmission.message.schema.json")
    for written, stored in [("2026-09-30T10:00", "2026-09-30T10:00:00+08:00"),
                            ("2026-09-30 10:00:05", "2026-09-30T10:00:05+08:00"),
                            ("2026-09-30T02:00:00Z", "2026-09-30T02:00:00+00:00")]:
        assert parse_form(schema, [("received_at", written)]) == ({"received_at": stored}, {})
    assert form_values(schema, {"received_at": "2026-09-30T02:00:00Z"}) == {"received_at": "2026-09-30T10:00"}
    assert form_values(schema, {"received_at": "2026-09-30T10:00:05+08:00"}) == {"received_at": "2026-09-30T10:00:05"}


def test_bad_values_in_list_rows_name_the_renumbered_row() -> None:
    schema = load("wrapup_done.message.schema.json")
    items = [
        ("summary", "完成"),
        ("refunds[0][candidates]", ""), ("refunds[0][amount]", " "), ("refunds[0][note]", ""),  # blank: dropped
        ("refunds[3][candidates]", "2"), ("refunds[3][amount]", "十元"),
        ("refunds[7][candidates]", "-1"), ("refunds[7][amount]", "30"),
        ("refunds[9][note]", "只写了说明"),
    ]
    checked = check_submission(schema, items)
    assert checked.data == {"summary": "完成", "refunds": [
        {"candidates": 2}, {"candidates": -1, "amount": 30}, {"note": "只写了说明"}]}
    assert checked.field_errors == {
        "refunds[0][amount]": "退费第1项·退费金额（元）：应为数字，实为「十元」",
        "refunds[1][candidates]": "退费第2项·退费考生人数：取值 -1 超出范围，应不小于 0",
        "refunds[2][candidates]": "退费第3项·退费考生人数：缺少必填项",
        "refunds[2][amount]": "退费第3项·退费金额（元）：缺少必填项",
    }
    assert checked.values == {
        "summary": "完成", "refunds[0][candidates]": "2", "refunds[0][amount]": "十元",
        "refunds[1][candidates]": "-1", "refunds[1][amount]": "30", "refunds[2][note]": "只写了说明"}
    refunds = by_name(form_fields(schema, checked.values, checked.field_errors))["refunds"]
    assert refunds.add_rows == 4
    assert refunds.children[0][1].error == "退费第1项·退费金额（元）：应为数字，实为「十元」"
    assert refunds.children[0][1].value == "十元"


@pytest.mark.parametrize(("written", "number"), [("9600", 9600), ("12.50", 12.5), ("1e3", 1000.0), ("０.５", 0.5)])
def test_numbers(written: str, number: float) -> None:
    schema = load("wrapup_done.message.schema.json")
    data, problems = parse_form(schema, [("summary", "s"), ("refunds[0][candidates]", "1"),
                                         ("refunds[0][amount]", written)])
    assert problems == {}
    assert data["refunds"][0]["amount"] == number
    assert type(data["refunds"][0]["amount"]) is type(number)


@pytest.mark.parametrize("written", ["nan", "inf", "1e999", "1,000", "12.5元"])
def test_not_numbers(written: str) -> None:
    schema = load("wrapup_done.message.schema.json")
    _, problems = parse_form(schema, [("summary", "s"), ("refunds[0][amount]", written)])
    assert problems == {"refunds[0][amount]": f"退费第1项·退费金额（元）：应为数字，实为「{written}」"}


def test_messages_about_no_field_are_form_level_and_nothing_is_lost() -> None:
    schema = load("sanction_investigation.schema.json")
    data = {"decision": "warning", "opinion": "", "invalid_results": "yes", "typename": "x"}
    by_field, general = problems_by_field(schema, data)
    assert general == ["表单：不允许的字段「typename」（系统保留字段名）"]
    assert by_field == {
        "facts": "违规事实：缺少必填项",
        "invalid_results": "是否给予评价结果无效处理：类型错误，应为是/否（true 或 false），实为文本",
        "opinion": "书面核查意见：不能为空",
        "rectification_days": "整改期限（工作日）：缺少必填项",
    }
    assert len(by_field) + len(general) == len(schema_problems(schema, data))
    assert problems_by_field(schema, ["not", "an", "object"]) == ({}, ["表单：类型错误，应为对象，实为列表"])


@pytest.mark.parametrize(("name", "data"), [
    ("sanction_investigation.schema.json", {"decision": "warning", "opinion": " ", "invalid_results": "yes",
                                            "rectification_days": 0, "typename": 1}),
    ("wrapup_done.message.schema.json", {"refunds": [{"candidates": -1, "amount": "x"}, {"note": "n" * 1001}, 5]}),
    ("acceptance.schema.json", {"decision": "reject", "reasons": ""}),
    ("objection_review.schema.json", {"upheld": "true"}),
    ("statement.message.schema.json", {"text": 5, "submitted_on": "15/10/2026"}),
])
def test_placed_messages_are_exactly_those_of_schema_problems(name: str, data: dict[str, Any]) -> None:
    # problems_by_field reuses tasks.forms' private pieces to keep each error's path: this guards against drift.
    from tasks.forms import located_problems as _located_problems

    schema = load(name)
    assert [message for _, message in _located_problems(schema, data)] == schema_problems(schema, data)
    by_field, general = problems_by_field(schema, data)
    assert sum(len(m.split("；")) for m in by_field.values()) + len(general) == len(schema_problems(schema, data))


def test_add_row_button_is_reported() -> None:
    schema = load("wrapup_done.message.schema.json")
    checked = check_submission(schema, [("summary", "s"), (ADD_ROW_FIELD, "refunds")])
    assert checked.adding_row == "refunds"
    assert check_submission(schema, [("summary", "s")]).adding_row is None


# ---------------------------------------------------------------------------------------------------------
# The HTML
# ---------------------------------------------------------------------------------------------------------


def test_html_required_only_for_unconditionally_required_fields() -> None:
    # As a Sichuan case offers it: the region's three measures (tasks/form_choices.py).
    schema = form_choices.for_case(load("sanction_investigation.schema.json"), "510000",
                                   {"institution": {"type": "employer"}})
    page = lxml_html.fromstring(render(form_fields(schema)))
    required = {e.get("name") for e in page.xpath("//*[@required]")}
    assert required == {"decision", "opinion"}
    assert len(page.xpath('//input[@name="decision"][@required]')) == 3
    assert page.xpath('//label[@for="f-facts"]/span[@class="field-conditional"]/text()') == ["（条件必填）"]
    assert page.xpath('//p[@id="f-facts-condition"]/text()') == [
        "核查结论为「情节轻微：约谈主要负责人」或「情节严重或一年内再次出现：警告、限期整改、暂停评价」时必填"]
    assert page.xpath('//textarea[@name="facts"]/@aria-describedby') == ["f-facts-help f-facts-condition"]
    checkbox = page.xpath('//input[@name="invalid_results"]')[0]
    assert (checkbox.get("type"), checkbox.get("value"), checkbox.get("checked")) == ("checkbox", "true", None)
    days = page.xpath('//input[@name="rectification_days"]')[0]
    assert {k: days.get(k) for k in ("type", "min", "max", "step")} == {"type": "number", "min": "1", "max": "180",
                                                                         "step": "1"}


def test_html_radio_group_is_a_fieldset_with_legend() -> None:
    data = {"decision": "reject", "reasons": "不属于本机关备案范围"}
    page = lxml_html.fromstring(render(form_fields(load("acceptance.schema.json"), data)))
    fieldset = page.xpath('//fieldset[.//input[@name="decision"]]')[0]
    assert fieldset.xpath("legend/text()") == ["受理决定"]
    radios = fieldset.xpath('.//input[@type="radio"]')
    assert [r.get("value") for r in radios] == ["accept", "reject", "supplement"]
    assert [r.get("value") for r in radios if r.get("checked") is not None] == ["reject"]
    assert [page.xpath(f'//label[@for="{r.get("id")}"]/text()')[0] for r in radios] == [
        "予以受理", "不予受理", "材料不全，一次性告知补正"]
    assert page.xpath('//textarea[@name="reasons"]/text()') == ["不属于本机关备案范围"]


def test_html_optional_radio_can_be_left_unchosen() -> None:
    schema = {"type": "object", "properties": {"kind": {"title": "类别", "type": "string", "enum": ["a", "b"]}}}
    page = lxml_html.fromstring(render(form_fields(schema)))
    assert page.xpath('//input[@name="kind"]/@value') == ["a", "b", ""]
    assert page.xpath('//input[@name="kind"][@checked]/@value') == [""]
    assert page.xpath('//input[@name="kind"][@required]') == []
    assert parse_form(schema, browser_post(lxml_html.tostring(page, encoding="unicode"))) == ({}, {})


def test_html_errors_sit_beside_their_fields() -> None:
    schema = load("risk_assessment.schema.json")
    checked = check_submission(schema, [("opinion", ""), ("wrapup_days", "abc")])
    page = lxml_html.fromstring(render(form_fields(schema, checked.values, checked.field_errors)))
    days = page.xpath('//input[@name="wrapup_days"]')[0]
    assert days.get("value") == "abc" and days.get("aria-invalid") == "true"
    assert days.get("aria-describedby") == "f-wrapup_days-help f-wrapup_days-error"
    error = days.getnext()
    assert (error.tag, error.get("class"), error.get("id")) == ("p", "field-error", "f-wrapup_days-error")
    assert error.text == "收尾期限（工作日）：应为整数，实为「abc」"
    opinion_error = page.xpath('//textarea[@name="opinion"]')[0].getnext()
    assert (opinion_error.get("class"), opinion_error.text) == ("field-error", "风险评估意见：缺少必填项")
    assert "has-error" in days.getparent().get("class")


def test_html_group_is_a_table_with_a_row_per_item() -> None:
    schema = load("wrapup_done.message.schema.json")
    checked = check_submission(schema, SUBMISSIONS["wrapup_done.message.schema.json"]
                               + [("refunds[4][candidates]", "x"), ("refunds[4][amount]", "1")])
    page = lxml_html.fromstring(render(form_fields(schema, checked.values, checked.field_errors), add_row_button=True))
    table = page.xpath('//fieldset[legend[starts-with(., "退费情况")]]/table')[0]
    assert table.xpath("thead/tr/th/text()")[:4] == ["序号", "退费考生人数", "退费金额（元）", "说明"]
    rows = table.xpath("tbody/tr")
    assert [r.xpath("th/text()")[0] for r in rows] == ["第1项", "第2项", "第3项", "第4项"]
    assert rows[0].xpath(".//input/@value") == ["12", "9600"]
    assert rows[3].xpath(".//input/@value") == ["", ""]
    cell = rows[2].xpath('.//input[@name="refunds[2][candidates]"]')[0]
    assert cell.get("aria-labelledby") == "f-refunds-row-3 f-refunds-col-1"
    assert cell.get("aria-describedby") == "f-refunds-2-candidates-error"
    assert cell.getnext().text == "退费第3项·退费考生人数：应为整数，实为「x」"
    assert table.xpath(".//*[@required]") == []  # a blank row must not block the submission
    button = page.xpath(f'//button[@name="{ADD_ROW_FIELD}"]')[0]
    assert (button.get("value"), button.text, button.get("formnovalidate")) == ("refunds", "添加一行", "")
    assert "添加一行" not in render(form_fields(schema))


@pytest.mark.parametrize("autoescape", [True, False])
def test_html_escapes_what_was_typed(autoescape: bool) -> None:
    schema = load("acceptance.schema.json")
    typed = '"><script>alert(1)</script>'
    page = render(form_fields(schema, {"decision": "reject", "reasons": typed}, {"reasons": typed}),
                  autoescape=autoescape)
    assert "<script>" not in page
    document = lxml_html.fromstring(page)
    assert document.xpath('//textarea[@name="reasons"]/text()') == [typed]
    assert document.xpath('//p[@class="field-error"]/text()') == [typed]


# ---------------------------------------------------------------------------------------------------------
# Patterns for the browser
# ---------------------------------------------------------------------------------------------------------

PATTERNS = {
    "^[0-9]{6}$": ("[0-9]{6}", ["510104"], ["51010", "5101045", "abcdef"]),
    r"\S": (r".*(?:\S).*", ["a", " a "], ["   "]),
    "^[0-9()（）+\\- ]{5,30}$": ("[0-9\\(\\)（）+\\- ]{5,30}", ["(028)86112339", "028-86112339-8001"], ["abc12345"]),
    "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$": ("[^@\\s]+@[^@\\s]+\\.[^@\\s]+", ["name@example.com"], ["name@", "a b@c.d"]),
    "^[0-9]{8}": ("(?:[0-9]{8}).*", ["12345678-x"], ["1234567"]),
    "[-a-z]$": (".*(?:[\\-a-z])", ["9-", "9a"], ["a9"]),
}


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_html_pattern_matches_what_the_schema_accepts(pattern: str) -> None:
    converted, good, bad = PATTERNS[pattern]
    assert html_pattern_of(pattern) == converted
    for text in good + bad:
        # What the browser does with the attribute: the whole value must match.
        assert bool(re.fullmatch(converted, text)) is bool(re.search(pattern, text)) is (text in good)


def test_untranslatable_patterns_are_left_to_the_server() -> None:
    assert html_pattern_of("^a|b$") is None
    assert html_pattern_of("[a&&b]") is None
    assert html_pattern_of("(?P<x>a)") is None


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to compile patterns as a browser does")
def test_html_patterns_compile_with_the_v_flag_as_browsers_do() -> None:
    cases = [{"pattern": PATTERNS[p][0], "good": PATTERNS[p][1], "bad": PATTERNS[p][2]} for p in PATTERNS]
    script = (
        "const cases = JSON.parse(process.argv[1]);"
        "const out = cases.map(c => { const r = new RegExp('^(?:' + c.pattern + ')$', 'v');"
        " return c.good.every(t => r.test(t)) && !c.bad.some(t => r.test(t)); });"
        "console.log(JSON.stringify(out));"
    )
    result = subprocess.run(["node", "-e", script, json.dumps(cases)], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == [True] * len(cases)


def test_a_list_chosen_from_choices_is_a_set_of_checkboxes_read_back_as_a_list() -> None:
    schema = json.loads((FORMS / "acceptance.schema.json").read_text(encoding="utf-8"))
    (items,) = [f for f in form_fields(schema) if f.name == "missing_items"]
    assert items.kind == "checkboxes" and ("work_plan", "工作方案") in items.choices and items.checked == ()
    page = render(form_fields(schema))
    assert page.count('name="missing_items"') == len(items.choices)
    posted = [("decision", "supplement"), ("missing_items", "work_plan"), ("missing_items", "question_bank"),
              ("missing_items", "work_plan"), ("reasons", "方案缺考评人员安排")]
    checked = check_submission(schema, posted)
    assert checked.ok and checked.data["missing_items"] == ["work_plan", "question_bank"]  # each once, in order
    # Kept as one text in a draft (one value per line) and shown checked again from it or from the data.
    assert submitted_values(schema, posted)["missing_items"] == "work_plan\nquestion_bank"
    for values in ({"missing_items": "work_plan\nquestion_bank"}, {"missing_items": ["work_plan", "question_bank"]}):
        (again,) = [f for f in form_fields(schema, values) if f.name == "missing_items"]
        assert again.checked == ("work_plan", "question_bank")
    wrong = check_submission(schema, [("decision", "supplement"), ("missing_items", "fee_schedule"),
                                      ("reasons", "x")])
    assert not wrong.ok and "需补正的材料" in wrong.field_errors["missing_items"]
    none = check_submission(schema, [("decision", "accept")])
    assert none.ok and "missing_items" not in none.data
