"""The process owners' pages: who may open them, the processes and versions, uploading a new version (checked, the
findings drawn on the diagram, deployed only when clean, audited), the difference between two versions and the
migration of a running case, and the modeller's JSON endpoints. Against the real service on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import adapters.entrypoints.web.processes.pages as processes
from adapters.outside.db import AuditEvent
from tests.conftest import ROOT
from tests.support.diagram_edits import without
from tests.web.conftest import PASSWORD, Site, csrf, diagram_data
from workflows.definitions import read_source
from workflows.users import add_user

OWNER = "zhou.liu"
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
FILING = ROOT / "bpmn" / "filing_application.bpmn"


@pytest.fixture
def owner_site(site: Site) -> Site:
    add_user(site.service, OWNER, "周流程", PASSWORD, ["process_owner"], "510000", actor="test")
    return site


def _owner(site: Site) -> TestClient:
    return site.client(OWNER)


def _token(client: TestClient, path: str = "/processes") -> str:
    return csrf(client.get(path).text)


def _text(page: str) -> str:
    """The visible text of a page, whitespace collapsed (for assertions on what a person reads)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _upload(client: TestClient, process: str, name: str, xml: str, forms: dict[str, str] | None = None,
            token: str | None = None) -> Any:
    files: list[tuple[str, tuple[str, bytes, str]]] = [("bpmn", (name, xml.encode("utf-8"), "application/xml"))]
    for form_name, text in (forms or {}).items():
        files.append(("forms", (form_name, text.encode("utf-8"), "application/json")))
    return client.post(f"/processes/{process}/upload", files=files,
                       data={"csrf_token": token if token is not None else _token(client)})


def _diagram_marks(page: str) -> dict[str, str]:
    """Element id → mark kind, as the page gives them to its bpmn-js viewer (drawn in tests/browser/test_diagram.py)."""
    data = diagram_data(page)
    assert data is not None, "no diagram on the page"
    return dict(data["marks"])


def _deploy_payload(page: str) -> str:
    match = re.search(r'name="candidate" value="([^"]+)"', page)
    assert match, "no deploy form on the page"
    return html.unescape(match.group(1))


def _renamed_acceptance() -> str:
    xml = FILING.read_text(encoding="utf-8")
    changed = xml.replace('<bpmn:userTask id="acceptance" name="受理审查">', '<bpmn:userTask id="acceptance" '
                          'name="受理审查（新）">', 1)
    assert changed != xml
    return changed


# --- access ------------------------------------------------------------------------------------------------------

