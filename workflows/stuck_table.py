"""The stuck list as ops read it in the Prefect UI: a markdown table that fits a 1366 px screen, and its details.

The table keeps each cell short: the case number is the link to the case in the web app (no bare URL to widen a
column), the reason is its kind followed by a link to the details, where each row's institution, process and whole
sentence stand (what is wrong, since when, what to do). Every time says it is Beijing time.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

from workflows.stuck import StuckItem, beijing_text

# The table sits in the artifact page's content column, about 790 px wide at 1366 px, and Prefect's markdown tables
# do not wrap their cells: a wider table scrolls sideways and hides its last columns. So each row is only the case,
# the kind of reason with its link to the details, what it waits for (cut short), since when and how late; the
# institution, the process and the whole sentence stand in the details.
COLUMNS = ("案件", "原因", "等待", "开始（北京时间）", "超期工作日")

# How many half-width cells of "waiting on" the table shows before "…" (a CJK character takes two).
_WAITING_SHOWN = 20


def stuck_markdown(items: list[StuckItem], summary: str, now: datetime, interval_minutes: int,
                   details_url: str | None) -> str:
    """The table artifact's markdown: a heading with the summary and the check time, then one row per reason."""
    lines = [f"### {summary}", "",
             f"检查时间：{beijing_text(now)}，每 {interval_minutes} 分钟检查一次；计时扫描、外部投递或重试解决了"
             "某行的原因时，该行随即移出。点击案件编号打开案件；机构、流程和完整原因见"
             + (f"[卡住原因详情]({details_url})。" if details_url else "产物 beian-stuck-details。"), ""]
    if not items:
        return "\n".join(lines)
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for number, item in enumerate(items, 1):
        detail = f"（[详情 {number}]({details_url})）" if details_url else f"（详情 {number}）"
        cells = [_subject(item), f"{item.reason_label}{detail}", _waiting(item),
                 beijing_text(item.since).removesuffix("（北京时间）"), str(item.overdue_working_days)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details_markdown(items: list[StuckItem], now: datetime, web_url: str) -> str:
    """Each row's whole reason, numbered as in the table."""
    lines = [f"### 卡住原因详情（检查时间：{beijing_text(now)}）", ""]
    if not items:
        lines.append("没有卡住的案件。")
    for number, item in enumerate(items, 1):
        who = item.case_id or item.waiting_on
        about = "，".join(part for part in (item.institution, item.process) if part)
        lines.append(f"{number}. **{who}**{f'（{about}）' if about else ''}——{item.reason_label}，"
                     f"自 {beijing_text(item.since)}：{item.reason}")
        if item.cases:
            lines.append(f"   等待的案件：{'、'.join(_link(case, case_url(web_url, case)) for case in item.cases)}")
    return "\n".join(lines)


def case_url(web_url: str, case: str) -> str:
    return f"{web_url.rstrip('/')}/cases/{case}"


def _subject(item: StuckItem) -> str:
    """The case as a link; for a row of many cases (a system down), how many (the details name each)."""
    if item.case_id:
        return _link(item.case_id, item.link)
    return f"{len(item.cases)} 个案件" if item.cases else "—"


def _waiting(item: StuckItem) -> str:
    if not item.case_id and item.link:  # a deployment (the reason says so): its name, linking to its page
        return _link(_short(item.waiting_on.removeprefix("部署 ")), item.link)
    return _cell(_short(item.waiting_on))


def _short(text: str) -> str:
    """At most _WAITING_SHOWN half-width cells of `text` (a CJK character is two), cut with "…"."""
    shown, width = "", 0
    for char in text:
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if width > _WAITING_SHOWN:
            return shown.rstrip() + "…"
        shown += char
    return shown


def _link(text: str, url: str) -> str:
    return f"[{_cell(text)}]({url})" if url else _cell(text)


def _cell(text: str | Iterable[str]) -> str:
    """Text safe inside a markdown table cell (no pipe ends a cell early, no line break ends the row)."""
    value = text if isinstance(text, str) else "、".join(text)
    return " ".join(value.split()).replace("|", "\\|")
