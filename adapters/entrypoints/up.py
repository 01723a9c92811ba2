"""`beian up`: the whole system on one machine, on embedded defaults, in one command; and the scale-out helpers.

`run_up` starts, each as a child process with its log under `<home>/logs/`:

1. the Prefect server (`prefect server start`, through `adapters.entrypoints.prefect_server`) with its own
   PREFECT_HOME (`<home>/prefect`) and port, telemetry off and ephemeral servers forbidden, so nothing talks to a
   server other than this one;
2. the sandbox that stands in for every outside system (`python -m adapters.outside.sandbox`);
3. after creating or upgrading the application database (`Beian.init()`), the process that serves the deployments
   (`python -m adapters.entrypoints.up serve`); once it has polled the server, the automations are configured;
4. the web app, when `adapters/entrypoints/web.py` exists (`python -m adapters.entrypoints.web --host H --port P`).

It prints the addresses, then waits. Ctrl-C (SIGINT) or SIGTERM stops the children in reverse order — the web app,
then the served deployments (SIGINT: the runner pauses their schedules while the server is still there), the sandbox
and last the server — and returns 0. A child that dies on its own is named, with the end of its log, the others are
stopped and the exit code is 1. Each child runs in its own process group, which is signalled as a whole, so the flow
runs a child started die with it and nothing is left behind.

Every process started here gets `prefect_environment()`: that is where PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set, which
the zombie automation relies on. Workers started with `run_worker` get the same heartbeat setting.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy.engine import make_url

from adapters.outside.db import database_url
from adapters.outside.settings import HEARTBEAT_SECONDS, PREFECT_PORT, SANDBOX_PORT, WEB_PORT, Settings, load_settings

DEFAULT_HOME = Path(".beian")
HOST = "127.0.0.1"

SERVER_READY_SECONDS = 180.0  # a fresh SQLite database takes about 10 s to migrate; slow disks take longer
CHILD_READY_SECONDS = 60.0
STOP_GRACE_SECONDS = 20.0
# A worker asked to stop lets its running flow runs finish, then tears down (a last event and its API client) and says
# "stopped"; on a busy machine that takes longer than a child of `beian up`. Below systemd's default TimeoutStopSec
# (90 s), so that it is this wrapper that says what happened when a worker has to be killed.
WORKER_STOP_GRACE_SECONDS = 75.0
POLL_SECONDS = 0.25


class UpFailed(Exception):
    """Start-up could not complete; the message says why, in Chinese and English."""


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived."""


def prefect_environment(home: Path, port: int, host: str = HOST) -> dict[str, str]:
    """The Prefect settings of every process of one `beian up`: its own home and server, nothing else.

    `host` is where the server listens (0.0.0.0 lets workers on other machines reach it); the processes started here
    talk to it over loopback in that case."""
    local = HOST if host in ("0.0.0.0", "::", "") else host
    return {
        "PREFECT_HOME": str((home / "prefect").resolve()),
        "PREFECT_API_URL": f"http://{local}:{port}/api",
        "PREFECT_UI_URL": f"http://{local}:{port}",
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # Without this a process that lost its API URL would quietly start a temporary server of its own.
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
        # Flow runs send heartbeats; the zombie automation marks a run Crashed when they stop.
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS),
    } | _sqlite_server_settings()


# Seconds a connection of an embedded (SQLite) Prefect server waits for the database lock.
SQLITE_LOCK_WAIT_SECONDS = 60


def _sqlite_server_settings() -> dict[str, str]:
    """For a Prefect server on SQLite (no PREFECT_SERVER_DATABASE_CONNECTION_URL, the embedded default): let a new
    connection wait as long for the lock as Prefect's own PRAGMA busy_timeout lets every later statement wait (60 s),
    instead of its default 10 s (`PREFECT_SERVER_DATABASE_TIMEOUT` is the sqlite3 connect timeout there; WAL is
    Prefect's own). On PostgreSQL the same setting is a statement timeout, so it is left alone. What no setting cures
    (a transaction that read and then writes is refused at once) is cured by beginning them IMMEDIATE
    (`adapters.entrypoints.prefect_server`); one writer at a time is why PostgreSQL is still the production path."""
    url = os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL") or os.environ.get(
        "PREFECT_API_DATABASE_CONNECTION_URL", "")
    if url and not url.startswith("sqlite"):
        return {}
    return {"PREFECT_SERVER_DATABASE_TIMEOUT": str(SQLITE_LOCK_WAIT_SECONDS)}


