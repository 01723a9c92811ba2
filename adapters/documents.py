"""Official documents (备案回执 and notices) rendered from Jinja2 templates.

Every document is self-contained HTML laid out like a Chinese official document (GB/T 9704 style:
issuing authority, document number, title, addressee, body, issuing authority and date at the end).
The caller passes plain data; this module checks that everything a document must state is present
before rendering, so a notice never goes out with a blank where a reason or a date should be.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError

DocumentKind = Literal["filing_receipt", "rejection_notice", "supplement_notice", "not_filed_notice"]

TITLES: dict[str, str] = {
    "filing_receipt": "职业技能等级评价机构备案回执",
    "rejection_notice": "不予受理通知书",
    "supplement_notice": "补正材料通知书",
    "not_filed_notice": "不予备案通知书",
}

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATE_DIR = Path(__file__).with_name("templates") / "documents"

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
AUTHORITY_LEVEL_NAMES: dict[str, str] = {
    "provincial": "省级",
    "municipal": "市（州）级",
}
STAGE_NAMES: dict[str, str] = {
    "acceptance": "受理审查",
    "expert_review": "专家评估",
    "site_inspection": "现场考察",
    "higher_review": "上级复核",
    "objection_review": "公示异议核查",
}

# What each document must be given, with the label used in the error message a caseworker may see.
COMMON_REQUIRED: dict[str, str] = {
    "case": "案件编号",
    "institution": "机构信息",
    "authority_name": "发文机关名称",
    "issued_on": "成文日期",
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
        "authority_level": "备案机关层级",
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
}

# Statutory default (Sichuan 附件3 一.2 / 二.2); a region may pass its own value as `acceptance_working_days`.
DEFAULT_ACCEPTANCE_WORKING_DAYS = 10


@dataclass(frozen=True)
class RenderedDocument:
    kind: str
    title: str
    number: str | None
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


def authority_level_name(code: str) -> str:
    return _label(AUTHORITY_LEVEL_NAMES, code, "备案机关层级")


def stage_name(code: str) -> str:
    return _label(STAGE_NAMES, code, "审查环节")


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


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        chinese_date=chinese_date,
        institution_type_name=institution_type_name,
        level_name=level_name,
        level_names=level_names,
        basis_name=basis_name,
        authority_level_name=authority_level_name,
        stage_name=stage_name,
        as_list=as_list,
    )
    return env


_ENV = _build_environment()


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


def _check_context(kind: str, context: Mapping[str, Any]) -> None:
    title = TITLES[kind]
    required = {**COMMON_REQUIRED, **KIND_REQUIRED[kind]}
    _check_keys(title, context, required)

    institution = context["institution"]
    if not isinstance(institution, Mapping):
        raise ValueError(f"{title}的 institution（机构信息）应为字典")
    _check_keys(title, institution, INSTITUTION_REQUIRED, prefix="institution.")

    for key in ("reasons", "missing", "articles"):
        if key in required:
            _check_text_items(title, key, required[key], context[key])

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

    number: str | None
    document_number = context.get("document_number")
    if not _is_blank(document_number):
        number = str(document_number)
    elif kind == "filing_receipt":
        # The receipt's reference is the filing number itself (Sichuan 附件3 一.4).
        number = str(context["filing_number"])
    else:
        number = None

    values = dict(context)
    values.setdefault("acceptance_working_days", DEFAULT_ACCEPTANCE_WORKING_DAYS)
    values["doc"] = {"kind": kind, "title": title, "number": number}
    try:
        html = _ENV.get_template(f"{kind}.html").render(values)
    except UndefinedError as exc:
        raise _undefined_to_value_error(title, exc) from exc
    return RenderedDocument(kind=kind, title=title, number=number, html=html)
