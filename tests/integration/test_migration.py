"""`beian bpmn migrate`: running cases move to a new version with their open tasks (id, claim, draft), their armed
timers (due times computed from stored facts, not restarted) and a line in their history; a case that stands on a
step the new version changed in kind stays on its version. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from lxml import etree

from tests.conftest import EXAMPLE_APPLICATION, ROOT
from tests.support.scenarios import at, open_task
from workflows import clock
from workflows.definitions import read_source
from workflows.service import Beian

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _version_2(tmp_path: Path) -> Path:
    """The process owner's change: the acceptance task renamed, a 7-working-day publicity instead of the region's,
    and the expert review waived: a script that records a pass instead of a caseworker's form (a change in kind)."""
    (tmp_path / "forms").symlink_to(ROOT / "bpmn" / "forms")
    text = (ROOT / "bpmn" / "filing_application.bpmn").read_text(encoding="utf-8")
    text = text.replace('name="受理审查"', 'name="受理审查（新版）"', 1)
    text = text.replace("publicity_period(today(), region['publicity_days'])", "publicity_period(today(), 7)")
    root = etree.fromstring(text.encode("utf-8"))
    (expert,) = root.xpath("//bpmn:userTask[@id='expert_review']", namespaces={"bpmn": BPMN})
    expert.tag = f"{{{BPMN}}}scriptTask"
    expert.set("scriptFormat", "python")
    expert.remove(expert.find(f"{{{BPMN}}}extensionElements"))
    script = etree.SubElement(expert, f"{{{BPMN}}}script")
    script.text = "expert_review = {'result': 'pass', 'opinion': '本省免于专家评估'}"
    path = tmp_path / "filing_application.bpmn"
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


def test_running_cases_move_with_open_tasks_armed_timers_and_drafts(backend_url: str, tmp_path: Path) -> None:
    app = Beian(backend_url)
    application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    try:
        with at("2026-09-24T10:00:00+08:00"):
            app.init()
            at_acceptance, at_publicity, at_expert = (app.cases.apply(application)["case"] for _ in range(3))
            acceptance = open_task(app, at_acceptance, "acceptance")
            app.cases.claim(acceptance["id"], "li.na")
            app.cases.save_draft(acceptance["id"], {"decision": "supplement", "reasons": "缺少场地证明"}, actor="li.na")
        with at("2026-09-28T10:00:00+08:00"):
            for case in (at_publicity, at_expert):
                app.cases.complete(open_task(app, case, "acceptance")["id"], {"decision": "accept"})
        with at("2026-10-09T10:00:00+08:00"):
            app.cases.complete(open_task(app, at_publicity, "expert_review")["id"],
                               {"result": "pass", "opinion": "符合"})
            app.cases.complete(open_task(app, at_publicity, "site_inspection")["id"],
                               {"result": "pass", "opinion": "符合"})
            app.cases.complete(open_task(app, at_publicity, "higher_review")["id"],
                               {"result": "pass", "opinion": "同意"})
            (publicity_end,) = [d["due"] for d in app.records.show(at_publicity)["deadlines"] if d["kind"] == "timer"]

        with at("2026-10-12T10:00:00+08:00"):
            assert app.processes.deploy(read_source(_version_2(tmp_path)), actor="process-owner")["version"] == 2
            diff = app.processes.diff("filing_application", 1, 2)
            preview = app.processes.migration_preview("filing_application", 1, 2)
            assert app.processes.versions("filing_application")[0]["running"] == 3  # the preview changed nothing
            result = app.processes.migrate("filing_application", 1, 2, actor="process-owner")

        changed = {c["bpmn_id"]: c for c in diff["changed"]}
        assert changed["acceptance"]["changes"] == ["名称"] and changed["acceptance"]["running"] == 1
        assert changed["expert_review"]["changes"] == ["元素类型"] and changed["expert_review"]["running"] == 1
        assert "脚本" in changed["set_publicity_deadline"]["changes"]
        assert diff["added"] == [] and diff["removed"] == []

        plans = {c["case_id"]: c for c in preview["cases"]}
        assert (preview["migratable"], preview["blocked"]) == (2, 1) and preview["dry_run"] is True
        positions = {p["bpmn_id"]: p for p in plans[at_acceptance]["positions"]}
        assert positions["acceptance"]["kind"] == "待办" and positions["acceptance"]["outcome"] == "changed"
        assert positions["acceptance_overdue"]["detail"] == "到期时间不变：2026-10-16 00:00"
        waits = {p["bpmn_id"]: p for p in plans[at_publicity]["positions"]}
        assert waits["publicity_wait"]["outcome"] == "unchanged"
        assert waits["publicity_wait"]["detail"] == f"到期时间不变：{publicity_end[:10]} {publicity_end[11:16]}"
        assert plans[at_expert]["migratable"] is False
        (problem,) = plans[at_expert]["problems"]
        assert "专家评估" in problem and "用户任务 → 脚本任务" in problem
        assert result["migrated"] == [at_acceptance, at_publicity] and result["dry_run"] is False

        with at("2026-10-12T11:00:00+08:00"):
            versions = app.processes.versions("filing_application")
            assert [(v["version"], v["running"]) for v in versions] == [(1, 1), (2, 2)]
            moved = open_task(app, at_acceptance, "acceptance")
            # The same open task: its id, its claim, what was typed into it, its statutory deadline.
            assert moved["id"] == acceptance["id"] and moved["name"] == "受理审查（新版）"
            assert moved["due"] == acceptance["due"] == "2026-10-16T00:00:00+08:00"
            detail = app.cases.task(moved["id"])
            assert detail["claimed_by"] == "li.na"
            assert detail["draft"] == {"decision": "supplement", "reasons": "缺少场地证明"}
            shown = app.records.show(at_publicity)
            assert [d["due"] for d in shown["deadlines"] if d["kind"] == "timer"] == [publicity_end]
            for case in (at_acceptance, at_publicity):
                (line,) = [h for h in app.records.show(case)["history"] if h["action"] == "process_migrated"]
                assert line["summary"] == "流程版本迁移：第 1 版 → 第 2 版" and line["actor"] == "process-owner"
            assert not [h for h in app.records.show(at_expert)["history"] if h["action"] == "process_migrated"]

        # The migrated case goes on on version 2: after its acceptance the expert review is waived.
        with at("2026-10-13T10:00:00+08:00"):
            app.cases.complete(acceptance["id"], {"decision": "accept"})
            assert [t["bpmn_id"] for t in app.cases.tasks(at_acceptance)] == ["site_inspection"]
            # The blocked case finishes on version 1, with its form.
            assert open_task(app, at_expert, "expert_review")["form"] == "expert_review.schema.json"
            new_case = app.cases.apply(application)["case"]
        # The publicity already announced ends when it was announced to end (the region's 5 working days), not 7.
        with clock.using_clock(clock.VirtualClock(datetime.fromisoformat(publicity_end) + timedelta(seconds=1))):
            app.operations.sweep()
            assert app.records.show(at_publicity)["case_status"] == "filed"
        with app.uow() as uow:
            versions = {i.case_id: uow.repo.definition(i.definition_id).version
                        for i in (uow.repo.instance(c) for c in (at_acceptance, at_publicity, at_expert, new_case))}
        assert versions == {at_acceptance: 2, at_publicity: 2, at_expert: 1, new_case: 2}
    finally:
        app.close()
