"""A new version run through its paths with synthetic cases before it is deployed: the check's proof that the diagram
runs, where no running case stands yet (workflows/service/rehearsal.py tries the running ones).

In a scratch SQLite database of its own (the user's database is only read: its holiday arrangements and added roles),
with every outside system off (`outside_systems_off`), the bundled processes are deployed and the file becomes the
latest version of its process. Then cases are started the way real ones are:

- a filing application: the example application, once for each kind of applicant the regions treat differently
  (TRIAL_APPLICANTS: each region, provincial and municipal paths);
- a procedure on a filing (renewal, change, sanction, terminations, the validity watch, the annual report): an
  institution is first filed in the scratch database along the likeliest path (the simulation profile's most
  frequent outcome at each step), then the procedure is opened by its own event (a renewal application when the
  window opens, a change report, a violation report, …) or found opened by the filing itself.

From each start every way on is tried depth-first, each in a savepoint rolled back after its branch is explored:
every task completed once per value of its form's first choice field, every timer fired at its due time, every
awaited message received (the rehearsal's ways on). Each distinct set of places a case stands on (per start) is
explored once, within a budget of engine steps (MAX_STEPS), so a loop (a supplement asked again and again) ends.

What fails is the diagram's fault and is named: a step the engine fails on (the element and the path that led
there), or a case left standing with nothing to do and nothing awaited (a dead end). A refusal of the synthetic input
by a form's rule is not: a person would have typed something else."""

from __future__ import annotations

import copy
import json
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

import workflows.operators  # noqa: F401  (registers the expression functions and service operators)
from adapters.outside.db import READ_ONLY, ProcessDefinition, make_engine, make_session_factory
from adapters.outside.repository import UnitOfWork
from adapters.outside.settings import outside_systems_off
from tasks.calendar import SHANGHAI
from tasks.credit_code import check_character, organization_code_check_character
from tasks.errors import BeianError, DefinitionError, StepFailed
from tasks.grounds import GROUNDS
from tasks.regions import profile_for_region
from workflows import clock
from workflows.bpmn_check import Finding
from workflows.definitions import DefinitionSource, bundled_sources, main_process_id, parse_definition, source_digest
from workflows.engine import definition_of, run_step
from workflows.filings import filing_facts
from workflows.lifecycle import PROCESS_LABELS
from workflows.progress import progress_of, read_process_model
from workflows.scratch import NO_SCRATCH, Scratch
from workflows.service.cases import Cases
from workflows.service.operations import Operations
from workflows.service.rehearsal import Way, failed_element, ways_on
from workflows.simulation_plan import EXAMPLE, plan_for
from workflows.simulation_profile import generate, load_profile
from workflows.state import load_state

MAX_STEPS: Final = 480
"""Engine steps a trial takes in all, shared out evenly among its starts: enough for every branch of the bundled
processes in every region (tests/integration/test_trial_run.py), bounded so a check stays a matter of seconds."""
MAX_PATH: Final = 60
"""Steps along one path: a case longer than that is a loop the visited places did not catch."""
MAX_WAYS: Final = 40
"""Ways on tried from one place: every value of every choice field of the tasks open there, each timer, each wait."""
_ACTOR: Final = "试运行"
_AFTER_DUE: Final = timedelta(seconds=1)
# Cases begin on a quiet working morning; the calendar loaded (or the provisional one) says which days count.
_START: Final = time(10, 0)


@dataclass(frozen=True)
class Applicant:
    """A kind of applicant a region's procedure treats differently: where it is filed and what it is."""

    division: str
    level: str
    institution_type: str

    @property
    def label(self) -> str:
        profile = profile_for_region(self.division)
        return f"{profile.name}{profile.authority_level_names.get(self.level, self.level)}级"


TRIAL_APPLICANTS: Final = (
    Applicant("510000", "provincial", "employer"),
    Applicant("510104", "municipal", "employer"),
    Applicant("110108", "municipal", "employer"),
    Applicant("660000", "provincial", "social"),
    Applicant("220102", "municipal", "employer"),
    Applicant("310115", "municipal", "school"),
)
"""Each region once, and Sichuan on both paths (the province's own, and a city's with the province's review)."""


@dataclass(frozen=True)
class TrialFailure:
    """The diagram failing on a synthetic case: where (the element) and what happened, with the path there."""

    element_id: str | None
    message: str
    code: str  # trial-fails | trial-dead-end | trial-not-started


