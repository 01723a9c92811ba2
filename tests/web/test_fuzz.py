"""Hostile input against every route of the web app: no response is a 5xx, every refusal is a Chinese page, and the
database is exactly as it was (SQLite and PostgreSQL).

Every route is taken from `app.routes` (so a route added later is fuzzed too, and the test fails if one is missed),
called signed in as an intake caseworker and as a process owner, with each path and query parameter in turn set to
hostile values (huge and negative numbers, NUL, a very long string, percent-encodings that are not UTF-8,
right-to-left overrides, …) and the other parameters real. The routes that read a body also get hostile bodies:
unclean form fields, bodies over the limit (declared and streamed), JSON nested beyond reason, files that are not
text.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select, text

from adapters.outside.db import make_engine
from tests.conftest import EXAMPLE_APPLICATION
from tests.web.conftest import PASSWORD, Site, csrf
from workflows.users import add_user

OWNER = "zhou.liu"
CASEWORKER = "li.na"

# Label → the value as it stands in a URL (already percent-encoded where it must be).
HOSTILE: dict[str, str] = {
    "huge-integer": "9" * 20,
    "beyond-int64": str(2**64),
    "negative": "-1",
    "zero": "0",
    "nul": "%00",
    "nul-inside": "BA2026-%0000001",
    "control": "%07%1B",
    "long": "x" * 5000,
    "not-utf-8": "%FF%FE",
    "overlong-utf-8": "%C0%AE%C0%AE",
    "rtl-override": "%E2%80%AEfdp.exe",
    "isolate": "%E2%81%A6abc%E2%81%A9",
    "newline": "a%0D%0Ab",
    "not-a-number": "NaN",
    "overflowing-float": "1e309",
    "traversal": "..%2F..%2Fetc%2Fpasswd",
}
# Values no text field may take (every form that stores text must refuse them).
UNCLEAN = ("nul", "nul-inside", "control", "rtl-override", "isolate")
CJK = re.compile(r"[\u4e00-\u9fff]")
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def _chinese(response: Any) -> bool:
    return bool(CJK.search(response.text))


class Fuzzer:
    """Sends requests, remembers which routes were reached and every answer that was a 5xx or not in Chinese."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token
        self.failures: list[str] = []
        self.reached: set[tuple[str, str]] = set()

    def send(self, route: APIRoute | None, method: str, url: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, **kwargs)
        if route is not None:
            self.reached.add((method, route.path))
        where = f"{method} {url[:120]}"
        if response.status_code >= 500:
            self.failures.append(f"{where} → {response.status_code}")
        elif response.status_code >= 400 and not _chinese(response):
            self.failures.append(f"{where} → {response.status_code} without Chinese: {response.text[:200]!r}")
        return response


@pytest.fixture
def fuzzed(site: Site) -> Iterator[tuple[Site, dict[str, str]]]:
    """The site with a process owner and a second case whose application was rejected (so it has a document); the
    real values of every path parameter."""
    add_user(site.service, OWNER, "周流程", PASSWORD, ["process_owner"], "510000", actor="test")
    second = site.service.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"]
    (task,) = [t for t in site.service.cases.tasks(second) if t["bpmn_id"] == "acceptance"]
    site.service.cases.complete(task["id"], {"decision": "reject", "reasons": "不属于技能类职业"})
    (document,) = site.service.records.show(second)["documents"]
    real = {"task_id": site.open_task("acceptance")["id"], "case_id": site.case, "document_id": str(document["id"]),
            "process_id": "filing_application", "version": "1",
            # The portal's: a reply a case may wait for, a colleague's name and what is done to the account.
            "message": "statement", "username": "wang.xm", "action": "disable",
            "name": "sites"}  # a list a change report gives anew
    yield site, real


