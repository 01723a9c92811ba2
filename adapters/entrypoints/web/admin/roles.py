"""角色管理: every role a BPMN lane may stand for, and an administrator adding one (what `beian roles add` does): a
lane named by its label is then done by its holders, and users get it like any role (`beian users add --role`).
Roles are the whole system's, as on the command line; adding one is audited."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.entrypoints.web.base import admin_only, read_form
from tasks.access import Caseworker
from tasks.errors import BeianError
from tasks.roles import LEVELS
from workflows.roles import MAX_DESCRIPTION, MAX_LABEL, add_role, list_roles
from workflows.service import Beian

NOT_AN_ADMIN = "只有管理员可以管理角色"


def register_role_pages(app: FastAPI, *, service: Beian, page: Callable[..., HTMLResponse],
                        user_of: Callable[[Request], Caseworker],
                        form_of: Callable[[Request], list[tuple[str, str]]]) -> None:
    def admin(request: Request) -> Caseworker:
        return admin_only(user_of(request), NOT_AN_ADMIN)

    def listing(request: Request, *, done: str = "", problem: str = "", sent: dict[str, str] | None = None,
                status_code: int = 200) -> HTMLResponse:
        return page(request, "admin_roles.html", status_code=status_code, roles=list_roles(service), levels=LEVELS,
                    done=done, problem=problem, sent=sent or {}, max_label=MAX_LABEL,
                    max_description=MAX_DESCRIPTION)

    @app.get("/admin/roles", response_class=HTMLResponse)
    def roles_page(request: Request, done: str = "") -> Response:
        admin(request)
        return listing(request, done=done)

    @app.post("/admin/roles", dependencies=[Depends(read_form)])
    def add(request: Request) -> Response:
        user = admin(request)
        items = {name: value for name, value in form_of(request)
                 if name in ("key", "label", "level", "description")}
        try:
            role = add_role(service, items.get("key", ""), items.get("label", ""), items.get("description", ""),
                            items.get("level", ""), actor=user.username)
        except BeianError as exc:  # said beside the form, with what was typed kept
            return listing(request, problem=exc.message, sent=items, status_code=422)
        done = (f"已新增角色：{role.label}（{role.key}）。流程图中以“{role.label}”命名的泳道即由该角色办理；"
                f"用 beian users add --role {role.key} 为用户指定")
        return RedirectResponse(f"/admin/roles?done={quote(done)}#role-{role.key}", status_code=303)