PAGES = ["/processes", "/processes/filing_application", "/processes/filing_application/versions/1.bpmn",
         "/processes/filing_application/upload", "/processes/filing_application/modeller",
         "/processes/filing_application/migration?from_version=1&to_version=1"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_sign_in(owner_site: Site, path: str) -> None:
    response = owner_site.client().get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/processes")


@pytest.mark.parametrize("path", PAGES)
def test_a_caseworker_is_refused_with_the_reason(owner_site: Site, path: str) -> None:
    response = owner_site.client("li.na").get(path)
    assert response.status_code == 403
    assert "只有流程管理员可以" in _text(response.text)


def test_the_menu_link_is_for_process_owners_only(owner_site: Site) -> None:
    assert 'href="/processes"' not in owner_site.client("admin").get("/tasks").text
    assert 'href="/processes"' in _owner(owner_site).get("/tasks").text


def test_posts_without_the_csrf_token_change_nothing(owner_site: Site) -> None:
    client = _owner(owner_site)
    response = _upload(client, "filing_application", "filing_application.bpmn", _renamed_acceptance(), token="forged")
    assert response.status_code == 403 and "安全校验未通过" in _text(response.text)

    # A deploy form replayed from another site (valid payload, no token) is refused as well.
    checked = _upload(client, "filing_application", "filing_application.bpmn", _renamed_acceptance())
    payload = _deploy_payload(checked.text)
    response = client.post("/processes/filing_application/deploy", data={"candidate": payload})
    assert response.status_code == 403
    response = client.post("/processes/filing_application/migration", data={"from_version": "1", "to_version": "2"})
    assert response.status_code == 403

    # The modeller's JSON calls need the token in their header.
    for url in ("/processes/filing_application/modeller/check", "/processes/filing_application/modeller/deploy"):
        response = client.post(url, json={"xml": _renamed_acceptance()})
        assert response.status_code == 403 and "安全校验未通过" in response.json()["error"]
        response = client.post(url, json={"xml": _renamed_acceptance()}, headers={"X-CSRF-Token": "forged"})
        assert response.status_code == 403
    assert [v["version"] for v in owner_site.service.processes.versions("filing_application")] == [1]


def test_the_modeller_endpoints_refuse_a_caseworker_in_json(owner_site: Site) -> None:
    client = owner_site.client("li.na")
    token = _token(client, "/tasks")
    response = client.post("/processes/filing_application/modeller/deploy", json={"xml": _renamed_acceptance()},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 403 and "只有流程管理员可以" in response.json()["error"]
    anonymous = owner_site.client().post("/processes/filing_application/modeller/check", json={"xml": "<x/>"})
    assert anonymous.status_code == 401
    assert [v["version"] for v in owner_site.service.processes.versions("filing_application")] == [1]


# --- processes and versions ------------------------------------------------------------------------------------

def test_the_process_list_names_every_deployed_process(owner_site: Site) -> None:
    page = _owner(owner_site).get("/processes")
    assert page.status_code == 200
    row = re.search(r"<tr>\s*<td><a href=\"/processes/filing_application\">.*?</tr>", page.text, re.S)
    assert row, "filing_application is not listed"
    cells = [_text(c).strip() for c in re.findall(r"<td>(.*?)</td>", row.group(0), re.S)]
    assert cells[0] == "备案申请" and cells[1] == "filing_application" and cells[2].startswith("第 1 版")
    assert cells[4] == "1"  # the case of the fixture is running
    for process in ("renewal", "sanction", "voluntary_termination"):
        assert f'href="/processes/{process}"' in page.text


def test_the_version_page_shows_versions_diagram_and_download(owner_site: Site) -> None:
    client = _owner(owner_site)
    (version,) = owner_site.service.processes.versions("filing_application")
    page = client.get("/processes/filing_application")
    text = _text(page.text)
    assert page.status_code == 200
    assert "第 1 版" in text and "最新" in text and version["sha256"][:12] in text and "1 / 1" in text
    data = diagram_data(page.text)
    assert data is not None and data["xml"] == FILING.read_text(encoding="utf-8") and data["marks"] == {}
    assert "acceptance.schema.json" in text

    download = client.get("/processes/filing_application/versions/1.bpmn")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.text == FILING.read_text(encoding="utf-8")

    assert client.get("/processes/filing_application?version=9").status_code == 404
    assert client.get("/processes/no_such_process").status_code == 404


# --- uploading -------------------------------------------------------------------------------------------------

def test_a_broken_fixture_is_refused_with_its_element_ids(owner_site: Site) -> None:
    owner_site.service.processes.deploy(read_source(FIXTURES / "clean.bpmn"), actor="test")
    client = _owner(owner_site)
    expectations = {  # fixture → (element id, code) the page must show
        "gateway_condition": ("flow_supplement", "gateway-condition"),
        "lane_unknown": ("review", "lane-role"),
        "operator_unknown": ("escalate_review", "operator-unknown"),
    }
    for fixture, (element_id, code) in expectations.items():
        xml = (FIXTURES / f"{fixture}.bpmn").read_text(encoding="utf-8").replace(f'id="{fixture}"', 'id="clean"', 1)
        response = _upload(client, "clean", f"{fixture}.bpmn", xml)
        assert response.status_code == 422, fixture
        row = re.search(rf'<tr class="finding-error" data-element-id="{element_id}">(.*?)</tr>', response.text, re.S)
        assert row, f"{fixture}: {element_id} not listed"
        assert code in row.group(1)
        assert 'name="candidate"' not in response.text  # no deploy button
        assert "没有图形信息" in _text(response.text)  # the fixtures carry no BPMN DI
        assert diagram_data(response.text) is None

    # Not XML at all: the finding is listed at the top, and there is no diagram.
    response = _upload(client, "clean", "xml_syntax.bpmn", (FIXTURES / "xml_syntax.bpmn").read_text(encoding="utf-8"))
    assert response.status_code == 422
    general = re.search(r'<ul class="findings general">(.*?)</ul>', response.text, re.S)
    assert general and "xml-syntax" in general.group(1)
    assert diagram_data(response.text) is None
    assert [v["version"] for v in owner_site.service.processes.versions("clean")] == [1]


def test_findings_are_drawn_on_the_diagram(owner_site: Site) -> None:
    """A bundled file broken in two places: the user task's form is missing (error) and a timer counts calendar
    days (warning); both elements are outlined on the diagram, and the deploy form is withheld."""
    xml = FILING.read_text(encoding="utf-8").replace('value="acceptance.schema.json"', 'value="nowhere.schema.json"',
                                                     1)
    response = _upload(_owner(owner_site), "filing_application", "filing_application (1).bpmn", xml)
    assert response.status_code == 422
    marks = _diagram_marks(response.text)
    assert marks.get("acceptance") == "error"
    assert "nowhere.schema.json" in _text(response.text)
    data = diagram_data(response.text)
    assert data is not None and "nowhere.schema.json" in data["notes"]["acceptance"]
    assert data["focus"][0] == "acceptance" and set(data["focus"]) <= set(marks)
    assert 'name="candidate"' not in response.text


def test_an_upload_of_another_process_is_refused(owner_site: Site) -> None:
    xml = (ROOT / "bpmn" / "renewal.bpmn").read_text(encoding="utf-8")
    response = _upload(_owner(owner_site), "filing_application", "renewal.bpmn", xml)
    assert response.status_code == 422
    assert "process-mismatch" in response.text and "“renewal”" in _text(response.text)
    # A process id deployed nowhere, uploaded on a process's page: refused the same way, not offered as a new process.
    xml = (ROOT / "bpmn" / "filing_application.bpmn").read_text(encoding="utf-8")
    renamed = xml.replace('"filing_application"', '"filing_application_v2"')
    response = _upload(_owner(owner_site), "filing_application", "filing_application.bpmn", renamed)
    assert response.status_code == 422
    assert "process-mismatch" in response.text and "new-process" not in response.text


def test_a_changed_bundled_file_deploys_a_new_version_audited(owner_site: Site) -> None:
    client = _owner(owner_site)
    form = json.loads((ROOT / "bpmn" / "forms" / "acceptance.schema.json").read_text(encoding="utf-8"))
    form["title"] = "受理审查（新表单）"
    checked = _upload(client, "filing_application", "filing_application (1).bpmn", _renamed_acceptance(),
                      forms={"acceptance.schema.json": json.dumps(form, ensure_ascii=False),
                             "unused.schema.json": "{}"})
    assert checked.status_code == 200, _text(checked.text)
    text = _text(checked.text)
    assert "没有错误" in text or "检查通过" in text
    assert "表单 unused.schema.json 未被流程图中的任何环节引用，不随本版本部署" in text  # a warning, not an error
    payload = _deploy_payload(checked.text)
    assert json.loads(base64.b64decode(payload))["forms"]["acceptance.schema.json"]["title"] == "受理审查（新表单）"

    deployed = client.post("/processes/filing_application/deploy", data={"candidate": payload,
                                                                         "csrf_token": _token(client)})
    assert deployed.status_code == 303
    assert deployed.headers["location"] == "/processes/filing_application?version=2&deployed=2"
    versions = owner_site.service.processes.versions("filing_application")
    assert [(v["version"], v["deployed_by"], v["file"]) for v in versions] == [
        (1, "system", "filing_application.bpmn"), (2, OWNER, "filing_application.bpmn")]
    page = client.get(deployed.headers["location"])
    assert "已部署为第 2 版" in _text(page.text)
    with owner_site.service.uow() as uow:
        events = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "definition_deployed",
                                                                   AuditEvent.actor == OWNER)))
        (event,) = events
        assert event.detail["version"] == 2 and event.detail["sha256"] == versions[1]["sha256"]
        stored = uow.repo.latest_definition("filing_application")
        assert stored.forms["acceptance.schema.json"]["title"] == "受理审查（新表单）"
        assert "受理审查（新）" in stored.bpmn_xml
        # The forms that were not uploaded came from version 1.
        assert stored.forms["expert_review.schema.json"] == uow.repo.definitions("filing_application")[0].forms[
            "expert_review.schema.json"]

    # The same file again: nothing new is deployed.
    again = client.post("/processes/filing_application/deploy", data={"candidate": payload,
                                                                       "csrf_token": _token(client)})
    assert again.headers["location"] == "/processes/filing_application?version=2&unchanged=2"
    assert len(owner_site.service.processes.versions("filing_application")) == 2


