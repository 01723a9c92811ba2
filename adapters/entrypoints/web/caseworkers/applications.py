"""A paper application registered by the intake clerk (登记纸质申请): the application form and the files of its
materials, checked as the CLI's `beian apply` is, within the clerk's own authority; all of it registered or nothing."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.web.base import Site, read_form
from adapters.entrypoints.web.caseworkers.application_posts import form_again, read_posted, registered
from adapters.entrypoints.web.caseworkers.case_access import role_holder
from adapters.entrypoints.web.forms.application import application_fields
from adapters.entrypoints.web.forms.material_files import file_section
from tasks.access import Caseworker, authority_name, authority_of


def register(app: FastAPI, site: Site) -> None:
    def intake_clerk(request: Request) -> Caseworker:
        return role_holder(site, request, "intake", "只有受理人员可以登记纸质申请")

    @app.get("/applications/new", response_class=HTMLResponse)
    def application_form(request: Request) -> Response:
        intake_clerk(request)
        return site.page(request, "application_form.html", sections=application_fields(new=True), form_errors=[],
                         files=file_section())

    @app.post("/applications/new", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def register_application(request: Request) -> Response:
        user = intake_clerk(request)
        posted = read_posted(request, site.form_of(request), new=True)
        if posted.ok:
            application = posted.application
            authority = authority_of(application["region"], application["authority_level"])
            if authority != user.region:
                posted.form_errors = [f"该申请由 {authority_name(authority)} 受理，"
                                      f"不在您的辖区（{authority_name(user.region)}），未登记"]
        if not posted.ok:
            return form_again(site, request, posted)

        def register() -> str:
            result = site.service.cases.apply(posted.application, received_at=posted.received_at,
                                              actor=user.username, files=posted.files)
            return f"/cases/{quote(result['case'])}?done=登记申请"

        return registered(site, request, posted, register)
