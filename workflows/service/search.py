"""Finding cases: a search by what people know of a case (part of the institution's name, the credit code, the case
or filing number) with filters in plain words, within what the viewer may see, one page at a time.

The visibility rule is tasks/access.py may_see_case, kept in the database as CaseAuthority rows so that a page is one
indexed query: a caseworker finds the cases of their authority and those the process gave their authority a task
on; an administrator every case of their province; the command line on the server every case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from adapters.outside.db import Instance
from adapters.outside.repository import UnitOfWork
from tasks.access import Caseworker, authority_name
from tasks.calendar import SHANGHAI
from tasks.errors import InvalidInput
from tasks.regions import PROVINCES
from tasks.text import text_problem
from workflows.filings import FILING_STATUSES
from workflows.operators import STATUSES
from workflows.service.base import Capability, local

MAX_SEARCH_TEXT: Final = 100
MAX_PAGE_SIZE: Final = 200


@dataclass(frozen=True)
class Group:
    """A plain group of case statuses, as a filter reads to a caseworker."""

    label: str
    finished: bool | None = None
    status: str | None = None
    failed: bool = False


# The status filter offers these few groups rather than the ~30 statuses of every process.
GROUPS: Final = {
    "open": Group("办理中", finished=False),
    "publicity": Group("公示中", status="publicity"),
    "finished": Group("已办结", finished=True),
    "failed": Group("出错待处理", failed=True),
}


@dataclass(frozen=True)
class CaseQuery:
    """What to look for; every part optional. `received_from`/`received_to` are Beijing days, both inclusive."""

    text: str = ""
    process: str | None = None
    group: str | None = None
    region: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    filed: bool = False
    """Only the cases that made a filing: the list of filings, with each filing's status and validity."""
    page: int = 1
    per_page: int = 50


class Search(Capability):
    """Lists of cases for people who look for one."""

    def cases(self, query: CaseQuery, viewer: Caseworker | None = None) -> dict[str, Any]:
        """One page of the matching cases the viewer may see (None: every case), newest received first, with how many
        match in all. InvalidInput (Chinese) names what is wrong with the query; nothing is searched then."""
        text = _checked_text(query.text)
        group = _checked_group(query.group)
        if query.region is not None and not _is_region(query.region):
            raise InvalidInput(f"地区“{query.region}”应为 6 位行政区划代码")
        if query.received_from and query.received_to and query.received_from > query.received_to:
            raise InvalidInput("收件日期的起始日晚于截止日")
        if query.page < 1 or not 1 <= query.per_page <= MAX_PAGE_SIZE:
            raise InvalidInput(f"页码应从 1 起，每页 1 至 {MAX_PAGE_SIZE} 件")
        with self.reading() as uow:
            rows, total = uow.repo.search_cases(
                seen_by=_seen_by(viewer), text=text or None, process=query.process, finished=group.finished,
                status=group.status, failed=group.failed, region=query.region,
                received_from=_start_of(query.received_from),
                received_before=_start_of(query.received_to + timedelta(days=1) if query.received_to else None),
                filed=query.filed, limit=query.per_page, offset=(query.page - 1) * query.per_page)
            cases = [_case_row(uow, row) for row in rows]
        return {"cases": cases, "total": total, "page": query.page, "per_page": query.per_page,
                "pages": max(1, -(-total // query.per_page))}


def _checked_text(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_SEARCH_TEXT:
        raise InvalidInput(f"搜索内容过长（{len(text)} 字），最多 {MAX_SEARCH_TEXT} 字")
    problem = text_problem(text) if text else None
    if problem:
        raise InvalidInput(f"搜索内容{problem}")
    return text


def _checked_group(key: str | None) -> Group:
    if key is None:
        return Group("全部")
    try:
        return GROUPS[key]
    except KeyError:
        choices = "、".join(f"{k}（{g.label}）" for k, g in GROUPS.items())
        raise InvalidInput(f"未知的案件状态分组“{key}”；可选：{choices}") from None


def _is_region(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit() and code[:2] in PROVINCES


def _seen_by(viewer: Caseworker | None) -> str | None:
    if viewer is None:
        return None
    if not viewer.active:
        return "------"  # an inactive account sees nothing (no authority has this code)
    return viewer.region[:2] if viewer.is_admin else viewer.region


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI) if day else None


def _case_row(uow: UnitOfWork, instance: Instance) -> dict[str, Any]:
    filing = uow.repo.filing(instance.filing_id) if instance.filing_id else None
    return {
        "case": instance.case_id, "process": instance.process_id, "institution": instance.institution_name,
        "credit_code": instance.credit_code, "region": instance.region, "region_name": authority_name(instance.region),
        "status": instance.status, "status_label": STATUSES.get(instance.status, instance.status),
        "received_at": local(instance.received_at), "finished": instance.completed_at is not None,
        "failed": instance.error_at is not None, "filing_number": filing.filing_number if filing else None,
        "filing_status_label": FILING_STATUSES.get(filing.status, filing.status) if filing else None,
        "valid_until": filing.valid_until.isoformat() if filing else None,
    }
