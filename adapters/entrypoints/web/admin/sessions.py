"""The administrators' pages: 会话管理, the web sessions in force in the administrator's province, and "全部登出"
for one caseworker (every browser, every web server; audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.entrypoints.web.base import AccessDenied, admin_only, read_form
from tasks.access import Caseworker
from workflows.service import Beian
from workflows.sessions import IDLE_MINUTES, SESSION_HOURS, live_sessions, sign_out_everywhere
from workflows.users import get_user, list_users

NOT_AN_ADMIN = "只有管理员可以管理登录会话"


def register_admin_pages(app: FastAPI, *, service: Beian, page: Callable[..., HTMLResponse],
                         user_of: Callable[[Request], Caseworker],
                         form_of: Callable[[Request], list[tuple[str, str]]]) -> None:
    def admin(request: Request) -> Caseworker:
        return admin_only(user_of(request), NOT_AN_ADMIN)

    def in_province(user: Caseworker) -> Callable[[str], bool]:
        """An administrator manages the accounts of their own province (the first two digits of the region)."""
        return lambda region: region[:2] == user.region[:2]

    @app.get("/admin/sessions", response_class=HTMLResponse)
    def sessions_page(request: Request, done: str = "") -> Response:
        user = admin(request)
        ours = in_province(user)
        people = {u.username: u for u in list_users(service) if ours(u.region)}
        rows: list[dict[str, Any]] = [{**s.to_dict(), "display_name": people[s.username].display_name}
                                      for s in live_sessions(service) if s.username in people]
        return page(request, "admin_sessions.html", sessions=rows, done=done, session_hours=SESSION_HOURS,
                    idle_minutes=IDLE_MINUTES)

    @app.post("/admin/sessions/signout", dependencies=[Depends(read_form)])
    def sign_out(request: Request) -> Response:
        user = admin(request)
        items = dict(form_of(request))
        target = get_user(service, items.get("username", ""))
        if target is None or not in_province(user)(target.region):
            raise AccessDenied("该用户不存在或不属于您管理的省份，未作任何更改")
        ended = sign_out_everywhere(service, target.username, actor=user.username)
        done = f"已登出 {target.display_name}（{target.username}）的全部会话，共 {ended} 个"
        return RedirectResponse(f"/admin/sessions?done={quote(done)}", status_code=303)
