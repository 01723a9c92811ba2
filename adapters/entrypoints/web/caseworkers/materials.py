"""A case's materials in the browser: the intake clerk of the case's authority uploads a file as the next version of
a checklist item, and whoever may see the case opens a stored version.

A stored file is the institution's, not ours: it is served as exactly the type it was checked to be, never sniffed
(`nosniff`), and under a policy that lets it run nothing and load nothing (`sandbox`, `default-src 'none'`). PDF and
images open in the browser's own viewer; office documents download. Chromium refuses to show a PDF in a sandboxed
document, so a PDF keeps `default-src 'none'` (its viewer is the browser's, not the page's) without `sandbox`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParameter
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from adapters.entrypoints.web.base import MAX_ID, AccessDenied, Site, read_form
from adapters.entrypoints.web.caseworkers.case_access import may_upload, visible_case
from tasks.errors import BeianError
from tasks.materials import MAX_MATERIAL_BYTES

_SANDBOXED = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
_PDF = "default-src 'none'; object-src 'self'"


def register(app: FastAPI, site: Site) -> None:
    @app.post("/cases/{case_id}/materials", dependencies=[Depends(read_form)])
    def upload_material(request: Request, case_id: str) -> Response:
        user = site.user_of(request)
        items = dict(site.form_of(request))
        case = visible_case(site, user, case_id)
        if not may_upload(user, case):
            raise AccessDenied("只有受理本案的受理人员可以在案件办结前上传材料")
        sent = request.state.form.get("file")
        if not isinstance(sent, UploadFile) or not sent.filename:
            return _refused(site, request, "请选择要上传的文件")
        # One byte more than the limit is enough to say the file is too large, without reading the rest.
        content = sent.file.read(MAX_MATERIAL_BYTES + 1)
        try:
            stored = site.service.materials.upload(case_id, items.get("item", ""), sent.filename, content,
                                                   actor=user.username)
        except BeianError as exc:
            return _refused(site, request, exc.message)
        said = f"{stored['file_name']}（第 {stored['version']} 版）"
        return RedirectResponse(f"/cases/{quote(case_id)}?uploaded={quote(said)}#materials", status_code=303)

    @app.get("/materials/{material_id}")
    def open_material(request: Request, material_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]) -> Response:
        user = site.user_of(request)
        visible_case(site, user, site.service.materials.version(material_id)["case"])  # before reading any byte
        version, content = site.service.materials.open(material_id)
        disposition = "inline" if version["inline"] else "attachment"
        policy = _PDF if version["media_type"] == "application/pdf" else _SANDBOXED
        return Response(content, media_type=version["media_type"], headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(version['file_name'])}",
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        })


def _refused(site: Site, request: Request, message: str) -> Response:
    return site.page(request, "error.html", status_code=422, title="未能上传材料", message=f"{message}；未保存任何文件")