def test_a_tampered_deploy_payload_is_checked_again(owner_site: Site) -> None:
    client = _owner(owner_site)
    broken = FILING.read_text(encoding="utf-8").replace('value="acceptance.schema.json"',
                                                        'value="nowhere.schema.json"', 1)
    payload = base64.b64encode(json.dumps({"xml": broken, "forms": {}, "sent_name": "x.bpmn"}).encode()).decode()
    response = client.post("/processes/filing_application/deploy", data={"candidate": payload,
                                                                         "csrf_token": _token(client)})
    assert response.status_code == 422 and "未部署" in _text(response.text)
    garbage = client.post("/processes/filing_application/deploy",
                          data={"candidate": "!!", "csrf_token": _token(client)})
    assert garbage.status_code == 422
    assert len(owner_site.service.processes.versions("filing_application")) == 1


# --- diff and migration ----------------------------------------------------------------------------------------

def _change_rows(page: str, section_id: str) -> list[tuple[str, ...]]:
    """The rows (改动项, old value, new value) of one change table of the diff page, as a person reads them."""
    section = re.search(rf'<section class="[a-z-]+" id="{re.escape(section_id)}"[^>]*>(.*?)</section>', page, re.S)
    assert section, _text(page)
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th><td class=\"before\">(.*?)</td><td class=\"after\">(.*?)</td>"
                      r"</tr>", section.group(1), re.S)
    return [tuple(_text(cell).strip() for cell in row) for row in rows]


