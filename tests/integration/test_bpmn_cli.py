"""`beian bpmn deploy` and `versions` through the command line (SQLite and PostgreSQL): a file the check rejects is
refused and nothing is deployed; a changed file becomes a new version beside the old one."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ROOT, Beian

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
