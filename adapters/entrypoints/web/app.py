"""The caseworkers' web app: FastAPI serving Jinja2 pages, plain HTML forms that work without JavaScript.

Every page is in Simplified Chinese. Access is decided on the server, for every route, by `tasks.access`: a
caseworker sees and does only what their role and jurisdiction allow (a refused request changes nothing and says
why). Sessions are kept in the database (workflows/sessions.py; the cookie holds only a random token), so signing
out or a password change ends them at once; every form carries the session's CSRF token, checked before anything
happens. Routes that touch the database or the engine are plain functions, which FastAPI runs in its thread pool:
a slow step (bounded by the expression and step limits) never holds up another user's request.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from adapters.entrypoints.web.admin.issuers import register_issuer_pages
from adapters.entrypoints.web.admin.roles import register_role_pages
from adapters.entrypoints.web.admin.sessions import register_admin_pages
from adapters.entrypoints.web.base import (
    ANONYMOUS_CSRF_COOKIE,
    STATIC,
    AccessDenied,
    SignInRequired,
    Site,
    csrf_passes,
    is_token,
    read_form,
    set_session_cookie,
)
from adapters.entrypoints.web.caseworkers import register as register_caseworker_pages
from adapters.entrypoints.web.filters import actor_name, cn_date, cn_datetime, cn_due, role_label
from adapters.entrypoints.web.guards import RequestGuard
from adapters.entrypoints.web.portal.pages import register_portal_pages
from adapters.entrypoints.web.processes.pages import register_process_pages
from adapters.entrypoints.web.public.pages import register_public_pages
from adapters.outside.db import DB_CONNECTIONS
from adapters.outside.pdf import PdfError
from adapters.outside.repository import is_busy
from tasks.access import Caseworker
from tasks.errors import (
    BeianError,
    DefinitionError,
    InvalidInput,
    NotFound,
)
from tasks.grounds import GROUNDS
from workflows import clock
from workflows.lifecycle import PROCESS_LABELS
from workflows.service import Beian
from workflows.sessions import SignedIn, end_session, session_of, start_session
from workflows.users import SignInLocked, authenticate, get_user

TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "beian_session"
# What a person calls each number a link carries (for the page that says one is wrong).
PARAMETER_LABELS = {"page_number": "页码", "document_id": "文书编号", "version": "版本号", "from_version": "源版本号",
                    "to_version": "目标版本号", "deployed": "已部署的版本号", "unchanged": "未变化的版本号"}
HTTP_ERRORS = {404: ("未找到", "没有这个网页，请检查网址，或从待办列表重新进入"),
               405: ("请求有误", "该网页不接受这种请求方式（例如直接打开了只能提交表单的地址），未作任何更改"),
               400: ("请求有误", "提交的内容格式不正确（例如栏目过多或文件不完整），未作任何更改")}
logger = logging.getLogger("beian.web")


# Seconds a busy page asks the browser (and any client) to wait before trying again.
BUSY_RETRY_AFTER_SECONDS = 5


@contextlib.asynccontextmanager
async def _threads_as_connections(_app: FastAPI) -> AsyncIterator[None]:
    """Routes and page handlers that touch the database are plain functions run in anyio's worker threads: at most as
    many at once as a process opens database connections (DB_CONNECTIONS), so none waits on a connection held by a
    thread that is itself waiting for its turn."""
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = DB_CONNECTIONS
    yield


def create_app(database_url: str, *, secret_key: str, secure_cookies: bool = False) -> FastAPI:
    app = FastAPI(title="职业技能等级评价机构备案系统", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=_threads_as_connections)
    service = Beian(database_url)
    app.state.service = service
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters.update(cn_date=cn_date, cn_datetime=cn_datetime, cn_due=cn_due, role_label=role_label,
                                 actor_name=actor_name)
    templates.env.globals.update(process_labels=PROCESS_LABELS,
                                 violation_grounds=[g for g in GROUNDS if g.reportable])
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    def plain_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
        """The error page without looking anything up (no user, no database): for what fails before or beyond the
        routes, where the lookup itself may be what fails."""
        try:
            return templates.TemplateResponse(request, "error.html", {
                "request": request, "user": None, "csrf_token": "", "now": None, "title": title, "message": message,
            }, status_code=status_code)
        except Exception:  # noqa: BLE001 — the last resort must answer in Chinese whatever broke
            return HTMLResponse(f"<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>{escape(title)}"
                                f"</title><h1>{escape(title)}</h1><p>{escape(message)}</p>", status_code=status_code)

    app.add_middleware(RequestGuard, render=lambda scope, *args: plain_page(Request(scope), *args))

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """A page; the portal passes its own `csrf_token` (its session's), which wins over the caseworker's."""
        values = {"request": request, "now": clock.now()}
        values["user"] = None if context.get("portal") else _user_or_none(request)
        values["csrf_token"] = context.pop("csrf_token", None) or csrf_token(request)
        values.update(context)
        response = templates.TemplateResponse(request, name, values, status_code=status_code)
        if new_token := getattr(request.state, "new_anonymous_csrf", None):
            set_cookie(response, ANONYMOUS_CSRF_COOKIE, new_token)
        return response

    def set_cookie(response: Response, name: str, value: str) -> None:
        set_session_cookie(response, name, value, path="/", secure=secure_cookies)

    def signed_in(request: Request) -> SignedIn | None:
        """The live session the request's cookie opens, looked up once per request."""
        if not hasattr(request.state, "signed_in"):
            request.state.signed_in = session_of(service, secret_key, request.cookies.get(SESSION_COOKIE))
        session: SignedIn | None = request.state.signed_in
        return session

    def csrf_token(request: Request) -> str:
        """The token the page's forms carry: the session's, or before signing in the browser's own cookie."""
        session = signed_in(request)
        if session is not None:
            return session.csrf_token
        return anonymous_csrf(request)

    def anonymous_csrf(request: Request) -> str:
        """The browser's own CSRF cookie (double submit), made with the page when it has none."""
        token = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
        if not is_token(token):
            if not getattr(request.state, "new_anonymous_csrf", None):
                request.state.new_anonymous_csrf = secrets.token_urlsafe(32)
            token = request.state.new_anonymous_csrf
        return token

    def user_of(request: Request) -> Caseworker:
        user = _user_or_none(request)
        if user is None:
            raise SignInRequired
        return user

    def _user_or_none(request: Request) -> Caseworker | None:
        session = signed_in(request)
        if session is None:
            return None
        user = get_user(service, session.username)
        return user if user is not None and user.active else None

    def form_of(request: Request) -> list[tuple[str, str]]:
        """The posted fields (read by `read_form`), after the CSRF check: a form from another site, or from a page of
        a session that has ended, changes nothing."""
        items: list[tuple[str, str]] = request.state.form_items
        session = signed_in(request)
        expected = session.csrf_token if session is not None else request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
        if not csrf_passes(items, expected):
            raise AccessDenied("页面已过期或来源不明（安全校验未通过），请刷新页面后重试；未作任何更改")
        return items

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    # The handlers that render a page look the user up (the database): plain functions, run in the thread pool.
    @app.exception_handler(AccessDenied)
    def _denied(request: Request, exc: AccessDenied) -> Response:
        return page(request, "error.html", status_code=403, title="无权操作", message=str(exc))

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> Response:
        return page(request, "error.html", status_code=404, title="未找到", message=exc.message)

    @app.exception_handler(RequestValidationError)
    def _bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        """A number in the address that is not one, or out of range: a path's is a page that does not exist."""
        problems = _parameter_problems(exc.errors())
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return page(request, "error.html", status_code=404, title="未找到", message=problems)
        return page(request, "error.html", status_code=400, title="请求有误", message=f"{problems}；未作任何更改")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        title, message = HTTP_ERRORS.get(exc.status_code, ("请求有误", "请求无法处理，未作任何更改"))
        response = plain_page(request, exc.status_code, title, message)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(PdfError)
    def _no_pdf(request: Request, exc: PdfError) -> Response:
        html_link = request.url.path.removesuffix(".pdf")
        return page(request, "error.html", status_code=503, title="暂时无法生成 PDF",
                    message=f"{exc.message}。这需要系统管理员在服务器上安装（见 README 的 PDF 一节）；在此之前可打开"
                            f"网页版文书（{html_link}）用浏览器打印。")

    @app.exception_handler(BeianError)
    def _refused(request: Request, exc: BeianError) -> Response:
        invalid = isinstance(exc, (InvalidInput, DefinitionError))
        return page(request, "error.html", status_code=422 if invalid else 409,
                    title="请求有误" if invalid else "未能完成", message=exc.message)

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError) -> Response:
        """The database was too busy to answer in time (BEIAN_DB_WAIT): every connection in use, another writer
        holding the lock, or a conflict that went on after the retries. The transaction was rolled back: a page that
        says so and when to try again, not an internal error. Any other database error is one."""
        if not is_busy(exc):
            return _unexpected_page(request, exc)
        logger.warning("数据库繁忙：%s %s（%s）", request.method, request.url.path, type(exc).__name__)
        response = plain_page(request, 503, "系统繁忙",
                              "现在办理的人较多，数据库暂时无法处理本次请求，本次操作没有完成、未作任何更改。"
                              "请稍等片刻再试；如果是提交表单，请先刷新页面，看看是否已经办理。")
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return _unexpected_page(request, exc)

    def _unexpected_page(request: Request, exc: Exception) -> Response:
        """Whatever no other handler expected: a Chinese page with a reference, the traceback in the server's log."""
        reference = secrets.token_hex(4)
        logger.error("未预料的错误（编号 %s）：%s %s", reference, request.method, request.url.path, exc_info=exc)
        return plain_page(request, 500, "系统出错",
                          f"系统内部出错，本次操作可能没有完成（错误编号 {reference}）。请稍后重试；"
                          "如果一再出现，请把错误编号告诉系统管理员。")

    # --- signing in ------------------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/tasks", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/tasks") -> Response:  # noqa: A002 — the usual name
        return page(request, "login.html", next=_safe_next(next), error=None)

    @app.post("/login", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def login(request: Request) -> Response:
        items = dict(form_of(request))
        try:
            user = authenticate(service, items.get("username", "").strip(), items.get("password", ""),
                                client=request.client.host if request.client else "")
        except SignInLocked as exc:
            return page(request, "login.html", status_code=429, next=_safe_next(items.get("next", "/tasks")),
                        error=exc.message)
        if user is None:
            return page(request, "login.html", status_code=401, next=_safe_next(items.get("next", "/tasks")),
                        error="用户名或密码不正确，或账号已停用")
        # A new session (and CSRF token) on every sign-in, no session fixation; the browser's previous one ends.
        end_session(service, secret_key, request.cookies.get(SESSION_COOKIE))
        token, _ = start_session(service, secret_key, user.username,
                                 client=request.client.host if request.client else "",
                                 user_agent=request.headers.get("user-agent", ""))
        response = RedirectResponse(_safe_next(items.get("next", "/tasks")), status_code=303)
        set_cookie(response, SESSION_COOKIE, token)
        response.delete_cookie(ANONYMOUS_CSRF_COOKIE, path="/")
        return response

    @app.post("/logout", dependencies=[Depends(read_form)])
    def logout(request: Request) -> Response:
        form_of(request)
        end_session(service, secret_key, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


    register_caseworker_pages(app, Site(service=service, page=page, user_of=user_of, form_of=form_of))
    register_process_pages(app, service=service, page=page, user_of=user_of, form_of=form_of,
                           csrf_token=csrf_token)
    register_admin_pages(app, service=service, page=page, user_of=user_of, form_of=form_of)
    register_issuer_pages(app, service=service, page=page, user_of=user_of, form_of=form_of)
    register_role_pages(app, service=service, page=page, user_of=user_of, form_of=form_of)
    register_public_pages(app, service=service, page=page, form_of=form_of)
    register_portal_pages(app, service=service, page=page, secret_key=secret_key, secure_cookies=secure_cookies,
                          anonymous_csrf=anonymous_csrf)
    return app


# --- helpers ---------------------------------------------------------------------------------------------------

def _parameter_problems(errors: Any) -> str:
    """What is wrong with the numbers of a link, in Chinese, without repeating what was sent."""
    problems = []
    for error in errors:
        name = str(error.get("loc", ("", ""))[-1])
        label = PARAMETER_LABELS.get(name, name)
        context = error.get("ctx") or {}
        if "le" in context:
            problems.append(f"{label}（{name}）应不大于 {context['le']}")
        elif "ge" in context:
            problems.append(f"{label}（{name}）应不小于 {context['ge']}")
        else:
            problems.append(f"{label}（{name}）应为整数")
    return "网址中的" + "；".join(dict.fromkeys(problems))


def _safe_next(target: str) -> str:
    """Only a path of this site (no open redirect to another host)."""
    return target if target.startswith("/") and not target.startswith("//") else "/tasks"
