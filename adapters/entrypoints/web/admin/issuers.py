"""发文机关设置: an administrator keeps, for each authority of their province, who issues and signs its documents, the
short name and format of its document numbers, and its seal (tasks/issuers.py). Documents already served keep what
they were issued with; a change applies to the next document."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from adapters.entrypoints.web.base import AccessDenied, admin_only, read_form
from tasks.access import Caseworker
from tasks.errors import BeianError
from tasks.issuers import MAX_SEAL_BYTES
from workflows.service import Beian

NOT_AN_ADMIN = "只有管理员可以设置发文机关"


def register_issuer_pages(app: FastAPI, *, service: Beian, page: Callable[..., HTMLResponse],
                          user_of: Callable[[Request], Caseworker],
                          form_of: Callable[[Request], list[tuple[str, str]]]) -> None:
    def admin_of(request: Request, authority: str | None = None) -> Caseworker:
        user = admin_only(user_of(request), NOT_AN_ADMIN)
        if authority is not None and authority[:2] != user.region[:2]:
            raise AccessDenied("管理员只能设置本省份备案机关的发文机关，未作任何更改")
        return user

    def listing(request: Request, user: Caseworker, *, done: str = "", problem: str = "", editing: str = "",
                sent: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
        issuers = service.issuers.list(user.region[:2])
        return page(request, "admin_issuers.html", status_code=status_code, issuers=issuers, done=done,
                    problem=problem, editing=editing, sent=sent or {}, max_seal_kb=MAX_SEAL_BYTES // 1024)

    @app.get("/admin/issuers", response_class=HTMLResponse)
    def issuers_page(request: Request, done: str = "", edit: str = "") -> Response:
        return listing(request, admin_of(request), done=done, editing=edit)

    @app.post("/admin/issuers/{authority}", dependencies=[Depends(read_form)])
    def save_issuer(request: Request, authority: str) -> Response:
        user = admin_of(request, authority)
        items = dict(form_of(request))
        try:
            saved = service.issuers.save(authority, name=items.get("name", ""),
                                         on_behalf_of=items.get("on_behalf_of", ""),
                                         short_name=items.get("short_name", ""),
                                         number_format=items.get("number_format", ""), actor=user.username)
        except BeianError as exc:
            return listing(request, user, problem=exc.message, editing=authority, sent=items, status_code=422)
        done = f"已保存 {saved['authority_name']} 的发文机关：{saved['name']}，文号如 {saved['sample_number']}"
        return RedirectResponse(f"/admin/issuers?done={quote(done)}#issuer-{authority}", status_code=303)

    @app.post("/admin/issuers/{authority}/seal", dependencies=[Depends(read_form)])
    def save_seal(request: Request, authority: str) -> Response:
        user = admin_of(request, authority)
        remove = dict(form_of(request)).get("remove") == "1"
        png: bytes | None = None
        if not remove:
            sent = request.state.form.get("seal")
            if not isinstance(sent, UploadFile) or not sent.filename:
                return listing(request, user, problem="请选择印章图片（PNG）", editing=authority, status_code=422)
            png = sent.file.read(MAX_SEAL_BYTES + 1)  # one byte over the limit is enough to refuse it
        try:
            saved = service.issuers.set_seal(authority, png, actor=user.username)
        except BeianError as exc:
            return listing(request, user, problem=exc.message, editing=authority, status_code=422)
        done = f"已{'删除' if remove else '保存'} {saved['authority_name']} 的印章"
        return RedirectResponse(f"/admin/issuers?done={quote(done)}#issuer-{authority}", status_code=303)
