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

from tasks.calendar.arrangement import ArrangementError, YearArrangement, arrangement_to_dict, parse_arrangement
from tasks.calendar.common import (
    MAX_YEAR,
    MIN_YEAR,
    REASON_SWAPPED,
    REASON_WEEKEND,
    REASON_WORKDAY,
    SHANGHAI,
    Rule,
    Source,
    cn_date,
)
from tasks.calendar.deadline import Deadline
from tasks.calendar.statutory import qingming, statutory_holidays
from tasks.calendar.working_days import MAX_WORKING_DAYS, DayInfo, WorkingDayCalendar

__all__ = [
    "MAX_WORKING_DAYS", "MAX_YEAR", "MIN_YEAR", "REASON_SWAPPED", "REASON_WEEKEND", "REASON_WORKDAY", "SHANGHAI",
    "ArrangementError", "DayInfo", "Deadline", "Rule", "Source", "WorkingDayCalendar", "YearArrangement",
    "arrangement_to_dict", "cn_date", "parse_arrangement", "qingming", "statutory_holidays",
]
