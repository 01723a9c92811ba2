"""A case's page (its status, current steps, application, materials, deadlines, diagram, documents and history), a
supervision officer's violation report on its filing, and the case's documents as HTML and PDF; each only for those
who may see the case (tasks/access.py)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParameter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.entrypoints.web.base import MAX_ID, AccessDenied, Site, read_form
from adapters.entrypoints.web.caseworkers.application_view import application_parts
from adapters.entrypoints.web.caseworkers.case_access import display_names, may_correct, may_upload, visible_case
from adapters.entrypoints.web.diagram import case_marks, diagram_for, viewer_installed
from tasks.access import Caseworker, authority_of
from tasks.errors import BeianError
from tasks.materials import ACCEPT_ATTRIBUTE, MAX_MATERIAL_BYTES


def register(app: FastAPI, site: Site) -> None:
    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str, done: str = "", uploaded: str = "") -> Response:
        user = site.user_of(request)
        view = visible_case(site, user, case_id)
        progress = site.service.cases.progress(case_id)
        diagram, problem = diagram_for(
            progress["bpmn_xml"], f"{case_id} {progress['name']} 第 {progress['version']} 版",
            marks=case_marks(progress["current"], progress["done"], progress["done_flows"]),
            focus=sorted(progress["current"]), legend=("current", "done", "taken"), unmarked="未到达")
        return site.page(request, "case.html", case=view, done=done, uploaded=uploaded, diagram=diagram,
                         diagram_problem=problem,
                         viewer_installed=viewer_installed(), progress=progress,
                         done_steps=len(progress["done"] - progress["current"]),
                         can_report=_may_report_violation(user, view),
                         can_object=("publicity" in user.roles and view["case_status"] == "publicity"
                                     and authority_of(view["region"], view["authority_level"]) == user.region),
                         parts=application_parts(view["application"]),
                         materials=site.service.materials.of_case(case_id),
                         requested=site.service.supplements.requested(case_id),
                         changes=site.service.supplements.latest_changes(case_id),
                         reported=site.service.records.reported_changes(case_id),
                         can_upload=may_upload(user, view), accept=ACCEPT_ATTRIBUTE, max_bytes=MAX_MATERIAL_BYTES,
                         correctable={d["id"] for d in view["documents"] if may_correct(user, d)},
                         people=display_names(site))

    @app.post("/documents/{document_id:int}/corrections", dependencies=[Depends(read_form)])
    def correct_document(request: Request, document_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]) -> Response:
        """A correction notice for a served document, which itself stays as it was."""
        user = site.user_of(request)
        document = site.service.records.document(document_id)
        view = visible_case(site, user, document["case"])
        listed = next((d for d in view["documents"] if d["id"] == document_id), None)
        if listed is None or not may_correct(user, listed):
            raise AccessDenied("只有出具该文书的机关的受理或监管人员可以更正它，未作任何更改")
        lines = dict(site.form_of(request)).get("corrections", "").splitlines()
        try:
            result = site.service.documents.correct(document_id, lines, actor=user.username)
        except BeianError as exc:
            return site.page(request, "error.html", status_code=422, title="未出具更正通知书", message=exc.message)
        done = f"已出具更正通知书，更正《{document['title']}》（{document['number']}）"
        return RedirectResponse(f"/cases/{quote(result['case'])}?done={quote(done)}#documents", status_code=303)

    @app.post("/cases/{case_id}/violations", dependencies=[Depends(read_form)])
    def report_violation(request: Request, case_id: str) -> Response:
        """A supervision officer opens an investigation (sanction or ordered termination, by the ground) on the
        filing of this case."""
        user = site.user_of(request)
        items = dict(site.form_of(request))
        view = visible_case(site, user, case_id)
        if not _may_report_violation(user, view):
            raise AccessDenied("只有本辖区的监管人员可以对已备案机构立案调查")
        payload = {"ground": items.get("ground", ""), "facts": items.get("facts", "").strip()}
        try:
            result = site.service.cases.send("violation_report", view["filing_number"], payload, actor=user.username)
        except BeianError as exc:
            return site.page(request, "error.html", status_code=422, title="未能立案", message=exc.message)
        return RedirectResponse(f"/cases/{quote(result['case'])}", status_code=303)

    @app.get("/documents/{document_id:int}", response_class=HTMLResponse)
    def document_page(request: Request, document_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]) -> Response:
        user = site.user_of(request)
        document = site.service.records.document(document_id)
        visible_case(site, user, document["case"])
        return HTMLResponse(document["html"])

    @app.get("/documents/{document_id}.pdf")
    def document_pdf_page(request: Request,
                                document_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]) -> Response:
        user = site.user_of(request)
        visible_case(site, user, site.service.records.document(document_id)["case"])
        name, pdf = site.service.records.pdf(document_id)
        disposition = f"inline; filename=document-{document_id}.pdf; filename*=UTF-8''{quote(name)}"
        return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


def _may_report_violation(user: Caseworker, view: dict[str, Any]) -> bool:
    return ("supervision" in user.roles and user.active and bool(view["filing_number"])
            and view["termination_kind"] is None
            and authority_of(view["region"], view["authority_level"]) == user.region)
