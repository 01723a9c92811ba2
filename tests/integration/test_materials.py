"""A case's materials as files (workflows/service/materials.py): uploaded against the region's checklist, each upload
a new version, nothing ever replaced, the bytes read back exactly, refusals storing nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from adapters.outside.db import AuditEvent, Material, MaterialContent
from tasks.errors import IllegalEvent, NotFound
from tasks.materials import MaterialRefused
from tasks.regions import profile_for_region
from workflows import clock
from workflows.service import Beian
from workflows.service.materials import checked_upload

RECEIVED = datetime.fromisoformat("2026-10-12T10:00:00+08:00")
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    with clock.using_clock(clock.VirtualClock(RECEIVED)):
        service.init()
    try:
        yield service
    finally:
        service.close()


def without_online_routes(application: dict[str, Any]) -> dict[str, Any]:
    """The application declaring its materials by title only: none verifiable online, so each needs a file."""
    return {**application, "materials": [{"kind": m["kind"], "title": m["title"]} for m in application["materials"]]}


@pytest.fixture
def case(app: Beian, application: dict[str, Any]) -> str:
    with clock.using_clock(clock.VirtualClock(RECEIVED)):
        return str(app.cases.apply(without_online_routes(application))["case"])


def _precheck(app: Beian, case: str) -> dict[str, Any]:
    acceptance = next(t for t in app.cases.tasks(case) if t["bpmn_id"] == "acceptance")
    return dict(acceptance["context"]["precheck"])


def _item(listed: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(entry for entry in listed if entry["item"] == key)


def _counts(app: Beian) -> tuple[int, int]:
    with app.reading() as uow:
        return (uow.session.scalar(select(func.count()).select_from(Material)) or 0,
                uow.session.scalar(select(func.count()).select_from(MaterialContent)) or 0)


def test_the_checklist_is_the_regions_with_what_is_missing_marked(app: Beian, case: str) -> None:
    listed = app.materials.of_case(case)
    licence = _item(listed, "legal_person_certificate")
    assert licence["required"] and licence["missing"] and licence["versions"] == []
    assert "川人社办发〔2019〕94号 五" in licence["article"]
    assert _item(listed, "other")["required"] is False and _item(listed, "other")["missing"] is False

    app.materials.upload(case, "legal_person_certificate", "营业执照.pdf", PDF, actor="li.na")
    licence = _item(app.materials.of_case(case), "legal_person_certificate")
    assert not licence["missing"] and [v["file_name"] for v in licence["versions"]] == ["营业执照.pdf"]


def test_a_new_upload_is_a_new_version_and_the_old_one_stays(app: Beian, case: str) -> None:
    first = app.materials.upload(case, "site_equipment_proof", "场地.pdf", PDF, actor="li.na")
    second = app.materials.upload(case, "site_equipment_proof", "场地照片.png", PNG, actor="wang.fang")
    assert (first["version"], second["version"]) == (1, 2)
    versions = _item(app.materials.of_case(case), "site_equipment_proof")["versions"]
    assert [(v["version"], v["file_name"], v["uploaded_by"]) for v in versions] == [
        (1, "场地.pdf", "li.na"), (2, "场地照片.png", "wang.fang")]

    view, content = app.materials.open(first["id"])
    assert content == PDF and view["media_type"] == "application/pdf" and view["inline"] is True
    assert view["sha256"] == hashlib.sha256(PDF).hexdigest() and view["size"] == len(PDF)
    assert app.materials.open(second["id"])[1] == PNG

    with app.reading() as uow:
        summaries = [e.summary for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.case_id == case, AuditEvent.action == "material_uploaded"))]
    name = _item(app.materials.of_case(case), "site_equipment_proof")["name"]
    assert summaries == [f"上传材料：{name}（第 1 版）场地.pdf", f"上传材料：{name}（第 2 版）场地照片.png"]


def test_the_same_bytes_are_stored_once(app: Beian, case: str) -> None:
    app.materials.upload(case, "work_plan", "方案.pdf", PDF, actor="li.na")
    app.materials.upload(case, "management_rules", "制度.pdf", PDF, actor="li.na")
    assert _counts(app) == (2, 1)


@pytest.mark.parametrize(("item", "name", "content", "error", "reason"), [
    ("work_plan", "方案.pdf", b"", MaterialRefused, "是空文件"),
    ("work_plan", "方案.pdf", b"<html>", MaterialRefused, "内容不是PDF"),
    ("work_plan", "方案.exe", b"MZ", MaterialRefused, "只接受"),
    ("no_such_item", "方案.pdf", PDF, MaterialRefused, "不是四川省申请材料清单中的材料"),
])
def test_a_refused_upload_stores_nothing(app: Beian, case: str, item: str, name: str, content: bytes,
                                         error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        app.materials.upload(case, item, name, content, actor="li.na")
    assert _counts(app) == (0, 0)


def test_unknown_cases_and_materials_are_not_found(app: Beian) -> None:
    with pytest.raises(NotFound, match="案件 NOPE 不存在"):
        app.materials.upload("NOPE", "work_plan", "方案.pdf", PDF, actor="li.na")
    with pytest.raises(NotFound, match="案件 NOPE 不存在"):
        app.materials.of_case("NOPE")
    with pytest.raises(NotFound, match="材料 99999 不存在"):
        app.materials.open(99999)
    assert _counts(app) == (0, 0)


def test_a_finished_case_takes_no_more_materials(app: Beian, case: str) -> None:
    with app.uow() as uow:
        instance = uow.repo.instance(case, for_update=True)
        assert instance is not None
        instance.completed_at = RECEIVED
        uow.commit()
    with pytest.raises(IllegalEvent, match="已办结，不能再上传材料"):
        app.materials.upload(case, "work_plan", "方案.pdf", PDF, actor="li.na")


@pytest.mark.parametrize("statement", ["UPDATE materials SET file_name = 'x.pdf'", "DELETE FROM materials",
                                       "UPDATE material_contents SET size = 0", "DELETE FROM material_contents"])
def test_the_database_refuses_to_change_a_submitted_file(app: Beian, case: str, statement: str) -> None:
    app.materials.upload(case, "work_plan", "方案.pdf", PDF, actor="li.na")
    with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
        connection.execute(text(statement))
    assert app.materials.open(_item(app.materials.of_case(case), "work_plan")["versions"][0]["id"])[1] == PDF


def test_uploads_of_one_item_at_the_same_moment_get_distinct_versions(app: Beian, case: str) -> None:
    """Two caseworkers (two threads, two connections) upload the same item at once: the case's lock orders them, so
    both are kept as versions 1 and 2 and neither fails."""
    start = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def upload(name: str) -> None:
        try:
            start.wait(timeout=10)
            results.append(app.materials.upload(case, "work_plan", name, PDF + name.encode(), actor=name)["version"])
        except BaseException as exc:  # noqa: BLE001 — reported below, where the test can fail on it
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(name,)) for name in ("a.pdf", "b.pdf")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads) and errors == []
    assert sorted(results) == [1, 2]
    assert _counts(app) == (2, 2)


def test_files_given_with_the_application_are_kept_before_the_prechecks_see_them(
        app: Beian, application: dict[str, Any]) -> None:
    application = without_online_routes(application)
    required = [item.key for item in profile_for_region(application["region"]).required_materials("employer")]
    files = [checked_upload(key, f"{key}.pdf", PDF + key.encode()) for key in required]
    with clock.using_clock(clock.VirtualClock(RECEIVED)):
        case = str(app.cases.apply(application, files=files, actor="窗口收件")["case"])
    assert _precheck(app, case) == {"passed": True, "failures": []}
    listed = app.materials.of_case(case)
    assert all(not entry["missing"] for entry in listed)
    assert [(v["version"], v["uploaded_by"]) for v in _item(listed, "work_plan")["versions"]] == [(1, "窗口收件")]


def test_missing_required_materials_reach_the_clerk_by_name_with_their_article(
        app: Beian, application: dict[str, Any]) -> None:
    application = without_online_routes(application)
    # The licence can be checked online (Sichuan 五): declared with its route, it needs no file.
    application["materials"][1]["reference"] = "国家企业信用信息公示系统，统一社会信用代码 91510104MA6C8H2K5N"
    files = [checked_upload("application_form", "申请表.pdf", PDF)]
    with clock.using_clock(clock.VirtualClock(RECEIVED)):
        case = str(app.cases.apply(application, files=files)["case"])
    precheck = _precheck(app, case)
    assert [f["code"] for f in precheck["failures"]] == ["materials"]
    failure = precheck["failures"][0]
    assert failure["message"].startswith("缺少必备申请材料 6 项：评价职业（工种）及评价采用的职业标准或规范、")
    assert "申请表" not in failure["message"] and "法人登记证书" not in failure["message"]
    assert "川人社办发〔2019〕94号 五" in failure["article"]
    listed = app.materials.of_case(case)
    licence = _item(listed, "legal_person_certificate")
    assert not licence["missing"] and licence["versions"] == []
    assert licence["declared"] == [{"title": "营业执照复印件", "online": application["materials"][1]["reference"]}]
    assert [entry["item"] for entry in listed if entry["missing"]] == [
        "occupations_and_standards", "question_bank", "site_equipment_proof", "staff_qualifications",
        "management_rules", "work_plan"]


def test_an_application_with_a_file_off_its_checklist_registers_nothing(
        app: Beian, application: dict[str, Any]) -> None:
    files = [checked_upload("application_form", "申请表.pdf", PDF),
             checked_upload("district_hr_consent", "区人社局同意意见.pdf", PDF)]  # Shanghai's, not Sichuan's
    with clock.using_clock(clock.VirtualClock(RECEIVED)), \
            pytest.raises(MaterialRefused, match="“district_hr_consent”不是四川省申请材料清单中的材料"):
        app.cases.apply(application, files=files)
    with pytest.raises(MaterialRefused, match="内容不是PDF"):
        checked_upload("application_form", "申请表.pdf", b"<html>")
    assert _counts(app) == (0, 0)
    assert app.cases.tasks() == []
