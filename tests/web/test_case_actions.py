"""The case page's diagram, a paper application registered by the intake clerk, and an investigation opened by a
supervision officer from the case page — each for those allowed, refused for the others."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from httpx import Response
from lxml import etree

from tests.conftest import EXAMPLE_APPLICATION
from tests.unit.test_application_form import flattened
from tests.web.conftest import Site, csrf
from workflows import clock


def test_the_case_page_draws_the_diagram_with_the_current_task_highlighted(site: Site) -> None:
    page = site.client("li.na").get(f"/cases/{site.case}")
    assert page.status_code == 200
    svg = page.text[page.text.index("<svg"):page.text.index("</svg>") + 6]
    root = etree.fromstring(svg.encode())
    current = root.xpath("//*[@data-bpmn-id='acceptance']")[0]
    assert "bpmn-current" in current.get("class", "")
    assert root.xpath("//*[@data-bpmn-id='expert_review' and contains(@class, 'bpmn-current')]") == []


def _posted_example(**changes: str) -> list[tuple[str, str]]:
    application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    pairs = [(name, value) for name, value in flattened(application) if name != "csrf_token"]
    return [(name, changes.get(name, value)) for name, value in pairs]


FORM = {"content-type": "application/x-www-form-urlencoded"}


def _post_application(client: TestClient, token: str, **changes: str) -> Response:
    """As a browser posts the form: every pair in order, repeated names included (the level checkboxes)."""
    body = urlencode([*_posted_example(**changes), ("csrf_token", token)])
    return client.post("/applications/new", content=body, headers=FORM)


def test_the_intake_clerk_registers_a_paper_application(site: Site) -> None:
    client = site.client("li.na")
    form = client.get("/applications/new")
    assert form.status_code == 200 and "登记" in form.text
    token = csrf(form.text)
    registered = _post_application(client, token)
    assert registered.status_code == 303, registered.text[-2000:]
    case = registered.headers["location"].split("/cases/")[1].split("?")[0]
    assert case != site.case and site.service.records.show(case)["case_status"] == "applied"
    assert site.service.records.show(case)["history"][0]["actor"] == "li.na"


def test_a_bad_paper_application_is_refused_with_messages_and_nothing_registered(site: Site) -> None:
    client = site.client("li.na")
    token = csrf(client.get("/applications/new").text)
    bad = _post_application(client, token, **{"institution[credit_code]": "91510104MA6C8H2K5X"})
    assert bad.status_code == 422 and "统一社会信用代码" in bad.text
    assert [t["case"] for t in site.service.cases.tasks()] == [site.case]


def test_only_intake_clerks_of_the_applications_jurisdiction_register_it(site: Site) -> None:
    for username in ("zhao.lei", "sun.qiang", "qian.jian"):
        assert site.client(username).get("/applications/new").status_code == 403
    other_city = site.client("wang.fang")  # intake, but in Mianyang: the example is a Chengdu application
    token = csrf(other_city.get("/applications/new").text)
    refused = _post_application(other_city, token)
    assert refused.status_code == 422 and "不在您的辖区" in refused.text
    assert [t["case"] for t in site.service.cases.tasks()] == [site.case]


def _filed(site: Site) -> str:
    for bpmn_id, data in (("acceptance", {"decision": "accept"}),
                          ("expert_review", {"result": "pass", "opinion": "符合要求"}),
                          ("site_inspection", {"result": "pass", "opinion": "符合要求"}),
                          ("higher_review", {"result": "pass"})):
        site.service.cases.complete(site.open_task(bpmn_id)["id"], data)
    (publicity,) = site.service.records.show(site.case)["deadlines"]
    with clock.using_clock(clock.VirtualClock(clock.parse_instant(publicity["due"]) + timedelta(seconds=1))):
        site.service.operations.sweep()
    number = site.service.records.show(site.case)["filing_number"]
    assert number
    return number


def test_a_supervision_officer_opens_an_investigation_from_the_case_page(site: Site) -> None:
    number = _filed(site)
    officer = site.client("qian.jian")
    page = officer.get(f"/cases/{site.case}")
    assert "立案调查" in page.text
    assert "备案记录" in page.text and number in page.text and "第 1 期" in page.text
    token = csrf(page.text)
    bad = officer.post(f"/cases/{site.case}/violations", data={"ground": "nonsense", "facts": "x", "csrf_token": token})
    assert bad.status_code == 422 and "未知的违规情形" in bad.text
    opened = officer.post(f"/cases/{site.case}/violations",
                          data={"ground": "beyond_scope", "facts": "超出备案职业开展评价", "csrf_token": token})
    assert opened.status_code == 303
    new_case = opened.headers["location"].split("/cases/")[1]
    assert new_case in [c["case"] for c in site.service.records.show(number)["cases"]]


def test_others_cannot_open_an_investigation(site: Site) -> None:
    _filed(site)
    for username in ("li.na", "zhao.lei", "admin"):  # intake, expert, and the province's supervision (municipal case)
        client = site.client(username)
        page = client.get(f"/cases/{site.case}")
        assert "立案调查" not in page.text
        token = csrf(client.get("/tasks").text)
        response = client.post(f"/cases/{site.case}/violations",
                               data={"ground": "beyond_scope", "facts": "x", "csrf_token": token})
        assert response.status_code == 403
    assert len(site.service.records.show(site.case)["cases"]) == 2  # the filing case and its validity watch only


def test_a_draft_is_kept_in_the_case_shown_again_and_dropped_when_the_task_is_done(site: Site) -> None:
    task = site.open_task("acceptance")
    client = site.client("li.na")
    token = csrf(client.get(f"/tasks/{task['id']}").text)
    saved = client.post(f"/tasks/{task['id']}/draft",
                        data={"csrf_token": token, "decision": "supplement", "reasons": "缺少场地证明（草稿）"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=1")
    again = client.get(saved.headers["location"])
    assert "已暂存" in again.text and "缺少场地证明（草稿）" in again.text
    assert site.service.cases.task(task["id"])["draft"] == {"decision": "supplement", "reasons": "缺少场地证明（草稿）"}

    # Another city's clerk may not save over it; without the token nothing is saved either.
    other = site.client("wang.fang")
    other_token = csrf(other.get("/tasks").text)
    refused = other.post(f"/tasks/{task['id']}/draft", data={"csrf_token": other_token, "reasons": "x"})
    assert refused.status_code == 403
    assert client.post(f"/tasks/{task['id']}/draft", data={"reasons": "y"}).status_code == 403
    assert site.service.cases.task(task["id"])["draft"]["reasons"] == "缺少场地证明（草稿）"

    done = client.post(f"/tasks/{task['id']}", data={"csrf_token": token, "decision": "accept"})
    assert done.status_code == 303
    with site.service.uow() as uow:
        state = uow.repo.instance(site.case).state
    assert "form_draft" not in state and "缺少场地证明（草稿）" not in state