def _old_diagram(page: str) -> dict[str, Any]:
    """The old version's diagram that the diff page draws beside the new one."""
    found = re.findall(r'<script type="application/json" id="diagram-old-data">(.*?)</script>', page, re.S)
    assert len(found) == 1, "no old diagram on the page"
    data: dict[str, Any] = json.loads(found[0])
    return data


def _deploy(client: TestClient, xml: str, forms: dict[str, str] | None = None) -> None:
    checked = _upload(client, "filing_application", "filing_application.bpmn", xml, forms=forms)
    assert checked.status_code == 200, _text(checked.text)
    response = client.post("/processes/filing_application/deploy",
                           data={"candidate": _deploy_payload(checked.text), "csrf_token": _token(client)})
    assert response.status_code == 303, _text(response.text)


def _deploy_renamed(site: Site) -> None:
    client = _owner(site)
    checked = _upload(client, "filing_application", "filing_application.bpmn", _renamed_acceptance())
    response = client.post("/processes/filing_application/deploy",
                           data={"candidate": _deploy_payload(checked.text), "csrf_token": _token(client)})
    assert response.status_code == 303


def test_diff_between_two_versions(owner_site: Site) -> None:
    _deploy_renamed(owner_site)
    page = _owner(owner_site).get("/processes/filing_application/diff?from_version=1&to_version=2")
    assert page.status_code == 200
    changed = re.search(r'<table class="diff changed">(.*?)</table>', page.text, re.S)
    assert changed, _text(page.text)
    row = re.search(r'<tr data-bpmn-id="acceptance">(.*?)</tr>', changed.group(1), re.S)
    assert row, _text(changed.group(1))
    cells = [_text(c).strip() for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)]
    assert cells[1:] == ["acceptance", "用户任务", "名称", "1"]  # the name changed; the fixture's case stands on it
    # The change with both values, in the element's own table.
    assert _change_rows(page.text, "change-acceptance") == [("名称", "受理审查", "受理审查（新）")]
    assert _diagram_marks(page.text).get("acceptance") == "changed"
    assert "名称：受理审查 → 受理审查（新）" in (diagram_data(page.text) or {})["notes"]["acceptance"]
    # Beside it, version 1's diagram: nothing was removed, so nothing is marked there.
    old = _old_diagram(page.text)
    assert old["marks"] == {} and old["title"].startswith("第 1 版")
    # The case of the fixture stands on the changed task: the page offers its migration.
    assert "/processes/filing_application/migration?from_version=1&amp;to_version=2" in page.text


