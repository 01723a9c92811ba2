"""`beian bpmn check`: the bundled diagrams check clean, and each broken fixture yields exactly its finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.entrypoints.cli.main import main
from workflows.bpmn_check import Finding, check_files, check_source, has_errors
from workflows.definitions import bpmn_dir

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
CLEAN = FIXTURES / "clean.bpmn"
FORMS = {"fixture_review.schema.json": json.loads((FIXTURES / "forms" / "fixture_review.schema.json").read_text())}

# fixture → (code, severity, element the finding names)
EXPECTED: dict[str, tuple[str, str, str | None]] = {
    "xml_syntax": ("xml-syntax", "error", None),
    "xsd_invalid": ("xsd", "error", "review_overdue"),
    "parse_error": ("parse", "error", "status_accepted"),
    "not_executable": ("parse", "error", None),
    "id_clash": ("id-clash", "error", "escalate"),
    "lane_unknown": ("lane-role", "error", "review"),
    "form_missing": ("form-missing", "error", "review"),
    "form_invalid": ("form-invalid", "error", "review"),
    "form_not_json": ("form-invalid", "error", "review"),
    "form_unset": ("form-unset", "warning", "review"),
    "operator_unknown": ("operator-unknown", "error", "escalate_review"),
    "operator_parameters": ("operator-parameters", "error", "escalate_review"),
    "expression_syntax": ("expression-syntax", "error", "flow_accepted"),
    "script_import": ("expression-forbidden", "error", "set_deadline"),
    "script_dunder_import": ("expression-forbidden", "error", "set_deadline"),
    "condition_dunder": ("expression-forbidden", "error", "flow_accepted"),
    "expression_name": ("expression-name", "error", "escalate_review"),
    "timer_days": ("timer-calendar-days", "warning", "review_overdue"),
    "gateway_condition": ("gateway-condition", "error", "flow_supplement"),
    "message_unknown": ("message-unknown", "warning", "await_resubmission"),
}


def test_every_fixture_is_covered() -> None:
    on_disk = {p.stem for p in FIXTURES.glob("*.bpmn")} - {"clean", "timer_calendar_days"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("path", sorted(bpmn_dir().glob("*.bpmn")), ids=lambda p: p.name)
def test_bundled_files_check_clean(path: Path) -> None:
    assert check_files([path]) == []


@pytest.mark.parametrize("name", ["clean", "timer_calendar_days"])
def test_clean_fixtures_check_clean(name: str) -> None:
    assert check_files([FIXTURES / f"{name}.bpmn"]) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_yields_exactly_its_finding(name: str) -> None:
    code, severity, element_id = EXPECTED[name]
    findings = check_files([FIXTURES / f"{name}.bpmn"])
    assert [(f.code, f.severity, f.element_id) for f in findings] == [(code, severity, element_id)], findings
    finding = findings[0]
    assert finding.file == f"{name}.bpmn"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in finding.message)  # said in Chinese
    if element_id is not None:
        assert element_id in finding.message


def test_messages_name_the_element_by_id_and_name() -> None:
    [finding] = check_files([FIXTURES / "gateway_condition.bpmn"])
    assert "“审查结论？”（decision）" in finding.message and "“需补正”（flow_supplement）" in finding.message
    [finding] = check_files([FIXTURES / "xml_syntax.bpmn"])
    assert "第 85 行" in finding.message


@pytest.mark.parametrize("script, problem", [
    ("import os", "不允许导入模块"),
    ("from os import path", "不允许导入模块"),
    ("x = __import__('os')", "__import__"),
    ("x = application.__class__", "__class__"),
    ("x = getattr(application, 'x')", "getattr"),
    ("x = '{0.__class__}'.format(application)", "format"),
])
def test_scripts_reaching_outside_are_errors(script: str, problem: str) -> None:
    source = CLEAN.read_text(encoding="utf-8").replace(
        "review_deadline = within_working_days(received_at, 10)", script)
    findings = check_source(source, "clean.bpmn", FORMS)
    assert has_errors(findings)
    assert [f.element_id for f in findings] == ["set_deadline"]
    assert problem in findings[0].message


def test_check_source_takes_the_forms_it_is_given() -> None:
    source = CLEAN.read_text(encoding="utf-8")
    assert check_source(source, "clean.bpmn", FORMS) == []
    [finding] = check_source(source, "clean.bpmn", {})
    assert finding.code == "form-missing"


def test_running_ids_removed_by_the_new_version_are_flagged() -> None:
    source = CLEAN.read_text(encoding="utf-8")
    findings = check_source(source, "clean.bpmn", FORMS, running_ids={"review", "old_inspection"})
    assert findings == [Finding("clean.bpmn", "old_inspection", "warning", "running-id-removed", findings[0].message)]


def test_a_recurring_timer_counting_days_is_flagged() -> None:
    source = CLEAN.read_text(encoding="utf-8").replace(
        "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">review_deadline['due']</bpmn:timeDate>",
        "<bpmn:timeCycle xsi:type=\"bpmn:tFormalExpression\">'R3/P1W'</bpmn:timeCycle>")
    assert [f.code for f in check_source(source, "clean.bpmn", FORMS)] == ["timer-calendar-days"]


def test_a_timer_in_hours_is_not_a_statutory_period() -> None:
    source = CLEAN.read_text(encoding="utf-8").replace(
        "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">review_deadline['due']</bpmn:timeDate>",
        "<bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">'PT4H'</bpmn:timeDuration>")
    assert check_source(source, "clean.bpmn", FORMS) == []


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    [finding] = check_files([tmp_path / "missing.bpmn"])
    assert finding.severity == "error" and "无法读取" in finding.message


def test_cli_prints_findings_and_exits_7(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bpmn", "check", str(FIXTURES / "script_import.bpmn"), str(FIXTURES / "timer_days.bpmn")])
    out, err = capsys.readouterr()
    assert code == 7
    assert "script_import.bpmn：错误 [expression-forbidden]" in out and "set_deadline" in out
    assert "timer_days.bpmn：提醒 [timer-calendar-days]" in out
    assert "1 处错误，1 处提醒" in out
    assert "不能部署" in err


def test_cli_json_and_clean_exit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bpmn", "check", str(FIXTURES / "timer_days.bpmn"), "--json"]) == 0  # warnings only
    result = json.loads(capsys.readouterr().out)
    assert result["errors"] == 0 and result["warnings"] == 1
    assert result["findings"][0]["code"] == "timer-calendar-days"
    assert main(["--json", "bpmn", "check", *map(str, sorted(bpmn_dir().glob("*.bpmn")))]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_cli_json_with_errors_exits_7(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bpmn", "check", "--json", str(FIXTURES / "operator_unknown.bpmn")]) == 7
    result = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in result["findings"]] == ["operator-unknown"]


def test_a_forms_x_checks_naming_nothing_known_is_a_warning() -> None:
    xml = CLEAN.read_text(encoding="utf-8")
    schema = FORMS["fixture_review.schema.json"]
    known = check_source(xml, "clean.bpmn", {"fixture_review.schema.json": {
        **schema, "x-checks": ["occupations", "materials", "materials:work_plan"]}})
    assert known == []
    findings = check_source(xml, "clean.bpmn", {"fixture_review.schema.json": {
        **schema, "x-checks": ["occupation", "materials:fee_schedule"]}})
    assert [(f.code, f.severity, f.element_id) for f in findings] == [("form-checks", "warning", "review")]
    assert "“occupation”“materials:fee_schedule”不是申请的部分或材料清单中的材料" in findings[0].message


def test_a_task_cites_its_article_by_key_resolved_in_the_cases_region() -> None:
    xml = CLEAN.read_text(encoding="utf-8")
    form = '<spiffworkflow:property name="formJsonSchemaFilename" value="fixture_review.schema.json" />'
    assert form in xml
    literal = xml.replace(form, form + '<spiffworkflow:property name="article" value="川人社办发〔2019〕94号 四" />')
    [finding] = check_source(literal, "clean.bpmn", FORMS)
    assert (finding.code, finding.severity, finding.element_id) == ("article-literal", "warning", "review")
    assert "每个地区的案件都会显示它" in finding.message and "articleKey" in finding.message
    keyed = xml.replace(form, form + '<spiffworkflow:property name="articleKey" value="publicity" />')
    assert check_source(keyed, "clean.bpmn", FORMS) == []
    unknown = xml.replace(form, form + '<spiffworkflow:property name="articleKey" value="publicty" />')
    [finding] = check_source(unknown, "clean.bpmn", FORMS)
    assert (finding.code, finding.severity) == ("article-key", "error")


def test_a_forms_x_choices_naming_no_known_source_is_an_error() -> None:
    """A choice marked for narrowing that nothing narrows would stay open to every listed value: refused."""
    xml = CLEAN.read_text(encoding="utf-8")
    schema = FORMS["fixture_review.schema.json"]
    method = {"type": "string", "oneOf": [{"const": "onsite"}, {"const": "online"}]}
    marked = {**method, "x-choices": "inspection_methods"}
    assert check_source(xml, "clean.bpmn", {"fixture_review.schema.json": {
        **schema, "properties": {**schema["properties"], "method": marked}}}) == []
    findings = check_source(xml, "clean.bpmn", {"fixture_review.schema.json": {
        **schema, "properties": {**schema["properties"], "method": {**method, "x-choices": "inspection_method"},
                                 "note": {"type": "string", "x-choices": "checklist"}}}})
    assert [(f.code, f.severity, f.element_id) for f in findings] == [("form-choices", "error", "review")]
    assert "栏目 method 的 x-choices“inspection_method”未知" in findings[0].message
    assert "栏目 note 标注了 x-choices，但没有可供收窄的 oneOf 选项" in findings[0].message
