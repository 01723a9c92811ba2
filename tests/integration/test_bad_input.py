"""Bad input at every entry of the service, on SQLite and PostgreSQL (where a NUL cannot even be stored): a clear
Chinese refusal naming the field, and nothing changed. Task forms, drafts, message payloads, applications, display
names and sign-in names; the diagram size limit at `bpmn check`, `bpmn deploy` and `Beian.deploy`."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.outside.db import Instance, ProcessDefinition, SignInAttempt
from tasks.errors import DefinitionError, InvalidInput
from tasks.limits import MAX_DIAGRAM_BYTES, MAX_FORM_BYTES, MAX_FORM_SCHEMA_BYTES, MAX_MESSAGE_BYTES
from tests.conftest import EXAMPLE_APPLICATION, ROOT, Beian
from workflows.definitions import read_source
from workflows.service import Beian as Service
from workflows.users import add_user, authenticate, list_users

INVALID_INPUT = InvalidInput.exit_code
DEFINITION_ERROR = DefinitionError.exit_code


@pytest.fixture
def service(beian: Beian) -> Any:
    app = Service(beian.url)
    yield app
    app.close()


def _acceptance(beian: Beian) -> tuple[str, str]:
    case = beian.json("apply", str(EXAMPLE_APPLICATION))["case"]
    (task,) = [t for t in beian.json("tasks", "--case", case) if t["bpmn_id"] == "acceptance"]
    return case, task["id"]


def test_an_unclean_task_form_is_refused_with_the_field_named_and_the_task_stays_open(beian: Beian,
                                                                                   service: Service) -> None:
    case, task = _acceptance(beian)
    refused = beian("complete", task, "--data", json.dumps({"decision": "reject", "reasons": "材料\u202e不全"}),
                    expect=INVALID_INPUT)
    assert "reasons（理由或需补正的材料）：含有改变文字显示方向的控制字符 U+202E" in refused.err
    with pytest.raises(InvalidInput, match="含有控制字符 U\\+0000"):
        service.cases.complete(task, {"decision": "reject", "reasons": "材料\x00不全"})
    with pytest.raises(InvalidInput, match="不能为空（只填了空格或不可见字符）"):
        service.cases.complete(task, {"decision": "reject", "reasons": "\u200b\u2060"})
    with pytest.raises(InvalidInput, match="表单数据过大"):
        service.cases.complete(task, {"decision": "reject", "reasons": "x" * (MAX_FORM_BYTES + 1)})
    assert [t["id"] for t in beian.json("tasks", "--case", case)] == [task]
    assert beian.json("show", case)["case_status"] == "applied"


def test_an_unclean_draft_is_not_kept(beian: Beian, service: Service) -> None:
    _, task = _acceptance(beian)
    with pytest.raises(InvalidInput, match="栏目 reasons：含有控制字符 U\\+0000"):
        service.cases.save_draft(task, {"decision": "reject", "reasons": "材料\x00不全"})
    with pytest.raises(InvalidInput, match="栏目 reasons：含有改变文字显示方向"):
        service.cases.save_draft(task, {"reasons": "\u2067材料"})
    assert service.cases.task(task)["draft"] is None
    service.cases.save_draft(task, {"reasons": "第一行\n第二行"})  # line breaks are what a textarea holds
    assert service.cases.task(task)["draft"] == {"reasons": "第一行\n第二行"}


def test_an_unclean_message_is_refused_before_anything_is_looked_up(beian: Beian, service: Service) -> None:
    case, _ = _acceptance(beian)
    objection = beian("send", "objection", "--case", case, "--data",
                      json.dumps({"objector": "张三", "content": "\u202e议异"}), expect=INVALID_INPUT)
    assert "“公示期异议”消息内容有误" in objection.err and "content：含有改变文字显示方向" in objection.err
    report = beian("send", "violation_report", "--case", "川技评备〔2026〕0001号", "--data",
                   json.dumps({"ground": "beyond_scope", "facts": "超范围\x07评价"}), expect=INVALID_INPUT)
    assert "facts：含有控制字符 U+0007" in report.err
    with pytest.raises(InvalidInput, match="rate：不是有效的数字"):
        service.cases.send("statement", case, {"rate": math.inf})
    with pytest.raises(InvalidInput, match="消息内容过大"):
        service.cases.send("objection", case, {"objector": "张三", "content": "异" * MAX_MESSAGE_BYTES})
    assert beian.json("show", case)["history"] == service.records.show(case)["history"]
    assert [h["action"] for h in service.records.show(case)["history"]].count("message_received") == 0


def test_an_application_with_a_non_finite_number_starts_no_case(service: Service) -> None:
    application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    application["sites"][0]["area_m2"] = math.nan
    with pytest.raises(InvalidInput, match=r"sites\[0\]\.area_m2（场地第1项·面积（平方米））：不是有效的数字"):
        service.cases.apply(application)
    application["sites"][0]["area_m2"] = 1200
    application["institution"]["name"] = "成都\x00精工"
    with pytest.raises(InvalidInput, match="institution.name（机构名称）：含有控制字符 U\\+0000"):
        service.cases.apply(application)
    with service.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Instance)) == 0


@pytest.mark.parametrize(("name", "expected"), [
    ("\u200b \u3000", "显示名不能为空（只填了空格或不可见字符）"),
    ("李\u202e娜", "显示名含有改变文字显示方向的控制字符 U+202E"),
    ("李\x00娜", "显示名含有控制字符 U+0000"),
])
def test_a_display_name_must_be_a_clean_visible_text(service: Service, name: str, expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected.replace("+", "\\+")):
        add_user(service, "li.na", name, "correct-horse-1", ["intake"], "510100", actor="test")
    assert list_users(service) == []


def test_a_sign_in_name_with_a_nul_is_a_failed_sign_in_not_a_crash(service: Service) -> None:
    add_user(service, "li.na", "李娜", "correct-horse-1", ["intake"], "510100", actor="test")
    assert authenticate(service, "li.na\x00", "correct-horse-1", client="10.0.0.\x001") is None
    with service.uow() as uow:
        attempts = [(a.username, a.client, a.outcome) for a in uow.session.scalars(select(SignInAttempt))]
    assert attempts == [("li.na\ufffd", "10.0.0.\ufffd1", "failure")]


# --- the diagram size -----------------------------------------------------------------------------------------------


def _padded_bpmn(folder: Path) -> Path:
    """The bundled filing diagram, valid in every way but its size: a comment after the root element."""
    shutil.copytree(ROOT / "bpmn", folder)
    path = folder / "filing_application.bpmn"
    xml = path.read_text(encoding="utf-8")
    path.write_text(xml + "<!--" + "x" * (MAX_DIAGRAM_BYTES - len(xml.encode())) + "-->\n", encoding="utf-8")
    return path


def _versions(service: Service) -> list[int]:
    with service.uow() as uow:
        return list(uow.session.scalars(select(ProcessDefinition.version).where(
            ProcessDefinition.process_id == "filing_application")))


def test_a_diagram_over_the_limit_is_refused_by_check_deploy_and_the_service(beian: Beian, service: Service,
                                                                             tmp_path: Path) -> None:
    padded = _padded_bpmn(tmp_path / "bpmn")
    checked = beian("bpmn", "check", str(padded), expect=DEFINITION_ERROR)
    (finding,) = checked.json["findings"]
    assert (finding["code"], finding["severity"]) == ("too-large", "error")
    assert finding["message"].startswith("BPMN 文件 filing_application.bpmn 过大（5.0 MB），上限为 5 MB")
    deploy = beian("bpmn", "deploy", str(padded), expect=DEFINITION_ERROR)
    assert "过大" in deploy.err and "未部署" in deploy.err
    with pytest.raises(DefinitionError, match="过大"):
        read_source(padded)  # refused by its size, before it is read
    source = read_source(ROOT / "bpmn" / "filing_application.bpmn")
    huge = source.bpmn_xml + "<!--" + "x" * MAX_DIAGRAM_BYTES + "-->"
    assert [f.code for f in service.processes.check(huge, source.file_name, source.forms)] == ["too-large"]
    with pytest.raises(DefinitionError, match="过大"):
        service.processes.deploy(type(source)(source.process_id, source.name, source.file_name, huge, source.forms,
                                    "a" * 64), actor="process-owner")
    assert _versions(service) == [1]


def test_a_form_schema_over_the_limit_is_refused(beian: Beian, service: Service, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "bpmn", tmp_path / "bpmn")
    form = tmp_path / "bpmn" / "forms" / "acceptance.schema.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    schema["description"] = "说" * MAX_FORM_SCHEMA_BYTES
    form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    path = str(tmp_path / "bpmn" / "filing_application.bpmn")
    checked = beian("bpmn", "check", path, expect=DEFINITION_ERROR)
    assert any(f["code"] == "form-invalid" and "acceptance.schema.json 过大" in f["message"]
               for f in checked.json["findings"])
    beian("bpmn", "deploy", path, expect=DEFINITION_ERROR)
    assert _versions(service) == [1]
