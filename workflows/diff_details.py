"""What changed on one element, and in one form, between two versions of a process: each change with its old and new
value, in the words a process owner reads. The version diff (`workflows.migration.version_diff`) finds the elements;
this module says what changed on them.

SpiffWorkflow's `SpecDiff` compares the serialised task specs as they are, and some of what differs there is not a
change anyone made. `comparable` takes exactly that out, so that an element is listed only for a change that matters:
- the parser sorts a task's outgoing flows by the height of their targets in the drawing, so moving a shape reorders
  an element's outputs, a gateway's conditions (and with them the default flow's place) and an event-based gateway's
  events; the order decides nothing as long as a gateway's conditions do not overlap, which they must not;
- a neighbour's new id shows up in this element's inputs, outputs, conditions and default flow;
- a task with boundary events sits between a split and a join of SpiffWorkflow's own, so adding or removing a
  boundary event changes the connections of the task and of its predecessor: compared are the flows of the diagram,
  and the boundary events attached to a task (`boundary_events`, not a SpiffWorkflow attribute);
- a timer's definition carries the element's name, which is compared once, as the name;
- the extensions repeat what the task spec already holds (a service task's operator, the pre- and post-scripts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent

from workflows.definitions import (
    ARTICLE_KEY_PROPERTY,
    ARTICLE_PROPERTY,
    CONTEXT_PROPERTY,
    DEADLINE_DAYS_PROPERTY,
    DEADLINE_PROPERTY,
    FORM_PROPERTY,
    JURISDICTION_PROPERTY,
    JURISDICTION_SETTING,
)
from workflows.state import spec_dict

# The attributes of a task spec (SpiffWorkflow's serialised form) in the words of the modeller: the summary of what
# changed on an element (the version diff's "changes", the migration preview's "新版本修改了").
CHANGE_LABELS: dict[str, str] = {
    "typename": "元素类型",
    "bpmn_name": "名称",
    "lane": "泳道（角色）",
    "extensions": "扩展属性（表单、期限、条款、服务参数）",
    "event_definition": "事件定义（定时或消息）",
    "script": "脚本",
    "prescript": "前置脚本",
    "postscript": "后置脚本",
    "cond_task_specs": "分支条件",
    "default_task_spec": "默认分支",
    "outputs": "后续连线",
    "inputs": "前序连线",
    "documentation": "说明",
    "cancel_activity": "是否中断",
    "operation_name": "服务操作",
    "operation_params": "服务参数",
    "result_variable": "服务结果变量",
    "data_input_associations": "数据输入",
    "data_output_associations": "数据输出",
    "io_specification": "输入输出定义",
    "manual": "人工办理",
    "boundary_events": "附加的边界事件（如期限届满）",
}

TYPE_LABELS: dict[str, str] = {
    "UserTask": "用户任务", "ScriptTask": "脚本任务", "ServiceTask": "服务任务", "ManualTask": "人工任务",
    "StartEvent": "开始事件", "EndEvent": "结束事件", "IntermediateCatchEvent": "中间捕获事件",
    "IntermediateThrowEvent": "中间抛出事件", "BoundaryEvent": "边界事件", "ExclusiveGateway": "排他网关",
    "ParallelGateway": "并行网关", "InclusiveGateway": "包容网关", "EventBasedGateway": "事件网关",
    "SendTask": "发送任务", "ReceiveTask": "接收任务", "CallActivity": "调用活动", "SubWorkflowTask": "子流程",
    "TransactionSubprocess": "事务子流程", "NoneTask": "任务",
}


def type_label(spec: Any) -> str:
    name = type(spec).__name__
    return TYPE_LABELS.get(name, name)


@dataclass(frozen=True)
class Change:
    """One change: what changed (`label`) and its value in the old and in the new version (None: not there). `code`
    marks a script or an expression, to be shown as written."""

    label: str
    before: str | None
    after: str | None
    code: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "before": self.before, "after": self.after, "code": self.code}


# --- comparing without bookkeeping -------------------------------------------------------------------------------

# Extensions the task spec also holds as attributes (compared there, once).
_REPEATED_EXTENSIONS = frozenset({"serviceTaskOperator", "preScript", "postScript"})
_TIMERS: dict[str, str] = {
    "TimeDateEventDefinition": "到期时刻（timeDate）",
    "DurationTimerEventDefinition": "等待时长（timeDuration）",
    "CycleTimerEventDefinition": "循环周期（timeCycle）",
}


def _code(text: Any) -> Any:
    """A script or expression as it runs: a line ending written by another editor is not a change."""
    return text.replace("\r\n", "\n").strip() if isinstance(text, str) else text


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _comparable_event(definition: dict[str, Any]) -> dict[str, Any]:
    data = {key: value for key, value in definition.items() if key != "description"}
    if data.get("typename") in _TIMERS:
        data.pop("name", None)  # the element's name, compared as the name
    if "expression" in data:
        data["expression"] = _code(data["expression"])
    if isinstance(data.get("event_definitions"), list):
        data["event_definitions"] = sorted((_comparable_event(d) for d in data["event_definitions"]), key=_sort_key)
    return data


_SPLIT, _JOIN = ".BoundaryEventSplit", ".BoundaryEventJoin"


def _neighbours(spec: Any, names: list[str]) -> list[str]:
    """The elements a task's flows of the diagram connect it to, from its inputs or outputs (`names`): the split
    before a task with boundary events stands for the task (or, before the task itself, for the split's own
    predecessors), and the join after it is no flow of the diagram."""
    found: list[str] = []
    for name in names:
        if name.endswith(_JOIN):
            continue
        split = spec._wf_spec.task_specs.get(name) if name == f"{spec.name}{_SPLIT}" else None
        if split is not None:
            found.extend(_neighbours(split, [s.name for s in split.inputs]))
        else:
            found.append(name.removesuffix(_SPLIT))
    return found


def _renamed(names: Mapping[str, str], target: str) -> str:
    """A flow's target as the new version names it (a task's boundary-event split stands for the task)."""
    base = target.removesuffix(_SPLIT)
    return names.get(base, base)


def _boundary_events(spec: Any) -> list[str] | None:
    split = spec._wf_spec.task_specs.get(f"{spec.name}{_SPLIT}")
    return [s.name for s in split.outputs if s is not spec] if split is not None else None


def comparable(spec: Any, renamed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The serialised task spec without what no process owner changed (see the module's docstring). `renamed` (old
    name → new name, from the spec diff's alignment) is given for a spec of the old version, so that its neighbours
    are named as in the new one."""
    names = renamed or {}
    data = spec_dict(spec)
    for key in ("inputs", "outputs"):
        if isinstance(data.get(key), list):
            data[key] = sorted(names.get(name, name) for name in _neighbours(spec, data[key]))
    events = _boundary_events(spec)
    if events is not None:
        data["boundary_events"] = sorted(names.get(name, name) for name in events)
    if isinstance(data.get("cond_task_specs"), list):
        data["cond_task_specs"] = sorted(
            ([_renamed(names, c["task_spec"]), _code(c["condition"])] for c in data["cond_task_specs"]),
            key=_sort_key)
    if data.get("default_task_spec") is not None:
        data["default_task_spec"] = _renamed(names, data["default_task_spec"])
    if isinstance(data.get("event_definition"), dict):
        data["event_definition"] = _comparable_event(data["event_definition"])
    if isinstance(data.get("extensions"), dict):
        data["extensions"] = {k: v for k, v in data["extensions"].items() if k not in _REPEATED_EXTENSIONS}
    for key in ("script", "prescript", "postscript", "documentation"):
        if key in data:
            data[key] = _code(data[key])
    return data


