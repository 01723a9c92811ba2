"""Shared fixtures: a fresh database per test, driven through the real `beian` command line in-process.

Every test that uses `beian` runs once per backend: a SQLite file, and a fresh PostgreSQL database when
BEIAN_TEST_POSTGRES_URL names a server (a role allowed to CREATE DATABASE, e.g.
postgresql://beian:beian@127.0.0.1:55432/postgres). On CI (CI=true) that variable is required: the PostgreSQL
tests fail instead of being skipped, so CI cannot silently stop testing PostgreSQL.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from adapters.entrypoints.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_APPLICATION = ROOT / "examples" / "application.json"
POSTGRES_ENV = "BEIAN_TEST_POSTGRES_URL"
# Where the browser tests (tests/browser) save their screenshots.
SCREENSHOTS = Path(os.environ.get("BEIAN_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
BACKENDS = ("sqlite", "postgresql")

# No outside system unless a test starts the sandbox and points a setting at it: the embedded default (the sandbox on
# its fixed port) would make every application's credit pre-check depend on whether something listens there.
for _system in ("CREDIT_REGISTRY", "ENTERPRISE_REGISTRY", "NOTICE_WEBSITE", "NATIONAL_REGISTRY", "NOTIFICATIONS"):
    os.environ[f"BEIAN_{_system}_URL"] = ""


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


class Beian:
    """Runs `beian --db <url> --json [--now T] ARGS…` in-process and checks the exit code.

    `target` is a SQLite file path or any database URL. `url` is always the SQLAlchemy URL; `db` is the SQLite
    file (None on other backends); `backend` is the SQLAlchemy dialect name ("sqlite", "postgresql").
    """

    def __init__(self, target: Path | str) -> None:
        if isinstance(target, Path) or "://" not in target:
            self.db: Path | None = Path(target).resolve()
            self.url = f"sqlite:///{self.db}"
        else:
            self.url = target
            database = make_url(target).database
            self.db = Path(database) if make_url(target).get_backend_name() == "sqlite" and database else None
        self.backend: str = make_url(self.url).get_backend_name()
        self.now: str | None = None

    def __call__(self, *args: str, now: str | None = None, expect: int = 0, as_json: bool = True) -> Result:
        argv = ["--db", self.url] + (["--json"] if as_json else [])
        when = now or self.now
        if when:
            argv += ["--now", when]
        argv += list(args)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = int(exc.code or 0)
        result = Result(code, out.getvalue(), err.getvalue())
        if expect is not None:
            assert code == expect, f"beian {' '.join(args)} exited {code}, expected {expect}\n{result.err}{result.out}"
        return result

    def json(self, *args: str, now: str | None = None) -> Any:
        return self(*args, now=now).json


# --- PostgreSQL ------------------------------------------------------------------------------------------------

def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def postgres_admin_url() -> str:
    """The server to create test databases on; fails on CI and skips elsewhere when it is not configured."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        return url
    if _on_ci():
        pytest.fail(f"{POSTGRES_ENV} is not set but CI=true: CI must run the PostgreSQL tests "
                    "(.ci/run starts a server and sets it)", pytrace=False)
    pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV}=postgresql://USER:PASS@HOST:PORT/postgres "
                "(a role allowed to CREATE DATABASE) to run the PostgreSQL variant")


def _libpq_url(url: str, database: str | None = None) -> str:
    """The same server as a plain postgresql:// URL (psycopg does not take SQLAlchemy's +driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """CREATE DATABASE beian_test_<uuid> on the server, yield its URL, DROP it (closing leftover connections)."""
    import psycopg
    from psycopg import sql

    name = f"beian_test_{uuid.uuid4().hex}"
    admin = _libpq_url(admin_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _libpq_url(admin_url, name)
    finally:
        # A plain DROP first: FORCE needs the right to signal other backends (pg_signal_backend) when autovacuum is
        # at work on the database, which a non-superuser role lacks. FORCE is the fallback for a test that opened
        # the application itself (not through the CLI) and may still hold pooled connections.
        # Autovacuum goes away by itself within moments, so both are tried a few times.
        drop, force = (sql.SQL(f"DROP DATABASE IF EXISTS {{}}{suffix}").format(sql.Identifier(name))
                       for suffix in ("", " WITH (FORCE)"))
        with psycopg.connect(admin, autocommit=True) as connection:
            for attempt in range(40):
                try:
                    connection.execute(drop)
                    break
                except psycopg.errors.ObjectInUse:
                    try:
                        connection.execute(force)
                        break
                    except psycopg.errors.InsufficientPrivilege:
                        if attempt == 39:
                            raise
                        time.sleep(0.25)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database (for PostgreSQL-only tests)."""
    with fresh_postgres_database(postgres_admin_url()) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'beian.sqlite3'}"
        return
    with fresh_postgres_database(postgres_admin_url()) as url:
        yield url


@pytest.fixture
def beian(backend_url: str) -> Beian:
    cli = Beian(backend_url)
    cli("init")
    return cli


@pytest.fixture
def application() -> dict[str, Any]:
    return json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[Any, str], str]:
    def write(value: Any, name: str = "data.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def bpmn_copy(tmp_path: Path) -> Path:
    """A private copy of bpmn/ for tests that break or change definitions."""
    target = tmp_path / "bpmn"
    shutil.copytree(ROOT / "bpmn", target)
    return target


# Here, not in tests/browser/conftest.py: with pytest-xdist only the controlling process prints the summary, and it
# loads this conftest but not the folders' own.
def pytest_terminal_summary(terminalreporter: Any) -> None:
    ran = any(str(getattr(report, "nodeid", "")).startswith("tests/browser/")
              for reports in terminalreporter.stats.values() for report in reports)
    if ran and SCREENSHOTS.is_dir() and any(SCREENSHOTS.iterdir()):
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")
