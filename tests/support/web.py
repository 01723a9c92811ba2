"""Posting forms to the web app as a browser does (`post_pairs`, the intake form: `post_application`)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import EXAMPLE_APPLICATION
from tests.support.forms import flattened


def posted_example(**changes: str) -> list[tuple[str, str]]:
    application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    pairs = [(name, value) for name, value in flattened(application) if name != "csrf_token"]
    return [(name, changes.get(name, value)) for name, value in pairs]


FORM = {"content-type": "application/x-www-form-urlencoded"}


def post_pairs(client: TestClient, url: str, pairs: list[tuple[str, str]]) -> Response:
    """As a browser posts a form without files: every pair in order, repeated names included."""
    return client.post(url, content=urlencode(pairs), headers=FORM)


def post_application(client: TestClient, token: str, **changes: str) -> Response:
    """As a browser posts the form: every pair in order, repeated names included (the level checkboxes)."""
    return post_pairs(client, "/applications/new", [*posted_example(**changes), ("csrf_token", token)])


def post_application_with_files(client: TestClient, token: str, files: list[tuple[str, str, bytes]], *,
                                url: str = "/applications/new", extra: tuple[tuple[str, str], ...] = (),
                                **changes: str) -> Response:
    """As a browser posts the form with files (multipart): each (checklist item, file name, content) in a row of
    the 材料文件 section; `url` the intake form's or a case's resubmission form's, `extra` further fields."""
    data: dict[str, list[str]] = {}
    for name, value in [*posted_example(**changes), *extra, ("csrf_token", token)]:
        data.setdefault(name, []).append(value)
    uploads = []
    for row, (item, file_name, content) in enumerate(files):
        data[f"material_files[{row}][item]"] = [item]
        uploads.append((f"material_files[{row}][file]", (file_name, content, "application/octet-stream")))
    return client.post(url, data=data, files=uploads)
