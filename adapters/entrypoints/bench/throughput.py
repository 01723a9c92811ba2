"""The simulation's throughput and state size, and a cold command's start, each measured in fresh processes."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from datetime import date
from typing import Any

from adapters.entrypoints.bench.goals import spread
from workflows.on_progress import OnProgress, no_progress

# A cold `beian complete` in a fresh interpreter: the modules it has imported when its step starts (run_step) — the
# CLI and the command's own modules, the service layer with the case commands, the engine and the operators a step
# runs, SQLAlchemy's SQLite dialect and driver (the default database) — the figure with the goal; and, as a detail,
# `beian complete --help` (the CLI and the command's parser alone). tests/unit/test_cold_imports.py checks that a
# real `beian complete` has imported exactly these when its step starts.
HELP_ONLY = "import sys; from adapters.entrypoints.cli.main import main; sys.exit(main(['complete', '--help']))"
COLD_COMPLETE = ("import adapters.entrypoints.cli.main, adapters.entrypoints.cli.failures, "
                 "adapters.entrypoints.cli.json_input, workflows.service, workflows.service.cases, "
                 "workflows.service.commands, workflows.engine, workflows.operators, sqlalchemy.dialects.sqlite, "
                 "sqlite3")


def simulation(cases: int, workers: int | None, on_progress: OnProgress = no_progress) -> dict[str, dict[str, Any]]:
    """simulation_steps_per_s and state_bytes_median from one `beian simulate` run of the bundled filing process
    (default profile, a year's arrivals), its cases over `workers` processes."""
    from workflows.simulation import simulate
    from workflows.simulation_profile import load_profile

    report = simulate("filing_application", cases=cases, first=date(2026, 1, 5), last=date(2026, 10, 30),
                      profile=load_profile(None), workers=workers, on_progress=on_progress)
    (version,) = report["versions"]
    steps = {"value": version["steps_per_second"], "steps": version["steps"], "cases": cases,
             "workers": version["workers"], "cpu_seconds": version["cpu_seconds"],
             "steps_per_engine_cpu_second": version["steps_per_engine_cpu_second"],
             "steps_per_wall_second": version["steps_per_wall_second"]}
    sizes = version["state_bytes"]
    state = {"value": sizes["median"], "p90": sizes["p90"], "max": sizes["max"], "cases": cases,
             "filed": version["filed"]}
    return {"simulation_steps_per_s": steps, "state_bytes_median": state}


def cli_cold(rounds: int) -> dict[str, Any]:
    """CPU seconds (user + system) of a fresh interpreter importing what a real `beian complete` loads before its
    step, and of one running `beian complete --help`, in turn, `rounds` times each.

    The interpreter reads the bytecode Python itself wrote on a first, unmeasured run, as an installed `beian` does
    from its second command on (pip compiles a wheel's modules when it installs them; an editable install writes
    __pycache__ at first use). That bytecode goes to a directory of this measurement's own, deleted after it: nothing
    is written into the tree, and nothing outlives the run to go stale. `from_source` is the same import where no
    bytecode is ever written (PYTHONDONTWRITEBYTECODE, no __pycache__ in the tree): the project's modules compiled
    at every start."""
    with tempfile.TemporaryDirectory(prefix="beian-bench-bytecode-") as bytecode:
        installed = {"PYTHONPYCACHEPREFIX": bytecode}
        for code in (COLD_COMPLETE, HELP_ONLY):
            _child_cpu(code, installed, write_bytecode=True)
        complete: list[float] = []
        help_only: list[float] = []
        from_source: list[float] = []
        for _round in range(rounds):
            complete.append(_child_cpu(COLD_COMPLETE, installed))
            help_only.append(_child_cpu(HELP_ONLY, installed))
            from_source.append(_child_cpu(COLD_COMPLETE, {}))
    figures = spread(complete)
    return {"value": figures["median"], "spread": figures, "command": "beian complete TASK（步骤前的导入）",
            "help_only": spread(help_only), "from_source": spread(from_source)}


def _child_cpu(code: str, env: dict[str, str], write_bytecode: bool = False) -> float:
    environment = {**os.environ, **env}
    if write_bytecode:
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL, env=environment)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
