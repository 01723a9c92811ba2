"""Official documents (备案回执 and notices) rendered from Jinja2 templates.

Every document is self-contained HTML laid out like a Chinese official document (GB/T 9704 style:
issuing authority, document number, title, addressee, body, issuing authority and date at the end).
The caller passes plain data; this module checks that everything a document must state is present
before rendering, so a notice never goes out with a blank where a reason or a date should be.

Two families: the documents of the new filing (receipt and the notices of the acceptance and review steps)
and those of the filing's life after the receipt (renewal, changes, sanctions, suspension, the three kinds
of termination: Jilin 第二十五条至第四十条).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from jinja2 import Environment, UndefinedError

DocumentKind = Literal[
    "filing_receipt",
    "rejection_notice",
    "supplement_notice",
    "not_filed_notice",
    "renewal_reminder",
    "renewal_notice",
    "renewal_refusal",
    "change_decision",
    "suspension_notice",
    "suspension_lifted",
    "verification_opinion",
    "intended_decision",
    "review_decision",
    "termination_notice",
    "termination_announcement",
    "warning_notice",
    "interview_notice",
    "wrapup_notice",
    "correct_now_notice",
    "certificate_revocation_notice",
    "delisting_notice",
    "annual_report_request",
    "correction_notice",
]

TITLES: dict[str, str] = {
    "filing_receipt": "职业技能等级评价机构备案回执",
    "rejection_notice": "不予受理通知书",
    "supplement_notice": "补正材料通知书",
    "not_filed_notice": "不予备案通知书",
    "renewal_reminder": "备案续期提醒函",
    "renewal_notice": "续期备案通知书",
    "renewal_refusal": "续期评估结果通知书",
    "change_decision": "备案事项变更审核结果通知书",
    "suspension_notice": "暂停评价活动通知书",
    "suspension_lifted": "恢复评价活动通知书",
    "verification_opinion": "书面核查意见",
    "intended_decision": "拟作出终止备案决定告知书",
    "review_decision": "复核决定书",
    "termination_notice": "终止备案通知书",
    # The printed heading names the institution (关于终止……备案的公告); this is the kind's name in lists.
    "termination_announcement": "终止备案公告",
    "warning_notice": "警告及限期整改通知书",
    "interview_notice": "约谈通知书",
    "wrapup_notice": "限期收尾通知书",
    # Shanghai 三（四）2: what is not yet a violation is to be corrected at once (即知即改、立行立改).
    "correct_now_notice": "即知即改通知书",
    # Shanghai 三（四）2: certificate data uploaded beyond the filed scope or wrongly is revoked.
    "certificate_revocation_notice": "撤销违规证书数据决定书",
    # XPCC 第二十二条: an institution rated black leaves the directory of evaluation institutions.
    "delisting_notice": "退出评价机构目录通知书",
    # Beijing 六（四）: the yearly summary and plan, asked for when late or incomplete.
    "annual_report_request": "年度工作总结及认定计划报送通知",
    # A served document never changes: a mistake in one is corrected by this, which names it and what was wrong.
    "correction_notice": "更正通知书",
}

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATE_DIR = Path(__file__).with_name("templates")

# Labels printed on documents. Kept here, and only here, so that every template says the same thing.
INSTITUTION_TYPE_NAMES: dict[str, str] = {
    "employer": "用人单位",
    "social": "社会培训评价组织",
    "school": "院校",
}
# Levels five to one and their old vocational-qualification equivalents (Sichuan 三).
LEVEL_NAMES: dict[int, str] = {
    5: "五级/初级工",
    4: "四级/中级工",
    3: "三级/高级工",
    2: "二级/技师",
    1: "一级/高级技师",
}
BASIS_NAMES: dict[str, str] = {
    "national_standard": "国家职业技能标准",
    "evaluation_specification": "评价规范",
}
STAGE_NAMES: dict[str, str] = {
    "acceptance": "受理审查",
    "expert_review": "专家评估",
    "site_inspection": "现场考察",
    "online_assessment": "在线评估",
    "higher_review": "上级复核",
    "objection_review": "公示异议核查",
    "administrative_review": "行政审议",
}
# The three kinds of termination (Jilin 第二十九至三十一条; Shanghai 三（四）3).
TERMINATION_KIND_NAMES: dict[str, str] = {
    "voluntary": "自愿终止",
    "automatic": "自动终止",
    "ordered": "责令终止",
}
REMINDER_NAMES: dict[str, str] = {
    "first": "第一次提醒",
    "second": "第二次提醒",
}
# The review decision after a statement and defence (Jilin 第三十六条): of a sanction, and of an ordered termination.
REVIEW_DECISION_NAMES: dict[str, str] = {
    "uphold": "维持原处理决定",
    "revoke": "撤销原处理决定",
}
TERMINATION_REVIEW_DECISION_NAMES: dict[str, str] = {
    "uphold": "维持责令终止备案决定",
    "revoke": "撤销责令终止备案决定，恢复备案",
}
# The decisions an institution is told of before they are made (Jilin 第三十五条) and may have reviewed after
# (第三十六条): what is intended, in the words of the notice, and the notice's title.
DECISION_MEASURES: dict[str, str] = {
    "ordered_termination": "责令终止职业技能等级评价机构备案",
    "correct_now": "要求你单位即知即改、立行立改",
    "interview": "约谈你单位主要负责人",
    "warning": "予以警告、限期整改，整改期间暂停评价活动",
    "renewal_refusal": "不予续期备案",
}
INTENDED_DECISION_TITLES: dict[str, str] = {
    "ordered_termination": "拟作出终止备案决定告知书",
    "renewal_refusal": "拟作出不予续期备案决定告知书",
}
INTENDED_DECISION_DEFAULT_TITLE = "拟作出处理决定告知书"

# What each document must be given, with the label used in the error message a caseworker may see.
COMMON_REQUIRED: dict[str, str] = {
    "case": "案件编号",
    "institution": "机构信息",
    "authority_name": "发文机关名称",
    "issued_on": "成文日期",
    "document_number": "发文字号",
}
# What every document may be given besides (tasks/issuers.py): the authority the issuing body acts for, its seal
# (a data: URL of a PNG image), and the region's own name of the document where its text names it differently.
COMMON_OPTIONAL: dict[str, str] = {
    "on_behalf_of": "委托机关名称",
    "seal": "印章图片",
    "title": "文书标题",
}
INSTITUTION_REQUIRED: dict[str, str] = {
    "name": "机构名称",
    "credit_code": "统一社会信用代码",
    "type": "机构类型",
}
OCCUPATION_REQUIRED: dict[str, str] = {
    "code": "职业编码",
    "name": "职业（工种）名称",
    "levels": "等级",
    "basis": "评价依据",
}
KIND_REQUIRED: dict[str, dict[str, str]] = {
    "filing_receipt": {
        "filing_number": "机构备案编号",
        "valid_from": "备案有效期起始日期",
        "valid_until": "备案有效期截止日期",
        "occupations": "备案职业（工种）",
        "region_name": "备案地区",
        "filing_authority": "备案机关",
        "procedure": "办理程序",
        "articles": "依据条款",
    },
    "rejection_notice": {
        "reasons": "不予受理理由",
        "articles": "依据条款",
        "received_on": "收到申请日期",
    },
    "supplement_notice": {
        "missing": "需补正的材料",
        "received_on": "收到申请日期",
        "articles": "依据条款",
    },
    "not_filed_notice": {
        "stage": "审查环节",
        "reasons": "不予备案理由",
        "articles": "依据条款",
    },
    # --- the life of a filing after the receipt: every one names the filing and its legal basis ---
    "renewal_reminder": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "valid_until": "备案有效期截止日期",
        "window_opens": "续期申请期起始日期",
        "reminder": "提醒次数",
    },
    "renewal_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "previous_valid_until": "原备案有效期截止日期",
        "valid_from": "续期后备案有效期起始日期",
        "valid_until": "续期后备案有效期截止日期",
        "occupations": "续期备案职业（工种）",
    },
    "renewal_refusal": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "reasons": "评估不合格的理由",
    },
    "change_decision": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "approved": "是否准予变更",
        "changes": "变更事项",
    },
    "suspension_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "reasons": "暂停评价活动的理由",
    },
    "suspension_lifted": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "reasons": "恢复评价活动的理由",
    },
    "verification_opinion": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "subject": "核查事项",
        "opinion": "核查情况",
        "conclusion": "核查结论",
    },
    "intended_decision": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "measure": "拟作出的决定",
        "facts": "查明的事实",
        "reasons": "拟作出决定的理由",
        "statement_deadline": "陈述和申辩期限的最后一日",
        "statement_days": "陈述和申辩期限（工作日）",
    },
    "review_decision": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "decision": "复核决定",
        "opinion": "复核意见",
    },
    "termination_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "termination_kind": "终止备案类型",
        "reasons": "终止备案的理由",
        "terminated_on": "终止备案日期",
        "valid_from": "备案有效期起始日期",
        "valid_until": "备案有效期截止日期",
        "obligations": "终止备案后继续承担的职责",
    },
    "termination_announcement": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "termination_kind": "终止备案类型",
        "terminated_on": "终止备案日期",
        "occupations": "终止备案的职业（工种）",
        "reasons": "终止备案的原因",
    },
    "warning_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "facts": "查明的事实",
        "ground_label": "违规情形",
        "rectification_deadline": "整改期限的最后一日",
    },
    "interview_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "facts": "查明的事实",
        "ground_label": "违规情形",
        "invalid_results": "是否作出评价结果无效处理",
    },
    "correct_now_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "facts": "查明的事实",
    },
    "certificate_revocation_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "detail": "撤销的证书数据",
        "ground_label": "违规情形",
    },
    "delisting_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "reasons": "评定理由",
    },
    "annual_report_request": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "report_year": "工作总结年度",
        "report_deadline": "报送期限的最后一日",
        "reasons": "报送通知的原因",
    },
    "wrapup_notice": {
        "filing_number": "机构备案编号",
        "articles": "依据条款",
        "wrapup_deadline": "收尾期限的最后一日",
        "opinion": "风险评估意见",
    },
    "correction_notice": {
        "articles": "依据条款",
        "corrected_title": "被更正文书的标题",
        "corrected_number": "被更正文书的发文字号",
        "corrected_issued_on": "被更正文书的成文日期",
        "corrections": "更正内容",
    },
}
# What a document may be given besides its required content; checked like the required content when present
# (None counts as absent).
KIND_OPTIONAL: dict[str, dict[str, str]] = {
    # Where the public checks the receipt (workflows/service/public.py), printed with its QR code.
    "filing_receipt": {"verify_url": "核验网址"},
    "renewal_reminder": {"days_left": "距有效期届满的剩余天数"},
    "renewal_notice": {"simplified": "是否连续备案", "opinion": "评估意见"},
    "renewal_refusal": {"simplified": "是否连续备案"},
    "change_decision": {"reasons": "不予变更理由", "opinion": "审核意见"},
    "suspension_lifted": {"suspended_on": "暂停评价活动日期"},
    # A violation's label (the ground investigated); a refused renewal has none.
    "intended_decision": {"ground_label": "违规情形", "invalid_results": "是否作出评价结果无效处理",
                          "certificate_data_detail": "拟撤销的证书数据", "rectification_days": "整改期限（工作日）"},
    # Without `measure` the review is of an ordered termination (the only decision reviewed before sanctions were).
    "review_decision": {"statement_received_on": "收到陈述和申辩意见日期", "terminated_on": "终止备案日期",
                        "termination_number": "终止备案通知书文号", "valid_until": "备案有效期截止日期",
                        "measure": "原处理决定", "decided_on": "原处理决定日期", "decision_number": "原处理决定文号",
                        "invalid_results": "是否作出评价结果无效处理",
                        "certificate_data_detail": "撤销的证书数据", "rectification_days": "整改期限（工作日）"},
    "termination_notice": {
        "ground_label": "终止备案情形",
        "parent_filing_number": "总部机构备案编号",
        "remedy": "救济途径",
    },
    "termination_announcement": {"branches": "一并终止备案的分支机构"},
    "interview_notice": {"arrangement": "约谈时间和地点"},
}

# The documents of the filing's life after the receipt; their content is also checked by type (below).
LIFECYCLE_KINDS: frozenset[str] = frozenset(KIND_REQUIRED) - {
    "correction_notice",
    "filing_receipt",
    "rejection_notice",
    "supplement_notice",
    "not_filed_notice",
}

# The documents whose every content value is checked by type (below): those of the filing's life, and corrections.
TYPED_KINDS: frozenset[str] = LIFECYCLE_KINDS | {"correction_notice"}

# How each content key is checked wherever a document takes it. Keys not listed are only checked for presence.
TEXT_LIST_KEYS = frozenset({"reasons", "missing", "articles", "facts", "obligations", "corrections", "detail"})
TEXT_KEYS = frozenset(
    {"filing_number", "parent_filing_number", "procedure", "subject", "opinion", "conclusion", "ground_label", "remedy",
     "arrangement", "document_number", "corrected_title", "corrected_number", "on_behalf_of", "title",
     "termination_number", "decision_number", "certificate_data_detail"}
)
DATE_KEYS = frozenset(
    {"issued_on", "received_on", "valid_from", "valid_until", "previous_valid_until", "window_opens",
     "suspended_on", "statement_deadline", "statement_received_on", "terminated_on", "rectification_deadline",
     "wrapup_deadline", "corrected_issued_on", "report_deadline", "decided_on"}
)
SEAL_PREFIX = "data:image/png;base64,"
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
BOOL_KEYS = frozenset({"approved", "simplified", "invalid_results"})
# Least value of each whole-number key.
INT_KEYS: dict[str, int] = {"statement_days": 1, "days_left": 0, "report_year": 2000, "rectification_days": 1}
# Coded values and the table that names them (the same tables the filters use).
CODE_KEYS: dict[str, tuple[Mapping[str, str], str]] = {
    "reminder": (REMINDER_NAMES, "提醒次数"),
    "decision": (REVIEW_DECISION_NAMES, "复核决定"),
    "measure": (DECISION_MEASURES, "处理决定"),
    "termination_kind": (TERMINATION_KIND_NAMES, "终止备案类型"),
}
CHANGE_REQUIRED: dict[str, str] = {"label": "变更事项名称", "after": "变更后内容"}
BRANCH_REQUIRED: dict[str, str] = {"name": "分支机构名称", "filing_number": "分支机构备案编号"}

# Statutory default (Sichuan 附件3 一.2 / 二.2); a region may pass its own value as `acceptance_working_days`.
DEFAULT_ACCEPTANCE_WORKING_DAYS = 10


@dataclass(frozen=True)
class RenderedDocument:
    kind: str
    title: str
    number: str
    html: str


# --- filters: the one place where codes become the words printed on a document ------------------


def _label(table: Mapping[Any, str], code: Any, what: str) -> str:
    try:
        return table[code]
    except (KeyError, TypeError):
        # An unknown code must not print as a blank or as the raw code on an official document.
        raise ValueError(f"未知的{what}：{code!r}") from None


def institution_type_name(code: str) -> str:
    return _label(INSTITUTION_TYPE_NAMES, code, "机构类型")


def level_name(level: int) -> str:
    # bool is an int; True must not pass as level 1.
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(f"未知的职业技能等级：{level!r}")
    return _label(LEVEL_NAMES, level, "职业技能等级")


def level_names(levels: Iterable[int]) -> str:
    """Levels from low to high (五级 first), as in the Sichuan application form."""
    items = list(levels)
    if not items:
        raise ValueError("职业技能等级不能为空")
    for level in items:
        level_name(level)
    return "、".join(level_name(level) for level in sorted(set(items), reverse=True))


def basis_name(code: str) -> str:
    return _label(BASIS_NAMES, code, "评价依据")


def stage_name(code: str) -> str:
    return _label(STAGE_NAMES, code, "审查环节")


def termination_kind_name(code: str) -> str:
    return _label(TERMINATION_KIND_NAMES, code, "终止备案类型")


def reminder_name(code: str) -> str:
    return _label(REMINDER_NAMES, code, "提醒次数")


def review_decision_name(code: str, measure: str = "ordered_termination") -> str:
    names = TERMINATION_REVIEW_DECISION_NAMES if measure == "ordered_termination" else REVIEW_DECISION_NAMES
    return _label(names, code, "复核决定")


def decision_measures(measure: str, invalid_results: bool = False, certificate_data_detail: str | None = None,
                      rectification_days: int | None = None) -> list[str]:
    """What a decision does, item by item, as the notice of the intended decision and the review decision say it."""
    items = [_label(DECISION_MEASURES, measure, "处理决定")]
    if measure == "interview" and invalid_results:
        items[0] += "，并对相应评价成绩（结果）作无效处理"
    if measure == "warning" and rectification_days:
        items[0] += f"（整改期限为{rectification_days}个工作日）"
    if certificate_data_detail:
        items.append(f"撤销你单位违规上传的证书数据（{certificate_data_detail}）")
    return items


def _default_title(kind: str, context: Mapping[str, Any]) -> str:
    if kind == "intended_decision":
        return INTENDED_DECISION_TITLES.get(str(context["measure"]), INTENDED_DECISION_DEFAULT_TITLE)
    return TITLES[kind]


def as_list(value: str | Sequence[str]) -> list[str]:
    """Reasons, missing items and articles may be given as one string or as a list of strings."""
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def _to_date(value: date | datetime | str) -> date:
    if isinstance(value, str):
        text = value.strip()
        try:
            # A bare date has no time of day to convert; anything with a time part is a timestamp.
            parsed: date = (
                datetime.fromisoformat(text) if ("T" in text or " " in text) else date.fromisoformat(text)
            )
        except ValueError:
            raise ValueError(f"无法识别的日期：{value!r}（应为 ISO 8601 格式，如 2026-10-15）") from None
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive timestamp would be read in whatever zone the server runs in; refuse to guess.
            raise ValueError(f"时间缺少时区信息，无法确定日期：{value.isoformat()}")
        return value.astimezone(SHANGHAI).date()
    if isinstance(value, date):
        return value
    raise ValueError(f"无法识别的日期：{value!r}")


def chinese_date(d: date | datetime | str) -> str:
    """2026年10月15日 — Arabic numerals, no leading zeros, as GB/T 9704 prescribes for 成文日期."""
    day = _to_date(d)
    return f"{day.year}年{day.month}月{day.day}日"


def qr_data_uri(url: str) -> str:
    """The QR code of a web address, as an SVG data: URL (no file, no network: drawn by segno in memory).

    Exactly segno's `segno.make(url, error="m")`, best data mask included (the easiest to scan), with that mask
    chosen by qr_mask in a fraction of segno's time."""
    # Only where a QR code is drawn: a step that issues no document loads neither it nor segno.
    from adapters.outside import qr_mask

    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 500:
        raise ValueError(f"核验网址应为 http(s) 网址：{url!r}")
    return str(qr_mask.make(url, error="m").svg_data_uri(scale=4, border=2))


