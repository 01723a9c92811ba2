"""Holiday arrangements an administrator loads: the State Council's notice of a year chinesecalendar does not know
yet, or a correction, as a checked `YearArrangement` (and its JSON file form)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tasks.calendar.common import MAX_YEAR, MIN_YEAR, ONE_DAY, weekday_name


class ArrangementError(ValueError):
    """An administrator-supplied holiday arrangement is malformed (message in Chinese)."""


def _in_arrangement_window(day: date, year: int) -> bool:
    """A year's notice covers that year, plus the New Year's break reaching back into late December.

    Real notices do this (the 2019 notice: 2018-12-29 worked, 2018-12-30 to 2019-01-01 off), so the last
    week of the previous December is accepted; any other date outside the year is a mistake.
    """
    return day.year == year or (day.year == year - 1 and day.month == 12 and day.day >= 25)


def _validate_days(year: int, holidays: Mapping[date, str], workdays: Mapping[date, str]) -> None:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ArrangementError(f"年份无效：{year!r}（应为{MIN_YEAR}至{MAX_YEAR}之间的整数）")
    for kind, days in (("假期", holidays), ("调休上班日", workdays)):
        for day, name in days.items():
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ArrangementError(f"{kind}日期无效：{day!r}")
            if not isinstance(name, str) or not name.strip():
                raise ArrangementError(f"{kind} {day.isoformat()} 缺少名称")
            if not _in_arrangement_window(day, year):
                raise ArrangementError(f"{kind} {day.isoformat()}（{name}）不在{year}年的安排范围内")
    for day in workdays:
        if day.weekday() < 5:
            raise ArrangementError(
                f"调休上班日 {day.isoformat()}（{workdays[day]}）是{weekday_name(day)}，"
                "调休上班日应为星期六或星期日"
            )
        if day in holidays:
            raise ArrangementError(
                f"{day.isoformat()} 同时被列为假期（{holidays[day]}）和调休上班日（{workdays[day]}）"
            )


@dataclass(frozen=True)
class YearArrangement:
    """The official holiday arrangement of one year, as loaded by an administrator."""

    year: int
    holidays: dict[date, str]  # day off -> holiday name, e.g. 国庆节
    workdays: dict[date, str]  # swapped working day (调休上班, a weekend day that is worked) -> holiday name
    source: str = ""  # e.g. the State Council notice's title

    def __post_init__(self) -> None:
        _validate_days(self.year, self.holidays, self.workdays)
        # Own sorted copies: the caller's dicts must not change the arrangement afterwards.
        object.__setattr__(self, "holidays", dict(sorted(self.holidays.items())))
        object.__setattr__(self, "workdays", dict(sorted(self.workdays.items())))
        object.__setattr__(self, "source", self.source.strip() if isinstance(self.source, str) else "")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _entry_label(kind: str, index: int, entry: Any) -> str:
    try:
        shown = json.dumps(entry, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        shown = repr(entry)
    return f"{kind}第{index}条 {shown}"


def _parse_date(value: Any, label: str, key: str, year: int) -> date:
    if isinstance(value, datetime):
        raise ArrangementError(f"{label}：“{key}”应为日期（YYYY-MM-DD），不能带时间")
    if isinstance(value, date):  # YAML loaders already turn 2027-01-01 into a date
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ArrangementError(f"{label}：“{key}”不是有效日期：{value}") from None
    else:
        raise ArrangementError(f"{label}：“{key}”应为YYYY-MM-DD格式的日期，实际为 {value!r}")
    if not _in_arrangement_window(day, year):
        raise ArrangementError(f"{label}：日期 {day.isoformat()} 不在{year}年内")
    return day


def _check_keys(obj: Any, required: set[str], optional: set[str], label: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise ArrangementError(f"{label}：应为一个对象（键值对）")
    missing = sorted(required - obj.keys())
    extra = sorted(str(k) for k in obj.keys() - required - optional)
    if missing:
        raise ArrangementError(f"{label}：缺少字段 {'、'.join(missing)}")
    if extra:
        raise ArrangementError(f"{label}：含有不认识的字段 {'、'.join(extra)}")
    return obj


def _parse_name(obj: Mapping[str, Any], label: str) -> str:
    name = obj["name"]
    if not isinstance(name, str) or not name.strip():
        raise ArrangementError(f"{label}：“name”应为非空的节日名称")
    return name.strip()


def parse_arrangement(data: dict) -> YearArrangement:
    """Read the documented arrangement file format (JSON, or YAML parsed into the same dict).

    Raises ArrangementError with a Chinese message naming the offending entry.
    """
    top = _check_keys(data, {"year", "holidays", "workdays"}, {"source"}, "节假日安排文件")
    year = top["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ArrangementError(
            f"节假日安排文件：“year”应为{MIN_YEAR}至{MAX_YEAR}之间的整数年份，实际为 {year!r}"
        )
    source = top.get("source", "")
    if not isinstance(source, str):
        raise ArrangementError("节假日安排文件：“source”应为文字（通知标题）")
    for key in ("holidays", "workdays"):
        if not isinstance(top[key], list):
            raise ArrangementError(f"节假日安排文件：“{key}”应为列表")
    if not top["holidays"]:
        raise ArrangementError("节假日安排文件：“holidays”为空，一年的安排至少包含法定节假日")

    holidays: dict[date, str] = {}
    holiday_owner: dict[date, str] = {}
    for index, entry in enumerate(top["holidays"], start=1):
        label = _entry_label("假期", index, entry)
        _check_keys(entry, {"name", "from", "to"}, set(), label)
        name = _parse_name(entry, label)
        first = _parse_date(entry["from"], label, "from", year)
        last = _parse_date(entry["to"], label, "to", year)
        if first > last:
            raise ArrangementError(f"{label}：开始日期 {first.isoformat()} 晚于结束日期 {last.isoformat()}")
        day = first
        while day <= last:
            if day in holidays:
                raise ArrangementError(
                    f"{label}：{day.isoformat()} 已在 {holiday_owner[day]} 中列出；"
                    "同一天放假只列一次（合并放假可命名为“国庆节、中秋节”）"
                )
            holidays[day] = name
            holiday_owner[day] = label
            day += ONE_DAY

    workdays: dict[date, str] = {}
    for index, entry in enumerate(top["workdays"], start=1):
        label = _entry_label("调休上班日", index, entry)
        _check_keys(entry, {"name", "date"}, set(), label)
        name = _parse_name(entry, label)
        day = _parse_date(entry["date"], label, "date", year)
        if day in workdays:
            raise ArrangementError(f"{label}：{day.isoformat()} 重复列出")
        if day in holidays:
            raise ArrangementError(
                f"{label}：{day.isoformat()} 同时在 {holiday_owner[day]} 中被列为假期，一天不能既放假又上班"
            )
        if day.weekday() < 5:
            raise ArrangementError(
                f"{label}：{day.isoformat()} 是{weekday_name(day)}，调休上班日应为星期六或星期日"
            )
        workdays[day] = name

    return YearArrangement(year=year, holidays=holidays, workdays=workdays, source=source)


def arrangement_to_dict(a: YearArrangement) -> dict:
    """The inverse of parse_arrangement: consecutive days off with the same name become one range."""
    ranges: list[dict[str, str]] = []
    for day, name in sorted(a.holidays.items()):
        last = ranges[-1] if ranges else None
        if last and last["name"] == name and date.fromisoformat(last["to"]) + ONE_DAY == day:
            last["to"] = day.isoformat()
        else:
            ranges.append({"name": name, "from": day.isoformat(), "to": day.isoformat()})
    return {
        "year": a.year,
        "source": a.source,
        "holidays": ranges,
        "workdays": [{"name": name, "date": day.isoformat()} for day, name in sorted(a.workdays.items())],
    }
