"""A FastAPI app served by uvicorn on a free loopback port, in a thread of the test process: real HTTP for the
browser tests and for what only shows over a real server (one request held while another is served); a site with its
people to sign in (`served_site`, `sign_in`) for the browser tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import uvicorn


class Served:
    """A FastAPI app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the web app did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


PASSWORD = "correct-horse-1"
"""Every person of a served site signs in with this."""


@contextlib.contextmanager
def served_site(database: Path, people: Mapping[str, tuple[str, Sequence[str], str]]) -> Iterator[tuple[Any, Served]]:
    """A fresh initialised SQLite database with `people` (username → display name, roles, region) and the web app
    served on it; the application (workflows.service.Beian) to arrange cases with."""
    from adapters.entrypoints.web.app import create_app
    from workflows.service import Beian
    from workflows.users import add_user

    url = f"sqlite:///{database}"
    service = Beian(url)
    service.init()
    for username, (name, roles, region) in people.items():
        add_user(service, username, name, PASSWORD, list(roles), region, actor="test")
    app = create_app(url, secret_key="browser-test")
    served = Served(app)
    try:
        yield service, served
    finally:
        served.stop()
        app.state.service.close()
        service.close()


def sign_in(page: Any, served: Served, username: str, target: str = "/tasks") -> None:
    """Sign `page` in as `username` through the sign-in page, landing at `target`."""
    page.goto(f"{served.url}/login?next={target}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served.url}{target}")
