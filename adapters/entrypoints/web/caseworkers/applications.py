"""A paper application registered by the intake clerk (登记纸质申请): the application form and the files of its
materials, checked as the CLI's `beian apply` is, within the clerk's own authority; all of it registered or nothing."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from adapters.entrypoints.web.base import AccessDenied, Site, read_form
from adapters.entrypoints.web.forms.application import (
    RECEIVED_AT_FIELD,
    adding_row,
    application_fields,
    posted_values,
    read_application,
    read_received_at,
)
from adapters.entrypoints.web.forms.material_files import file_section, read_material_files
from tasks.access import Caseworker, authority_name, authority_of
from tasks.errors import InvalidInput, ReceivedInFuture
from workflows import clock


def register(app: FastAPI, site: Site) -> None:
    def intake_clerk(request: Request) -> Caseworker:
        user = site.user_of(request)
        if "intake" not in user.roles or not user.active:
            raise AccessDenied("只有受理人员可以登记纸质申请")
        return user

    @app.get("/applications/new", response_class=HTMLResponse)
    def application_form(request: Request) -> Response:
        intake_clerk(request)
        return site.page(request, "application_form.html", sections=application_fields(), form_errors=[],
                         files=file_section())

    @app.post("/applications/new", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def register_application(request: Request) -> Response:
        user = intake_clerk(request)
        items = site.form_of(request)
        # A browser never fills a file input again: whenever the form comes back, files chosen must be chosen again.
        files_sent = any(isinstance(value, UploadFile) and value.filename
                         for _, value in request.state.form.multi_items())

        def again(status_code: int = 422, errors: dict[str, str] | None = None, *, form_errors: list[str],
                  add_row: str | None = None) -> Response:
            return site.page(request, "application_form.html", status_code=status_code, form_errors=form_errors,
                             sections=application_fields(posted_values(items), errors, add_row=add_row),
                             files=file_section(items), files_again=files_sent)

        if (row := adding_row(items)) is not None:
            return again(200, form_errors=[], add_row=row)
        application, errors, form_errors = read_application(items)
        files, file_problems = read_material_files(request.state.form)
        form_errors += file_problems
        received_at, problem = read_received_at(items, clock.now())
        if problem:
            errors[RECEIVED_AT_FIELD] = problem
        if not errors and not form_errors:
            authority = authority_of(application["region"], application["authority_level"])
            if authority != user.region:
                form_errors = [f"该申请由 {authority_name(authority)} 受理，"
                               f"不在您的辖区（{authority_name(user.region)}），未登记"]
        if errors or form_errors:
            return again(errors=errors, form_errors=form_errors)
        try:
            result = site.service.cases.apply(application, received_at=received_at, actor=user.username,
                                              files=files)
        except ReceivedInFuture as exc:  # the service's own check of the date: shown next to the 收件日期 field
            return again(errors={RECEIVED_AT_FIELD: exc.message}, form_errors=[])
        except InvalidInput as exc:
            return again(form_errors=exc.problems or [exc.message])
        return RedirectResponse(f"/cases/{quote(result['case'])}?done=登记申请", status_code=303)
