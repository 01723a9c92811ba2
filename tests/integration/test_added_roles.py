"""Roles as data (issue 17): an administrator adds a role (法制审核员); a lane named by it passes the check only once
it exists, the version deploys, the task of that lane is that role's, a user given the role works on it and no one
else does, a role set at the provincial level is refused for a city's user, and another process that did not know
the role when it started still resolves the lane. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.outside.db import AuditEvent
from tasks.access import may_work_on
from tasks.errors import InvalidInput
from tasks.roles import role_label, use_added_roles
from tests.conftest import EXAMPLE_APPLICATION, ROOT
from tests.support.scenarios import at, open_task
from workflows.definitions import forget_parsed, read_source
from workflows.roles import add_role, list_roles
from workflows.service import Beian
from workflows.users import add_user

PASSWORD = "correct-horse-1"


def _legal_review_lane(tmp_path: Path) -> Path:
    (tmp_path / "forms").symlink_to(ROOT / "bpmn" / "forms")
    text = (ROOT / "bpmn" / "filing_application.bpmn").read_text(encoding="utf-8")
    assert text.count('name="专家评估协调员"') == 1
    path = tmp_path / "filing_application.bpmn"
    path.write_text(text.replace('name="专家评估协调员"', 'name="法制审核员"'), encoding="utf-8")
    return path


def test_an_added_role_names_a_lane_and_its_holders_do_its_tasks(backend_url: str, tmp_path: Path) -> None:
    app = Beian(backend_url)
    try:
        with at("2026-09-24T09:00:00+08:00"):
            app.init()
            source = read_source(_legal_review_lane(tmp_path))
            before = app.processes.check(source.bpmn_xml, source.file_name, source.forms)
            assert [(f.code, f.element_id) for f in before] == [("lane-role", "expert_review")]
            assert "beian roles add" in before[0].message

            add_role(app, "legal_review", "法制审核员", "审核备案决定的合法性", "any", actor="admin")
            with pytest.raises(InvalidInput, match="已被“法制审核员”使用"):
                add_role(app, "legal_review", "法务", "", "any", actor="admin")
            with pytest.raises(InvalidInput, match="已有"):
                add_role(app, "legal", "受理人员", "", "any", actor="admin")
            assert app.processes.check(source.bpmn_xml, source.file_name, source.forms) == []
            assert app.processes.deploy(source, actor="po")["version"] == 2
            case = app.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"]
        with at("2026-09-28T10:00:00+08:00"):
            app.cases.complete(open_task(app, case, "acceptance")["id"], {"decision": "accept"})
            task = app.cases.task(open_task(app, case, "expert_review")["id"])
        assert task["role"] == "legal_review" and role_label("legal_review") == "法制审核员"

        holder = add_user(app, "fa.shen", "法审", PASSWORD, ["legal_review"], task["authority"], actor="admin")
        other = add_user(app, "li.shou", "李受理", PASSWORD, ["intake"], task["authority"], actor="admin")
        assert holder.role_labels == ("法制审核员",)
        assert may_work_on(holder, task["role"], task["authority"])
        assert not may_work_on(other, task["role"], task["authority"])

        add_role(app, "provincial_legal", "省法制审核员", "", "province", actor="admin")
        with pytest.raises(InvalidInput, match="省级"):
            add_user(app, "fa.city", "市法审", PASSWORD, ["provincial_legal"], "510100", actor="admin")
        assert {r["key"]: r["added"] for r in list_roles(app)}["provincial_legal"] is True

        # Another process, started before the role existed: it resolves the lane when it meets the diagram.
        use_added_roles([])
        with app.reading() as uow:
            version_2 = uow.repo.latest_definition("filing_application")
            forget_parsed(version_2.id, version_2.sha256)
        with at("2026-09-28T11:00:00+08:00"):
            second = app.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"]
            app.cases.complete(open_task(app, second, "acceptance")["id"], {"decision": "accept"})
            assert open_task(app, second, "expert_review")["role"] == "legal_review"
        with app.reading() as uow:
            added = uow.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == "role_added")).all()
        assert added == ["新增角色 法制审核员（legal_review，不限）", "新增角色 省法制审核员（provincial_legal，省级）"]
    finally:
        app.close()
