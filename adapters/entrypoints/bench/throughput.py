"""The simulation's throughput and state size, and a cold command's start, each measured in fresh processes."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from datetime import date
from typing import Any

from adapters.entrypoints.bench.goals import interleaved, spread
from workflows.on_progress import OnProgress, no_progress

# A cold command in a fresh interpreter: `beian complete --help` (the CLI and the command's parser), and, as a detail
# without a goal, the same interpreter also importing the service layer a real `beian complete` opens before its step.
COLD_COMMAND = "import sys; from adapters.entrypoints.cli.main import main; sys.exit(main(['complete', '--help']))"
WITH_SERVICE = "import workflows.service; " + COLD_COMMAND


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
    """CPU seconds (user + system) of a fresh interpreter running the command, and one also importing the service,
    in turn, `rounds` times each."""
    command, service = interleaved(lambda _i: _child_cpu(COLD_COMMAND), lambda _i: _child_cpu(WITH_SERVICE), rounds)
    figures = spread(command)
    return {"value": figures["median"], "spread": figures, "command": "beian complete --help",
            "with_service_import": spread(service)}


def _child_cpu(code: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