def readable_url(url: str) -> str:
    """A web address as people read and type it (川技评备〔2026〕0001号, not its percent-encoding)."""
    return unquote(url)


def _build_environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(decision_measures=decision_measures)
    env.filters.update(
        chinese_date=chinese_date,
        institution_type_name=institution_type_name,
        level_name=level_name,
        level_names=level_names,
        basis_name=basis_name,
        stage_name=stage_name,
        termination_kind_name=termination_kind_name,
        reminder_name=reminder_name,
        review_decision_name=review_decision_name,
        as_list=as_list,
        qr_data_uri=qr_data_uri,
        readable_url=readable_url,
    )
    return env


@cache
def _environment() -> Environment:
    """Built when the first document is rendered (Jinja is not loaded by a command that renders none)."""
    return _build_environment()


# --- context checks ---------------------------------------------------------------------------


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Sequence | Mapping):
        return len(value) == 0
    return False


def _missing(title: str, key: str, label: str) -> ValueError:
    return ValueError(f"{title}缺少必需的内容：{key}（{label}）")


def _check_keys(title: str, data: Mapping[str, Any], required: Mapping[str, str], prefix: str = "") -> None:
    for key, label in required.items():
        if key not in data or _is_blank(data[key]):
            raise _missing(title, f"{prefix}{key}", label)


