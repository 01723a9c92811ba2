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


def dump_state(workflow: BpmnWorkflow) -> str:
    return _serializer.serialize_json(workflow)


def load_state(state: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
    dct = json.loads(state)
    _serializer.migrate(dct)
    return _converter.restore_with_spec(dct, spec, subprocess_specs)
