"""What the calendar's parts share: the time zone, the supported years, the reasons a day is or is not worked, and
reading a date in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

Source = Literal["loaded", "official", "statutory"]
Rule = Literal["within", "publicity"]

ONE_DAY = timedelta(days=1)

# The lunar and solar-term helpers we rely on cover these Gregorian years.
MIN_YEAR = 1901
MAX_YEAR = 2099

REASON_WEEKEND = "周末"
REASON_SWAPPED = "调休上班"
REASON_WORKDAY = "工作日"


def check_supported(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"{year}年超出工作日历支持的范围（{MIN_YEAR}—{MAX_YEAR}年）")


def weekday_name(day: date) -> str:
    return "星期" + "一二三四五六日"[day.weekday()]


def local_date(value: date | datetime, what: str = "日期") -> date:
    """The date in Asia/Shanghai of a date or an aware datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{what}缺少时区：请使用带时区的时间（如 Asia/Shanghai）")
        return value.astimezone(SHANGHAI).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"{what}应为 date 或 datetime，实际为 {type(value).__name__}")


def cn_date(day: date, with_year: bool = True) -> str:
    """2026年9月30日 (or 9月30日): no leading zeros, as a Chinese text writes a date."""
    return f"{day.year}年{day.month}月{day.day}日" if with_year else f"{day.month}月{day.day}日"
