"""Process definitions: read the bundled BPMN files, validate and parse them, cache parsed specs per version.

A definition version is the BPMN XML plus the JSON Schemas of the forms and messages it references, stored together
in one database row so a version is self-contained. Parsing costs milliseconds, so parsed specs are cached by the
row id and the content hash: every step of every instance on one version reuses the same spec objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask

from tasks.errors import DefinitionError
from tasks.limits import MAX_DIAGRAM_BYTES, MAX_FORM_SCHEMA_BYTES, amount
from tasks.reasons import file_reason, json_reason
from tasks.regions import profile_for_region
from tasks.roles import role_for_lane

FORM_PROPERTY = "formJsonSchemaFilename"
DEADLINE_PROPERTY = "deadline"
# A deadline set in the modeller: this many working days from the day the task opens (the official calendar).
DEADLINE_DAYS_PROPERTY = "deadlineWorkingDays"
MAX_DEADLINE_DAYS = 365
ARTICLE_PROPERTY = "article"
# A citation key (tasks/articles.py ARTICLE_KEYS) resolved in the case's region, instead of a literal `article`.
ARTICLE_KEY_PROPERTY = "articleKey"
JURISDICTION_PROPERTY = "jurisdiction"  # 'province': the task belongs to the provincial authority of the case's region
JURISDICTION_SETTING = "setting:"  # 'setting:expert_review_level': the case's region decides (tasks/regions.toml)
JURISDICTION_SETTINGS = ("expert_review_level", "administrative_review_level")
CONTEXT_PROPERTY = "context"  # comma-separated task-data variables the caseworker sees with the task


def bpmn_dir() -> Path:
    configured = os.environ.get("BEIAN_BPMN_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "bpmn"


@dataclass(frozen=True)
class DefinitionSource:
    process_id: str
    name: str
    file_name: str
    bpmn_xml: str
    forms: dict[str, Any]
    sha256: str


def jurisdiction_in(jurisdiction: str, region_code: str) -> str:
    """"case" or "province" for a case of this region: a task's (or a notice's) jurisdiction as written, or where it
    names a region setting (`setting:expert_review_level`), what the case's region sets (Beijing: the city assesses)."""
    if jurisdiction.startswith(JURISDICTION_SETTING):
        setting = jurisdiction.removeprefix(JURISDICTION_SETTING)
        if setting not in JURISDICTION_SETTINGS:
            raise ValueError(f"未知的管辖设置“{setting}”（可用：{'、'.join(JURISDICTION_SETTINGS)}）")
        return profile_for_region(region_code).level_of(setting)
    return jurisdiction


@dataclass(frozen=True)
class UserTaskInfo:
    bpmn_id: str
    name: str
    lane: str | None
    role: str | None
    form: str | None
    deadline_variable: str | None
    article: str
    jurisdiction: str
    context: tuple[str, ...] = ()
    article_key: str | None = None
    deadline_days: int | None = None
    """`deadlineWorkingDays`: the deadline counted from the day the task opens (when no `deadline` variable)."""

    def jurisdiction_in(self, region_code: str) -> str:
        return jurisdiction_in(self.jurisdiction, region_code)

    def article_in(self, region_code: str) -> str:
        """The citation shown with the task: its `articleKey` resolved for the case's region, else `article`."""
        if self.article_key:
            return profile_for_region(region_code).article(self.article_key)
        return self.article


@dataclass
class ParsedDefinition:
    process_id: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    messages: set[str] = field(default_factory=set)

    def form_schema(self, bpmn_id: str) -> dict[str, Any] | None:
        info = self.user_tasks.get(bpmn_id)
        if info is None or info.form is None:
            return None
        return self.forms.get(info.form)

    def message_schema(self, message: str) -> dict[str, Any] | None:
        return self.forms.get(f"{message}.message.schema.json")


def _xml_problem(exc: Exception, file_name: str) -> str:
    line = getattr(exc, "line_number", None) or getattr(exc, "lineno", None)
    where = f"（第 {line} 行）" if line else ""
    element = getattr(exc, "id", None)
    element_text = f"元素 {element}：" if element else ""
    return f"BPMN 文件 {file_name}{where}无效：{element_text}{exc}"


def _parser_for(xml: str, file_name: str) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(_xml_problem(exc, file_name)) from exc
    try:
        parser.add_bpmn_xml(root, filename=file_name)
    except (ValidationException, etree.DocumentInvalid) as exc:
        raise DefinitionError(_xml_problem(exc, file_name)) from exc
    return parser


def main_process_id(xml: str, file_name: str) -> str:
    """The process a file deploys: the one named like the file, else its only executable process."""
    parser = _parser_for(xml, file_name)
    ids = parser.get_process_ids()
    stem = Path(file_name).stem
    if stem in ids:
        return stem
    if len(ids) == 1:
        return ids[0]
    raise DefinitionError(f"BPMN 文件 {file_name} 含有多个流程（{', '.join(ids)}），请将主流程的 id 命名为“{stem}”")


