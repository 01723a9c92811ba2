"""A resubmission (补正) registered by the intake clerk: the application form filled with the application as it
stands, the file rows starting with the items the supplementation asked for, and a note; app.supplements.resubmit
keeps all of it, or nothing when the case does not wait for it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.web.base import AccessDenied, Site, read_form
from adapters.entrypoints.web.caseworkers.application_posts import form_again, read_posted, registered
from adapters.entrypoints.web.caseworkers.case_access import may_upload, visible_case
from adapters.entrypoints.web.forms.application import application_fields
from adapters.entrypoints.web.forms.material_files import file_section
from tasks.access import Caseworker
from tasks.errors import IllegalEvent


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
        posted = read_posted(request, site.form_of(request))
        note = dict(posted.items).get("note", "")
        context = {"resubmission": requested, "case": case_id, "note": note}
        if not posted.ok:
            return form_again(site, request, posted, **context)

        def register() -> str:
            site.service.supplements.resubmit(case_id, received_at=posted.received_at, application=posted.application,
                                              files=posted.files, note=note, actor=user.username)
            return f"/cases/{quote(case_id)}?done=登记补正材料"

        return registered(site, request, posted, register, **context)