def test_diff_page_shows_removed_elements_on_the_old_diagram_and_scripts_and_form_fields_in_full(
        owner_site: Site) -> None:
    client = _owner(owner_site)
    xml = FILING.read_text(encoding="utf-8")
    script = "region['acceptance_days'])</bpmn:script>"
    assert xml.count(script) == 1
    # Version 2: the acceptance deadline's escalation path is taken out, a script gets a line more, and the
    # acceptance form a field more.
    gone = ("acceptance_overdue", "escalate_acceptance", "escalation_recorded",
            "flow_acceptance_overdue_to_escalate_acceptance", "flow_escalate_acceptance_to_escalation_recorded")
    edited = without(xml.replace(script, script.replace("</bpmn:script>", "\nnote = '已计算'</bpmn:script>")), gone)
    form = json.loads((ROOT / "bpmn" / "forms" / "acceptance.schema.json").read_text(encoding="utf-8"))
    form["properties"]["remark"] = {"title": "备注", "type": "string"}
    _deploy(client, edited, forms={"acceptance.schema.json": json.dumps(form, ensure_ascii=False)})

    page = client.get("/processes/filing_application/diff?from_version=1&to_version=2")
    assert page.status_code == 200
    old, new = _old_diagram(page.text), diagram_data(page.text)
    assert old["marks"] == {"acceptance_overdue": "removed", "escalate_acceptance": "removed",
                            "escalation_recorded": "removed"}
    assert new is not None and new["marks"] == {"acceptance": "changed", "set_acceptance_deadline": "changed"}
    # The task the timer was attached to is changed by that (a case standing on it cannot move as it is), and its
    # predecessor is not, though SpiffWorkflow rewires both.
    assert _change_rows(page.text, "change-acceptance") == [("附加的边界事件", "“受理期限届满”（acceptance_overdue）",
                                                             "（无）")]
    # The script in full, old and new, as written.
    rows = _change_rows(page.text, "change-set_acceptance_deadline")
    assert [row[0] for row in rows] == ["脚本"] and rows[0][2].endswith("note = '已计算'")
    assert "<pre>acceptance_deadline = within_working_days(" in page.text
    # The form, field by field.
    assert _change_rows(page.text, "form-acceptance.schema.json") == [("类型", "（无）", "文本"),
                                                                       ("是否必填", "（无）", "选填")]
    assert "新增字段“备注”（ remark ）" in _text(page.text)
    # Both diagrams, the viewer loaded once.
    assert page.text.count('src="/static/diagram.js"') == (1 if processes.viewer_installed() else 0)


