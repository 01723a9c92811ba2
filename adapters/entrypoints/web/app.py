"""The caseworkers' web app: FastAPI serving Jinja2 pages, plain HTML forms that work without JavaScript.

Every page is in Simplified Chinese. Access is decided on the server, for every route, by `tasks.access`: a
caseworker sees and does only what their role and jurisdiction allow (a refused request changes nothing and says
why). Sessions are kept in the database (workflows/sessions.py; the cookie holds only a random token), so signing
out or a password change ends them at once; every form carries the session's CSRF token, checked before anything
happens. Routes that touch the database or the engine are plain functions, which FastAPI runs in its thread pool:
a slow step (bounded by the expression and step limits) never holds up another user's request.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParameter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from adapters.entrypoints.web.admin import register_admin_pages
from adapters.entrypoints.web.base import (
    MAX_ID,
    STATIC,
    AccessDenied,
    SignInRequired,
    check_token,
    is_token,
    read_form,
)
from adapters.entrypoints.web.diagram import case_marks, diagram_for, viewer_installed
from adapters.entrypoints.web.forms import check_submission, form_fields, submitted_values
from adapters.entrypoints.web.forms.application import (
    RECEIVED_AT_FIELD,
    adding_row,
    application_fields,
    posted_values,
    read_application,
    read_received_at,
)
from adapters.entrypoints.web.guards import RequestGuard
from adapters.entrypoints.web.processes import register_process_pages
from adapters.outside.pdf import PdfError
from tasks.access import Caseworker, authority_name, authority_of, may_see_case, may_work_on, refusal
from tasks.calendar import SHANGHAI
from tasks.errors import (
    BeianError,
    ConcurrentChange,
    DefinitionError,
    IllegalEvent,
    InvalidInput,
    NotFound,
    ReceivedInFuture,
)
from tasks.grounds import GROUNDS
from tasks.roles import PROCESS_OWNER, ROLES
from workflows import clock
from workflows.lifecycle import PROCESS_LABELS
from workflows.operators import STATUSES
from workflows.service import Beian
from workflows.sessions import SESSION_HOURS, SignedIn, end_session, session_of, start_session
from workflows.stuck import working_days_overdue
from workflows.users import SignInLocked, authenticate, get_user

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_SIZE = 25
SESSION_COOKIE = "beian_session"
# Before signing in there is no session: the sign-in form's CSRF token is a cookie of its own (double submit).
ANONYMOUS_CSRF_COOKIE = "beian_csrf"
ROLE_LABELS = {role.key: role.label for role in (*ROLES, PROCESS_OWNER)}
VIEWS = {"mine": "我的待办", "unclaimed": "本角色未认领", "overdue": "已超期", "all": "全部"}
MAX_PAGE_NUMBER = 1_000_000
# What a person calls each number a link carries (for the page that says one is wrong).
PARAMETER_LABELS = {"page_number": "页码", "document_id": "文书编号", "version": "版本号", "from_version": "源版本号",
                    "to_version": "目标版本号", "deployed": "已部署的版本号", "unchanged": "未变化的版本号"}
HTTP_ERRORS = {404: ("未找到", "没有这个网页，请检查网址，或从待办列表重新进入"),
               405: ("请求有误", "该网页不接受这种请求方式（例如直接打开了只能提交表单的地址），未作任何更改"),
               400: ("请求有误", "提交的内容格式不正确（例如栏目过多或文件不完整），未作任何更改")}
logger = logging.getLogger("beian.web")


def create_app(database_url: str, *, secret_key: str, secure_cookies: bool = False) -> FastAPI:
    app = FastAPI(title="职业技能等级评价机构备案系统", docs_url=None, redoc_url=None, openapi_url=None)
    service = Beian(database_url)
    app.state.service = service
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters.update(cn_date=cn_date, cn_datetime=cn_datetime, cn_due=cn_due, role_label=role_label)
    templates.env.globals.update(process_labels=PROCESS_LABELS, role_labels=ROLE_LABELS,
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
        context.update(request=request, user=_user_or_none(request), csrf_token=csrf_token(request),
                       now=clock.now())
        response = templates.TemplateResponse(request, name, context, status_code=status_code)
        if new_token := getattr(request.state, "new_anonymous_csrf", None):
            set_cookie(response, ANONYMOUS_CSRF_COOKIE, new_token)
        return response

    def set_cookie(response: Response, name: str, value: str) -> None:
        response.set_cookie(name, value, max_age=SESSION_HOURS * 3600, path="/", httponly=True, samesite="lax",
                            secure=secure_cookies)

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
        if not is_token(expected) or not check_token(dict(items).get("csrf_token", ""), expected):
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
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

    # --- the worklist ----------------------------------------------------------------------------------------
    @app.get("/tasks", response_class=HTMLResponse)
    def worklist(request: Request, view: str = "mine", process: str = "", status: str = "", region: str = "",
                       page_number: Annotated[int, Query(le=MAX_PAGE_NUMBER)] = 1) -> Response:
        user = user_of(request)
        view = view if view in VIEWS else "mine"
        page_number = max(page_number, 1)
        now = clock.now()
        with service.reading() as uow:
            rows, total = uow.repo.worklist(
                roles=list(user.roles), authority=user.region,
                claimed_by=user.username if view == "mine" else None, unclaimed_only=view == "unclaimed",
                overdue_at=now if view == "overdue" else None, process=process or None,
                case_status=status or None, region=region if _is_region(region) else None,
                limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
            calendar = _calendar(uow)
            tasks = [_task_line(row, now, calendar) for row in rows]
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        return page(request, "worklist.html", tasks=tasks, total=total, view=view, views=VIEWS, process=process,
                    status=status, region=region, statuses=STATUSES, page_number=page_number, pages=pages,
                    query=lambda **changes: "?" + urlencode({"view": view, "process": process, "status": status,
                                                             "region": region, "page_number": page_number} | changes))

    # --- one task --------------------------------------------------------------------------------------------
    def task_for(user: Caseworker, task_id: str) -> dict[str, Any]:
        task = service.cases.task(task_id)
        if not may_work_on(user, task["role"], _task_authority(task)):
            raise AccessDenied(refusal(user, task["role"], _task_authority(task)))
        return task

    @app.get("/tasks/{task_id}", response_class=HTMLResponse)
    def task_page(request: Request, task_id: str) -> Response:
        user = user_of(request)
        task = task_for(user, task_id)
        # A saved draft fills the form as it was left; otherwise the schema's defaults (a fresh form).
        return _task_form(request, task, values=task.get("draft"), field_errors={}, form_errors=[],
                          saved=request.query_params.get("saved") == "1")

    def _task_form(request: Request, task: dict[str, Any], values: Mapping[str, Any] | None,
                   field_errors: dict[str, str], form_errors: list[str], status_code: int = 200,
                   saved: bool = False) -> Response:
        schema = _form_schema(task)
        fields = form_fields(schema, values, field_errors)
        return page(request, "task.html", status_code=status_code, task=task, fields=fields, schema=schema,
                    form_errors=form_errors, saved=saved)

    def posted_to_task(request: Request, task_id: str, verb: str,
                             nothing_done: str) -> tuple[Caseworker, list[tuple[str, str]], dict[str, Any]] | Response:
        """The user, the posted form and the task for a POST on an open task they may work on (CSRF checked); or
        the page saying the task is gone (done by someone else, or cancelled by a timer)."""
        user = user_of(request)
        items = form_of(request)
        try:
            task = task_for(user, task_id)
        except NotFound:
            return page(request, "error.html", status_code=409, title="待办已失效",
                        message=f"该待办已不再有效（可能已被他人办理，或因期限届满被取消），{nothing_done}。")
        if task["claimed_by"] not in (None, user.username):
            raise AccessDenied(f"该待办已由 {task['claimed_by']} 认领，您不能{verb}；未作任何更改")
        return user, items, task

    @app.post("/tasks/{task_id}/draft", dependencies=[Depends(read_form)])
    def save_draft(request: Request, task_id: str) -> Response:
        """暂存: keep the form as typed, unchecked, in the case's state; nothing is submitted."""
        posted = posted_to_task(request, task_id, "暂存", "未暂存")
        if isinstance(posted, Response):
            return posted
        user, items, task = posted
        schema = _form_schema(task)
        try:
            service.cases.save_draft(task_id, submitted_values(schema, items), actor=user.username)
        except (IllegalEvent, ConcurrentChange, InvalidInput) as exc:
            return page(request, "error.html", status_code=409, title="未能暂存", message=exc.message)
        return RedirectResponse(f"/tasks/{quote(task_id)}?saved=1", status_code=303)

    @app.post("/tasks/{task_id}", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def complete_task(request: Request, task_id: str) -> Response:
        posted = posted_to_task(request, task_id, "办理", "本次提交未作任何更改")
        if isinstance(posted, Response):
            return posted
        user, items, task = posted
        schema = _form_schema(task)
        submission = check_submission(schema, items)  # server-side: conversion, then the schema (Chinese messages)
        if not submission.ok:
            return _task_form(request, task, submission.values, submission.field_errors, submission.form_errors,
                              status_code=422)
        try:
            result = service.cases.complete(task_id, submission.data, actor=user.username)
        except InvalidInput as exc:  # what only the process knows (the schema passed above)
            return _task_form(request, task, submission.values, {}, exc.problems or [exc.message], status_code=422)
        except (IllegalEvent, ConcurrentChange) as exc:
            return page(request, "error.html", status_code=409, title="待办已失效", message=exc.message)
        return RedirectResponse(f"/cases/{quote(result['case'])}?done={quote(task['name'])}", status_code=303)

    @app.post("/tasks/{task_id}/claim", dependencies=[Depends(read_form)])
    def claim(request: Request, task_id: str) -> Response:
        user = user_of(request)
        form_of(request)
        task_for(user, task_id)
        return _acted(request, lambda: service.cases.claim(task_id, user.username), f"/tasks/{quote(task_id)}")

    @app.post("/tasks/{task_id}/release", dependencies=[Depends(read_form)])
    def release(request: Request, task_id: str) -> Response:
        user = user_of(request)
        form_of(request)
        task_for(user, task_id)
        return _acted(request, lambda: service.cases.release(task_id, user.username), "/tasks?view=unclaimed")

    def _acted(request: Request, action: Callable[[], Any], then: str) -> Response:
        try:
            action()
        except BeianError as exc:
            return page(request, "error.html", status_code=409, title="未能完成", message=exc.message)
        return RedirectResponse(then, status_code=303)

    # --- cases and documents ---------------------------------------------------------------------------------
    def case_for(user: Caseworker, case_id: str) -> dict[str, Any]:
        view = service.records.show(case_id)
        authorities = _case_task_authorities(case_id)
        case_authority = authority_of(view["region"], view["authority_level"])
        if not may_see_case(user, case_authority, authorities):
            raise AccessDenied(f"案件 {case_id} 不属于您的辖区，无权查看")
        return view

    def _case_task_authorities(case_id: str) -> list[str]:
        return service.cases.task_authorities(case_id)

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str, done: str = "") -> Response:
        user = user_of(request)
        view = case_for(user, case_id)
        progress = service.cases.progress(case_id)
        diagram, problem = diagram_for(
            progress["bpmn_xml"], f"{case_id} {progress['name']} 第 {progress['version']} 版",
            marks=case_marks(progress["current"], progress["done"], progress["done_flows"]),
            focus=sorted(progress["current"]), legend=("current", "done", "taken"), unmarked="未到达")
        return page(request, "case.html", case=view, done=done, diagram=diagram, diagram_problem=problem,
                    viewer_installed=viewer_installed(), progress=progress,
                    done_steps=len(progress["done"] - progress["current"]),
                    can_report=_may_report_violation(user, view))

    @app.post("/cases/{case_id}/violations", dependencies=[Depends(read_form)])
    def report_violation(request: Request, case_id: str) -> Response:
        """A supervision officer opens an investigation (sanction or ordered termination, by the ground) on the
        filing of this case."""
        user = user_of(request)
        items = dict(form_of(request))
        view = case_for(user, case_id)
        if not _may_report_violation(user, view):
            raise AccessDenied("只有本辖区的监管人员可以对已备案机构立案调查")
        payload = {"ground": items.get("ground", ""), "facts": items.get("facts", "").strip()}
        try:
            result = service.cases.send("violation_report", view["filing_number"], payload, actor=user.username)
        except BeianError as exc:
            return page(request, "error.html", status_code=422, title="未能立案", message=exc.message)
        return RedirectResponse(f"/cases/{quote(result['case'])}", status_code=303)

    # --- a paper application, registered by the intake clerk ------------------------------------------------
    def intake_clerk(request: Request) -> Caseworker:
        user = user_of(request)
        if "intake" not in user.roles or not user.active:
            raise AccessDenied("只有受理人员可以登记纸质申请")
        return user

    @app.get("/applications/new", response_class=HTMLResponse)
    def application_form(request: Request) -> Response:
        intake_clerk(request)
        return page(request, "application_form.html", sections=application_fields(), form_errors=[])

    @app.post("/applications/new", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def register_application(request: Request) -> Response:
        user = intake_clerk(request)
        items = form_of(request)
        if (row := adding_row(items)) is not None:
            return page(request, "application_form.html",
                        sections=application_fields(posted_values(items), add_row=row), form_errors=[])
        application, errors, form_errors = read_application(items)
        received_at, problem = read_received_at(items, clock.now())
        if problem:
            errors[RECEIVED_AT_FIELD] = problem
        if not errors and not form_errors:
            authority = authority_of(application["region"], application["authority_level"])
            if authority != user.region:
                form_errors = [f"该申请由 {authority_name(authority)} 受理，"
                               f"不在您的辖区（{authority_name(user.region)}），未登记"]
        if errors or form_errors:
            return page(request, "application_form.html", status_code=422,
                        sections=application_fields(posted_values(items), errors), form_errors=form_errors)
        try:
            result = service.cases.apply(application, received_at=received_at, actor=user.username)
        except ReceivedInFuture as exc:  # the service's own check of the date: shown next to the 收件日期 field
            return page(request, "application_form.html", status_code=422, form_errors=[],
                        sections=application_fields(posted_values(items), {RECEIVED_AT_FIELD: exc.message}))
        except InvalidInput as exc:
            return page(request, "application_form.html", status_code=422,
                        sections=application_fields(posted_values(items)), form_errors=exc.problems or [exc.message])
        return RedirectResponse(f"/cases/{quote(result['case'])}?done=登记申请", status_code=303)

    @app.get("/documents/{document_id:int}", response_class=HTMLResponse)
    def document_page(request: Request, document_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]) -> Response:
        user = user_of(request)
        document = service.records.document(document_id)
        case_for(user, document["case"])
        return HTMLResponse(document["html"])

    @app.get("/documents/{document_id}.pdf")
    def document_pdf_page(request: Request,
                                document_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]) -> Response:
        user = user_of(request)
        case_for(user, service.records.document(document_id)["case"])
        name, pdf = service.records.pdf(document_id)
        disposition = f"inline; filename=document-{document_id}.pdf; filename*=UTF-8''{quote(name)}"
        return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


    register_process_pages(app, service=service, page=page, user_of=user_of, form_of=form_of,
                           csrf_token=csrf_token)
    register_admin_pages(app, service=service, page=page, user_of=user_of, form_of=form_of)
    return app


