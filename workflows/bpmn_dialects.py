"""What a diagram written for another engine holds that beian's engine does not read (part of `beian bpmn check`).

Camunda Modeler, Zeebe, Activiti and Flowable write their settings as attributes and extension elements in their
own namespaces (`camunda:assignee`, `zeebe:taskDefinition`, `camunda:property name="formJsonSchemaFilename"`) and
their expressions in JUEL (`${approved}`) or FEEL (`=approved`), with timers as bare ISO 8601 text (`P30D`).
SpiffWorkflow ignores the first silently and fails on the others at run time, on every case reaching them. Each is
found here and said in Chinese with what beian reads instead: one finding per element for the settings (a warning:
the diagram still runs, without them), an error for an expression or timer that would fail."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from lxml import etree

BPMN_NS: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS: Final = "http://spiffworkflow.org/bpmn/schema/1.0/core"

# Namespaces every BPMN modeller writes that carry no behaviour: the diagram's drawing and colours, XML Schema.
_DRAWING: Final = frozenset({
    BPMN_NS, SPIFF_NS,
    "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI", "http://bpmn.io/schema/bpmn/biocolor/1.0",
    "http://www.omg.org/spec/BPMN/non-normative/color/1.0", "http://www.w3.org/2001/XMLSchema-instance",
    "http://www.w3.org/XML/1998/namespace",
})
_MODELER: Final = "http://camunda.org/schema/modeler/1.0"  # the file's target engine: said once (engine_of)
ENGINES: Final[Mapping[str, str]] = {
    "http://camunda.org/schema/1.0/bpmn": "Camunda 7",
    "http://camunda.org/schema/zeebe/1.0": "Camunda 8（Zeebe）",
    "http://camunda.org/schema/modeler/1.0": "Camunda Modeler",
    "http://activiti.org/bpmn": "Activiti",
    "http://flowable.org/bpmn": "Flowable",
}
"""Another engine's namespace → its name, as the findings say it."""

# The extension properties beian reads (workflows/definitions.py, bpmn_check): written as another engine's property
# they are lost, and the finding says how to write them.
BEIAN_PROPERTIES: Final = frozenset({"formJsonSchemaFilename", "deadline", "article", "articleKey", "jurisdiction",
                                     "context", "calendarDays"})

_ROLE: Final = "办理人由任务所在泳道的角色决定"
_FORM: Final = "表单请用扩展属性 formJsonSchemaFilename 指定表单文件"
_DEADLINE: Final = "期限请用扩展属性 deadline，如 within_working_days(...)"
_SERVICE: Final = "服务任务请用 serviceTaskOperator 指定系统的服务"
_MAPPING: Final = "数据映射不会执行：表达式和脚本直接读写案件数据"
_LISTENER: Final = "监听器不会执行：请改用脚本任务或服务任务"
_ENGINE_ONLY: Final = "只对该引擎有意义，可以删除"
HINTS: Final[Mapping[str, str]] = {
    "assignee": _ROLE, "candidateUsers": _ROLE, "candidateGroups": _ROLE, "assignmentDefinition": _ROLE,
    "formKey": _FORM, "formRef": _FORM, "formRefBinding": _FORM, "formData": _FORM, "formDefinition": _FORM,
    "userTaskForm": _FORM, "formHandlerClass": _FORM,
    "dueDate": _DEADLINE, "followUpDate": _DEADLINE, "taskSchedule": _DEADLINE,
    "class": _SERVICE, "delegateExpression": _SERVICE, "expression": _SERVICE, "type": _SERVICE, "topic": _SERVICE,
    "taskDefinition": _SERVICE, "connector": _SERVICE, "taskHeaders": _SERVICE, "resultVariable": _SERVICE,
    "inputOutput": _MAPPING, "ioMapping": _MAPPING, "in": _MAPPING, "out": _MAPPING, "inputParameter": _MAPPING,
    "outputParameter": _MAPPING, "input": _MAPPING, "output": _MAPPING,
    "executionListener": _LISTENER, "taskListener": _LISTENER, "executionListeners": _LISTENER,
    "taskListeners": _LISTENER,
}

