"""Moving running cases from one version of a process to another, and saying beforehand what that will do.

A process owner deploys a new version; new cases start on it, running ones stay on theirs. When the change must also
reach the running cases (a corrected form, a renamed step), `migrate` moves them, built on SpiffWorkflow's
`diff_workflow` / `migrate_workflow`: the task tree keeps its history, and every waiting or ready task is re-predicted
from the new diagram.

SpiffWorkflow's migration resets the tasks the case stands on, which forgets what they hold. We put it back, because
a statutory clock must not restart silently and data entered in an open task must not disappear:
- a ready or waiting task keeps its data (entered values, message payloads, recomputed deadlines);
- a timer keeps its due time unless its own definition changed, and then the preview says it will be recomputed;
- the open task keeps its id, so the worklist row keeps its claim and the time it opened.

A case cannot move when the new version lacks a step it stands on, or a step in its history: the state names every
task's step, and a step that no longer exists could not be restored. The preview lists such cases as blocked with
the reason; they finish on their own version.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from adapters.outside.db import ProcessDefinition
from tasks.calendar import SHANGHAI
from tasks.errors import IllegalEvent
from workflows.definitions import ParsedDefinition
from workflows.diff_details import (
    CHANGE_LABELS,
    element_changes,
    form_changes,
    real_changes,
    type_label,
)
from workflows.engine import StepContext, awaited_messages, timer_definition, timer_due
from workflows.state import spec_diff

LIVE = TaskState.READY | TaskState.WAITING

# Attributes that are SpiffWorkflow's bookkeeping, not something a process owner changed.
_IGNORED_CHANGES = {"name", "bpmn_id", "description", "lookahead"}


def change_labels(keys: list[str]) -> list[str]:
    return [CHANGE_LABELS.get(key, key) for key in keys if key not in _IGNORED_CHANGES]


def _visible(spec: Any) -> bool:
    """A BPMN element of the diagram (SpiffWorkflow adds internal specs such as Start, End and boundary splits)."""
    return getattr(spec, "bpmn_id", None) is not None


def _label(spec: Any) -> str:
    return spec.bpmn_name or spec.bpmn_id


# --- the version diff --------------------------------------------------------------------------------------------

def spec_diffs(old: ParsedDefinition, new: ParsedDefinition) -> list[tuple[str, SpecDiff | None]]:
    """The main process and each subprocess, paired by name (None: the subprocess is gone in the new version)."""
    pairs: list[tuple[str, SpecDiff | None]] = [(old.spec.name, spec_diff(old.spec, new.spec))]
    for name, spec in old.subprocess_specs.items():
        new_spec = new.subprocess_specs.get(name)
        pairs.append((name, spec_diff(spec, new_spec) if new_spec is not None else None))
    return pairs


def _all_specs(definition: ParsedDefinition) -> list[Any]:
    specs: list[Any] = list(definition.spec.task_specs.values())
    for sub in definition.subprocess_specs.values():
        specs.extend(sub.task_specs.values())
    return specs


def version_diff(old_row: ProcessDefinition, old: ParsedDefinition, new_row: ProcessDefinition,
                 new: ParsedDefinition, running: dict[str, int]) -> dict[str, Any]:
    """What changed between two versions, element by element, each change with its old and new value
    (workflows/diff_details.py); `running` counts the old version's running cases standing on each element. A changed
    element keeps `changes` (what changed, as labels: the migration preview's words) and has `details` (each change
    with `before` and `after`); `new_bpmn_id` is its id in the new version. A changed form has its fields' changes."""
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for name, diff in spec_diffs(old, new):
        if diff is None:
            sub = old.subprocess_specs[name]
            removed.extend(_element(spec, running) for spec in sub.task_specs.values() if _visible(spec))
            continue
        added.extend(_element(spec) for spec in diff.added if _visible(spec))
        removed.extend(_element(spec, running) for spec in diff.removed if _visible(spec))
        renamed = _renames(diff)
        for spec, keys in diff.changed.items():
            target = diff.alignment[spec]
            if not _visible(spec) or target is None:
                continue
            labels = change_labels(_real_changes(spec, target, keys, renamed))
            moved = target.bpmn_id != spec.bpmn_id
            if not labels and not moved:
                continue  # only SpiffWorkflow's bookkeeping differs (a shape moved, a neighbour renamed)
            details = [change.to_dict() for change in element_changes(spec, target, renamed)]
            if moved:
                labels = [f"id 改为 {target.bpmn_id}", *labels]
                details.insert(0, {"label": "id", "before": spec.bpmn_id, "after": target.bpmn_id, "code": False})
            changed.append({**_element(spec, running), "new_bpmn_id": target.bpmn_id, "changes": labels,
                            "details": details})
    old_subs, new_subs = set(old.subprocess_specs), set(new.subprocess_specs)
    for name in sorted(new_subs - old_subs):
        added.extend(_element(spec) for spec in new.subprocess_specs[name].task_specs.values() if _visible(spec))
    forms = [{"name": name, "change": "added", "title": _form_title(new_row.forms[name]), "details": [], "fields": []}
             for name in sorted(set(new_row.forms) - set(old_row.forms))]
    forms += [{"name": name, "change": "removed", "title": _form_title(old_row.forms[name]), "details": [],
               "fields": []} for name in sorted(set(old_row.forms) - set(new_row.forms))]
    forms += [{"name": name, "change": "changed", **form_changes(old_row.forms[name], new_row.forms[name])}
              for name in sorted(set(old_row.forms) & set(new_row.forms)) if old_row.forms[name] != new_row.forms[name]]
    key = "bpmn_id"
    return {"process": old_row.process_id, "from_version": old_row.version, "to_version": new_row.version,
            "added": sorted(added, key=lambda e: e[key]), "removed": sorted(removed, key=lambda e: e[key]),
            "changed": sorted(changed, key=lambda e: e[key]), "forms": forms}


