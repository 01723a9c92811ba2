"""A deadline set in the modeller as a number of working days (`deadlineWorkingDays`, issue 17): counted on the
official calendar from the day the task opens, shown with how it was computed; refused when it is not a number of
days. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLE_APPLICATION, ROOT
from tests.support.scenarios import at, open_task
from workflows.bpmn_check import check_source
from workflows.definitions import read_source
from workflows.service import Beian

EXPERT_FORM = '<spiffworkflow:property name="formJsonSchemaFilename" value="expert_review.schema.json" />'


def _with_days(tmp_path: Path, days: str) -> Path:
    folder = tmp_path / f"days-{days}"
    folder.mkdir()
    (folder / "forms").symlink_to(ROOT / "bpmn" / "forms")
    text = (ROOT / "bpmn" / "filing_application.bpmn").read_text(encoding="utf-8")
    assert text.count(EXPERT_FORM) == 1
    days_property = f'<spiffworkflow:property name="deadlineWorkingDays" value="{days}" />'
    text = text.replace(EXPERT_FORM, EXPERT_FORM + days_property)
    path = folder / "filing_application.bpmn"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_task_with_seven_working_days_is_due_on_the_seventh_working_day_after_it_opens(
        backend_url: str, tmp_path: Path) -> None:
    app = Beian(backend_url)
    try:
        with at("2026-09-24T09:00:00+08:00"):
            app.init()
            assert app.processes.deploy(read_source(_with_days(tmp_path, "7")), actor="po")["version"] == 2
            case = app.cases.apply(json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8")))["case"]
        # Accepted on Monday 28 September 2026: 29, 30 September, then the National Day holiday (1–7 October) is
        # not counted, 8, 9 and 10 October (a Saturday made a working day), 12 and 13 October: the end of the 13th.
        with at("2026-09-28T10:00:00+08:00"):
            app.cases.complete(open_task(app, case, "acceptance")["id"], {"decision": "accept"})
            task = app.cases.task(open_task(app, case, "expert_review")["id"])
        assert task["due"] == "2026-10-14T00:00:00+08:00"
        assert "自2026年9月28日次日起算7个工作日" in task["deadline"]["explanation"]
    finally:
        app.close()


def test_a_deadline_that_is_not_a_number_of_days_is_refused(tmp_path: Path) -> None:
    for written in ("seven", "0", "400", "7.5"):
        source = read_source(_with_days(tmp_path, written))
        findings = check_source(source.bpmn_xml, source.file_name, source.forms)
        assert [(f.code, f.severity, f.element_id) for f in findings] == [
            ("deadline-days", "error", "expert_review")], written