@dataclass
class TrialReport:
    failures: list[TrialFailure] = field(default_factory=list)
    cases: int = 0
    steps: int = 0
    places: int = 0
    exhausted: bool = False
    """The step budget ran out before every place was explored."""


def trial_findings(xml: str, file_name: str, forms: Mapping[str, Any], scratch: Scratch = NO_SCRATCH) -> list[Finding]:
    """The check's findings from a trial run of the file: each failure an error naming its element, a start that
    could not be made or a budget that ran out a warning. A file that does not parse has none (the static check
    says why). The same file with the same calendar and roles on the same day is tried once (`_tried`): a deploy
    right after its check does not run it again."""
    try:
        process_id = main_process_id(xml, file_name)
        name = parse_definition(process_id, xml, file_name, dict(forms)).name
    except DefinitionError:
        return []
    source = DefinitionSource(process_id, name, file_name, xml, dict(forms), source_digest(xml, dict(forms)))
    key = (source.sha256, file_name, scratch.digest(), clock.now().astimezone(SHANGHAI).date())
    with _tried_lock:
        report = _tried.get(key)
    if report is None:
        report = trial_run(source, scratch)
        with _tried_lock:
            _tried[key] = report
            while len(_tried) > _TRIED_KEPT:
                _tried.pop(next(iter(_tried)))
    findings = [Finding(file_name, f.element_id, "warning" if f.code == "trial-not-started" else "error", f.code,
                        f"试运行：{f.message}") for f in report.failures]
    if report.exhausted:
        findings.append(Finding(file_name, None, "warning", "trial-partial",
                                f"试运行已达步数上限（{MAX_STEPS} 步，{report.cases} 个模拟案件、"
                                f"{report.places} 处不同的办理位置），其余路径未试运行：请在部署后留意首批案件"))
    return findings


_tried: dict[tuple[str, str, str, date], TrialReport] = {}
_tried_lock = threading.Lock()
_TRIED_KEPT: Final = 32


