"""The intake clerk's paper-application form: fields, the posted form back to an application, messages by field."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from lxml import html as lxml_html

from adapters.entrypoints.web.filters import actor_name, cn_date, cn_datetime, cn_due, role_label
from adapters.entrypoints.web.forms import Field
from adapters.entrypoints.web.forms.application import (
    ADD_ROW_FIELD,
    BLANK_ROWS,
    RECEIVED_AT_FIELD,
    RecordsField,
    Section,
    adding_row,
    application_fields,
    posted_values,
    read_application,
    read_received_at,
)
from adapters.entrypoints.web.forms.material_files import file_section
from tasks.access import Caseworker
from tasks.application import validate_application
from tasks.calendar import SHANGHAI
from tests.support.forms import browser_post as webforms_browser_post
from tests.support.forms import flattened

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "adapters" / "entrypoints" / "web" / "templates"
EXAMPLE_PATH = ROOT / "examples" / "application.json"
TODAY = date(2026, 10, 15)
NOW = datetime(2026, 10, 15, 14, 30, tzinfo=SHANGHAI)
CLERK = Caseworker(username="intake1", display_name="受理员甲", roles=("intake",), region="510100")


@pytest.fixture()
def example() -> dict[str, Any]:
    return json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))


def with_values(pairs: Sequence[tuple[str, str]], values: dict[str, str]) -> list[tuple[str, str]]:
    """``pairs`` with the values of some inputs replaced (the inputs must be there)."""
    names = {name for name, _ in pairs}
    assert set(values) <= names, set(values) - names
    return [(name, values.get(name, value)) for name, value in pairs]


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined)
    # The app's own filters, as create_app registers them, so base.html renders as in production.
    env.filters.update(cn_date=cn_date, cn_datetime=cn_datetime, cn_due=cn_due, role_label=role_label,
                       actor_name=actor_name)
    return env


def render_page(sections: list[Section], form_errors: Sequence[str] = ()) -> str:
    return environment().get_template("application_form.html").render(
        sections=sections, form_errors=list(form_errors), files=file_section(), files_again=False, user=CLERK,
        csrf_token="t0k-csrf", request=None)


def browser_post(page: str) -> list[tuple[str, str]]:
    return webforms_browser_post(page, "//form[@action='/applications/new']")


def all_fields(sections: list[Section]) -> dict[str, Field]:
    found: dict[str, Field] = {}

    def walk(fields: Sequence[Field]) -> None:
        for f in fields:
            found[f.name] = f
            for row in f.children:
                walk(row)

    for section in sections:
        walk(section.fields)
    return found


# ---------------------------------------------------------------------------------------------------------
# The example, through the form
# ---------------------------------------------------------------------------------------------------------


def test_the_example_as_a_browser_posts_it_reads_back_to_the_example(example: dict[str, Any]) -> None:
    application, field_errors, form_errors = read_application(flattened(example))
    assert (field_errors, form_errors) == ({}, [])
    assert application == validate_application(example)
    assert list(application) == [key for key in example]  # the schema's order, as it is stored


def test_the_example_fills_the_form_and_the_rendered_page_posts_it_back(example: dict[str, Any]) -> None:
    page = render_page(application_fields(example, today=TODAY))
    application, field_errors, form_errors = read_application(browser_post(page))
    assert (field_errors, form_errors) == ({}, [])
    assert application == validate_application(example)


def test_what_was_typed_fills_the_form_like_the_application_itself(example: dict[str, Any]) -> None:
    typed = posted_values(flattened(example))
    assert typed["occupations[1][levels]"] == ["5", "4", "3", "2"]
    assert typed["sites[0][equipment][2][quantity]"] == "1"
    assert typed[RECEIVED_AT_FIELD] == "2026-10-15"
    assert application_fields(typed, today=TODAY) == application_fields(example | {RECEIVED_AT_FIELD: "2026-10-15"},
                                                                         today=TODAY)


def test_credit_code_is_normalised_as_at_every_other_way_in(example: dict[str, Any]) -> None:
    pairs = with_values(flattened(example), {"institution[credit_code]": " 91510104ma6c8h2k5n "})
    application, field_errors, _ = read_application(pairs)
    assert field_errors == {}
    assert application["institution"]["credit_code"] == "91510104MA6C8H2K5N"


# ---------------------------------------------------------------------------------------------------------
# Blank rows
# ---------------------------------------------------------------------------------------------------------


def test_blank_rows_are_dropped_and_the_rest_renumbered(example: dict[str, Any]) -> None:
    pairs = flattened(example)
    # A blank item posted before the filled ones, as if the clerk had emptied the first item.
    shifted = [(re.sub(r"^(occupations|sites|experts)\[(\d+)\]",
                       lambda m: f"{m.group(1)}[{int(m.group(2)) + 1}]", name), value) for name, value in pairs]
    shifted += [("occupations[0][code]", " "), ("occupations[0][name]", ""), ("occupations[0][basis]", ""),
                ("sites[0][name]", ""), ("sites[0][ownership]", ""), ("sites[0][equipment][0][name]", ""),
                ("experts[0][name]", ""), ("experts[0][specialty]", "")]
    application, field_errors, form_errors = read_application(shifted)
    assert (field_errors, form_errors) == ({}, [])
    assert application == validate_application(example)
    typed = posted_values(shifted)
    assert typed["occupations[0][code]"] == "6-18-01-01"
    assert typed["sites[0][equipment][0][name]"] == "普通车床"
    assert not any(name.startswith("occupations[2]") for name in typed)


def test_a_blank_optional_list_is_left_out_and_a_blank_required_one_is_reported(example: dict[str, Any]) -> None:
    data = {key: value for key, value in example.items() if key not in ("experts", "sites", "quality_supervisors")}
    data["occupations"] = []
    data["assessors"] = []
    application, field_errors, form_errors = read_application(flattened(data))
    assert "experts" not in application and "sites" not in application
    assert application["occupations"] == [] and application["assessors"] == []
    assert form_errors == []
    assert field_errors == {"occupations": "申请认定的职业（工种）：至少需要 1 项，实有 0 项"}


def test_an_item_with_only_its_levels_ticked_is_not_blank(example: dict[str, Any]) -> None:
    pairs = flattened(example) + [("occupations[2][levels]", "5")]
    application, field_errors, _ = read_application(pairs)
    assert len(application["occupations"]) == 3
    assert field_errors["occupations[2][code]"] == "职业（工种）第3项·职业编码：缺少必填项"
    assert field_errors["occupations[2][name]"] == "职业（工种）第3项·职业（工种）名称：缺少必填项"


# ---------------------------------------------------------------------------------------------------------
# Messages beside their fields
# ---------------------------------------------------------------------------------------------------------


def test_wrong_values_are_said_in_chinese_beside_their_fields(example: dict[str, Any]) -> None:
    pairs = with_values(flattened(example), {
        "institution[credit_code]": "91510104MA6C8H2K5X",
        "institution[name]": "",
        "region": "990104",
    }) + [("occupations[0][levels]", "7")]
    application, field_errors, form_errors = read_application(pairs)
    assert form_errors == []
    assert field_errors == {
        "institution[credit_code]": "统一社会信用代码：校验码错误，应为 N，实为 X",
        "institution[name]": "机构名称：缺少必填项",
        "region": "所在行政区划代码：「990104」的前两位 99 不是省级行政区划代码",
        "occupations[0][levels]": "职业（工种）第1项·等级第1项：取值 7 超出范围，应在 1 至 5 之间",
    }
    assert application["occupations"][0]["levels"] == [7, 5, 4, 3]  # read, not filed


def test_a_new_application_needs_the_legal_representatives_identity_number(example: dict[str, Any]) -> None:
    name = "institution[legal_representative_id_number]"
    blank = with_values(flattened(example), {name: ""})
    _, field_errors, _ = read_application(blank, new=True)
    assert field_errors == {name: "法定代表人身份证件号码：缺少必填项"}
    # A resubmission of a case received before the number was asked for may leave it out.
    assert read_application(blank)[1] == {}
    _, field_errors, _ = read_application(with_values(flattened(example), {name: "510104197203151237"}))
    assert field_errors == {name: "法定代表人身份证件号码：校验码错误：第 18 位应为 2，实为 7（请逐位核对号码）"}
    # The intake form marks it required; the resubmission form does not.
    required = set(lxml_html.fromstring(render_page(application_fields(today=TODAY, new=True))).xpath(
        "//*[@required]/@name"))
    assert {name, "institution[legal_representative]"} <= required
    assert name not in set(lxml_html.fromstring(render_page(application_fields(today=TODAY))).xpath(
        "//*[@required]/@name"))


def test_a_level_that_is_no_number_is_reported_and_a_repeated_one_is_named(example: dict[str, Any]) -> None:
    pairs = flattened(example) + [("occupations[0][levels]", "五"), ("occupations[1][levels]", "4")]
    _, field_errors, _ = read_application(pairs)
    assert field_errors == {
        "occupations[0][levels]": "职业（工种）第1项·等级：应为整数，实为「五」",
        "occupations[1][levels]": "职业（工种）第2项·等级：存在重复项（4）",
    }


def test_an_occupation_without_levels_is_told_so(example: dict[str, Any]) -> None:
    pairs = [(name, value) for name, value in flattened(example) if name != "occupations[1][levels]"]
    _, field_errors, _ = read_application(pairs)
    assert field_errors == {"occupations[1][levels]": "职业（工种）第2项·等级：缺少必填项"}


def test_a_value_that_cannot_be_converted_is_an_error_even_if_the_rest_is_valid(example: dict[str, Any]) -> None:
    pairs = with_values(flattened(example), {"sites[0][area_m2]": "一千二", "sites[0][equipment][1][quantity]": "x"})
    application, field_errors, _ = read_application(pairs)
    assert field_errors == {
        "sites[0][area_m2]": "场地第1项·面积（平方米）：应为数字，实为「一千二」",
        "sites[0][equipment][1][quantity]": "场地第1项·设施设备第2项·数量：应为整数，实为「x」",  # not also 缺少必填项
    }
    assert "area_m2" not in application["sites"][0]


def test_rules_beyond_the_schema_name_places_by_their_titles(example: dict[str, Any]) -> None:
    pairs = with_values(flattened(example), {"occupations[1][code]": "6-18-01-01", "assessors[4][name]": "赵明",
                                             "assessors[4][occupation]": "6-18-01-01"})
    pairs = with_values(pairs, {"assessors[3][occupation]": "6-18-01-01"})
    _, field_errors, form_errors = read_application(pairs)
    assert form_errors == []
    assert field_errors["occupations[1][code]"] == (
        "职业（工种）第2项·职业编码：职业编码 6-18-01-01 与职业（工种）第1项重复")
    # A message about a whole row goes to its list.
    assert field_errors["assessors"] == (
        "考评人员第5项：与考评人员第4项（赵明）重复，同一职业下有同名考评人员且未填身份证号，无法区分；如为不同人员，请填写身份证号")
    assert not any(re.search(r"[a-z_]+\[\d+\]", message) for message in field_errors.values())


def test_the_bad_values_are_shown_again_with_their_messages(example: dict[str, Any]) -> None:
    pairs = with_values(flattened(example), {"region": "990104", "sites[0][area_m2]": "一千二"})
    _, field_errors, _ = read_application(pairs)
    page = render_page(application_fields(posted_values(pairs), field_errors, today=TODAY), ["另有一条总体问题"])
    document = lxml_html.fromstring(page)
    assert document.get_element_by_id("f-region").get("value") == "990104"
    assert document.get_element_by_id("f-sites-0-area_m2").get("value") == "一千二"
    assert document.get_element_by_id("f-sites-0-area_m2").get("aria-invalid") == "true"
    assert document.get_element_by_id("f-region-error").text == field_errors["region"]
    summary = document.xpath("//div[@role='alert']//li")
    assert [li.text_content() for li in summary] == ["另有一条总体问题", field_errors["region"],
                                                     field_errors["sites[0][area_m2]"]]
    assert document.xpath("//div[@role='alert']//a/@href") == ["#f-region", "#f-sites-0-area_m2"]
    assert read_application(browser_post(page))[1] == field_errors


def test_a_list_level_message_is_shown_in_its_fieldset(example: dict[str, Any]) -> None:
    data = copy.deepcopy(example)
    data["occupations"] = []
    pairs = flattened(data)
    _, field_errors, _ = read_application(pairs)
    document = lxml_html.fromstring(render_page(application_fields(posted_values(pairs), field_errors,
                                                                   today=TODAY)))
    records = document.get_element_by_id("f-occupations")
    assert records.xpath(".//p[@class='field-error']")[0].text == "申请认定的职业（工种）：至少需要 1 项，实有 0 项"


# ---------------------------------------------------------------------------------------------------------
# The fresh form
# ---------------------------------------------------------------------------------------------------------


def test_the_fresh_form_has_its_sections_and_blank_rows() -> None:
    sections = application_fields(today=TODAY)
    assert [s.title for s in sections] == ["收件信息", "机构信息", "所在地区与备案层级", "申报职业", "评价人员",
                                           "场地与设施设备", "材料清单"]
    fields = all_fields(sections)
    occupations = fields["occupations"]
    assert isinstance(occupations, RecordsField) and occupations.kind == "records"
    assert len(occupations.children) == BLANK_ROWS["occupations"] == 3
    assert len(fields["assessors"].children) == BLANK_ROWS["assessors"]
    assert len(fields["sites"].children) == BLANK_ROWS["sites"]
    # A blank item is allowed, so what an item needs is said once for the list, not as required inputs.
    assert occupations.item_required == ("职业编码", "职业（工种）名称", "等级", "评价依据")
    assert isinstance(fields["sites"], RecordsField) and fields["sites"].item_required == ("场地名称", "场地地址")
    assert not any(f.required for row in occupations.children + fields["sites"].children for f in row)
    assert len(fields["sites[1][equipment]"].children) == BLANK_ROWS["equipment"]
    assert len(fields["materials"].children) == BLANK_ROWS["materials"]
    assert fields["assessors[8][occupation]"].value == ""
    levels = fields["occupations[2][levels]"]
    assert levels.kind == "checkboxes" and levels.checked == ()
    assert levels.choices == (("5", "五级/初级工"), ("4", "四级/中级工"), ("3", "三级/高级工"), ("2", "二级/技师"),
                              ("1", "一级/高级技师"))
    received = fields[RECEIVED_AT_FIELD]
    assert (received.kind, received.value, received.constraints["max"], received.required) == (
        "date", "2026-10-15", "2026-10-15", True)


def test_the_page_renders_every_input_labelled_and_nothing_in_a_list_required() -> None:
    page = render_page(application_fields(today=TODAY))
    document = lxml_html.fromstring(page)
    assert "受理员甲" in page  # base.html's header, for the signed-in clerk
    assert document.xpath("//form[@action='/applications/new']//input[@name='csrf_token']/@value") == ["t0k-csrf"]
    ids = document.xpath("//@id")
    assert len(ids) == len(set(ids))
    for control in document.iter("input", "select", "textarea"):
        if control.get("type") == "hidden":
            continue
        labelled_by = control.get("aria-labelledby")
        if labelled_by:
            assert set(labelled_by.split()) <= set(ids)
        else:
            assert document.xpath(f'//label[@for="{control.get("id")}"]'), control.get("name")
        assert set((control.get("aria-describedby") or "").split()) <= set(ids)
    required = set(document.xpath("//*[@required]/@name"))
    assert required == {RECEIVED_AT_FIELD, "institution[name]", "institution[credit_code]", "institution[type]",
                        "region", "authority_level"}
    assert document.xpath("//input[@name='received_at']/@type") == ["date"]
    assert len(document.xpath("//input[@type='checkbox'][@name='occupations[1][levels]']")) == 5
    assert document.xpath("//label[@for='f-occupations-0-levels-1']/text()") == ["一级/高级技师"]
    assert document.get_element_by_id("f-occupations-rule").text_content() == (
        "每项填写一个职业（工种），整项留空的不会提交。填写某项时，其职业编码、职业（工种）名称、等级、评价依据必填。")
    assert document.xpath("//fieldset[@id='f-occupations']/fieldset/legend/text()") == [
        "职业（工种）第1项", "职业（工种）第2项", "职业（工种）第3项"]
    assert document.xpath("//input[@name='sites[1][equipment][2][quantity]']/@type") == ["number"]
    add_buttons = document.xpath(f"//button[@name='{ADD_ROW_FIELD}']/@value")
    assert {"occupations", "assessors", "quality_supervisors", "experts", "sites", "sites[0][equipment]",
            "sites[1][equipment]", "materials"} == set(add_buttons)


def test_a_fresh_form_posts_nothing_but_the_received_date() -> None:
    pairs = browser_post(render_page(application_fields(today=TODAY)))
    assert [(name, value) for name, value in pairs if value.strip()] == [("csrf_token", "t0k-csrf"),
                                                                         (RECEIVED_AT_FIELD, "2026-10-15")]
    application, field_errors, _ = read_application(pairs)
    assert application["occupations"] == []
    assert field_errors["institution[name]"] == "机构名称：缺少必填项"
    assert field_errors["occupations"] == "申请认定的职业（工种）：至少需要 1 项，实有 0 项"


# ---------------------------------------------------------------------------------------------------------
# Adding a row
# ---------------------------------------------------------------------------------------------------------


def test_the_add_row_button_adds_one_row_to_its_list(example: dict[str, Any]) -> None:
    pairs = flattened(example)
    assert adding_row(pairs) is None
    assert adding_row(pairs + [(ADD_ROW_FIELD, "assessors")]) == "assessors"
    assert adding_row(pairs + [(ADD_ROW_FIELD, "institution")]) is None
    assert adding_row(pairs + [(ADD_ROW_FIELD, "sites[7][equipment]")]) is None  # no such site
    fields = all_fields(application_fields(posted_values(pairs), add_row="assessors", today=TODAY))
    assert len(fields["assessors"].children) == BLANK_ROWS["assessors"] + 1
    assert fields["assessors[9][name]"].value == "" and fields["assessors[5][name]"].value == "周凯"
    fields = all_fields(application_fields(posted_values(pairs), add_row="occupations", today=TODAY))
    assert len(fields["occupations"].children) == 4


def test_adding_equipment_follows_its_site_when_a_blank_site_before_it_is_dropped(example: dict[str, Any]) -> None:
    pairs = [(re.sub(r"^sites\[0\]", "sites[1]", name), value) for name, value in flattened(example)]
    pairs += [("sites[0][name]", ""), (ADD_ROW_FIELD, "sites[1][equipment]")]
    assert adding_row(pairs) == "sites[0][equipment]"
    fields = all_fields(application_fields(posted_values(pairs), add_row=adding_row(pairs), today=TODAY))
    assert len(fields["sites[0][equipment]"].children) == 5  # three filled, the usual blank one, the added one
    assert fields["sites[0][equipment][0][name]"].value == "普通车床"


# ---------------------------------------------------------------------------------------------------------
# The received date
# ---------------------------------------------------------------------------------------------------------


def test_received_today_is_now_and_an_earlier_day_is_nine_in_the_morning() -> None:
    assert read_received_at([(RECEIVED_AT_FIELD, "2026-10-15")], NOW) == (NOW, None)
    assert read_received_at([(RECEIVED_AT_FIELD, "2026-10-09")], NOW) == (
        datetime(2026, 10, 9, 9, tzinfo=SHANGHAI), None)
    # Today in Beijing, although it is still the day before in UTC.
    early = datetime(2026, 10, 15, 7, 30, tzinfo=SHANGHAI)
    assert read_received_at([(RECEIVED_AT_FIELD, "2026-10-15")], early) == (early, None)


@pytest.mark.parametrize(("typed", "message"), [
    ("", "收件日期：不能为空"),
    ("2026-02-30", "收件日期：不是有效的日期（「2026-02-30」），应为 年-月-日，如 2026-10-15"),
    ("15/10/2026", "收件日期：不是有效的日期（「15/10/2026」），应为 年-月-日，如 2026-10-15"),
    ("2026-10-16", "收件日期：2026年10月16日晚于今天（2026年10月15日），收件日期不能是将来的日期"),
    ("2025-10-01", "收件日期：2025年10月1日早于一年前，请核对年份"),
])
def test_a_wrong_received_date_is_refused(typed: str, message: str) -> None:
    assert read_received_at([("csrf_token", "x"), (RECEIVED_AT_FIELD, typed)], NOW) == (None, message)


def test_the_received_date_stays_as_typed_when_the_form_is_shown_again() -> None:
    fields = all_fields(application_fields({RECEIVED_AT_FIELD: ""}, {RECEIVED_AT_FIELD: "收件日期：不能为空"},
                                           today=TODAY))
    assert (fields[RECEIVED_AT_FIELD].value, fields[RECEIVED_AT_FIELD].error) == ("", "收件日期：不能为空")
    assert read_received_at([], NOW) == (None, "收件日期：不能为空")
    assert application_fields(today=TODAY - timedelta(days=1))[0].fields[0].value == "2026-10-14"
