"""A new version of a process: new cases start on it, cases under way finish on the version they started with, and
`versions` counts the running cases of each (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.outside.db import AuditEvent
from tasks.errors import NotFound
from tests.conftest import EXAMPLE_APPLICATION, ROOT
from workflows.definitions import read_source
from workflows.service import Beian


def test_new_cases_take_the_new_version_and_running_ones_keep_theirs(backend_url: str, tmp_path: Path) -> None:
    app = Beian(backend_url)
    try:
        app.init()
        application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
        old_case = app.cases.apply(application)["case"]

        shutil.copytree(ROOT / "bpmn", tmp_path / "bpmn")
        changed = tmp_path / "bpmn" / "filing_application.bpmn"
        changed.write_text(changed.read_text(encoding="utf-8").replace(
            'name="受理审查"', 'name="受理审查（新版）"', 1), encoding="utf-8")
        deployed = app.processes.deploy(read_source(changed), actor="process-owner")
        assert deployed == {"process": "filing_application", "version": 2, "deployed": True,
                            "new_process": False}
        # the same content: no version 3
        assert app.processes.deploy(read_source(changed), actor="process-owner")["deployed"] is False

        new_case = app.cases.apply(application)["case"]
        names = {t["case"]: t["name"] for t in app.cases.tasks()}
        assert names == {old_case: "受理审查", new_case: "受理审查（新版）"}
        versions = app.processes.versions("filing_application")
        assert [(v["version"], v["running"], v["instances"], v["latest"]) for v in versions] == [
            (1, 1, 1, False), (2, 1, 1, True)]
        assert versions[1]["deployed_by"] == "process-owner" and len(versions[1]["sha256"]) == 64

        # The old case goes on on version 1.
        (task,) = [t for t in app.cases.tasks(old_case)]
        app.cases.complete(task["id"], {"decision": "reject", "reasons": "不属于技能类职业"})
        assert app.records.show(old_case)["case_status"] == "not_filed"
        assert [(v["version"], v["running"]) for v in app.processes.versions("filing_application")] == [(1, 0), (2, 1)]
        with app.uow() as uow:  # deploying is audited: who, when, which file content
            audited = [(e.actor, e.detail["sha256"]) for e in uow.session.scalars(select(AuditEvent).where(
                AuditEvent.action == "definition_deployed")) if e.detail.get("version") == 2]
        assert audited == [("process-owner", versions[1]["sha256"])]
        with pytest.raises(NotFound):
            app.processes.versions("no_such_process")
    finally:
        app.close()


def test_a_restart_keeps_the_process_owners_version_and_an_upgraded_bundled_file_still_deploys(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = Beian(backend_url)
    try:
        app.init()
        shutil.copytree(ROOT / "bpmn", tmp_path / "bpmn")
        changed = tmp_path / "bpmn" / "filing_application.bpmn"
        changed.write_text(changed.read_text(encoding="utf-8").replace(
            'name="受理审查"', 'name="受理审查（流程管理员修改）"', 1), encoding="utf-8")
        assert app.processes.deploy(read_source(changed), actor="process-owner")["version"] == 2

        # `beian up` again: the bundled file was deployed before (version 1), so the owner's version 2 stays latest.
        again = {d["process"]: d for d in app.init()}
        assert again["filing_application"] == {"process": "filing_application", "version": 2, "deployed": False}
        assert app.processes.versions("filing_application")[-1]["deployed_by"] == "process-owner"

        # A software upgrade whose bundled file changed is deployed as a new version.
        upgraded = tmp_path / "upgrade"
        shutil.copytree(ROOT / "bpmn", upgraded)
        bundled = upgraded / "filing_application.bpmn"
        bundled.write_text(bundled.read_text(encoding="utf-8").replace(
            'name="受理审查"', 'name="受理审查（升级）"', 1), encoding="utf-8")
        monkeypatch.setenv("BEIAN_BPMN_DIR", str(upgraded))
        assert {d["process"]: d for d in app.init()}["filing_application"]["version"] == 3
    finally:
        app.close()
