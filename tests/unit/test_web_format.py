"""How the web pages write dates and deadlines (Asia/Shanghai, the way people read them)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from adapters.entrypoints.web.filters import cn_date, cn_datetime, cn_due


def test_dates_read_as_chinese_dates_in_shanghai() -> None:
    assert cn_date(date(2026, 10, 15)) == "2026年10月15日"
    assert cn_date(datetime(2026, 10, 14, 17, 0, tzinfo=UTC)) == "2026年10月15日"  # 01:00 in Shanghai
    assert cn_date("2026-10-15") == "2026年10月15日" and cn_date(None) == ""
    assert cn_datetime("2026-10-15T09:05:00+08:00") == "2026年10月15日 09:05"


def test_a_deadline_due_at_midnight_ends_the_day_before_at_24_00() -> None:
    assert cn_due("2026-12-05T00:00:00+08:00") == "2026年12月4日24时"
    assert cn_due(datetime(2026, 12, 4, 16, 0, tzinfo=UTC)) == "2026年12月4日24时"
    assert cn_due("2026-12-05T09:30:00+08:00") == "2026年12月5日 09:30"
    assert cn_due(None) == ""
