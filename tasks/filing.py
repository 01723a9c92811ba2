"""Validity periods, the renewal window and filing numbers (备案回执: 机构备案编号 and 备案有效期).

Calendar periods, not working days (DOMAIN "Time"):

* A validity of N years starting on day D ends on the day before D's N-th anniversary: from 2026-11-03,
  valid until 2029-11-02 (Jilin 第十三条, XPCC 第十三条(四), Beijing 六(三): three years). The
  anniversary of 29 February in a common year is taken as 1 March, so a filing from 2028-02-29 is valid
  until 2031-02-28 — the full three years, never a day short. This agrees with 民法典 第二百零一、二百零三条
  (the period counted from the day before, its corresponding day being the end of February).
* The renewal window (Jilin 第三十条(一): 备案期满前三个月内) opens three calendar months before the last
  valid day: valid until 2029-11-02 → opens 2029-08-02. Where that month has no such day, the window
  opens on the month's last day (valid until 2029-05-31 → opens 2029-02-28), as 民法典 第二百零三条 does
  for a missing corresponding day. Both choices open the window early rather than late, so an
  institution that applies on the first day it could reasonably think of is never outside it.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from tasks.regions import AUTHORITY_LEVELS, RegionProfile, province_of


def validity_period(valid_from: date, years: int = 3) -> tuple[date, date]:
    """(valid_from, valid_until), both inclusive, of a filing valid for ``years`` years."""
    if years < 1:
        raise ValueError(f"有效期年数应为正整数，实为 {years}")
    return valid_from, anniversary(valid_from, years) - timedelta(days=1)


def renewal_window_opens(valid_until: date) -> date:
    """The first day of the renewal window: three calendar months before the last valid day."""
    return _add_months_clamped(valid_until, -3)


def renewal_second_reminder_on(valid_until: date, days_before_expiry: int) -> date:
    """The day of the second renewal reminder: ``days_before_expiry`` calendar days before the last
    valid day (the profile's ``renewal_second_reminder_days_before_expiry``)."""
    if days_before_expiry < 0:
        raise ValueError(f"提前天数不能为负数，实为 {days_before_expiry}")
    return valid_until - timedelta(days=days_before_expiry)


def format_filing_number(
    profile: RegionProfile, year: int, seq: int, authority_level: str, region_code: str
) -> str:
    """The filing number from the region's ``number_format``.

    ``seq`` is the region's sequence for ``year`` (1, 2, …), kept by the caller (the database); the
    format always contains ``{year}`` and ``{seq}`` (checked when the profiles are loaded), so distinct
    (year, seq) pairs give distinct numbers. Placeholders: ``{province_abbr}`` ``{province_code}``
    ``{region_code}`` ``{city_code}`` (first four digits of the region code) ``{year}`` ``{seq}``
    ``{level}`` (the profile's name of the authority level: 省, 市（州）, 区, 师市 …).
    Default: ``{province_abbr}技评备〔{year}〕{seq:04d}号`` → 川技评备〔2026〕0001号.
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
        raise ValueError(f"年度应为四位数年份，实为 {year!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError(f"序号应为正整数，实为 {seq!r}")
    if authority_level not in AUTHORITY_LEVELS:
        raise ValueError(f"未知的备案层级“{authority_level}”，应为 provincial 或 municipal")
    province_of(region_code)  # raises on a malformed code
    return profile.number_format.format(
        province_abbr=profile.province_abbr,
        province_code=profile.province_code,
        region_code=region_code,
        city_code=region_code[:4],
        year=year,
        seq=seq,
        level=profile.level_name(authority_level),
    )


def anniversary(day: date, years: int) -> date:
    """The same calendar day `years` later (earlier when negative); 29 February falls on 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return date(day.year + years, 3, 1)


def _add_months_clamped(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))
