"""One real Prefect server per test session, started by the tests: `beian up` itself, on free ports, in a temporary
home. The tests in this folder talk to it: test_flows.py runs the flows in this process against it (each test with its
own SQLite application database), test_up.py checks what `beian up` serves and stops it with Ctrl-C, last.

Prefect reads its settings when it is first imported, so the environment of this process is pointed at the session's
server here, at import time, before any test module imports Prefect.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from adapters.entrypoints.up import prefect_environment

ROOT = Path(__file__).resolve().parents[2]
RECEIVED = "2026-09-24T10:00:00+08:00"  # a Thursday: every deadline of the example application is long past

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HOME = Path(tempfile.mkdtemp(prefix="beian-prefect-tests-"))
PREFECT_PORT = free_port()
SANDBOX_PORT = free_port()
WEB_PORT = free_port()
PREFECT_ENV = prefect_environment(HOME / "up", PREFECT_PORT)
Path(PREFECT_ENV["PREFECT_HOME"]).mkdir(parents=True)
os.environ.update(PREFECT_ENV)
UP_DATABASE = HOME / "up.sqlite3"

# A sweep that runs longer than this is flagged; 10 s is the shortest window Prefect accepts for a proactive trigger.
TOO_LONG_SECONDS = 10
# The settings the tests configure the automations with: the session's `beian up` has these (its sandbox receives the
# ops notifications).
AUTOMATION_ENV = {"BEIAN_SWEEP_TOO_LONG": str(TOO_LONG_SECONDS), "BEIAN_SANDBOX_URL": f"http://127.0.0.1:{SANDBOX_PORT}"}


def eventually(check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.5, what: str = "") -> T:
    """Poll until `check` returns something truthy (logs and events reach the server asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(interval)


def corrupt(app: Any, case: str) -> str:
    """Break the saved workflow state of a case so that stepping it raises; returns the state it had."""
    with app.engine.begin() as connection:
        state = connection.execute(text("SELECT state FROM instances WHERE case_id = :c"), {"c": case}).scalar_one()
        connection.execute(text("UPDATE instances SET state = '{' WHERE case_id = :c"), {"c": case})
    return str(state)


def restore(app: Any, case: str, state: str) -> None:
    with app.engine.begin() as connection:
        connection.execute(text("UPDATE instances SET state = :s WHERE case_id = :c"), {"s": state, "c": case})


def apply_in(url: str) -> tuple[Any, str]:
    """The example application received at RECEIVED in the application at `url`: (the application, the case)."""
    from tests.support.scenarios import at, example_application
    from workflows.service import Beian

    app = Beian(url)
    with at(RECEIVED):
        return app, str(app.cases.apply(example_application())["case"])


def fired(app: Any, case: str) -> int:
    return sum(1 for entry in app.records.show(case)["history"] if entry["action"] == "timer_fired")


def settled_task_runs(client: Any, flow_run_id: Any, names: set[str]) -> dict[str, Any]:
    """Every task run of the flow run by name (its state type), once each of `names` has a final state. The server
    records task-run states from the events the flow run sent, after the flow run itself may already read Completed."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    def read() -> dict[str, Any] | None:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        final = {run.name for run in runs if run.state is not None and run.state.is_final()}
        return {run.name: run.state.type for run in runs if run.state is not None} if names <= final else None

    return eventually(read, what=f"the task runs {sorted(names)} of flow run {flow_run_id} to finish")


@dataclass
class UpProcess:
    """`beian up` running as a child of the tests, with everything it printed so far."""

    process: subprocess.Popen[str]
    home: Path
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{PREFECT_PORT}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{UP_DATABASE}"

    def read_until(self, marker: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"beian up did not print {marker!r} within {timeout} s:\n"
                                     + "".join(self.lines)) from None
            if line is None:
                raise AssertionError(f"beian up exited ({self.process.wait()}) before printing {marker!r}:\n"
                                     + "".join(self.lines))
            self.lines.append(line)
            if marker in line:
                return "".join(self.lines)

    def read_rest(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return "".join(self.lines)

    def stopped(self) -> bool:
        return self.process.poll() is not None


def processes_of(home: Path) -> list[tuple[int, str]]:
    """Every live process whose environment carries this PREFECT_HOME: whatever `beian up` started, at any depth,
    even if it was re-parented or put in a session of its own."""
    marker = f"PREFECT_HOME={(home / 'prefect').resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "State:\tZ" in status:
            continue
        if marker in environ.split(b"\0"):
            found.append((int(entry.name), cmdline))
    return found


@dataclass(frozen=True)
class Ports:
    prefect: int
    sandbox: int
    web: int


@contextlib.contextmanager
def running_up(home: Path, database: Path, ports: Ports) -> Iterator[UpProcess]:
    """`beian up` in `home` on `ports`, as a child of the tests, stopped (and every process it started killed) after."""
    # The embedded defaults, as on a fresh machine: tests/conftest.py switches the outside systems off for the rest of
    # the suite, here they are the sandbox `beian up` starts.
    env = {key: value for key, value in os.environ.items()
           if not (key.startswith("BEIAN_") and key.endswith("_URL"))}
    env |= prefect_environment(home / "up", ports.prefect)
    env |= {"BEIAN_DATABASE_URL": f"sqlite:///{database}",
           # No scheduled sweep during the tests: they start the runs they check.
           "BEIAN_SWEEP_INTERVAL": "3600", "BEIAN_SWEEP_TOO_LONG": str(TOO_LONG_SECONDS),
           # Served deployments and workers look for work every second instead of every ten.
           "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_WORKER_QUERY_SECONDS": "1"}
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.entrypoints.up", "up", "--db", str(database), "--home", str(home / "up"),
         "--prefect-port", str(ports.prefect), "--sandbox-port", str(ports.sandbox), "--web-port", str(ports.web)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=home,
        start_new_session=True)
    handle = UpProcess(process, home / "up")

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            handle._queue.put(line)
        handle._queue.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        handle.read_until("Ctrl-C", timeout=180)
        yield handle
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for pid, _ in processes_of(home / "up"):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def up() -> Iterator[UpProcess]:
    """`beian up` on free ports: the session's Prefect server, sandbox and served deployments."""
    try:
        with running_up(HOME, UP_DATABASE, Ports(PREFECT_PORT, SANDBOX_PORT, WEB_PORT)) as handle:
            try:
                yield handle
            finally:
                _drain_prefect_clients()
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


@pytest.fixture
def up_to_stop(tmp_path: Path) -> Iterator[tuple[UpProcess, Ports]]:
    """A `beian up` of its own, for a test that stops it: the session's one goes on serving the other tests, in
    whatever order they run."""
    ports = Ports(free_port(), free_port(), free_port())
    with running_up(tmp_path, tmp_path / "up.sqlite3", ports) as handle:
        yield handle, ports


def _drain_prefect_clients() -> None:
    """Send this process's pending logs and events while the server is still there: afterwards Prefect's
    background workers would retry against a closed port for a minute at interpreter exit."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


@pytest.fixture(scope="session")
def prefect_client(up: UpProcess) -> Iterator[Any]:
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED, temporary_settings

    # Also right if something imported Prefect before this conftest set the environment.
    with temporary_settings(updates={PREFECT_API_URL: PREFECT_ENV["PREFECT_API_URL"],
                                     PREFECT_SERVER_EPHEMERAL_ENABLED: False}), \
            get_client(sync_client=True) as client:
        yield client


# The zombie window the automation test runs with: long enough for any real run of the session to send its next
# event (each ends within seconds), short enough to watch.
PROBE_ZOMBIE_SECONDS = 20


@dataclass(frozen=True)
class AutomationProbes:
    long_sweep: Any  # a sweep-timers run left Running
    silent: Any  # a beian run that sent one sign of life, then nothing


@pytest.fixture(scope="session")
def automation_probes(up: UpProcess, prefect_client: Any) -> AutomationProbes:
    """Runs the automations should act on, created once and early (test_flows.py asks for them) so that the
    automations' windows elapse while other tests run; test_up.py checks the outcome and restores the automations."""
    from prefect.events import emit_event
    from prefect.states import Running

    from adapters.outside.settings import load_settings
    from workflows import flows

    flows.ensure_automations(load_settings(AUTOMATION_ENV),
                             zombie_after_seconds=PROBE_ZOMBIE_SECONDS)
    long_sweep = prefect_client.create_flow_run(flows.sweep_timers, name="probe-long-sweep", state=Running())
    silent = prefect_client.create_flow_run(flows.watch_stuck, name="probe-silent", tags=["beian"], state=Running())
    emit_event(event=flows.ALIVE_EVENT, resource={"prefect.resource.id": f"prefect.flow-run.{silent.id}"},
               related=[{"prefect.resource.id": "prefect.tag.beian", "prefect.resource.role": "tag"}])
    return AutomationProbes(long_sweep, silent)


HERE = Path(__file__).resolve().parent


# tryfirst: pytest-xdist reads the xdist_group marker in its own collection hook, which must see the marker added here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here goes to one xdist worker (with --dist loadgroup, set in pyproject.toml): they share the
    session's `beian up` and its automation windows. No test depends on another having run: the one that stops
    `beian up` with Ctrl-C stops one of its own (`up_to_stop`)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.xdist_group("prefect"))


class _GroupedOrRefused:
    """In an xdist worker under --dist loadgroup: after xdist has read the marker, each of these tests must carry the
    group in its node id (how xdist passes it to the scheduler), or it fails before its fixtures start anything.
    pytest 9.2 broke that silently (pytest-xdist issue 1386): the tests were spread over the workers, each starting a
    `beian up` of its own."""

    def __init__(self) -> None:
        self.ungrouped: set[str] = set()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if getattr(config.option, "loadgroup", False):  # set only in an xdist worker under --dist loadgroup
            self.ungrouped = {item.nodeid for item in items if item.path.is_relative_to(HERE)
                              and not item.nodeid.endswith("@prefect")}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if item.nodeid in self.ungrouped:
            pytest.fail("pytest-xdist did not put this test in the 'prefect' group: this pytest and pytest-xdist do "
                        "not work together (see the pytest pin in pyproject.toml); run with -n 0", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_GroupedOrRefused(), "beian-prefect-xdist-group")


def pytest_unconfigure(config: pytest.Config) -> None:
    # The `up` fixture removes HOME when it ran; an xdist worker that was given none of these tests never starts it,
    # but this module made HOME on import all the same.
    shutil.rmtree(HOME, ignore_errors=True)