def _check_text_items(title: str, key: str, label: str, value: Any) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, Sequence) or any(not isinstance(item, str) for item in value):
        raise ValueError(f"{title}的 {key}（{label}）应为文字或文字列表")
    for index, item in enumerate(value):
        if not item.strip():
            raise _missing(title, f"{key}[{index}]", label)


def _check_records(
    title: str, key: str, label: str, value: Any, required: Mapping[str, str], optional: Sequence[str] = ()
) -> None:
    """A list of small records (changes, branches): each a mapping of non-blank texts."""
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        raise ValueError(f"{title}的 {key}（{label}）应为列表")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValueError(f"{title}的 {key}[{index}] 应为字典")
        _check_keys(title, item, required, prefix=f"{key}[{index}].")
        for field in [*required, *optional]:
            if item.get(field) is not None and not isinstance(item[field], str):
                raise ValueError(f"{title}的 {key}[{index}].{field} 应为文字")


def _check_value(title: str, key: str, label: str, value: Any) -> None:
    """The type of one content value; the label names it in the message a caseworker may see."""
    if key in TEXT_LIST_KEYS:
        _check_text_items(title, key, label, value)
    elif key in TEXT_KEYS:
        if not isinstance(value, str):
            raise ValueError(f"{title}的 {key}（{label}）应为文字")
    elif key in DATE_KEYS:
        try:
            _to_date(value)
        except ValueError as exc:
            raise ValueError(f"{title}的 {key}（{label}）：{exc}") from None
    elif key in BOOL_KEYS:
        # 1, "否" or "false" must not slip through as a yes or a no on an official document.
        if not isinstance(value, bool):
            raise ValueError(f"{title}的 {key}（{label}）应为是或否（布尔值），收到：{value!r}")
    elif key in INT_KEYS:
        least = INT_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{title}的 {key}（{label}）应为不小于{least}的整数，收到：{value!r}")
    elif key in CODE_KEYS:
        table, what = CODE_KEYS[key]
        _label(table, value, what)
    elif key == "changes":
        _check_records(title, key, label, value, CHANGE_REQUIRED, optional=("before",))
    elif key == "branches":
        _check_records(title, key, label, value, BRANCH_REQUIRED)


