"""Documents as administrative acts in the browser: the administrator keeps each authority's issuer (name, on whose
behalf, document numbers, seal) and the next document is issued so; a served document is corrected by a correction
notice from its own authority's caseworkers, and never changes itself."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.support.material_files import png_image
from tests.web.conftest import Site, csrf


def _reject(site: Site, reasons: str = "不属于本级受理范围") -> dict[str, Any]:
    task = site.open_task("acceptance")
    site.service.cases.complete(task["id"], {"decision": "reject", "reasons": reasons}, actor="li.na")
    [document] = site.service.records.show(site.case)["documents"]
    return document


def _edit(site: Site, authority: str, **fields: str) -> object:
    client = site.client("admin")
    page = client.get(f"/admin/issuers?edit={authority}")
    assert page.status_code == 200
    current = {"name": "成都市职业技能鉴定指导中心", "on_behalf_of": "成都市人力资源和社会保障局",
               "short_name": "成人社鉴", "number_format": "{short}{kind}〔{year}〕{seq:03d}号"}
    return client.post(f"/admin/issuers/{authority}", data={"csrf_token": csrf(page.text), **current, **fields})


def test_the_administrator_sets_an_issuer_and_the_next_document_is_issued_so(site: Site) -> None:
    page = site.client("admin").get("/admin/issuers").text
    assert "四川省成都市" in page and "成都市职业技能鉴定指导中心" in page and "成都技鉴不受〔" in page
    saved = _edit(site, "510100", name="成都市职业技能鉴定中心")
    assert saved.status_code == 303
    listed = site.client("admin").get(saved.headers["location"]).text
    assert "已保存 四川省成都市 的发文机关：成都市职业技能鉴定中心" in listed

    document = _reject(site)
    assert document["number"].startswith("成人社鉴不受〔") and document["number"].endswith("〕001号")
    html = site.service.records.document(document["id"])["html"]
    assert '<p class="signature-authority">成都市职业技能鉴定中心</p>' in html
    assert "（受成都市人力资源和社会保障局委托）" in html
    assert "如不服本决定，可以自收到本决定之日起六十日内向成都市人民政府申请行政复议" in html
    history = site.service.records.show(site.case)["history"]
    assert any(h["action"] == "document_issued" and document["number"] in h["summary"] for h in history)


def test_only_an_administrator_of_the_province_sets_issuers(site: Site) -> None:
    assert site.client("li.na").get("/admin/issuers").status_code == 403
    client = site.client("admin")
    token = csrf(client.get("/admin/issuers").text)
    form = {"csrf_token": token, "name": "某局", "on_behalf_of": "", "short_name": "某",
            "number_format": "{short}〔{year}〕{seq}号"}
    refused = client.post("/admin/issuers/110108", data=form)
    assert refused.status_code == 403 and "本省份" in refused.text
    assert site.service.issuers.get("110108")["configured"] is False


def test_a_bad_setting_is_refused_with_its_reason_and_keeps_nothing(site: Site) -> None:
    refused = _edit(site, "510100", number_format="{short}{seq.__class__}", short_name="")
    assert refused.status_code == 422
    assert "机关代字不能为空" in refused.text and "文号格式含无法识别的占位符" in refused.text
    assert 'value="{short}{seq.__class__}"' in refused.text  # what was typed stays in the form
    assert site.service.issuers.get("510100")["configured"] is False


def test_a_seal_is_kept_after_the_issuer_is_set_and_printed_on_the_next_document(site: Site) -> None:
    client = site.client("admin")
    token = csrf(client.get("/admin/issuers?edit=510100").text)
    seal = [("seal", ("印章.png", png_image(400, 400), "image/png"))]
    before = client.post("/admin/issuers/510100/seal", data={"csrf_token": token}, files=seal)
    assert before.status_code == 422 and "请先保存发文机关名称" in before.text
    assert _edit(site, "510100").status_code == 303
    token = csrf(client.get("/admin/issuers?edit=510100").text)
    not_png = client.post("/admin/issuers/510100/seal", data={"csrf_token": token},
                          files=[("seal", ("印章.png", b"GIF89a" + b"\0" * 64, "image/png"))])
    assert not_png.status_code == 422 and "须为 PNG 格式" in not_png.text
    assert client.post("/admin/issuers/510100/seal", data={"csrf_token": token}, files=seal).status_code == 303
    assert site.service.issuers.get("510100")["has_seal"] is True
    html = site.service.records.document(_reject(site)["id"])["html"]
    assert '<div class="signature sealed">' in html and 'src="data:image/png;base64,' in html


def test_a_served_document_is_corrected_by_a_new_notice_and_stays_as_it_was(site: Site) -> None:
    document = _reject(site)
    original = site.service.records.document(document["id"])
    clerk = site.client("li.na")
    page = clerk.get(f"/cases/{site.case}").text
    assert f'action="/documents/{document["id"]}/corrections"' in page
    assert f'action="/documents/{document["id"]}/corrections"' not in site.client("zhao.lei").get(
        f"/cases/{site.case}").text
    token = csrf(page)
    refused = site.client("zhao.lei").post(f"/documents/{document['id']}/corrections",
                                           data={"csrf_token": token, "corrections": "x"})
    assert refused.status_code in (403, 422)
    empty = clerk.post(f"/documents/{document['id']}/corrections", data={"csrf_token": token, "corrections": " \n"})
    assert empty.status_code == 422 and "请写明更正的内容" in empty.text
    done = clerk.post(f"/documents/{document['id']}/corrections", data={
        "csrf_token": token, "corrections": "“不予受理理由”中“本级”应为“本机关”\n收到申请日期应为2026年9月24日"})
    assert done.status_code == 303
    documents = site.service.records.show(site.case)["documents"]
    [correction] = [d for d in documents if d["kind"] == "correction_notice"]
    assert correction["corrects"] == document["id"] and correction["number"].startswith("成都技鉴更〔")
    html = site.service.records.document(correction["id"])["html"]
    assert f"出具的《不予受理通知书》（{document['number']}）有误" in html
    assert "收到申请日期应为2026年9月24日" in html
    assert site.service.records.document(document["id"])["html"] == original["html"]
    assert "更正文书 《不予受理通知书》" in clerk.get(f"/cases/{site.case}").text


def test_the_database_refuses_to_change_a_served_document(site: Site) -> None:
    document = _reject(site)
    for statement in ("UPDATE documents SET html = 'forged' WHERE id = :id", "DELETE FROM documents WHERE id = :id"):
        with site.service.engine.connect() as connection, pytest.raises(DBAPIError):
            connection.execute(text(statement), {"id": document["id"]})
            connection.commit()
