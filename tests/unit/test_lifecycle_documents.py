"""Official documents of a filing's life after the receipt: renewal, changes, sanctions, suspension, termination."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any, get_args

import pytest

from adapters.outside import documents
from adapters.outside.documents import (
    KIND_OPTIONAL,
    KIND_REQUIRED,
    LIFECYCLE_KINDS,
    TEMPLATE_DIR,
    TITLES,
    DocumentKind,
    render_document,
)
from tests.support import filing_documents
from tests.support.lifecycle_documents import (
    CONTEXTS,
    NAME,
    NUMBER,
    ORDERED,
    STATEMENT,
    context,
    occupations,
)


def render(kind: str, **changes: Any) -> str:
    ctx = context(kind)
    ctx.update(changes)
    return render_document(kind, ctx).html


def squeeze(value: str) -> str:
    return re.sub(r"\s+", "", value)


def text(html: str) -> str:
    """The words a reader sees, without tags and layout whitespace, so sentences can be asserted across tags."""
    body = html.split("<body>", 1)[1]
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", body))


class TagBalance(HTMLParser):
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
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    assert parser.stack == []


# --- registry -----------------------------------------------------------------------------------


def test_every_kind_has_a_title_a_template_and_a_test_context() -> None:
    assert set(get_args(DocumentKind)) == set(TITLES) == set(KIND_REQUIRED)
    assert set(CONTEXTS) == LIFECYCLE_KINDS
    assert set(CONTEXTS) | set(filing_documents.CONTEXTS) == set(TITLES)
    assert set(KIND_OPTIONAL) <= LIFECYCLE_KINDS | {"filing_receipt"}  # the receipt's verify_url (its QR code)
    for kind in LIFECYCLE_KINDS:
        assert (TEMPLATE_DIR / f"{kind}.html").is_file()
        # Every lifecycle document names the filing and its legal basis.
        assert {"filing_number", "articles"} <= set(KIND_REQUIRED[kind])


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_renders_a_complete_document(kind: str) -> None:
    doc = render_document(kind, context(kind))
    assert doc.kind == kind and doc.title == TITLES[kind]
    assert doc.number == context(kind)["document_number"]
    assert_well_formed(doc.html)
    words = text(doc.html)
    assert NUMBER in words
    assert "案件编号：BA-2029-000456" in words
    assert words.count("四川省人力资源和社会保障厅") >= 2
    assert '<p class="signature-date">2029年8月3日</p>' in doc.html
    for article in as_list(CONTEXTS[kind]["articles"]):
        assert squeeze(article) in words
    if kind == "termination_announcement":
        assert '<p class="addressee">' not in doc.html
        assert "你单位" not in words
    else:
        assert f'<p class="addressee">{NAME}：</p>' in doc.html
        assert f'<h1 class="title">{TITLES[kind]}</h1>' in doc.html


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_institution_name_and_free_text_are_escaped(kind: str) -> None:
    ctx = context(kind)
    ctx["institution"]["name"] = "<b>某某</b>培训学校"
    for key in ("reasons", "facts", "opinion"):
        if key in ctx:
            ctx[key] = "材料<i>不实</i> & 未签字"
    html = render_document(kind, ctx).html
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;b&gt;某某&lt;/b&gt;培训学校" in html
    assert_well_formed(html)


# --- content of each kind ----------------------------------------------------------------------


def test_first_renewal_reminder() -> None:
    words = text(render("renewal_reminder"))
    assert "（第一次提醒）" in words
    assert "有效期将于2029年11月2日届满" in words
    assert "自2029年8月3日起，已进入备案期满前三个月的续期备案申请期" in words
    assert "请最迟于2029年11月2日（备案有效期届满之日）以书面形式向本机关提出续期备案申请" in words
    assert "备案期满前三个月内未书面提出续期备案申请的，本机关将按自动终止备案处理" in words
    assert "续期备案申请期2029年8月3日至2029年11月2日" in words
    assert "尚未收到" not in words


def test_second_renewal_reminder_with_and_without_days_left() -> None:
    words = text(render("renewal_reminder", reminder="second", days_left=30))
    assert "（第二次提醒）" in words
    assert "尚未收到你单位的书面续期备案申请，距备案有效期届满尚余30日" in words
    words = text(render("renewal_reminder", reminder="second"))
    assert "尚未收到你单位的书面续期备案申请。现再次提醒如下" in words
    assert "尚余" not in words


def test_renewal_reminder_refuses_an_unknown_reminder_and_a_window_after_expiry() -> None:
    with pytest.raises(ValueError, match="未知的提醒次数：'third'"):
        render("renewal_reminder", reminder="third")
    with pytest.raises(ValueError, match="续期申请期起始日期晚于备案有效期截止日期"):
        render("renewal_reminder", window_opens="2029-11-03")
    with pytest.raises(ValueError, match=r"days_left（距有效期届满的剩余天数）应为不小于0的整数"):
        render("renewal_reminder", reminder="second", days_left=-1)


def test_renewal_notice_states_the_new_period_and_scope() -> None:
    words = text(render("renewal_notice", opinion="评价工作规范，未发现违规情形"))
    assert "续期备案申请收悉" in words and "评估合格" in words and "准予续期备案" in words
    assert "原备案有效期截止日期2029年11月2日" in words
    assert "续期后备案有效期2029年11月3日至2032年11月2日" in words
    assert "评估意见：评价工作规范，未发现违规情形" in words
    assert "五级/初级工、四级/中级工、三级/高级工" in words
    assert "红黑榜" not in words


def test_renewal_notice_for_red_list_continuation() -> None:
    words = text(render("renewal_notice", simplified=True, opinion="2029年度评为红色"))
    assert "被评为“红色”" in words and "予以连续备案" in words
    assert "确认意见：2029年度评为红色" in words
    assert "申请收悉" not in words


def test_renewal_notice_refuses_a_new_period_that_does_not_follow_the_old() -> None:
    with pytest.raises(ValueError, match="应在原备案有效期截止日期之后开始"):
        render("renewal_notice", valid_from="2029-11-02")
    with pytest.raises(ValueError, match="续期后备案有效期起始日期晚于续期后备案有效期截止日期"):
        render("renewal_notice", valid_until="2029-11-01")


def test_renewal_refusal_announces_the_ordered_termination_procedure() -> None:
    words = text(render("renewal_refusal"))
    assert "评估不合格" in words
    assert "1.备案期内未按规定上报考务计划" in words and "2.考评人员不足3人" in words
    assert "申请续期未达到备案条件" in words
    assert "按照责令终止备案程序" in words
    assert "书面告知你单位拟作出的决定及相关事实、理由和依据" in words
    assert "陈述和申辩" in words
    words = text(render("renewal_refusal", simplified=True))
    assert "不符合连续备案条件" in words and "申请收悉" not in words


def test_change_approved_lists_the_changes() -> None:
    words = text(render("change_decision"))
    assert "经审核，符合规定" in words and "准予变更" in words
    assert "考试考核场地成都市武侯区科华北路65号" in words
    assert "其他备案事项及备案有效期不变" in words
    assert "变更前" not in words


def test_change_table_shows_the_previous_value_when_given() -> None:
    changes = [
        {"label": "考试考核场地", "before": "成都市高新区天府大道北段1700号", "after": "成都市武侯区科华北路65号"},
        {"label": "质量督导人员", "after": "新增：李明"},
    ]
    words = text(render("change_decision", changes=changes))
    assert "变更事项变更前变更后" in words
    assert "考试考核场地成都市高新区天府大道北段1700号成都市武侯区科华北路65号" in words
    assert "质量督导人员—新增：李明" in words


def test_change_refused_needs_and_states_its_reasons() -> None:
    with pytest.raises(ValueError, match=r"缺少必需的内容：reasons（不予变更理由）"):
        render("change_decision", approved=False)
    with pytest.raises(ValueError, match=r"缺少必需的内容：reasons（不予变更理由）"):
        render("change_decision", approved=False, reasons="  ")
    words = text(render("change_decision", approved=False, reasons=["新考场未配备视频监控设备"]))
    assert "新考场未配备视频监控设备" in words
    assert "不予同意" in words and "应继续按原备案事项开展" in words
    assert "准予变更" not in words


@pytest.mark.parametrize("value", [1, 0, "true", "否", None])
def test_approved_must_be_a_bool(value: Any) -> None:
    with pytest.raises(ValueError, match="approved（是否准予变更）"):
        render("change_decision", approved=value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ("考试考核场地", r"changes（变更事项）应为列表"),
        (["考试考核场地"], r"changes\[0\] 应为字典"),
        ([{"label": "考试考核场地"}], r"缺少必需的内容：changes\[0\]\.after（变更后内容）"),
        ([{"label": " ", "after": "x"}], r"缺少必需的内容：changes\[0\]\.label（变更事项名称）"),
        ([{"label": "考评人员", "after": ["张三", "李四"]}], r"changes\[0\]\.after 应为文字"),
    ],
)
def test_malformed_changes_are_refused(changes: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render("change_decision", changes=changes)


def test_suspension_notice_holds_back_registration_and_certificate_data() -> None:
    words = text(render("suspension_notice"))
    assert "涉嫌超出备案范围开展评价工作，正在调查核实" in words
    assert "自本通知出具之日起暂停你单位职业技能等级评价活动" in words
    assert "暂停考试报名及评价工作" in words
    assert "证书数据暂缓审核上网" in words


def test_suspension_lifted_with_and_without_the_suspension_date() -> None:
    words = text(render("suspension_lifted", suspended_on="2029-07-01"))
    assert "本机关于2029年7月1日暂停了你单位" in words
    assert "恢复你单位职业技能等级评价活动" in words
    assert "本机关此前暂停了你单位" in text(render("suspension_lifted"))
    with pytest.raises(ValueError, match=r"suspended_on（暂停评价活动日期）：无法识别的日期"):
        render("suspension_lifted", suspended_on="7月1日")


def test_verification_opinion_has_subject_findings_and_conclusion() -> None:
    words = text(render("verification_opinion"))
    assert "就你单位（机构备案编号：川评备〔2026〕0001号）超出备案范围开展评价工作的有关情况组织了调查核实" in words
    assert "一、核查事项超出备案范围开展评价工作" in words
    assert "二、核查情况经调阅2029年第二季度考务计划" in words
    assert "三、核查结论超出备案范围开展评价工作的情形属实。" in words


def test_intended_decision_states_facts_reasons_basis_and_the_right_to_be_heard() -> None:
    words = text(render("intended_decision"))
    assert "对你单位（机构备案编号：川评备〔2026〕0001号）涉嫌超出备案范围开展评价工作的有关情况进行了调查核实" in words
    assert "经查明：2029年5月至6月，对未备案职业“钳工”组织评价两批次，共86人" in words
    assert "本机关认为：上述行为属于超出备案范围开展评价工作" in words
    basis = f"依据{squeeze(ORDERED)}、{squeeze(STATEMENT)}的规定"
    assert f"{basis}，本机关拟对你单位作出责令终止职业技能等级评价机构备案的决定" in words
    assert "陈述和申辩的权利" in words
    assert "5个工作日内，即最迟于2029年8月10日（含当日）向本机关提出书面陈述和申辩意见" in words
    assert "逾期未提出陈述和申辩的，视为放弃陈述和申辩的权利，本机关将依法作出决定" in words
    assert "本机关将在作出决定前对你单位提出的事实、理由和证据进行审查" in words


def test_a_sanction_and_a_refused_renewal_are_told_in_their_own_words() -> None:
    """Jilin 第三十五条 before every decision against the institution: a sanction (with its particulars) and a refused
    renewal are told like a termination, each under its own title."""
    words = text(render("intended_decision", measure="warning", rectification_days=20,
                        certificate_data_detail="超范围上传的证书12份", ground_label="“包过”等虚假宣传"))
    assert "拟作出处理决定告知书" in words
    assert "涉嫌“包过”等虚假宣传的有关情况进行了调查核实" in words
    assert "本机关拟对你单位作出如下决定：1.予以警告、限期整改，整改期间暂停评价活动（整改期限为20个工作日）" in words
    assert "2.撤销你单位违规上传的证书数据（超范围上传的证书12份）" in words
    words = text(render("intended_decision", measure="interview", invalid_results=True))
    assert "拟对你单位作出约谈你单位主要负责人，并对相应评价成绩（结果）作无效处理的决定" in words
    words = text(render("intended_decision", measure="renewal_refusal", ground_label=None))
    assert "拟作出不予续期备案决定告知书" in words
    assert "备案期内的工作开展情况进行了续期评估。经评估：" in words
    assert "本机关拟对你单位作出不予续期备案的决定" in words
    with pytest.raises(ValueError, match="未知的处理决定"):
        render("intended_decision", measure="fine")


@pytest.mark.parametrize("days", [0, True, "5", 2.5])
def test_statement_days_must_be_a_positive_whole_number(days: Any) -> None:
    with pytest.raises(ValueError, match=r"statement_days（陈述和申辩期限（工作日））应为不小于1的整数"):
        render("intended_decision", statement_days=days)


def test_intended_decision_refuses_a_deadline_it_cannot_date() -> None:
    deadline = {"due": "2029-08-11T00:00:00+08:00", "last_day": "2029-08-10"}
    with pytest.raises(ValueError, match=r"statement_deadline（陈述和申辩期限的最后一日）：无法识别的日期"):
        render("intended_decision", statement_deadline=deadline)


def test_review_decision_upholds_or_revokes() -> None:
    """Jilin 第三十六条: the review of a statement and defence against the termination decision served."""
    words = text(render("review_decision", statement_received_on="2029-08-08", terminated_on="2029-08-01",
                        termination_number="川技鉴终〔2029〕2号"))
    assert ("本机关于2029年8月1日对你单位（机构备案编号：川评备〔2026〕0001号）"
            "作出责令终止职业技能等级评价机构备案的决定（川技鉴终〔2029〕2号）") in words
    assert "你单位于2029年8月8日对该决定提出的陈述和申辩意见收悉" in words
    assert "与考生档案记载不符，不予采纳" in words
    assert "经复核，本机关决定：维持责令终止备案决定。" in words
    assert "原责令终止备案决定继续有效" in words
    words = text(render("review_decision", decision="revoke", opinion="所涉人员系培训学员，未组织评价。",
                        valid_until="2029-11-02"))
    assert "经复核，本机关决定：撤销责令终止备案决定，恢复备案。" in words
    assert "恢复你单位备案（有效期至2029年11月2日）和职业技能等级评价活动" in words
    assert "维持" not in words
    with pytest.raises(ValueError, match="未知的复核决定：'partial'"):
        render("review_decision", decision="partial")


def test_review_decision_of_a_sanction_names_it_and_what_revoking_it_undoes() -> None:
    words = text(render("review_decision", measure="warning", rectification_days=20, decided_on="2029-08-01",
                        decision_number="川技鉴警〔2029〕3号"))
    assert ("本机关于2029年8月1日对你单位（机构备案编号：川评备〔2026〕0001号）作出予以警告、限期整改，"
            "整改期间暂停评价活动（整改期限为20个工作日）的决定（川技鉴警〔2029〕3号）") in words
    assert "经复核，本机关决定：维持原处理决定。" in words and "原处理决定继续有效" in words
    words = text(render("review_decision", measure="warning", decision="revoke", opinion="宣传材料系他人冒用。",
                        certificate_data_detail="证书12份"))
    assert "经复核，本机关决定：撤销原处理决定。" in words
    assert "撤销上述处理决定，解除暂停评价活动，该处理记录不再列入你单位违纪违规行为处理档案" in words
    assert "已撤销的证书数据，本机关已通知职业技能等级证书数据系统予以恢复" in words
    words = text(render("review_decision", measure="interview", decision="revoke", opinion="事实不清。"))
    assert "解除暂停" not in words and "证书数据" not in words


TERMINATION_INTROS = {
    "voluntary": "终止职业技能等级评价机构备案申请收悉",
    "automatic": "存在以下情形，应当按自动终止备案处理",
    "ordered": "存在以下情形，应当责令终止备案",
}


@pytest.mark.parametrize("kind", sorted(TERMINATION_INTROS))
def test_termination_notice_wording_differs_by_kind(kind: str) -> None:
    label = documents.TERMINATION_KIND_NAMES[kind]
    words = text(render("termination_notice", termination_kind=kind))
    assert TERMINATION_INTROS[kind] in words
    for other, intro in TERMINATION_INTROS.items():
        if other != kind:
            assert intro not in words
    assert f"本机关决定对你单位作出{label}备案处理" in words
    assert f"你单位职业技能等级评价机构备案（机构备案编号：{NUMBER}）自2029年8月20日起终止" in words
    assert f"终止备案类型{label}备案" in words
    assert "原备案有效期2026年11月3日至2029年11月2日" in words
    assert "终止备案前颁发的合规职业技能等级证书继续有效" in words
    assert "继续承担以下职责：1.已发证书数据的复核、更正、撤销2.认定资料档案保管" in words
    assert ("陈述和申辩" in words) is (kind == "ordered")
    assert ("违纪违规行为处理档案" in words) is (kind == "ordered")


def test_termination_notice_names_the_ground_and_occupations() -> None:
    html = render(
        "termination_notice",
        termination_kind="automatic",
        ground_label="备案期满前三个月内未书面提出续期备案申请",
        occupations=occupations(),
        remedy="如对本决定有异议，可依法申请行政复议。",
    )
    words = text(html)
    assert "存在以下情形，应当按自动终止备案处理" in words
    assert "终止备案情形备案期满前三个月内未书面提出续期备案申请" in words
    assert "终止备案的职业（工种）及等级范围" in words and "6-28-01-14" in words
    assert "如对本决定有异议，可依法申请行政复议。" in words


def test_termination_notice_of_a_branch_follows_its_head_office() -> None:
    words = text(render("termination_notice", parent_filing_number="人社评备〔2024〕0003号"))
    assert "所属的全国性评价机构总部（机构备案编号：人社评备〔2024〕0003号）已被责令终止备案" in words
    assert "一并终止" in words
    assert "总部机构备案编号人社评备〔2024〕0003号" in words
    # The branch itself was not heard on an intended decision; the notice must not claim it was.
    assert "陈述和申辩" not in words


def test_termination_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="未知的终止备案类型：'expired'"):
        render("termination_notice", termination_kind="expired")
    with pytest.raises(ValueError, match="未知的终止备案类型：'expired'"):
        render("termination_announcement", termination_kind="expired")


@pytest.mark.parametrize("kind", sorted(TERMINATION_INTROS))
def test_termination_announcement_is_public(kind: str) -> None:
    label = documents.TERMINATION_KIND_NAMES[kind]
    doc = render_document("termination_announcement", {**context("termination_announcement"), "termination_kind": kind})
    words = text(doc.html)
    assert doc.title == "终止备案公告"
    assert f'<h1 class="title">关于终止{NAME}职业技能等级评价机构备案的公告</h1>' in doc.html
    assert '<p class="addressee">' not in doc.html
    assert f"本机关决定对{NAME}作出{label}备案处理，自2029年8月20日起终止其职业技能等级评价机构备案" in words
    assert f"统一社会信用代码：91510100MA61R2XK7Q，机构备案编号：{NUMBER}" in words
    assert "终止备案前按规定颁发的合规职业技能等级证书继续有效" in words
    assert "特此公告。" in words
    assert ("主动申请终止" in words) is (kind == "voluntary")
    assert ("自动终止备案处理的情形" in words) is (kind == "automatic")
    assert ("应当责令终止备案的情形" in words) is (kind == "ordered")


def test_termination_announcement_lists_branches() -> None:
    branches = [{"name": "四川蜀能电力检修有限公司绵阳分公司", "filing_number": "绵评备〔2027〕0002号"}]
    words = text(render("termination_announcement", branches=branches))
    assert "该机构的下列分支机构一并终止备案" in words
    assert "1四川蜀能电力检修有限公司绵阳分公司绵评备〔2027〕0002号" in words
    assert "该机构及上述分支机构不得再以职业技能等级评价机构名义" in words
    with pytest.raises(ValueError, match=r"缺少必需的内容：branches\[0\]\.filing_number（分支机构备案编号）"):
        render("termination_announcement", branches=[{"name": "绵阳分公司"}])
    assert "分支机构" not in text(render("termination_announcement", branches=None))


def test_warning_notice_sets_the_deadline_and_suspends() -> None:
    words = text(render("warning_notice"))
    assert "存在利用广告或其他方式进行评价“包过”“保过”等虚假宣传的情形，具体事实如下" in words
    assert "予以警告，并责令你单位限期整改。整改期限至2029年9月14日（含当日）止" in words
    assert "限期整改期间，暂停你单位职业技能等级评价活动" in words
    assert "逾期未完成整改或者整改达不到要求的，本机关将按照责令终止备案程序" in words


def test_interview_notice_declares_results_invalid_only_when_decided() -> None:
    words = text(render("interview_notice"))
    assert "对你单位主要负责人进行约谈" in words
    assert "无效" not in words
    assert "约谈时间和地点：另行通知" in words
    words = text(render("interview_notice", invalid_results=True, arrangement="2029年8月10日上午9时，本厅302会议室"))
    assert "对上述行为涉及的相应评价成绩（结果）作出无效处理" in words
    assert "约谈时间和地点：2029年8月10日上午9时，本厅302会议室" in words
    with pytest.raises(ValueError, match=r"invalid_results（是否作出评价结果无效处理）应为是或否"):
        render("interview_notice", invalid_results="否")


def test_wrapup_notice_lists_the_wrapup_work() -> None:
    words = text(render("wrapup_notice"))
    assert "另有12名已缴费考生未参加评价" in words
    assert "请你单位最迟于2029年9月30日（含当日）完成以下收尾工作" in words
    assert "上传技能人才评价工作网" in words
    assert "未能提供评价服务的费用应退尽退" in words
    assert "纸质材料保管不少于3年，电子材料保管不少于5年" in words
    assert "出具终止备案通知书，并向社会公告" in words


# --- missing, blank and mistyped content --------------------------------------------------------

MISSING = [(kind, key) for kind in sorted(CONTEXTS) for key in [*documents.COMMON_REQUIRED, *KIND_REQUIRED[kind]]]


@pytest.mark.parametrize(("kind", "key"), MISSING)
def test_missing_key_names_the_field_in_chinese(kind: str, key: str) -> None:
    ctx = context(kind)
    del ctx[key]
    label = {**documents.COMMON_REQUIRED, **KIND_REQUIRED[kind]}[key]
    with pytest.raises(ValueError, match=re.escape(f"{TITLES[kind]}缺少必需的内容：{key}（{label}）")):
        render_document(kind, ctx)


@pytest.mark.parametrize(
    ("kind", "key"),
    [(kind, key) for kind in sorted(CONTEXTS) for key in KIND_REQUIRED[kind] if key in documents.TEXT_LIST_KEYS
     or key in documents.TEXT_KEYS],
)
@pytest.mark.parametrize("blank", [None, "", "  ", []])
def test_blank_text_counts_as_missing(kind: str, key: str, blank: Any) -> None:
    ctx = context(kind)
    ctx[key] = blank
    with pytest.raises(ValueError, match=rf"缺少必需的内容：{key}（"):
        render_document(kind, ctx)


def test_blank_item_in_obligations_counts_as_missing() -> None:
    with pytest.raises(ValueError, match=r"缺少必需的内容：obligations\[1\]（终止备案后继续承担的职责）"):
        render("termination_notice", obligations=["档案保管", ""])


@pytest.mark.parametrize(
    ("kind", "key", "value", "message"),
    [
        ("verification_opinion", "opinion", ["一", "二"], r"opinion（核查情况）应为文字"),
        ("intended_decision", "facts", {"a": 1}, r"facts（查明的事实）应为文字或文字列表"),
        ("renewal_notice", "simplified", "yes", r"simplified（是否连续备案）应为是或否"),
        ("termination_notice", "terminated_on", "2029-02-30", r"terminated_on（终止备案日期）：无法识别的日期"),
        ("warning_notice", "rectification_deadline", "2029-09-14T12:00:00", r"时间缺少时区信息"),
        ("renewal_reminder", "issued_on", "明天", r"issued_on（成文日期）：无法识别的日期"),
        ("termination_notice", "occupations", [{"code": "6-28-01-14"}], r"occupations\[0\]\.name"),
    ],
)
def test_mistyped_content_is_refused(kind: str, key: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render(kind, **{key: value})


def test_optional_none_counts_as_absent() -> None:
    words = text(render("renewal_notice", simplified=None, opinion=None))
    assert "准予续期备案" in words and "评估意见" not in words
    words = text(render("termination_notice", ground_label=None, parent_filing_number=None, remedy=None))
    assert "存在以下情形，应当责令终止备案：超出备案范围开展评价工作" in words
