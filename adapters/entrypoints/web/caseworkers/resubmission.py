"""A resubmission (补正) registered by the intake clerk: the application form filled with the application as it
stands, the file rows starting with the items the supplementation asked for, and a note; app.supplements.resubmit
keeps all of it, or nothing when the case does not wait for it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from adapters.entrypoints.web.base import AccessDenied, Site, read_form
from adapters.entrypoints.web.caseworkers.case_access import may_upload, visible_case
from adapters.entrypoints.web.forms.application import (
    RECEIVED_AT_FIELD,
    adding_row,
    application_fields,
    posted_values,
    read_application,
    read_received_at,
)
from adapters.entrypoints.web.forms.material_files import file_section, read_material_files
from tasks.access import Caseworker
from tasks.errors import IllegalEvent, InvalidInput, ReceivedInFuture
from workflows import clock


def register(app: FastAPI, site: Site) -> None:
    def waiting_case(request: Request, case_id: str) -> tuple[Caseworker, dict[str, Any]]:
        """The clerk and what the supplementation asked for, when the case waits for its resubmission."""
        user = site.user_of(request)
        case = visible_case(site, user, case_id)
        if not may_upload(user, case):
            raise AccessDenied("只有受理本案的受理人员可以登记补正材料")
        requested = site.service.supplements.requested(case_id)
        if requested is None or not requested["waiting"]:
            raise IllegalEvent(f"案件 {case_id} 当前不在等待补正材料")
        return user, requested

    @app.get("/cases/{case_id}/resubmission", response_class=HTMLResponse)
    def resubmission_form(request: Request, case_id: str) -> Response:
        _user, requested = waiting_case(request, case_id)
        current = site.service.records.show(case_id)["application"]
        return site.page(request, "application_form.html", sections=application_fields(current), form_errors=[],
                         files=file_section(first=[i["item"] for i in requested["items"]]), files_again=False,
                         resubmission=requested, case=case_id, note="")

    @app.post("/cases/{case_id}/resubmission", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def register_resubmission(request: Request, case_id: str) -> Response:
        user, requested = waiting_case(request, case_id)
        items = site.form_of(request)
        note = dict(items).get("note", "")
        files_sent = any(isinstance(value, UploadFile) and value.filename
                         for _, value in request.state.form.multi_items())

        def again(status_code: int = 422, errors: dict[str, str] | None = None, *, form_errors: list[str],
                  add_row: str | None = None) -> Response:
            return site.page(request, "application_form.html", status_code=status_code, form_errors=form_errors,
                             sections=application_fields(posted_values(items), errors, add_row=add_row),
                             files=file_section(items), files_again=files_sent, resubmission=requested,
                             case=case_id, note=note)

        if (row := adding_row(items)) is not None:
            return again(200, form_errors=[], add_row=row)
        application, errors, form_errors = read_application(items)
        files, file_problems = read_material_files(request.state.form)
        form_errors += file_problems
        received_at, problem = read_received_at(items, clock.now())
        if problem:
            errors[RECEIVED_AT_FIELD] = problem
        if errors or form_errors:
            return again(errors=errors, form_errors=form_errors)
        try:
            site.service.supplements.resubmit(case_id, received_at=received_at, application=application, files=files,
                                              note=note, actor=user.username)
        except ReceivedInFuture as exc:
            return again(errors={RECEIVED_AT_FIELD: exc.message}, form_errors=[])
        except InvalidInput as exc:
            return again(form_errors=exc.problems or [exc.message])
        return RedirectResponse(f"/cases/{quote(case_id)}?done=登记补正材料", status_code=303)