def _form_title(schema: Any) -> str | None:
    title = schema.get("title") if isinstance(schema, dict) else None
    return title if isinstance(title, str) and title else None


def _renames(diff: SpecDiff) -> dict[str, str]:
    return {old.name: new.name for old, new in diff.alignment.items() if new is not None}


def _real_changes(spec: Any, target: Any, keys: list[str], renamed: dict[str, str]) -> list[str]:
    """The changed attributes without SpiffWorkflow's bookkeeping (workflows/diff_details.py): not a neighbour's
    rename showing up as a changed connection on this element, not the order of the outgoing flows that moving a
    shape gives, not a timer's copy of the element's name."""
    return real_changes(spec, target, keys, renamed)


def _element(spec: Any, running: dict[str, int] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"bpmn_id": spec.bpmn_id, "name": _label(spec), "type": type_label(spec)}
    if running is not None:
        entry["running"] = running.get(spec.bpmn_id, 0)
    return entry


# --- one case --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Position:
    """A place the case stands on: an open task, an armed timer or a wait for a message."""

    bpmn_id: str
    name: str
    kind: str      # 待办 / 定时 / 等待消息
    outcome: str   # unchanged / changed / removed
    detail: str


@dataclass
class CasePlan:
    case_id: str
    status: str
    positions: list[Position] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What moving does besides the positions, found by doing it (workflows/service/rehearsal.py): a released
    claim."""

    @property
    def migratable(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "status": self.status, "migratable": self.migratable,
                "problems": list(self.problems), "notes": list(self.notes),
                "positions": [asdict(p) for p in self.positions]}


class _WorkflowDiff(WorkflowDiff):
    """SpiffWorkflow's workflow diff, keeping the spec diff it was made from (for the attributes that changed)."""

    def __init__(self, workflow: Any, spec_diff: SpecDiff) -> None:
        super().__init__(workflow, spec_diff)
        self.spec_diff = spec_diff


def _diffs_of(workflow: BpmnWorkflow, new: ParsedDefinition) -> tuple[_WorkflowDiff, dict[Any, _WorkflowDiff | None]]:
    """`diff_workflow`, with each part's spec diff kept: the main process and each subprocess (None: gone)."""
    top = _WorkflowDiff(workflow, spec_diff(workflow.spec, new.spec))
    subs: dict[Any, _WorkflowDiff | None] = {}
    for sub_id, sub in workflow.subprocesses.items():
        spec = new.subprocess_specs.get(sub.spec.name)
        subs[sub_id] = _WorkflowDiff(sub, spec_diff(sub.spec, spec)) if spec is not None else None
    return top, subs


def _kind(task: Task) -> str:
    if task.task_spec.manual:
        return "待办"
    if timer_definition(task.task_spec) is not None:
        return "定时"
    if awaited_messages(task.task_spec):
        return "等待消息"
    return "等待"


