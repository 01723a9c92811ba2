"""The sandbox: one HTTP server on loopback that stands in for every outside system, with switches to break it.

Each system is served under a path prefix named by its key (the default `base_url` in `adapters/outside/settings.py`),
following the contract in `adapters/outside/systems.py`:

    POST /{notice_website|national_registry|notifications|certificate_registry}/{any path}
         → 201 {"reference": "<key>-<n>", "received_at": ISO}; a repeated Idempotency-Key for the same system
         → 200, same reference, no new record
    GET  /credit_registry/dishonesty/{code}    → {"credit_code", "listed", "records"}   (default: not listed)
    POST /credit_registry/persons/dishonesty  {"id_number", "name"} → {"id_number", "listed", "records"}
                                                                     (default: not listed; the name is not checked)
    GET  /enterprise_registry/entities/{code}  → {"credit_code", "status", "since"}       (default: active)

The bearer token is checked only when the sandbox was started with one (401 otherwise).

Switches, under /_sandbox/ (never token-protected: it is a test and demo tool bound to loopback):

    POST /_sandbox/mode        {"system": key | "*", "mode": "ok"|"fail"|"slow"|"nonsense",
                                "delay": s (slow, default 5), "status": n (fail, default 503),
                                "times": n (optional: only the next n requests, then ok again)}
                               "*" sets every system, each with its own count of `times`.
    POST /_sandbox/dishonest   {"credit_code", "records": [{"authority", "reason", "since"}]}  ([] clears)
    POST /_sandbox/dishonest_person  {"id_number", "records": [...]}   the same for a person, by identity number
    POST /_sandbox/entity      {"credit_code", "status": active|deregistered|bankrupt|closed|unknown, "since"}
                               "unknown" makes the enterprise registry answer 404 for the code.
    GET  /_sandbox/received[?system=key]  recorded deliveries {system, path, key, reference, payload, attempts,
                               received_at}; `attempts` counts every request that carried the key, in any mode.
    POST /_sandbox/ops-notifications  any JSON body: an ops notification (the embedded default of
                               BEIAN_OPS_WEBHOOK_URL, where the automation "case stuck / unstuck" posts) → 201, kept
    GET  /_sandbox/ops-notifications  the notifications received, oldest first, each {received_at, body}
    POST /_sandbox/reset       forget everything, every system back to ok
    GET  /_sandbox/            health, the current modes, and how many requests are being answered (in_flight)

Modes: `fail` answers the status with a JSON error; `nonsense` answers 200 with garbage, alternating an HTML
maintenance page and a JSON object without the expected fields; neither records a delivery, so a later
successful resend records it exactly once. `slow` waits `delay` seconds and then answers normally and records:
a client that gave up and resends with the same key gets the same reference (the idempotency path).

Run it: `python -m adapters.outside.sandbox --host 127.0.0.1 --port 4210`; in tests, `with SandboxServer() as sandbox:`.
State lives in memory, in one process, behind a lock. The request log names the path, never a body, so the
identity numbers of the person lookups (in their bodies) stay out of it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.outside.settings import OUTSIDE_SYSTEMS, SANDBOX_OPS_PATH, SANDBOX_PORT, OutsideSystem

log = logging.getLogger(__name__)

DELIVERING_SYSTEMS = ("notice_website", "national_registry", "notifications", "certificate_registry")
MODES = ("ok", "fail", "slow", "nonsense")
ENTITY_STATUSES = ("active", "deregistered", "bankrupt", "closed", "unknown")
NONSENSE_HTML = "<html>维护中</html>"
PERSON_LOOKUP = "persons/dishonesty"  # the credit registry's person lookup, under /credit_registry/
RECORD_FIELDS = ("authority", "reason", "since")


@dataclass(frozen=True)
class Mode:
    mode: str = "ok"
    delay: float = 5.0
    status: int = 503
    remaining: int | None = None  # None: until changed

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"mode": self.mode}
        if self.mode == "slow":
            described["delay"] = self.delay
        if self.mode == "fail":
            described["status"] = self.status
        if self.mode != "ok" and self.remaining is not None:
            described["remaining"] = self.remaining
        return described


@dataclass
class Delivery:
    system: str
    path: str
    key: str
    reference: str
    payload: dict[str, Any]
    received_at: str
    attempts: int


@dataclass
class SandboxState:
    """Everything the sandbox remembers. Every method takes the lock; none holds it across an await."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    modes: dict[str, Mode] = field(default_factory=dict)
    deliveries: dict[tuple[str, str], Delivery] = field(default_factory=dict)
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)
    nonsense_served: dict[str, int] = field(default_factory=dict)
    dishonest: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    dishonest_persons: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # by identity number
    entities: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    ops_notifications: list[dict[str, Any]] = field(default_factory=list)
    # Set when the server stops: slow requests end at once instead of holding up (or being killed by) shutdown.
    closing: threading.Event = field(default_factory=threading.Event)
    # Requests to the outside systems being answered now (a slow one included): a test waits for none before it
    # reads what was recorded, instead of sleeping for as long as it hopes is enough.
    in_flight: int = 0

    def entered(self, change: int) -> None:
        with self.lock:
            self.in_flight += change

    def set_mode(self, system: str, mode: Mode) -> None:
        with self.lock:
            for key in OUTSIDE_SYSTEMS if system == "*" else (system,):
                self.modes[key] = mode

    def take_mode(self, system: str) -> Mode:
        """The mode for this request; a mode limited to n requests counts this one and expires after the last."""
        with self.lock:
            mode = self.modes.get(system, Mode())
            if mode.remaining is not None:
                left = mode.remaining - 1
                self.modes[system] = replace(mode, remaining=left) if left > 0 else Mode()
            return mode

    def describe_modes(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {key: self.modes.get(key, Mode()).describe() for key in OUTSIDE_SYSTEMS}

    def count_attempt(self, system: str, key: str) -> None:
        with self.lock:
            self.attempts[(system, key)] = self.attempts.get((system, key), 0) + 1
            if (system, key) in self.deliveries:
                self.deliveries[(system, key)].attempts = self.attempts[(system, key)]

    def record(self, system: str, path: str, key: str, payload: dict[str, Any]) -> tuple[Delivery, bool]:
        """The delivery for this key (recorded now if new) and whether it is new. Check and record are atomic."""
        with self.lock:
            existing = self.deliveries.get((system, key))
            if existing is not None:
                return copy.deepcopy(existing), False
            self.issued[system] = self.issued.get(system, 0) + 1
            delivery = Delivery(
                system=system,
                path=path,
                key=key,
                reference=f"{system}-{self.issued[system]}",
                payload=payload,
                received_at=datetime.now(UTC).isoformat(timespec="seconds"),
                attempts=self.attempts.get((system, key), 1),
            )
            self.deliveries[(system, key)] = delivery
            return copy.deepcopy(delivery), True

    def received(self, system: str | None) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(d) for d in self.deliveries.values() if system is None or d.system == system]

    def next_nonsense(self, system: str) -> int:
        with self.lock:
            self.nonsense_served[system] = self.nonsense_served.get(system, 0) + 1
            return self.nonsense_served[system]

    def set_dishonest(self, credit_code: str, records: list[dict[str, str]]) -> None:
        self._list(self.dishonest, credit_code, records)

    def dishonesty(self, credit_code: str) -> list[dict[str, str]]:
        with self.lock:
            return copy.deepcopy(self.dishonest.get(credit_code, []))

    def set_dishonest_person(self, id_number: str, records: list[dict[str, str]]) -> None:
        self._list(self.dishonest_persons, id_number, records)

    def person_dishonesty(self, id_number: str) -> list[dict[str, str]]:
        with self.lock:
            return copy.deepcopy(self.dishonest_persons.get(id_number, []))

    def _list(self, table: dict[str, list[dict[str, str]]], key: str, records: list[dict[str, str]]) -> None:
        with self.lock:
            if records:
                table[key] = records
            else:
                table.pop(key, None)

    def set_entity(self, credit_code: str, status: str, since: str | None) -> None:
        with self.lock:
            self.entities[credit_code] = (status, since)

    def entity(self, credit_code: str) -> tuple[str, str | None]:
        with self.lock:
            return self.entities.get(credit_code, ("active", None))

    def notify_ops(self, body: object) -> None:
        with self.lock:
            self.ops_notifications.append({"received_at": datetime.now(UTC).isoformat(), "body": body})

    def ops_notified(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.ops_notifications)

    def reset(self) -> None:
        with self.lock:
            for table in (self.modes, self.deliveries, self.attempts, self.issued, self.nonsense_served,
                          self.dishonest, self.dishonest_persons, self.entities, self.ops_notifications):
                table.clear()


