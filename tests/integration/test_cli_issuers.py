"""`beian issuer` (who issues and signs an authority's documents, their numbers, the seal) and `beian correct` (a
correction notice for a served document), as typed, including what they refuse: in Chinese, with nothing changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Beian
from tests.support.material_files import png_image

RECEIVED = "2026-10-12T10:00:00+08:00"


def test_an_issuer_is_set_and_sealed_and_the_next_document_carries_it(beian: Beian, write_json: Any, tmp_path: Path,
                                                                       application: dict[str, Any]) -> None:
    beian.json("init")
    listed = beian.json("issuer", "list", "--province", "51")
    chengdu = next(i for i in listed if i["authority"] == "510100")
    assert (chengdu["name"], chengdu["configured"]) == ("成都市职业技能鉴定指导中心", False)

    refused = beian("issuer", "set", "510100", "--format", "{short}〔{year}〕", expect=4)
    assert "须含 {year} 和 {seq}" in refused.err
    assert beian("issuer", "set", "510105", "--name", "某", expect=4).err.count("不是备案机关的代码") == 1
    number_format = "{short}{kind}〔{year}〕{seq:03d}号"
    saved = beian.json("issuer", "set", "510100", "--short", "成人社鉴", "--format", number_format)
    assert saved["configured"] and saved["name"] == "成都市职业技能鉴定指导中心"  # kept what was not given
    (tmp_path / "seal.png").write_bytes(png_image(300, 300))
    assert beian.json("issuer", "seal", "510100", str(tmp_path / "seal.png"))["has_seal"] is True

    case = beian.json("apply", write_json(application, "application.json"), "--received-at", RECEIVED,
                      now=RECEIVED)["case"]
    [task] = beian.json("tasks", "--case", case)
    beian.json("complete", task["id"], "--data", json.dumps({"decision": "reject", "reasons": "不属于本级受理范围"}),
               now="2026-10-13T10:00:00+08:00")
    [document] = beian.json("show", case)["documents"]
    assert document["number"] == "成人社鉴不受〔2026〕001号"
    html = beian("document", str(document["id"]), as_json=False).out
    assert 'src="data:image/png;base64,' in html

    refused = beian("correct", str(document["id"]), "--item", "\u202e", now="2026-10-14T10:00:00+08:00", expect=4)
    assert "改变文字显示方向" in refused.err
    corrected = beian.json("correct", str(document["id"]), "--item", "收到申请日期应为2026年10月12日",
                           now="2026-10-14T10:00:00+08:00")
    shown = {d["id"]: d for d in beian.json("show", case)["documents"]}
    assert shown[corrected["document_id"]]["number"] == "成人社鉴更〔2026〕001号"
    assert shown[corrected["document_id"]]["corrects"] == document["id"]