def _due_text(task: Task) -> str:
    due = timer_due(task)
    return f"{due.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if due is not None else "（未定）"


def plan_case(case_id: str, status: str, workflow: BpmnWorkflow, new: ParsedDefinition) -> CasePlan:
    """What migrating this case would do, decided from the state alone (nothing is changed)."""
    plan = CasePlan(case_id, status)
    top, subs = _diffs_of(workflow, new)
    for sub_id, sub_diff in subs.items():
        if sub_diff is None:
            name = workflow.subprocesses[sub_id].spec.name
            plan.problems.append(f"案件所在的子流程“{name}”在新版本中已不存在")
    for diff in [top, *(d for d in subs.values() if d is not None)]:
        plan.problems.extend(_history_problems(diff))
        removed = set(diff.removed)
        for task in diff.alignment.keys() | removed:
            if not task.has_state(LIVE) or not _visible(task.task_spec):
                continue
            if task.task_spec.manual is False and _kind(task) == "等待":
                continue  # a join waiting for its other branches: not a place a person sees
            target = diff.alignment.get(task)
            changes = _task_changes(task, target, diff)
            plan.positions.append(_position(task, target, task in removed, changes))
            where = f"案件所在的环节“{_label(task.task_spec)}”（{task.task_spec.bpmn_id}）"
            if task in removed:
                plan.problems.append(f"{where}在新版本中已删除")
            elif target is not None and type(target) is not type(task.task_spec):
                # A case standing on a user task that became a script (or the reverse) would silently skip or
                # repeat work: the process owner must decide, not the migration.
                plan.problems.append(f"{where}在新版本中类型已改变（{type_label(task.task_spec)} → "
                                     f"{type_label(target)}）")
            elif target is not None and _has_boundary_events(task.task_spec) != _has_boundary_events(target):
                # SpiffWorkflow puts a task with boundary events under a split of its own; the case's tree has the
                # task where the old diagram put it, and the next completion fails ("BoundaryEventSplit was not
                # reached"). The case moves once it has left this step.
                added = "增加" if _has_boundary_events(target) else "去掉"
                plan.problems.append(f"{where}在新版本中{added}了边界事件（如期限届满提醒）：停在该环节上的案件"
                                     "无法原样迁移，请在该环节办结后再迁移")
    plan.positions.sort(key=lambda p: p.bpmn_id)
    return plan


def _has_boundary_events(spec: Any) -> bool:
    return any(str(getattr(before, "name", "")).endswith(".BoundaryEventSplit") for before in spec.inputs)


def _task_changes(task: Task, target: Any, diff: _WorkflowDiff) -> list[str]:
    """What the new version changed on the step a task stands on, as the version diff words it."""
    keys = diff.spec_diff.comparisons.get(task.task_spec, [])
    return change_labels(_real_changes(task.task_spec, target, keys, _renames(diff.spec_diff)))


def _history_problems(diff: WorkflowDiff) -> list[str]:
    """Removed steps that would stay in the tree (history, not re-predicted): the state could not be restored."""
    dropped: set[Any] = set()
    for task in diff.alignment.keys() | set(diff.removed):
        if task.has_state(LIVE):
            dropped.update(t.id for t in task if t is not task)
    names = sorted({_label(t.task_spec) + f"（{t.task_spec.bpmn_id}）" for t in diff.removed
                    if t.id not in dropped and not t.has_state(LIVE) and _visible(t.task_spec)
                    and t.has_state(TaskState.FINISHED_MASK)})
    return [f"已办理的环节“{name}”在新版本中已删除，案件的历史无法对应到新版本" for name in names]


def _position(task: Task, target: Any, removed: bool, changes: list[str]) -> Position:
    spec = task.task_spec
    kind = _kind(task)
    if removed:
        return Position(spec.bpmn_id, _label(spec), kind, "removed", "新版本中已删除：案件无法迁移")
    moved = f"，id 改为 {target.bpmn_id}" if target is not None and target.bpmn_id != spec.bpmn_id else ""
    if kind == "定时":
        if _timer_changed(spec, target):
            detail = f"定时定义已修改：到期时间将按新版本重新计算（原到期 {_due_text(task)}）"
        else:
            detail = f"到期时间不变：{_due_text(task)}"
    elif kind == "待办":
        kept = "已有数据与法定期限不变；认领人不变，除非办理角色或机关改变"
        detail = f"待办保留，新版本修改了：{'、'.join(changes)}（{kept}）" if changes else f"待办保留（{kept}）"
    else:
        detail = "继续等待" + ("；新版本修改了：" + "、".join(changes) if changes else "")
    return Position(spec.bpmn_id, _label(spec), kind, "changed" if changes or moved else "unchanged",
                    detail + moved)


