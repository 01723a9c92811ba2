"""The stuck list as ops read it in the Prefect UI: a markdown table that fits a 1366 px screen, and its details.

The table keeps each cell short: the case number is the link to the case in the web app (no bare URL to widen a
column), the reason is a few words (`StuckItem.brief`) followed by a link to the details, where each row's whole
sentence stands (what is wrong, since when, what to do). Every time says it is Beijing time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from workflows.stuck import StuckItem, beijing_text

COLUMNS = ("案件", "机构", "流程", "等待", "自何时（北京时间）", "超期(工作日)", "原因")

# How many of a system's waiting cases the table names before "等 N 个" (the details name them all).
_CASES_SHOWN = 3


def stuck_markdown(items: list[StuckItem], summary: str, now: datetime, interval_minutes: int,
                   details_url: str | None, web_url: str) -> str:
    """The table artifact's markdown: a heading with the summary and the check time, then one row per reason."""
    lines = [f"### {summary}", "",
             f"检查时间：{beijing_text(now)}，每 {interval_minutes} 分钟检查一次；计时扫描、外部投递或重试解决了"
             "某行的原因时，该行随即移出。点击案件编号打开案件；完整原因见"
             + (f"[卡住原因详情]({details_url})。" if details_url else "产物 beian-stuck-details。"), ""]
    if not items:
        return "\n".join(lines)
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for number, item in enumerate(items, 1):
        reason = _cell(item.brief or item.reason_label)
        detail = f"（[详情 {number}]({details_url})）" if details_url else f"（详情 {number}）"
        cells = [_subject(item, web_url), _cell(item.institution) or "—", _cell(item.process) or "—",
                 _waiting(item), beijing_text(item.since).removesuffix("（北京时间）"),
                 str(item.overdue_working_days), f"{item.reason_label}：{reason}{detail}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details_markdown(items: list[StuckItem], now: datetime, web_url: str) -> str:
    """Each row's whole reason, numbered as in the table."""
    lines = [f"### 卡住原因详情（检查时间：{beijing_text(now)}）", ""]
    if not items:
        lines.append("没有卡住的案件。")
    for number, item in enumerate(items, 1):
        who = item.case_id or item.waiting_on
        lines.append(f"{number}. **{who}**（{item.reason_label}，自 {beijing_text(item.since)}）：{item.reason}")
        if item.cases:
            lines.append(f"   等待的案件：{'、'.join(_link(case, case_url(web_url, case)) for case in item.cases)}")
    return "\n".join(lines)


def case_url(web_url: str, case: str) -> str:
    return f"{web_url.rstrip('/')}/cases/{case}"


def _subject(item: StuckItem, web_url: str) -> str:
    """The case as a link; for a row of many cases (a system down), the first few of them."""
    if item.case_id:
        return _link(item.case_id, item.link)
    if not item.cases:
        return "—"
    shown = "、".join(_link(case, case_url(web_url, case)) for case in item.cases[:_CASES_SHOWN])
    return shown + (f" 等 {len(item.cases)} 个" if len(item.cases) > _CASES_SHOWN else "")


def _waiting(item: StuckItem) -> str:
    if not item.case_id and item.link:  # a deployment: its page in the Prefect UI
        return _link(item.waiting_on, item.link)
    return _cell(item.waiting_on)


def _link(text: str, url: str) -> str:
    return f"[{_cell(text)}]({url})" if url else _cell(text)


def _cell(text: str | Iterable[str]) -> str:
    """Text safe inside a markdown table cell (no pipe ends a cell early, no line break ends the row)."""
    value = text if isinstance(text, str) else "、".join(text)
    return " ".join(value.split()).replace("|", "\\|")
