"""The working-day calendar: which days are worked (loaded arrangement, then chinesecalendar's official data, then the
statutory fallback) and the working-day deadlines counted on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from tasks.calendar.arrangement import YearArrangement
from tasks.calendar.common import (
    ONE_DAY,
    REASON_SWAPPED,
    REASON_WEEKEND,
    REASON_WORKDAY,
    SHANGHAI,
    Rule,
    Source,
    check_supported,
    cn_date,
    local_date,
)
from tasks.calendar.deadline import Deadline
from tasks.calendar.statutory import statutory_holidays

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


@lru_cache(maxsize=512)
def _official_known(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:  # chinesecalendar's way of saying "no data for this year"
        return False
    return True


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
        check_supported(year)
        return "statutory"

    def source_title(self, year: int) -> str:
        """The loaded notice's title for a year, or "" when the year is not loaded."""
        arrangement = self._arrangements.get(year)
        return arrangement.source if arrangement else ""

    def describe_day(self, day: date | datetime) -> DayInfo:
        day = local_date(day)
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
        name = statutory_holidays(day.year).get(day)
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
        """Working days after today up to the last day before `due` (a deadline due at 00:00 ends the day before):
        what a caseworker has left, counted as the deadline was (on the day of receipt of a 10-working-day acceptance,
        10; 0 on the last day itself, which is still today's to use)."""
        last = (due - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
        return self.working_days_in(now.astimezone(SHANGHAI).date() + timedelta(days=1), last)

    def within_working_days(self, event: date | datetime, n: int) -> Deadline:
        """'Within N working days of an event': counting starts the day after the event (Shanghai date)."""
        _check_days(n)
        start = local_date(event, "事件时间")
        return self._count("within", start, start + ONE_DAY, n)

    def add_working_days(self, start: date | datetime, n: int) -> Deadline:
        """Alias of within_working_days (the CLI's ``calendar add DATE N``)."""
        return self.within_working_days(start, n)

    def publicity_period(self, start: date | datetime, n: int) -> Deadline:
        """A publicity of N working days: the publication day is day 1 if it is a working day."""
        _check_days(n)
        published = local_date(start, "公示开始时间")
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
        day = begin - ONE_DAY
        days_off_in_a_row = 0
        while counted < n:
            day += ONE_DAY
            info = self.describe_day(day)
            if not info.working:
                skipped.append((day, info.reason))
                days_off_in_a_row += 1
                if days_off_in_a_row > self._MAX_CONSECUTIVE_DAYS_OFF:
                    since = cn_date(day - timedelta(days=days_off_in_a_row - 1))
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
            due_at=datetime.combine(last_day + ONE_DAY, time(0), tzinfo=SHANGHAI),
            provisional=any(src == "statutory" for src in sources.values()),
            sources=sources,
            skipped=skipped,
            swapped_workdays=swapped,
            source_titles={year: title for year, title in titles.items() if title},
        )
