"""The public's pages, without signing in: check a filing receipt (`/public/verify/{filing number}`, where the QR code
on every receipt points), the directory of filed institutions (`/public/directory`), the institutions in publicity
and an objection to one (`/public/publicity`). Every form carries the anonymous CSRF token (a cookie of its own, double
submit); every answer is built by `app.public`, field by field from what the texts publish."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from adapters.entrypoints.web.base import read_form
from tasks.errors import BeianError
from tasks.materials import ACCEPT_ATTRIBUTE, MaterialRefused
from tasks.regions import PROVINCES
from workflows.service import Beian
from workflows.service.materials import Upload, checked_upload
from workflows.service.objections import EVIDENCE
from workflows.service.public import (
    LISTED,
    MAX_CONTACT,
    MAX_CONTENT,
    MAX_OBJECTOR,
    MAX_PUBLIC_FILE_BYTES,
    MAX_PUBLIC_FILES,
    PUBLIC_STATUSES,
)

Page = Callable[..., HTMLResponse]


def register_public_pages(app: FastAPI, *, service: Beian, page: Page,
                          form_of: Callable[[Request], list[tuple[str, str]]]) -> None:
    @app.get("/public", include_in_schema=False)
    @app.get("/public/", include_in_schema=False)
    def public_home() -> Response:
        return RedirectResponse("/public/directory", status_code=303)

    @app.get("/public/directory", response_class=HTMLResponse)
    def directory(request: Request, q: str = "", region: str = "", occupation: str = "", status: str = "",
                  page_number: int = 1) -> Response:
        found = service.public.directory(query=q, region=region, occupation=occupation, status=status,
                                         page=min(max(page_number, 1), 10_000))
        return page(request, "public_directory.html", found=found, q=q, region=region, occupation=occupation,
                    status=status, statuses={k: PUBLIC_STATUSES[k] for k in LISTED}, provinces=PROVINCES)

    @app.get("/public/verify", response_class=HTMLResponse)
    def verify_form(request: Request, number: str = "") -> Response:
        if number.strip():
            return RedirectResponse(f"/public/verify/{quote(number.strip(), safe='')}", status_code=303)
        return page(request, "public_verify.html", filing=None, number="")

    @app.get("/public/verify/{filing_number:path}", response_class=HTMLResponse)
    def verify(request: Request, filing_number: str) -> Response:
        return page(request, "public_verify.html", filing=service.public.verify(filing_number),
                    number=filing_number)

    @app.get("/public/publicity", response_class=HTMLResponse)
    def publicity(request: Request) -> Response:
        return page(request, "public_publicity.html", cases=service.public.in_publicity())

    def objection_page(request: Request, case: dict[str, Any], values: dict[str, str], problems: list[str],
                       status_code: int = 200) -> HTMLResponse:
        return page(request, "public_objection.html", status_code=status_code, case=case, values=values,
                    problems=problems, accept=ACCEPT_ATTRIBUTE, max_files=MAX_PUBLIC_FILES,
                    max_file_mb=MAX_PUBLIC_FILE_BYTES // (1024 * 1024), max_objector=MAX_OBJECTOR,
                    max_contact=MAX_CONTACT, max_content=MAX_CONTENT)

    @app.get("/public/publicity/{case_id}/objection", response_class=HTMLResponse)
    def objection_form(request: Request, case_id: str) -> Response:
        return objection_page(request, service.public.publicity(case_id), {}, [])

    @app.post("/public/publicity/{case_id}/objection", response_class=HTMLResponse,
              dependencies=[Depends(read_form)])
    def object_to(request: Request, case_id: str) -> Response:
        values = dict(form_of(request))
        case = service.public.publicity(case_id)
        files, problems = _evidence(request)
        if not problems:
            try:
                service.public.object(case_id, objector=values.get("objector", ""),
                                      contact=values.get("contact", ""), content=values.get("content", ""),
                                      files=files, client=request.client.host if request.client else "")
            except BeianError as exc:
                problems = exc.problems or [exc.message]
        if problems:
            return objection_page(request, case, values, [*problems, "未提交；已选的文件需重新选择"],
                                  status_code=422)
        return page(request, "public_objected.html", case=case)


def _evidence(request: Request) -> tuple[list[Upload], list[str]]:
    """The attached files, each read no further than the public limit allows (a larger one is refused, not read)."""
    sent = [v for v in request.state.form.getlist("evidence") if isinstance(v, UploadFile) and v.filename]
    if len(sent) > MAX_PUBLIC_FILES:
        return [], [f"附件最多 {MAX_PUBLIC_FILES} 份，实有 {len(sent)} 份"]
    uploads: list[Upload] = []
    problems: list[str] = []
    for file in sent:
        content = file.file.read(MAX_PUBLIC_FILE_BYTES + 1)
        if len(content) > MAX_PUBLIC_FILE_BYTES:
            problems.append(f"附件“{file.filename}”超过 {MAX_PUBLIC_FILE_BYTES // (1024 * 1024)} MB")
            continue
        try:
            uploads.append(checked_upload(EVIDENCE, file.filename or "", content))
        except MaterialRefused as exc:
            problems.append(exc.message)
    return uploads, problems