def _check_period(title: str, context: Mapping[str, Any], first: str, last: str, required: Mapping[str, str]) -> None:
    """A period whose end precedes its start is a mistake that must not be printed."""
    if first in required and last in required and _to_date(context[first]) > _to_date(context[last]):
        raise ValueError(f"{title}的{required[first]}晚于{required[last]}")


def _check_values(kind: str, title: str, context: Mapping[str, Any]) -> None:
    required = KIND_REQUIRED[kind]
    optional = KIND_OPTIONAL.get(kind, {})
    for key, label in {**COMMON_REQUIRED, **required, **optional}.items():
        if key in COMMON_REQUIRED or key in required or context.get(key) is not None:
            _check_value(title, key, label, context[key])
    if kind == "change_decision" and context["approved"] is False and _is_blank(context.get("reasons")):
        # A refusal without its reasons is exactly the blank this module exists to prevent.
        raise _missing(title, "reasons", optional["reasons"])
    _check_period(title, context, "valid_from", "valid_until", required)
    _check_period(title, context, "window_opens", "valid_until", required)
    if kind == "renewal_notice" and _to_date(context["valid_from"]) <= _to_date(context["previous_valid_until"]):
        raise ValueError(f"{title}的续期后备案有效期应在原备案有效期截止日期之后开始")