@dataclass
class _Child:
    key: str
    label: str  # "中文 / English", as printed
    process: subprocess.Popen[bytes]
    log: Path
    log_file: IO[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGINT to the whole group (Prefect's worker ignores a lone SIGTERM), then SIGKILL whatever is left."""
        if self.group_alive():
            self.signal_group(signal.SIGINT)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                self.process.poll()  # reap the leader so the group check below can see it gone
                if not self.group_alive():
                    break
                time.sleep(POLL_SECONDS)
            else:
                self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.log_file.close()

    def tail(self, lines: int = 8) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


class _Up:
    """One `beian up`: its children, its output and its stop flag."""

    def __init__(self, home: Path, env: dict[str, str], out: IO[str]) -> None:
        self.home = home
        self.logs = home / "logs"
        self.env = env
        self.out = out
        self.children: list[_Child] = []
        self.stop_requested = threading.Event()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def start(self, key: str, label: str, argv: list[str]) -> _Child:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{key}.log"
        log_file = log.open("wb")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                   env=self.env, start_new_session=True)
        child = _Child(key, label, process, log, log_file)
        self.children.append(child)
        self.say(f"  启动 {label}（日志 / log: {log}）")
        return child

    def wait_until(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        """Poll `ready` until it holds; fail if a child dies, time runs out, or a stop is requested."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while True:
            self.check_children()
            if self.stop_requested.is_set():
                raise _Interrupted
            try:
                if ready():
                    return
            except Exception as exc:  # not answering yet (refused connection, deployment not registered yet)
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise UpFailed(f"{what} 在 {int(timeout)} 秒内未就绪 / {what} not ready after {int(timeout)} s"
                               + (f"（{last_error}）" if last_error else ""))
            self.stop_requested.wait(POLL_SECONDS)

    def check_children(self) -> None:
        for child in self.children:
            if not child.alive():
                tail = child.tail()
                raise UpFailed(f"{child.label} 意外退出（退出码 {child.process.returncode}），日志 / log: {child.log}"
                               + (f"\n{tail}" if tail else ""))

    def stop_all(self) -> None:
        for child in reversed(self.children):
            if child.group_alive():
                self.say(f"  停止 / stopping {child.label}")
            child.stop()


def _port_free(port: int, host: str = HOST) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _answers(url: str) -> bool:
    return httpx.get(url, timeout=2.0).status_code < 500


@contextlib.contextmanager
def _signals_stop(flag: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `flag` instead of interrupting; the previous handlers come back afterwards."""
    def handler(signum: int, frame: Any) -> None:
        flag.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _prefect_client_settings(env: dict[str, str]) -> Iterator[None]:
    """Point this process's own Prefect client at the server of `env` (Prefect read its settings at import)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"], PREFECT_SERVER_EPHEMERAL_ENABLED: False}):
        yield


def _deployments_polled(names: list[str], since: float) -> bool:
    """Every deployment exists, is not paused and was polled by a runner after `since` (epoch seconds)."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        for name in names:
            deployment = client.read_deployment_by_name(name)
            polled = deployment.last_polled
            if deployment.paused or polled is None or polled.timestamp() < since:
                return False
    return True


def _shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def run_up(db_url: str | None = None, home: Path = DEFAULT_HOME, prefect_port: int = PREFECT_PORT,
           sandbox_port: int = SANDBOX_PORT, web: bool = True, open_browser: bool = False, *,
           web_port: int = WEB_PORT, serve: bool = True, prefect_host: str = HOST, out: IO[str] | None = None) -> int:
    """Start everything, wait for Ctrl-C/SIGTERM, stop everything; 0 on a requested stop, 1 if anything failed.

    `serve=False` leaves the deployments to workers of a process pool (`run_deploy`, `run_worker`), which reach the
    server when it listens on a routable `prefect_host` (e.g. 0.0.0.0 on a private network: the API has no login)."""
    from workflows import flows

    out = out or sys.stdout
    home = home.resolve()
    url = database_url(db_url)
    env = {**os.environ, **prefect_environment(home, prefect_port, prefect_host), "PYTHONUNBUFFERED": "1",
           "BEIAN_DATABASE_URL": url, "BEIAN_SANDBOX_URL": f"http://{HOST}:{sandbox_port}"}
    env.setdefault("BEIAN_WEB_URL", f"http://{HOST}:{web_port}")
    settings = load_settings(env)
    up = _Up(home, env, out)
    web_exists = importlib.util.find_spec("adapters.entrypoints.web") is not None

    wanted = {(prefect_port, prefect_host): "Prefect", (sandbox_port, HOST): "sandbox"}
    if web and web_exists:
        wanted[(web_port, HOST)] = "web"
    busy = [f"{port}（{what}）" for (port, host), what in wanted.items() if not _port_free(port, host)]
    if busy:
        up.say(f"端口已被占用 / port in use: {', '.join(busy)}。请先停止占用它的程序，"
               "或用 --prefect-port / --sandbox-port 换一个端口 / stop whatever uses it or choose another port.")
        return 1

    ui = env["PREFECT_UI_URL"]
    running = False
    with _signals_stop(up.stop_requested):
        try:
            up.say(f"beian up：主目录 / home {home}")
            up.start("prefect-server", "Prefect 服务器 / Prefect server",
                     [sys.executable, "-m", "adapters.entrypoints.prefect_server", "--host", prefect_host,
                      "--port", str(prefect_port)])
            up.start("sandbox", "外部系统沙箱 / sandbox",
                     [sys.executable, "-m", "adapters.outside.sandbox", "--host", HOST, "--port", str(sandbox_port)])
            _init_database(url, up)
            up.wait_until("Prefect 服务器 / Prefect server", lambda: _answers(f"{ui}/api/health"), SERVER_READY_SECONDS)
            up.wait_until("外部系统沙箱 / sandbox", lambda: _answers(f"http://{HOST}:{sandbox_port}/_sandbox/"),
                          CHILD_READY_SECONDS)
            with _prefect_client_settings(env):
                if serve:
                    _serve(up, settings)
                else:
                    up.say("  不在本机运行部署 / not serving deployments here: "
                           "beian deploy --pool POOL，再在各机器上 / then on each machine: beian worker --pool POOL")
                    if _deployments_exist():  # registered by an earlier `beian deploy`, which also configures them
                        flows.ensure_automations(settings)
            web_line = _start_web(up, web, web_exists, web_port)
            up.say("")
            up.say("beian 已启动 / beian is up")
            up.say(f"  Prefect 界面 / Prefect UI:   {ui}")
            up.say(f"  外部系统沙箱 / sandbox:      http://{HOST}:{sandbox_port}/_sandbox/")
            up.say(f"  业务数据库 / database:       {_shown_url(url)}")
            up.say(f"  网页应用 / web app:          {web_line}")
            up.say(f"  日志 / logs:                 {up.logs}")
            up.say("按 Ctrl-C 停止 / press Ctrl-C to stop")
            running = True
            if open_browser:
                webbrowser.open(ui)
            while not up.stop_requested.is_set():
                up.check_children()
                up.stop_requested.wait(0.5)
            raise _Interrupted
        except _Interrupted:
            up.say("正在停止 / stopping …")
            up.stop_all()
            up.say("已停止 / stopped")
            return 0
        except UpFailed as exc:
            up.say(f"{'运行中出错，全部停止' if running else '启动失败'} / failed: {exc}")
            up.stop_all()
            return 1
        except BaseException:
            up.stop_all()
            raise


def _init_database(url: str, up: _Up) -> None:
    from adapters.entrypoints.demo import seed_empty_database
    from workflows.database_clock import mark_real_time, read_marker
    from workflows.service import Beian

    app = Beian(url)
    try:
        deployed = app.init()
        # From here on real time runs on this database: a virtual clock may no longer write to it.
        mark_real_time(app, "beian up")
        practice = read_marker(app).practice
    except Exception as exc:  # unreachable server, wrong credentials, a migration that fails: say so, stop the rest
        raise UpFailed(f"业务数据库无法初始化 / database init failed: {_shown_url(url)}: {type(exc).__name__}: {exc}"
                       ) from exc
    finally:
        app.close()
    changed = [d["process"] for d in deployed if d.get("deployed")]
    up.say(f"  业务数据库已就绪 / database ready: {_shown_url(url)}"
           + (f"（新部署 / deployed: {', '.join(changed)}）" if changed else ""))
    if practice:
        up.say("  注意：这是练习数据库（beian init --practice），其中的案件可能按虚拟时钟办理，送达任务会把它们的通知"
               "发给外部系统；正式运行请用另一个数据库 / note: this is a practice database")
    app = Beian(url)
    try:
        seeded = seed_empty_database(app)
    finally:
        app.close()
    if seeded:
        up.say(f"  首位管理员 / first administrator: admin，初始密码 / password: {seeded['admin_password']}"
               "（仅显示这一次，请登录后用 beian users passwd admin 修改 / shown once）")
        up.say(f"  演示账号 / demo accounts: {', '.join(seeded['demo_users'])}，密码 / password: "
               f"{seeded['demo_password']}；演示申请 / demo applications: {', '.join(seeded['cases'])}")


def _serve(up: _Up, settings: Settings) -> None:
    from workflows import flows

    names = [f"{d.flow_name}/{d.name}" for d in flows.deployments(settings)]
    started = time.time()
    up.start("serve", "部署运行进程 / deployments (serve)", [sys.executable, "-m", "adapters.entrypoints.up", "serve"])
    up.wait_until("部署 / deployments", lambda: _deployments_polled(names, started), CHILD_READY_SECONDS)
    done = flows.ensure_automations(settings)
    up.say(f"  已提供 {len(names)} 个部署 / serving {len(names)} deployments; 自动化 / automations: "
           + "，".join(f"{name}（{'新建' if how == 'created' else '已更新'}）" for name, how in done.items()))


def _deployments_exist() -> bool:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from workflows import flows

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(f"{flows.FLAG_FLOW}/{flows.FLAG_DEPLOYMENT}")
        except ObjectNotFound:
            return False
    return True


def _start_web(up: _Up, web: bool, exists: bool, port: int) -> str:
    if not web:
        return "未启动（--no-web）/ not started"
    if not exists:
        up.say("  网页应用尚未实现（adapters/entrypoints/web.py 不存在），跳过 / web app not built yet, skipped")
        return "未启动：尚未实现 / not started: not built yet"
    up.start("web", "网页应用 / web app", [sys.executable, "-m", "adapters.entrypoints.web", "--host", HOST,
                                          "--port", str(port), "--secret-file", str(up.home / "web-secret")])
    address = f"http://{HOST}:{port}"
    up.wait_until("网页应用 / web app", lambda: _answers(address), CHILD_READY_SECONDS)
    return address


# --- scale-out --------------------------------------------------------------------------------------------------------

def run_deploy(pool: str, prefect_api_url: str | None = None, out: IO[str] | None = None) -> int:
    """Register the deployments on process work pool `pool` (created if missing) and configure the automations."""
    out = out or sys.stdout
    api = prefect_api_url or os.environ.get("PREFECT_API_URL")
    if not api:
        print("请用 --prefect-api-url 或 PREFECT_API_URL 指定 Prefect 服务器，例如 http://10.0.0.5:4220/api", file=out)
        return 2
    from workflows import flows

    settings = load_settings()
    env = {"PREFECT_API_URL": api}
    with _prefect_client_settings(env):
        ids = flows.deploy_to_pool(pool, settings)
        done = flows.ensure_automations(settings)
    print(f"已在工作池 {pool} 注册 {len(ids)} 个部署，自动化：{'，'.join(done)}", file=out)
    print(f"在每台执行机器上运行 / on each worker machine: beian worker --pool {pool}", file=out)
    return 0


def run_worker(pool: str, prefect_api_url: str | None = None) -> int:
    """Run `prefect worker start --pool POOL --type process` with the heartbeat setting, until SIGINT/SIGTERM.

    The worker needs BEIAN_DATABASE_URL (and the outside systems' settings) in its environment: the flow runs it
    starts inherit them. A SIGTERM (systemd, Kubernetes) is passed on as SIGINT, since the worker ignores a lone
    SIGTERM. The exit code is the worker's own once it has stopped; 1 if it had to be killed."""
    api = prefect_api_url or os.environ.get("PREFECT_API_URL")
    if not api:
        print("请用 --prefect-api-url 或 PREFECT_API_URL 指定 Prefect 服务器，例如 http://10.0.0.5:4220/api",
              file=sys.stderr)
        return 2
    if not os.environ.get("BEIAN_DATABASE_URL"):
        # Without it every flow run would open a new, empty SQLite file in the worker's working directory.
        print("请设置 BEIAN_DATABASE_URL（各台机器共用的业务数据库，例如 postgresql://beian:密码@db:5432/beian）",
              file=sys.stderr)
        return 2
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
           "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)}
    process = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type",
                                "process"], env=env, start_new_session=True)
    stop = threading.Event()
    with _signals_stop(stop):
        while process.poll() is None:
            if stop.wait(0.5):
                return _stop_worker(process)
    return process.returncode


