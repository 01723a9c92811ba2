"""The Alembic migrations and the models agree; definitions deploy as versions; a broken BPMN file is refused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from adapters.outside.db import Base, make_engine
from adapters.outside.schema import upgrade
from tests.conftest import Beian
from tests.support.scenarios import apply, task


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # UTCDateTime is stored as a plain DATETIME by design; any other difference means a missing migration.
    assert [d for d in differences if not (isinstance(d, tuple) and d[0] == "modify_type")] == []


def test_init_twice_deploys_once_and_a_changed_file_becomes_a_new_version(tmp_path: Path, bpmn_copy: Path,
                                                                           write_json: Any,
                                                                           application: dict[str, Any],
                                                                           monkeypatch: Any) -> None:
    monkeypatch.setenv("BEIAN_BPMN_DIR", str(bpmn_copy))
    cli = Beian(tmp_path / "versions.sqlite3")
    first = cli.json("init")["definitions"]
    assert {"process": "filing_application", "version": 1, "deployed": True, "new_process": True} in first
    assert all(d["version"] == 1 and d["deployed"] for d in first)
    assert not any(d["deployed"] for d in cli.json("init")["definitions"])
    old_case = apply(cli, write_json, application)

    # A process owner renames the acceptance task: a new version; the running case stays on version 1.
    path = bpmn_copy / "filing_application.bpmn"
    path.write_text(path.read_text(encoding="utf-8").replace('name="受理审查"', 'name="受理审查（新版）"'),
                    encoding="utf-8")
    assert [d for d in cli.json("init")["definitions"] if d["deployed"]] == [
        {"process": "filing_application", "version": 2, "deployed": True, "new_process": False}]
    new_case = apply(cli, write_json, application)
    assert task(cli, old_case, "acceptance")["name"] == "受理审查"
    assert task(cli, new_case, "acceptance")["name"] == "受理审查（新版）"


def test_broken_bpmn_is_refused_with_its_file_and_line(tmp_path: Path, bpmn_copy: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("BEIAN_BPMN_DIR", str(bpmn_copy))
    path = bpmn_copy / "filing_application.bpmn"
    path.write_text(path.read_text(encoding="utf-8").replace("</bpmn:process>", "</bpmn:proces>"), encoding="utf-8")
    result = Beian(tmp_path / "broken.sqlite3")("init", expect=7)
    assert "filing_application.bpmn" in result.err and "行" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_bpmn_with_a_forbidden_expression_is_not_deployed(tmp_path: Path, bpmn_copy: Path, write_json: Any,
                                                           application: dict[str, Any], monkeypatch: Any) -> None:
    monkeypatch.setenv("BEIAN_BPMN_DIR", str(bpmn_copy))
    path = bpmn_copy / "filing_application.bpmn"
    xml = path.read_text(encoding="utf-8")
    assert "within_working_days(acceptance_clock_start(received_at)" in xml
    forbidden = "__import__('os').getcwd() or within_working_days(acceptance_clock_start(received_at)"
    path.write_text(xml.replace("within_working_days(acceptance_clock_start(received_at)", forbidden), encoding="utf-8")
    cli = Beian(tmp_path / "forbidden.sqlite3")
    refused = cli("init", expect=7)  # the deployment check refuses it (the engine would refuse it at run time too)
    assert "set_acceptance_deadline" in refused.err and "不允许" in refused.err and "未部署" in refused.err
    assert "尚未部署备案申请流程" in cli("apply", write_json(application), expect=3).err
    assert cli.json("tasks") == []


def test_demo_walks_a_filing_to_its_receipt(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    cli = Beian(tmp_path / "demo.sqlite3")
    result = cli("demo", "--out", str(out), as_json=False)
    assert "备案编号" in result.out and "已备案" in result.out and "续期评估中" in result.out
    assert "2029-10-17 至 2032-10-16" in result.out
    receipts = list(out.glob("*-filing_receipt.html"))
    assert len(receipts) == 1 and "【演示数据】" in receipts[0].read_text(encoding="utf-8")
    assert os.path.exists(cli.db)
