"""The publicity officer's pages: the cases of their authority in publicity (公示中), and an objection registered as
it arrives (objector, contact, content, files), which reaches the case's objection review."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from adapters.entrypoints.web.base import AccessDenied, Site, read_form
from adapters.entrypoints.web.caseworkers.case_access import role_holder, visible_case
from tasks.access import Caseworker, authority_of
from tasks.errors import BeianError
from tasks.limits import amount
from tasks.materials import ACCEPT_ATTRIBUTE, MAX_INTAKE_MATERIAL_BYTES, MAX_MATERIAL_BYTES, MaterialRefused
from workflows.service.materials import Upload, checked_upload
from workflows.service.objections import EVIDENCE, MAX_ATTACHMENTS
from workflows.service.search import CaseQuery

PAGE_SIZE = 50
_LIMITS = f"每份不超过 {amount(MAX_MATERIAL_BYTES)}，合计不超过 {amount(MAX_INTAKE_MATERIAL_BYTES)}"


def register(app: FastAPI, site: Site) -> None:
    def publicity_officer(request: Request) -> Caseworker:
        return role_holder(site, request, "publicity", "只有公示人员可以查看公示中的案件、登记公示异议")

    @app.get("/publicity", response_class=HTMLResponse)
    def in_publicity(request: Request) -> Response:
        user = publicity_officer(request)
        found = site.service.search.cases(CaseQuery(group="publicity", per_page=PAGE_SIZE), viewer=user)
        rows = [{**case, "deadlines": site.service.records.show(case["case"])["deadlines"]}
                for case in found["cases"]]
        return site.page(request, "publicity.html", cases=rows, total=found["total"])

    def objection_case(request: Request, case_id: str) -> tuple[Caseworker, dict[str, Any]]:
        user = publicity_officer(request)
        case = visible_case(site, user, case_id)
        if authority_of(case["region"], case["authority_level"]) != user.region:
            raise AccessDenied("只有本案所属机关的公示人员可以登记异议")
        return user, case

    def form(request: Request, case: dict[str, Any], values: dict[str, str], problems: list[str],
             status_code: int = 200) -> Response:
        return site.page(request, "objection_form.html", status_code=status_code, case=case, values=values,
                         problems=problems, accept=ACCEPT_ATTRIBUTE, max_files=MAX_ATTACHMENTS,
                         limits=_LIMITS)

    @app.get("/cases/{case_id}/objections/new", response_class=HTMLResponse)
    def objection_form(request: Request, case_id: str) -> Response:
        _user, case = objection_case(request, case_id)
        return form(request, case, {}, [])

    @app.post("/cases/{case_id}/objections/new", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def register_objection(request: Request, case_id: str) -> Response:
        user, case = objection_case(request, case_id)
        values = dict(site.form_of(request))
        files, problems = _evidence(request)
        if not problems:
            try:
                site.service.objections.register(
                    case_id, objector=values.get("objector", ""), contact=values.get("contact", ""),
                    content=values.get("content", ""), files=files, actor=user.username)
            except BeianError as exc:
                problems = exc.problems or [exc.message]
        if problems:
            return form(request, case, values, [*problems, "未登记；已选的文件需重新选择"], status_code=422)
        return RedirectResponse(f"/cases/{quote(case_id)}?done=登记公示异议", status_code=303)


def _evidence(request: Request) -> tuple[list[Upload], list[str]]:
    sent = [v for v in request.state.form.getlist("evidence") if isinstance(v, UploadFile) and v.filename]
    if len(sent) > MAX_ATTACHMENTS:
        return [], [f"异议材料最多 {MAX_ATTACHMENTS} 份，实有 {len(sent)} 份"]
    uploads: list[Upload] = []
    problems: list[str] = []
    total = 0
    for file in sent:
        content = file.file.read(MAX_MATERIAL_BYTES + 1)
        total += len(content)
        try:
            uploads.append(checked_upload(EVIDENCE, file.filename or "", content))
        except MaterialRefused as exc:
            problems.append(exc.message)
    if total > MAX_INTAKE_MATERIAL_BYTES:
        problems.append(f"异议材料合计 {amount(total)}，超过 {amount(MAX_INTAKE_MATERIAL_BYTES)}")
    return uploads, problems