def parse_definition(process_id: str, xml: str, file_name: str, forms: dict[str, Any]) -> ParsedDefinition:
    parser = _parser_for(xml, file_name)
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise DefinitionError(_xml_problem(exc, file_name)) from exc
    except Exception as exc:  # the parser raises plain exceptions for several structural problems
        raise DefinitionError(f"BPMN 文件 {file_name} 无法解析：{exc}") from exc
    parsed = ParsedDefinition(process_id, spec.description or process_id, spec, subprocess_specs, forms)
    for task_spec in _all_task_specs(spec, subprocess_specs):
        if isinstance(task_spec, UserTask):
            props = (task_spec.extensions or {}).get("properties", {})
            parsed.user_tasks[task_spec.bpmn_id] = UserTaskInfo(
                bpmn_id=task_spec.bpmn_id,
                name=task_spec.bpmn_name or task_spec.bpmn_id,
                lane=task_spec.lane,
                role=(role.key if (role := role_for_lane(task_spec.lane)) else None),
                form=props.get(FORM_PROPERTY),
                deadline_variable=props.get(DEADLINE_PROPERTY),
                article=props.get(ARTICLE_PROPERTY, ""),
                article_key=props.get(ARTICLE_KEY_PROPERTY),
                jurisdiction=props.get(JURISDICTION_PROPERTY, "case"),
                context=tuple(v.strip() for v in props.get(CONTEXT_PROPERTY, "").split(",") if v.strip()),
                deadline_days=deadline_days(props.get(DEADLINE_DAYS_PROPERTY)),
            )
        if isinstance(task_spec, CatchingEvent):
            definition = task_spec.event_definition
            # An event-based gateway carries its targets' definitions inside a MultipleEventDefinition.
            for event in getattr(definition, "event_definitions", None) or [definition]:
                if isinstance(event, MessageEventDefinition):
                    parsed.messages.add(event.name)
    return parsed


def deadline_days(written: str | None) -> int | None:
    """`deadlineWorkingDays` as a number of days, or None when unset or not a whole number in 1..MAX_DEADLINE_DAYS
    (the check says why)."""
    text = (written or "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DEADLINE_DAYS:
        return None
    return int(text)


def _all_task_specs(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> list[Any]:
    specs = list(spec.task_specs.values())
    for sub in subprocess_specs.values():
        specs.extend(sub.task_specs.values())
    return specs


def read_source(path: Path) -> DefinitionSource:
    """A BPMN file with the form and message schemas from `forms/` beside it that it references."""
    try:
        if (size := path.stat().st_size) > MAX_DIAGRAM_BYTES:  # refused before it is read
            raise DefinitionError(f"BPMN 文件 {path.name} 过大（{amount(size)}），上限为 {amount(MAX_DIAGRAM_BYTES)}，"
                                  "未部署")
        xml = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(f"无法读取 BPMN 文件 {path}：{file_reason(exc)}") from exc
    process_id = main_process_id(xml, path.name)
    parsed = parse_definition(process_id, xml, path.name, {})
    forms_dir = path.parent / "forms"
    wanted = {info.form for info in parsed.user_tasks.values() if info.form}
    wanted |= {f"{message}.message.schema.json" for message in parsed.messages}
    forms: dict[str, Any] = {}
    for name in sorted(wanted):
        form_path = forms_dir / name
        if not form_path.exists():
            if name.endswith(".message.schema.json"):
                continue  # a message without a payload schema takes any JSON object
            raise DefinitionError(f"BPMN 文件 {path.name} 引用的表单 {name} 不存在（应位于 {forms_dir}）")
        if (size := form_path.stat().st_size) > MAX_FORM_SCHEMA_BYTES:
            raise DefinitionError(f"表单 {name} 过大（{amount(size)}），上限为 {amount(MAX_FORM_SCHEMA_BYTES)}，未部署")
        try:
            forms[name] = json.loads(form_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"表单 {name} 不是有效的 JSON：{json_reason(exc)}") from exc
        except RecursionError:
            raise DefinitionError(f"表单 {name} 嵌套层数过多，不是可用的 JSON Schema") from None
    return DefinitionSource(process_id, parsed.name, path.name, xml, forms, source_digest(xml, forms))


def source_digest(xml: str, forms: dict[str, Any]) -> str:
    """A version's identity: the XML and the forms it carries (deploying the same content again is a no-op)."""
    return hashlib.sha256(xml.encode("utf-8") + json.dumps(forms, sort_keys=True).encode("utf-8")).hexdigest()


def bundled_sources() -> list[DefinitionSource]:
    return [read_source(path) for path in sorted(bpmn_dir().glob("*.bpmn"))]


_cache: dict[tuple[int, str], ParsedDefinition] = {}
_cache_lock = threading.Lock()


def parsed_if_cached(row_id: int, sha256: str) -> ParsedDefinition | None:
    """The parsed version if this process holds it: a step asks with the id and hash it read beside the instance,
    without reading the version's XML (tens of kilobytes) again."""
    with _cache_lock:
        return _cache.get((row_id, sha256))


def cached_definition(row_id: int, sha256: str, process_id: str, xml: str, file_name: str,
                      forms: dict[str, Any]) -> ParsedDefinition:
    key = (row_id, sha256)
    found = parsed_if_cached(row_id, sha256)
    if found is not None:
        return found
    parsed = parse_definition(process_id, xml, file_name, forms)
    with _cache_lock:
        _cache[key] = parsed
    return parsed


def forget_parsed(row_id: int, sha256: str) -> None:
    """Drop one parsed version from the cache (it is parsed again on next use: a lane's role became known)."""
    with _cache_lock:
        _cache.pop((row_id, sha256), None)
