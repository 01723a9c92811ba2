"""A version run through its paths with synthetic cases before it is deployed (issue 17: "a check that proves the
diagram runs"), where no running case stands yet: workflows/service/trial_run.py.

- every bundled process runs through in every region without a failure and within the step budget (which is why
  `init` deploys them without the trial);
- a script that fails only on one choice of a later field, deep in the sanction (a warning imposed after the 告知):
  the check refuses the file, naming the element, the region and the way there;
- a branch that can never go on (a parallel join fed by an exclusive choice): a dead end, named;
- the check through a database (what the web pages and the deploy call) runs the trial too, and the deploy right after
  the check does not run it again."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import ROOT
from tests.support.diagram_edits import without
from tests.support.scenarios import at
from workflows.bpmn_check import Finding, check_files
from workflows.definitions import bundled_sources, read_source
from workflows.service import Beian
from workflows.service import trial_run as trial_module
from workflows.service.trial_run import TRIAL_APPLICANTS, trial_findings, trial_run

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
TODAY = "2026-12-02T09:00:00+08:00"  # a Wednesday: the cases begin the day after the trial's clock is set


@pytest.mark.parametrize("source", bundled_sources(), ids=lambda s: s.process_id)
def test_every_bundled_process_runs_through_in_every_region(source: object) -> None:
    with at(TODAY):
        report = trial_run(source)  # type: ignore[arg-type]
    assert report.failures == []
    assert not report.exhausted
    expected = 1 if source.process_id == "annual_report" else len(TRIAL_APPLICANTS)  # type: ignore[attr-defined]
    assert report.cases == expected  # the annual report: Beijing's alone
    assert report.steps >= report.cases


@pytest.fixture
def edited(tmp_path: Path) -> Callable[[str, Callable[[str], str]], Path]:
    """A bundled file as a process owner changed it (`edit` on its text), beside the bundled forms."""
    folder = tmp_path / "edited"
    folder.mkdir()
    shutil.copytree(ROOT / "bpmn" / "forms", folder / "forms")

    def make(name: str, edit: Callable[[str], str]) -> Path:
        path = folder / name
        original = (ROOT / "bpmn" / name).read_text(encoding="utf-8")
        changed = edit(original)
        assert changed != original
        path.write_text(changed, encoding="utf-8")
        return path

    return make


def _trial_errors(path: Path) -> list[Finding]:
    with at(TODAY):
        findings = check_files([path], None, trial_findings)
    return [f for f in findings if f.severity == "error"]


def test_a_script_failing_on_one_choice_deep_in_the_sanction_is_refused_with_its_element_and_way(
        edited: Callable[[str, Callable[[str], str]], Path]) -> None:
    script = "within_working_days(today(), sanction_investigation['rectification_days'])"
    path = edited("sanction.bpmn", lambda xml: xml.replace(
        script, "within_working_days(today(), sanction_investigation['rectification_days'] + '天')"))
    (error,) = _trial_errors(path)
    assert (error.code, error.element_id) == ("trial-fails", "set_rectification_deadline")
    assert error.message.startswith("试运行：")
    assert "计算整改期限" in error.message and "→" in error.message  # the way there, step by step
    assert "运算符 +" in error.message and "警告" in error.message  # the choice that led there


def _join_after_both_outcomes(xml: str) -> str:
    """Both outcomes of the change review led into a parallel join before one end: only one ever arrives."""
    root = etree.fromstring(without(xml, ["change_refused"]).encode("utf-8"))
    (process,) = root.iter(f"{{{BPMN}}}process")
    join = etree.SubElement(process, f"{{{BPMN}}}parallelGateway", id="both_done", name="两项均已办结")
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        if flow.get("id") in ("flow_status_change_approved_to_change_approved",
                              "flow_status_change_refused_to_change_refused"):
            flow.set("targetRef", "both_done")
            etree.SubElement(join, f"{{{BPMN}}}incoming").text = flow.get("id")
    etree.SubElement(join, f"{{{BPMN}}}outgoing").text = "flow_both_done"
    etree.SubElement(process, f"{{{BPMN}}}sequenceFlow", id="flow_both_done", sourceRef="both_done",
                     targetRef="change_approved")
    for node in root.iter(f"{{{BPMN}}}endEvent"):
        for incoming in node.findall(f"{{{BPMN}}}incoming"):
            incoming.text = "flow_both_done"
    return etree.tostring(root, encoding="unicode")


def test_a_branch_that_can_never_go_on_is_a_dead_end(edited: Callable[[str, Callable[[str], str]], Path]) -> None:
    path = edited("change_report.bpmn", _join_after_both_outcomes)
    errors = _trial_errors(path)
    assert [(e.code, e.element_id) for e in errors] == [("trial-dead-end", "both_done")]
    assert "两项均已办结" in errors[0].message and "流程无法继续" in errors[0].message


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Beian]:
    service = Beian(f"sqlite:///{tmp_path / 'beian.sqlite3'}")
    with at(TODAY):
        service.init()
    yield service
    service.close()


def test_the_check_through_a_database_tries_once_and_the_deploy_after_it_does_not_try_again(
        app: Beian, edited: Callable[[str, Callable[[str], str]], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = edited("change_report.bpmn", lambda xml: xml.replace('name="变更审核"', 'name="变更事项审核"'))
    source = read_source(path)
    runs: list[str] = []
    real = trial_module.trial_run

    def counted(*args: object, **kwargs: object) -> object:
        runs.append(source.process_id)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trial_module, "trial_run", counted)
    with at(TODAY):
        assert app.processes.check(source.bpmn_xml, source.file_name, source.forms) == []
        assert app.processes.deploy(source, actor="po")["version"] == 2
    assert runs == ["change_report"]