def real_changes(spec: Any, target: Any, keys: list[str], renamed: Mapping[str, str]) -> list[str]:
    """Of the attributes SpiffWorkflow found changed (`keys`), those that differ once bookkeeping is set aside."""
    if target is None or "typename" in keys:
        return list(keys)
    before, after = comparable(spec, renamed), comparable(target)
    real = [key for key in keys if before.get(key) != after.get(key)]
    if before.get("boundary_events") != after.get("boundary_events"):
        real.append("boundary_events")
    return real


# --- each change in words ----------------------------------------------------------------------------------------

# Compared, but said otherwise: the id by the caller, the type as 元素类型, `manual` by the type.
_NOT_DETAILED = frozenset({"name", "bpmn_id", "description", "lookahead", "typename", "manual"})
_SCRIPTS = {"script": "脚本", "prescript": "前置脚本", "postscript": "后置脚本"}
_PROPERTY_LABELS: dict[str, str] = {
    FORM_PROPERTY: "表单",
    DEADLINE_PROPERTY: "办理期限（期限变量）",
    DEADLINE_DAYS_PROPERTY: "办理期限（工作日）",
    ARTICLE_PROPERTY: "依据条文",
    ARTICLE_KEY_PROPERTY: "依据条文（按地区引用）",
    JURISDICTION_PROPERTY: "管辖",
    CONTEXT_PROPERTY: "办理时显示的数据",
}
_EXTENSION_LABELS: dict[str, str] = {
    "instructionsForEndUser": "办理说明", "unitTests": "脚本单元测试", "taskMetadataValues": "任务元数据",
}
_JURISDICTIONS = {"case": "案件所在地的机关", "province": "省级机关"}
_EVENTS = {"SignalEventDefinition": "信号", "ErrorEventDefinition": "错误", "EscalationEventDefinition": "升级",
           "TerminateEventDefinition": "终止", "CancelEventDefinition": "取消", "ConditionalEventDefinition": "条件"}


