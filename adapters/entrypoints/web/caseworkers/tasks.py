"""A task's page and what a caseworker does on it: claim, release (放回待认领), keep a draft (暂存), complete it
with its form, checked on the server against the task's schema."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.entrypoints.web.base import AccessDenied, Site, read_form
from adapters.entrypoints.web.caseworkers.application_view import application_parts
from adapters.entrypoints.web.caseworkers.case_access import display_names
from adapters.entrypoints.web.caseworkers.task_context import sections as given_sections
from adapters.entrypoints.web.forms import check_submission, form_fields, submitted_values
from tasks.access import Caseworker, may_work_on, refusal
from tasks.errors import BeianError, ConcurrentChange, IllegalEvent, InvalidInput, NotFound


def register(app: FastAPI, site: Site) -> None:
    def _form_schema(task: dict[str, Any]) -> dict[str, Any]:
        """The task's form schema (its choices already narrowed to the case's by the service); a task without a form
        is an empty form (submitting it just completes the task)."""
        schema: dict[str, Any] = task["schema"] or {"type": "object", "properties": {}}
        return schema

    def task_for(user: Caseworker, task_id: str) -> dict[str, Any]:
        task = site.service.cases.task(task_id)
        if not may_work_on(user, task["role"], _task_authority(task)):
            raise AccessDenied(refusal(user, task["role"], _task_authority(task)))
        return task

    @app.get("/tasks/{task_id}", response_class=HTMLResponse)
    def task_page(request: Request, task_id: str) -> Response:
        user = site.user_of(request)
        task = task_for(user, task_id)
        # A saved draft fills the form as it was left; otherwise the schema's defaults (a fresh form).
        return _task_form(request, task, values=task.get("draft"), field_errors={}, form_errors=[],
                          saved=request.query_params.get("saved") == "1")

    def _task_form(request: Request, task: dict[str, Any], values: Mapping[str, Any] | None,
                   field_errors: dict[str, str], form_errors: list[str], status_code: int = 200,
                   saved: bool = False) -> Response:
        schema = _form_schema(task)
        fields = form_fields(schema, values, field_errors)
        case = site.service.records.show(task["case"])
        # What the form asks to be checked (its x-checks: parts of the application, "materials" or
        # "materials:ITEM") is open and marked; the rest of the file is a click away.
        checks = [str(c) for c in schema.get("x-checks", ()) if isinstance(c, str)]
        return site.page(request, "task.html", status_code=status_code, task=task, fields=fields, schema=schema,
                         form_errors=form_errors, saved=saved, parts=application_parts(case["application"]),
                         materials=site.service.materials.of_case(task["case"]), checks=checks,
                         materials_open=any(c.split(":")[0] == "materials" for c in checks),
                         # A decision taken again after a resubmission: what changed since the last submission.
                         changes=site.service.supplements.latest_changes(task["case"]),
                         reported=site.service.records.reported_changes(task["case"]),
                         requested=site.service.supplements.requested(task["case"]),
                         people=display_names(site), given=given_sections(task["context"], task.get("context_forms")))

    def posted_to_task(request: Request, task_id: str, verb: str,
                             nothing_done: str) -> tuple[Caseworker, list[tuple[str, str]], dict[str, Any]] | Response:
        """The user, the posted form and the task for a POST on an open task they may work on (CSRF checked); or
        the page saying the task is gone (done by someone else, or cancelled by a timer)."""
        user = site.user_of(request)
        items = site.form_of(request)
        try:
            task = task_for(user, task_id)
        except NotFound:
            return site.page(request, "error.html", status_code=409, title="待办已失效",
                        message=f"该待办已不再有效（可能已被他人办理，或因期限届满被取消），{nothing_done}。")
        if task["claimed_by"] not in (None, user.username):
            raise AccessDenied(f"该待办已由 {task['claimed_by']} 认领，您不能{verb}；未作任何更改")
        return user, items, task

    @app.post("/tasks/{task_id}/draft", dependencies=[Depends(read_form)])
    def save_draft(request: Request, task_id: str) -> Response:
        """暂存: keep the form as typed, unchecked, in the case's state; nothing is submitted."""
        posted = posted_to_task(request, task_id, "暂存", "未暂存")
        if isinstance(posted, Response):
            return posted
        user, items, task = posted
        schema = _form_schema(task)
        try:
            site.service.cases.save_draft(task_id, submitted_values(schema, items), actor=user.username)
        except (IllegalEvent, ConcurrentChange, InvalidInput) as exc:
            return site.page(request, "error.html", status_code=409, title="未能暂存", message=exc.message)
        return RedirectResponse(f"/tasks/{quote(task_id)}?saved=1", status_code=303)

    @app.post("/tasks/{task_id}", response_class=HTMLResponse, dependencies=[Depends(read_form)])
    def complete_task(request: Request, task_id: str) -> Response:
        posted = posted_to_task(request, task_id, "办理", "本次提交未作任何更改")
        if isinstance(posted, Response):
            return posted
        user, items, task = posted
        schema = _form_schema(task)
        submission = check_submission(schema, items)  # server-side: conversion, then the schema (Chinese messages)
        if not submission.ok:
            return _task_form(request, task, submission.values, submission.field_errors, submission.form_errors,
                              status_code=422)
        try:
            result = site.service.cases.complete(task_id, submission.data, actor=user.username)
        except InvalidInput as exc:  # what only the process knows (the schema passed above)
            return _task_form(request, task, submission.values, {}, exc.problems or [exc.message], status_code=422)
        except (IllegalEvent, ConcurrentChange) as exc:
            return site.page(request, "error.html", status_code=409, title="待办已失效", message=exc.message)
        return RedirectResponse(f"/cases/{quote(result['case'])}?done={quote(task['name'])}", status_code=303)

    @app.post("/tasks/{task_id}/claim", dependencies=[Depends(read_form)])
    def claim(request: Request, task_id: str) -> Response:
        user = site.user_of(request)
        site.form_of(request)
        task_for(user, task_id)
        return _acted(request, lambda: site.service.cases.claim(task_id, user.username), f"/tasks/{quote(task_id)}")

    @app.post("/tasks/{task_id}/release", dependencies=[Depends(read_form)])
    def release(request: Request, task_id: str) -> Response:
        user = site.user_of(request)
        site.form_of(request)
        task_for(user, task_id)
        return _acted(request, lambda: site.service.cases.release(task_id, user.username), "/tasks?view=unclaimed")

    def _acted(request: Request, action: Callable[[], Any], then: str) -> Response:
        try:
            action()
        except BeianError as exc:
            return site.page(request, "error.html", status_code=409, title="未能完成", message=exc.message)
        return RedirectResponse(then, status_code=303)


def _task_authority(task: dict[str, Any]) -> str:
    return task["authority"] or task["region"]
