"""`beian apply --material KIND=FILE` (scripted intake with its files) and `beian cases` (finding a case), as typed,
including what they refuse: in Chinese, with nothing registered. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasks.materials import MAX_MATERIAL_BYTES
from tests.conftest import Beian

RECEIVED = "2026-10-12T10:00:00+08:00"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def _without_online_routes(application: dict[str, Any]) -> dict[str, Any]:
    return {**application, "materials": [{"kind": m["kind"], "title": m["title"]} for m in application["materials"]]}


def _apply_with_options(beian: Beian, write_json: Any, application: dict[str, Any], *options: str,
                        expect: int = 0) -> Any:
    path = write_json(application, "application.json")
    return beian("apply", path, "--received-at", RECEIVED, *options, now=RECEIVED, expect=expect)


def test_files_given_with_the_application_are_its_first_versions(beian: Beian, write_json: Any, tmp_path: Path,
                                                                application: dict[str, Any]) -> None:
    beian.json("init")
    (tmp_path / "工作方案.pdf").write_bytes(PDF)
    (tmp_path / "licence.pdf").write_bytes(PDF + b"% licence\n")
    result = _apply_with_options(beian, write_json, _without_online_routes(application),
                    "--material", f"work_plan={tmp_path / '工作方案.pdf'}",
                    "--material", f"legal_person_certificate={tmp_path / 'licence.pdf'}")
    case = result.json["case"]
    [acceptance] = beian.json("tasks", "--case", case)
    [failure] = acceptance["context"]["precheck"]["failures"]
    assert failure["code"] == "materials" and failure["message"].startswith("缺少必备申请材料 6 项：")
    assert "工作方案" not in failure["message"] and "法人登记证书" not in failure["message"]
    history = json.dumps(beian.json("show", case)["history"], ensure_ascii=False)
    assert "上传材料：职业技能等级认定试点工作方案（第 1 版）工作方案.pdf" in history


@pytest.mark.parametrize(("option", "message"), [
    ("work_plan", "--material 应写成“材料类别=文件路径”"),
    ("=plan.pdf", "--material 应写成“材料类别=文件路径”"),
    ("work_plan={dir}/fake.pdf", "文件“fake.pdf”的内容不是PDF，与扩展名 .pdf 不符"),
    ("work_plan={dir}/empty.pdf", "文件“empty.pdf”是空文件"),
    ("work_plan={dir}/huge.pdf", "文件“huge.pdf”过大（20.0 MB），每个文件不能超过 20 MB"),
    ("work_plan={dir}/setup.exe", "扩展名 .exe"),
    ("work_plan={dir}", "是一个文件夹，请给出文件"),
    ("work_plan={dir}/missing.pdf", "无法读取材料文件"),
    ("district_hr_consent={dir}/plan.pdf", "“district_hr_consent”不是四川省申请材料清单中的材料"),
])
def test_a_file_that_cannot_be_taken_registers_nothing(beian: Beian, write_json: Any, tmp_path: Path,
                                                       application: dict[str, Any], option: str,
                                                       message: str) -> None:
    beian.json("init")
    (tmp_path / "plan.pdf").write_bytes(PDF)
    (tmp_path / "fake.pdf").write_bytes(b"<html><script>alert(1)</script></html>")
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "setup.exe").write_bytes(b"MZ\x90\x00")
    with (tmp_path / "huge.pdf").open("wb") as huge:  # sparse: its size is refused before anything is read
        huge.truncate(MAX_MATERIAL_BYTES + 1)
    result = _apply_with_options(beian, write_json, application, "--material", option.format(dir=tmp_path), expect=None)
    assert result.code != 0 and message in result.err, result.err
    assert beian.json("cases")["total"] == 0


def test_cases_are_found_by_part_of_the_name_and_listed_a_page_at_a_time(beian: Beian, write_json: Any,
                                                                         application: dict[str, Any]) -> None:
    beian.json("init")
    first = _apply_with_options(beian, write_json, application).json["case"]
    second = _apply_with_options(beian, write_json, application).json["case"]
    found = beian.json("cases", "--search", "锦城", "--per-page", "1", "--page", "2")
    assert [c["case"] for c in found["cases"]] == [first] and (found["total"], found["pages"]) == (2, 2)
    assert found["cases"][0]["status_label"] == "已申请（受理审查中）"
    typed = beian("cases", "--search", second, as_json=False).out
    assert typed.splitlines() == [f"{second}  成都锦城精工机械制造有限公司  四川省成都市 510104  已申请（受理审查中）  "
                                  "收件 2026-10-12", "共 1 件（第 1/1 页）"]
    assert beian.json("cases", "--group", "finished", "--received-from", "2026-10-12")["total"] == 0
    for options, message in ((("--per-page", "500"), "每页 1 至 200 件"),
                             (("--received-from", "12/10/2026"), "--received-from 应为日期（YYYY-MM-DD）"),
                             (("--search", "锦" * 101), "搜索内容过长"),
                             (("--region", "51"), "地区“51”应为 6 位行政区划代码")):
        result = beian("cases", *options, expect=None)
        assert result.code != 0 and message in result.err


def test_a_resubmission_from_the_command_line_brings_corrected_fields_and_files(
        beian: Beian, write_json: Any, tmp_path: Path, application: dict[str, Any]) -> None:
    beian.json("init")
    case = _apply_with_options(beian, write_json, application).json["case"]
    [acceptance] = beian.json("tasks", "--case", case)
    beian("complete", acceptance["id"], "--data",
          json.dumps({"decision": "supplement", "missing_items": ["work_plan"], "reasons": "方案缺考评人员安排"}),
          now="2026-10-13T10:00:00+08:00")
    (tmp_path / "方案.pdf").write_bytes(PDF)
    corrected = {**application, "institution": {**application["institution"], "phone": "028-87654321"}}
    done = beian("resubmit", case, "--application", write_json(corrected, "corrected.json"),
                 "--material", f"work_plan={tmp_path / '方案.pdf'}", "--note", "已补充", "--json",
                 now="2026-10-15T10:00:00+08:00")
    assert [c["field"] for c in done.json["changes"]] == ["联系电话"] and done.json["materials"][0]["version"] == 1
    [again] = beian.json("tasks", "--case", case)
    assert again["bpmn_id"] == "acceptance"
    late = beian("resubmit", case, "--note", "再补一份", expect=5, now="2026-10-15T11:00:00+08:00")
    assert "当前不在等待补正材料，未登记" in late.err  # the acceptance is open again: nothing to resubmit
