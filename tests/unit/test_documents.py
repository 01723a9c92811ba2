"""Official documents: content, escaping, missing data, dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any, get_args

import pytest
from jinja2 import UndefinedError

from adapters.outside import documents
from adapters.outside.documents import (
    KIND_REQUIRED,
    TEMPLATE_DIR,
    TITLES,
    DocumentKind,
    RenderedDocument,
    chinese_date,
    level_names,
    render_document,
)
from tests.support.filing_documents import (
    CONTEXTS,
    FILING_KINDS,
    SICHUAN_ACCEPTANCE,
    SICHUAN_RECEIPT,
    context,
    institution,
    occupations,
)


class TagBalance(HTMLParser):
    """Fails on a closing tag that does not match the open one: catches a broken template."""

    VOID = {"meta", "hr", "br", "img", "link", "input", "col"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def assert_well_formed(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    assert parser.stack == []


# --- one test per kind with realistic content --------------------------------------------------


def test_kinds_titles_and_templates_agree() -> None:
    assert set(get_args(DocumentKind)) == set(TITLES) == set(KIND_REQUIRED)
    assert {path.stem for path in TEMPLATE_DIR.glob("*.html")} == set(TITLES) | {"base"}


@pytest.mark.parametrize("kind", FILING_KINDS)
def test_every_kind_renders_a_complete_document(kind: str) -> None:
    doc = render_document(kind, context(kind))
    assert isinstance(doc, RenderedDocument)
    assert doc.kind == kind
    assert doc.title == TITLES[kind]
    assert_well_formed(doc.html)
    html = doc.html
    assert f'<h1 class="title">{TITLES[kind]}</h1>' in html
    assert "四川蜀能电力检修有限公司：" in html  # addressee
    assert html.count("四川省人力资源和社会保障厅") >= 2  # masthead and signature
    assert "案件编号：BA-2026-000123" in html
    if kind != "correction_notice":  # a correction names the corrected document, not the applicant's particulars
        assert "用人单位" in html
    assert '"Noto Serif CJK SC", "Source Han Serif SC", "SimSun", serif' in html
    assert "@page { size: A4" in html


def test_filing_receipt_states_number_validity_and_scope() -> None:
    doc = render_document("filing_receipt", context("filing_receipt"))
    html = doc.html
    assert doc.number == "川技鉴备〔2026〕1号"
    assert doc.title == "职业技能等级评价机构备案回执"
    assert '<div class="doc-number">川技鉴备〔2026〕1号</div>' in html
    assert '<td class="code filing-number">川评备〔2026〕0001号</td>' in html
    assert "2026年11月3日至2029年11月2日" in html
    assert '<p class="signature-date">2026年11月3日</p>' in html
    assert "91510100MA61R2XK7Q" in html
    assert "四川省成都市高新区天府大道北段1700号" in html
    assert "王建国" in html
    assert '<td class="filing-authority">四川省人力资源和社会保障厅</td>' in html
    assert "<td>四川省</td>" in html
    # Levels from low to high whatever order they were given in; both bases named.
    assert "<td>五级/初级工、四级/中级工、三级/高级工</td>" in html
    assert "<td>二级/技师、一级/高级技师</td>" in html
    assert "<td>国家职业技能标准</td>" in html
    assert "<td>评价规范</td>" in html
    assert "6-28-01-05" in html and "变电设备检修工" in html
    assert (
        f"依据{SICHUAN_RECEIPT}、《吉林省职业技能等级评价机构管理办法（试行）》第十三条的规定，准予备案"
        in html
    )
    assert "在上述备案的职业（工种）和等级范围内开展职业技能等级认定工作" in html
    assert "不得超出备案范围开展评价" in html
    assert "有效期届满前三个月内书面提出续期备案申请" in html


def test_filing_receipt_municipal_without_optional_institution_fields() -> None:
    ctx = context("filing_receipt")
    ctx["filing_authority"] = "成都市人力资源和社会保障局"
    ctx["authority_name"] = "成都市职业技能鉴定指导中心"
    ctx["on_behalf_of"] = "成都市人力资源和社会保障局"
    ctx["region_name"] = "四川省成都市"
    ctx["institution"] = institution(type="social", address=None)
    del ctx["institution"]["legal_representative"]
    ctx["document_number"] = "成都技鉴备〔2026〕12号"
    doc = render_document("filing_receipt", ctx)
    assert doc.number == "成都技鉴备〔2026〕12号"
    assert '<td class="filing-authority">成都市人力资源和社会保障局</td>' in doc.html
    assert '<p class="signature-authority">成都市职业技能鉴定指导中心</p>' in doc.html
    assert '<p class="signature-behalf">（受成都市人力资源和社会保障局委托）</p>' in doc.html
    assert "社会培训评价组织" in doc.html
    assert ">地址<" not in doc.html and ">法定代表人<" not in doc.html
    assert "川评备〔2026〕0001号" in doc.html  # the filing number stays in the facts table


def test_rejection_notice_lists_reasons_and_basis() -> None:
    doc = render_document("rejection_notice", context("rejection_notice"))
    html = doc.html
    assert doc.number == "川评不受〔2026〕7号"
    assert "本机关于2026年10月8日收到你单位提交的职业技能等级评价机构备案申请" in html
    assert '<span class="item-no">1.</span>申请职业“电梯安装维修工”属于准入类职业' in html
    assert '<span class="item-no">2.</span>每个职业考评人员不足3人' in html
    assert f"依据{SICHUAN_ACCEPTANCE}的规定，本机关决定对你单位的备案申请不予受理。" in html
    assert '<p class="signature-date">2026年10月15日</p>' in html


def test_supplement_notice_is_one_time_and_restarts_the_clock() -> None:
    doc = render_document("supplement_notice", context("supplement_notice"))
    html = doc.html
    assert doc.number == "川技鉴备〔2026〕1号"
    assert "（一次性告知）" in html
    assert "现一次性告知你单位需要补正的全部材料如下" in html
    for item in CONTEXTS["supplement_notice"]["missing"]:
        assert item in html
    assert "2026年10月8日收到" in html
    assert "受理期限自本机关收到你单位补正的全部材料之日起重新计算" in html
    assert "将在10个工作日内通知你单位是否受理" in html


def test_supplement_notice_takes_a_regional_acceptance_period() -> None:
    ctx = context("supplement_notice")
    ctx["acceptance_working_days"] = 15
    assert "将在15个工作日内通知你单位是否受理" in render_document("supplement_notice", ctx).html


def test_not_filed_notice_names_the_stage() -> None:
    doc = render_document("not_filed_notice", context("not_filed_notice"))
    html = doc.html
    assert "经专家评估，存在以下情形" in html
    assert '<p class="item-single">技术评估意见为不合格' in html
    assert "决定对你单位的申请不予备案" in html
    assert "第十二条的规定" in html
    # No received date given, none invented.
    assert "你单位提交的职业技能等级评价机构备案申请，经专家评估，存在以下情形" in html


@pytest.mark.parametrize(
    ("stage", "name"),
    [
        ("acceptance", "受理审查"),
        ("site_inspection", "现场考察"),
        ("higher_review", "上级复核"),
        ("objection_review", "公示异议核查"),
    ],
)
def test_not_filed_notice_stage_names(stage: str, name: str) -> None:
    ctx = context("not_filed_notice")
    ctx["stage"] = stage
    ctx["received_on"] = "2026-09-01"
    ctx["occupations"] = occupations()
    html = render_document("not_filed_notice", ctx).html
    assert f"你单位于2026年9月1日提交的职业技能等级评价机构备案申请，经{name}，" in html
    assert "申请备案的职业（工种）" in html
    assert "五级/初级工、四级/中级工、三级/高级工" in html


# --- escaping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FILING_KINDS)
def test_institution_name_is_escaped(kind: str) -> None:
    ctx = context(kind)
    ctx["institution"]["name"] = '<script>alert("x")</script>某某培训学校'
    html = render_document(kind, ctx).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;某某培训学校：" in html
    assert_well_formed(html)


def test_reasons_are_escaped() -> None:
    ctx = context("rejection_notice")
    ctx["reasons"] = ["材料<b>不全</b> & 未签字"]
    html = render_document("rejection_notice", ctx).html
    assert "材料&lt;b&gt;不全&lt;/b&gt; &amp; 未签字" in html


# --- missing or wrong data ---------------------------------------------------------------------

MISSING_CASES = [
    (kind, key) for kind in FILING_KINDS for key in [*documents.COMMON_REQUIRED, *KIND_REQUIRED[kind]]
]


@pytest.mark.parametrize(("kind", "key"), MISSING_CASES)
def test_missing_key_is_a_clear_value_error(kind: str, key: str) -> None:
    ctx = context(kind)
    del ctx[key]
    with pytest.raises(ValueError, match=rf"{TITLES[kind]}缺少必需的内容：{key}（"):
        render_document(kind, ctx)


@pytest.mark.parametrize("blank", [None, "", "  ", []])
def test_blank_required_value_counts_as_missing(blank: Any) -> None:
    ctx = context("rejection_notice")
    ctx["reasons"] = blank
    with pytest.raises(ValueError, match=r"缺少必需的内容：reasons（不予受理理由）"):
        render_document("rejection_notice", ctx)


def test_blank_item_in_a_list_counts_as_missing() -> None:
    ctx = context("supplement_notice")
    ctx["missing"] = ["法人登记证书复印件", " "]
    with pytest.raises(ValueError, match=r"缺少必需的内容：missing\[1\]"):
        render_document("supplement_notice", ctx)


@pytest.mark.parametrize("key", ["name", "credit_code", "type"])
def test_missing_institution_field(key: str) -> None:
    ctx = context("not_filed_notice")
    del ctx["institution"][key]
    with pytest.raises(ValueError, match=rf"缺少必需的内容：institution\.{key}（"):
        render_document("not_filed_notice", ctx)


@pytest.mark.parametrize("key", ["code", "name", "levels", "basis"])
def test_missing_occupation_field(key: str) -> None:
    ctx = context("filing_receipt")
    del ctx["occupations"][1][key]
    with pytest.raises(ValueError, match=rf"缺少必需的内容：occupations\[1\]\.{key}（"):
        render_document("filing_receipt", ctx)


def test_a_correction_names_the_document_it_corrects_and_what_is_corrected() -> None:
    doc = render_document("correction_notice", context("correction_notice"))
    words = re.sub(r"<[^>]+>|\s+", "", doc.html)
    assert "本机关于2026年10月30日向你单位出具的《不予受理通知书》（川技鉴不受〔2026〕2号）有误" in words
    assert "“收到申请日期”应为2026年10月8日，误写为2026年10月9日" in words
    assert "原文书其余内容不变" in words


def test_a_seal_is_printed_over_the_signature_and_must_be_a_png_data_url() -> None:
    ctx = context("rejection_notice")
    ctx["seal"] = "data:image/png;base64,iVBORw0KGgo="
    html = render_document("rejection_notice", ctx).html
    assert '<div class="signature sealed">' in html
    assert '<img class="seal" src="data:image/png;base64,iVBORw0KGgo=" alt="四川省人力资源和社会保障厅印章">' in html
    ctx["seal"] = 'javascript:alert(1)"'
    with pytest.raises(ValueError, match="印章图片应为 PNG 图片的 data: 地址"):
        render_document("rejection_notice", ctx)


def test_a_region_gives_its_own_title() -> None:
    ctx = context("filing_receipt")
    ctx["title"] = "企业职业技能等级认定确认回执"
    doc = render_document("filing_receipt", ctx)
    assert doc.title == "企业职业技能等级认定确认回执"
    assert '<h1 class="title">企业职业技能等级认定确认回执</h1>' in doc.html


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="未知的文书类型：'dismissal_notice'"):
        render_document("dismissal_notice", context("rejection_notice"))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("institution", "type"), "company", "未知的机构类型"),
        (("occupations", 0, "levels"), [5, 6], "未知的职业技能等级：6"),
        (("occupations", 0, "levels"), [True], "未知的职业技能等级：True"),
        (("occupations", 0, "basis"), "enterprise_rule", "未知的评价依据"),
        (("valid_until",), "2029-13-02", "无法识别的日期"),
    ],
)
def test_unknown_codes_are_refused(path: tuple[Any, ...], value: Any, message: str) -> None:
    ctx = context("filing_receipt")
    target: Any = ctx
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(ValueError, match=message):
        render_document("filing_receipt", ctx)


def test_unknown_stage_is_refused() -> None:
    ctx = context("not_filed_notice")
    ctx["stage"] = "publicity"
    with pytest.raises(ValueError, match="未知的审查环节：'publicity'"):
        render_document("not_filed_notice", ctx)


def test_strict_undefined_errors_are_translated() -> None:
    # The net under the explicit checks: whatever a template reads and the context lacks.
    template = documents._environment().from_string("{{ institution.fax }}{{ nothing }}")
    with pytest.raises(UndefinedError) as caught:
        template.render(institution={})
    error = documents._undefined_to_value_error("不予备案通知书", caught.value)
    assert str(error) == "不予备案通知书缺少必需的内容：fax"
    with pytest.raises(UndefinedError) as caught:
        template.render(institution={"fax": "1"})
    assert str(documents._undefined_to_value_error("X", caught.value)) == "X缺少必需的内容：nothing"


# --- filters and dates -------------------------------------------------------------------------


def test_level_names_low_to_high_without_duplicates() -> None:
    assert level_names([1, 5, 3, 5]) == "五级/初级工、三级/高级工、一级/高级技师"
    with pytest.raises(ValueError):
        level_names([])


def test_chinese_date_of_a_date() -> None:
    assert chinese_date(date(2026, 10, 15)) == "2026年10月15日"
    assert chinese_date(date(2029, 11, 2)) == "2029年11月2日"


def test_chinese_date_converts_a_datetime_to_shanghai() -> None:
    # 16:30 UTC on 14 October is 00:30 on 15 October in Shanghai.
    assert chinese_date(datetime(2026, 10, 14, 16, 30, tzinfo=UTC)) == "2026年10月15日"
    assert chinese_date(datetime(2026, 10, 14, 15, 59, 59, tzinfo=UTC)) == "2026年10月14日"
    new_york = timezone(timedelta(hours=-4))
    assert chinese_date(datetime(2026, 12, 31, 12, 0, tzinfo=new_york)) == "2027年1月1日"


def test_chinese_date_of_iso_strings() -> None:
    assert chinese_date("2026-10-15") == "2026年10月15日"
    assert chinese_date("2026-10-14T16:30:00+00:00") == "2026年10月15日"
    assert chinese_date("2026-10-14T16:30:00Z") == "2026年10月15日"
    assert chinese_date("2026-10-15T23:59:00+08:00") == "2026年10月15日"


@pytest.mark.parametrize(
    "value", [datetime(2026, 10, 15, 1, 0), "2026-10-15T01:00:00", "2026/10/15", "明天", 20261015]
)
def test_chinese_date_refuses_what_it_cannot_place(value: Any) -> None:
    with pytest.raises(ValueError):
        chinese_date(value)


def test_issued_on_datetime_near_midnight_utc_is_dated_in_shanghai() -> None:
    ctx = context("rejection_notice")
    ctx["issued_on"] = datetime(2026, 10, 14, 17, 5, tzinfo=UTC)
    html = render_document("rejection_notice", ctx).html
    assert '<p class="signature-date">2026年10月15日</p>' in html