def element_changes(spec: Any, target: Any, renamed: Mapping[str, str]) -> list[Change]:
    """Each change on one element (`spec` of the old version, `target` the new one it is aligned with), with both
    values; the type first when it changed. The id is the caller's to say (it knows the alignment)."""
    old, new = spec_dict(spec), spec_dict(target)
    before, after = comparable(spec, renamed), comparable(target)
    changes: list[Change] = []
    if type(spec) is not type(target):
        changes.append(Change("元素类型", type_label(spec), type_label(target)))
    gateway = "cond_task_specs" in old or "cond_task_specs" in new
    for key in dict.fromkeys([*before, *after]):
        if key in _NOT_DETAILED or before.get(key) == after.get(key):
            continue
        if key == "outputs" and gateway:
            continue  # each outgoing flow is said with its condition
        changes.extend(_describe(key, spec, target, old, new, renamed))
    return changes


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _describe(key: str, spec: Any, target: Any, old: dict[str, Any], new: dict[str, Any],
              renamed: Mapping[str, str]) -> list[Change]:
    b, a = old.get(key), new.get(key)
    if key == "bpmn_name":
        return [Change("名称", _text(b), _text(a))]
    if key == "lane":
        return [Change("办理角色（泳道）", _text(b), _text(a))]
    if key in _SCRIPTS:
        return [Change(_SCRIPTS[key], _text(_code(b)), _text(_code(a)), code=True)]
    if key == "documentation":
        return [Change("说明", _text(b), _text(a))]
    if key == "cancel_activity":
        def said(value: Any) -> str | None:
            return None if value is None else ("中断所附环节" if value else "不中断所附环节")
        return [Change("是否中断", said(b), said(a))]
    if key == "event_definition":
        return [Change(_event_label(target, b, a), _event_text(b), _event_text(a))]
    if key == "cond_task_specs":
        return _condition_changes(spec, target, old, new, renamed)
    if key == "default_task_spec":
        return [Change("默认分支", _node(spec, b) if b else None, _node(target, a) if a else None)]
    if key in ("inputs", "outputs"):
        label = "前序连线" if key == "inputs" else "后续连线"
        return [Change(label, _nodes(spec, _neighbours(spec, b or [])),
                       _nodes(target, _neighbours(target, a or [])))]
    if key == "boundary_events":
        return [Change("附加的边界事件", _nodes(spec, _boundary_events(spec) or []),
                       _nodes(target, _boundary_events(target) or []))]
    if key == "extensions":
        return _extension_changes(b or {}, a or {})
    if key == "operation_name":
        return [Change("系统服务", _text(b), _text(a))]
    if key == "operation_params":
        return _parameter_changes(b or {}, a or {})
    if key == "result_variable":
        return [Change("服务结果变量", _text(b), _text(a))]
    return [Change(CHANGE_LABELS.get(key, key), _text(b), _text(a))]


