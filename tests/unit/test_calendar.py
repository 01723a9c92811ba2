"""The working-day calendar against real arrangements (chinesecalendar's 2026 data) and the 2027 fallback."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from tasks.calendar import (
    SHANGHAI,
    ArrangementError,
    Deadline,
    WorkingDayCalendar,
    YearArrangement,
    arrangement_to_dict,
    parse_arrangement,
    qingming,
    statutory_holidays,
)

EXAMPLE_2027 = Path(__file__).resolve().parents[2] / "examples" / "calendar-2027.json"


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture
def cal() -> WorkingDayCalendar:
    return WorkingDayCalendar()


@pytest.fixture
def example_2027() -> YearArrangement:
    return parse_arrangement(json.loads(EXAMPLE_2027.read_text(encoding="utf-8")))


# --- 2026: the official arrangement --------------------------------------------------------------------


def test_2026_autumn_arrangement_is_the_official_one(cal: WorkingDayCalendar) -> None:
    # 国办发明电〔2025〕7号: 中秋节 9月25日至27日; 国庆节 10月1日至7日, 9月20日（周日）、10月10日（周六）上班.
    assert cal.source(2026) == "official"
    off = [day for day in (d("2026-09-19") + timedelta(n) for n in range(30)) if not cal.is_working_day(day)]
    assert off == [
        d("2026-09-19"),  # Saturday
        d("2026-09-25"), d("2026-09-26"), d("2026-09-27"),  # 中秋节
        *(d(f"2026-10-0{n}") for n in range(1, 8)),  # 国庆节
        d("2026-10-11"),  # Sunday (Saturday the 10th is worked)
        d("2026-10-17"), d("2026-10-18"),
    ]  # fmt: skip
    assert cal.describe_day(d("2026-09-25")).reason == "中秋节"
    assert cal.describe_day(d("2026-10-05")).reason == "国庆节"
    swapped = cal.describe_day(d("2026-10-10"))
    assert (swapped.working, swapped.reason, swapped.holiday) == (True, "调休上班", "国庆节")
    assert swapped.source == "official"
    assert cal.describe_day(d("2026-09-20")).working is True
    assert cal.describe_day(d("2026-10-11")).reason == "周末"
    assert cal.describe_day(d("2026-10-12")).reason == "工作日"


@pytest.mark.parametrize(
    ("event", "last_day"),
    [
        ("2026-09-24", "2026-10-15"),  # Thu: 9/25–27 off, then 9/28–30, 10/8–10 (10/10 调休), 10/12–15
        ("2026-09-25", "2026-10-15"),  # on the Mid-Autumn holiday itself
        ("2026-09-30", "2026-10-20"),
        ("2026-10-01", "2026-10-20"),  # 10/2–10/7 are holidays too: the same end as from 9/30
        ("2026-10-08", "2026-10-21"),
    ],
)
def test_within_10_around_national_day_2026(cal: WorkingDayCalendar, event: str, last_day: str) -> None:
    deadline = cal.within_working_days(d(event), 10)
    assert deadline.last_day == d(last_day)
    assert deadline.due_at == datetime.combine(d(last_day) + timedelta(days=1), datetime.min.time(), SHANGHAI)
    assert deadline.to_dict()["due"] == f"{(d(last_day) + timedelta(days=1)).isoformat()}T00:00:00+08:00"
    assert deadline.provisional is False
    assert deadline.sources == {2026: "official"}


def test_within_10_from_sept_30_skips_the_holiday_and_counts_oct_10(cal: WorkingDayCalendar) -> None:
    deadline = cal.within_working_days(d("2026-09-30"), 10)
    assert deadline.first_day == d("2026-10-08")
    assert [day for day, _ in deadline.skipped] == [
        *(d(f"2026-10-0{n}") for n in range(1, 8)),
        d("2026-10-11"),
        d("2026-10-17"),
        d("2026-10-18"),
    ]
    assert deadline.skipped[0] == (d("2026-10-01"), "国庆节")
    assert deadline.swapped_workdays == [(d("2026-10-10"), "国庆节")]


def test_within_10_starting_on_a_friday(cal: WorkingDayCalendar) -> None:
    deadline = cal.within_working_days(d("2026-11-06"), 10)
    assert (deadline.first_day, deadline.last_day) == (d("2026-11-09"), d("2026-11-20"))
    assert deadline.due_at.isoformat() == "2026-11-21T00:00:00+08:00"
    assert deadline.skipped == [
        (d("2026-11-07"), "周末"), (d("2026-11-08"), "周末"),
        (d("2026-11-14"), "周末"), (d("2026-11-15"), "周末"),
    ]  # fmt: skip


def test_a_swapped_working_day_is_counted(cal: WorkingDayCalendar) -> None:
    # Friday 18 Sept 2026: Saturday the 19th is off, Sunday the 20th is worked (国庆节调休).
    deadline = cal.within_working_days(d("2026-09-18"), 5)
    assert deadline.first_day == d("2026-09-20")
    assert deadline.last_day == d("2026-09-24")
    assert deadline.skipped == [(d("2026-09-19"), "周末")]
    assert deadline.swapped_workdays == [(d("2026-09-20"), "国庆节")]


@pytest.mark.parametrize(
    ("published", "first_day", "last_day"),
    [
        ("2026-11-04", "2026-11-04", "2026-11-10"),  # Wednesday: the day of publication is day 1
        ("2026-11-07", "2026-11-09", "2026-11-13"),  # Saturday: starts on Monday
        ("2026-11-08", "2026-11-09", "2026-11-13"),  # Sunday
        ("2026-10-03", "2026-10-08", "2026-10-13"),  # holiday: 10/8, 10/9, 10/10(调休), 10/12, 10/13
        ("2026-09-30", "2026-09-30", "2026-10-12"),  # working day just before the holiday
    ],
)
def test_publicity_period(cal: WorkingDayCalendar, published: str, first_day: str, last_day: str) -> None:
    deadline = cal.publicity_period(d(published), 5)
    assert deadline.rule == "publicity"
    assert deadline.start == d(published)
    assert (deadline.first_day, deadline.last_day) == (d(first_day), d(last_day))


def test_publicity_on_a_holiday_lists_the_publication_day_as_skipped(cal: WorkingDayCalendar) -> None:
    deadline = cal.publicity_period(d("2026-10-03"), 5)
    assert deadline.skipped[0] == (d("2026-10-03"), "国庆节")
    text = deadline.explain()
    assert "公示当日非工作日" in text and "10月8日起计" in text


def test_add_working_days_is_within(cal: WorkingDayCalendar) -> None:
    assert cal.add_working_days(d("2026-09-30"), 10) == cal.within_working_days(d("2026-09-30"), 10)


# --- inputs ---------------------------------------------------------------------------------------------


def test_aware_datetimes_are_taken_in_shanghai(cal: WorkingDayCalendar) -> None:
    # 17:30 UTC on 30 Sept is 01:30 on 1 Oct in Shanghai: the event day is 1 Oct.
    late = cal.within_working_days(datetime(2026, 9, 30, 17, 30, tzinfo=UTC), 1)
    assert late.start == d("2026-10-01")
    early = cal.within_working_days(datetime(2026, 9, 29, 15, 59, tzinfo=UTC), 1)
    assert (early.start, early.last_day) == (d("2026-09-29"), d("2026-09-30"))
    published = cal.publicity_period(datetime(2026, 11, 6, 23, 0, tzinfo=UTC), 1)  # Saturday 07:00
    assert (published.start, published.last_day) == (d("2026-11-07"), d("2026-11-09"))


def test_bad_inputs(cal: WorkingDayCalendar) -> None:
    with pytest.raises(ValueError, match="时区"):
        cal.within_working_days(datetime(2026, 9, 30, 10, 0), 10)
    with pytest.raises(ValueError, match="时区"):
        cal.publicity_period(datetime(2026, 9, 30, 10, 0), 5)
    for bad in (0, -3, True, 1001, 10 ** 12):
        with pytest.raises(ValueError):
            cal.within_working_days(d("2026-09-30"), bad)
        with pytest.raises(ValueError):
            cal.publicity_period(d("2026-09-30"), bad)
    with pytest.raises(ValueError, match="超出"):
        cal.within_working_days(d("2150-01-01"), 1)


# --- the statutory fallback (2027 and later) -----------------------------------------------------------


def test_2027_has_no_official_data_here() -> None:
    # The fallback tests below assume this; a newer chinesecalendar would make them test something else.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(d("2027-06-01"))


def test_statutory_holidays_2027_are_the_legal_ones() -> None:
    assert statutory_holidays(2027) == {
        d("2027-01-01"): "元旦",
        d("2027-02-05"): "春节",  # 除夕 (lunar new year is 2027-02-06)
        d("2027-02-06"): "春节",
        d("2027-02-07"): "春节",
        d("2027-02-08"): "春节",
        d("2027-04-05"): "清明节",
        d("2027-05-01"): "劳动节",
        d("2027-05-02"): "劳动节",
        d("2027-06-09"): "端午节",  # lunar 5/5
        d("2027-09-15"): "中秋节",  # lunar 8/15
        d("2027-10-01"): "国庆节",
        d("2027-10-02"): "国庆节",
        d("2027-10-03"): "国庆节",
    }


def test_spring_festival_eve_belongs_to_the_year_it_falls_in() -> None:
    # Lunar new year 2028 is 26 January; its eve (lunar 12/29 of 2027's lunar year) is 25 January 2028.
    holidays_2028 = statutory_holidays(2028)
    assert [day for day, name in holidays_2028.items() if name == "春节"] == [
        d("2028-01-25"),
        d("2028-01-26"),
        d("2028-01-27"),
        d("2028-01-28"),
    ]
    assert all(day.year == 2027 for day in statutory_holidays(2027))
    # 2028: Mid-Autumn (3 Oct) coincides with National Day: one day, both names.
    assert holidays_2028[d("2028-10-03")] == "中秋节、国庆节"


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_days_are_days_off_in_the_official_arrangements(year: int) -> None:
    # The revised law is in force since 2025: each statutory day is off in the real 2025 and 2026 notices.
    for day in statutory_holidays(year):
        assert chinese_calendar.is_holiday(day), day


def test_qingming_matches_the_official_holidays_and_known_years() -> None:
    for year in range(2008, 2027):
        official = chinese_calendar.get_holiday_detail(qingming(year))
        assert official == (True, "Tomb-sweeping Day"), year
    assert [qingming(y).isoformat() for y in (2027, 2028, 2029, 2030)] == [
        "2027-04-05",
        "2028-04-04",
        "2029-04-04",
        "2030-04-05",
    ]


def test_2027_fallback_spring_festival_is_provisional(cal: WorkingDayCalendar) -> None:
    assert cal.source(2027) == "statutory"
    deadline = cal.within_working_days(d("2027-02-04"), 3)
    assert deadline.provisional is True
    assert deadline.sources == {2027: "statutory"}
    assert deadline.skipped == [(d("2027-02-0" + str(n)), "春节") for n in (5, 6, 7, 8)]
    assert deadline.last_day == d("2027-02-11")
    assert deadline.provisional_years == [2027]


def test_2027_fallback_national_day_and_mid_autumn_are_skipped(cal: WorkingDayCalendar) -> None:
    deadline = cal.within_working_days(d("2027-09-30"), 1)
    assert deadline.skipped == [(d(f"2027-10-0{n}"), "国庆节") for n in (1, 2, 3)]
    assert deadline.last_day == d("2027-10-04")
    assert cal.within_working_days(d("2027-09-14"), 1).last_day == d("2027-09-16")  # 9/15 中秋节
    # No swapped working days in the fallback: Sunday 26 Sept 2027 stays off.
    assert cal.describe_day(d("2027-09-26")).reason == "周末"


def test_december_2026_running_into_2027_is_provisional(cal: WorkingDayCalendar) -> None:
    deadline = cal.within_working_days(d("2026-12-24"), 10)
    assert deadline.last_day == d("2027-01-08")
    assert deadline.provisional is True
    assert deadline.sources == {2026: "official", 2027: "statutory"}
    assert (d("2027-01-01"), "元旦") in deadline.skipped
    assert "暂定" in deadline.explain() and "2027年" in deadline.explain()
    inside = cal.within_working_days(d("2026-12-10"), 5)
    assert (inside.last_day, inside.provisional) == (d("2026-12-17"), False)
    # Ending on 31 December: the due instant is in 2027 but no 2027 day was inspected.
    assert cal.within_working_days(d("2026-12-30"), 1).provisional is False


# --- loading an arrangement ----------------------------------------------------------------------------


def test_loading_2027_changes_the_deadline_and_removes_provisional(
    cal: WorkingDayCalendar, example_2027: YearArrangement
) -> None:
    before = cal.within_working_days(d("2027-09-24"), 5)  # Friday
    assert (before.last_day, before.provisional) == (d("2027-10-04"), True)

    loaded = cal.with_arrangement(example_2027)
    assert loaded.source(2027) == "loaded" and cal.source(2027) == "statutory"
    after = loaded.recompute(before)
    # Sunday 26 Sept is a swapped working day in the loaded arrangement.
    assert after.swapped_workdays == [(d("2027-09-26"), "国庆节")]
    assert (after.last_day, after.provisional) == (d("2027-09-30"), False)
    assert after.sources == {2027: "loaded"}
    assert "示例文件" in after.explain()
    assert "暂定" not in after.explain()

    later = loaded.within_working_days(d("2027-09-30"), 1)
    assert later.last_day == d("2027-10-08")  # 1–7 October off in the loaded arrangement, not only 1–3


def test_a_loaded_arrangement_overrides_the_official_data() -> None:
    corrected = YearArrangement(2026, holidays={d("2026-10-01"): "国庆节"}, workdays={}, source="更正")
    cal = WorkingDayCalendar({2026: corrected})
    assert cal.source(2026) == "loaded"
    assert cal.is_working_day(d("2026-10-02")) is True
    assert cal.is_working_day(d("2026-10-10")) is False  # no longer a swapped day: a plain Saturday


def test_next_years_notice_may_rule_on_late_december() -> None:
    # Like the 2019 notice (2018-12-29 worked, 2018-12-30 to 2019-01-01 off), for 2030.
    arrangement = parse_arrangement({
        "year": 2030,
        "holidays": [{"name": "元旦", "from": "2029-12-30", "to": "2030-01-01"}],
        "workdays": [{"name": "元旦", "date": "2029-12-29"}],
    })  # fmt: skip
    plain = WorkingDayCalendar()
    assert plain.is_working_day(d("2029-12-31")) and not plain.is_working_day(d("2029-12-29"))
    cal = WorkingDayCalendar({2030: arrangement})
    assert cal.describe_day(d("2029-12-31")).reason == "元旦"
    assert cal.describe_day(d("2029-12-29")).reason == "调休上班"
    assert cal.source(2029) == "statutory"  # 2029's own arrangement is still missing
    assert cal.within_working_days(d("2029-12-28"), 1).last_day == d("2029-12-29")


def test_calendar_rejects_a_mismatched_year(example_2027: YearArrangement) -> None:
    with pytest.raises(ValueError):
        WorkingDayCalendar({2028: example_2027})


# --- the arrangement file ------------------------------------------------------------------------------

VALID = {
    "year": 2027,
    "source": "测试",
    "holidays": [
        {"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
        {"name": "国庆节", "from": "2027-10-01", "to": "2027-10-07"},
    ],
    "workdays": [{"name": "国庆节", "date": "2027-09-26"}],
}


def _with(path: tuple, value: object) -> dict:
    data = copy.deepcopy(VALID)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(("year",), KeyError), "缺少字段 year"),
        (_with(("workdays",), KeyError), "缺少字段 workdays"),
        (_with(("holidays", 1, "to"), KeyError), "假期第2条"),
        (_with(("note",), "x"), "不认识的字段 note"),
        (_with(("holidays", 0, "days"), 3), "假期第1条"),
        (_with(("year",), "2027"), "“year”应为"),
        (_with(("holidays",), []), "“holidays”为空"),
        (_with(("holidays", 1, "from"), "2027-02-30"), "不是有效日期：2027-02-30"),
        (_with(("holidays", 1, "from"), "2027/10/01"), "YYYY-MM-DD"),
        (_with(("holidays", 1, "to"), "2028-01-01"), "不在2027年内"),
        (_with(("holidays", 0, "from"), "2026-06-01"), "不在2027年内"),
        (_with(("holidays", 1, "from"), "2027-10-08"), "开始日期 2027-10-08 晚于结束日期 2027-10-07"),
        (_with(("workdays", 0, "date"), "2027-10-02"), "既放假又上班"),
        (_with(("workdays", 0, "date"), "2027-09-28"), "星期二"),
        (_with(("holidays", 1, "name"), " "), "name"),
        (_with(("holidays", 1, "from"), "2027-01-03"), "同一天放假只列一次"),
    ],
)
def test_parse_arrangement_errors(data: dict, message: str) -> None:
    with pytest.raises(ArrangementError) as caught:
        parse_arrangement(data)
    assert message in str(caught.value)


def test_parse_errors_name_the_entry() -> None:
    with pytest.raises(ArrangementError) as caught:
        parse_arrangement(_with(("workdays", 0, "date"), "2027-10-02"))
    assert "调休上班日第1条" in str(caught.value) and "国庆节" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_yaml_dates_are_accepted_and_the_format_round_trips(example_2027: YearArrangement) -> None:
    as_yaml = copy.deepcopy(VALID)
    as_yaml["holidays"][0]["from"] = date(2027, 1, 1)  # what a YAML loader produces for 2027-01-01
    assert parse_arrangement(as_yaml) == parse_arrangement(VALID)
    assert parse_arrangement(arrangement_to_dict(example_2027)) == example_2027
    assert arrangement_to_dict(example_2027) == json.loads(EXAMPLE_2027.read_text(encoding="utf-8"))
    arrangement = parse_arrangement(VALID)
    assert arrangement.holidays[d("2027-10-04")] == "国庆节" and len(arrangement.holidays) == 10
    assert arrangement.workdays == {d("2027-09-26"): "国庆节"}


def test_year_arrangement_validates_when_built_directly() -> None:
    with pytest.raises(ArrangementError):
        YearArrangement(2027, holidays={d("2027-10-01"): "国庆节"}, workdays={d("2027-10-01"): "国庆节"})
    with pytest.raises(ArrangementError):
        YearArrangement(2027, holidays={d("2026-07-01"): "国庆节"}, workdays={})


# --- deadlines as data and as text ---------------------------------------------------------------------


def test_deadline_round_trips_through_json(cal: WorkingDayCalendar, example_2027: YearArrangement) -> None:
    for deadline in (
        cal.within_working_days(d("2026-09-30"), 10),
        cal.publicity_period(d("2026-10-03"), 5),
        cal.within_working_days(d("2026-12-24"), 10),
        cal.with_arrangement(example_2027).within_working_days(d("2027-09-24"), 5),
    ):
        data = json.loads(json.dumps(deadline.to_dict(), ensure_ascii=False))
        assert set(data) >= {
            "due",
            "last_day",
            "start",
            "days",
            "rule",
            "provisional",
            "sources",
            "skipped",
            "explanation",
        }
        assert data["due"].endswith("+08:00")
        restored = Deadline.from_dict(data)
        assert restored == deadline
        assert restored.explain() == data["explanation"]


def test_explain_names_the_skipped_holidays(cal: WorkingDayCalendar) -> None:
    text = cal.within_working_days(d("2026-09-25"), 10).explain()
    assert text.startswith("自2026年9月25日次日起算10个工作日")
    assert "9月26日至9月27日 中秋节" in text
    assert "10月1日至10月7日 国庆节" in text
    assert "10月10日 调休上班计为工作日" in text
    assert "截止2026年10月15日24时" in text
    assert "chinesecalendar" in text
    assert "暂定" not in text


def test_explain_says_provisional(cal: WorkingDayCalendar) -> None:
    text = cal.within_working_days(d("2027-02-04"), 3).explain()
    assert "自2027年2月4日次日起算3个工作日（跳过：2月5日至2月8日 春节）" in text
    assert "暂定" in text and "2027年的国务院办公厅节假日安排尚未载入" in text
