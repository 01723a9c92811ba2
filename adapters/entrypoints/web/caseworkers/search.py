"""Find any case (案件查询), or any filing (`filed=1`: the cases that made one, with the filing's status and
validity): `/cases?q=TEXT` by part of the institution's name, the credit code, part of the case or
filing number, with filters in plain words (process, status group, region by name, received between), a page at a
time, within what the caseworker may see (app.search.cases, the rule of tasks/access.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.web.base import Site
from tasks.divisions import DIVISIONS
from tasks.errors import InvalidInput
from workflows.lifecycle import PROCESS_LABELS
from workflows.service.search import GROUPS, CaseQuery

PAGE_SIZE = 25
MAX_PAGE_NUMBER = 1_000_000


def register(app: FastAPI, site: Site) -> None:
    @app.get("/cases", response_class=HTMLResponse)
    def search_cases(request: Request, q: str = "", group: str = "", process: str = "", region: str = "",
                     received_from: str = "", received_to: str = "", filed: str = "",
                     page: Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)] = 1) -> Response:
        user = site.user_of(request)
        shown = {"q": q, "group": group, "process": process, "region": region, "received_from": received_from,
                 "received_to": received_to, "filed": "1" if filed else ""}
        problems: list[str] = []
        first, problem = _day(received_from, "收件起始日")
        problems += [problem] if problem else []
        last, problem = _day(received_to, "收件截止日")
        problems += [problem] if problem else []
        if process and process not in PROCESS_LABELS:
            problems.append(f"未知的流程“{process}”")
        result = None
        if not problems:
            try:
                result = site.service.search.cases(CaseQuery(
                    text=q, group=group or None, process=process or None, region=region or None,
                    received_from=first, received_to=last, filed=bool(filed), page=page, per_page=PAGE_SIZE),
                    viewer=user)
            except InvalidInput as exc:
                problems.append(exc.message)
        regions = [(code, name) for code, name in DIVISIONS.items() if code.startswith(_prefix(user.region))]
        return site.page(request, "cases.html", status_code=422 if problems else 200, result=result,
                         problems=problems, shown=shown, groups={k: g.label for k, g in GROUPS.items()},
                         regions=regions,
                         page_link=lambda number: "/cases?" + urlencode({**shown, "page": number}))


def _day(text: str, label: str) -> tuple[date | None, str | None]:
    if not text.strip():
        return None, None
    try:
        return date.fromisoformat(text.strip()), None
    except ValueError:
        return None, f"{label}“{text.strip()[:20]}”不是日期，应写作 2026-10-12"


def _prefix(region: str) -> str:
    """The codes a caseworker's region filter offers: the cities of a province, a city's own code."""
    return region[:2] if region.endswith("0000") else region
