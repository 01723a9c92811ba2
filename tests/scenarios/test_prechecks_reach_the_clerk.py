"""A failing substantive pre-check does not reject: it reaches the intake clerk with its reason and article."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Beian
from tests.support.scenarios import apply, complete, task, to_publicity


def test_too_few_assessors_is_shown_with_its_article(beian: Beian, write_json: Any,
                                                    application: dict[str, Any]) -> None:
    occupation = application["occupations"][0]["code"]
    mine = [a for a in application["assessors"] if a["occupation"] == occupation]
    application["assessors"] = [a for a in application["assessors"] if a["occupation"] != occupation] + mine[:2]
    case = apply(beian, write_json, application)
    acceptance = task(beian, case, "acceptance")
    failures = acceptance["context"]["precheck"]["failures"]
    assert [f["code"] for f in failures] == ["assessors"]
    assert occupation in failures[0]["message"] and failures[0]["article"]
    assert "预审" in beian("tasks", "--case", case, as_json=False).out
    # Nothing was decided automatically.
    assert beian.json("show", case)["status"] == "applied"


def test_second_filing_for_the_same_occupation_is_flagged(beian: Beian, write_json: Any,
                                                          application: dict[str, Any]) -> None:
    first = apply(beian, write_json, application)
    to_publicity(beian, first)
    beian.json("sweep", now="2026-10-17T00:00:01+08:00")
    number = beian.json("show", first)["filing_number"]

    second = apply(beian, write_json, application, received="2026-11-02T10:00:00+08:00")
    failures = task(beian, second, "acceptance")["context"]["precheck"]["failures"]
    assert [f["code"] for f in failures] == ["active_filing"]
    assert number in failures[0]["message"]
    complete(beian, second, "acceptance", {"decision": "reject", "reasons": "已有有效备案"},
             "2026-11-03T10:00:00+08:00")
    assert json.dumps(beian.json("show", second)["history"], ensure_ascii=False).count("预审未通过") == 1
