"""The process owners' pages: deployed processes and their versions, the diagram of a version, uploading a new version
(checked first, the findings drawn on the diagram), the difference between two versions, the migration of running
cases (a preview, then applying it), and the bpmn.io modeller embedded in the browser.

Only a process owner (`tasks.access.may_own_processes`) opens any of them; everyone else gets the 403 page with the
reason. Every POST carries the session's CSRF token: the HTML forms as the field `csrf_token`, the modeller's fetch
calls as the header `X-CSRF-Token`. Deploying always goes through `app.processes.deploy`, which checks again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParameter
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from adapters.entrypoints.web.base import (
    MAX_ID,
    STATIC,
    AccessDenied,
    SignInRequired,
    check_token,
    read_body,
    read_form,
)
from adapters.entrypoints.web.diagram import DiagramError, diagram_for, drawn_ids, viewer_installed
from adapters.entrypoints.web.processes.catalogue import modeller_catalogue
from adapters.entrypoints.web.processes.sources import (
    Candidate,
    assemble,
    candidate_from_payload,
    decode_upload,
    process_label,
    process_summaries,
    read_form_uploads,
    stored_version,
    upload_limit,
)
from tasks.access import Caseworker, may_own_processes
from tasks.errors import DefinitionError, InvalidInput, NotFound
from tasks.limits import MAX_DIAGRAM_BYTES, amount
from workflows.bpmn_check import Finding
from workflows.operators import STATUSES
from workflows.service import Beian

PageFn = Callable[..., HTMLResponse]
BUNDLE = STATIC / "vendor" / "beian-modeller" / "modeller.js"  # tools/bpmnio/build-modeller.mjs
NOT_AN_OWNER = "只有流程管理员可以查看和修改流程图、部署新版本和迁移案件；如需此权限请联系系统管理员"
SEVERITY_LABELS = {"error": "错误", "warning": "警告"}
OUTCOME_LABELS = {"unchanged": "不变", "changed": "有变化", "removed": "已删除"}
FORM_CHANGE_LABELS = {"added": "新增", "removed": "删除", "changed": "修改"}
NOTE_VALUE = 40  # a longer value (a script) is named in the diagram's click panel, not quoted; the table has it
# A version number in a link: a positive number a database integer holds (anything else is a 400/404 page).
VersionQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
MAX_JSON_BYTES = MAX_DIAGRAM_BYTES * 2  # the modeller's {"xml": …}: escaping can double a diagram's size


def _change_note(entry: dict[str, Any]) -> str:
    """What changed on an element, for the diagram's click panel: short values shown, long ones (a script) named."""
    lines: list[str] = []
    for detail in entry.get("details") or [{"label": label, "before": None, "after": None}
                                            for label in entry["changes"]]:
        values = (detail["before"], detail["after"])
        if values == (None, None):
            lines.append(detail["label"])
        elif any(v is not None and (len(v) > NOTE_VALUE or "\n" in v) for v in values):
            lines.append(f"{detail['label']}：已修改（见下方改动详情）")
        else:
            lines.append(f"{detail['label']}：{' → '.join('（无）' if v is None else v for v in values)}")
    return "改动：\n" + "\n".join(lines)


