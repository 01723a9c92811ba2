"""`beian bpmn deploy` and `versions` through the command line (SQLite and PostgreSQL): a file the check rejects is
refused and nothing is deployed; a changed file becomes a new version beside the old one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tasks.calendar import SHANGHAI
from tests.conftest import ROOT, Beian
from tests.support.diagram_edits import mirrored
from workflows.service import Beian as Service

FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
DEFINITION_ERROR = 7


def test_a_script_that_imports_a_module_is_refused_and_nothing_is_deployed(beian: Beian) -> None:
    refused = beian("bpmn", "deploy", str(FIXTURES / "script_import.bpmn"), expect=DEFINITION_ERROR)
    assert "script_import.bpmn" in refused.err and "未部署" in refused.err
    dunder = beian("bpmn", "deploy", str(FIXTURES / "script_dunder_import.bpmn"), expect=DEFINITION_ERROR)
    assert "未部署" in dunder.err
    for process in ("script_import", "script_dunder_import"):
        assert "尚未部署" in beian("bpmn", "versions", process, expect=3).err


def test_a_changed_file_is_deployed_as_a_new_version_beside_the_old(beian: Beian, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "bpmn", tmp_path / "bpmn")
    changed = tmp_path / "bpmn" / "filing_application.bpmn"
    changed.write_text(changed.read_text(encoding="utf-8").replace('name="受理审查"', 'name="受理审查（新版）"', 1),
                       encoding="utf-8")
    deployed = beian.json("bpmn", "deploy", str(changed))["deployed"]
    assert deployed[0]["process"] == "filing_application" and deployed[0]["version"] == 2 and deployed[0]["deployed"]
    again = beian.json("bpmn", "deploy", str(changed))["deployed"]
    assert again[0]["deployed"] is False
    versions = beian.json("bpmn", "versions", "filing_application")
    assert [(v["version"], v["latest"], v["deployed_by"]) for v in versions] == [
        (1, False, "admin"), (2, True, "process-owner")]


def test_a_file_whose_process_id_is_new_is_said_to_start_a_new_process(beian: Beian, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "bpmn", tmp_path / "bpmn")
    renamed = tmp_path / "bpmn" / "filing_application.bpmn"
    renamed.write_text(renamed.read_text(encoding="utf-8").replace('"filing_application"', '"filing_application_v2"'),
                       encoding="utf-8")
    checked = beian.json("bpmn", "check", str(renamed))
    assert [(f["code"], f["severity"]) for f in checked["findings"]] == [("new-process", "warning")]
    deployed = beian("bpmn", "deploy", str(renamed), as_json=False)
    assert "filing_application_v2 第 1 版（新流程，已部署）" in deployed.out
    assert "[new-process]" in deployed.err and "“filing_application_v2”与已部署的流程都不同" in deployed.err


def test_diff_says_each_change_with_both_values_and_nothing_for_moved_shapes(beian: Beian, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "bpmn", tmp_path / "bpmn")
    path = tmp_path / "bpmn" / "filing_application.bpmn"
    original = path.read_text(encoding="utf-8")
    # Version 2: every shape moved (upside down), nothing else; SpiffWorkflow reorders the gateways' flows.
    path.write_text(mirrored(original), encoding="utf-8")
    assert beian.json("bpmn", "deploy", str(path))["deployed"][0]["version"] == 2
    assert beian("bpmn", "diff", "filing_application", "1", "2", as_json=False).out.splitlines() == [
        "filing_application：第 1 版 → 第 2 版", "  两个版本的流程与表单相同"]
    same = beian.json("bpmn", "diff", "filing_application", "1", "2")
    assert (same["added"], same["removed"], same["changed"], same["forms"]) == ([], [], [], [])

    # Version 3: a new name, a line more in a script, a field more in the form.
    script = "region['acceptance_days'])</bpmn:script>"
    assert original.count(script) == 1 and original.count('name="受理审查"') == 1
    path.write_text(mirrored(original).replace('name="受理审查"', 'name="受理审查（新版）"').replace(
        script, script.replace("</bpmn:script>", "\nnote = '已计算'</bpmn:script>")), encoding="utf-8")
    form_path = tmp_path / "bpmn" / "forms" / "acceptance.schema.json"
    form = json.loads(form_path.read_text(encoding="utf-8"))
    form["properties"]["remark"] = {"title": "备注", "type": "string"}
    form_path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    assert beian.json("bpmn", "deploy", str(path))["deployed"][0]["version"] == 3
    assert beian("bpmn", "diff", "filing_application", "2", "3", as_json=False).out.splitlines() == [
        "filing_application：第 2 版 → 第 3 版",
        "  修改 用户任务“受理审查”（acceptance）：名称 “受理审查” → “受理审查（新版）”",
        "  修改 脚本任务“计算受理期限”（set_acceptance_deadline）：脚本 修改：",
        "      + note = '已计算'",
        "  表单修改 acceptance.schema.json（受理审查）：新增字段“备注”（remark）：类型 文本，是否必填 选填"]
    diff = beian.json("bpmn", "diff", "filing_application", "2", "3")
    assert [(e["bpmn_id"], e["changes"], e["details"][0]["label"]) for e in diff["changed"]] == [
        ("acceptance", ["名称"], "名称"), ("set_acceptance_deadline", ["脚本"], "脚本")]
    assert diff["changed"][1]["details"][0]["after"].endswith("\nnote = '已计算'")
    assert diff["forms"][0]["fields"] == [{"field": "remark", "title": "备注", "change": "added", "details": [
        {"label": "类型", "before": None, "after": "文本", "code": False},
        {"label": "是否必填", "before": None, "after": "选填", "code": False}]}]


def test_check_warns_diff_shows_and_migrate_previews_then_moves_a_running_case(beian: Beian, tmp_path: Path) -> None:
    case = beian.json("apply", str(ROOT / "examples" / "application.json"), now="2026-09-24T10:00+08:00")["case"]
    other = beian.json("apply", str(ROOT / "examples" / "application.json"), now="2026-09-24T11:00+08:00")["case"]
    shutil.copytree(ROOT / "bpmn", tmp_path / "bpmn")
    changed = tmp_path / "bpmn" / "filing_application.bpmn"
    # The process owner renames the acceptance deadline's timer: the running case stands on it.
    changed.write_text(changed.read_text(encoding="utf-8").replace('"acceptance_overdue"', '"acceptance_late"'),
                       encoding="utf-8")
    checked = beian.json("bpmn", "check", str(changed))
    assert [(f["element_id"], f["code"]) for f in checked["findings"]] == [("acceptance_overdue", "running-id-removed")]
    assert beian.json("bpmn", "deploy", str(changed))["deployed"][0]["version"] == 2

    diff = beian.json("bpmn", "diff", "filing_application", "1", "2")
    assert [(c["bpmn_id"], c["changes"][0], c["running"]) for c in diff["changed"]] == [
        ("acceptance_overdue", "id 改为 acceptance_late", 2)]
    # One line per change, with both values: the replace also took the timer out of its lane (the lane's
    # flowNodeRef names the old id), and the diff says so.
    where = "修改 边界事件“受理期限届满”（acceptance_overdue）（2 件运行中的案件停在此处）"
    assert beian("bpmn", "diff", "filing_application", "1", "2", as_json=False).out.splitlines()[1:] == [
        f"  {where}：id “acceptance_overdue” → “acceptance_late”",
        f"  {where}：办理角色（泳道） “受理人员” → （无）"]
    assert diff["changed"][0]["details"] == [
        {"label": "id", "before": "acceptance_overdue", "after": "acceptance_late", "code": False},
        {"label": "办理角色（泳道）", "before": "受理人员", "after": None, "code": False}]

    preview = beian("bpmn", "migrate", "filing_application", "--from", "1", "--to", "2", "--dry-run",
                    now="2026-09-25T10:00+08:00", as_json=False)
    assert f"{case}（可迁移）" in preview.out and "（预览，未作任何更改）" in preview.out
    timer = "定时 受理期限届满（acceptance_overdue）：到期时间不变：2026-10-16 00:00，id 改为 acceptance_late"
    assert timer in preview.out
    assert [v["running"] for v in beian.json("bpmn", "versions", "filing_application")] == [2, 0]

    assert "不是第 1 版上运行中的案件：BA2026-99999" in beian(
        "bpmn", "migrate", "filing_application", "--from", "1", "--to", "2", "--case", "BA2026-99999", expect=4).err
    moved = beian.json("bpmn", "migrate", "filing_application", "--from", "1", "--to", "2", "--case", case,
                       now="2026-09-25T10:00+08:00")
    assert moved["migrated"] == [case] and [c["case_id"] for c in moved["cases"]] == [case]
    assert [v["running"] for v in beian.json("bpmn", "versions", "filing_application")] == [1, 1]
    assert beian.json("bpmn", "migrate", "filing_application", "--from", "1", "--to", "2",
                      now="2026-09-25T10:00+08:00")["migrated"] == [other]
    assert [v["running"] for v in beian.json("bpmn", "versions", "filing_application")] == [0, 2]
    shown = beian.json("show", case, now="2026-09-25T10:00+08:00")
    assert [d["due"] for d in shown["deadlines"]] == ["2026-10-16T00:00:00+08:00"]
    service = Service(beian.url)
    try:
        with service.uow() as uow:
            timers = uow.repo.timers(uow.repo.instance(case).id)
            assert [(t.bpmn_id, t.due_at.astimezone(SHANGHAI).isoformat()) for t in timers] == [
                ("acceptance_late", "2026-10-16T00:00:00+08:00")]  # renamed, due as computed on application
    finally:
        service.close()
    assert shown["history"][-1]["actor"] == "process-owner" and "第 1 版 → 第 2 版" in shown["history"][-1]["summary"]
    # Nothing to move back from an empty version; an unknown version is named.
    assert "没有第 9 版" in beian("bpmn", "migrate", "filing_application", "--from", "9", "--to", "2", expect=3).err
