"""The institution portal (`/portal/`): register with the credit code and a contact proven by a one-time code, sign in
(a session of its own, cookie `beian_portal`), see the institution's filings, cases and what is expected of it by
when, read its documents, send the replies its cases wait for, and — for its administrator — invite colleagues.

A portal session opens only portal pages: its username is ``portal:<name>`` (workflows/institutions.py), which no
caseworker page accepts, and this module accepts no other. Every form carries the session's CSRF token (before
signing in, the anonymous double-submit cookie); every answer comes from `app.portal`, filtered by the account's
credit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.entrypoints.web.base import ANONYMOUS_CSRF_COOKIE, MAX_ID, csrf_passes, read_form, set_session_cookie
from adapters.entrypoints.web.caseworkers.application_posts import read_posted
from adapters.entrypoints.web.forms import check_submission, form_fields
from adapters.entrypoints.web.forms.application import (
    LISTS,
    adding_row,
    application_fields,
    list_field,
    posted_values,
    read_list,
)
from adapters.entrypoints.web.forms.material_files import file_section
from tasks.errors import BeianError, InvalidInput, NotFound
from workflows.filings import CHANGE_FIELDS
from workflows.institutions import (
    PORTAL,
    InstitutionUser,
    SignInLocked,
    accept_invitation,
    authenticate_institution,
    colleagues,
    complete_registration,
    institution_user,
    invite,
    request_registration,
    set_active,
)
from workflows.service import Beian
from workflows.service.portal import STARTS
from workflows.sessions import SignedIn, end_session, session_of, start_session

PORTAL_COOKIE = "beian_portal"
SAVE_DRAFT = "_save_draft"  # the online application's 暂存 button
Page = Callable[..., HTMLResponse]


class PortalSignInRequired(Exception):
    pass


def register_portal_pages(app: FastAPI, *, service: Beian, page: Page, secret_key: str, secure_cookies: bool,
                          anonymous_csrf: Callable[[Request], str]) -> None:

    def session(request: Request) -> SignedIn | None:
        if not hasattr(request.state, "portal_session"):
            found = session_of(service, secret_key, request.cookies.get(PORTAL_COOKIE))
            request.state.portal_session = found if found is not None and found.username.startswith(PORTAL) else None
        signed: SignedIn | None = request.state.portal_session
        return signed

    def account(request: Request) -> InstitutionUser | None:
        signed = session(request)
        return institution_user(service, signed.username) if signed is not None else None

    def signed_in(request: Request) -> InstitutionUser:
        user = account(request)
        if user is None:
            raise PortalSignInRequired
        return user

    def token(request: Request) -> str:
        signed = session(request)
        return signed.csrf_token if signed is not None else anonymous_csrf(request)

    def show(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return page(request, name, status_code=status_code, portal=True, csrf_token=token(request),
                    member=account(request), **context)

    def posted(request: Request) -> dict[str, str]:
        """The posted text fields after the CSRF check (the portal session's token, else the anonymous cookie's)."""
        items: list[tuple[str, str]] = request.state.form_items
        signed = session(request)
        expected = signed.csrf_token if signed is not None else request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
        if not csrf_passes(items, expected):
            raise PortalRefused("页面已过期或来源不明（安全校验未通过），请刷新页面后重试；未作任何更改", 403)
        return {key: value for key, value in items}

    def client(request: Request) -> str:
        return request.client.host if request.client else ""

    def signed_in_response(user: InstitutionUser, request: Request, target: str = "/portal/") -> Response:
        end_session(service, secret_key, request.cookies.get(PORTAL_COOKIE))
        new_token, _ = start_session(service, secret_key, PORTAL + user.username, client=client(request),
                                     user_agent=request.headers.get("user-agent", ""))
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(response, PORTAL_COOKIE, new_token, path="/portal", secure=secure_cookies)
        return response

    @app.exception_handler(PortalSignInRequired)
    async def _sign_in(request: Request, _exc: PortalSignInRequired) -> Response:
        return RedirectResponse(f"/portal/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(PortalRefused)
    def _refused(request: Request, exc: PortalRefused) -> Response:
        return show(request, "portal_message.html", status_code=exc.status, title=exc.title, message=exc.message)

    # --- registering and signing in -------------------------------------------------------------------------
    @app.get("/portal/register", response_class=HTMLResponse)
    def register_form(request: Request) -> Response:
        return show(request, "portal_register.html", step="request", values={}, error=None)

    @app.post("/portal/register", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def register_request(request: Request) -> Response:
        items = posted(request)
        values = {k: items.get(k, "") for k in ("credit_code", "institution_name", "contact")}
        try:
            sent = request_registration(service, values["credit_code"], values["institution_name"],
                                        values["contact"], client=client(request))
        except BeianError as exc:
            return show(request, "portal_register.html", status_code=422, step="request", values=values,
                        error=exc.message)
        return show(request, "portal_register.html", step="verify", values={**values, **sent}, error=None)

    @app.post("/portal/register/verify", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def register_verify(request: Request) -> Response:
        items = posted(request)
        values = {k: items.get(k, "") for k in ("credit_code", "institution_name", "contact", "username",
                                                "display_name")}
        try:
            user = complete_registration(service, values["credit_code"], values["contact"], items.get("code", ""),
                                         values["username"], values["display_name"], items.get("password", ""),
                                         client=client(request))
        except BeianError as exc:
            return show(request, "portal_register.html", status_code=422, step="verify", values=values,
                        error=exc.message)
        return signed_in_response(user, request)

    @app.get("/portal/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/portal/") -> Response:  # noqa: A002 — the usual name
        return show(request, "portal_login.html", next=_safe_next(next), error=None)

    @app.post("/portal/login", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def login(request: Request) -> Response:
        items = posted(request)
        target = _safe_next(items.get("next", "/portal/"))
        try:
            user = authenticate_institution(service, items.get("username", ""), items.get("password", ""),
                                            client=client(request))
        except SignInLocked as exc:
            return show(request, "portal_login.html", status_code=429, next=target, error=exc.message)
        if user is None:
            return show(request, "portal_login.html", status_code=401, next=target,
                        error="用户名或密码不正确，或账号已停用")
        return signed_in_response(user, request, target)

    @app.post("/portal/logout", dependencies=[Depends(read_form)])
    def logout(request: Request) -> Response:
        posted(request)
        end_session(service, secret_key, request.cookies.get(PORTAL_COOKIE))
        response = RedirectResponse("/portal/login", status_code=303)
        response.delete_cookie(PORTAL_COOKIE, path="/portal")
        return response

    @app.get("/portal/invitation", response_class=HTMLResponse)
    def invitation_form(request: Request) -> Response:
        return show(request, "portal_invitation.html", values={}, error=None)

    @app.post("/portal/invitation", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def invitation(request: Request) -> Response:
        items = posted(request)
        values = {k: items.get(k, "") for k in ("credit_code", "username", "contact")}
        try:
            user = accept_invitation(service, values["credit_code"], values["username"], values["contact"],
                                     items.get("code", ""), items.get("password", ""), client=client(request))
        except BeianError as exc:
            return show(request, "portal_invitation.html", status_code=422, values=values, error=exc.message)
        return signed_in_response(user, request)

    # --- the institution's own --------------------------------------------------------------------------------
    @app.get("/portal", include_in_schema=False)
    def portal_root() -> Response:
        return RedirectResponse("/portal/", status_code=303)

    @app.get("/portal/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        user = signed_in(request)
        return show(request, "portal_home.html", overview=service.portal.overview(user),
                    inbox=service.portal.inbox(user))

    @app.get("/portal/documents/{document_id}", response_class=HTMLResponse)
    def document(request: Request, document_id: int = Path(ge=1, le=MAX_ID)) -> Response:
        user = signed_in(request)
        try:
            found = service.portal.document(user, document_id)
        except NotFound as exc:
            return show(request, "portal_message.html", status_code=404, title="未找到", message=exc.message)
        # A served document is self-contained HTML; it is shown as issued, nothing of the portal around it.
        return HTMLResponse(found["html"], headers={"Content-Security-Policy": "default-src 'none'; "
                                                    "img-src data:; style-src 'unsafe-inline'"})

    @app.get("/portal/cases/{case_id}/resubmission", response_class=HTMLResponse)
    def resubmission_form(request: Request, case_id: str) -> Response:
        user = signed_in(request)
        try:
            requested = service.portal.requested(user, case_id)
        except NotFound as exc:
            return show(request, "portal_message.html", status_code=404, title="未找到", message=exc.message)
        sections = [s for s in application_fields(service.portal.application(user, case_id))
                    if s.title != "收件信息"]
        return show(request, "application_form.html", online=True, sections=sections, form_errors=[],
                    files=file_section(first=[i["item"] for i in requested["items"]]), files_again=False,
                    resubmission=requested, case=case_id, note="")

    @app.post("/portal/cases/{case_id}/resubmission", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def resubmit(request: Request, case_id: str) -> Response:
        user = signed_in(request)
        posted(request)
        try:
            requested = service.portal.requested(user, case_id)
        except NotFound as exc:
            return show(request, "portal_message.html", status_code=404, title="未找到", message=exc.message)
        reading = read_posted(request, request.state.form_items, received=False)
        note = dict(reading.items).get("note", "")
        if reading.ok:
            try:
                service.portal.resubmit(user, case_id, reading.application, reading.files, note)
            except BeianError as exc:
                reading.form_errors = getattr(exc, "problems", None) or [exc.message]
            else:
                return RedirectResponse("/portal/?sent=1", status_code=303)
        sections = [s for s in application_fields(posted_values(reading.items), reading.errors,
                                                  add_row=reading.add_row) if s.title != "收件信息"]
        return show(request, "application_form.html", status_code=200 if reading.add_row else 422, online=True,
                    sections=sections, form_errors=reading.form_errors, files=file_section(reading.items),
                    files_again=reading.files_sent, resubmission=requested, case=case_id, note=note)

    @app.get("/portal/cases/{case_id}/{message}", response_class=HTMLResponse)
    def reply_form(request: Request, case_id: str, message: str) -> Response:
        user = signed_in(request)
        try:
            schema = service.portal.reply_schema(user, case_id, message)
        except NotFound as exc:
            return show(request, "portal_message.html", status_code=404, title="未找到", message=exc.message)
        return show(request, "portal_reply.html", case=service.portal.case(user, case_id), message=message,
                    schema=schema, fields=form_fields(schema), errors=[])

    @app.post("/portal/cases/{case_id}/{message}", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def reply(request: Request, case_id: str, message: str) -> Response:
        user = signed_in(request)
        posted(request)
        try:
            schema = service.portal.reply_schema(user, case_id, message)
        except NotFound as exc:
            return show(request, "portal_message.html", status_code=404, title="未找到", message=exc.message)
        form_items = [(k, v) for k, v in request.state.form_items if k != "csrf_token"]
        submission = check_submission(schema, form_items)
        case = service.portal.case(user, case_id)
        if submission.field_errors or submission.form_errors:
            return show(request, "portal_reply.html", status_code=422, case=case, message=message, schema=schema,
                        fields=form_fields(schema, submission.values, submission.field_errors),
                        errors=submission.form_errors or ["请按提示改正后再提交，本次提交未作任何更改"])
        try:
            service.portal.reply(user, message, case_id, submission.data)
        except BeianError as exc:
            return show(request, "portal_reply.html", status_code=409, case=case, message=message, schema=schema,
                        fields=form_fields(schema, submission.values), errors=[exc.message])
        return RedirectResponse("/portal/?sent=1", status_code=303)

    # --- an application filed online ----------------------------------------------------------------------------
    def application_page(request: Request, status_code: int = 200, values: Any = None,
                         errors: dict[str, str] | None = None, form_errors: list[str] | None = None,
                         add_row: str | None = None, files_again: bool = False,
                         items: list[tuple[str, str]] | None = None, saved_at: str | None = None) -> HTMLResponse:
        # The same form as intake's, without its 收件日期: online, the moment of filing is the date received.
        sections = [s for s in application_fields(values, errors, add_row=add_row, new=True)
                    if s.title != "收件信息"]
        return show(request, "application_form.html", status_code=status_code, online=True, sections=sections,
                    form_errors=form_errors or [], files=file_section(items or []), files_again=files_again,
                    saved_at=saved_at)

    @app.get("/portal/apply", response_class=HTMLResponse)
    def apply_form(request: Request) -> Response:
        user = signed_in(request)
        draft = service.portal.draft(user, "application")
        if draft is not None:
            return application_page(request, values=posted_values(draft["items"]), items=draft["items"],
                                    saved_at=draft["saved_at"])
        return application_page(request, values={"institution": {"credit_code": user.credit_code,
                                                                 "name": user.institution_name}})

    @app.post("/portal/apply", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def apply(request: Request) -> Response:
        user = signed_in(request)
        posted(request)
        items: list[tuple[str, str]] = request.state.form_items
        if any(name == SAVE_DRAFT for name, _ in items):
            form_items = [(k, v) for k, v in items if k != SAVE_DRAFT]
            try:
                saved_at = service.portal.save_draft(user, "application", form_items)
            except BeianError as exc:
                return application_page(request, status_code=422, values=posted_values(form_items),
                                        form_errors=[exc.message], items=form_items)
            return application_page(request, values=posted_values(form_items), items=form_items, saved_at=saved_at)
        reading = read_posted(request, items, new=True, received=False)
        if reading.ok and reading.application["institution"]["credit_code"] != user.credit_code:
            reading.form_errors = [f"统一社会信用代码应为本机构的 {user.credit_code}：网上申请只能为本机构提交"]
        if reading.ok:
            try:
                result = service.cases.apply(reading.application, actor=user.actor, files=reading.files, online=True)
            except InvalidInput as exc:
                reading.form_errors = exc.problems or [exc.message]
            else:
                service.portal.drop_draft(user, "application")
                return RedirectResponse(f"/portal/?applied={quote(result['case'])}", status_code=303)
        return application_page(request, status_code=200 if reading.add_row else 422,
                                values=posted_values(reading.items), errors=reading.errors,
                                form_errors=reading.form_errors, add_row=reading.add_row,
                                files_again=reading.files_sent, items=reading.items)

    # --- events the institution starts on a filing of its own ------------------------------------------------
    @app.get("/portal/start/{message}", response_class=HTMLResponse)
    def start_form(request: Request, message: str, filing: str = "") -> Response:
        signed_in(request)
        if message not in STARTS:
            return show(request, "portal_message.html", status_code=404, title="未找到", message="没有这个事项")
        return show(request, "portal_start.html", message=message, label=STARTS[message], filing=filing,
                    values={}, error=None, change_fields=TEXT_CHANGES, change_lists=CHANGE_LISTS)

    @app.post("/portal/start/{message}", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def start(request: Request, message: str) -> Response:
        user = signed_in(request)
        items = posted(request)
        if message not in STARTS:
            return show(request, "portal_message.html", status_code=404, title="未找到", message="没有这个事项")
        filing = items.get("filing", "")
        values = {k: v for k, v in items.items() if k != "csrf_token"}
        try:
            service.portal.start(user, message, filing, _start_payload(message, items))
        except BeianError as exc:
            status = 404 if isinstance(exc, NotFound) else 422
            return show(request, "portal_start.html", status_code=status, message=message, label=STARTS[message],
                        filing=filing, values=values, error=exc.message, change_fields=TEXT_CHANGES,
                        change_lists=CHANGE_LISTS)
        return RedirectResponse("/portal/?sent=1", status_code=303)

    # A list of the filed particulars given anew (the whole list, edited from the filing record).
    def change_list_page(request: Request, name: str, filing: str, values: Any, status_code: int = 200,
                         field_errors: dict[str, str] | None = None, errors: list[str] | None = None,
                         add_row: str | None = None, explanation: str = "") -> HTMLResponse:
        return show(request, "portal_change_list.html", status_code=status_code, list_name=name,
                    label=CHANGE_LISTS[name], filing=filing, explanation=explanation, errors=errors or [],
                    field=list_field(name, values, field_errors, add_row=add_row))

    def own_record(user: InstitutionUser, name: str, filing: str) -> dict[str, Any]:
        """The record of the institution's own filing a list change starts from; a 404 page (PortalRefused) for an
        unknown list or a filing that is not the institution's."""
        if name not in CHANGE_LISTS:
            raise PortalRefused("没有这个变更事项", 404, "未找到")
        try:
            return service.portal.filing_record(user, filing)
        except NotFound as exc:
            raise PortalRefused(exc.message, 404, "未找到") from None

    @app.get("/portal/start/change_report/{name}", response_class=HTMLResponse)
    def change_list_form(request: Request, name: str, filing: str = "") -> Response:
        user = signed_in(request)
        return change_list_page(request, name, filing, own_record(user, name, filing))

    @app.post("/portal/start/change_report/{name}", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def change_list(request: Request, name: str) -> Response:
        user = signed_in(request)
        fields = posted(request)
        filing, explanation = fields.get("filing", ""), fields.get("explanation", "")
        record = own_record(user, name, filing)
        items: list[tuple[str, str]] = request.state.form_items
        again = posted_values(items)
        if (row := adding_row(items)) is not None:
            return change_list_page(request, name, filing, again, add_row=row, explanation=explanation)
        rows, field_errors, errors = read_list(items, name, record)
        if not field_errors and not errors:
            try:
                service.portal.start(user, "change_report", filing, {
                    "changes": [{"field": name, "after": rows}], "explanation": explanation})
            except BeianError as exc:
                errors = getattr(exc, "problems", None) or [exc.message]
            else:
                return RedirectResponse("/portal/?sent=1", status_code=303)
        return change_list_page(request, name, filing, again, status_code=422, field_errors=field_errors,
                                errors=errors, explanation=explanation)

    # --- the institution's people (its administrator) -----------------------------------------------------------
    @app.get("/portal/staff", response_class=HTMLResponse)
    def staff(request: Request) -> Response:
        user = signed_in(request)
        return show(request, "portal_staff.html", people=colleagues(service, user), values={}, error=None,
                    sent=None)

    @app.post("/portal/staff", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def staff_invite(request: Request) -> Response:
        user = signed_in(request)
        items = posted(request)
        values = {k: items.get(k, "") for k in ("username", "display_name", "contact")}
        try:
            sent = invite(service, user, values["username"], values["display_name"], values["contact"],
                          client=client(request))
        except BeianError as exc:
            return show(request, "portal_staff.html", status_code=422, people=colleagues(service, user),
                        values=values, error=exc.message, sent=None)
        return show(request, "portal_staff.html", people=colleagues(service, user), values={}, error=None,
                    sent=sent)

    @app.post("/portal/staff/{username}/{action}", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def staff_active(request: Request, username: str, action: str) -> Response:
        user = signed_in(request)
        posted(request)
        if action not in ("disable", "enable"):
            return show(request, "portal_message.html", status_code=404, title="未找到", message="没有这个操作")
        try:
            set_active(service, user, username, action == "enable")
        except BeianError as exc:
            return show(request, "portal_staff.html", status_code=409, people=colleagues(service, user),
                        values={}, error=exc.message, sent=None)
        return RedirectResponse("/portal/staff", status_code=303)


# What a change report from the portal may change: the institution's own particulars, one at a time, and each list
# of the filed particulars (sites, staff, occupations) given anew on the application form's own fields.
TEXT_CHANGES = {key: label for key, (section, _, label) in CHANGE_FIELDS.items() if section == "institution"}
CHANGE_LISTS = {key: CHANGE_FIELDS[key][2] for key in LISTS}


def _start_payload(message: str, items: dict[str, str]) -> dict[str, Any]:
    """The event as the service takes it (the same shape the CLI sends); its checks are the service's."""
    if message == "renewal_application":
        return {"summary": items.get("summary", "")}
    if message == "termination_request":
        return {"notice_started": items.get("notice_started", ""), "wrapup_plan": items.get("wrapup_plan", "")}
    field = items.get("field", "")
    if field not in TEXT_CHANGES:
        raise InvalidInput("请选择要变更的事项")
    return {"changes": [{"field": field, "after": items.get("after", "").strip()}],
            "explanation": items.get("explanation", "")}


class PortalRefused(Exception):
    def __init__(self, message: str, status: int, title: str = "未能完成") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.title = title


def _safe_next(target: str) -> str:
    """Only a portal path (no open redirect, and no caseworker page)."""
    return target if target.startswith("/portal/") and not target.startswith("//") else "/portal/"