def register_process_pages(app: FastAPI, *, service: Beian, page: PageFn, user_of: Callable[[Request], Caseworker],
                           form_of: Callable[[Request], list[tuple[str, str]]],
                           csrf_token: Callable[[Request], str]) -> None:
    """Add the process owners' routes to the web app (`create_app` passes its page renderer, sign-in and CSRF
    helpers so these pages look and check like every other)."""

    def owner(request: Request) -> Caseworker:
        user = user_of(request)
        if not may_own_processes(user):
            raise AccessDenied(NOT_AN_OWNER)
        return user

    # --- processes and versions ----------------------------------------------------------------------------
    @app.get("/processes", response_class=HTMLResponse)
    def process_list(request: Request) -> Response:
        owner(request)
        return page(request, "process_list.html", processes=process_summaries(service))

    @app.get("/processes/{process_id}", response_class=HTMLResponse)
    def process_page(request: Request, process_id: str, version: VersionQuery = None,
                           deployed: VersionQuery = None, unchanged: VersionQuery = None) -> Response:
        owner(request)
        versions = service.processes.versions(process_id)
        shown = stored_version(service, process_id, version)
        diagram, problem = diagram_for(shown.bpmn_xml,
                                       f"{process_label(process_id, shown.name)} 第 {shown.version} 版")
        latest = versions[-1]["version"]
        return page(request, "process.html", process=process_id, label=process_label(process_id, shown.name),
                    versions=versions, shown=shown, latest=latest, diagram=diagram, diagram_problem=problem,
                    viewer_installed=viewer_installed(),
                    deployed=deployed, unchanged=unchanged, forms=sorted(shown.forms),
                    migratable_from=[v["version"] for v in versions if v["running"] and v["version"] != latest])

    @app.get("/processes/{process_id}/versions/{version}.bpmn")
    def download(request: Request, process_id: str,
                       version: Annotated[int, PathParameter(ge=1, le=MAX_ID)]) -> Response:
        owner(request)
        shown = stored_version(service, process_id, version)
        stem = Path(shown.file_name).stem
        name = f"{stem}.v{shown.version}.bpmn"
        return Response(shown.bpmn_xml, media_type="application/xml; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={quote(name)}; "
                                                        f"filename*=UTF-8''{quote(name)}",
                                 "X-Content-Type-Options": "nosniff"})

    # --- uploading a new version ----------------------------------------------------------------------------
    @app.get("/processes/{process_id}/upload", response_class=HTMLResponse)
    def upload_form(request: Request, process_id: str) -> Response:
        owner(request)
        latest = stored_version(service, process_id)
        return _check_page(request, process_id, latest.name, None)

    @app.post("/processes/{process_id}/upload", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def upload(request: Request, process_id: str) -> Response:
        owner(request)
        form_of(request)  # the CSRF check
        form = request.state.form  # with the files (read_form)
        latest = stored_version(service, process_id)
        bpmn = form.get("bpmn")
        if not isinstance(bpmn, UploadFile) or not bpmn.filename:
            return _check_page(request, process_id, latest.name, None, status_code=422,
                               message="请选择要上传的 BPMN 文件（.bpmn）")
        xml, problem = decode_upload(bpmn.file.read(upload_limit("BPMN 文件") + 1), bpmn.filename, "BPMN 文件")
        form_files = [(f.filename or "", f.file.read(upload_limit("表单文件") + 1)) for f in form.getlist("forms")
                      if isinstance(f, UploadFile) and f.filename]
        uploaded, problems = read_form_uploads(form_files)
        if xml is None:
            return _check_page(request, process_id, latest.name, None, status_code=422,
                               findings=[problem] if problem else [], sent_name=bpmn.filename)
        candidate = assemble(service, process_id, xml, bpmn.filename, uploaded, problems)
        return _check_page(request, process_id, latest.name, candidate,
                           status_code=200 if candidate.source is not None else 422)

    @app.post("/processes/{process_id}/deploy", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def deploy(request: Request, process_id: str) -> Response:
        user = owner(request)
        items = dict(form_of(request))
        latest = stored_version(service, process_id)
        try:
            payload = base64.b64decode(items.get("candidate", ""), validate=True).decode("utf-8")
        except ValueError:  # not base64 (binascii.Error), not ASCII to begin with, or not UTF-8 once decoded
            payload = ""
        try:
            candidate = candidate_from_payload(service, process_id, payload)
        except InvalidInput as exc:
            return _check_page(request, process_id, latest.name, None, status_code=422, message=exc.message)
        if candidate.source is None:
            return _check_page(request, process_id, latest.name, candidate, status_code=422,
                               message="检查发现错误，未部署")
        try:
            result = service.processes.deploy(candidate.source, actor=user.username)
        except DefinitionError as exc:
            return _check_page(request, process_id, latest.name, candidate, status_code=422,
                               message=exc.message, refused=exc.problems or [exc.message])
        flag = "deployed" if result["deployed"] else "unchanged"
        return RedirectResponse(f"/processes/{quote(process_id)}?version={result['version']}&{flag}="
                                f"{result['version']}", status_code=303)

    def _check_page(request: Request, process_id: str, name: str, candidate: Candidate | None,
                    status_code: int = 200, message: str = "", findings: list[Finding] | None = None,
                    sent_name: str = "", refused: list[str] | None = None) -> HTMLResponse:
        context: dict[str, Any] = {"process": process_id, "label": process_label(process_id, name),
                                   "message": message, "refused": refused or [], "candidate": candidate,
                                   "diagram": None, "diagram_problem": "", "payload": "",
                                   "viewer_installed": viewer_installed(),
                                   "sent_name": candidate.sent_name if candidate else sent_name}
        all_findings = candidate.findings if candidate else (findings or [])
        drawn: set[str] = set()
        if candidate is not None and not _too_large(all_findings):
            marks, notes = _marks(all_findings)
            context["diagram"], context["diagram_problem"] = diagram_for(
                candidate.xml, f"上传的 {candidate.sent_name}", marks=marks, notes=notes,
                focus=[key for key, kind in marks.items() if kind == "error"] or list(marks),
                legend=("error", "warning"))
            if context["diagram"] is not None:
                drawn = set(context["diagram"].marks)
            if candidate.source is not None:
                context["payload"] = base64.b64encode(
                    json.dumps(candidate.payload(), ensure_ascii=False).encode("utf-8")).decode("ascii")
        context["general"] = [f for f in all_findings if not f.element_id]
        context["located"] = [f for f in all_findings if f.element_id]
        context["drawn"] = drawn
        context["errors"] = sum(f.severity == "error" for f in all_findings)
        context["warnings"] = sum(f.severity == "warning" for f in all_findings)
        context["checked"] = candidate is not None or bool(all_findings)
        return page(request, "process_upload.html", status_code=status_code, severity_labels=SEVERITY_LABELS,
                    **context)

    # --- differences and migration --------------------------------------------------------------------------
    def _pair(process_id: str, from_version: int | None, to_version: int | None) -> tuple[list[dict[str, Any]], int,
                                                                                           int]:
        versions = service.processes.versions(process_id)
        latest = versions[-1]["version"]
        to = to_version if to_version is not None else latest
        return versions, (from_version if from_version is not None else max(to - 1, 1)), to

    @app.get("/processes/{process_id}/diff", response_class=HTMLResponse)
    def diff_page(request: Request, process_id: str, from_version: VersionQuery = None,
                        to_version: VersionQuery = None) -> Response:
        owner(request)
        versions, a, b = _pair(process_id, from_version, to_version)
        label = process_label(process_id, versions[-1]["name"])
        try:
            diff = service.processes.diff(process_id, a, b)
        except InvalidInput as exc:
            return page(request, "process_diff.html", status_code=422, process=process_id, label=label,
                        versions=versions, a=a, b=b, diff=None, message=exc.message, diagram=None,
                        diagram_problem="", old_diagram=None, old_diagram_problem="",
                        viewer_installed=viewer_installed())
        # Side by side: the old version with what the new one removed, the new one with what it added or changed
        # (a changed element is marked under its new id, which differs when the process owner changed the id).
        changed = {e.get("new_bpmn_id", e["bpmn_id"]): e for e in diff["changed"]}
        marks = {e["bpmn_id"]: "added" for e in diff["added"]} | {key: "changed" for key in changed}
        notes = {e["bpmn_id"]: "新增" for e in diff["added"]} | {key: _change_note(e) for key, e in changed.items()}
        diagram, problem = diagram_for(stored_version(service, process_id, b).bpmn_xml,
                                       f"第 {b} 版（标出相对第 {a} 版的新增和改动）", marks=marks, notes=notes,
                                       focus=list(marks), legend=("added", "changed"))
        removed = {e["bpmn_id"]: "removed" for e in diff["removed"]}
        old_diagram, old_problem = diagram_for(
            stored_version(service, process_id, a).bpmn_xml, f"第 {a} 版（标出第 {b} 版删除的元素）", marks=removed,
            notes={key: f"第 {b} 版中已删除" for key in removed},
            focus=[*removed, *(e["bpmn_id"] for e in diff["changed"])], legend=("removed",))
        return page(request, "process_diff.html", process=process_id, label=label, versions=versions, a=a, b=b,
                    diff=diff, message="", diagram=diagram, diagram_problem=problem, old_diagram=old_diagram,
                    old_diagram_problem=old_problem, viewer_installed=viewer_installed(),
                    form_change_labels=FORM_CHANGE_LABELS)

    @app.get("/processes/{process_id}/migration", response_class=HTMLResponse)
    def migration_preview(request: Request, process_id: str, from_version: VersionQuery = None,
                                to_version: VersionQuery = None) -> Response:
        owner(request)
        versions, a, b = _pair(process_id, from_version, to_version)
        try:
            plan = service.processes.migration_preview(process_id, a, b)
        except InvalidInput as exc:
            return _migration_page(request, process_id, versions, a, b, None, status_code=422, message=exc.message)
        return _migration_page(request, process_id, versions, a, b, plan)

    @app.post("/processes/{process_id}/migration", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def migrate(request: Request, process_id: str) -> Response:
        user = owner(request)
        items = dict(form_of(request))
        versions = service.processes.versions(process_id)
        a, b = _version_number(items.get("from_version", "")), _version_number(items.get("to_version", ""))
        if a is None or b is None:
            return page(request, "error.html", status_code=422, title="请求有误", message="请选择要迁移的版本")
        try:
            result = service.processes.migrate(process_id, a, b, actor=user.username)
        except InvalidInput as exc:
            return _migration_page(request, process_id, versions, a, b, None, status_code=422, message=exc.message)
        return _migration_page(request, process_id, versions, a, b, result, applied=True)

    def _migration_page(request: Request, process_id: str, versions: list[dict[str, Any]], a: int, b: int,
                        plan: dict[str, Any] | None, status_code: int = 200, message: str = "",
                        applied: bool = False) -> HTMLResponse:
        return page(request, "process_migration.html", status_code=status_code, process=process_id,
                    label=process_label(process_id, versions[-1]["name"]), versions=versions, a=a, b=b, plan=plan,
                    message=message, applied=applied, outcome_labels=OUTCOME_LABELS, statuses=STATUSES)

    # --- the modeller ------------------------------------------------------------------------------------------
    @app.get("/processes/{process_id}/modeller", response_class=HTMLResponse)
    def modeller(request: Request, process_id: str, version: VersionQuery = None) -> Response:
        owner(request)
        shown = stored_version(service, process_id, version)
        latest = stored_version(service, process_id)
        return page(request, "modeller.html", process=process_id, label=process_label(process_id, shown.name),
                    shown=shown, latest=latest.version, installed=BUNDLE.is_file(),
                    catalogue=modeller_catalogue(shown.forms))

    def json_request(request: Request) -> tuple[Caseworker, dict[str, Any]] | JSONResponse:
        """The signed-in owner and the JSON body, after the CSRF header check; or the JSON error to answer."""
        try:
            user = owner(request)
        except SignInRequired:
            return JSONResponse({"error": "登录已过期，请重新登录后再试"}, status_code=401)
        except AccessDenied as exc:
            return JSONResponse({"error": str(exc)}, status_code=403)
        token = request.headers.get("x-csrf-token", "")
        if not check_token(token, csrf_token(request)):
            return JSONResponse({"error": "页面已过期或来源不明（安全校验未通过），请刷新页面后重试；未作任何更改"},
                                status_code=403)
        body: bytes = request.state.body
        if len(body) > MAX_JSON_BYTES:
            return JSONResponse({"error": f"提交的流程图过大，上限为 {amount(MAX_DIAGRAM_BYTES)}，未作任何更改"},
                                status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("xml"), str) \
                or not isinstance(data.get("forms", {}), dict):
            return JSONResponse({"error": "请求格式不正确：应提交 {\"xml\": \"…\", \"forms\": {…}}"}, status_code=400)
        return user, data

    def modeller_candidate(process_id: str, data: dict[str, Any]) -> Candidate:
        """The modeller's diagram with the forms edited in its form editor, read as uploaded form files are (one
        way in for a form, whatever sent it), then assembled and checked like an upload."""
        edited = [(str(name), json.dumps(schema, ensure_ascii=False).encode("utf-8"))
                  for name, schema in data.get("forms", {}).items()]
        forms, problems = read_form_uploads(edited)
        return assemble(service, process_id, data["xml"], "网页建模器", forms, problems)

    def _findings_json(candidate: Candidate) -> dict[str, Any]:
        drawn = _drawn(candidate.xml) if not _too_large(candidate.findings) else frozenset()
        return {"findings": [{**f.to_dict(), "severity_label": SEVERITY_LABELS.get(f.severity, f.severity),
                              "on_diagram": f.element_id in drawn} for f in candidate.findings],
                "errors": len(candidate.errors), "warnings": len(candidate.warnings),
                "deployable": candidate.source is not None}

    @app.post("/processes/{process_id}/modeller/check", dependencies=[Depends(read_body)])
    def modeller_check(request: Request, process_id: str) -> Response:
        got = json_request(request)
        if isinstance(got, JSONResponse):
            return got
        try:
            candidate = modeller_candidate(process_id, got[1])
        except NotFound as exc:
            return JSONResponse({"error": exc.message}, status_code=404)
        return JSONResponse(_findings_json(candidate))

    @app.post("/processes/{process_id}/modeller/deploy", dependencies=[Depends(read_body)])
    def modeller_deploy(request: Request, process_id: str) -> Response:
        got = json_request(request)
        if isinstance(got, JSONResponse):
            return got
        user, data = got
        try:
            candidate = modeller_candidate(process_id, data)
        except NotFound as exc:
            return JSONResponse({"error": exc.message}, status_code=404)
        answer = _findings_json(candidate)
        if candidate.source is None:
            return JSONResponse({**answer, "error": f"检查发现 {answer['errors']} 处错误，未部署"}, status_code=422)
        try:
            result = service.processes.deploy(candidate.source, actor=user.username)
        except DefinitionError as exc:
            return JSONResponse({**answer, "error": exc.message, "problems": exc.problems}, status_code=422)
        return JSONResponse({**answer, **result, "url": f"/processes/{quote(process_id)}?version={result['version']}"
                             f"&{'deployed' if result['deployed'] else 'unchanged'}={result['version']}"})


def _version_number(text: str) -> int | None:
    """A version number posted in a form, or None when it is not one (not digits, or beyond any version)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)) or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)


def _too_large(findings: list[Finding]) -> bool:
    """A diagram over the size limit is not drawn either (finding its shapes would parse it)."""
    return any(f.code == "too-large" for f in findings)


def _drawn(xml: str) -> frozenset[str]:
    """The ids the diagram places, or none when it cannot be read (its findings say why)."""
    try:
        return drawn_ids(xml)
    except DiagramError:
        return frozenset()


def _marks(findings: list[Finding]) -> tuple[dict[str, str], dict[str, str]]:
    """Element id → the worst severity of its findings, and → their messages (the hover text of the mark)."""
    marks: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    for finding in findings:
        if not finding.element_id:
            continue
        if marks.get(finding.element_id) != "error":
            marks[finding.element_id] = finding.severity
        notes.setdefault(finding.element_id, []).append(
            f"{SEVERITY_LABELS.get(finding.severity, finding.severity)}：{finding.message}")
    return marks, {key: "\n".join(value) for key, value in notes.items()}