def test_migration_preview_then_apply(owner_site: Site) -> None:
    _deploy_renamed(owner_site)
    client = _owner(owner_site)
    preview = client.get("/processes/filing_application/migration?from_version=1&to_version=2")
    assert preview.status_code == 200
    section = re.search(rf'<section class="migration-case migratable" data-case="{owner_site.case}">(.*?)</section>',
                        preview.text, re.S)
    assert section, _text(preview.text)
    assert "可迁移" in _text(section.group(1)) and "acceptance" in section.group(1)
    assert "已申请（受理审查中）" in _text(section.group(1))  # the case status, in Chinese
    assert "待办" in _text(section.group(1))
    assert owner_site.service.cases.progress(owner_site.case)["version"] == 1  # a preview changes nothing

    applied = client.post("/processes/filing_application/migration",
                          data={"from_version": "1", "to_version": "2", "csrf_token": csrf(preview.text)})
    assert applied.status_code == 200
    assert f"已迁移 1 件案件：{owner_site.case}" in _text(applied.text)
    assert owner_site.service.cases.progress(owner_site.case)["version"] == 2
    (task,) = owner_site.service.cases.tasks(owner_site.case)
    assert task["bpmn_id"] == "acceptance"
    versions = {v["version"]: v["running"] for v in owner_site.service.processes.versions("filing_application")}
    assert versions == {1: 0, 2: 1}


def test_migration_to_the_same_version_is_explained(owner_site: Site) -> None:
    page = _owner(owner_site).get("/processes/filing_application/migration?from_version=1&to_version=1")
    assert page.status_code == 422 and "相同" in _text(page.text)


# --- the modeller ----------------------------------------------------------------------------------------------