def _node(spec: Any, name: str) -> str:
    """An element a flow connects to, as “名称”（id）, from the process `spec` belongs to."""
    if name == "End" or name.endswith(".EndJoin"):
        return "（流程结束）"
    base = name.removesuffix(_SPLIT).removesuffix(_JOIN)
    found = spec._wf_spec.task_specs.get(base)
    if found is None or found.bpmn_id is None:
        return name
    return f"“{found.bpmn_name}”（{found.bpmn_id}）" if found.bpmn_name else found.bpmn_id


def _nodes(spec: Any, names: list[str]) -> str | None:
    return "、".join(sorted(_node(spec, name) for name in names)) or None


def _condition_changes(spec: Any, target: Any, old: dict[str, Any], new: dict[str, Any],
                       renamed: Mapping[str, str]) -> list[Change]:
    """One change per outgoing flow whose condition changed, or that was added or taken away."""
    was = {_renamed(renamed, c["task_spec"]): (c["task_spec"], c["condition"])
           for c in old.get("cond_task_specs") or []}
    now = {_renamed({}, c["task_spec"]): c["condition"] for c in new.get("cond_task_specs") or []}
    changes: list[Change] = []
    for name in sorted(was.keys() | now.keys()):
        before = _condition_text(was[name][1]) if name in was else None
        after = _condition_text(now[name]) if name in now else None
        if before == after:
            continue
        where = _node(target, name) if name in now else _node(spec, was[name][0])
        changes.append(Change(f"分支条件（通往{where}）", before, after, code=True))
    return changes


def _condition_text(condition: Any) -> str:
    return _code(condition) or "（无条件）"


def _event_label(target: Any, before: Any, after: Any) -> str:
    kinds = {d.get("typename") for d in (before, after) if isinstance(d, dict)}
    if kinds <= set(_TIMERS):
        return "定时"
    if kinds == {"MessageEventDefinition"}:
        return "等待的消息" if isinstance(target, CatchingEvent) else "发送的消息"
    if kinds == {"MultipleEventDefinition"}:
        return "等待的事件"
    return "事件定义"


def _event_text(definition: Any) -> str | None:
    if not isinstance(definition, dict):
        return None
    kind = definition.get("typename")
    if kind in _TIMERS:
        return f"{_TIMERS[kind]} {_code(definition.get('expression'))}"
    if kind == "MessageEventDefinition":
        parts = []
        if definition.get("expression"):
            parts.append(f"内容 {_code(definition['expression'])}")
        if definition.get("message_var"):
            parts.append(f"存入变量 {definition['message_var']}")
        correlations = [*(definition.get("correlation_properties") or []),
                        *(definition.get("process_correlations") or [])]
        if correlations:
            parts.append(f"关联 {_text(correlations)}")
        return f"消息 {definition.get('name')}" + (f"（{'，'.join(parts)}）" if parts else "")
    if kind == "MultipleEventDefinition":
        parts = sorted(filter(None, (_event_text(d) for d in definition.get("event_definitions") or [])))
        return ("（全部发生）" if definition.get("parallel") else "") + "；".join(parts)
    if kind == "NoneEventDefinition":
        return "无"
    text = _EVENTS.get(str(kind), str(kind))
    for part in ("name", "code", "expression", "variable"):
        if definition.get(part):
            text += f" {definition[part]}"
    return text


