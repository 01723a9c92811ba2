"""Working-day calendar: official holiday arrangements, the statutory fallback, and legal deadlines.

Which days are worked in China is decided each year by the State Council's holiday arrangement
(国务院办公厅关于某年部分节假日安排的通知): public holidays are days off and some weekend days are
swapped into working days (调休上班). For a given year the calendar uses, in order of priority:

1. ``loaded``    — an arrangement an administrator has loaded (the notice of a year chinesecalendar
                   does not know yet, or a correction);
2. ``official``  — the arrangements bundled with ``chinesecalendar`` (2004–2026 in version 1.11);
3. ``statutory`` — the holidays fixed by law (全国年节及纪念日放假办法, as revised in 2024) plus
                   weekends, without swapped days. Deadlines that touch such a year are *provisional*
                   and must be recomputed once the year's arrangement is loaded.

Pure: no I/O. Loaded arrangements are passed in as data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import chinese_calendar
import lunardate

SHANGHAI = ZoneInfo("Asia/Shanghai")

Source = Literal["loaded", "official", "statutory"]
Rule = Literal["within", "publicity"]

_ONE_DAY = timedelta(days=1)

# The lunar and solar-term helpers we rely on cover these Gregorian years.
MIN_YEAR = 1901
MAX_YEAR = 2099

REASON_WEEKEND = "周末"
REASON_SWAPPED = "调休上班"
REASON_WORKDAY = "工作日"

# chinesecalendar names holidays in English; caseworkers read Chinese.
_OFFICIAL_NAMES: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

_SOURCE_BASIS: dict[str, str] = {
    "official": "国务院办公厅节假日安排（chinesecalendar）",
    "loaded": "管理员载入的国务院办公厅节假日安排",
    "statutory": "《全国年节及纪念日放假办法》规定的法定节假日及周末（暂定，未含调休）",
}


class ArrangementError(ValueError):
    """An administrator-supplied holiday arrangement is malformed (message in Chinese)."""


# ---------------------------------------------------------------------------------------------------------
# Arrangements loaded by an administrator
# ---------------------------------------------------------------------------------------------------------


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
                f"调休上班日 {day.isoformat()}（{workdays[day]}）是{_weekday_name(day)}，"
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
            day += _ONE_DAY

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
                f"{label}：{day.isoformat()} 是{_weekday_name(day)}，调休上班日应为星期六或星期日"
            )
        workdays[day] = name

    return YearArrangement(year=year, holidays=holidays, workdays=workdays, source=source)


def arrangement_to_dict(a: YearArrangement) -> dict:
    """The inverse of parse_arrangement: consecutive days off with the same name become one range."""
    ranges: list[dict[str, str]] = []
    for day, name in sorted(a.holidays.items()):
        last = ranges[-1] if ranges else None
        if last and last["name"] == name and date.fromisoformat(last["to"]) + _ONE_DAY == day:
            last["to"] = day.isoformat()
        else:
            ranges.append({"name": name, "from": day.isoformat(), "to": day.isoformat()})
    return {
        "year": a.year,
        "source": a.source,
        "holidays": ranges,
        "workdays": [{"name": name, "date": day.isoformat()} for day, name in sorted(a.workdays.items())],
    }


# ---------------------------------------------------------------------------------------------------------
# The statutory fallback (全国年节及纪念日放假办法, revised 2024, in force from 2025)
# ---------------------------------------------------------------------------------------------------------


def _check_supported(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"{year}年超出工作日历支持的范围（{MIN_YEAR}—{MAX_YEAR}年）")


def qingming(year: int) -> date:
    """The day of the solar term 清明 (4 or 5 April), from chinesecalendar's solar-term formula.

    The formula (寿星通式 with its correction table) matches every official Qingming holiday 2008–2026.
    """
    _check_supported(year)
    for day, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30)):
        if name == "清明":
            return day
    raise AssertionError(f"no 清明 found in April {year}")  # the formula always yields one


def _lunar(year: int, month: int, day: int) -> date:
    return lunardate.LunarDate(year, month, day).to_solar_date()


# The order in which 全国年节及纪念日放假办法 lists the festivals.
_LAW_ORDER = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")


@lru_cache(maxsize=256)
def _statutory_holidays(year: int) -> tuple[tuple[date, str], ...]:
    _check_supported(year)
    days: dict[date, list[str]] = {}

    def add(day: date, name: str) -> None:
        # Each festival belongs to the Gregorian year it falls in, whatever its lunar year.
        if day.year == year and name not in days.setdefault(day, []):
            days[day].append(name)

    add(date(year, 1, 1), "元旦")
    for lunar_year in (year - 1, year, year + 1):
        if not 1900 <= lunar_year <= MAX_YEAR:
            continue
        new_year = _lunar(lunar_year, 1, 1)
        for offset in range(-1, 3):  # 除夕 (the day before lunar 1/1, i.e. 12/29 or 12/30), then 1/1–1/3
            add(new_year + timedelta(days=offset), "春节")
        add(_lunar(lunar_year, 5, 5), "端午节")
        add(_lunar(lunar_year, 8, 15), "中秋节")
    add(qingming(year), "清明节")
    add(date(year, 5, 1), "劳动节")
    add(date(year, 5, 2), "劳动节")
    for day_of_october in (1, 2, 3):
        add(date(year, 10, day_of_october), "国庆节")
    # Days shared by two festivals (Mid-Autumn on 1–3 October) carry both names, in the law's order.
    return tuple((day, "、".join(sorted(names, key=_LAW_ORDER.index))) for day, names in sorted(days.items()))


def statutory_holidays(year: int) -> dict[date, str]:
    """Days off fixed by law for a Gregorian year (no swapped days, no compensation), date -> name."""
    return dict(_statutory_holidays(year))


# ---------------------------------------------------------------------------------------------------------
# The calendar
# ---------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _official_known(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:  # chinesecalendar's way of saying "no data for this year"
        return False
    return True


def _weekday_name(day: date) -> str:
    return "星期" + "一二三四五六日"[day.weekday()]


def _local_date(value: date | datetime, what: str = "日期") -> date:
    """The date in Asia/Shanghai of a date or an aware datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{what}缺少时区：请使用带时区的时间（如 Asia/Shanghai）")
        return value.astimezone(SHANGHAI).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"{what}应为 date 或 datetime，实际为 {type(value).__name__}")


