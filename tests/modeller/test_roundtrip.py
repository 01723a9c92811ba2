"""Issue 6, part 1: every bundled BPMN file survives a bpmn.io modeller's open/save without losing what the engine
needs.

The modeller's own library does the open/save: `tools/bpmnio/roundtrip.mjs` reads each file with bpmn-moddle's
`fromXML` and writes it back with `toXML({format: true})`, with no SpiffWorkflow descriptor registered (what Camunda
Modeler or the plain bpmn.io modeller does). The saved file must then be the same to the engine: parsed by
`workflows.definitions` into the same specs (ids, types, lanes, extension properties, service operators and their
parameters, scripts, timer and condition expressions, messages), and a short filing scenario must run the same on
it as on the original. bpmnlint's recommended rules (`tools/bpmnio/.bpmnlintrc`, findings in docs/bpmnlint.md)
must report nothing.

The npm packages come from `npm ci --prefix tools/bpmnio`; without them these tests skip locally and fail on CI.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.conftest import EXAMPLE_APPLICATION, ROOT
from workflows import clock
from workflows.definitions import ParsedDefinition, parse_definition, read_source
from workflows.service import Beian
from workflows.state import _registry

TOOLS = ROOT / "tools" / "bpmnio"
BUNDLED = sorted((ROOT / "bpmn").glob("*.bpmn"))
RECEIVED = "2026-09-01T09:00:00+08:00"


@pytest.fixture(scope="module")
def round_tripped(node: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of bpmn/ in which every BPMN file has been opened and saved by bpmn-moddle (forms copied unchanged)."""
    target = tmp_path_factory.mktemp("modeller") / "bpmn"
    shutil.copytree(ROOT / "bpmn" / "forms", target / "forms")
    for path in BUNDLED:
        done = subprocess.run([node, str(TOOLS / "roundtrip.mjs"), str(path), str(target / path.name)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"bpmn-moddle could not open/save {path.name} cleanly:\n{done.stderr}"
    return target


def _parsed(path: Path) -> tuple[Any, ParsedDefinition]:
    source = read_source(path)
    return source, parse_definition(source.process_id, source.bpmn_xml, source.file_name, source.forms)


def _spec_dicts(parsed: ParsedDefinition) -> dict[str, Any]:
    """Everything SpiffWorkflow built from the file, as its own serializer writes it: per task spec the BPMN id,
    type, lane, extensions (properties, serviceTaskOperator with parameters, pre/post scripts, messageVariable…),
    scripts, timer expressions, gateway conditions and defaults, message definitions with payloads."""
    specs = {parsed.process_id: parsed.spec, **parsed.subprocess_specs}
    return {name: _registry.convert(spec) for name, spec in specs.items()}


def _engine_view(parsed: ParsedDefinition) -> dict[str, Any]:
    """The parts the engine reads directly, spelled out so a difference names what was lost."""
    view: dict[str, Any] = {"user_tasks": parsed.user_tasks, "messages": parsed.messages, "tasks": {}}
    for process, spec in _spec_dicts(parsed).items():
        for name, task in spec["task_specs"].items():
            event = task.get("event_definition") or {}
            view["tasks"][(process, name)] = {
                "type": task["typename"], "lane": task.get("lane"), "extensions": task.get("extensions"),
                "operator": (task.get("operation_name"), task.get("operation_params"), task.get("result_variable")),
                "scripts": (task.get("script"), task.get("prescript"), task.get("postscript")),
                "conditions": (task.get("cond_task_specs"), task.get("default_task_spec")),
                # Timer: the expression; message: its name, payload expression and the variable it lands in.
                "event": (event.get("typename"), event.get("name"), event.get("expression"), event.get("message_var")),
            }
    return view


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_the_saved_file_is_the_same_to_the_engine(round_tripped: Path, path: Path) -> None:
    original_source, original = _parsed(path)
    saved_source, saved = _parsed(round_tripped / path.name)

    # The modeller re-serialises the XML (e.g. ' becomes &#39;), so the text may differ but the document must not.
    assert _canonical(saved_source.bpmn_xml) == _canonical(original_source.bpmn_xml)
    assert saved_source.process_id == original_source.process_id
    assert saved_source.forms == original_source.forms  # the same form and message schemas are referenced

    original_view, saved_view = _engine_view(original), _engine_view(saved)
    assert saved_view["user_tasks"] == original_view["user_tasks"]
    assert saved_view["messages"] == original_view["messages"]
    assert saved_view["tasks"].keys() == original_view["tasks"].keys()
    for key, expected in original_view["tasks"].items():
        assert saved_view["tasks"][key] == expected, f"{path.name}: task spec {key} changed in the modeller"
    assert _spec_dicts(saved) == _spec_dicts(original)


def test_the_comparison_sees_a_lossy_save(round_tripped: Path, tmp_path: Path) -> None:
    """The checks above can fail: a save that drops one user task's SpiffWorkflow properties (its form reference,
    deadline, citation) still parses, and the comparison reports it."""
    shutil.copytree(round_tripped, tmp_path / "bpmn")
    lossy = tmp_path / "bpmn" / "filing_application.bpmn"
    xml = lossy.read_text(encoding="utf-8")
    stripped = re.sub(r'(<bpmn:userTask id="expert_review".*?)<spiffworkflow:properties>.*?</spiffworkflow:properties>',
                      r"\1", xml, count=1, flags=re.S)
    assert stripped != xml
    lossy.write_text(stripped, encoding="utf-8")
    _, original = _parsed(ROOT / "bpmn" / "filing_application.bpmn")
    _, damaged = _parsed(lossy)
    assert original.user_tasks["expert_review"].form is not None
    assert damaged.user_tasks["expert_review"].form is None
    key = ("filing_application", "expert_review")
    assert _engine_view(damaged)["tasks"][key] != _engine_view(original)["tasks"][key]
    assert _spec_dicts(damaged) != _spec_dicts(original)


def _canonical(xml: str) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml.encode("utf-8"), parser), method="c14n")


