"""The worklist (我的待办 and the other views): one page of the open tasks of the caseworker's roles and authority,
most urgent first, with working days left or overdue. Pages go forward and back by cursor (keyset), and counts
stop at 1000 ("1000+"), so a page costs the same with a thousand or a hundred thousand open tasks.

Opened without a view, it starts where the work is: the first of 我的待办, 本角色未认领, 已超期 that holds a task
(全部 otherwise), and each tab says how many it holds. A row names the institution, the received date and where it is
located by name; the status filter offers the statuses the caseworker's open tasks are in, the region filter the
cities (or districts) under the caseworker's authority, by name."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.web.base import Site
from adapters.entrypoints.web.caseworkers.case_access import display_names
from adapters.outside.worklist import COUNT_BOUND, WorklistFilter
from tasks.access import Caseworker, authority_name
from tasks.calendar import WorkingDayCalendar
from tasks.divisions import DIVISIONS
from workflows import clock
from workflows.operators import STATUSES
from workflows.stuck import working_days_overdue

PAGE_SIZE = 25
VIEWS = {"mine": "我的待办", "unclaimed": "本角色未认领", "overdue": "已超期", "all": "全部"}
MAX_PAGE_NUMBER = 1_000_000


def register(app: FastAPI, site: Site) -> None:
    @app.get("/tasks", response_class=HTMLResponse)
    def worklist(request: Request, view: str = "", process: str = "", status: str = "", region: str = "",
                 after: str = "", before: str = "",
                 page_number: Annotated[int, Query(le=MAX_PAGE_NUMBER)] = 1) -> Response:
        """Pages are keyset pages (`after`/`before`: the cursor of the neighbouring page's edge row, see
        adapters/outside/worklist.py); `page_number` only numbers the page for the reader."""
        user = site.user_of(request)
        now = clock.now()
        regions = _regions_under(user)
        region = region if _is_region(region) else ""  # a link may carry any division's code

        def where(key: str) -> WorklistFilter:
            return WorklistFilter(
                roles=list(user.roles), authority=user.region,
                claimed_by=user.username if key == "mine" else None, unclaimed_only=key == "unclaimed",
                overdue_at=now if key == "overdue" else None, process=process or None,
                case_status=status or None, region=region or None)

        with site.service.reading() as uow:
            counts = {key: uow.repo.worklist_count(where(key)) for key in VIEWS}
            if view not in VIEWS:  # the landing view: where the work is
                view = next((key for key in ("mine", "unclaimed", "overdue") if counts[key]), "all")
            page = uow.repo.worklist(where(view), limit=PAGE_SIZE, after=after or None, before=before or None)
            rows = page.rows
            calendar = _calendar(uow)
            cases = uow.repo.instances_of(sorted({row.case_id for row in rows}))
            tasks = [_task_line(row, cases.get(row.case_id), now, calendar) for row in rows]
            statuses = {key: STATUSES[key] for key in uow.repo.worklist_statuses(
                roles=list(user.roles), authority=user.region, among=STATUSES)}
        total = counts[view]
        page_number = max(page_number, 2) if page.before else 1
        pages = (max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1) if total <= COUNT_BOUND else None)
        filters = {"view": view, "process": process, "status": status, "region": region}
        return site.page(request, "worklist.html", tasks=tasks, total=total, view=view, views=VIEWS,
                         counts={key: _tab_count(n) for key, n in counts.items()}, total_text=_total_text(total),
                         process=process, status=status, region=region, statuses=statuses, regions=regions,
                         page_number=page_number, pages=pages,
                         previous_page=(_link(filters, before=page.before, page_number=page_number - 1)
                                        if page.before else None),
                         next_page=(_link(filters, after=page.after, page_number=page_number + 1)
                                    if page.after else None),
                         people=display_names(site),
                         query=lambda **changes: _link(filters | changes))


def _link(parameters: dict[str, Any], **more: Any) -> str:
    return "?" + urlencode({key: value for key, value in (parameters | more).items() if value not in ("", None)})


def _tab_count(count: int) -> str:
    """A tab's count: exact up to the bound, then "1000+" (the count stops reading there)."""
    return f"{COUNT_BOUND}+" if count > COUNT_BOUND else str(count)


def _total_text(count: int) -> str:
    return f"{COUNT_BOUND} 件以上" if count > COUNT_BOUND else f"{count} 件"


def _is_region(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def _regions_under(user: Caseworker) -> list[tuple[str, str]]:
    """The listed divisions inside the caseworker's authority, by name (a province's cities; for a city, none below
    it is listed, so no filter is offered)."""
    if user.region.endswith("0000"):
        return [(code, name) for code, name in DIVISIONS.items() if code[:2] == user.region[:2]]
    return []


def _calendar(uow: Any) -> WorkingDayCalendar:
    from workflows.engine import load_calendar

    calendar: WorkingDayCalendar = load_calendar(uow)
    return calendar


def _task_line(row: Any, case: Any, now: datetime, calendar: WorkingDayCalendar) -> dict[str, Any]:
    """A worklist row: overdue (by how many working days) or working days left, provisional deadlines marked."""
    due = row.due_at
    overdue = bool(due and due <= now)
    days = None
    if due is not None:
        days = working_days_overdue(calendar, due, now) if overdue else calendar.working_days_left(due, now)
    return {"id": row.id, "case": row.case_id, "name": row.name, "process": row.process_id, "role": row.role,
            "due": due, "overdue": overdue, "days": days, "provisional": row.provisional,
            "claimed_by": row.claimed_by, "article": row.article,
            "institution": case.institution_name if case else "", "received_at": case.received_at if case else None,
            "region_name": authority_name(case.region) if case else "",
            "online": bool(case and case.channel == "online")}
