"""The statutory fallback: the holidays fixed by 全国年节及纪念日放假办法 (revised 2024, in force from 2025), for a
year whose official arrangement is not known. Deadlines that touch such a year are provisional."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import lunardate

from tasks.calendar.common import MAX_YEAR, check_supported


def qingming(year: int) -> date:
    """The day of the solar term 清明 (4 or 5 April), from chinesecalendar's solar-term formula.

    The formula (寿星通式 with its correction table) matches every official Qingming holiday 2008–2026.
    """
    check_supported(year)
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
    check_supported(year)
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
