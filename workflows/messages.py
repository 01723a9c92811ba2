"""The external messages a case can receive, with the Chinese name people see.

Its own module because three sides need the list without needing each other: the service layer (which refuses any
other message), the BPMN check (which refuses a diagram waiting for a message nobody sends) and the stuck watch and
simulation (which name what a case waits for)."""

from __future__ import annotations

# The events that open a procedure on a filing (each a case of its own), with the Chinese name people see.
STARTERS: dict[str, str] = {
    "renewal_application": "续期备案申请",
    "change_report": "备案事项变更报告",
    "violation_report": "违规线索（投诉举报或监督检查发现）",
    "deregistered": "主体注销、破产或关闭",
    "catalogue_change": "国家职业分类调整",
    "termination_request": "自愿终止备案申请",
}

MESSAGES: dict[str, str] = {
    "resubmission": "补正材料重新提交",
    "objection": "公示期异议",
    "statement": "陈述申辩",
    "wrapup_done": "收尾工作完成报告",
    "rectification_done": "整改完成报告",
    "national_filing": "国家备案结果（兵团、国家双备案）",
    "annual_report": "年度工作总结及认定计划",
    **STARTERS,
    "rating": "红黑榜评定结果",
}
