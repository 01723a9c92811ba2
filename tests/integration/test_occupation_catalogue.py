"""The occupation catalogue as an administrator loads it and as the pre-check uses it (`beian catalogue`): without a
catalogue the pre-check says it could not check; with one, access-controlled and unknown occupations reach the
clerk as failed checks with the region's article; a bad file changes nothing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.conftest import Beian
from tests.support.scenarios import apply


def _precheck(beian: Beian, case: str) -> dict[str, Any]:
    [task] = beian.json("tasks", "--case", case)
    return dict(task["context"]["precheck"])


def test_the_catalogue_reaches_the_clerk_through_the_precheck(beian: Beian, write_json: Any, tmp_path: Path,
                                                              application: dict[str, Any]) -> None:
    before = apply(beian, write_json, application)
    history = beian.json("show", before)["history"]
    assert any(h["action"] == "precheck_skipped" and "未载入国家职业目录" in h["summary"] for h in history)

    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,category,standard\n6-18-01-01,车工,準入,\n", encoding="utf-8")
    refused = beian("catalogue", "load", str(bad), expect=4)
    assert "第 2 行：类别“準入”应为 skill（技能类）或 access（准入类）" in refused.err
    assert beian.json("catalogue", "show")["size"] == 0

    loaded = beian.json("catalogue", "load", "--sample")
    assert loaded["count"] >= 10 and loaded["access"] >= 1
    passing = apply(beian, write_json, {**application, "institution": {**application["institution"],
                                                                       "name": "目录内职业示例公司"}})
    assert not [f for f in _precheck(beian, passing)["failures"] if f["code"] == "occupation_catalogue"]

    access = copy.deepcopy(application)
    access["institution"]["name"] = "准入类职业示例公司"
    access["occupations"][1].update(code="4-07-05-04", name="消防设施操作员")
    for assessor in access["assessors"]:
        if assessor["occupation"] == "6-31-01-03":
            assessor["occupation"] = "4-07-05-04"
    case = apply(beian, write_json, access)
    [failure] = [f for f in _precheck(beian, case)["failures"] if f["code"] == "occupation_catalogue"]
    assert failure["message"] == "属于准入类职业，不纳入职业技能等级认定范围：4-07-05-04 消防设施操作员"
    assert failure["article"].startswith("川人社办发〔2019〕94号")
    shown = beian.json("catalogue", "show", "4-07-05-04", "9-99-99-99")
    assert [o["name"] for o in shown["occupations"]] == ["消防设施操作员", None]
