"""A cold command loads only what it uses: `beian --help` builds its parser without the database layer, the engine
or Prefect, and a command on cases (`tasks`, `stuck`, `complete`) without Prefect, Alembic, the HTTP client or the
document templates. Checked in a fresh interpreter by what is in sys.modules afterwards (speed itself is measured
by `beian bench`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Beian

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("prefect", "sqlalchemy", "SpiffWorkflow", "alembic", "httpx", "jinja2", "jsonschema", "fastapi")

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
        assert {"sqlalchemy", "SpiffWorkflow"} <= imported, command  # the probe sees what the command loads
        assert imported.isdisjoint({"prefect", "alembic", "httpx", "jinja2", "fastapi"}), (command, imported)
