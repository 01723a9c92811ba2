"""What a task is given to decide on (its `context` property: the objection, the institution's statement, the
investigation's findings, the national registry's answer …), laid out for reading on the task page: each item under
its name, each field under its label, a deadline by how it was computed. The pre-check has its own panel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

TITLES: Final[Mapping[str, str]] = {
    "objection": "公示异议", "statement": "机构的意见（陈述和申辩）",
    "review_statement": "对已送达决定的陈述和申辩", "termination_investigation": "调查核实结论",
    "decide_termination": "终止备案决定", "sanction_investigation": "调查核实结论（拟作出的处理）",
    "decide_sanction": "处理决定", "assessment": "续期评估结论",
    "national_filing_reply": "国家备案答复", "annual_report": "年度工作总结及认定计划",
    "rectification_done": "整改完成报告", "wrapup_done": "收尾工作完成报告", "request": "申请或报告",
    "ground": "立案事由", "prior_sanctions": "以往处理记录", "statement_deadline": "告知期限",
    "rectification_deadline": "整改期限", "annual_report_deadline": "报送期限", "report_year": "工作总结年度",
    "filing": "备案情况",
}
LABELS: Final[Mapping[str, str]] = {
    "objector": "异议人", "contact": "联系方式", "content": "内容", "text": "内容", "submitted_on": "提交日期",
    "received_at": "收到时间", "summary": "情况", "plan": "计划", "year": "年度", "result": "结论",
    "reasons": "理由", "opinion": "意见", "facts": "事实", "decision": "决定", "national_number": "全国备案编号",
    "acknowledged_on": "答复日期", "label": "事由", "article": "依据", "code": "代码", "corrections": "更正情况",
    "explanation": "计算方法", "refunds": "退费情况", "wrapup_plan": "收尾安排", "notice_started": "公示开始日期",
    "changes": "变更事项", "ground": "事由",
}
# Inside a deadline only how it was computed is worth reading; inside a filing only its number and validity.
_DEADLINE_KEYS: Final = ("due", "explanation")
_SKIP: Final = frozenset({"precheck", "region", "application", "form_draft"})
# A change report's changes are shown field by field, before and after, in a panel of their own
# (app.records.reported_changes); here only its explanation.
_SKIP_INSIDE: Final = frozenset({"changes"})


def sections(context: Mapping[str, Any], forms: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """[{title, rows: [(label, text)]}] for each context item the task page shows (the pre-check aside). An item that
    is an earlier step's form result is read with that form's titles, given in `forms` (step id → its schema)."""
    shown = []
    for key, value in context.items():
        if key in _SKIP or value in (None, "", [], {}):
            continue
        schema = (forms or {}).get(key)
        rows = _form_rows(value, schema) if isinstance(schema, Mapping) and isinstance(value, Mapping) \
            else _rows(value)
        shown.append({"title": TITLES.get(key, key), "rows": rows})
    return shown


def _form_rows(value: Mapping[str, Any], schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A form's answers under the form's own field titles, a choice by its title rather than its code."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), Mapping) else {}
    rows = []
    for field, answer in value.items():
        if answer in (None, "", [], {}):
            continue
        spec = properties.get(field) if isinstance(properties.get(field), Mapping) else {}
        label = str(spec.get("title") or LABELS.get(str(field), str(field)))
        titles = {c.get("const"): c.get("title") for c in spec.get("oneOf", []) if isinstance(c, Mapping)}
        rows.append((label, str(titles[answer]) if isinstance(answer, str) and titles.get(answer) else _text(answer)))
    return rows


def _rows(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        if "due" in value and "explanation" in value:
            return [("计算方法", str(value["explanation"]))]
        return [(LABELS.get(str(k), str(k)), _text(v)) for k, v in value.items()
                if v not in (None, "", [], {}) and k not in _SKIP_INSIDE]
    if isinstance(value, list):
        return [(str(index), _text(item)) for index, item in enumerate(value, start=1)]
    return [("", _text(value))]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Mapping):
        return "；".join(f"{LABELS.get(str(k), str(k))}：{_text(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list):
        return "；".join(_text(v) for v in value)
    return str(value)
