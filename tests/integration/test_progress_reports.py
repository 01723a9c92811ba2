"""Long work tells how far it is (workflows/on_progress.py): simulate, migrate and calendar load call the callback
with counts that only grow and end at their total; nothing else changes in what they do or return."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support.scenarios import at
from workflows.definitions import read_source
from workflows.service import Beian
from workflows.simulation import simulate
from workflows.simulation_profile import merge, profile_from_data

ARRANGEMENT_2027 = ROOT / "examples" / "calendar-2027.json"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def __call__(self, done: int, total: int, what: str) -> None:
        self.calls.append((done, total, what))

    def check(self, label: str) -> list[int]:
        """The counts reported for `label`, after checking they only grow and end at the total."""
        mine = [(done, total) for done, total, what in self.calls if what == label]
        assert mine, f"no progress reported for {label}: {self.calls}"
        counts = [done for done, _ in mine]
        assert counts == sorted(counts) and counts[-1] == mine[-1][1], mine
        return counts


@pytest.fixture
def app(backend_url: str) -> Iterator[Beian]:
    service = Beian(backend_url)
    try:
        yield service
    finally:
        service.close()


def test_simulate_reports_the_simulated_days_of_each_version() -> None:
    default = json.loads((ROOT / "bpmn" / "simulation" / "profile.json").read_text(encoding="utf-8"))
    profile = profile_from_data(merge(default, {"horizon": {"days_after_until": 20}}), "测试配置")
    recorder = Recorder()
    report = simulate("filing_application", cases=2, first=date(2026, 9, 1), last=date(2026, 9, 1), profile=profile,
                      on_progress=recorder)
    [label] = {what for _, _, what in recorder.calls}
    assert label.startswith("模拟") and report["versions"][0]["started"] == 2
    days = recorder.check(label)
    assert days[-1] == recorder.calls[-1][1] > 1


def test_calendar_load_reports_each_case_it_recomputes(app: Beian, application: dict[str, Any]) -> None:
    with at("2026-12-29T09:00:00+08:00"):
        app.init()
        cases = [app.cases.apply(application)["case"] for _ in range(2)]  # deadlines in 2027: provisional
        recorder = Recorder()
        loaded = app.calendar.load(json.loads(ARRANGEMENT_2027.read_text(encoding="utf-8")), on_progress=recorder)
    assert sorted(loaded["recomputed_cases"]) == sorted(cases)
    assert recorder.check("重新计算暂定期限") == [0, 1, 2]


def test_migrate_reports_the_cases_it_checks_and_moves(app: Beian, application: dict[str, Any],
                                                      tmp_path: Path) -> None:
    (tmp_path / "forms").symlink_to(ROOT / "bpmn" / "forms")
    renamed = (ROOT / "bpmn" / "filing_application.bpmn").read_text(encoding="utf-8").replace(
        'name="受理审查"', 'name="受理审查（新版）"', 1)
    (tmp_path / "filing_application.bpmn").write_text(renamed, encoding="utf-8")
    with at("2026-09-24T10:00:00+08:00"):
        app.init()
        for _ in range(3):
            app.cases.apply(application)
        app.processes.deploy(read_source(tmp_path / "filing_application.bpmn"), actor="process-owner")
        preview = Recorder()
        app.processes.migrate("filing_application", 1, 2, actor="preview", dry_run=True, on_progress=preview)
        moving = Recorder()
        result = app.processes.migrate("filing_application", 1, 2, actor="process-owner", on_progress=moving)
    assert preview.check("核对运行中的案件") == [0, 1, 2, 3] and "迁移案件" not in {w for _, _, w in preview.calls}
    assert moving.check("迁移案件") == [0, 1, 2, 3] and len(result["migrated"]) == 3