def _snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table, except what a request may rightly write: sign-in attempts (a failed sign-in is
    recorded), sessions, and the audit of a sign-in lock."""
    engine = make_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        tables: dict[str, list[str]] = {}
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                if table.name == "sign_in_attempts" or "session" in table.name:
                    continue
                rows = [row._asdict() for row in connection.execute(select(table))]
                if table.name == "audit_events":
                    rows = [row for row in rows if not str(row["action"]).startswith("sign_in")]
                tables[table.name] = sorted(repr(sorted(row.items())) for row in rows)
        return tables
    finally:
        engine.dispose()


def _api_routes(site: Site) -> list[APIRoute]:
    return [route for route in site.app.routes if isinstance(route, APIRoute)]


def _url(route: APIRoute, values: dict[str, str]) -> str:
    return PARAMETER.sub(lambda m: values[m.group(1)], route.path)


def _parameter_requests(fuzzer: Fuzzer, routes: list[APIRoute], real: dict[str, str]) -> None:
    """Each path and query parameter of each route, in turn, set to each hostile value."""
    for route in routes:
        path_names = PARAMETER.findall(route.path)
        query_names = [param.name for param in route.dependant.query_params]
        for method in sorted(route.methods or ()):
            body = _post_body(fuzzer, route) if method == "POST" else {}
            for name in path_names:
                for value in HOSTILE.values():
                    fuzzer.send(route, method, _url(route, {**real, name: value}), **body)
            for name in query_names:
                for value in HOSTILE.values():
                    fuzzer.send(route, method, f"{_url(route, real)}?{name}={value}", **body)
            if not path_names and not query_names:
                fuzzer.send(route, method, _url(route, real), **body)


def _post_body(fuzzer: Fuzzer, route: APIRoute) -> dict[str, Any]:
    if route.path == "/logout":  # reached, but refused: the fuzzing goes on signed in
        return {"data": {"csrf_token": "x" * 43}}
    if route.path.endswith(("/modeller/check", "/modeller/deploy")):
        return {"json": {"xml": "<definitions/>"}, "headers": {"X-CSRF-Token": fuzzer.token}}
    return {"data": {"csrf_token": fuzzer.token}}


def _form(token: str, fields: list[str], value: str) -> dict[str, Any]:
    """A url-encoded form body with `value` (as it stands in a URL: percent-encoded) in each of `fields`."""
    pairs = [f"csrf_token={token}", *(f"{quote(field, safe='')}={value}" for field in fields)]
    return {"content": "&".join(pairs).encode("ascii"),
            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


TASK_FIELDS = ["decision", "reasons", "opinion", "result", "received_at", "_add_row"]
APPLICATION_FIELDS = [
    "institution[name]", "institution[credit_code]", "institution[type]", "institution[address]", "region",
    "authority_level", "occupations[0][code]", "occupations[0][name]", "occupations[0][levels]",
    "occupations[0][basis]", "assessors[0][name]", "assessors[0][occupation]", "sites[0][name]",
    "sites[0][area_m2]", "sites[0][equipment][0][quantity]", "received_at",
]


def _caseworker_bodies(fuzzer: Fuzzer, real: dict[str, str]) -> None:
    task = f"/tasks/{real['task_id']}"
    for label, value in HOSTILE.items():
        fuzzer.send(None, "POST", task, **_form(fuzzer.token, TASK_FIELDS, value))
        fuzzer.send(None, "POST", "/applications/new", **_form(fuzzer.token, APPLICATION_FIELDS, value))
        fuzzer.send(None, "POST", "/login", **_form(fuzzer.token, ["username", "password", "next"], value))
        if label in UNCLEAN:  # 暂存 keeps any clean text as typed: only these must be refused
            fuzzer.send(None, "POST", f"{task}/draft", **_form(fuzzer.token, TASK_FIELDS, value))
    # Over the body limit: declared, and streamed without a length.
    big = b"csrf_token=" + fuzzer.token.encode() + b"&opinion=" + b"x" * (2 * 1024 * 1024)
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    assert fuzzer.send(None, "POST", f"{task}/draft", content=big, headers=form_type).status_code == 413
    streamed = fuzzer.send(None, "POST", f"{task}/draft", content=iter([big[:1024 * 1024], big[1024 * 1024:]]),
                           headers=form_type)
    assert streamed.status_code == 413, (streamed.headers, streamed.text[:300])


def _owner_bodies(fuzzer: Fuzzer) -> None:
    base = "/processes/filing_application"
    token = fuzzer.token
    not_text = [b"\x00\x01\x02", b"\xff\xfe<x/>", "<?xml version='1.0'?>\u202e<a/>".encode(), b"[" * 200_000]
    for content in not_text:
        fuzzer.send(None, "POST", f"{base}/upload", data={"csrf_token": token},
                    files=[("bpmn", ("f\u202eil.bpmn", content, "application/xml")),
                           ("forms", ("acceptance.schema.json", content, "application/json"))])
        fuzzer.send(None, "POST", f"{base}/modeller/check", content=content,
                    headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
        fuzzer.send(None, "POST", f"{base}/modeller/deploy", content=content,
                    headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
        payload = base64.b64encode(content).decode()
        fuzzer.send(None, "POST", f"{base}/deploy", data={"csrf_token": token, "candidate": payload})
    for xml in ("\x00", "<definitions>\u202e</definitions>", "<" * (6 * 1024 * 1024)):
        fuzzer.send(None, "POST", f"{base}/modeller/deploy", json={"xml": xml}, headers={"X-CSRF-Token": token})
        payload = base64.b64encode(json.dumps({"xml": xml, "forms": {}}).encode()).decode()
        fuzzer.send(None, "POST", f"{base}/deploy", data={"csrf_token": token, "candidate": payload})
    for value in HOSTILE.values():
        fuzzer.send(None, "POST", f"{base}/migration",
                    **_form(token, ["from_version", "to_version"], value))
        fuzzer.send(None, "POST", f"{base}/deploy", **_form(token, ["candidate"], value))


def _signed_in(site: Site, username: str) -> tuple[TestClient, str]:
    client = site.client(username)
    client = TestClient(site.app, follow_redirects=False, raise_server_exceptions=False, cookies=client.cookies)
    page = client.get("/processes" if username == OWNER else "/tasks")
    return client, csrf(page.text)


def test_no_route_answers_hostile_input_with_a_5xx_or_changes_anything(
        fuzzed: tuple[Site, dict[str, str]], backend_url: str, caplog: pytest.LogCaptureFixture) -> None:
    site, real = fuzzed
    caplog.set_level(logging.ERROR, logger="beian.web")
    # Both sign in before anything hostile: failed sign-ins from the fuzzing would lock the test client's address.
    users = {name: _signed_in(site, name) for name in (CASEWORKER, OWNER)}
    before = _snapshot(backend_url)
    routes = _api_routes(site)
    fuzzers = []
    for username, (client, token) in users.items():
        fuzzer = Fuzzer(client, token)
        _parameter_requests(fuzzer, routes, real)
        (_caseworker_bodies if username == CASEWORKER else lambda f, _r: _owner_bodies(f))(fuzzer, real)
        fuzzers.append(fuzzer)
    failures = [failure for fuzzer in fuzzers for failure in fuzzer.failures]
    assert not failures, "\n".join(failures[:40]) + "\n" + caplog.text[-4000:]
    missed = {(m, r.path) for r in routes for m in r.methods or ()} - set().union(*(f.reached for f in fuzzers))
    assert not missed, f"routes the fuzzing did not reach: {sorted(missed)}"
    assert _snapshot(backend_url) == before


def test_an_unexpected_error_is_a_chinese_page_and_its_traceback_is_logged(
        site: Site, backend_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """A real failure no route expects: the accounts table disappears under a signed-in caseworker (as after a bad
    manual repair of the database)."""
    signed_in = site.client(CASEWORKER)
    client = TestClient(site.app, follow_redirects=False, raise_server_exceptions=False, cookies=signed_in.cookies)
    assert client.get("/tasks").status_code == 200
    engine = make_engine(backend_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE users RENAME TO users_moved_away"))
    finally:
        engine.dispose()
    caplog.set_level(logging.ERROR, logger="beian.web")
    response = client.get("/tasks")
    assert response.status_code == 500
    assert "系统内部出错" in response.text and "Internal Server Error" not in response.text
    reference = re.search(r"错误编号 ([0-9a-f]{8})", response.text)
    assert reference, response.text
    (record,) = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert record.exc_info is not None and "users" in caplog.text  # the traceback names what failed