def _timer_changed(spec: Any, target: Any) -> bool:
    """Whether the due time would be computed differently: the kind of timer or its expression (not its label)."""
    def terms(task_spec: Any) -> tuple[str, str] | None:
        timer = timer_definition(task_spec) if task_spec is not None else None
        return (type(timer).__name__, timer.expression) if timer is not None else None

    return terms(target) is None or terms(spec) != terms(target)


# --- applying it ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MigrateTo:
    """The event that moves a case to another version of its process, inside the case's own step. It applies to
    the state as it is (`engine_first`): a case that the old version failed on is moved before its engine runs
    again, and then runs on the new version."""

    engine_first: ClassVar[bool] = False

    source_definition_id: int
    source_version: int
    target_definition_id: int
    target_version: int
    target_definition: ParsedDefinition

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        if ctx.instance.definition_id != self.source_definition_id:  # moved or finished since the preview
            raise IllegalEvent(f"案件 {ctx.case_id} 已不在第 {self.source_version} 版上，未迁移")
        plan = plan_case(ctx.case_id, ctx.instance.status, workflow, self.target_definition)
        if not plan.migratable:
            raise IllegalEvent(f"案件 {ctx.case_id} 无法迁移：" + "；".join(plan.problems))
        old_version = self.source_version
        before = {str(t.id): timer_due(t) for t in workflow.get_tasks(state=TaskState.WAITING)}
        _migrate(workflow, self.target_definition)
        ctx.definition = self.target_definition
        ctx.instance.definition_id = self.target_definition_id
        moved_timers = [
            {"bpmn_id": t.task_spec.bpmn_id, "from": old.isoformat(), "to": new.isoformat()}
            for t in workflow.get_tasks(state=TaskState.WAITING)
            if (old := before.get(str(t.id))) is not None and (new := timer_due(t)) is not None and old != new]
        summary = f"流程版本迁移：第 {old_version} 版 → 第 {self.target_version} 版"
        if moved_timers:
            summary += "；定时定义已修改，重新计算了 " + "、".join(
                f"{m['bpmn_id']}（{m['from'][:16]} → {m['to'][:16]}）" for m in moved_timers)
        ctx.audit("process_migrated", summary, from_version=old_version, to_version=self.target_version,
                  positions=[asdict(p) for p in plan.positions], timers_recomputed=moved_timers)


def _migrate(workflow: BpmnWorkflow, new: ParsedDefinition) -> None:
    """SpiffWorkflow's migration, with the live tasks' data and unchanged timers' due times put back."""
    top, subs = _diffs_of(workflow, new)
    kept = _keep_live(workflow, [top, *(d for d in subs.values() if d is not None)])
    workflow.subprocess_specs = new.subprocess_specs
    migrate_workflow(top, workflow, new.spec)
    for sub_id, sub_diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        assert sub_diff is not None  # plan_case refused the case otherwise
        migrate_workflow(sub_diff, sub, _sub_spec(new, sub.spec.name))
    for task_id, (data, internal) in kept.items():
        task = workflow.get_task_from_id(task_id)
        task.data = data
        if internal is not None and task.has_state(TaskState.WAITING):
            task.internal_data = internal


def _sub_spec(new: ParsedDefinition, name: str) -> BpmnProcessSpec:
    return new.subprocess_specs[name]


def _keep_live(workflow: BpmnWorkflow, diffs: list[WorkflowDiff]) -> dict[Any, tuple[dict[str, Any], Any]]:
    """Data of every live task, and the internal data (the armed due time) of timers whose definition is unchanged."""
    kept: dict[Any, tuple[dict[str, Any], Any]] = {}
    for diff in diffs:
        for task, target in diff.alignment.items():
            if not task.has_state(LIVE):
                continue
            internal = None
            if timer_definition(task.task_spec) is not None and not _timer_changed(task.task_spec, target):
                internal = dict(task.internal_data)
            kept[task.id] = (dict(task.data), internal)
    return kept
