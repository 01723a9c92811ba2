"""Instance state (de)serialisation that stores a reference to the definition, never a copy of it.

SpiffWorkflow's serializer embeds the whole process spec in every saved instance. We store the task tree and data
only and attach the cached, already parsed spec of the instance's own definition version on load: the state is
about a third of the size and loading skips rebuilding the spec, which keeps a persisted step cheap.

Three more things keep a state small (docs/performance.md):
- the region's profile (5 KB, the same for every case of a region) is kept apart, once per content, and the state
  holds its digest (`KEPT_APART`, `DumpedState.values`, table state_values);
- the application, which SpiffWorkflow copies into the process's own data when it ends, is held once
  (`SHARED_VARIABLES`);
- a task's fields at their defaults (no data, no change to its parent's data, not triggered …) are left out.
A state saved before any of these loads as it is.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from workflows.expressions import DATA_ONLY_ENGINE


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore_with_spec(self, dct: dict[str, Any], spec: BpmnProcessSpec,
                          subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=DATA_ONLY_ENGINE, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_registry = BpmnWorkflowSerializer.configure(dict(SPIFF_CONFIG))
_converter = _StateOnlyWorkflowConverter(BpmnWorkflow, _registry)
_serializer = BpmnWorkflowSerializer(_registry)
_encoder = _serializer._encoder_cls
# SpiffWorkflow's converters switch on a flag of the shared registry while they convert for JSON: one conversion at a
# time (the web server steps cases on several threads).
_converting = threading.Lock()


# Large values a case starts with stay in the start event's data; when a process ends SpiffWorkflow copies every
# variable into the workflow's own data, which would store them twice. The second copy is saved as a reference to the
# task that holds the first (restored on load). "region" is listed for states saved before it was kept apart.
SHARED_VARIABLES = ("application", "region")
SAME_AS_TASK = "beian:same_as_task"

# Variables whose value is kept apart, once per content, the state holding {VALUE_REF: digest}.
KEPT_APART = ("region",)
VALUE_REF = "beian:value"

# A task's fields left out at these values (the delta of a task with a parent: its data is its parent's, unchanged).
_TASK_DEFAULTS: dict[str, Any] = {"typename": "Task", "triggered": False, "internal_data": {}, "data": {}}
_NO_CHANGE = {"updates": {}, "deletions": []}


@dataclass(frozen=True)
class DumpedState:
    text: str  # the state as stored
    values: dict[str, str]  # digest → canonical JSON of each value kept apart that the state refers to


def dump_state(workflow: BpmnWorkflow) -> DumpedState:
    """The state as compact JSON: no spaces, Chinese text as itself (not \\uXXXX escapes), large values once."""
    with _converting:
        _registry._encoder_mode = True  # what SpiffWorkflow's serialize_json sets while it converts
        try:
            dct = _serializer.to_dict(workflow)
        finally:
            _registry._encoder_mode = False
    dct[_serializer.VERSION_KEY] = _serializer.VERSION
    values: dict[str, str] = {}
    for process in (dct, *dct["subprocesses"].values()):
        _keep_apart(process, values)
        _share_variables(process)
        for task in process["tasks"].values():
            _compact(task)
    _remember(values)
    return DumpedState(json.dumps(dct, cls=_encoder, ensure_ascii=False, separators=(",", ":")), values)


def spec_dict(spec: Any) -> dict[str, Any]:
    """A task spec as SpiffWorkflow serialises it (what a version diff says changed: workflows/diff_details.py),
    converted while no state is being saved (see spec_diff)."""
    with _converting:
        return dict(_registry.convert(spec))


def spec_diff(original: BpmnProcessSpec, new: BpmnProcessSpec) -> SpecDiff:
    """SpiffWorkflow's comparison of two versions of a process (workflows/migration.py). It converts every task spec
    with the registry states are saved with, so it too waits for a save that has the registry's JSON flag on: a
    comparison made meanwhile would see specs converted for JSON and could report changes that are not there."""
    with _converting:
        return SpecDiff(_registry, original, new)


def load_state(state: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec],
               fetch: Callable[[set[str]], dict[str, str]] | None = None) -> BpmnWorkflow:
    """The workflow of a stored state. `fetch(digests)` reads values kept apart this process has not seen (the
    repository's `state_values`); without it, such a value is an error."""
    dct = json.loads(state)
    processes = [dct, *dct["subprocesses"].values()]
    for process in processes:
        for task in process["tasks"].values():
            _expand(task)
    _bring_back(processes, fetch)
    _serializer.migrate(dct)
    for process in processes:
        _restore_shared(process)
    return _converter.restore_with_spec(dct, spec, subprocess_specs)


def _data_of(process: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each data dict of a (sub)process's dict: its own, each task's, each task's changes to its parent's."""
    if isinstance(process.get("data"), dict):
        yield process["data"]
    for task in process["tasks"].values():
        if isinstance(task.get("data"), dict):
            yield task["data"]
        updates = (task.get("delta") or {}).get("updates")
        if isinstance(updates, dict):
            yield updates


def _keep_apart(process: dict[str, Any], values: dict[str, str]) -> None:
    """Each value of KEPT_APART in the (sub)process's dict replaced by its digest, into `values`. The dicts holding
    them are replaced, not changed: SpiffWorkflow's dict of the root task holds the live task's data itself."""
    if isinstance(process.get("data"), dict):
        process["data"] = _apart(process["data"], values)
    for task in process["tasks"].values():
        if isinstance(task.get("data"), dict):
            task["data"] = _apart(task["data"], values)
        delta = task.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("updates"), dict):
            task["delta"] = {**delta, "updates": _apart(delta["updates"], values)}


def _apart(data: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    kept = {name: value for name in KEPT_APART
            if isinstance(value := data.get(name), dict) and VALUE_REF not in value}
    if not kept:
        return data
    data = dict(data)
    for name, value in kept.items():
        text = json.dumps(value, cls=_encoder, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        values[digest] = text
        data[name] = {VALUE_REF: digest}
    return data


def _bring_back(processes: list[dict[str, Any]], fetch: Callable[[set[str]], dict[str, str]] | None) -> None:
    places = [(data, name, data[name][VALUE_REF]) for process in processes for data in _data_of(process)
              for name in KEPT_APART if isinstance(data.get(name), dict) and VALUE_REF in data[name]]
    if not places:
        return
    texts = _recalled({digest for _data, _name, digest in places})
    missing = {digest for _data, _name, digest in places} - texts.keys()
    if missing and fetch is not None:
        fetched = fetch(missing)
        _remember(fetched)
        texts.update(fetched)
    for data, name, digest in places:
        if digest not in texts:
            raise LookupError(f"the state refers to value {digest}, which the database does not hold")
        data[name] = json.loads(texts[digest])  # a fresh copy each time: the engine may change it in place


def _compact(task: dict[str, Any]) -> None:
    for key, default in _TASK_DEFAULTS.items():
        if key in task and task[key] == default:
            del task[key]
    if task.get("delta") == (_NO_CHANGE if task.get("parent") is not None else {}):
        del task["delta"]


def _expand(task: dict[str, Any]) -> None:
    for key, default in _TASK_DEFAULTS.items():
        if key not in task:
            task[key] = default if not isinstance(default, dict) else {}
    if "delta" not in task:
        task["delta"] = {"updates": {}, "deletions": []} if task.get("parent") is not None else {}


def _share_variables(process: dict[str, Any]) -> None:
    """In a (sub)process's dict: a shared variable of the process's data equal to a task's copy becomes a
    reference to that task."""
    data = process.get("data") or {}
    wanted = [name for name in SHARED_VARIABLES if isinstance(data.get(name), dict) and VALUE_REF not in data[name]]
    if not wanted:
        return
    for task_id, task in process["tasks"].items():
        held = task.get("data") or {}
        for name in [name for name in wanted if held.get(name) == data[name]]:
            data[name] = {SAME_AS_TASK: task_id}
            wanted.remove(name)
        if not wanted:
            return


def _restore_shared(process: dict[str, Any]) -> None:
    data = process.get("data") or {}
    for name in SHARED_VARIABLES:
        value = data.get(name)
        if isinstance(value, dict) and set(value) == {SAME_AS_TASK}:
            data[name] = process["tasks"][value[SAME_AS_TASK]]["data"][name]


# Values kept apart that this process has seen, by digest: content-addressed, so valid for any database. Bounded (a
# few per region and version of its rules).
_seen: OrderedDict[str, str] = OrderedDict()
_seen_lock = threading.Lock()
_SEEN_MAX = 256


def _remember(values: dict[str, str]) -> None:
    with _seen_lock:
        for digest, text in values.items():
            _seen[digest] = text
            _seen.move_to_end(digest)
        while len(_seen) > _SEEN_MAX:
            _seen.popitem(last=False)


def _recalled(digests: Iterable[str]) -> dict[str, str]:
    with _seen_lock:
        return {digest: _seen[digest] for digest in digests if digest in _seen}
