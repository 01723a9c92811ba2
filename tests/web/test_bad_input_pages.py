"""The web app's answers to the bad input of issue 12, each a Chinese page: numbers in links out of range, and a
diagram over the size limit at the upload and at the modeller (refused, nothing deployed), a body over the limit
refused before it is read. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from adapters.entrypoints.web.guards import DIAGRAM_BODY_BYTES
from tasks.limits import MAX_DIAGRAM_BYTES
from tests.conftest import ROOT
from tests.web.conftest import PASSWORD, Site, csrf, diagram_data
from workflows.users import add_user

OWNER = "zhou.liu"
FILING = ROOT / "bpmn" / "filing_application.bpmn"


def _message(page: str) -> str:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    assert found, page[:500]
    return html.unescape(found.group(1))


def test_numbers_in_links_out_of_range_get_a_chinese_page(site: Site) -> None:
    client = site.client("li.na")
    page = client.get("/tasks?page_number=99999999999999999999")
    assert page.status_code == 400
    assert _message(page.text) == "网址中的页码（page_number）应不大于 1000000；未作任何更改"
    for path in ("/documents/99999999999999999999", "/documents/99999999999999999999.pdf", "/documents/0.pdf"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "文书编号（document_id）" in _message(answer.text)
    assert client.get("/tasks?page_number=-3").status_code == 200  # the first page, as before


def _owner(site: Site) -> tuple[TestClient, str]:
    add_user(site.service, OWNER, "周流程", PASSWORD, ["process_owner"], "510000", actor="test")
    client = site.client(OWNER)
    return client, csrf(client.get("/processes").text)


def _padded() -> str:
    """The bundled filing diagram, valid in every way but its size."""
    xml = FILING.read_text(encoding="utf-8")
    return xml + "<!--" + "x" * (MAX_DIAGRAM_BYTES - len(xml.encode())) + "-->"


def _versions(site: Site) -> list[int]:
    return [v["version"] for v in site.service.processes.versions("filing_application")]


def test_a_diagram_over_the_limit_is_refused_at_the_upload_and_the_modeller(site: Site) -> None:
    client, token = _owner(site)
    xml = _padded()
    upload = client.post("/processes/filing_application/upload", data={"csrf_token": token},
                         files=[("bpmn", ("filing_application.bpmn", xml.encode(), "application/xml"))])
    assert upload.status_code == 422
    assert "BPMN 文件 filing_application.bpmn 过大，超过上限 5 MB，不能检查或部署" in html.unescape(upload.text)
    assert 'name="candidate"' not in upload.text  # no deploy button
    assert diagram_data(upload.text) is None  # not drawn: the finding above says why
    headers = {"X-CSRF-Token": token}
    checked = client.post("/processes/filing_application/modeller/check", json={"xml": xml}, headers=headers)
    assert checked.status_code == 200
    assert checked.json()["deployable"] is False
    assert [f["code"] for f in checked.json()["findings"]] == ["too-large"]
    deployed = client.post("/processes/filing_application/modeller/deploy", json={"xml": xml}, headers=headers)
    assert deployed.status_code == 422 and "未部署" in deployed.json()["error"]
    assert _versions(site) == [1]


def test_an_upload_over_the_body_limit_is_refused_before_it_is_read(site: Site) -> None:
    client, token = _owner(site)
    body = b"<" * (DIAGRAM_BODY_BYTES + 1)
    answer = client.post("/processes/filing_application/upload", data={"csrf_token": token},
                         files=[("bpmn", ("filing_application.bpmn", body, "application/xml"))])
    assert answer.status_code == 413
    assert _message(answer.text) == "提交的内容过大（11.0 MB），上限为 11 MB，未作任何更改"
    assert _versions(site) == [1]
