"""What the task page shows a caseworker a task is given (办理依据): each item under its name, an earlier step's form
answers under that form's titles and a choice by its title, never a code."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.entrypoints.web.caseworkers.task_context import sections

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"


def _form(name: str) -> dict:
    return json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8"))


def test_an_earlier_steps_answers_read_with_that_forms_titles() -> None:
    context = {
        "sanction_investigation": {"decision": "warning", "opinion": "宣传“包过”属实", "facts": "官网宣传",
                                   "invalid_results": False, "rectification_days": 10, "certificate_data": "none"},
        "statement": {"text": "宣传系代理机构所为", "submitted_on": "2027-03-03"},
        "statement_deadline": {"due": "2027-03-10T00:00:00+08:00", "explanation": "自2027年3月2日起5个工作日"},
    }
    shown = sections(context, {"sanction_investigation": _form("sanction_investigation")})
    assert [s["title"] for s in shown] == ["调查核实结论（拟作出的处理）", "机构的意见（陈述和申辩）", "告知期限"]
    rows = dict(shown[0]["rows"])
    assert rows["核查结论"] == "情节严重或一年内再次出现：警告、限期整改、暂停评价"
    assert rows["书面核查意见"] == "宣传“包过”属实"
    assert rows["是否给予评价结果无效处理"] == "否"
    assert rows["整改期限（工作日）"] == "10"
    assert rows["违规上传的证书数据"] == "不涉及"
    assert "warning" not in str(shown)
    assert dict(shown[1]["rows"]) == {"内容": "宣传系代理机构所为", "提交日期": "2027-03-03"}
    assert shown[2]["rows"] == [("计算方法", "自2027年3月2日起5个工作日")]


def test_without_its_form_an_answer_is_still_shown_by_the_generic_labels() -> None:
    shown = sections({"decide_sanction": {"decision": "impose", "reasons": "事实清楚"}})
    assert shown == [{"title": "处理决定", "rows": [("决定", "impose"), ("理由", "事实清楚")]}]
    shown = sections({"decide_sanction": {"decision": "impose", "reasons": "事实清楚"}},
                     {"decide_sanction": _form("decide_sanction")})
    assert shown[0]["rows"] == [("决定", "按告知的措施作出处理决定"), ("决定理由", "事实清楚")]


def test_hostile_values_are_text_and_unknown_choices_stay_as_given() -> None:
    shown = sections({"sanction_investigation": {"decision": "<script>", "opinion": ["a", {"b": 1}]}},
                     {"sanction_investigation": _form("sanction_investigation")})
    assert dict(shown[0]["rows"]) == {"核查结论": "<script>", "书面核查意见": "a；b：1"}
