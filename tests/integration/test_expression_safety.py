"""A process owner's expressions against the running system (SQLite and PostgreSQL): what the deployment check can
prove unsafe is refused at every door, what depends on the case's data stops at its limits when it runs — the step
fails with a Chinese reason, the case keeps its state and shows as stuck — and nothing reaches the host even where
the check is bypassed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.outside.db import Instance, ProcessDefinition
from tasks.errors import DefinitionError, StepFailed
from tests.conftest import EXAMPLE_APPLICATION, ROOT, Beian
from workflows import clock
from workflows.definitions import DefinitionSource, read_source
from workflows.service import Beian as Service
from workflows.stuck import stuck_report

BUNDLED = ROOT / "bpmn" / "filing_application.bpmn"
DEADLINE_SCRIPT = ("acceptance_deadline = within_working_days(acceptance_clock_start(received_at), "
                   "region['acceptance_days'])")
ACCEPT_CONDITION = "acceptance['decision'] == 'accept'"
ESCALATION_REASON = "'受理期限已届满，尚未作出受理决定'"
ACCEPTANCE_TIMER = "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">acceptance_deadline['due']</bpmn:timeDate>"
SECRET = "canary-5b20"

# The escape that was reported, and the endless and huge ones, each in the place it was tried.
ESCAPE_SCRIPT = (DEADLINE_SCRIPT + "\nmatch within_working_days:\n    case str(format=f):\n"
                 "        leak = f('{0.__globals__[load_settings].__globals__[os].environ[BEIAN_WEB_SECRET]}', "
                 "within_working_days)")
PROVABLY_BAD = {
    "script-escape": (DEADLINE_SCRIPT, ESCAPE_SCRIPT, "set_acceptance_deadline", "expression-forbidden"),
    "script-while": (DEADLINE_SCRIPT, DEADLINE_SCRIPT + "\nwhile True:\n    pass", "set_acceptance_deadline",
                     "expression-forbidden"),
    "condition-power": (ACCEPT_CONDITION, "10 ** 10 ** 10 > 0", "flow_accepted", "expression-limit"),
    "condition-sum": (ACCEPT_CONDITION, "sum(range(10 ** 12)) > 0", "flow_accepted", "expression-limit"),
    "parameter-huge": (ESCALATION_REASON, "'a' * 10 ** 10", "escalate_acceptance", "expression-limit"),
    "timer-format": ("acceptance_deadline['due']</bpmn:timeDate>",
                     "'{0.__class__}'.format(acceptance_deadline)</bpmn:timeDate>", "acceptance_overdue",
                     "expression-forbidden"),
}


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    """The bundled filing process with `old` (XML text) replaced by `new` once."""
    text = BUNDLED.read_text(encoding="utf-8")
    assert old in text, old
    if not (tmp_path / "forms").exists():
        shutil.copytree(ROOT / "bpmn" / "forms", tmp_path / "forms")
    path = tmp_path / "filing_application.bpmn"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _service(backend_url: str) -> Service:
    app = Service(backend_url)
    app.init()
    return app


@pytest.mark.parametrize("case", sorted(PROVABLY_BAD))
def test_what_the_check_can_prove_is_refused_by_check_and_deploy(case: str, tmp_path: Path, backend_url: str) -> None:
    old, new, element, code = PROVABLY_BAD[case]
    path = _variant(tmp_path, old, new)
    cli = Beian(backend_url)
    cli("init")
    checked = cli("bpmn", "check", str(path), expect=7)
    findings = checked.json["findings"]
    assert [(f["element_id"], f["code"]) for f in findings if f["severity"] == "error"] == [(element, code)]
    deployed = cli("bpmn", "deploy", str(path), expect=7)
    assert "未部署" in deployed.err
    assert [v["version"] for v in cli.json("bpmn", "versions", "filing_application")] == [1]


def _application() -> dict[str, Any]:
    return json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))


def _deploy(app: Service, path: Path, refused: str) -> None:
    """The check's trial run finds what the case's data makes of it and the deploy is refused, saying so; the limits
    at run time are then tried on the version as deployed without the trial (by a beian before the trial existed,
    or restored from a backup)."""
    source = read_source(path)
    with pytest.raises(DefinitionError) as caught:
        app.processes.deploy(source, actor="process-owner")
    assert "试运行" in caught.value.message and refused in caught.value.message
    assert app.processes.deploy(source, actor="process-owner", trial=False)["deployed"] is True


def test_a_data_dependent_endless_script_fails_the_application_with_a_reason(backend_url: str,
                                                                          tmp_path: Path) -> None:
    app = _service(backend_url)
    try:
        _deploy(app, _variant(tmp_path, DEADLINE_SCRIPT,
                              DEADLINE_SCRIPT + "\nfor i in range(len(received_at) * 10 ** 9):\n    pass"),
                "超出时间限制")
        with pytest.raises(StepFailed) as caught:
            app.cases.apply(_application())
        assert "计算受理期限" in caught.value.message and "超出时间限制" in caught.value.message
        with app.uow() as uow:
            assert uow.session.scalars(select(Instance)).all() == []  # nothing half-written
    finally:
        app.close()


def test_a_huge_timer_value_fails_the_application_with_a_reason(backend_url: str, tmp_path: Path) -> None:
    app = _service(backend_url)
    try:
        _deploy(app, _variant(tmp_path, ACCEPTANCE_TIMER, ACCEPTANCE_TIMER.replace(
            "acceptance_deadline['due']", "acceptance_deadline['due'] * (10 ** 9 + len(case))")), "超出内存限制")
        with pytest.raises(StepFailed, match="超出内存限制"):
            app.cases.apply(_application())
    finally:
        app.close()


def test_a_condition_over_its_limits_leaves_the_task_open_and_the_case_stuck(backend_url: str,
                                                                             tmp_path: Path) -> None:
    app = _service(backend_url)
    try:
        _deploy(app, _variant(tmp_path, ACCEPT_CONDITION, "acceptance['decision'] * 10 ** 9 == 'accept'"),
                "超出内存限制")
        with clock.using_clock(clock.VirtualClock(clock.parse_instant("2026-09-24T10:00:00+08:00"))):
            case = app.cases.apply(_application())["case"]
            (task,) = app.cases.tasks(case)
            before = app.records.show(case)
            with pytest.raises(StepFailed) as caught:
                app.cases.complete(task["id"], {"decision": "accept"}, actor="li.na")
            assert "超出内存限制" in caught.value.message and "保持原状态" in caught.value.message
            after = app.records.show(case)
            assert [t["id"] for t in app.cases.tasks(case)] == [task["id"]]  # still open: the user may try again
            assert (after["status"], after["waiting_for"]) == (before["status"], before["waiting_for"])
            assert after["history"][-1]["action"] == "step_failed" and after["history"][-1]["actor"] == "li.na"
            stuck = [s for s in stuck_report(app)["stuck"] if s["case_id"] == case]
            assert [s["reason_code"] for s in stuck] == ["instance_error"]
            assert "超出内存限制" in stuck[0]["reason"]
    finally:
        app.close()


def test_a_parameter_over_its_limits_fails_the_sweep_and_keeps_the_timer(backend_url: str, tmp_path: Path) -> None:
    cli = Beian(backend_url)
    cli("init")
    path = _variant(tmp_path, ESCALATION_REASON, "'受理期限已届满' * (len(case) * 10 ** 8)")
    refused = cli("bpmn", "deploy", str(path), expect=7)
    assert "[trial-fails]" in refused.err and "受理逾期督办" in refused.err and "超出内存限制" in refused.err
    app = Service(backend_url)
    try:
        _deploy(app, path, "超出内存限制")
    finally:
        app.close()
    case = cli.json("apply", str(EXAMPLE_APPLICATION), now="2026-09-24T10:00:00+08:00")["case"]
    swept = cli("sweep", now="2026-10-20T10:00:00+08:00", expect=1).json
    assert [f["case"] for f in swept["failed"]] == [case]
    assert "超出内存限制" in swept["failed"][0]["error"] and "受理逾期督办" in swept["failed"][0]["error"]
    shown = cli.json("show", case, now="2026-10-20T10:00:00+08:00")
    assert shown["status"] == "applied"
    assert [t["bpmn_id"] for t in cli.json("tasks", "--case", case)] == ["acceptance"]
    stuck = cli.json("stuck", now="2026-10-20T10:00:00+08:00")["stuck"]
    assert any(s["case_id"] == case and s["reason_code"] == "instance_error" for s in stuck)
    again = cli("sweep", now="2026-10-20T10:05:00+08:00", expect=1).json  # still due, tried again, same reason
    assert [f["case"] for f in again["failed"]] == [case]


def test_a_definition_that_bypassed_the_check_still_reaches_nothing(backend_url: str, tmp_path: Path) -> None:
    """Defence in depth: a version written straight into the database (a bug in the check, a restored backup) is
    refused by the interpreter when it runs."""
    os.environ["BEIAN_WEB_SECRET"] = SECRET
    app = _service(backend_url)
    try:
        source = read_source(_variant(tmp_path, DEADLINE_SCRIPT, ESCAPE_SCRIPT))
        with pytest.raises(DefinitionError):
            app.processes.deploy(source, actor="process-owner")
        _write_unchecked(app, source)
        with pytest.raises(StepFailed) as caught:
            app.cases.apply(_application())
        assert "match" in caught.value.message and SECRET not in caught.value.message
        with app.uow() as uow:
            assert uow.session.scalars(select(Instance)).all() == []
    finally:
        os.environ.pop("BEIAN_WEB_SECRET", None)
        app.close()


def _write_unchecked(app: Service, source: DefinitionSource) -> None:
    with app.uow() as uow:
        latest = uow.repo.latest_definition(source.process_id)
        uow.repo.add(ProcessDefinition(
            process_id=source.process_id, version=latest.version + 1, name=source.name, file_name=source.file_name,
            bpmn_xml=source.bpmn_xml, forms=source.forms, sha256=source.sha256, deployed_at=clock.now(),
            deployed_by="restored-backup"))
        uow.commit()


def test_a_loop_drawn_without_a_wait_ends_the_step(backend_url: str, tmp_path: Path) -> None:
    """Each expression is bounded, and so is a step: a loop in the diagram itself, where every turn is cheap,
    stops after the step's allowance of completed tasks."""
    flow = ('<bpmn:sequenceFlow id="flow_set_acceptance_deadline_to_acceptance" sourceRef="set_acceptance_deadline" '
            'targetRef="acceptance" />')
    loop = ('<bpmn:sequenceFlow id="flow_set_acceptance_deadline_to_acceptance" sourceRef="set_acceptance_deadline" '
            'targetRef="spin" />'
            '<bpmn:scriptTask id="spin" name="空转"><bpmn:script>turned = True</bpmn:script></bpmn:scriptTask>'
            '<bpmn:exclusiveGateway id="spin_again" default="flow_spin_back" />'
            '<bpmn:sequenceFlow id="flow_spin_to_gateway" sourceRef="spin" targetRef="spin_again" />'
            '<bpmn:sequenceFlow id="flow_spin_back" sourceRef="spin_again" targetRef="spin" />'
            '<bpmn:sequenceFlow id="flow_spin_out" sourceRef="spin_again" targetRef="acceptance">'
            '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">turned is False</bpmn:conditionExpression>'
            '</bpmn:sequenceFlow>')
    app = _service(backend_url)
    try:
        _deploy(app, _variant(tmp_path, flow, loop), "一次处理中执行的环节超过")
        with pytest.raises(StepFailed, match="一次处理中执行的环节超过"):
            app.cases.apply(_application())
    finally:
        app.close()