def test_a_filing_runs_the_same_on_the_saved_version(round_tripped: Path, tmp_path: Path) -> None:
    """One database: a case on the bundled version 1, then the modeller-saved file deployed as version 2 and a case on
    it; both go through acceptance and expert review and must stand at the same tasks, deadlines and status."""
    application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
    received = clock.parse_instant(RECEIVED)
    app = Beian(f"sqlite:///{tmp_path / 'beian.sqlite3'}")
    try:
        with clock.using_clock(clock.VirtualClock(received)):
            app.init()
            original_case = app.cases.apply(application, received_at=received)["case"]
            deployed = app.processes.deploy(read_source(round_tripped / "filing_application.bpmn"),
                                            actor="process-owner")
            assert deployed == {"process": "filing_application", "version": 2, "deployed": True,
                                "new_process": False}
            saved_case = app.cases.apply(application, received_at=received)["case"]
        versions = {v["version"]: v["running"] for v in app.processes.versions("filing_application")}
        assert versions == {1: 1, 2: 1}

        steps = [("acceptance", {"decision": "accept"}),
                 ("expert_review", {"result": "pass", "opinion": "材料齐全，评估通过"})]
        trail: dict[str, list[Any]] = {original_case: [], saved_case: []}
        for day, (bpmn_id, data) in enumerate(steps, start=2):
            with clock.using_clock(clock.VirtualClock(datetime.fromisoformat(f"2026-09-0{day}T10:00:00+08:00"))):
                for case in (original_case, saved_case):
                    (task,) = app.cases.tasks(case)
                    assert task["bpmn_id"] == bpmn_id
                    result = app.cases.complete(task["id"], data)
                    shown = app.records.show(case)["case_status"]
                    trail[case].append((result["status"], _open_tasks(app, case), shown))
        assert trail[saved_case] == trail[original_case]
        assert trail[original_case][-1][1][0][0] == "site_inspection"  # the scenario did get past expert review
    finally:
        app.close()


def _open_tasks(app: Beian, case: str) -> list[tuple[Any, ...]]:
    return sorted((t["bpmn_id"], t["name"], t["role"], t["form"], t["article"], t["due"], json.dumps(
        t["context"], sort_keys=True, ensure_ascii=False)) for t in app.cases.tasks(case))


def test_bpmnlint_recommended_reports_nothing(node: str) -> None:
    """`bpmnlint` with tools/bpmnio/.bpmnlintrc over every bundled file: no error and no warning."""
    done = subprocess.run([node, str(TOOLS / "node_modules" / "bpmnlint" / "bin" / "bpmnlint.js"),
                           "--max-warnings=0", *map(str, BUNDLED)],
                          cwd=TOOLS, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"bpmnlint findings (see docs/bpmnlint.md):\n{done.stdout}{done.stderr}"


def test_bpmnlint_catches_an_unnamed_user_task(node: str, tmp_path: Path) -> None:
    """The lint run above can fail: the same configuration reports a user task without a name."""
    broken = tmp_path / "filing_application.bpmn"
    xml = (ROOT / "bpmn" / "filing_application.bpmn").read_text(encoding="utf-8")
    broken.write_text(xml.replace('<bpmn:userTask id="acceptance" name="受理审查">',
                                  '<bpmn:userTask id="acceptance">', 1), encoding="utf-8")
    done = subprocess.run([node, str(TOOLS / "node_modules" / "bpmnlint" / "bin" / "bpmnlint.js"), str(broken)],
                          cwd=TOOLS, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert re.search(r"acceptance\s+error\s+Element is missing label/name\s+label-required", done.stdout), done.stdout


def test_the_web_modellers_typed_save_is_the_plain_save(node: str, round_tripped: Path, tmp_path: Path) -> None:
    """The web modeller reads the spiffworkflow extensions with its moddle descriptor (tools/bpmnio/src/
    spiffworkflow.json, so its properties panel can edit them): what it saves is byte for byte what the plain
    bpmn.io save above writes, which is proven lossless for the engine."""
    for path in BUNDLED:
        target = tmp_path / path.name
        done = subprocess.run([node, str(TOOLS / "roundtrip.mjs"), "--spiffworkflow", str(path), str(target)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"the typed open/save of {path.name} warned:\n{done.stderr}"
        assert target.read_bytes() == (round_tripped / path.name).read_bytes(), path.name
