"""Validity periods, renewal window, filing numbers."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from tasks.filing import (
    format_filing_number,
    renewal_second_reminder_on,
    renewal_window_opens,
    validity_period,
)
from tasks.regions import load_profiles, profile_by_key

# ---------------------------------------------------------------------------------------------------------
# Validity
# ---------------------------------------------------------------------------------------------------------


def test_domain_example() -> None:
    assert validity_period(date(2026, 11, 3)) == (date(2026, 11, 3), date(2029, 11, 2))


@pytest.mark.parametrize(
    ("start", "years", "until"),
    [
        (date(2028, 2, 29), 3, date(2031, 2, 28)),   # anniversary of 29 Feb in a common year is 1 March
        (date(2028, 2, 29), 4, date(2032, 2, 28)),   # leap-year anniversary exists
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2029, 3, 1), 3, date(2032, 2, 29)),    # ends on a leap day
        (date(2027, 2, 28), 3, date(2030, 2, 27)),
        (date(2026, 1, 1), 3, date(2028, 12, 31)),
        (date(2026, 12, 31), 3, date(2029, 12, 30)),
    ],
)
def test_validity_edges(start: date, years: int, until: date) -> None:
    assert validity_period(start, years) == (start, until)


def test_validity_ends_the_day_before_the_anniversary_for_every_day_of_a_leap_cycle() -> None:
    day = date(2027, 1, 1)
    while day < date(2031, 1, 1):
        valid_from, valid_until = validity_period(day)
        assert valid_from == day
        following = valid_until + timedelta(days=1)
        if (day.month, day.day) == (2, 29):
            assert (following.month, following.day) == (3, 1)
        else:
            assert (following.year, following.month, following.day) == (day.year + 3, day.month, day.day)
        day += timedelta(days=1)


def test_validity_needs_positive_years() -> None:
    with pytest.raises(ValueError, match="正整数"):
        validity_period(date(2026, 11, 3), 0)


# ---------------------------------------------------------------------------------------------------------
# Renewal window
# ---------------------------------------------------------------------------------------------------------


def test_renewal_window_for_the_domain_example() -> None:
    _, valid_until = validity_period(date(2026, 11, 3))
    assert renewal_window_opens(valid_until) == date(2029, 8, 2)


@pytest.mark.parametrize(
    ("valid_until", "opens"),
    [
        (date(2029, 5, 31), date(2029, 2, 28)),   # no 31 February: the month's last day
        (date(2028, 5, 31), date(2028, 2, 29)),
        (date(2029, 5, 30), date(2029, 2, 28)),
        (date(2029, 12, 31), date(2029, 9, 30)),
        (date(2030, 1, 15), date(2029, 10, 15)),  # across the year boundary
        (date(2029, 3, 31), date(2028, 12, 31)),
        (date(2031, 2, 28), date(2030, 11, 28)),
    ],
)
def test_renewal_window_clamps_to_month_end(valid_until: date, opens: date) -> None:
    assert renewal_window_opens(valid_until) == opens


def test_renewal_window_is_never_shorter_than_three_months() -> None:
    day = date(2029, 1, 1)
    while day < date(2033, 1, 1):
        opens = renewal_window_opens(day)
        assert opens < day
        assert (day - opens).days >= 89
        assert (day.year * 12 + day.month) - (opens.year * 12 + opens.month) == 3
        day += timedelta(days=1)


def test_second_reminder() -> None:
    assert renewal_second_reminder_on(date(2029, 11, 2), 30) == date(2029, 10, 3)
    assert renewal_second_reminder_on(date(2029, 11, 2), 0) == date(2029, 11, 2)
    with pytest.raises(ValueError, match="负数"):
        renewal_second_reminder_on(date(2029, 11, 2), -1)


# ---------------------------------------------------------------------------------------------------------
# Filing numbers
# ---------------------------------------------------------------------------------------------------------


def test_default_number_format() -> None:
    sichuan = profile_by_key("sichuan")
    assert format_filing_number(sichuan, 2026, 1, "municipal", "510104") == "川技评备〔2026〕0001号"
    assert format_filing_number(sichuan, 2026, 1, "provincial", "510000") == "川技评备〔2026〕0001号"
    assert format_filing_number(sichuan, 2026, 12345, "provincial", "510000") == "川技评备〔2026〕12345号"


def test_each_region_has_its_own_prefix() -> None:
    numbers = {
        key: format_filing_number(profile, 2026, 7, "provincial", profile.province_code + "0000")
        for key, profile in load_profiles().items()
    }
    assert numbers == {
        "sichuan": "川技评备〔2026〕0007号",
        "beijing": "京技评备〔2026〕0007号",
        "xpcc": "兵技评备〔2026〕0007号",
        "jilin": "吉技评备〔2026〕0007号",
        "shanghai": "沪技评备〔2026〕0007号",
    }


def test_numbers_are_unique_per_region_year_and_sequence() -> None:
    seen: set[str] = set()
    count = 0
    for profile in load_profiles().values():
        region = profile.province_code + "0100"
        for year in (2026, 2027, 2028):
            for seq in range(1, 1201):
                seen.add(format_filing_number(profile, year, seq, "municipal", region))
                count += 1
    assert len(seen) == count


def test_all_placeholders() -> None:
    custom = dataclasses.replace(
        profile_by_key("beijing"),
        number_format="{province_abbr}{level}{city_code}-{region_code}-{province_code}-{year}-{seq:03d}",
    )
    assert format_filing_number(custom, 2027, 5, "municipal", "110105") == "京区1101-110105-11-2027-005"
    assert format_filing_number(custom, 2027, 5, "provincial", "110000") == "京市1100-110000-11-2027-005"


@pytest.mark.parametrize(
    ("year", "seq", "level", "region", "message"),
    [
        (2026, 0, "municipal", "510104", "序号应为正整数"),
        (2026, True, "municipal", "510104", "序号应为正整数"),
        (26, 1, "municipal", "510104", "年度应为四位数年份"),
        (2026, 1, "county", "510104", "未知的备案层级"),
        (2026, 1, "municipal", "51010", "6 位数字"),
    ],
)
def test_number_arguments_are_checked(year: int, seq: int, level: str, region: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_filing_number(profile_by_key("sichuan"), year, seq, level, region)