def _check_context(kind: str, context: Mapping[str, Any]) -> None:
    title = TITLES[kind]
    required = {**COMMON_REQUIRED, **KIND_REQUIRED[kind]}
    _check_keys(title, context, required)
    for key, label in COMMON_OPTIONAL.items():
        if context.get(key) is not None:
            _check_value(title, key, label, context[key])
    seal = context.get("seal")
    if seal is not None and not (isinstance(seal, str) and seal.startswith(SEAL_PREFIX)
                                 and _BASE64.fullmatch(seal[len(SEAL_PREFIX):])):
        raise ValueError(f"{title}的印章图片应为 PNG 图片的 data: 地址")

    institution = context["institution"]
    if not isinstance(institution, Mapping):
        raise ValueError(f"{title}的 institution（机构信息）应为字典")
    _check_keys(title, institution, INSTITUTION_REQUIRED, prefix="institution.")

    for key in ("reasons", "missing", "articles"):
        if key in required:
            _check_text_items(title, key, required[key], context[key])
    if kind in TYPED_KINDS:
        _check_values(kind, title, context)

    occupations = context.get("occupations")
    if occupations is not None:
        if isinstance(occupations, str | Mapping) or not isinstance(occupations, Sequence):
            raise ValueError(f"{title}的 occupations（备案职业（工种））应为列表")
        for index, occupation in enumerate(occupations):
            if not isinstance(occupation, Mapping):
                raise ValueError(f"{title}的 occupations[{index}] 应为字典")
            _check_keys(title, occupation, OCCUPATION_REQUIRED, prefix=f"occupations[{index}].")