# An expression in another engine's language: JUEL (Camunda 7, Activiti, Flowable) wraps it in ${…} or #{…}; FEEL as
# Zeebe writes it starts with "=".
_JUEL: Final = re.compile(r"^\s*[$#]\{(?P<inner>.*)\}\s*$", re.S)
_FEEL: Final = re.compile(r"^\s*=(?!=)(?P<inner>.*)$", re.S)
# A single "=" where Python needs "==" (FEEL compares with "="), outside strings: said as a hint only.
_SINGLE_EQUALS: Final = re.compile(r"(?<![=!<>])=(?!=)")
# ISO 8601 as Camunda Modeler writes a timer: a duration (P30D, PT1H), a repeating cycle (R3/PT10M) or a date-time.
_ISO_TIMER: Final = re.compile(
    r"^(?:R\d*/)?(?:P(?=\d|T\d)(?:\d+(?:[.,]\d+)?[YMWD])*(?:T(?:\d+(?:[.,]\d+)?[HMS])+)?"
    r"|\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DialectFinding:
    element_id: str | None
    severity: str
    code: str
    message: str


def engine_of(root: etree._Element) -> str | None:
    """The other engine the file was written for, if it says so (Camunda Modeler's executionPlatform, or the first
    foreign namespace it declares)."""
    platform = root.get(f"{{{_MODELER}}}executionPlatform")
    if platform:
        version = root.get(f"{{{_MODELER}}}executionPlatformVersion")
        return f"{platform} {version}".strip() if version else platform
    for namespace in root.nsmap.values():
        if namespace in ENGINES and namespace != _MODELER:
            return ENGINES[namespace]
    return None


def foreign_settings(root: etree._Element, label: Callable[[str], str]) -> Iterator[DialectFinding]:
    """One warning per element carrying another engine's attributes or extension elements (or a namespace nobody
    knows), each item with what beian reads instead; `label` names an element by its id for the messages."""
    engine = engine_of(root)
    if engine:
        yield DialectFinding(None, "warning", "foreign-engine",
                             f"这个文件是为 {engine} 编写的：beian 的流程引擎（SpiffWorkflow）只读取 BPMN 标准元素和 "
                             "spiffworkflow 扩展，其他引擎的设置不会生效（逐个元素列在下面）")
    for element in root.iter():
        if not isinstance(element.tag, str) or _namespace(element.tag) not in _DRAWING:
            continue
        items = [_item(name, None) for name in element.attrib if _namespace(name) not in _DRAWING | {_MODELER, ""}]
        extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
        if extensions is not None:
            items += [_item(child.tag, child) for child in extensions if isinstance(child.tag, str)
                      and _namespace(child.tag) not in _DRAWING]
        if items:
            element_id = element.get("id")
            where = label(element_id) if element_id else f"<{_local(element.tag)}>"
            yield DialectFinding(element_id, "warning", "foreign-extension",
                                 f"元素{where}带有 beian 不读取的设置，不会生效：" + "；".join(items))


def foreign_form_ids(root: etree._Element) -> set[str]:
    """The elements whose form is set the way another engine reads it (camunda:formKey, zeebe:formDefinition, a
    formJsonSchemaFilename among another engine's properties): their "no form" finding says where it went."""
    found: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.get("id"):
            continue
        if any(_namespace(name) in ENGINES and HINTS.get(_local(name)) == _FORM for name in element.attrib):
            found.add(element.get("id", ""))
            continue
        extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
        for child in extensions if extensions is not None else ():
            if not isinstance(child.tag, str) or _namespace(child.tag) not in ENGINES:
                continue
            if HINTS.get(_local(child.tag)) == _FORM or any(
                    p.get("name") == "formJsonSchemaFilename" for p in child.iter() if isinstance(p.tag, str)):
                found.add(element.get("id", ""))
    return found


def foreign_expression(source: str) -> str | None:
    """What is wrong with an expression written in another engine's language (JUEL, FEEL), or None."""
    if match := _JUEL.match(source):
        inner = match.group("inner").strip()
        return (f"是 JUEL 表达式（Camunda 7 等引擎的 ${{…}} 写法），beian 的表达式是 Python 的一个子集"
                f"（docs/expressions.md）：去掉 ${{ }}，写成 {_python_spelling(inner)}")
    if match := _FEEL.match(source):
        inner = match.group("inner").strip()
        return (f"是 FEEL 表达式（Camunda 8 / Zeebe 以 = 开头的写法），beian 的表达式是 Python 的一个子集"
                f"（docs/expressions.md）：去掉开头的 =，写成 {_python_spelling(inner)}")
    return None


def feel_hint(source: str) -> str:
    """A hint for an expression Python cannot parse that compares with a single "=" (FEEL's equality)."""
    outside_strings = re.sub(r"\"[^\"]*\"|'[^']*'", "''", source)
    return "；比较是否相等请用 ==（FEEL 用单个 =）" if _SINGLE_EQUALS.search(outside_strings) else ""


def unquoted_timer(source: str) -> str | None:
    """The bare ISO 8601 text of a timer written as Camunda Modeler writes it (P30D, R3/PT10M, 2026-10-01T09:00),
    which beian's engine evaluates as a Python expression and fails on; None for anything else."""
    text = source.strip()
    if not _ISO_TIMER.match(text):
        return None
    try:  # A quoted string, or a number that happens to match (a bare year), is not this mistake.
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text
    return None if isinstance(node, ast.Constant) else text


def _item(qualified: str, element: etree._Element | None) -> str:
    namespace, name = _namespace(qualified), _local(qualified)
    prefix = ENGINES.get(namespace, namespace or "?")
    spelled = f"{_prefix_of(namespace)}:{name}" if _prefix_of(namespace) else name
    if element is not None and name == "properties":
        named = [p.get("name") or "" for p in element if isinstance(p.tag, str)]
        ours = [n for n in named if n in BEIAN_PROPERTIES]
        if ours:
            return (f"{spelled} 中的 {'、'.join(ours)} 写成了 {prefix} 的扩展属性：beian 只读 "
                    f"spiffworkflow:properties，请改为 <spiffworkflow:property name=\"{ours[0]}\" value=\"…\"/>")
        return f"{spelled}（{'、'.join(n for n in named if n) or '扩展属性'}）：{_ENGINE_ONLY}"
    if namespace not in ENGINES:
        return f"{name}（命名空间 {namespace}，不认识的扩展）"
    return f"{spelled}（{HINTS.get(name, _ENGINE_ONLY)}）"


def _prefix_of(namespace: str) -> str:
    return {"http://camunda.org/schema/1.0/bpmn": "camunda", "http://camunda.org/schema/zeebe/1.0": "zeebe",
            "http://camunda.org/schema/modeler/1.0": "modeler", "http://activiti.org/bpmn": "activiti",
            "http://flowable.org/bpmn": "flowable"}.get(namespace, "")


def _python_spelling(inner: str) -> str:
    """The expression as beian would read it, where the spelling is the only difference: && || ! and FEEL's "="."""
    spelled = re.sub(r"&&", " and ", inner)
    spelled = re.sub(r"\|\|", " or ", spelled)
    spelled = re.sub(r"!(?!=)", " not ", spelled)
    spelled = re.sub(r"(?<![=!<>])=(?!=)", " == ", spelled)
    spelled = " ".join(spelled.split())
    try:
        ast.parse(spelled, mode="eval")
    except SyntaxError:
        return f"等价的 Python 表达式（原文：{inner}）"
    return f"“{spelled}”"


def _namespace(qualified: str) -> str:
    return qualified[1:].split("}", 1)[0] if qualified.startswith("{") else ""


def _local(qualified: str) -> str:
    return qualified.split("}", 1)[1] if qualified.startswith("{") else qualified