# --- helpers ---------------------------------------------------------------------------------------------------

def _form_schema(task: dict[str, Any]) -> dict[str, Any]:
    """The task's form schema; a task without a form is an empty form (submitting it just completes the task)."""
    return task["schema"] or {"type": "object", "properties": {}}


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


def _may_report_violation(user: Caseworker, view: dict[str, Any]) -> bool:
    return ("supervision" in user.roles and user.active and bool(view["filing_number"])
            and view["termination_kind"] is None
            and authority_of(view["region"], view["authority_level"]) == user.region)


def _is_region(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def _safe_next(target: str) -> str:
    """Only a path of this site (no open redirect to another host)."""
    return target if target.startswith("/") and not target.startswith("//") else "/tasks"


def _task_authority(task: dict[str, Any]) -> str:
    return task["authority"] or task["region"]


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


def cn_date(value: date | datetime | str | None) -> str:
    """2026年10月15日, in Asia/Shanghai."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return f"{value.year}年{value.month}月{value.day}日"


def _shanghai(value: datetime | str) -> datetime:
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(SHANGHAI)


def cn_datetime(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    local = _shanghai(value)
    return f"{cn_date(local)} {local:%H:%M}"


def cn_due(value: datetime | str | None) -> str:
    """A deadline as people say it: one due at 00:00 ends the day before, at 24:00 (2026年12月4日 24:00)."""
    if value is None or value == "":
        return ""
    local = _shanghai(value)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return f"{cn_date(local - timedelta(days=1))} 24:00"
    return cn_datetime(local)


def role_label(key: str | None) -> str:
    return ROLE_LABELS.get(key or "", key or "")