# No statutory period comes near it (the longest are months); it keeps a mistyped period from counting for ever.
MAX_WORKING_DAYS = 1000


def _check_days(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"工作日数应为整数，实际为 {n!r}")
    if n < 1:
        raise ValueError(f"工作日数至少为1，实际为 {n}")
    if n > MAX_WORKING_DAYS:
        raise ValueError(f"工作日数不能超过 {MAX_WORKING_DAYS}，实际为 {n}")


@dataclass(frozen=True)
class DayInfo:
    day: date
    working: bool
    reason: str  # 工作日 / 周末 / 调休上班 / the holiday's name, e.g. 国庆节
    source: Source
    holiday: str = ""  # the festival the day belongs to (also for a swapped working day), else ""


class WorkingDayCalendar:
    """Answers "is this a working day" and computes working-day deadlines."""

    # No arrangement leaves a year without a working day; this bounds the loops should data be absurd.
    _MAX_CONSECUTIVE_DAYS_OFF = 60

    def __init__(self, arrangements: Mapping[int, YearArrangement] | None = None) -> None:
        loaded: dict[int, YearArrangement] = {}
        for year, arrangement in (arrangements or {}).items():
            if not isinstance(arrangement, YearArrangement):
                raise TypeError(f"{year}年的安排应为 YearArrangement，实际为 {type(arrangement).__name__}")
            if arrangement.year != year:
                raise ValueError(f"安排登记在{year}年下，但其内容是{arrangement.year}年的")
            loaded[year] = arrangement
        self._arrangements = loaded

    @property
    def arrangements(self) -> dict[int, YearArrangement]:
        return dict(self._arrangements)

    def with_arrangement(self, arrangement: YearArrangement) -> WorkingDayCalendar:
        """A new calendar with this year's arrangement loaded (replacing any earlier one for the year)."""
        return WorkingDayCalendar({**self._arrangements, arrangement.year: arrangement})

    # -- days --------------------------------------------------------------------------------------------

    def source(self, year: int) -> Source:
        if year in self._arrangements:
            return "loaded"
        if _official_known(year):
            return "official"
        _check_supported(year)
        return "statutory"

    def source_title(self, year: int) -> str:
        """The loaded notice's title for a year, or "" when the year is not loaded."""
        arrangement = self._arrangements.get(year)
        return arrangement.source if arrangement else ""

    def describe_day(self, day: date | datetime) -> DayInfo:
        day = _local_date(day)
        # Next year's notice may rule on the last days of December (the New Year's break): it is the
        # newer decision, so it wins over this year's data.
        spill = self._arrangements.get(day.year + 1)
        if spill and (day in spill.holidays or day in spill.workdays):
            return self._from_arrangement(day, spill)
        source = self.source(day.year)
        if source == "loaded":
            return self._from_arrangement(day, self._arrangements[day.year])
        if source == "official":
            return self._from_official(day)
        return self._from_statutory(day)

    def is_working_day(self, day: date | datetime) -> bool:
        return self.describe_day(day).working

    @staticmethod
    def _plain(day: date, source: Source) -> DayInfo:
        if day.weekday() >= 5:
            return DayInfo(day, False, REASON_WEEKEND, source)
        return DayInfo(day, True, REASON_WORKDAY, source)

    def _from_arrangement(self, day: date, arrangement: YearArrangement) -> DayInfo:
        if day in arrangement.workdays:
            return DayInfo(day, True, REASON_SWAPPED, "loaded", arrangement.workdays[day])
        if day in arrangement.holidays:
            name = arrangement.holidays[day]
            return DayInfo(day, False, name, "loaded", name)
        return self._plain(day, "loaded")

    def _from_official(self, day: date) -> DayInfo:
        on_holiday, english = chinese_calendar.get_holiday_detail(day)
        if english is None:
            return self._plain(day, "official")
        name = _OFFICIAL_NAMES.get(english, english)
        if on_holiday:
            return DayInfo(day, False, name, "official", name)
        # chinesecalendar lists a date that is named but not a day off only when it is a swapped working day.
        return DayInfo(day, True, REASON_SWAPPED, "official", name)

    def _from_statutory(self, day: date) -> DayInfo:
        name = dict(_statutory_holidays(day.year)).get(day)
        if name:
            return DayInfo(day, False, name, "statutory", name)
        return self._plain(day, "statutory")

    # -- deadlines ---------------------------------------------------------------------------------------

    def working_days_in(self, first: date, last: date) -> int:
        """How many working days from `first` to `last`, both included (0 if `last` is before `first`)."""
        count, day = 0, first
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def working_days_left(self, due: datetime, now: datetime) -> int:
        """Working days from today to the last day before `due` (a deadline due at 00:00 ends the day before),
        today included: what a caseworker has left."""
        last = (due - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
        return self.working_days_in(now.astimezone(SHANGHAI).date(), last)

    def within_working_days(self, event: date | datetime, n: int) -> Deadline:
        """'Within N working days of an event': counting starts the day after the event (Shanghai date)."""
        _check_days(n)
        start = _local_date(event, "事件时间")
        return self._count("within", start, start + _ONE_DAY, n)

    def add_working_days(self, start: date | datetime, n: int) -> Deadline:
        """Alias of within_working_days (the CLI's ``calendar add DATE N``)."""
        return self.within_working_days(start, n)

    def publicity_period(self, start: date | datetime, n: int) -> Deadline:
        """A publicity of N working days: the publication day is day 1 if it is a working day."""
        _check_days(n)
        published = _local_date(start, "公示开始时间")
        return self._count("publicity", published, published, n)

    def recompute(self, deadline: Deadline) -> Deadline:
        """The same deadline (rule, start, days) computed with this calendar, e.g. after loading a year."""
        if deadline.rule == "within":
            return self.within_working_days(deadline.start, deadline.days)
        return self.publicity_period(deadline.start, deadline.days)

    def _count(self, rule: Rule, start: date, begin: date, n: int) -> Deadline:
        counted = 0
        first_day: date | None = None
        skipped: list[tuple[date, str]] = []
        swapped: list[tuple[date, str]] = []
        day = begin - _ONE_DAY
        days_off_in_a_row = 0
        while counted < n:
            day += _ONE_DAY
            info = self.describe_day(day)
            if not info.working:
                skipped.append((day, info.reason))
                days_off_in_a_row += 1
                if days_off_in_a_row > self._MAX_CONSECUTIVE_DAYS_OFF:
                    since = _cn_date(day - timedelta(days=days_off_in_a_row - 1))
                    raise ValueError(f"自{since}起连续{days_off_in_a_row}天没有工作日，请检查节假日安排")
                continue
            days_off_in_a_row = 0
            counted += 1
            if first_day is None:
                first_day = day
            if info.reason == REASON_SWAPPED:
                swapped.append((day, info.holiday))
        assert first_day is not None
        last_day = day
        sources = {year: self.source(year) for year in range(start.year, last_day.year + 1)}
        titles = {year: self.source_title(year) for year, src in sources.items() if src == "loaded"}
        return Deadline(
            rule=rule,
            start=start,
            days=n,
            first_day=first_day,
            last_day=last_day,
            due_at=datetime.combine(last_day + _ONE_DAY, time(0), tzinfo=SHANGHAI),
            provisional=any(src == "statutory" for src in sources.values()),
            sources=sources,
            skipped=skipped,
            swapped_workdays=swapped,
            source_titles={year: title for year, title in titles.items() if title},
        )


# ---------------------------------------------------------------------------------------------------------
# Deadlines
# ---------------------------------------------------------------------------------------------------------


def _cn_date(day: date, with_year: bool = True) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if with_year else f"{day.month}月{day.day}日"


class _DateWriter:
    """Writes dates the way a Chinese text does: the year only when it changes from the last one written."""

    def __init__(self, year: int) -> None:
        self._year = year

    def __call__(self, day: date) -> str:
        text = _cn_date(day, with_year=day.year != self._year)
        self._year = day.year
        return text


def _runs(days: Iterable[tuple[date, str]]) -> list[tuple[date, date, list[str]]]:
    """Consecutive days grouped into (first, last, distinct reasons in order)."""
    runs: list[tuple[date, date, list[str]]] = []
    for day, reason in days:
        if runs and runs[-1][1] + _ONE_DAY == day:
            first, _, reasons = runs[-1]
            runs[-1] = (first, day, reasons if reason in reasons else [*reasons, reason])
        else:
            runs.append((day, day, [reason]))
    return runs


def _day_pairs(items: Any) -> list[tuple[date, str]]:
    pairs: list[tuple[date, str]] = []
    for item in items or []:
        if isinstance(item, Mapping):
            pairs.append((date.fromisoformat(item["date"]), str(item["reason"])))
        else:  # tolerate [date, reason] pairs
            day, reason = item
            pairs.append((date.fromisoformat(day), str(reason)))
    return pairs


@dataclass(frozen=True)
class Deadline:
    rule: Rule
    start: date  # the event/publication date the count is based on
    days: int
    first_day: date  # first counted working day
    last_day: date  # the Nth working day
    due_at: datetime  # aware, Asia/Shanghai: last_day + 1 day at 00:00 (the instant the period is over)
    provisional: bool  # some day inspected lies in a year with only the statutory fallback
    sources: dict[int, str]  # year -> source used
    skipped: list[tuple[date, str]]  # non-working days passed over while counting (date, reason)
    # 调休上班 days counted as working days (date, festival)
    swapped_workdays: list[tuple[date, str]] = field(default_factory=list)
    source_titles: dict[int, str] = field(default_factory=dict)  # year -> loaded notice's title

    @property
    def provisional_years(self) -> list[int]:
        """Years whose official arrangement is missing: loading one of them calls for a recomputation."""
        return sorted(year for year, src in self.sources.items() if src == "statutory")

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "start": self.start.isoformat(),
            "days": self.days,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "due": self.due_at.isoformat(),
            "provisional": self.provisional,
            "sources": {str(year): src for year, src in sorted(self.sources.items())},
            "skipped": [{"date": d.isoformat(), "reason": r} for d, r in self.skipped],
            "swapped_workdays": [{"date": d.isoformat(), "reason": r} for d, r in self.swapped_workdays],
            "source_titles": {str(year): title for year, title in sorted(self.source_titles.items())},
            "explanation": self.explain(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Deadline:
        rule = d["rule"]
        if rule not in get_args(Rule):
            raise ValueError(f"未知的期限规则：{rule!r}")
        due_at = datetime.fromisoformat(d["due"])
        if due_at.tzinfo is None:
            raise ValueError(f"期限截止时间缺少时区：{d['due']}")
        return cls(
            rule=rule,
            start=date.fromisoformat(d["start"]),
            days=int(d["days"]),
            first_day=date.fromisoformat(d["first_day"]),
            last_day=date.fromisoformat(d["last_day"]),
            due_at=due_at.astimezone(SHANGHAI),
            provisional=bool(d["provisional"]),
            sources={int(year): str(src) for year, src in d["sources"].items()},
            skipped=_day_pairs(d.get("skipped")),
            swapped_workdays=_day_pairs(d.get("swapped_workdays")),
            source_titles={int(year): str(title) for year, title in (d.get("source_titles") or {}).items()},
        )

    def explain(self) -> str:
        write = _DateWriter(self.start.year)
        if self.rule == "within":
            head = f"自{_cn_date(self.start)}次日起算{self.days}个工作日"
        else:
            head = f"自{_cn_date(self.start)}起公示{self.days}个工作日"
        details: list[str] = []
        if self.rule == "publicity":
            if self.first_day == self.start:
                details.append("公示当日为工作日，计为第1个工作日")
            else:
                details.append(f"公示当日非工作日，自{write(self.first_day)}起计")
        # Skipped stretches and counted swapped days, in date order, so the reader can follow the count.
        items: list[tuple[date, date | None, str]] = [(a, b, "、".join(r)) for a, b, r in _runs(self.skipped)]
        items += [(d, None, "调休上班计为工作日") for d, _ in self.swapped_workdays]
        passages: list[str] = []
        for first, last, what in sorted(items, key=lambda item: item[0]):
            if last is None or last == first:
                passages.append(f"{write(first)} {what}")
            else:
                passages.append(f"{write(first)}至{write(last)} {what}")
        if passages:
            details.append(("跳过：" if self.skipped else "") + "；".join(passages))
        text = head + (f"（{'；'.join(details)}）" if details else "")
        text += f"，截止{_cn_date(self.last_day)}24时。"
        text += "依据：" + self._basis() + "。"
        if self.provisional:
            years = "、".join(f"{year}年" for year in self.provisional_years)
            text += (
                f"本期限为暂定：{years}的国务院办公厅节假日安排尚未载入，暂按法定节假日和周末计算（未含调休），"
                "载入正式安排后将重新计算。"
            )
        return text

    def _basis(self) -> str:
        def one(year: int) -> str:
            src = self.sources[year]
            basis = _SOURCE_BASIS.get(src, src)
            title = self.source_titles.get(year)
            return f"{basis}《{title}》" if src == "loaded" and title else basis

        years = sorted(self.sources)
        if len(years) == 1:
            return one(years[0])
        return "；".join(f"{year}年：{one(year)}" for year in years)
