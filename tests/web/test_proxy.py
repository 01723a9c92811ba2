"""The web app served as in production (`python -m adapters.entrypoints.web`): behind a trusted reverse proxy, a
sign-in is recorded with the address the proxy forwards, so the lockout counts per real client; an untrusted
sender's header is ignored."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from adapters.outside.db import SignInAttempt
from tests.conftest import ROOT
from workflows.service import Beian


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, tmp_path: Path, trusted: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "BEIAN_WEB_TRUSTED_PROXIES": trusted, "BEIAN_WEB_SECRET": "test-secret"}
    process = subprocess.Popen([sys.executable, "-m", "adapters.entrypoints.web",
                                "--host", "127.0.0.1", "--port", str(port),
                                "--db", str(db)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/login", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the web app did not start")


def _failed_sign_in(url: str, forwarded: str) -> int:
    with httpx.Client(base_url=url) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        return client.post("/login", data={"username": "nobody", "password": "wrong-password-1", "csrf_token": token},
                           headers={"X-Forwarded-For": forwarded}).status_code


def _clients(app: Beian) -> list[str]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(SignInAttempt.client).order_by(SignInAttempt.id)))


def test_a_trusted_proxy_forwards_the_client_address_and_an_untrusted_one_does_not(tmp_path: Path) -> None:
    db = tmp_path / "beian.sqlite3"
    app = Beian(f"sqlite:///{db}")
    app.init()
    try:
        for trusted, expected in (("127.0.0.1", "203.0.113.9"), ("", "127.0.0.1")):
            process, url = _serve(db, tmp_path, trusted)
            try:
                assert _failed_sign_in(url, "203.0.113.9") == 401
            finally:
                process.terminate()
                process.wait(timeout=10)
            assert _clients(app)[-1] == expected
    finally:
        app.close()
