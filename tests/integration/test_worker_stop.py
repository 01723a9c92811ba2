"""How `beian worker` stops its Prefect worker, with a stand-in child that behaves as the worker does on SIGINT:
it tears down (here: waits, as the real one waits for a slow Prefect server), then says it stopped and exits 0.

The wrapper used to kill the worker after 20 s and report 0 all the same; under load the worker's teardown took longer,
so a clean-looking exit came with a log that never said "stopped" (tests/prefect/test_up.py caught it once)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.entrypoints import up

# Stands in for `prefect worker start`: SIGINT starts a teardown of TEARDOWN seconds, then "stopped" and exit 0.
WORKER = """
import signal, sys, time
stopping = []
signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(time.monotonic()))
print("started", flush=True)
while not stopping:
    time.sleep(0.01)
time.sleep(float(sys.argv[1]))
print("Worker 'stand-in' stopped!", flush=True)
"""


def start(teardown: float, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-c", WORKER, str(teardown)], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while "started" not in log.read_text():  # its SIGINT handler is in place once it says so
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.01)
    return process


def test_a_slow_teardown_is_waited_for_and_ends_in_the_workers_own_exit(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(up, "WORKER_STOP_GRACE_SECONDS", 10.0)
    log = tmp_path / "worker.log"
    process = start(1.5, log)
    began = time.monotonic()
    assert up._stop_worker(process) == 0
    assert time.monotonic() - began >= 1.5  # it waited for the teardown, not just for a signal to be delivered
    assert "stopped" in log.read_text()


def test_a_worker_killed_after_the_grace_is_a_failure_and_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(up, "WORKER_STOP_GRACE_SECONDS", 0.5)
    log = tmp_path / "worker.log"
    process = start(30, log)
    assert up._stop_worker(process) == 1
    assert process.returncode == -9 and "stopped" not in log.read_text()
    said = capsys.readouterr().err
    assert "工作进程 0.5 秒内未停止，已强制结束" in said
    assert "the worker did not stop within 0.5 s and was killed" in said