def test_the_modeller_page_loads_the_bundle_or_says_how_to_install_it(owner_site: Site,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    client = _owner(owner_site)
    monkeypatch.setattr(processes, "BUNDLE", tmp_path / "missing.js")
    page = client.get("/processes/filing_application/modeller")
    assert page.status_code == 200
    assert "npm ci --prefix tools/bpmnio" in _text(page.text) and "beian-modeller/modeller.js" not in page.text
    monkeypatch.setattr(processes, "BUNDLE", Path(__file__))  # any existing file stands for the installed bundle
    page = client.get("/processes/filing_application/modeller")
    assert "/static/vendor/beian-modeller/modeller.js" in page.text
    catalogue = json.loads(html.unescape(re.search(
        r'<script type="application/json" id="modeller-catalogue">(.*?)</script>', page.text, re.S).group(1)))
    assert {"key": "intake", "label": "受理人员"} in catalogue["roles"]
    assert "系统" not in [role["label"] for role in catalogue["roles"]], "nobody does a task in the system's lane"
    acceptance = next(f for f in catalogue["forms"] if f["file"] == "acceptance.schema.json")
    assert acceptance["title"] == "受理审查" and acceptance["schema"]["properties"]["decision"]
    assert all(not f["file"].endswith(".message.schema.json") for f in catalogue["forms"])
    assert {"name": "escalate", "parameters": [{"name": "reason", "required": True},
                                               {"name": "article", "required": False}]} in catalogue["operators"]
    assert 'data-xml-url="/processes/filing_application/versions/1.bpmn"' in page.text
    assert f'data-csrf-token="{csrf(page.text)}"' in page.text


def test_the_modeller_check_and_deploy_endpoints(owner_site: Site) -> None:
    client = _owner(owner_site)
    headers = {"X-CSRF-Token": _token(client)}
    broken = FILING.read_text(encoding="utf-8").replace('value="acceptance.schema.json"',
                                                        'value="nowhere.schema.json"', 1)
    answer = client.post("/processes/filing_application/modeller/check", json={"xml": broken}, headers=headers)
    assert answer.status_code == 200
    found = answer.json()
    assert found["errors"] >= 1 and not found["deployable"]
    (missing,) = [f for f in found["findings"] if f["element_id"] == "acceptance"]
    assert missing["severity"] == "error" and missing["on_diagram"] and "nowhere.schema.json" in missing["message"]

    refused = client.post("/processes/filing_application/modeller/deploy", json={"xml": broken}, headers=headers)
    assert refused.status_code == 422 and "未部署" in refused.json()["error"]
    assert len(owner_site.service.processes.versions("filing_application")) == 1

    done = client.post("/processes/filing_application/modeller/deploy", json={"xml": _renamed_acceptance()},
                       headers=headers)
    assert done.status_code == 200, done.json()
    assert done.json()["version"] == 2 and done.json()["deployed"] is True
    assert done.json()["url"] == "/processes/filing_application?version=2&deployed=2"
    assert owner_site.service.processes.versions("filing_application")[1]["deployed_by"] == OWNER

    bad = client.post("/processes/filing_application/modeller/check", content=b"not json", headers=headers)
    assert bad.status_code == 400
    odd = client.post("/processes/filing_application/modeller/check", json={"xml": broken, "forms": []},
                      headers=headers)
    assert odd.status_code == 400


def test_forms_from_the_modellers_form_editor_are_checked_and_deployed_with_the_diagram(owner_site: Site) -> None:
    client = _owner(owner_site)
    headers = {"X-CSRF-Token": _token(client)}
    xml = FILING.read_text(encoding="utf-8").replace('value="acceptance.schema.json"', 'value="intake.schema.json"', 1)
    form = {"title": "受理（网页编辑）", "type": "object", "additionalProperties": False, "required": ["decision"],
            "properties": {"decision": {"title": "决定", "type": "string",
                                        "oneOf": [{"const": "accept", "title": "受理"}]}}}
    broken = {**form, "required": "decision"}  # not a JSON Schema
    checked = client.post("/processes/filing_application/modeller/check",
                          json={"xml": xml, "forms": {"intake.schema.json": broken, "notes.txt": form}},
                          headers=headers).json()
    codes = {(f["code"], f["file"]) for f in checked["findings"]}
    assert ("form-invalid", "filing_application.bpmn") in codes and ("upload", "notes.txt") in codes
    assert not checked["deployable"]
    # A form made in the editor but chosen on no task is not deployed: said as a warning, not dropped without a word.
    spare = client.post("/processes/filing_application/modeller/check",
                        json={"xml": xml, "forms": {"intake.schema.json": form, "spare.schema.json": form}},
                        headers=headers).json()
    (unused,) = [f for f in spare["findings"] if f["code"] == "form-unused"]
    assert unused["file"] == "spare.schema.json" and unused["severity"] == "warning" and spare["deployable"]
    assert "未被流程图中的任何环节引用" in unused["message"]
    done = client.post("/processes/filing_application/modeller/deploy",
                       json={"xml": xml, "forms": {"intake.schema.json": form}}, headers=headers)
    assert done.status_code == 200, done.json()
    assert owner_site.service.processes.version("filing_application", 2)["forms"]["intake.schema.json"] == form


def test_the_reported_expression_escape_is_refused_by_upload_and_modeller(owner_site: Site) -> None:
    """The escape found by the security review (a match statement's class pattern reaching str.format) and an
    endless loop, uploaded as a process owner would: both are marked on their element and nothing is deployed."""
    script = "acceptance_deadline = within_working_days(acceptance_clock_start(received_at), region['acceptance_days'])"
    escape = (script + "\nmatch within_working_days:\n    case str(format=f):\n"
              "        leak = f('{0.__globals__[load_settings].__globals__[os].environ[BEIAN_WEB_SECRET]}', "
              "within_working_days)")
    endless = "10 ** 10 ** 10 &gt; 0"
    client = _owner(owner_site)
    for xml, element_id, code in (
            (FILING.read_text(encoding="utf-8").replace(script, escape, 1), "set_acceptance_deadline",
             "expression-forbidden"),
            (FILING.read_text(encoding="utf-8").replace("acceptance['decision'] == 'accept'", endless, 1),
             "flow_accepted", "expression-limit")):
        response = _upload(client, "filing_application", "filing_application.bpmn", xml)
        assert response.status_code == 422
        row = re.search(rf'<tr class="finding-error" data-element-id="{element_id}">(.*?)</tr>', response.text, re.S)
        assert row and code in row.group(1), element_id
        assert _diagram_marks(response.text).get(element_id) == "error"
        assert 'name="candidate"' not in response.text
        headers = {"X-CSRF-Token": _token(client)}
        refused = client.post("/processes/filing_application/modeller/deploy", json={"xml": xml}, headers=headers)
        assert refused.status_code == 422 and "未部署" in refused.json()["error"]
    assert len(owner_site.service.processes.versions("filing_application")) == 1
