"""The worklist (我的待办 and the other views): one page of the open tasks of the caseworker's roles and authority,
most urgent first, with working days left or overdue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.web.base import Site
from workflows import clock
from workflows.operators import STATUSES
from workflows.stuck import working_days_overdue

PAGE_SIZE = 25
VIEWS = {"mine": "我的待办", "unclaimed": "本角色未认领", "overdue": "已超期", "all": "全部"}
MAX_PAGE_NUMBER = 1_000_000


def register(app: FastAPI, site: Site) -> None:
    @app.get("/tasks", response_class=HTMLResponse)
    def worklist(request: Request, view: str = "mine", process: str = "", status: str = "", region: str = "",
                       page_number: Annotated[int, Query(le=MAX_PAGE_NUMBER)] = 1) -> Response:
        user = site.user_of(request)
        view = view if view in VIEWS else "mine"
        page_number = max(page_number, 1)
        now = clock.now()
        with site.service.reading() as uow:
            rows, total = uow.repo.worklist(
                roles=list(user.roles), authority=user.region,
                claimed_by=user.username if view == "mine" else None, unclaimed_only=view == "unclaimed",
                overdue_at=now if view == "overdue" else None, process=process or None,
                case_status=status or None, region=region if _is_region(region) else None,
                limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
            calendar = _calendar(uow)
            tasks = [_task_line(row, now, calendar) for row in rows]
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        return site.page(request, "worklist.html", tasks=tasks, total=total, view=view, views=VIEWS, process=process,
                    status=status, region=region, statuses=STATUSES, page_number=page_number, pages=pages,
                    query=lambda **changes: "?" + urlencode({"view": view, "process": process, "status": status,
                                                             "region": region, "page_number": page_number} | changes))


def _is_region(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def _calendar(uow: Any) -> Any:
    from workflows.engine import load_calendar

    return load_calendar(uow)


def _task_line(row: Any, now: datetime, calendar: Any) -> dict[str, Any]:
    """A worklist row: overdue (by how many working days) or working days left, provisional deadlines marked."""
    due = row.due_at
    overdue = bool(due and due <= now)
    days = None
    if due is not None:
        days = working_days_overdue(calendar, due, now) if overdue else calendar.working_days_left(due, now)
    return {"id": row.id, "case": row.case_id, "name": row.name, "process": row.process_id, "role": row.role,
            "due": due, "overdue": overdue, "days": days, "provisional": row.provisional,
            "claimed_by": row.claimed_by, "article": row.article}