_UNDEFINED_PATTERNS = (
    re.compile(r"has no attribute '([^']+)'"),
    re.compile(r"has no element (\S+)"),
    re.compile(r"^'([^']+)' is undefined"),
)


def _undefined_to_value_error(title: str, exc: UndefinedError) -> ValueError:
    """StrictUndefined is the safety net for anything the checks above do not list."""
    message = str(exc)
    for pattern in _UNDEFINED_PATTERNS:
        match = pattern.search(message)
        if match:
            return ValueError(f"{title}缺少必需的内容：{match.group(1)}")
    return ValueError(f"{title}缺少必需的内容：{message}")


def render_document(kind: str, context: Mapping[str, Any]) -> RenderedDocument:
    if kind not in TITLES:
        raise ValueError(f"未知的文书类型：{kind!r}（可选：{'、'.join(TITLES)}）")
    title = TITLES[kind]
    _check_context(kind, context)

    number = str(context["document_number"])
    # A region whose text names the document differently (Beijing 确认回执, Jilin 备案通知) gives its own title.
    title = str(context.get("title") or _default_title(kind, context))

    values = dict(context)
    values.setdefault("acceptance_working_days", DEFAULT_ACCEPTANCE_WORKING_DAYS)
    values.setdefault("on_behalf_of", None)
    values.setdefault("seal", None)
    values["doc"] = {"kind": kind, "title": title, "number": number}
    from jinja2 import UndefinedError

    try:
        html = _environment().get_template(f"{kind}.html").render(values)
    except UndefinedError as exc:
        raise _undefined_to_value_error(title, exc) from exc
    return RenderedDocument(kind=kind, title=title, number=number, html=html)
