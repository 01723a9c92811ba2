"""`beian bpmn check` on diagrams written for another engine (issue 17): what Camunda Modeler, Zeebe and the like write
that beian does not read is named with what to write instead; what would fail every case at run time (a bare ISO
timer, a JUEL or FEEL expression, a task nobody performs) is an error naming the element."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflows.bpmn_check import Finding, check_files, check_source, has_errors

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLEAN = (FIXTURES / "bpmn" / "clean.bpmn").read_text(encoding="utf-8")
FORMS = {"fixture_review.schema.json":
         json.loads((FIXTURES / "bpmn" / "forms" / "fixture_review.schema.json").read_text(encoding="utf-8"))}
CONDITION = "review['result'] == 'pass'"
TIMER = "review_deadline['due']"


def _check(xml: str) -> list[Finding]:
    return check_source(xml, "edited.bpmn", FORMS)


def _codes(findings: list[Finding]) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.severity, f.element_id) for f in findings]


def test_a_camunda_modeler_export_gets_what_beian_ignores_and_what_would_fail() -> None:
    findings = check_files([FIXTURES / "bpmn_foreign" / "camunda7_review.bpmn"])
    assert _codes(findings) == [
        ("foreign-engine", "warning", None),
        ("foreign-extension", "warning", "camunda_review"),
        ("foreign-extension", "warning", "start"),
        ("foreign-extension", "warning", "review"),
        ("task-kind", "error", "note_result"),
        ("form-unset", "warning", "review"),
        ("foreign-expression", "error", "flow_accepted"),
        ("foreign-expression", "error", "flow_refused"),
        ("timer-unquoted", "error", "review_overdue"),
    ]
    by = {(f.code, f.element_id): f.message for f in findings}
    assert "Camunda Platform 7.22.0" in by["foreign-engine", None]
    review = by["foreign-extension", "review"]
    for said in ("camunda:assignee（办理人由任务所在泳道的角色决定）", "camunda:dueDate（期限请用扩展属性 deadline",
                 '<spiffworkflow:property name="formJsonSchemaFilename"', "camunda:taskListener（监听器不会执行"):
        assert said in review
    assert "按其他引擎的写法设置" in by["form-unset", "review"]
    assert "“decision == 'accept' and not late”" in by["foreign-expression", "flow_accepted"]
    assert "“审查期限届满”（review_overdue）" in by["timer-unquoted", "review_overdue"]
    assert "within_working_days" in by["timer-unquoted", "review_overdue"]


@pytest.mark.parametrize("bare", ["P30D", "PT12H", "R3/PT10M", "2026-10-01T09:00:00+08:00", "2026-10-01"])
def test_a_bare_iso_timer_is_an_error_not_a_calendar_days_warning(bare: str) -> None:
    findings = _check(CLEAN.replace(TIMER, bare))
    assert _codes(findings) == [("timer-unquoted", "error", "review_overdue")]
    assert f"“{bare}”没有加引号" in findings[0].message


def test_a_quoted_duration_is_not_taken_for_a_bare_one() -> None:
    assert [f.code for f in _check(CLEAN.replace(TIMER, '"P30D"'))] == ["timer-calendar-days"]


@pytest.mark.parametrize(("written", "engine", "python"), [
    ("${review.result == 'pass'}", "JUEL", None),
    ("#{approved &amp;&amp; !late}", "JUEL", "“approved and not late”"),
    ('=result = "pass"', "FEEL", '“result == "pass"”'),
])
def test_an_expression_of_another_engine_is_named_with_its_python_spelling(written: str, engine: str,
                                                                          python: str | None) -> None:
    findings = _check(CLEAN.replace(CONDITION, written))
    assert _codes(findings) == [("foreign-expression", "error", "flow_accepted")]
    assert f"是 {engine} 表达式" in findings[0].message
    if python:
        assert python in findings[0].message


def test_feel_equality_without_the_leading_equals_gets_a_hint() -> None:
    findings = _check(CLEAN.replace(CONDITION, "review['result'] = 'pass'"))
    assert _codes(findings) == [("expression-syntax", "error", "flow_accepted")]
    assert "比较是否相等请用 ==" in findings[0].message
    assert _check(CLEAN.replace(CONDITION, "review['result'] == 'a=b'")) == [], "an = inside a string is no hint"


@pytest.mark.parametrize(("tag", "kind"), [("task", "任务（无类型）"), ("manualTask", "人工任务"),
                                           ("businessRuleTask", "业务规则任务")])
def test_a_task_nobody_performs_is_an_error(tag: str, kind: str) -> None:
    start = CLEAN.index('<bpmn:scriptTask id="set_deadline"')
    end = CLEAN.index("</bpmn:scriptTask>") + len("</bpmn:scriptTask>")
    task = (f'<bpmn:{tag} id="set_deadline" name="计算审查期限"><bpmn:incoming>flow_start</bpmn:incoming>'
            f"<bpmn:incoming>flow_resubmitted</bpmn:incoming><bpmn:outgoing>flow_to_review</bpmn:outgoing>"
            f"</bpmn:{tag}>")
    findings = [f for f in _check(CLEAN[:start] + task + CLEAN[end:]) if f.code == "task-kind"]
    assert _codes(findings) == [("task-kind", "error", "set_deadline")]
    assert findings[0].message.startswith(f"{kind}“计算审查期限”（set_deadline）")


def test_zeebe_settings_and_an_unknown_namespace_are_named() -> None:
    xml = CLEAN.replace('xmlns:spiffworkflow=', 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
                                                'xmlns:acme="https://acme.example/bpmn" xmlns:spiffworkflow=')
    xml = xml.replace('<bpmn:serviceTask id="status_accepted" name="标记为已受理">',
                      '<bpmn:serviceTask id="status_accepted" name="标记为已受理" acme:retries="3">')
    xml = xml.replace('<spiffworkflow:serviceTaskOperator id="set_status"',
                      '<zeebe:taskDefinition type="set-status" /><spiffworkflow:serviceTaskOperator id="set_status"')
    findings = _check(xml)
    assert _codes(findings) == [("foreign-engine", "warning", None),
                                ("foreign-extension", "warning", "status_accepted")]
    assert "Camunda 8（Zeebe）" in findings[0].message
    assert "retries（命名空间 https://acme.example/bpmn，不认识的扩展）" in findings[1].message
    assert "zeebe:taskDefinition（服务任务请用 serviceTaskOperator 指定系统的服务）" in findings[1].message
    assert not has_errors(findings), "settings beian does not read do not stop a deployment"


def test_a_file_that_would_start_a_new_process_says_so() -> None:
    findings = check_source(CLEAN, "clean.bpmn", FORMS, deployed_ids=["filing_application", "renewal"])
    assert _codes(findings) == [("new-process", "warning", None)]
    assert "“clean”" in findings[0].message and "filing_application、renewal" in findings[0].message
    assert check_source(CLEAN, "clean.bpmn", FORMS, deployed_ids=["clean", "renewal"]) == []
    assert check_source(CLEAN, "clean.bpmn", FORMS) == [], "without a database there is nothing to compare with"