def _extension_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for key in dict.fromkeys([*before, *after]):
        if key in _REPEATED_EXTENSIONS or before.get(key) == after.get(key):
            continue
        if key == "properties":
            was, now = before.get(key) or {}, after.get(key) or {}
            for name in dict.fromkeys([*was, *now]):
                if was.get(name) != now.get(name):
                    label = _PROPERTY_LABELS.get(name, f"扩展属性 {name}")
                    said = _jurisdiction if name == JURISDICTION_PROPERTY else _text
                    changes.append(Change(label, said(was.get(name)), said(now.get(name))))
        else:
            changes.append(Change(_EXTENSION_LABELS.get(key, f"扩展属性 {key}"), _text(before.get(key)),
                                  _text(after.get(key))))
    return changes


def _jurisdiction(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return _text(value)
    if value.startswith(JURISDICTION_SETTING):
        return f"按地区设置 {value.removeprefix(JURISDICTION_SETTING)}（{value}）"
    return f"{_JURISDICTIONS[value]}（{value}）" if value in _JURISDICTIONS else value


def _parameter_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    def said(parameter: Any) -> str | None:
        if not isinstance(parameter, dict):
            return _text(parameter)
        value = _text(_code(parameter.get("value")))
        kind = parameter.get("type")
        return f"{value}（类型 {kind}）" if value is not None and kind not in (None, "any") else value

    return [Change(f"服务参数 {name}", said(before.get(name)), said(after.get(name)), code=True)
            for name in dict.fromkeys([*before, *after]) if said(before.get(name)) != said(after.get(name))]


# --- forms -------------------------------------------------------------------------------------------------------

_TYPES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否", "array": "多项",
          "object": "一组字段", "null": "空"}
_KEYWORDS = {
    "description": "说明", "maxLength": "最多字数", "minLength": "最少字数", "pattern": "格式（正则表达式）",
    "format": "格式", "minimum": "最小值", "maximum": "最大值", "exclusiveMinimum": "大于", "exclusiveMaximum": "小于",
    "default": "默认值", "minItems": "最少选几项", "maxItems": "最多选几项", "uniqueItems": "各项不得重复",
    "const": "固定值", "readOnly": "只读",
}
_FORM_KEYWORDS = {"title": "表单标题", "description": "表单说明", "additionalProperties": "允许表单外的字段"}
_RULES = frozenset({"if", "then", "else", "allOf", "anyOf", "oneOf", "not", "dependentRequired", "dependentSchemas"})
# Said field by field (the fields, what each requires) or as the choices.
_FIELD_PARTS = frozenset({"title", "type", "enum", "oneOf", "anyOf", "properties", "required", "items"})
_FORM_SKIPPED = frozenset({"properties", "required"})  # said field by field


def form_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What changed in one form's JSON Schema: the form's own keywords (title, rules …) and each field added, taken
    away or changed (title, type, required, choices, limits). Fields inside a group or a list of groups are named by
    their path (`address.city`)."""
    details = [change.to_dict() for change in _keyword_changes(before, after, _FORM_KEYWORDS, skip=_FORM_SKIPPED)]
    was, now = _fields(before), _fields(after)
    fields: list[dict[str, Any]] = []
    for path in dict.fromkeys([*was, *now]):
        if path not in now:
            change, items = "removed", _field_summary(*was[path], removed=True)
        elif path not in was:
            change, items = "added", _field_summary(*now[path], removed=False)
        else:
            change, items = "changed", _field_changes(was[path], now[path])
            if not items:
                continue
        schema = (now.get(path) or was[path])[0]
        fields.append({"field": path, "title": _text(schema.get("title")), "change": change,
                       "details": [item.to_dict() for item in items]})
    return {"title": _text(after.get("title") or before.get("title")), "details": details, "fields": fields}


def _fields(schema: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[Mapping[str, Any], bool]]:
    """Path → (the field's schema, whether it is required)."""
    found: dict[str, tuple[Mapping[str, Any], bool]] = {}
    required = set(schema.get("required") or [])
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, Mapping):
            continue
        path = f"{prefix}{name}"
        found[path] = (sub, name in required)
        items = sub.get("items")
        group = items if isinstance(items, Mapping) and items.get("properties") else sub
        if group.get("properties"):
            found.update(_fields(group, path + "."))
    return found