def trial_run(source: DefinitionSource, scratch: Scratch = NO_SCRATCH, *, max_steps: int = MAX_STEPS,
              today: date | None = None) -> TrialReport:
    """Run `source` through its paths in a scratch database (see the module's docstring)."""
    day = today or clock.now().astimezone(SHANGHAI).date()
    start = datetime.combine(day, _START, tzinfo=SHANGHAI)
    report = TrialReport()
    starts = _starts(source.process_id)
    if not starts:
        return report
    with tempfile.TemporaryDirectory(prefix="beian-trial-") as workdir, outside_systems_off():
        app = _ScratchApp(f"sqlite:///{Path(workdir) / 'trial.sqlite3'}")
        try:
            with clock.using_clock(clock.VirtualClock(start - timedelta(days=1))):
                _prepare(app, source, scratch)
            for label, begin in starts:
                trial = _Trial(app, report, label, max_steps // len(starts), source.bpmn_xml)
                trial.run(begin, start)
        finally:
            app.close()
    if report.cases == 0 and not report.failures:
        report.failures.append(TrialFailure(None, f"没有一个地区的备案会开启流程 {source.process_id}，未能试运行",
                                            "trial-not-started"))
    return report


class _ScratchApp:
    """The capabilities a trial drives (applying, completing, sending, sweeping), on its scratch database: not the
    whole application, which is built from the capabilities, the processes' check (and so this trial) among them."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        self._sessions = make_session_factory(self.engine)
        self._reading_sessions = make_session_factory(self.engine.execution_options(**{READ_ONLY: True}))
        self.cases = Cases(self.uow, self.reading)
        self.operations = Operations(self.uow, self.reading)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)

    def reading(self) -> UnitOfWork:
        return UnitOfWork(self._reading_sessions, read_only=True)

    def close(self) -> None:
        self.engine.dispose()


def _prepare(app: _ScratchApp, source: DefinitionSource, scratch: Scratch) -> None:
    """Schema, the arrangements and roles the user's database has, the bundled processes, and `source` as the latest
    version of its process (deployed without a check: it is the check)."""
    from adapters.outside.schema import upgrade

    upgrade(app.engine)
    with app.uow() as uow:
        scratch.put_into(uow)
    with app.uow() as uow:
        for bundled in [*bundled_sources(), source]:
            if bundled.process_id == source.process_id and bundled is not source:
                continue  # the file under trial is its process's only version here
            uow.repo.add(ProcessDefinition(
                process_id=bundled.process_id, version=1, name=bundled.name, file_name=bundled.file_name,
                bpmn_xml=bundled.bpmn_xml, forms=bundled.forms, sha256=bundled.sha256, deployed_at=clock.now(),
                deployed_by=_ACTOR))
        uow.commit()


# --- how each process's cases begin ------------------------------------------------------------------------------

# (the trial's Beian, the instant to begin at) → the case opened, and the instant it stands at
Begin = Any


def _starts(process_id: str) -> list[tuple[str, Begin]]:
    if process_id == "filing_application":
        return [(f"{a.label}备案申请", _applying(a)) for a in TRIAL_APPLICANTS]
    if process_id not in PROCESS_LABELS:
        # Nothing in beian starts a process it does not know: there is no case to try (with a database, the check
        # says the file starts a new process).
        return []
    return [(f"{a.label}机构的{PROCESS_LABELS[process_id]}", _on_filing(a, process_id)) for a in TRIAL_APPLICANTS]


def example_application(applicant: Applicant, index: int = 0) -> dict[str, Any]:
    """The example application as this applicant's: its region, level, type, the region's required materials and a
    credit code of its own."""
    application = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    body = f"TR{index:06d}"
    first17 = f"91{applicant.division}{body}{organization_code_check_character(body)}"
    application["region"], application["authority_level"] = applicant.division, applicant.level
    institution = application["institution"]
    institution.update(credit_code=first17 + check_character(first17), type=applicant.institution_type,
                       name=f"【试运行】{institution['name']}"[:200])
    profile = profile_for_region(applicant.division)
    application["materials"] = [{"kind": item.key, "title": item.name}
                                for item in profile.required_materials(applicant.institution_type)]
    return application


def _applying(applicant: Applicant) -> Begin:
    def begin(app: _ScratchApp, at: datetime) -> tuple[str, datetime]:
        with clock.using_clock(clock.VirtualClock(at)):
            opened = app.cases.apply(example_application(applicant), received_at=at, actor=_ACTOR)
        return str(opened["case"]), at
    return begin


def _on_filing(applicant: Applicant, process_id: str) -> Begin:
    def begin(app: _ScratchApp, at: datetime) -> tuple[str, datetime]:
        number, filed_at = _filed(app, applicant, at)
        with app.reading() as uow:
            filing = uow.repo.filing_by_number(number)
            assert filing is not None
            opened = [c.case_id for c in uow.repo.open_cases_of_filing(filing.id) if c.process_id == process_id]
            facts, record = filing_facts(filing), copy.deepcopy(filing.record)
        if opened:  # opened by the filing itself (the validity watch, the annual report)
            return opened[0], filed_at
        if process_id in OPENED_BY_FILING:
            raise _NotInRegion(process_id)
        message, payload, when = _opening(process_id, facts, record, filed_at)
        with clock.using_clock(clock.VirtualClock(when)):
            result = app.cases.send(message, number, payload, actor=_ACTOR)
        if not result.get("case"):
            raise TrialNotStarted(f"“{message}”未立案")
        return str(result["case"]), when
    return begin


class TrialNotStarted(BeianError):
    """A procedure the trial could not open on its filing."""


class _NotInRegion(Exception):
    """A procedure the filing opens where the region has it (the annual report is Beijing's): not this region's."""


OPENED_BY_FILING: Final = frozenset({"filing_validity", "annual_report"})


def _opening(process_id: str, facts: Mapping[str, Any], record: Mapping[str, Any],
             filed_at: datetime) -> tuple[str, dict[str, Any], datetime]:
    """The event that opens `process_id` on a filing, as an institution or the authority sends it, and when."""
    later = filed_at + timedelta(days=1)
    if process_id == "renewal":
        window = datetime.combine(date.fromisoformat(facts["window_opens"]) + timedelta(days=1), _START,
                                  tzinfo=SHANGHAI)
        return "renewal_application", {"summary": "【试运行】申请续期"}, window
    if process_id == "change_report":
        address = f"【试运行】{record['institution'].get('address', '')}新址"[:200]
        return "change_report", {"changes": [{"field": "address", "after": address}]}, later
    if process_id in ("sanction", "ordered_termination"):
        ground = next(g for g in GROUNDS if g.reportable and g.procedure == process_id)
        return "violation_report", {"ground": ground.code, "facts": "【试运行】违规事实"}, later
    if process_id == "automatic_termination":
        return "deregistered", {"reason": "deregistered"}, later
    if process_id == "voluntary_termination":
        # The institution's own notice began the day after filing; the application comes when it has run its course.
        return ("termination_request", {"notice_started": later.astimezone(SHANGHAI).date().isoformat(),
                                        "wrapup_plan": "【试运行】证书数据收尾工作安排"}, later + timedelta(days=90))
    raise TrialNotStarted(f"流程 {process_id} 不能由事件立案")


def _filed(app: _ScratchApp, applicant: Applicant, at: datetime) -> tuple[str, datetime]:
    """An institution filed along the likeliest path of the filing process (the simulation profile's most frequent
    outcome at each step; timers fired when nothing else is left): its filing number, and when it was filed."""
    with app.reading() as uow:
        latest = uow.repo.latest_definition("filing_application")
        assert latest is not None
        source = DefinitionSource(latest.process_id, latest.name, latest.file_name, latest.bpmn_xml, latest.forms,
                                  latest.sha256)
    plan = plan_for(source, load_profile())
    with clock.using_clock(clock.VirtualClock(at)):
        case_id = str(app.cases.apply(example_application(applicant, 1), received_at=at, actor=_ACTOR)["case"])
    now = at
    for _ in range(MAX_PATH):
        with app.reading() as uow:
            instance = uow.repo.instance(case_id)
            assert instance is not None
            filing = uow.repo.filing_for_case(case_id)
            if instance.completed_at is not None or (filing is not None and filing.status == "filed"):
                break  # filed: what the process does after it (a report to the national registry) is not waited for
            tasks = [(t.id, t.bpmn_id) for t in uow.repo.human_tasks(instance.id)]
            due = min((t.due_at for t in uow.repo.timers(instance.id)), default=None)
        now += timedelta(hours=1)
        with clock.using_clock(clock.VirtualClock(now)):
            if tasks:
                task_id, bpmn_id = tasks[0]
                task = plan.tasks[bpmn_id]
                likeliest = {path: values[max(weights, key=lambda w: w[1])[0]]
                             for path, (weights, values) in task.choices.items()}
                app.cases.complete(task_id, generate(task.schema or {}, likeliest, now, task.name), actor=_ACTOR)
                continue
        if due is None:
            break
        now = max(now, due + _AFTER_DUE)
        with clock.using_clock(clock.VirtualClock(now)):
            app.operations.sweep(actor=_ACTOR)
    with app.reading() as uow:
        filing = uow.repo.filing_for_case(case_id)
        number = filing.filing_number if filing is not None and filing.status == "filed" else None
    if not number:
        raise TrialNotStarted(f"示例申请未能沿最常见的路径完成备案（案件 {case_id}）")
    return str(number), now


# --- the exploration ----------------------------------------------------------------------------------------------


class _Trial:
    def __init__(self, app: _ScratchApp, report: TrialReport, label: str, budget: int, xml: str) -> None:
        self.app, self.report, self.label, self.budget, self.xml = app, report, label, budget, xml
        self.seen: set[tuple[frozenset[str], frozenset[tuple[str, str]]]] = set()
        self.steps = 0

    def run(self, begin: Begin, at: datetime) -> None:
        try:
            case_id, now = begin(self.app, at)
        except _NotInRegion:
            return
        except StepFailed as exc:
            self._fail(failed_element(exc), f"{self.label}：立案时流程出错：{exc.message}", "trial-fails")
            return
        except BeianError as exc:
            self._fail(None, f"{self.label}未能开始，未试运行此路径：{exc.message}", "trial-not-started")
            return
        self.report.cases += 1
        with self.app.uow() as uow:  # never committed: every step is undone
            self._explore(uow, case_id, now, ())

    def _explore(self, uow: UnitOfWork, case_id: str, now: datetime, path: tuple[str, ...],
                 choices: frozenset[tuple[str, str]] = frozenset()) -> None:
        """Try each way on from where the case stands, unless it stood there before with the same routing choices in
        force (`choices`: each field the diagram may route by, with the value last chosen for it)."""
        places = self._places(uow, case_id)
        if places is None or (places, choices) in self.seen:
            return
        self.seen.add((places, choices))
        self.report.places += 1
        ways = list(ways_on(uow, case_id, now, limit=MAX_WAYS, every_field=True))
        if not ways:
            self._dead_end(uow, case_id, path)
            return
        if len(path) >= MAX_PATH:
            return
        for way in ways:
            if self.steps >= self.budget:
                self.report.exhausted = True
                return
            self._try(uow, case_id, way, path, choices)

    def _try(self, uow: UnitOfWork, case_id: str, way: Way, path: tuple[str, ...],
             choices: frozenset[tuple[str, str]]) -> None:
        savepoint = uow.session.begin_nested()
        try:
            with clock.using_clock(clock.VirtualClock(way.at)):
                run_step(uow, case_id, way.event, _ACTOR)
        except StepFailed as exc:
            said = exc.message.removeprefix(f"案件 {case_id} 的流程执行出错").removesuffix("；案件保持原状态")
            self._fail(failed_element(exc) or way.element_id,
                       f"{self.label}：{_path_text((*path, way.what))}时流程出错{said}", "trial-fails")
            savepoint.rollback()
            return
        except BeianError:
            savepoint.rollback()  # the synthetic input was refused, not the diagram
            return
        finally:
            self.steps += 1
            self.report.steps += 1
        try:
            self._explore(uow, case_id, way.at, (*path, way.what), self._in_force(choices, way.choice))
        finally:
            savepoint.rollback()

    def _in_force(self, choices: frozenset[tuple[str, str]], made: str) -> frozenset[tuple[str, str]]:
        """The routing choices after a way that made `made` ("task.field=value", several joined by 、): a choice
        replaces the one made before on the same field (a second acceptance after a supplement). Only a field the
        diagram's conditions or scripts name may send a case another way later where it stands the same (a warning
        and an interview both wait for the institution's views, then part); one it does not name (a remark, an
        inspection method) would only multiply the places to try."""
        in_force = dict(choices)
        for part in filter(None, made.split("、")):
            field, _, value = part.partition("=")
            task, _, name = field.partition(".")
            name = name.partition(".")[0]
            if task in self.xml and (f"'{name}'" in self.xml or f'"{name}"' in self.xml):
                in_force[field] = value
        return frozenset(in_force.items())

    def _places(self, uow: UnitOfWork, case_id: str) -> frozenset[str] | None:
        """Where the case stands, as a set: its status and each open task, armed timer and awaited message. None
        once it has ended."""
        instance = uow.repo.instance(case_id)
        if instance is None or instance.completed_at is not None:
            return None
        return frozenset({f"status:{instance.status}", *uow.repo.running_positions_of(instance.id)})

    def _dead_end(self, uow: UnitOfWork, case_id: str, path: tuple[str, ...]) -> None:
        instance = uow.repo.instance(case_id)
        assert instance is not None
        row = uow.repo.definition(instance.definition_id)
        definition = definition_of(uow, instance.definition_id)
        current, _, _ = progress_of(load_state(instance.state, definition.spec, definition.subprocess_specs,
                                               uow.repo.state_values),
                                    row.bpmn_xml)
        names = read_process_model(row.bpmn_xml).nodes
        standing = [(element, names.get(element) or element) for element in sorted(current)]
        where = "、".join(f"“{name}”" for _, name in standing) or "流程中"
        self._fail(standing[0][0] if standing else None,
                   f"{self.label}：{_path_text(path) or '立案'}后，案件停在{where}，既没有待办任务，"
                   "也没有定时或等待中的消息，流程无法继续（一个无人办理的环节，或一个没有出口的分支）",
                   "trial-dead-end")

    def _fail(self, element_id: str | None, message: str, code: str) -> None:
        failure = TrialFailure(element_id, message, code)
        # The same element failing the same way on several paths is said once.
        if not any(f.element_id == element_id and f.code == code for f in self.report.failures):
            self.report.failures.append(failure)


def _path_text(path: Sequence[str], shown: int = 6) -> str:
    """The steps that led somewhere, the last few of a long path."""
    steps = list(path)
    if len(steps) > shown:
        steps = ["…", *steps[-shown:]]
    return " → ".join(steps)

