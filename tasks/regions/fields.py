"""The checks of single settings in ``regions.toml``: each returns None or the Chinese rest of a sentence saying
what is wrong, so that the parser can report every problem of the file at once."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date
from typing import Any

from tasks import articles as _articles
from tasks.regions.model import (
    AUTHORITY_LEVELS,
    INSPECTION_METHODS,
    INSTITUTION_TYPES,
    MATERIAL_KEY,
    NUMBER_FIELDS,
    OTHER_MATERIAL,
    PROVINCES,
    SANCTION_MEASURES,
)

TYPE_NAMES = {
    str: "字符串", int: "整数", bool: "布尔值", float: "小数", list: "数组", dict: "表", date: "日期",
}


def check_field(kind: str, value: Any) -> str | None:
    """None if ``value`` fits ``kind``, else the Chinese rest of a sentence saying what is wrong."""
    if kind == "text":
        return None if isinstance(value, str) and value.strip() else expected("非空字符串", value)
    if kind == "province_code":
        if isinstance(value, str) and len(value) == 2 and value.isdigit():
            return None if value in PROVINCES else f"“{value}”不是省级行政区划代码"
        return expected("两位数字的字符串", value)
    if kind == "bool":
        return None if isinstance(value, bool) else expected("布尔值（true/false）", value)
    if kind == "positive_int":
        if isinstance(value, int) and not isinstance(value, bool):
            return None if value >= 1 else f"应为正整数，实为 {value}"
        return expected("整数", value)
    if kind == "level_names":
        if not isinstance(value, Mapping) or set(value) != set(AUTHORITY_LEVELS):
            return expected("含 provincial 与 municipal 两项的表", value)
        if not all(isinstance(v, str) and v.strip() for v in value.values()):
            return "的取值应为非空字符串"
        return None
    if kind == "institution_types":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return expected("字符串数组", value)
        unknown = [v for v in value if v not in INSTITUTION_TYPES]
        if unknown:
            return f"含未知机构类型：{'、'.join(unknown)}（可选 {'、'.join(INSTITUTION_TYPES)}）"
        return "不应有重复的机构类型" if len(set(value)) != len(value) else None
    if kind == "inspection_methods":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            return expected("非空字符串数组", value)
        unknown = [v for v in value if v not in INSPECTION_METHODS]
        if unknown:
            return f"含未知考察方式：{'、'.join(unknown)}（可选 {'、'.join(INSPECTION_METHODS)}）"
        return "不应有重复的考察方式" if len(set(value)) != len(value) else None
    if kind == "sanction_ladder":
        if not isinstance(value, Mapping) or not all(isinstance(v, str) and v.strip() for v in value.values()):
            return expected("措施键到措施名称（非空字符串）的表", value)
        unknown = [key for key in value if key not in SANCTION_MEASURES]
        if unknown:
            return f"含未知措施：{'、'.join(unknown)}（可选 {'、'.join(SANCTION_MEASURES)}）"
        return None if "no_violation" in value else "须含 no_violation（调查未发现违规时的结论）"
    if kind == "material_key":
        if not isinstance(value, str):
            return expected("字符串", value)
        if value == OTHER_MATERIAL.key:
            return f"“{value}”是保留键（“{OTHER_MATERIAL.name}”由系统附加在每个清单末尾）"
        if not MATERIAL_KEY.fullmatch(value):
            return f"“{value}”应为小写 ASCII 字母、数字和下划线（如 application_form）"
        return None
    if kind == "month_days":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return expected("“MM-DD”字符串数组", value)
        bad = [v for v in value if month_day(v) is None]
        return f"含无效日期：{'、'.join(bad)}（格式 MM-DD，不可用 02-29）" if bad else None
    if kind == "number_format":
        return number_format_problem(value)
    if kind == "issuers":
        return issuer_defaults_problem(value)
    if kind == "level":
        return None if value in ("case", "provincial") else expected("“case”或“provincial”", value)
    if kind == "titles":
        if not isinstance(value, Mapping) or not all(isinstance(v, str) and v.strip() for v in value.values()):
            return expected("文书类别 = 标题 的表", value)
        return None
    if kind == "articles":
        if not isinstance(value, Mapping):
            return expected("表", value)
        unknown = [k for k in value if k not in _articles.ARTICLE_KEYS]
        if unknown:
            return f"含未知条文键：{'、'.join(unknown)}（可用的键见 tasks/articles.py ARTICLE_KEYS）"
        empty = [k for k, v in value.items() if not (isinstance(v, str) and v.strip())]
        return f"中 {'、'.join(empty)} 应为非空字符串" if empty else None
    raise AssertionError(f"unknown field kind {kind}")


def expected(what: str, value: Any) -> str:
    found = TYPE_NAMES.get(type(value), type(value).__name__)
    return f"应为{what}，实为{found} {value!r}"


def month_day(text: str) -> tuple[int, int] | None:
    """(month, day) for a valid "MM-DD" in every year; 02-29 is refused (it does not exist most years)."""
    if len(text) != 5 or text[2] != "-" or not (text[:2] + text[3:]).isdigit():
        return None
    month, day = int(text[:2]), int(text[3:])
    try:
        date(2001, month, day)  # a non-leap year
    except ValueError:
        return None
    return month, day


def windows_overlap(deadlines: list[str], opens: list[str]) -> bool:
    """Whether fixed intake windows (opens[i] .. deadlines[i]) overlap; checked over three years."""
    spans: list[tuple[date, date]] = []
    for year in (2001, 2002, 2003):
        for open_text, close_text in zip(opens, deadlines, strict=True):
            open_md, close_md = month_day(open_text), month_day(close_text)
            assert open_md and close_md
            close = date(year, *close_md)
            start = date(year, *open_md)
            if start > close:  # the window starts in the previous year
                start = date(year - 1, *open_md)
            spans.append((start, close))
    spans.sort()
    return any(later[0] <= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def number_format_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return expected("非空字符串", value)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        return f"不是有效的格式字符串：{exc}"
    unknown = sorted(name for name in names if name not in NUMBER_FIELDS)
    if unknown:
        return f"含未知占位符：{'、'.join(unknown)}（可用：{'、'.join(sorted(NUMBER_FIELDS))}）"
    missing = [name for name in ("year", "seq") if name not in names]
    if missing:
        return f"缺少占位符：{'、'.join('{' + m + '}' for m in missing)}（有年度和序号才能保证编号唯一）"
    samples = set()
    trials = [(year, seq) for year in (2026, 2027) for seq in (1, 2, 10, 11, 999, 1000, 9999, 10000, 123456)]
    for year, seq in trials:
        try:
            samples.add(sample_number(value, year, seq))
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            return f"无法格式化：{exc}"
    if len(samples) != len(trials):
        return "对不同的年度或序号生成了相同的编号"
    return None


def sample_number(number_format: str, year: int, seq: int, *, abbr: str = "样", province: str = "51",
                   level: str = "省") -> str:
    region = province + "0100"
    return number_format.format(
        province_abbr=abbr, province_code=province, region_code=region, city_code=region[:4],
        year=year, seq=seq, level=level,
    )


def distinct_numbers_across(checked: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Two regions must never produce the same number for the same year and sequence."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    reported: set[tuple[str, str]] = set()
    for key, values in checked.items():
        for level in values["authority_level_names"].values():
            number = sample_number(
                values["number_format"], 2026, 1, abbr=values["province_abbr"],
                province=values["province_code"], level=level,
            )
            if number in owner and owner[number] != key and (key, owner[number]) not in reported:
                reported.add((key, owner[number]))
                problems.append(
                    f"地区 {key} 与地区 {owner[number]} 会生成相同的备案编号（如 {number}），"
                    "请区分 number_format 或 province_abbr"
                )
            owner.setdefault(number, key)
    return problems


def month_day_in_year(text: str, year: int) -> date:
    """The date of a checked "MM-DD" setting in ``year``."""
    parsed = month_day(text)
    if parsed is None:
        raise ValueError(f"无效的月日“{text}”，格式应为 MM-DD")
    return date(year, *parsed)


_DIVISION = re.compile(r"\{division(_short)?\}")


def issuer_defaults_problem(templates: Any) -> str | None:
    """A region's `issuers` table: per level the name of the body that issues (name), its short name in document
    numbers (short) and the authority it acts for (on_behalf_of, optional); `{division}` stands for the city's or
    district's name and `{division_short}` for its first two characters (tasks/issuers.py)."""
    if not isinstance(templates, Mapping) or set(templates) != set(AUTHORITY_LEVELS):
        return expected("含 provincial 与 municipal 两项的表", templates)
    for level, entry in templates.items():
        if not isinstance(entry, Mapping) or not {"name", "short"} <= set(entry) <= {"name", "short", "on_behalf_of"}:
            return f"的 {level} 应为含 name、short（可加 on_behalf_of）的表"
        for key, value in entry.items():
            if not isinstance(value, str) or not value.strip():
                return f"的 {level}.{key} 应为非空字符串"
            rest = _DIVISION.sub("", value)
            if "{" in rest or "}" in rest:
                return f"的 {level}.{key} 只能用占位符 {{division}}（市、区名称）或 {{division_short}}（其前两字）"
    return None
