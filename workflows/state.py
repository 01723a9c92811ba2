"""Instance state (de)serialisation that stores a reference to the definition, never a copy of it.

SpiffWorkflow's serializer embeds the whole process spec in every saved instance. We store the task tree and data
only and attach the cached, already parsed spec of the instance's own definition version on load: the state is
about a third of the size and loading skips rebuilding the spec, which keeps a persisted step cheap.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
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
# Converts specs to dicts: what `SpecDiff` compares when it diffs two versions (workflows/migration.py).
SPEC_REGISTRY = _registry
_converter = _StateOnlyWorkflowConverter(BpmnWorkflow, _registry)
_serializer = BpmnWorkflowSerializer(_registry)


# Large values a case starts with (the application and the region's profile) stay in the start event's data; when a
# process ends SpiffWorkflow copies every variable into the workflow's own data, which would store them twice. The
# second copy is saved as a reference to the task that holds the first (restored on load); a state saved before
# this (with both copies) loads as it is.
SHARED_VARIABLES = ("application", "region")
SAME_AS_TASK = "beian:same_as_task"
_encoder = _serializer._encoder_cls


def dump_state(workflow: BpmnWorkflow) -> str:
    """The state as compact JSON: no spaces, Chinese text as itself (not \\uXXXX escapes), shared values once."""
    _registry._encoder_mode = True  # what SpiffWorkflow's serialize_json sets while it converts
    try:
        dct = _serializer.to_dict(workflow)
        dct[_serializer.VERSION_KEY] = _serializer.VERSION
        for process in (dct, *dct["subprocesses"].values()):
            _share_variables(process)
        return json.dumps(dct, cls=_encoder, ensure_ascii=False, separators=(",", ":"))
    finally:
        _registry._encoder_mode = False


def load_state(state: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
    dct = json.loads(state)
    _serializer.migrate(dct)
    for process in (dct, *dct["subprocesses"].values()):
        _restore_shared(process)
    return _converter.restore_with_spec(dct, spec, subprocess_specs)


def _share_variables(process: dict[str, Any]) -> None:
    """In a (sub)process's dict: a shared variable of the process's data equal to a task's copy becomes a
    reference to that task."""
    data = process.get("data") or {}
    wanted = [name for name in SHARED_VARIABLES if isinstance(data.get(name), dict)]
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
