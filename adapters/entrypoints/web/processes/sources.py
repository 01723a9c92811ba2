"""What the process owners' pages read and offer for deployment: the deployed processes and versions, and a BPMN
file sent from the browser (an upload or the modeller's save) assembled into a `DefinitionSource` with its forms and
checked the way `beian bpmn deploy` checks a file.

A file sent from the browser brings only what the owner picked, so the form schemas it references are completed from
the latest deployed version of the process (what runs now), then from the bundled `bpmn/forms/` (a form added to the
repository since). An uploaded schema wins over both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from tasks.errors import DefinitionError, InvalidInput
from tasks.limits import MAX_DIAGRAM_BYTES, MAX_FORM_SCHEMA_BYTES, amount
from tasks.reasons import json_reason
from workflows.bpmn_check import Finding, has_errors, size_findings
from workflows.definitions import DefinitionSource, bpmn_dir, main_process_id, parse_definition, source_digest
from workflows.lifecycle import PROCESS_LABELS
from workflows.service import Beian

FORM_SUFFIX = ".schema.json"
MESSAGE_SUFFIX = ".message.schema.json"


@dataclass(frozen=True)
class StoredVersion:
    """One deployed version, read out of its session."""

    process_id: str
    version: int
    name: str
    file_name: str
    bpmn_xml: str
    forms: dict[str, Any]
    sha256: str


@dataclass
class Candidate:
    """A BPMN document offered as the next version of a process, with the forms it would carry and the findings of
    the check. `source` is set only when the check found no error (warnings may remain)."""

    process_id: str
    xml: str
    file_name: str
    sent_name: str
    forms: dict[str, Any]
    findings: list[Finding]
    source: DefinitionSource | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def payload(self) -> dict[str, Any]:
        """What the deploy form sends back: the checked document and forms exactly (re-checked on arrival)."""
        return {"xml": self.xml, "forms": self.forms, "sent_name": self.sent_name}


# --- deployed processes ----------------------------------------------------------------------------------------------

def process_summaries(service: Beian) -> list[dict[str, Any]]:
    """Every deployed process: id, name, latest version and its file, versions, running and total cases."""
    summaries = []
    for process_id in sorted(service.processes.ids(), key=_process_order):
        versions = service.processes.versions(process_id)
        latest = versions[-1]
        summaries.append({"process": process_id, "name": process_label(process_id, latest["name"]),
                          "latest": latest["version"], "file": latest["file"], "deployed_at": latest["deployed_at"],
                          "versions": len(versions), "running": sum(v["running"] for v in versions),
                          "instances": sum(v["instances"] for v in versions)})
    return summaries


def _process_order(process_id: str) -> tuple[int, str]:
    order = list(PROCESS_LABELS)
    return (order.index(process_id) if process_id in order else len(order), process_id)


def process_label(process_id: str, name: str = "") -> str:
    return PROCESS_LABELS.get(process_id) or name or process_id


def stored_version(service: Beian, process_id: str, version: int | None = None) -> StoredVersion:
    """A deployed version (the latest when `version` is None); NotFound in Chinese otherwise."""
    row = service.processes.version(process_id, version)
    return StoredVersion(row["process"], row["version"], row["name"], row["file"], row["bpmn_xml"], row["forms"],
                         row["sha256"])


# --- a document sent from the browser --------------------------------------------------------------------------------

def upload_limit(what: str) -> int:
    """The largest file of this kind: a BPMN file, or a form schema."""
    return MAX_DIAGRAM_BYTES if what == "BPMN 文件" else MAX_FORM_SCHEMA_BYTES


def decode_upload(data: bytes, name: str, what: str) -> tuple[str | None, Finding | None]:
    """The text of an uploaded file (read with at most `upload_limit(what) + 1` bytes), or a finding saying why it
    cannot be read."""
    if len(data) > upload_limit(what):
        return None, Finding(name, None, "error", "too-large",
                             f"{what} {name} 过大，超过上限 {amount(upload_limit(what))}，不能检查或部署")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, Finding(name, None, "error", "xml-syntax" if what == "BPMN 文件" else "form-invalid",
                             f"{what} {name} 不是 UTF-8 编码的文本")


def read_form_uploads(files: list[tuple[str, bytes]]) -> tuple[dict[str, Any], list[Finding]]:
    """Uploaded form/message schemas by file name (`acceptance.schema.json`), and a finding per unusable file."""
    forms: dict[str, Any] = {}
    findings: list[Finding] = []
    for raw_name, data in files:
        name = PurePath(raw_name.replace("\\", "/")).name  # some browsers send a path
        if not name:
            continue
        if not name.endswith(FORM_SUFFIX):
            findings.append(Finding(name, None, "error", "upload",
                                    f"{name} 不是表单或消息的 JSON Schema 文件：文件名应以 {FORM_SUFFIX} 结尾"
                                    "（如 acceptance.schema.json、objection.message.schema.json）"))
            continue
        text, problem = decode_upload(data, name, "表单文件")
        if problem is not None or text is None:
            findings.append(problem or Finding(name, None, "error", "form-invalid", f"表单 {name} 无法读取"))
            continue
        try:
            forms[name] = json.loads(text)
        except json.JSONDecodeError as exc:
            findings.append(Finding(name, None, "error", "form-invalid",
                                    f"上传的表单 {name} 不是有效的 JSON：{json_reason(exc)}"))
            forms.pop(name, None)
        except RecursionError:
            findings.append(Finding(name, None, "error", "form-invalid",
                                    f"上传的表单 {name} 嵌套层数过多，不是可用的 JSON Schema"))
            forms.pop(name, None)
    return forms, findings


def assemble(service: Beian, process_id: str, xml: str, sent_name: str, uploaded_forms: Mapping[str, Any],
             problems: list[Finding] | None = None) -> Candidate:
    """The document as the next version of `process_id`, with its forms, checked (`app.processes.check`: the same
    checks as deploying, plus the elements running cases stand on). `problems`: findings about the upload itself."""
    latest = stored_version(service, process_id)
    too_large = size_findings(xml, latest.file_name, uploaded_forms)
    if too_large:  # nothing of it is parsed
        return Candidate(process_id, xml, latest.file_name, sent_name, dict(uploaded_forms),
                         _ordered([*(problems or []), *too_large]))
    # The version keeps the process's file name: a browser renames a downloaded copy ("filing_application (1).bpmn"),
    # and a file's main process is found by its name (workflows.definitions.main_process_id).
    file_name = latest.file_name
    findings = list(problems or [])
    broken = {f.file for f in findings if f.code == "form-invalid"}
    found = _main_process(xml, file_name)
    if found is not None and found != process_id:
        findings.append(Finding(file_name, None, "error", "process-mismatch",
                                f"文件中的主流程是“{found}”，不是“{process_id}”：这不是本流程的图。"
                                f"请在流程 {found} 的页面上传，或把主流程的 id 改为“{process_id}”"))
    wanted = _wanted_forms(process_id if found == process_id else None, xml, file_name)
    pool = {**latest.forms, **uploaded_forms}
    if wanted is None:  # not parseable: the check says why; the forms at hand are checked as they are
        forms = {name: pool[name] for name in sorted(pool)}
    else:
        forms = {}
        for name in sorted(wanted):
            if name in broken:
                continue  # an unusable upload is not silently replaced by an older schema
            if name in pool:
                forms[name] = pool[name]
            elif (bundled := _bundled_form(name)) is not None:
                forms[name] = bundled
    # A form no task of the diagram names is not deployed with it: said, so that one edited in the modeller's form
    # editor and not yet chosen on its task is not lost without a word.
    findings.extend(Finding(name, None, "warning", "form-unused",
                            f"表单 {name} 未被流程图中的任何环节引用，不随本版本部署；如要使用，请在相应环节的"
                            "“表单”属性中填写它")
                    for name in sorted(set(uploaded_forms) - set(forms) - broken))
    # On a process's own page a file of another process is refused above (process-mismatch), not a new process.
    findings.extend(f for f in service.processes.check(xml, file_name, forms)
                    if not (f.code == "new-process" and found is not None and found != process_id))
    candidate = Candidate(process_id, xml, file_name, sent_name, forms, _ordered(findings))
    if not has_errors(candidate.findings):
        parsed = parse_definition(process_id, xml, file_name, forms)
        candidate.source = DefinitionSource(process_id, parsed.name, file_name, xml, forms, source_digest(xml, forms))
    return candidate


def candidate_from_payload(service: Beian, process_id: str, payload: str) -> Candidate:
    """The deploy form's hidden payload (Candidate.payload as JSON), assembled and checked again."""
    try:
        data = json.loads(payload)
        xml, forms, sent_name = data["xml"], data["forms"], data.get("sent_name", "")
        if not isinstance(xml, str) or not isinstance(forms, dict) or not isinstance(sent_name, str):
            raise TypeError
    except (ValueError, KeyError, TypeError, RecursionError):
        raise InvalidInput("部署请求不完整或已损坏，请重新上传文件并检查") from None
    return assemble(service, process_id, xml, sent_name, forms)


def _main_process(xml: str, file_name: str) -> str | None:
    try:
        return main_process_id(xml, file_name)
    except DefinitionError:
        return None  # the check reports what is wrong with the file


def _wanted_forms(process_id: str | None, xml: str, file_name: str) -> set[str] | None:
    """The form and message schema files the document references (as `read_source` collects them)."""
    if process_id is None:
        return None
    try:
        parsed = parse_definition(process_id, xml, file_name, {})
    except DefinitionError:
        return None
    wanted = {info.form for info in parsed.user_tasks.values() if info.form}
    return wanted | {f"{message}{MESSAGE_SUFFIX}" for message in parsed.messages}


def _bundled_form(name: str) -> Any | None:
    path = bpmn_dir() / "forms" / name
    if PurePath(name).name != name or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # the check reports the form as missing


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Errors first, then warnings; within each, the order the check found them."""
    return sorted(findings, key=lambda f: f.severity != "error")
