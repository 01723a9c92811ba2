"""`python -m adapters.entrypoints.web --host 127.0.0.1 --port 8000`: serve the web app on the application database
(BEIAN_DATABASE_URL or `--db`).

The session key keys the stored hashes of the session tokens (workflows/sessions.py): BEIAN_WEB_SECRET, else a key
kept in `--secret-file` (created with mode 0600 on first start, default `./.beian/web-secret`), so that sign-ins
survive a restart; a new key ends every session. BEIAN_WEB_SECURE_COOKIES=1 marks the
cookie Secure (behind HTTPS). Behind a reverse proxy, BEIAN_WEB_TRUSTED_PROXIES (the proxy's addresses, comma
separated) makes the client address the one the proxy forwards (X-Forwarded-For): the sign-in lockout counts
failures per client address, and without it every user would share the proxy's."""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from adapters.entrypoints.web.app import create_app
from adapters.outside.db import database_url
from adapters.outside.settings import WEB_PORT
from workflows.database_clock import mark_real_time


def secret_key(path: Path) -> str:
    explicit = os.environ.get("BEIAN_WEB_SECRET")
    if explicit:
        return explicit
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(key)
    return key


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.entrypoints.web", description="备案系统网页应用")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=WEB_PORT)
    parser.add_argument("--db", help="数据库 URL 或 SQLite 文件（默认 BEIAN_DATABASE_URL 或 ./beian.sqlite3）")
    parser.add_argument("--secret-file", default=".beian/web-secret")
    args = parser.parse_args(argv)
    app = create_app(database_url(args.db), secret_key=secret_key(Path(args.secret_file)),
                     secure_cookies=os.environ.get("BEIAN_WEB_SECURE_COOKIES") == "1")
    # Caseworkers act in real time: from now on a virtual clock may no longer write to this database.
    mark_real_time(app.state.service, "网页应用")
    proxies = os.environ.get("BEIAN_WEB_TRUSTED_PROXIES", "").strip()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
