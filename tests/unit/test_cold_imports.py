"""A cold command loads only what it uses: `beian --help` builds its parser without the database layer, the engine
or Prefect; a command on cases (`tasks`, `stuck`, `complete`) without Prefect, Alembic, the HTTP client or the
document templates; listing the open tasks without the engine, the service operators or JSON Schema; and a step
that issues no document without the documents' renderer, the issuers' register or the QR library. And `beian bench`'s
cold figure imports what a real `beian complete` has imported when its step starts, no more, no less. Checked in a
fresh interpreter by what is in sys.modules afterwards (speed itself is measured by `beian bench`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from adapters.entrypoints.bench.throughput import COLD_COMPLETE
from tests.conftest import EXAMPLE_APPLICATION, Beian

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("prefect", "sqlalchemy", "SpiffWorkflow", "alembic", "httpx", "jinja2", "jsonschema", "fastapi", "segno",
           "workflows.engine", "workflows.operators", "adapters.outside.documents", "workflows.issuing")

# Runs the command line as `beian ARGS` does (ARGS as JSON in argv[1]), then names the watched packages imported.
PROBE = f"""
import json, runpy, sys
sys.argv = ["beian", *json.loads(sys.argv[1])]
try:
    runpy.run_module("adapters.entrypoints.cli", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {WATCHED!r} if name in sys.modules)), file=sys.stderr)
"""


# Runs `beian ARGS` and names every module imported when the first step starts (workflows.engine.run_step is called).
AT_STEP = """
import json, runpy, sys
sys.argv = ["beian", *json.loads(sys.argv[1])]
at_step = []

def note(frame, event, _arg):
    code = frame.f_code
    if event == "call" and code.co_name == "run_step" and code.co_filename.endswith("engine.py") and not at_step:
        at_step.append(sorted(sys.modules))

sys.setprofile(note)
try:
    runpy.run_module("adapters.entrypoints.cli", run_name="__main__")
except SystemExit:
    pass
sys.setprofile(None)
print(json.dumps(at_step[0]), file=sys.stderr)
"""


def _modules(code: str, *args: str, cwd: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, cwd=cwd,
                          check=True, timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def _imported(*args: str, cwd: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, cwd=cwd,
                          check=True, timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_neither_the_database_layer_nor_the_engine_nor_prefect(tmp_path: Path) -> None:
    assert _imported("--help", cwd=tmp_path) == set()
    assert _imported("complete", "--help", cwd=tmp_path) == set()


def test_a_command_on_a_case_leaves_out_prefect_migrations_http_and_templates(tmp_path: Path) -> None:
    database = tmp_path / "cold.sqlite3"
    Beian(database)("init")
    for command in (("tasks",), ("stuck",), ("complete", "no-such-task", "--data", "{}")):
        imported = _imported("--db", str(database), *command, cwd=tmp_path)
        assert "sqlalchemy" in imported, command  # the probe sees what the command loads
        assert imported.isdisjoint({"prefect", "alembic", "httpx", "jinja2", "fastapi"}), (command, imported)


def test_listing_tasks_leaves_out_the_engine_and_a_step_leaves_out_the_qr_library(tmp_path: Path) -> None:
    database = tmp_path / "cold.sqlite3"
    cli = Beian(database)
    cli("init")
    cli("apply", str(EXAMPLE_APPLICATION))
    imported = _imported("--db", str(database), "tasks", cwd=tmp_path)
    assert "sqlalchemy" in imported  # the probe sees what the command loads
    assert imported.isdisjoint({"SpiffWorkflow", "workflows.engine", "workflows.operators", "jsonschema", "segno"}), \
        imported
    (task,) = cli.json("tasks")
    imported = _imported("--db", str(database), "complete", task["id"], "--data", '{"decision": "accept"}',
                         cwd=tmp_path)
    assert {"SpiffWorkflow", "workflows.engine", "workflows.operators", "jsonschema"} <= imported  # the step ran
    assert cli.json("tasks")[0]["bpmn_id"] != "acceptance"
    # Acceptance issues no document: neither the QR library nor the documents' renderer nor the issuers' register.
    assert imported.isdisjoint({"segno", "adapters.outside.documents", "workflows.issuing"}), imported


def test_the_bench_imports_what_a_real_complete_has_imported_when_its_step_starts(tmp_path: Path) -> None:
    # `beian bench`'s cli_cold_s imports COLD_COMPLETE in a fresh interpreter: it stands for a real command only if
    # a real `beian complete` has loaded neither more nor less by the time its step starts.
    database = tmp_path / "cold.sqlite3"
    cli = Beian(database)
    cli("init")
    cli("apply", str(EXAMPLE_APPLICATION))
    (task,) = cli.json("tasks")
    real = _modules(AT_STEP, "--db", str(database), "complete", task["id"], "--data", '{"decision": "accept"}',
                    cwd=tmp_path)
    assert cli.json("tasks")[0]["bpmn_id"] != "acceptance"  # the step ran
    bench = _modules(f"import json, sys; {COLD_COMPLETE}; print(json.dumps(sorted(sys.modules)), file=sys.stderr)",
                     cwd=tmp_path)
    assert real - {"runpy"} == bench, (sorted(real - bench), sorted(bench - real))