def _stop_worker(process: subprocess.Popen[bytes]) -> int:
    """SIGINT to the worker's process group (what Ctrl-C in its terminal does), then wait for it to exit: it prints
    that it stopped only after its teardown. Killed only after WORKER_STOP_GRACE_SECONDS, and then the caller is told
    (exit code 1), never a clean stop: a kill loses whatever the worker had still to do and say."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=WORKER_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        grace = f"{WORKER_STOP_GRACE_SECONDS:g}"
        print(f"Prefect 工作进程 {grace} 秒内未停止，已强制结束 / "
              f"the worker did not stop within {grace} s and was killed", file=sys.stderr)
        return 1


# --- `python -m adapters.entrypoints.up` ------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """`serve` is what `run_up` starts as a child; the others mirror the `beian` subcommands for convenience."""
    parser = argparse.ArgumentParser(prog="python -m adapters.entrypoints.up")
    sub = parser.add_subparsers(dest="command")
    up = sub.add_parser("up")
    up.add_argument("--db")
    up.add_argument("--home", type=Path, default=DEFAULT_HOME)
    up.add_argument("--prefect-port", type=int, default=PREFECT_PORT)
    up.add_argument("--prefect-host", default=HOST)
    up.add_argument("--sandbox-port", type=int, default=SANDBOX_PORT)
    up.add_argument("--web-port", type=int, default=WEB_PORT)
    up.add_argument("--no-web", action="store_true")
    up.add_argument("--no-serve", action="store_true")
    sub.add_parser("serve")
    for name in ("deploy", "worker"):
        p = sub.add_parser(name)
        p.add_argument("--pool", required=True)
        p.add_argument("--prefect-api-url")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from workflows import flows

        flows.serve_all(load_settings())
        return 0
    if args.command == "deploy":
        return run_deploy(args.pool, args.prefect_api_url)
    if args.command == "worker":
        return run_worker(args.pool, args.prefect_api_url)
    if args.command == "up":
        return run_up(args.db, args.home, args.prefect_port, args.sandbox_port, web=not args.no_web,
                      web_port=args.web_port, serve=not args.no_serve, prefect_host=args.prefect_host)
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