class _BadRequest(Exception):
    """A switch or request the sandbox cannot use; answered 400 with the message."""


def create_app(token: str | None = None, state: SandboxState | None = None) -> Starlette:
    """The sandbox application. `token`: when given, system endpoints require `Authorization: Bearer <token>`."""
    state = state if state is not None else SandboxState()

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "systems": list(OUTSIDE_SYSTEMS), "modes": state.describe_modes(),
                             "in_flight": state.in_flight})

    async def set_mode(request: Request) -> Response:
        body = await _body(request)
        system = body.get("system", "*")
        if system != "*" and system not in OUTSIDE_SYSTEMS:
            raise _BadRequest(f"unknown system {system!r}; one of {', '.join(OUTSIDE_SYSTEMS)} or '*'")
        mode = body.get("mode")
        if mode not in MODES:
            raise _BadRequest(f"mode must be one of {', '.join(MODES)}")
        delay = body.get("delay", 5.0)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise _BadRequest("delay must be a number of seconds, at least 0")
        status = body.get("status", 503)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise _BadRequest("status must be an HTTP error status (400-599)")
        times = body.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise _BadRequest("times must be a positive whole number (or absent: until changed)")
        state.set_mode(system, Mode("ok") if mode == "ok" else Mode(mode, float(delay), status, times))
        return JSONResponse({"modes": state.describe_modes()})

    async def set_dishonest(request: Request) -> Response:
        body = await _body(request)
        code = _credit_code(body)
        records = _records(body)
        state.set_dishonest(code, records)
        return JSONResponse({"credit_code": code, "listed": bool(records)})

    async def set_dishonest_person(request: Request) -> Response:
        body = await _body(request)
        number = _id_number(body)
        records = _records(body)
        state.set_dishonest_person(number, records)
        return JSONResponse({"listed": bool(records)})  # the number is not echoed: it is personal data

    async def set_entity(request: Request) -> Response:
        body = await _body(request)
        code = _credit_code(body)
        status = body.get("status")
        if status not in ENTITY_STATUSES:
            raise _BadRequest(f"status must be one of {', '.join(ENTITY_STATUSES)}")
        since = body.get("since")
        if since is not None:
            try:
                date.fromisoformat(since)
            except (TypeError, ValueError):
                raise _BadRequest("since must be YYYY-MM-DD or null") from None
        state.set_entity(code, status, since)
        return JSONResponse({"credit_code": code, "status": status, "since": since})

    async def received(request: Request) -> Response:
        system = request.query_params.get("system")
        if system is not None and system not in OUTSIDE_SYSTEMS:
            raise _BadRequest(f"unknown system {system!r}")
        return JSONResponse(state.received(system))

    async def notify_ops(request: Request) -> Response:
        state.notify_ops(await _json_or_none(request))
        return JSONResponse({"status": "received"}, status_code=201)

    async def ops_notified(request: Request) -> Response:
        return JSONResponse(state.ops_notified())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"status": "reset"})

    async def outside_system(request: Request) -> Response:
        state.entered(+1)
        try:
            return await answer(request)
        finally:
            state.entered(-1)

    async def answer(request: Request) -> Response:
        system, path = request.path_params["system"], request.path_params["path"]
        if system not in OUTSIDE_SYSTEMS:
            return _error(404, f"no outside system {system!r}")
        if token is not None and request.headers.get("authorization") != f"Bearer {token}":
            return _error(401, "missing or wrong bearer token")
        lookup = _lookup_target(system, path)
        person = system == "credit_registry" and path == PERSON_LOOKUP
        if system in DELIVERING_SYSTEMS or person:
            if request.method != "POST":
                return _error(405, "the person lookup is POST" if person else "deliveries are POST")
        elif lookup is None:
            return _error(404, f"{system} does not serve {request.method} /{path}")
        key = request.headers.get("idempotency-key", "")
        payload: object = None
        if system in DELIVERING_SYSTEMS or person:
            # Read the whole request before any delay, like a real server: a client that gives up while we are
            # "slow" must not take its request back with it.
            payload = await _json_or_none(request)
            if key and not person:
                state.count_attempt(system, key)

        mode = state.take_mode(system)
        if mode.mode != "ok":
            request.state.note = mode.describe()
        if mode.mode == "fail":
            return _error(mode.status, f"sandbox: {system} is in fail mode")
        if mode.mode == "nonsense":
            # Garbage that parses differently each time: a maintenance page, then JSON missing every field.
            if state.next_nonsense(system) % 2:
                return HTMLResponse(NONSENSE_HTML)
            return JSONResponse({"status": "维护中"})
        if mode.mode == "slow" and not await _pause(state, mode.delay):
            return _error(503, "sandbox: shutting down")

        if person:
            return _person_lookup(state, payload)
        if lookup is not None:
            return _lookup(state, system, lookup)
        return _deliver(state, system, path, key, payload)

    async def bad_request(request: Request, exc: Exception) -> Response:
        return _error(400, str(exc))

    routes = [
        Route("/_sandbox/", health, methods=["GET"]),
        Route("/_sandbox/mode", set_mode, methods=["POST"]),
        Route("/_sandbox/dishonest", set_dishonest, methods=["POST"]),
        Route("/_sandbox/dishonest_person", set_dishonest_person, methods=["POST"]),
        Route("/_sandbox/entity", set_entity, methods=["POST"]),
        Route("/_sandbox/received", received, methods=["GET"]),
        Route(SANDBOX_OPS_PATH, notify_ops, methods=["POST"]),
        Route(SANDBOX_OPS_PATH, ops_notified, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/{system}/{path:path}", outside_system, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes, exception_handlers={_BadRequest: bad_request})
    app.add_middleware(_RequestLog)
    return app


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _BadRequest("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _BadRequest("body must be a JSON object")
    return body


def _credit_code(body: dict[str, Any]) -> str:
    code = body.get("credit_code")
    if not isinstance(code, str) or not code:
        raise _BadRequest("credit_code is required")
    return code


def _id_number(body: dict[str, Any]) -> str:
    number = body.get("id_number")
    if not isinstance(number, str) or not number:
        raise _BadRequest("id_number is required")
    return number.upper()  # as the application stores it (an ``x`` typed in a test lists the same person)


def _records(body: dict[str, Any]) -> list[dict[str, str]]:
    records = body.get("records", [])
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and all(isinstance(r.get(k), str) for k in RECORD_FIELDS) for r in records
    ):
        raise _BadRequest("records must be a list of {authority, reason, since} strings")
    return [{k: r[k] for k in RECORD_FIELDS} for r in records]


def _lookup_target(system: str, path: str) -> str | None:
    """The credit code a lookup asks about, or None when the path is not a lookup of this system."""
    prefix = {"credit_registry": "dishonesty", "enterprise_registry": "entities"}.get(system)
    head, _, code = path.partition("/")
    if prefix is None or head != prefix or not code or "/" in code:
        return None
    return code


def _lookup(state: SandboxState, system: str, code: str) -> Response:
    if system == "credit_registry":
        records = state.dishonesty(code)
        return JSONResponse({"credit_code": code, "listed": bool(records), "records": records})
    status, since = state.entity(code)
    if status == "unknown":
        return _error(404, f"no entity with credit code {code}")
    return JSONResponse({"credit_code": code, "status": status, "since": since})


def _person_lookup(state: SandboxState, body: object) -> Response:
    number = body.get("id_number") if isinstance(body, dict) else None
    if not isinstance(number, str) or not number:
        return _error(400, "body must be a JSON object with id_number")
    records = state.person_dishonesty(number.upper())
    return JSONResponse({"id_number": number, "listed": bool(records), "records": records})


async def _pause(state: SandboxState, seconds: float) -> bool:
    """Sleeps `seconds`; False when the sandbox began to stop meanwhile."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if state.closing.is_set():
            return False
        await asyncio.sleep(min(left, 0.05))
    return True


async def _json_or_none(request: Request) -> object:
    try:
        return await request.json()
    except ValueError:
        return None


def _deliver(state: SandboxState, system: str, path: str, key: str, payload: object) -> Response:
    if not key:
        return _error(400, "Idempotency-Key header is required")
    if not isinstance(payload, dict):
        return _error(400, "body must be a JSON object")
    delivery, created = state.record(system, path, key, payload)
    return JSONResponse({"reference": delivery.reference, "received_at": delivery.received_at},
                        status_code=201 if created else 200)


class _RequestLog:
    """One log line per request: method, path, status, the sandbox mode that shaped the answer, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status: list[int] = []
        # Created here so that the handler's request.state writes into this very dict, even on a copied scope.
        notes = scope.setdefault("state", {})

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            note = notes.get("note")
            log.info("%s %s → %s%s (%.0f ms)", scope["method"], scope["path"], status[0] if status else "-",
                     f" [{note}]" if note else "", (time.monotonic() - started) * 1000)


class SandboxServer:
    """The sandbox in a background thread on loopback, for tests and demos: `with SandboxServer() as sandbox:`.

    `port=0` takes a free port; `url` is known once started. The switches are called over HTTP, like any client.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                 startup_timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._control: httpx.Client | None = None
        self._state = SandboxState()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        # Bind here, not in uvicorn, so that the port (free or given) is known before the first request.
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for a TCP-typed socket;
        # without it every answer waits for the client's delayed ACK (about 40 ms a request).
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM,
                             socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._state.closing.clear()
        config = uvicorn.Config(create_app(self.token, self._state), log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="beian-sandbox", daemon=True)
        thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=5)
                sock.close()
                raise RuntimeError(f"the sandbox did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        self._control = httpx.Client(base_url=f"{self.url}/_sandbox", trust_env=False, timeout=10.0)
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is not None and self._thread is not None:
            self._state.closing.set()
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def system(self, key: str, token: str | None = None) -> OutsideSystem:
        """The outside system `key` as served by this sandbox (with the sandbox's token unless one is given)."""
        return OutsideSystem(key, f"{self.url}/{key}", token if token is not None else self.token or "")

    def set_mode(self, system: str = "*", mode: str = "ok", *, delay: float | None = None,
                 status: int | None = None, times: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"system": system, "mode": mode}
        for name, value in (("delay", delay), ("status", status), ("times", times)):
            if value is not None:
                body[name] = value
        return self._call("POST", "/mode", body)

    def set_dishonest(self, credit_code: str, records: list[dict[str, str]]) -> None:
        self._call("POST", "/dishonest", {"credit_code": credit_code, "records": records})

    def set_dishonest_person(self, id_number: str, records: list[dict[str, str]]) -> None:
        self._call("POST", "/dishonest_person", {"id_number": id_number, "records": records})

    def set_entity(self, credit_code: str, status: str, since: str | None = None) -> None:
        self._call("POST", "/entity", {"credit_code": credit_code, "status": status, "since": since})

    def received(self, system: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/received", params={"system": system} if system else None)

    def ops_notifications(self) -> list[dict[str, Any]]:
        """The ops notifications the sandbox received (what BEIAN_OPS_WEBHOOK_URL would get), oldest first."""
        return self._call("GET", SANDBOX_OPS_PATH.removeprefix("/_sandbox"))

    def reset(self) -> None:
        self._call("POST", "/reset")

    def modes(self) -> dict[str, dict[str, Any]]:
        return self._call("GET", "/")["modes"]

    def in_flight(self) -> int:
        """How many requests to the outside systems the sandbox is answering right now."""
        return int(self._call("GET", "/")["in_flight"])

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> Any:
        if self._control is None:
            raise RuntimeError("the sandbox is not running")
        response = self._control.request(method, path, json=body, params=params)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox refused {method} /_sandbox{path}: {response.text}")
        return response.json()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.outside.sandbox",
                                     description="沙箱：在本机模拟全部外部系统（可切换为慢、失败或乱码应答）")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=SANDBOX_PORT)
    parser.add_argument("--token", default=None, help="require this bearer token on the system endpoints")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(message)s")
    # uvicorn handles Ctrl-C (SIGINT) and SIGTERM itself and returns after a graceful shutdown.
    uvicorn.run(create_app(args.token), host=args.host, port=args.port, access_log=False, log_level="info",
                lifespan="off", timeout_graceful_shutdown=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
