"""Every due timer fires exactly once: with two sweeps running at once (PostgreSQL, FOR UPDATE SKIP LOCKED), and when
a sweep process is killed in the middle and a new one runs (SQLite and PostgreSQL).

The sweeps are real `beian sweep` processes on a real database; the due timers are the acceptance deadlines (受理期限
届满) of real applications, all due at the same instant.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, func, select

from adapters.entrypoints.bench import CaseTemplate, insert_copies
from adapters.outside.db import AuditEvent, Timer, make_engine
from tests.conftest import EXAMPLE_APPLICATION, ROOT
from workflows import clock
from workflows.service import Beian

RECEIVED = "2026-03-02T09:00:00+08:00"
AFTER_DUE = "2026-03-20T09:00:00+08:00"  # the 10-working-day acceptance deadline (16 March) has passed


def _applications(url: str, count: int) -> list[str]:
    app = Beian(url)
    try:
        app.init()
        application = json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))
        with clock.using_clock(clock.VirtualClock(clock.parse_instant(RECEIVED))):
            return [app.cases.apply(application)["case"] for _ in range(count)]
    finally:
        app.close()


def _sweep_process(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BEIAN_SWEEP_MAX_ATTEMPTS": "1000"}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "adapters.entrypoints.cli",
                                 "--db", url, "--json", "--now", AFTER_DUE,
                                 "sweep", "--limit", "100000"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _fired_per_case(url: str) -> Counter[str]:
    # A plain engine: the application's own begins every transaction with BEGIN IMMEDIATE on SQLite, which would
    # queue this reader behind the sweep it watches.
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(AuditEvent.case_id).where(AuditEvent.action == "timer_fired"))
            return Counter(case for (case,) in rows)
    finally:
        engine.dispose()


def _still_due(url: str) -> int:
    app = Beian(url)
    try:
        with app.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(Timer)
                                      .where(Timer.due_at < clock.parse_instant(AFTER_DUE))) or 0
    finally:
        app.close()


def _kill_mid_sweep_then_sweep_again(url: str, tmp_path: Path, count: int) -> None:
    cases = _applications(url, count)
    sweeper = _sweep_process(url, tmp_path / "killed.log")
    deadline = time.monotonic() + 120
    while sum(_fired_per_case(url).values()) < 5:  # let it commit a few cases, then kill it mid-way
        assert sweeper.poll() is None, (tmp_path / "killed.log").read_text()
        assert time.monotonic() < deadline, "the sweep fired nothing within two minutes"
        time.sleep(0.02)
    sweeper.send_signal(signal.SIGKILL)
    sweeper.wait(30)
    fired_before = _fired_per_case(url)
    assert 0 < sum(fired_before.values()) < count, "the sweep was not killed in the middle"
    assert _still_due(url) == count - len(fired_before)

    second = _sweep_process(url, tmp_path / "second.log")
    assert second.wait(300) == 0, (tmp_path / "second.log").read_text()
    fired = _fired_per_case(url)
    assert set(fired) == set(cases)
    assert set(fired.values()) == {1}  # every acceptance deadline fired once: none lost, none twice
    assert _still_due(url) == 0


def test_a_sweep_killed_in_the_middle_then_a_new_sweep_fire_every_timer_once_on_sqlite(tmp_path: Path) -> None:
    _kill_mid_sweep_then_sweep_again(f"sqlite:///{tmp_path / 'beian.sqlite3'}", tmp_path, 300)


def test_a_sweep_killed_in_the_middle_then_a_new_sweep_fire_every_timer_once_on_postgresql(
        postgres_url: str, tmp_path: Path) -> None:
    _kill_mid_sweep_then_sweep_again(postgres_url, tmp_path, 300)


def test_two_sweeps_at_once_over_thousands_of_due_timers_fire_each_exactly_once(
        postgres_url: str, tmp_path: Path) -> None:
    count = 3000
    (real,) = _applications(postgres_url, 1)
    engine = make_engine(postgres_url)
    # Copies of the real case, each with its own case number and task ids, all due (see adapters.entrypoints.bench).
    try:
        insert_copies(engine, CaseTemplate.read(engine, real), range(count - 1))
    finally:
        engine.dispose()
    assert _still_due(postgres_url) == count
    sweeps = [_sweep_process(postgres_url, tmp_path / f"sweep{n}.log") for n in (1, 2)]
    for n, sweeper in enumerate(sweeps, 1):
        assert sweeper.wait(600) == 0, (tmp_path / f"sweep{n}.log").read_text()
    outputs = [json.loads((tmp_path / f"sweep{n}.log").read_text()) for n in (1, 2)]
    by_sweep = [{f["case"] for f in out["fired"] if f["timers"]} for out in outputs]
    assert not by_sweep[0] & by_sweep[1], "a case was fired by both sweeps"
    assert len(by_sweep[0] | by_sweep[1]) == count
    assert all(by_sweep), "one sweep did all the work: they did not run at once"
    assert outputs[0]["failed"] == outputs[1]["failed"] == []
    fired = _fired_per_case(postgres_url)
    assert len(fired) == count and set(fired.values()) == {1}
    assert _still_due(postgres_url) == 0
