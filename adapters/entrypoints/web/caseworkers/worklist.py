"""The worklist (我的待办 and the other views): one page of the open tasks of the caseworker's roles and authority,
most urgent first, with working days left or overdue.

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
                 page_number: Annotated[int, Query(le=MAX_PAGE_NUMBER)] = 1) -> Response:
        user = site.user_of(request)
        page_number = max(page_number, 1)
        now = clock.now()
        regions = _regions_under(user)
        region = region if _is_region(region) else ""  # a link may carry any division's code

        def tasks_of(key: str, limit: int, offset: int = 0) -> tuple[list[Any], int]:
            return uow.repo.worklist(
                roles=list(user.roles), authority=user.region,
                claimed_by=user.username if key == "mine" else None, unclaimed_only=key == "unclaimed",
                overdue_at=now if key == "overdue" else None, process=process or None,
                case_status=status or None, region=region or None, limit=limit, offset=offset)

        with site.service.reading() as uow:
            counts = {key: tasks_of(key, 0)[1] for key in VIEWS}
            if view not in VIEWS:  # the landing view: where the work is
                view = next((key for key in ("mine", "unclaimed", "overdue") if counts[key]), "all")
            rows, total = tasks_of(view, PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
            calendar = _calendar(uow)
            cases = uow.repo.instances_of(sorted({row.case_id for row in rows}))
            tasks = [_task_line(row, cases.get(row.case_id), now, calendar) for row in rows]
            statuses = {key: STATUSES.get(key, key)
                        for key in uow.repo.worklist_statuses(roles=list(user.roles), authority=user.region)}
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        return site.page(request, "worklist.html", tasks=tasks, total=total, view=view, views=VIEWS, counts=counts,
                         process=process, status=status, region=region, statuses=statuses, regions=regions,
                         page_number=page_number, pages=pages,
                         people=display_names(site),
                         query=lambda **changes: "?" + urlencode({"view": view, "process": process, "status": status,
                                                                  "region": region, "page_number": page_number}
                                                                 | changes))


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
