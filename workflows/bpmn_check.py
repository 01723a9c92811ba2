"""`beian bpmn check`: everything that would make a deployment fail or misbehave, found before deploying.

A process owner edits a diagram in a modeller; this says, element by element and in plain Chinese, what the engine
would refuse or do wrong. Each finding carries a stable `code` (for tests and for marking the element on a diagram):

errors (a deployment must be refused)
  too-large           the file is over tasks.limits.MAX_DIAGRAM_BYTES, or one of its form schemas over
                      MAX_FORM_SCHEMA_BYTES (found before anything is parsed: every way a diagram enters comes here)
  xml-syntax          the file is not well-formed XML (line and column)
  xsd                 the file does not conform to the BPMN 2.0 schema (with SpiffWorkflow's extension schema)
  parse               SpiffWorkflow cannot build the process (no executable process, bad structure, …)
  id-clash            a flow element shares its id with an extension element (SpiffWorkflow silently swaps them)
  lane-role           a user task outside a lane, or in a lane whose name is not a role (tasks/roles.py)
  form-missing        a user task's form schema is not in bpmn/forms (nor next to the file)
  form-invalid        a form or message schema that is not valid JSON or not a valid JSON Schema
  form-choices        a form property's x-choices names no known source of case choices, or has no oneOf to narrow
                      (the choice would silently stay open to everything the form lists)
  operator-unknown    a service task without an operator, or with one the engine does not have (OPERATORS)
  operator-parameters a service task passing parameters its operator does not take, or omitting required ones
  expression-syntax   an expression or script that is not valid Python
  expression-forbidden an expression or script outside the expression language (docs/expressions.md): `while`,
                      imports, `_` names, attribute reads, `str.format`, …
  expression-name     a call of a function the expression language does not provide, or a Python builtin
                      outside its library (`open`, `getattr`, …)
  expression-limit    an expression or script that fails on every case: it reads no case data and runs out of its
                      time or memory allowance or fails (`10 ** 10 ** 10`, `sum(range(10 ** 12))`), or loops
                      over more turns than its step allowance
  gateway-condition   an exclusive/inclusive gateway with 2+ outgoing flows where a flow has no condition and is
                      not the default
  task-kind           a task nobody performs (a plain task, a manual task: the case would stop there for good) or
                      one the engine cannot run (a business rule task needs DMN)
  foreign-expression  an expression in another engine's language (JUEL ${…}, FEEL =…), with its Python spelling
  timer-unquoted      a timer written as bare ISO 8601 text (P30D, R3/PT10M, 2026-10-01T09:00), as Camunda Modeler
                      writes it: beian's timers are expressions (workflows/bpmn_dialects.py)

warnings (deployable, but probably wrong)
  form-unset          a user task without a form: whatever is submitted is accepted unchecked
  form-checks         a form's x-checks names what is neither a part of the application nor a checklist item
  timer-calendar-days a timer counting days with a literal ISO duration ("P10D"): statutory periods count working
                      days. Silence it where calendar days are meant by giving the timer event the extension
                      property `calendarDays` = `true`
                      (`<spiffworkflow:properties><spiffworkflow:property name="calendarDays" value="true"/>`).
  message-unknown     a catch event or receive task waiting for a message the system never sends (workflows.messages)
  foreign-engine      the file was written for another engine (Camunda Modeler's executionPlatform, …)
  foreign-extension   an element carrying another engine's settings (camunda:, zeebe:, activiti:, flowable:) or an
                      unknown namespace's: each said with what beian reads instead (a form among another engine's
                      properties is also named on the task's form-unset finding)
  new-process         the file's process id is none of the deployed ones: it would start a new process, not a new
                      version (said only where a database is asked)
  deadline-days       a user task's deadlineWorkingDays that is not a whole number of days in 1..365 (error), or set
                      beside a `deadline` variable, which wins (warning)
  running-case-fails  (error, with a database) the file tried on a running case of its process, migrated inside a
                      transaction that is rolled back: the new diagram fails on it (workflows/service/rehearsal.py)
  running-case-blocked (warning, with a database) a running case that cannot move to the file as it stands (its
                      step changed in kind or gained boundary events): it finishes on its version
  running-id-removed  an element that running instances of the deployed version stand on is gone in this file:
                      they cannot be migrated onto it as they are
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import json
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, Protocol, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from tasks.access import JURISDICTIONS
from tasks.articles import ARTICLE_KEYS
from tasks.errors import DefinitionError
from tasks.form_checks import checks_problem
from tasks.form_choices import choices_problem
from tasks.limits import MAX_DIAGRAM_BYTES, MAX_FORM_SCHEMA_BYTES, MAX_NESTING, amount, json_size, json_size_problem
from tasks.reasons import file_reason, json_reason
from tasks.roles import all_roles
from workflows.bpmn_dialects import (
    feel_hint,
    foreign_expression,
    foreign_form_ids,
    foreign_settings,
    unquoted_timer,
)
from workflows.definitions import (
    ARTICLE_KEY_PROPERTY,
    DEADLINE_DAYS_PROPERTY,
    DEADLINE_PROPERTY,
    FORM_PROPERTY,
    JURISDICTION_PROPERTY,
    JURISDICTION_SETTING,
    JURISDICTION_SETTINGS,
    MAX_DEADLINE_DAYS,
    ParsedDefinition,
    UserTaskInfo,
    bpmn_dir,
    main_process_id,
    parse_definition,
)
from workflows.expressions import BUILTIN_NAMES, names_used, normalise_script, problems, proven_failures
from workflows.expressions.language import parse
from workflows.expressions.limits import ExpressionNotAllowed
from workflows.messages import MESSAGES

Severity = Literal["error", "warning"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
CALENDAR_DAYS_PROPERTY = "calendarDays"

# An ISO 8601 duration (or a recurring interval containing one) that counts years, months, weeks or days.
_DAY_DURATION = re.compile(r"(?:^|/)P(?:\d+(?:[.,]\d+)?[YMWD])+(?:T|$|/)", re.IGNORECASE)
_GATEWAYS = ("exclusiveGateway", "inclusiveGateway")
_TIMER_EXPRESSIONS = ("timeDate", "timeDuration", "timeCycle")
_MESSAGE_WAITERS = ("startEvent", "intermediateCatchEvent", "boundaryEvent")


@dataclass(frozen=True)
class Finding:
    file: str
    element_id: str | None
    severity: Severity
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


# --- entry points ------------------------------------------------------------------------------------------------


class DeployedProcesses(Protocol):
    """What a check learns from a database: the processes deployed, and where their running cases stand."""

    def ids(self) -> list[str]: ...

    def running_ids(self, process_id: str) -> set[str]: ...

    def running_case_findings(self, xml: str, file_name: str, forms: Mapping[str, Any]) -> list[Finding]: ...


Trial = Callable[[str, str, Mapping[str, Any]], list[Finding]]
"""A trial run of a file with synthetic cases (workflows/service/trial_run.py): (xml, file name, forms) → findings."""


def check_files(paths: Iterable[Path | str], deployed: DeployedProcesses | None = None,
                trial: Trial | None = None) -> list[Finding]:
    """Check BPMN files as they would be deployed. Form schemas are looked up in the bundled `bpmn/forms`, then in
    `forms/` beside the file, then beside the file itself (a later place wins, so a file brings its own forms).
    `deployed` (a database's processes): a file is compared with the running cases of its process, and a file that
    would start a new process is said to. `trial`: a file without errors so far is run through its paths with
    synthetic cases."""
    findings: list[Finding] = []
    for raw in paths:
        path = Path(raw)
        try:
            if (size := path.stat().st_size) > MAX_DIAGRAM_BYTES:  # refused before it is read
                findings.append(Finding(path.name, None, "error", "too-large", _too_large("BPMN 文件", path.name, size,
                                                                                          MAX_DIAGRAM_BYTES)))
                continue
            xml = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = file_reason(exc) if isinstance(exc, OSError) else "不是 UTF-8 编码的文本"
            findings.append(Finding(path.name, None, "error", "xml-syntax", f"无法读取 BPMN 文件 {path}：{reason}"))
            continue
        forms, broken = _load_forms([bpmn_dir() / "forms", path.parent / "forms", path.parent])
        running = None
        # A file that does not parse has nothing to compare with: _check says why it does not parse.
        with contextlib.suppress(DefinitionError):
            running = deployed.running_ids(main_process_id(xml, path.name)) if deployed is not None else None
        found = _check(xml, path.name, forms, broken, running, deployed.ids() if deployed else ())
        if deployed is not None and not has_errors(found):
            found += deployed.running_case_findings(xml, path.name, forms)
        if trial is not None and not has_errors(found):
            found += trial(xml, path.name, forms)
        findings.extend(found)
    return findings


def check_source(xml: str, file_name: str, forms: Mapping[str, Any], running_ids: set[str] | None = None,
                 deployed_ids: Collection[str] = ()) -> list[Finding]:
    """Check one BPMN document; `forms` maps a schema file name (`acceptance.schema.json`) to its parsed JSON.
    `running_ids`: the element ids that running instances of the currently deployed version stand on;
    `deployed_ids`: the processes deployed (a file whose process is none of them would start a new one)."""
    return _check(xml, file_name, forms, {}, running_ids, deployed_ids)


def size_findings(xml: str, file_name: str, forms: Mapping[str, Any]) -> list[Finding]:
    """The diagram or its form schemas over their size limits: errors found without parsing anything."""
    findings = []
    # A character is at least one byte: only a text near the limit needs encoding to be measured.
    size = len(xml) if len(xml) > MAX_DIAGRAM_BYTES else len(xml.encode("utf-8", "surrogatepass"))
    if size > MAX_DIAGRAM_BYTES:
        findings.append(Finding(file_name, None, "error", "too-large",
                                _too_large("BPMN 文件", file_name, size, MAX_DIAGRAM_BYTES)))
    for name, schema in forms.items():
        form_size = json_size(schema)
        if form_size is None:
            findings.append(Finding(str(name), None, "error", "too-large",
                                    f"表单 {name} 嵌套层数过多（超过 {MAX_NESTING} 层），不是可用的表单"))
        elif form_size > MAX_FORM_SCHEMA_BYTES:
            findings.append(Finding(str(name), None, "error", "too-large",
                                    _too_large("表单", str(name), form_size, MAX_FORM_SCHEMA_BYTES)))
    return findings


def _too_large(what: str, name: str, size: int, limit: int) -> str:
    return f"{json_size_problem(size, limit, f'{what} {name} ')}，不能检查或部署"


# --- the checks --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Known:
    operators: Mapping[str, Callable[..., Any]]
    functions: frozenset[str]
    messages: Mapping[str, str]


@lru_cache(maxsize=1)
def _known() -> _Known:
    # Imported here: the operators module registers the expression functions, which import this module's users.
    from workflows.operators import OPERATORS, expression_functions

    # expression_functions only defines closures over its context; the names are what a diagram may call.
    functions = frozenset(expression_functions(cast(Any, None))) | BUILTIN_NAMES
    return _Known(OPERATORS, functions, MESSAGES)


class _Report:
    """Findings of one file, with the names of its elements for the messages."""

    def __init__(self, file_name: str, root: etree._Element | None = None) -> None:
        self.file_name = file_name
        self.findings: list[Finding] = []
        self.names: dict[str, str] = {}
        if root is not None:
            for element in root.iter():
                if isinstance(element.tag, str) and element.get("id") and element.get("name"):
                    self.names.setdefault(element.get("id"), element.get("name"))

    def label(self, element_id: str | None) -> str:
        if element_id is None:
            return ""
        name = self.names.get(element_id)
        return f"“{name}”（{element_id}）" if name else f"“{element_id}”"

    def add(self, element_id: str | None, severity: Severity, code: str, message: str) -> None:
        self.findings.append(Finding(self.file_name, element_id, severity, code, message))

    def error(self, element_id: str | None, code: str, message: str) -> None:
        self.add(element_id, "error", code, message)

    def warning(self, element_id: str | None, code: str, message: str) -> None:
        self.add(element_id, "warning", code, message)


def _check(xml: str, file_name: str, forms: Mapping[str, Any], broken: Mapping[str, str],
           running_ids: set[str] | None, deployed_ids: Collection[str] = ()) -> list[Finding]:
    too_large = size_findings(xml, file_name, forms)
    if too_large:
        return too_large
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        report = _Report(file_name)
        detail = re.sub(r", line \d+, column \d+$", "", exc.msg)
        report.error(None, "xml-syntax", f"BPMN 文件不是有效的 XML（第 {line} 行第 {column} 列）：{detail}")
        return report.findings
    report = _Report(file_name, root)
    if _check_xsd(root, report):
        return report.findings  # SpiffWorkflow validates with the same schema: parsing would only repeat it
    _check_id_clashes(root, report)
    _check_dialects(root, report)
    _check_task_kinds(root, report)
    parsed = _parse(xml, file_name, forms, report)
    if parsed is not None:
        _check_user_tasks(parsed, forms, broken, report)
        _check_message_schemas(parsed, forms, broken, report)
        if deployed_ids and parsed.process_id not in deployed_ids:
            report.warning(None, "new-process",
                           f"文件中的流程 id “{parsed.process_id}”与已部署的流程都不同："
                           "部署后将新建一个流程（第 1 版），而不是已有流程的新版本，已有流程的案件不受影响。"
                           "要更新已有流程，请保持流程 id 不变"
                           f"（已部署：{'、'.join(sorted(deployed_ids))}）")
    _check_service_tasks(root, report)
    _check_expressions(root, report)
    _check_timers(root, report)
    _check_gateways(root, report)
    _check_messages(root, report)
    _drop_parse_errors_explained_elsewhere(report)
    _explain_foreign_forms(root, report)
    if running_ids:
        present = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
        for removed in sorted(running_ids - present):
            report.warning(removed, "running-id-removed",
                           f"正在运行的案件停在元素“{removed}”上，而新版本中已没有这个元素：这些案件无法原样迁移到新版本，"
                           "请保留该元素（id 不变）或在迁移时为它们指定新的节点")
    return report.findings


_xsd_lock = threading.Lock()


def _check_xsd(root: etree._Element, report: _Report) -> bool:
    """BPMN 2.0 XSD with SpiffWorkflow's extension schema (the one its validator uses), every error reported."""
    copy = etree.fromstring(etree.tostring(root))
    VALIDATOR.preprocess(copy)  # the validator's own allowance for what bpmn.io writes for correlation properties
    by_line: dict[int, str] = {}
    for element in copy.iter():
        if isinstance(element.tag, str) and element.get("id") and element.sourceline is not None:
            by_line.setdefault(element.sourceline, element.get("id"))
    with _xsd_lock:  # the schema object keeps its error log: one validation at a time
        valid = VALIDATOR.validator.validate(copy)
        errors = list(VALIDATOR.validator.error_log)
    if valid:
        return False
    for entry in errors:
        element_id = by_line.get(entry.line)
        where = f"{report.label(element_id)}" if element_id else ""
        report.error(element_id, "xsd", f"第 {entry.line} 行{where}不符合 BPMN 2.0 规范：{entry.message}")
    return True


def _check_id_clashes(root: etree._Element, report: _Report) -> None:
    extension_ids = {e.get("id") for e in root.iter(f"{{{SPIFF_NS}}}*") if e.get("id")}
    for element in root.iter(f"{{{BPMN_NS}}}*"):
        element_id = element.get("id")
        if element_id in extension_ids and _local(element) not in ("definitions", "message"):
            report.error(element_id, "id-clash",
                         f"元素{report.label(element_id)}的 id 与某个扩展元素（服务、参数）的 id 相同，"
                         "引擎会把二者混淆：请给该元素换一个 id")


def _drop_parse_errors_explained_elsewhere(report: _Report) -> None:
    """SpiffWorkflow stops at the first problem, in English; a check here that names the same element says it
    better (a gateway flow without a condition, an id clash), so the engine's wording is dropped then."""
    explained = {f.element_id for f in report.findings if f.code != "parse" and f.severity == "error"}
    report.findings = [f for f in report.findings
                       if not (f.code == "parse" and f.element_id is not None and f.element_id in explained)]


def _parse(xml: str, file_name: str, forms: Mapping[str, Any], report: _Report) -> ParsedDefinition | None:
    root = etree.fromstring(xml.encode("utf-8"))
    if not any(p.get("isExecutable") == "true" for p in root.iter(f"{{{BPMN_NS}}}process")):
        report.error(None, "parse", "文件中没有可执行的流程：请在流程属性中勾选“可执行”（isExecutable=true）")
        return None
    try:
        process_id = main_process_id(xml, file_name)
        return parse_definition(process_id, xml, file_name, dict(forms))
    except DefinitionError as exc:
        cause = exc.__cause__
        element_id = getattr(cause, "id", None) or None
        report.error(element_id, "parse", f"流程引擎无法解析：{exc.message}")
        return None


def _check_user_tasks(parsed: ParsedDefinition, forms: Mapping[str, Any], broken: Mapping[str, str],
                      report: _Report) -> None:
    lanes = "、".join(role.label for role in all_roles())
    for info in parsed.user_tasks.values():
        label = report.label(info.bpmn_id)
        if info.lane is None:
            report.error(info.bpmn_id, "lane-role", f"用户任务{label}不在任何泳道中，无法确定由哪个角色办理；"
                                                    f"请把它放进以角色命名的泳道：{lanes}")
        elif info.role is None:
            report.error(info.bpmn_id, "lane-role", f"用户任务{label}所在泳道“{info.lane}”不是已知的角色；"
                                                    f"泳道名称应为：{lanes}；新的角色由管理员先添加（beian roles add）")
        if info.form is None:
            report.warning(info.bpmn_id, "form-unset", f"用户任务{label}没有指定表单（扩展属性 {FORM_PROPERTY}），"
                                                       "办理时提交的任何内容都会被接受而不经校验")
        elif info.form in broken:
            report.error(info.bpmn_id, "form-invalid", f"用户任务{label}的表单 {info.form} {broken[info.form]}")
        elif info.form not in forms:
            report.error(info.bpmn_id, "form-missing",
                         f"用户任务{label}引用的表单 {info.form} 不存在（应放在 bpmn/forms 目录，"
                         "或与 BPMN 文件同一目录下的 forms 中）")
        else:
            problem = _schema_problem(forms[info.form])
            if problem:
                report.error(info.bpmn_id, "form-invalid", f"用户任务{label}的表单 {info.form} 不是有效的 JSON Schema："
                                                           f"{problem}")
            elif choices := choices_problem(forms[info.form]):
                report.error(info.bpmn_id, "form-choices", f"用户任务{label}的表单 {info.form}：{choices}")
            elif checks := checks_problem(forms[info.form]):
                report.warning(info.bpmn_id, "form-checks", f"用户任务{label}的表单 {info.form}：{checks}；"
                                                            "办理页面不会标出这些须核对的内容")
        _check_citation(info, label, report)
        _check_jurisdiction(info, label, report)
        _check_deadline_days(parsed, info, label, report)


def _check_deadline_days(parsed: ParsedDefinition, info: UserTaskInfo, label: str, report: _Report) -> None:
    written = _user_task_property(parsed, info.bpmn_id, DEADLINE_DAYS_PROPERTY)
    if written is None:
        return
    if info.deadline_days is None:
        report.error(info.bpmn_id, "deadline-days", f"用户任务{label}的期限 {DEADLINE_DAYS_PROPERTY}=“{written}”"
                                                    f"应为 1 至 {MAX_DEADLINE_DAYS} 之间的整数（工作日数）")
    elif info.deadline_variable:
        report.warning(info.bpmn_id, "deadline-days", f"用户任务{label}同时设置了期限变量 {DEADLINE_PROPERTY}"
                                                      f"（{info.deadline_variable}）和 {DEADLINE_DAYS_PROPERTY}："
                                                      "以期限变量为准，工作日数不起作用")


def _user_task_property(parsed: ParsedDefinition, bpmn_id: str, name: str) -> str | None:
    for spec in (parsed.spec, *parsed.subprocess_specs.values()):
        task_spec = spec.task_specs.get(bpmn_id)
        if task_spec is not None:
            value = (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(name)
            return None if value is None else str(value)
    return None


def _check_jurisdiction(info: UserTaskInfo, label: str, report: _Report) -> None:
    known = (*JURISDICTIONS, *(JURISDICTION_SETTING + key for key in JURISDICTION_SETTINGS))
    if info.jurisdiction not in known:
        report.error(info.bpmn_id, "jurisdiction",
                     f"用户任务{label}的管辖 {JURISDICTION_PROPERTY}=“{info.jurisdiction}”无法识别"
                     f"（可用：{'、'.join(known)}），案件到达时无法确定由哪个机关办理")


def _check_citation(info: UserTaskInfo, label: str, report: _Report) -> None:
    """A task cites its article by key, resolved in each case's own region; a literal citation would show one
    region's text on every region's cases."""
    if info.article_key is not None and info.article_key not in ARTICLE_KEYS:
        report.error(info.bpmn_id, "article-key", f"用户任务{label}的条文键 {ARTICLE_KEY_PROPERTY}=“{info.article_key}”"
                                                  f"不是已知的键（可用：{'、'.join(ARTICLE_KEYS)}）")
    elif info.article and info.article_key is None:
        report.warning(info.bpmn_id, "article-literal",
                       f"用户任务{label}的条文写成了固定文字“{info.article}”，每个地区的案件都会显示它；"
                       f"请改用扩展属性 {ARTICLE_KEY_PROPERTY}（条文键，按案件所在地区取本地区的条文）")


def _check_message_schemas(parsed: ParsedDefinition, forms: Mapping[str, Any], broken: Mapping[str, str],
                           report: _Report) -> None:
    for message in sorted(parsed.messages):
        name = f"{message}.message.schema.json"
        problem = broken.get(name) or (_schema_problem(forms[name]) if name in forms else None)
        if problem:
            report.error(None, "form-invalid", f"消息“{message}”的内容格式 {name} 无效：{problem}")


def _schema_problem(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return "内容应为 JSON 对象"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"{exc.message}" + (f"（位置 {where}）" if where else "")
    return None


def _check_service_tasks(root: etree._Element, report: _Report) -> None:
    known = _known()
    for task in root.iter(f"{{{BPMN_NS}}}serviceTask"):
        task_id = task.get("id")
        label = report.label(task_id)
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        if operator is None or not operator.get("id"):
            report.error(task_id, "operator-unknown", f"服务任务{label}没有指定要执行的服务（serviceTaskOperator）")
            continue
        name = operator.get("id")
        handler = known.operators.get(name)
        if handler is None:
            report.error(task_id, "operator-unknown", f"服务任务{label}调用了系统没有的服务“{name}”；"
                                                      f"可用的服务：{'、'.join(known.operators)}")
            continue
        given = {p.get("id") for p in operator.findall("spiffworkflow:parameters/spiffworkflow:parameter", NS)}
        accepted = list(inspect.signature(handler).parameters.values())[1:]  # the first is the step context
        open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted)
        names = {p.name for p in accepted if p.kind is not inspect.Parameter.VAR_KEYWORD}
        required = {p.name for p in accepted if p.default is inspect.Parameter.empty
                    and p.kind is not inspect.Parameter.VAR_KEYWORD}
        unexpected = set() if open_ended else given - names
        missing = required - given
        if unexpected or missing:
            parts = ([f"多余的参数 {'、'.join(sorted(unexpected))}"] if unexpected else []) + \
                    ([f"缺少必需的参数 {'、'.join(sorted(missing))}"] if missing else [])
            report.error(task_id, "operator-parameters", f"服务任务{label}调用服务“{name}”时" + "，".join(parts)
                         + f"（该服务接受：{'、'.join(sorted(names)) or '无参数'}）")


def _expressions(root: etree._Element) -> Iterator[tuple[str | None, str, str, str]]:
    """(element id, what, source, mode) for every piece of Python in the file."""
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None and (condition.text or "").strip():
            yield flow.get("id"), "条件", condition.text.strip(), "eval"
    for tag in _TIMER_EXPRESSIONS:
        for timer in root.iter(f"{{{BPMN_NS}}}{tag}"):
            # Bare ISO 8601 text is not an expression gone wrong but another modeller's spelling (_check_timers).
            if (timer.text or "").strip() and not unquoted_timer(timer.text):
                yield _owner_id(timer), "定时表达式", timer.text.strip(), "eval"
    for tag in ("loopCardinality", "completionCondition", "condition"):
        for element in root.iter(f"{{{BPMN_NS}}}{tag}"):
            if (element.text or "").strip():
                yield _owner_id(element), "表达式", element.text.strip(), "eval"
    for script in root.iter(f"{{{BPMN_NS}}}script"):
        if (script.text or "").strip():
            yield _owner_id(script), "脚本", normalise_script(script.text), "exec"
    for tag, what in (("preScript", "前置脚本"), ("postScript", "后置脚本")):
        for script in root.iter(f"{{{SPIFF_NS}}}{tag}"):
            if (script.text or "").strip():
                yield _owner_id(script), what, normalise_script(script.text), "exec"
    for param in root.iter(f"{{{SPIFF_NS}}}parameter"):
        value = param.get("value")
        if value is not None and value.strip():
            yield _owner_id(param), f"服务参数 {param.get('id')}", value.strip(), "eval"
    for payload in root.iter(f"{{{SPIFF_NS}}}messagePayload"):
        if (payload.text or "").strip():
            yield _owner_id(payload), "消息内容", payload.text.strip(), "eval"
    for path in root.iter(f"{{{BPMN_NS}}}messagePath"):
        if (path.text or "").strip():
            yield _owner_id(path), "关联表达式", path.text.strip(), "eval"


def _check_dialects(root: etree._Element, report: _Report) -> None:
    for found in foreign_settings(root, report.label):
        report.add(found.element_id, cast(Severity, found.severity), found.code, found.message)


def _explain_foreign_forms(root: etree._Element, report: _Report) -> None:
    """A task without a form whose form was set for another engine: its "no form" finding says so."""
    elsewhere = foreign_form_ids(root)
    hint = ("；该任务的表单是按其他引擎的写法设置的（见该任务“带有 beian 不读取的设置”的提醒），"
            f"请改用扩展属性 {FORM_PROPERTY}")
    report.findings = [replace(f, message=f.message + hint)
                       if f.code == "form-unset" and f.element_id in elsewhere else f for f in report.findings]


# Task kinds the engine takes but nobody performs: SpiffWorkflow waits on them as manual tasks, which beian never
# offers to anyone (a user task is offered to its lane's role), so every case reaching one stops there.
_UNPERFORMED: Final = {"task": "任务（无类型）", "manualTask": "人工任务"}


def _check_task_kinds(root: etree._Element, report: _Report) -> None:
    for tag, kind in _UNPERFORMED.items():
        for task in root.iter(f"{{{BPMN_NS}}}{tag}"):
            task_id = task.get("id")
            report.error(task_id, "task-kind",
                         f"{kind}{report.label(task_id)}没有人办理，也不会自动完成：案件到达这里就会一直停住。"
                         "请在建模器中把它改为用户任务（放进角色泳道并指定表单），或服务任务（指定系统的服务）、"
                         "脚本任务")
    for task in root.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        task_id = task.get("id")
        report.error(task_id, "task-kind", f"业务规则任务{report.label(task_id)}需要 DMN 决策表，系统不支持："
                                           "请改用网关的条件或脚本任务")


def _check_expressions(root: etree._Element, report: _Report) -> None:
    known = _known()
    python_builtins = set(dir(builtins))
    for element_id, what, source, mode in _expressions(root):
        label = report.label(element_id)
        flat = " ".join(source.split())  # one line: a script's line breaks would break the report's lines
        shown = flat if len(flat) <= 80 else flat[:77] + "…"
        if mode == "eval" and (foreign := foreign_expression(source)):
            report.error(element_id, "foreign-expression", f"元素{label}的{what}“{shown}”{foreign}")
            continue
        try:
            tree = parse(source, mode)
        except ExpressionNotAllowed as exc:
            report.error(element_id, "expression-syntax",
                         f"元素{label}的{what}“{shown}”无法解析：{exc}{feel_hint(source)}")
            continue
        found = problems(source, mode, reserved=known.functions)
        if found:
            report.error(element_id, "expression-forbidden", f"元素{label}的{what}“{shown}”不被允许："
                                                             + "；".join(found))
            continue
        called = {node.func.id for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        unknown = sorted(n for n in called if n not in known.functions)
        unknown += sorted(n for n in names_used(source, mode) - called
                          if n in python_builtins and n not in known.functions)
        if unknown:
            report.error(element_id, "expression-name",
                         f"元素{label}的{what}“{shown}”使用了表达式语言中没有的函数或名称：{'、'.join(unknown)}；"
                         f"可用的函数：{'、'.join(sorted(known.functions))}")
            continue
        failures = proven_failures(source, mode)
        if failures:
            report.error(element_id, "expression-limit", f"元素{label}的{what}“{shown}”：" + "；".join(failures))


def _check_timers(root: etree._Element, report: _Report) -> None:
    for definition in root.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
        event = definition.getparent()
        event_id = event.get("id") if event is not None else None
        if event is not None and _property(event, CALENDAR_DAYS_PROPERTY) == "true":
            continue
        for tag in _TIMER_EXPRESSIONS:
            expression = definition.find(f"bpmn:{tag}", NS)
            if expression is None or not (expression.text or "").strip():
                continue
            if bare := unquoted_timer(expression.text):
                report.error(event_id, "timer-unquoted",
                             f"定时事件{report.label(event_id)}的时间“{bare}”没有加引号：这是 Camunda Modeler "
                             "等按 ISO 8601 填写的写法，而 beian 的定时表达式是 Python 表达式，"
                             "每个到达这里的案件都会出错。"
                             "按工作日计算的法定期限请写 within_working_days(...)['due']；确实按自然日的，写成带引号的 "
                             f"\"{bare}\"，并给事件加上扩展属性 {CALENDAR_DAYS_PROPERTY} = true")
                continue
            literal = _day_duration_literal(expression.text.strip())
            if literal:
                report.warning(event_id, "timer-calendar-days",
                               f"定时事件{report.label(event_id)}按自然日计时（{literal}）：法定期限按工作日计算，"
                               "应使用 within_working_days(...)（公示期用 publicity_period(...)）算出期限，"
                               "再以期限的 ['due'] 作为定时时间；确实按自然日计算的，请给该事件加上扩展属性 "
                               f"{CALENDAR_DAYS_PROPERTY} = true")


def _day_duration_literal(source: str) -> str | None:
    """The ISO duration counting days that a timer expression spells out, quoted ("P10D") or bare (P10D)."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return source if _DAY_DURATION.search(source) else None
    for node in ast.walk(tree):
        text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else \
            node.id if isinstance(node, ast.Name) else None
        if text and _DAY_DURATION.search(text.strip()):
            return text
    return None


def _check_gateways(root: etree._Element, report: _Report) -> None:
    flows = {flow.get("id"): flow for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow")}
    for tag in _GATEWAYS:
        for gateway in root.iter(f"{{{BPMN_NS}}}{tag}"):
            gateway_id = gateway.get("id")
            outgoing = [flows[ref] for o in gateway.findall("bpmn:outgoing", NS)
                        if (ref := (o.text or "").strip()) in flows]
            outgoing += [f for f in flows.values() if f.get("sourceRef") == gateway_id and f not in outgoing]
            if len(outgoing) < 2:
                continue
            default = gateway.get("default")
            for flow in outgoing:
                condition = flow.find("bpmn:conditionExpression", NS)
                if flow.get("id") != default and (condition is None or not (condition.text or "").strip()):
                    report.error(flow.get("id"), "gateway-condition",
                                 f"网关{report.label(gateway_id)}有 {len(outgoing)} 条出口，其中的连线"
                                 f"{report.label(flow.get('id'))}既没有条件，也不是默认路径：请为它写上条件，"
                                 "或把它设为网关的默认路径")


def _check_messages(root: etree._Element, report: _Report) -> None:
    known = _known()
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{BPMN_NS}}}message")}
    waiting: list[tuple[str | None, str | None]] = []
    for tag in _MESSAGE_WAITERS:
        for event in root.iter(f"{{{BPMN_NS}}}{tag}"):
            for definition in event.findall("bpmn:messageEventDefinition", NS):
                waiting.append((event.get("id"), definition.get("messageRef")))
    for task in root.iter(f"{{{BPMN_NS}}}receiveTask"):
        waiting.append((task.get("id"), task.get("messageRef")))
    for element_id, ref in waiting:
        message = names.get(ref, ref) if ref else None
        if message not in known.messages:
            what = f"消息“{message}”" if message else "一个未指定的消息"
            report.warning(element_id, "message-unknown",
                           f"元素{report.label(element_id)}等待{what}，但系统不会发出这个消息，流程会一直停在这里；"
                           f"系统已知的消息：{'、'.join(known.messages)}")


# --- helpers -----------------------------------------------------------------------------------------------------


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _owner_id(element: etree._Element) -> str | None:
    """The id of the nearest BPMN element that a process owner sees on the diagram (task, event, flow)."""
    node: etree._Element | None = element.getparent()
    while node is not None:
        if node.get("id") and etree.QName(node).namespace == BPMN_NS and _local(node) not in (
                "timerEventDefinition", "messageEventDefinition", "conditionalEventDefinition",
                "multiInstanceLoopCharacteristics"):
            return node.get("id")
        node = node.getparent()
    return None


def _property(element: etree._Element, name: str) -> str | None:
    for prop in element.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") == name:
            return (prop.get("value") or "").strip().lower()
    return None


def _load_forms(directories: Iterable[Path]) -> tuple[dict[str, Any], dict[str, str]]:
    """Schemas by file name, and the files that are not JSON (name → problem, reported only where used)."""
    forms: dict[str, Any] = {}
    broken: dict[str, str] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.schema.json")):
            try:
                if (size := path.stat().st_size) > MAX_FORM_SCHEMA_BYTES:
                    broken[path.name] = f"过大（{amount(size)}），上限为 {amount(MAX_FORM_SCHEMA_BYTES)}"
                    forms.pop(path.name, None)
                    continue
                forms[path.name] = json.loads(path.read_text(encoding="utf-8"))
                broken.pop(path.name, None)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                detail = (json_reason(exc) if isinstance(exc, json.JSONDecodeError)
                          else "嵌套层数过多" if isinstance(exc, RecursionError)
                          else file_reason(exc) if isinstance(exc, OSError) else "不是 UTF-8 编码的文本")
                broken[path.name] = f"不是有效的 JSON（{detail}）"
                forms.pop(path.name, None)
    return forms, broken
