"""The virtual clock cannot harm a live system (workflows/database_clock.py): `beian demo` beside a live database works
on its own practice database, a `--now` that would write to a live database is refused and changes nothing, and the
explicit override runs and is audited. On SQLite and PostgreSQL, through the real command line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters.outside.db import make_engine
from tests.conftest import EXAMPLE_APPLICATION, ROOT, Beian
from tests.support.cli import clock_marker, run
from tests.support.scenarios import apply, to_publicity

FILED_AT = "2026-10-17T00:00:01+08:00"
RENEWAL_WINDOW_OPENS = "2029-07-16T00:00:00+08:00"  # the filing's validity watch: three months before 16 Oct 2029
IN_2029 = "2029-08-01T10:00:00+08:00"
# What a write on the wrong clock could change: the cases, their timers and tasks, filings, documents, deliveries,
# the history, and the marker itself.
TABLES = ("instances", "human_tasks", "timers", "message_waits", "filings", "filing_periods", "documents", "outbox",
          "audit_log", "sequences", "database_clock")


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                    for table in TABLES}
    finally:
        engine.dispose()


@pytest.fixture
def live(beian: Beian, write_json: Any, application: dict[str, Any]) -> tuple[Beian, str]:
    """A live database: a case filed in October 2026 (its validity watch has a timer due in July 2029), then a real
    application received now, without --now: real time has run on it."""
    assert read_kind(beian.url) == "new"  # `beian init` alone does not make a database live …
    case = apply(beian, write_json, application)  # … nor does the virtual clock on a database that is not
    to_publicity(beian, case)
    beian("sweep", now=FILED_AT)
    shown = beian.json("show", case, now=FILED_AT)
    assert shown["status"] == "filed"
    assert [w["due"] for w in shown["waiting_for"] if w.get("timer")] == [RENEWAL_WINDOW_OPENS]
    beian("apply", write_json(application, "today.json"))  # real time
    marker = clock_marker(beian.url)
    assert marker.live and marker.real_time_by == "beian apply"
    return beian, case


def read_kind(url: str) -> str:
    return str(clock_marker(url).kind)


def test_demo_beside_a_live_database_works_on_its_own_and_leaves_the_live_one_untouched(
        live: tuple[Beian, str], tmp_path: Path) -> None:
    cli, _ = live
    before = rows(cli.url)
    # As the README has it: in the folder of `beian up` (SQLite: ./beian.sqlite3 is the live database; PostgreSQL:
    # BEIAN_DATABASE_URL names it), in a second terminal.
    folder = tmp_path if cli.db is None else cli.db.parent
    env = {"BEIAN_DATABASE_URL": cli.url} if cli.db is None else {}
    if cli.db is not None:
        assert cli.db == folder / "beian.sqlite3"
    demo = run("demo", cwd=folder, env=env)
    assert demo.code == 0, demo.err
    scratch = folder / "demo" / "demo.sqlite3"
    assert demo.out.splitlines()[0].startswith(f"演示数据库：{scratch}（练习数据库")
    assert "备案编号" in demo.out and "2029-10-17 至 2032-10-16" in demo.out
    assert rows(cli.url) == before  # not a row of the live database changed
    assert read_kind(f"sqlite:///{scratch}") == "practice"

    again = run("--json", "demo", cwd=folder, env=env)  # made afresh: the same case number, not a second filing
    assert again.code == 0, again.err
    assert json.loads(again.out)["database"] == str(scratch) and json.loads(again.out)["case"] == "BA2026-00001"
    assert rows(cli.url) == before


def test_the_virtual_clock_may_only_read_a_live_database(live: tuple[Beian, str], write_json: Any,
                                                         application: dict[str, Any]) -> None:
    cli, case = live
    before = rows(cli.url)
    for argv in (("sweep",), ("apply", write_json(application, "later.json")), ("stuck",), ("init",),
                 ("send", "violation_report", "--case", case, "--data", '{"ground": "beyond_scope", "facts": "…"}'),
                 ("demo", "--out", str(Path(write_json({}, "x.json")).parent / "demo-docs"))):
        refused = cli(*argv, now=IN_2029, expect=9)
        assert refused.err.startswith("错误：该数据库已按真实时间运行（自 ") and "beian apply" in refused.err
        assert "--allow-virtual-clock" in refused.err and "init --practice" in refused.err
        assert len(refused.err.strip().splitlines()) == 1 and refused.out == ""
    refused = cli("demo", expect=9)  # the demo with --db: its own clock, refused the same way
    assert "beian demo" in refused.err
    refused = cli("init", "--practice", expect=5)  # nor can it become a practice database
    assert "不能改作练习数据库" in refused.err
    assert rows(cli.url) == before

    # Looking is harmless: what would be waiting in 2029.
    shown = cli.json("show", case, now=IN_2029)
    assert shown["status"] == "filed" and any(d["overdue"] for d in shown["deadlines"])
    assert rows(cli.url) == before


def test_the_override_runs_and_is_audited(live: tuple[Beian, str]) -> None:
    cli, case = live
    swept = cli.json("sweep", "--allow-virtual-clock", "--user", "zhang.san", now=IN_2029)
    assert case not in [f["case"] for f in swept["fired"]] and swept["fired"]  # the validity watch fired
    assert cli.json("show", case, now=IN_2029)["status"] == "renewal_window"
    history = cli.json("show", case, now=IN_2029)["history"]
    assert any(h["action"] == "timer_fired" and h["at"].startswith("2029-08-01") for h in history)
    engine = make_engine(cli.url)
    try:
        with engine.connect() as connection:
            audited = connection.execute(text(
                "SELECT actor, summary, detail, at FROM audit_log WHERE action = 'virtual_clock_override'")).all()
    finally:
        engine.dispose()
    [(actor, summary, detail, at)] = audited
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert actor == "zhang.san" and "2029-08-01 10:00" in summary and "beian sweep" in summary
    assert detail["virtual_now"] == "2029-08-01T10:00:00+08:00" and detail["real_time_by"] == "beian apply"
    assert str(at).startswith("2026-")  # recorded when it really happened


def test_a_practice_database_takes_the_virtual_clock_after_real_time_too(backend_url: str, write_json: Any,
                                                                          application: dict[str, Any]) -> None:
    cli = Beian(backend_url)
    assert cli.json("init", "--practice")["clock"] == "practice"
    cli("apply", write_json(application))  # real time …
    case = apply(cli, write_json, application)  # … and the virtual clock still writes
    to_publicity(cli, case)
    assert cli.json("sweep", now=FILED_AT)["fired"]
    assert read_kind(backend_url) == "practice"
    assert cli.json("init", "--practice")["clock"] == "practice"  # again: nothing to do


def test_setting_up_does_not_make_a_database_live(backend_url: str, tmp_path: Path) -> None:
    cli = Beian(backend_url)
    assert cli.json("init")["clock"] == "new"
    cli("bpmn", "deploy", str(ROOT / "bpmn" / "filing_application.bpmn"))
    added = run("--db", backend_url, "users", "add", "li.na", "--name", "李娜", "--role", "intake",
                "--region", "510100", "--password-stdin", stdin="correct-horse-1\n")
    assert added.code == 0, added.err
    cli("tasks")
    cli("show", "BA2026-00001", expect=3)
    assert read_kind(backend_url) == "new"
    # … and a virtual clock may then still write; the first real-time change makes it live.
    with EXAMPLE_APPLICATION.open(encoding="utf-8") as source:
        (tmp_path / "a.json").write_text(source.read(), encoding="utf-8")
    cli("apply", str(tmp_path / "a.json"), now="2026-09-24T10:00:00+08:00")
    cli("sweep")
    assert clock_marker(backend_url).real_time_by == "beian sweep"


def test_the_demo_replaces_only_a_demo_database(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    stranger = folder / "demo.sqlite3"
    Beian(stranger)("init")  # somebody's database that happens to be there: not a practice one
    before = stranger.read_bytes()
    refused = run("demo", "--out", str(folder), cwd=tmp_path)
    assert refused.code == 1 and "不是练习数据库" in refused.err and "不会覆盖" in refused.err
    assert stranger.read_bytes() == before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_web_app_marks_its_database_live_when_it_starts(tmp_path: Path) -> None:
    database = tmp_path / "web.sqlite3"
    Beian(database)("init")
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "adapters.entrypoints.web",
                                "--host", "127.0.0.1", "--port", str(port),
                                "--db", str(database), "--secret-file", str(tmp_path / "secret")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the web app did not start"
                time.sleep(0.2)
        marker = clock_marker(f"sqlite:///{database}")
        assert marker.live and marker.real_time_by == "网页应用"
    finally:
        process.terminate()
        process.wait(timeout=20)
