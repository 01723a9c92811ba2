"""The case page's diagram, a paper application registered by the intake clerk, and an investigation opened by a
supervision officer from the case page — each for those allowed, refused for the others."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import adapters.entrypoints.web.diagram as diagram
from tests.support.web import post_application
from tests.web.conftest import Site, csrf, diagram_data, filed


def test_the_case_page_gives_the_diagram_with_the_current_task_marked(site: Site) -> None:
    """The page hands bpmn-js the case's own version and where the case stands (drawn and checked in real Chromium
    by tests/browser/test_diagram.py); the current step is also written out for a reader without the diagram."""
    page = site.client("li.na").get(f"/cases/{site.case}")
    assert page.status_code == 200
    data = diagram_data(page.text)
    assert data is not None
    assert data["xml"] == site.service.cases.progress(site.case)["bpmn_xml"]
    assert data["marks"]["acceptance"] == "current" and data["focus"] == ["acceptance", "acceptance_overdue"]
    assert data["marks"]["prechecks"] == "done" and "expert_review" not in data["marks"]
    assert "taken" in data["marks"].values()
    assert data["labels"]["current"] == "当前环节" and data["unmarked"] == "未到达"
    assert re.search(r'当前环节：<strong data-bpmn-id="acceptance">受理审查</strong>', page.text)
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in page.text or \
        "npm ci --prefix tools/bpmnio" in page.text


def test_without_the_viewer_the_case_page_says_how_to_install_it(site: Site,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagram, "VIEWER_BUNDLE", Path("/nonexistent/bpmn-navigated-viewer.production.min.js"))
    page = site.client("li.na").get(f"/cases/{site.case}")
    assert page.status_code == 200
    assert "npm ci --prefix tools/bpmnio" in page.text and 'id="diagram-missing"' in page.text
    assert "bpmn-navigated-viewer" not in page.text and diagram_data(page.text) is None
    assert "当前环节：" in page.text and "受理审查" in page.text  # the text still says where the case stands
    monkeypatch.setattr(diagram, "VIEWER_BUNDLE", Path(__file__))  # any existing file stands for the bundle
    page = site.client("li.na").get(f"/cases/{site.case}")
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in page.text
    assert diagram_data(page.text) is not None and 'id="diagram-missing"' not in page.text


def test_the_intake_clerk_registers_a_paper_application(site: Site) -> None:
    client = site.client("li.na")
    form = client.get("/applications/new")
    assert form.status_code == 200 and "登记" in form.text
    token = csrf(form.text)
    registered = post_application(client, token)
    assert registered.status_code == 303, registered.text[-2000:]
    case = registered.headers["location"].split("/cases/")[1].split("?")[0]
    assert case != site.case and site.service.records.show(case)["case_status"] == "applied"
    assert site.service.records.show(case)["history"][0]["actor"] == "li.na"


def test_a_bad_paper_application_is_refused_with_messages_and_nothing_registered(site: Site) -> None:
    client = site.client("li.na")
    token = csrf(client.get("/applications/new").text)
    bad = post_application(client, token, **{"institution[credit_code]": "91510104MA6C8H2K5X"})
    assert bad.status_code == 422 and "统一社会信用代码" in bad.text
    assert [t["case"] for t in site.service.cases.tasks()] == [site.case]


def test_only_intake_clerks_of_the_applications_jurisdiction_register_it(site: Site) -> None:
    for username in ("zhao.lei", "sun.qiang", "qian.jian"):
        assert site.client(username).get("/applications/new").status_code == 403
    other_city = site.client("wang.fang")  # intake, but in Mianyang: the example is a Chengdu application
    token = csrf(other_city.get("/applications/new").text)
    refused = post_application(other_city, token)
    assert refused.status_code == 422 and "不在您的辖区" in refused.text
    assert [t["case"] for t in site.service.cases.tasks()] == [site.case]


def test_a_supervision_officer_opens_an_investigation_from_the_case_page(site: Site) -> None:
    number = filed(site)
    officer = site.client("qian.jian")
    page = officer.get(f"/cases/{site.case}")
    assert "立案调查" in page.text
    assert "备案记录" in page.text and number in page.text and "第 1 期" in page.text
    assert "车工（6-18-01-01）：五级/初级工、四级/中级工、三级/高级工" in page.text  # names, not codes only
    token = csrf(page.text)
    bad = officer.post(f"/cases/{site.case}/violations", data={"ground": "nonsense", "facts": "x", "csrf_token": token})
    assert bad.status_code == 422 and "未知的违规情形" in bad.text
    opened = officer.post(f"/cases/{site.case}/violations",
                          data={"ground": "beyond_scope", "facts": "超出备案职业开展评价", "csrf_token": token})
    assert opened.status_code == 303
    new_case = opened.headers["location"].split("/cases/")[1]
    assert new_case in [c["case"] for c in site.service.records.show(number)["cases"]]


def test_others_cannot_open_an_investigation(site: Site) -> None:
    filed(site)
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