def _type_text(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    text = "或".join(f"{_TYPES.get(k, k)}" for k in kinds) or None
    items = schema.get("items")
    if "array" in kinds and isinstance(items, Mapping) and items.get("type") and not items.get("properties"):
        text = f"{text}（每项：{_type_text(items)}）"
    return text


def _choices(schema: Mapping[str, Any]) -> dict[str, str | None] | None:
    """The values a field offers (for a list: each item's), value → its title; None: any value."""
    items = schema.get("items")
    source = items if schema.get("type") == "array" and isinstance(items, Mapping) else schema
    if isinstance(source.get("enum"), list):
        return {_value(v): None for v in source["enum"]}
    options = source.get("oneOf") or source.get("anyOf")
    if isinstance(options, list) and options and all(isinstance(o, Mapping) and "const" in o for o in options):
        return {_value(o["const"]): _text(o.get("title")) for o in options}
    return None


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _choice_list(choices: Mapping[str, str | None], values: list[str]) -> str | None:
    return "、".join(f"{choices[v]}（{v}）" if choices[v] else v for v in values) or None


def _required(flag: bool) -> str:
    return "必填" if flag else "选填"


def _field_summary(schema: Mapping[str, Any], required: bool, *, removed: bool) -> list[Change]:
    """A field added (or taken away): what it is, on the side where it exists (an added field's choices too)."""
    choices = _choices(schema)
    values: list[tuple[str, str | None]] = [("类型", _type_text(schema)), ("是否必填", _required(required))]
    if choices and not removed:
        values.append(("选项", _choice_list(choices, list(choices))))
    return [Change(label, value, None) if removed else Change(label, None, value) for label, value in values]


def _field_changes(was: tuple[Mapping[str, Any], bool], now: tuple[Mapping[str, Any], bool]) -> list[Change]:
    (before, required_before), (after, required_after) = was, now
    changes: list[Change] = []
    if before.get("title") != after.get("title"):
        changes.append(Change("标题", _text(before.get("title")), _text(after.get("title"))))
    if _type_text(before) != _type_text(after):
        changes.append(Change("类型", _type_text(before), _type_text(after)))
    if required_before != required_after:
        changes.append(Change("是否必填", _required(required_before), _required(required_after)))
    changes.extend(_choice_changes(_choices(before), _choices(after)))
    changes.extend(_keyword_changes(before, after, _KEYWORDS, skip=_FIELD_PARTS))
    items_before, items_after = before.get("items"), after.get("items")
    if isinstance(items_before, Mapping) or isinstance(items_after, Mapping):
        inner = [Change(f"每项的{c.label}", c.before, c.after, c.code) for c in _keyword_changes(
            items_before if isinstance(items_before, Mapping) else {},
            items_after if isinstance(items_after, Mapping) else {}, _KEYWORDS, skip=_FIELD_PARTS)]
        changes.extend(inner)
    return changes


def _choice_changes(before: dict[str, str | None] | None, after: dict[str, str | None] | None) -> list[Change]:
    if before == after:
        return []
    if before is None or after is None:  # from free input to a list of choices, or back
        return [Change("选项", _choice_list(before, list(before)) if before else "（不限）",
                       _choice_list(after, list(after)) if after else "（不限）")]
    changes: list[Change] = []
    added = [v for v in after if v not in before]
    removed = [v for v in before if v not in after]
    if added:
        changes.append(Change("新增选项", None, _choice_list(after, added)))
    if removed:
        changes.append(Change("删除选项", _choice_list(before, removed), None))
    changes.extend(Change(f"选项 {v} 的名称", before[v], after[v]) for v in after
                   if v in before and before[v] != after[v])
    return changes


def _keyword_changes(before: Mapping[str, Any], after: Mapping[str, Any], labels: Mapping[str, str], *,
                     skip: frozenset[str]) -> list[Change]:
    changes: list[Change] = []
    for key in dict.fromkeys([*before, *after]):
        if key in skip or before.get(key) == after.get(key):
            continue
        label = f"填写规则（{key}）" if key in _RULES else labels.get(key, f"属性 {key}")
        changes.append(Change(label, _text(before.get(key)), _text(after.get(key)), code=key in _RULES))
    return changes
