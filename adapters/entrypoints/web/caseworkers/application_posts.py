"""The application form posted with its files, as the intake form and the resubmission form both read it: the
application checked as every way in checks it, the files checked by content, the 收件日期, and the form shown again
with the messages beside their fields (and a word that files must be chosen again: a browser never refills them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from adapters.entrypoints.web.base import Site
from adapters.entrypoints.web.forms.application import (
    RECEIVED_AT_FIELD,
    adding_row,
    application_fields,
    posted_values,
    read_application,
    read_received_at,
)
from adapters.entrypoints.web.forms.material_files import file_section, read_material_files
from tasks.errors import InvalidInput, ReceivedInFuture
from workflows import clock
from workflows.service.materials import Upload


@dataclass
class PostedApplication:
    """What was posted, read: `ok` when it may go to the service."""

    items: list[tuple[str, str]]
    application: dict[str, Any] = field(default_factory=dict)
    files: list[Upload] = field(default_factory=list)
    received_at: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)
    files_sent: bool = False
    add_row: str | None = None  # a list's "添加一行" was pressed: show the form again, nothing else
    new: bool = False  # a new application (the intake form), not a resubmission: it must give more

    @property
    def ok(self) -> bool:
        return self.add_row is None and not self.errors and not self.form_errors


def read_posted(request: Request, items: list[tuple[str, str]], *, new: bool = False,
                received: bool = True) -> PostedApplication:
    """`received`: the form has a 收件日期 (paper, registered by intake); online the moment of filing is the date."""
    posted = PostedApplication(items, files_sent=any(isinstance(value, UploadFile) and value.filename
                                                     for _, value in request.state.form.multi_items()), new=new)
    if (row := adding_row(items)) is not None:
        posted.add_row = row
        return posted
    posted.application, posted.errors, posted.form_errors = read_application(items, new=new)
    posted.files, file_problems = read_material_files(request.state.form)
    posted.form_errors += file_problems
    if received:
        posted.received_at, problem = read_received_at(items, clock.now())
        if problem:
            posted.errors[RECEIVED_AT_FIELD] = problem
    return posted


def form_again(site: Site, request: Request, posted: PostedApplication, **context: Any) -> Response:
    """The form as it was posted, with its messages (422), or with one more row (200) when a row was added."""
    return site.page(request, "application_form.html", status_code=200 if posted.add_row else 422,
                     form_errors=posted.form_errors,
                     sections=application_fields(posted_values(posted.items), posted.errors, add_row=posted.add_row,
                                                 new=posted.new),
                     files=file_section(posted.items), files_again=posted.files_sent, **context)


def registered(site: Site, request: Request, posted: PostedApplication, register: Callable[[], str],
               **context: Any) -> Response:
    """Run `register` (which returns the case page to go to) or show the form again with what the service refused:
    a 收件日期 in the future beside its field, anything else above the form."""
    try:
        target = register()
    except ReceivedInFuture as exc:
        posted.errors, posted.form_errors = {RECEIVED_AT_FIELD: exc.message}, []
        return form_again(site, request, posted, **context)
    except InvalidInput as exc:
        posted.form_errors = exc.problems or [exc.message]
        return form_again(site, request, posted, **context)
    return RedirectResponse(target, status_code=303)
