"""A legal deadline and how it was computed: the rule, the days counted, the days skipped and why, and the
calendar sources it rests on (provisional where a year's official arrangement is not loaded)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, get_args

from tasks.calendar.common import ONE_DAY, SHANGHAI, Rule, cn_date

_SOURCE_BASIS: dict[str, str] = {
    "official": "国务院办公厅节假日安排（chinesecalendar）",
    "loaded": "管理员载入的国务院办公厅节假日安排",
    "statutory": "《全国年节及纪念日放假办法》规定的法定节假日及周末（暂定，未含调休）",
}


class _DateWriter:
    """Writes dates the way a Chinese text does: the year only when it changes from the last one written."""

    def __init__(self, year: int) -> None:
        self._year = year

    def __call__(self, day: date) -> str:
        text = cn_date(day, with_year=day.year != self._year)
        self._year = day.year
        return text


def _runs(days: Iterable[tuple[date, str]]) -> list[tuple[date, date, list[str]]]:
    """Consecutive days grouped into (first, last, distinct reasons in order)."""
    runs: list[tuple[date, date, list[str]]] = []
    for day, reason in days:
        if runs and runs[-1][1] + ONE_DAY == day:
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
            head = f"自{cn_date(self.start)}次日起算{self.days}个工作日"
        else:
            head = f"自{cn_date(self.start)}起公示{self.days}个工作日"
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
        text += f"，截止{cn_date(self.last_day)}24时。"
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
